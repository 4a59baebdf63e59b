#!/usr/bin/env node
// Fails when a workspace package would publish broken: publint's findings, a missing field the
// ecosystem expects, or an export that does not load or lacks its declaration file.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const root = new URL('..', import.meta.url).pathname;
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
let problems = 0;
const fail = (pkg, msg) => {
  problems++;
  console.error(`✗ ${pkg}: ${msg}`);
};

for (const dir of rootPkg.workspaces) {
  const pkgDir = join(root, dir);
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  if (pkg.private) continue;
  for (const field of ['name', 'version', 'license', 'engines', 'files', 'exports', 'description']) {
    if (pkg[field] === undefined) fail(pkg.name, `package.json lacks "${field}"`);
  }
  if (!existsSync(join(pkgDir, 'README.md'))) fail(pkg.name, 'no README.md');
  const { messages } = await publint({ pkgDir, level: 'suggestion', strict: true });
  for (const m of messages) fail(pkg.name, `publint ${m.type}: ${formatMessage(m, pkg) ?? m.code}`);
  for (const [sub, target] of Object.entries(pkg.exports ?? {})) {
    if (sub === './package.json') continue;
    const entry = typeof target === 'string' ? { default: target } : target;
    if (entry.types === undefined) fail(pkg.name, `export "${sub}" has no "types" condition`);
    else if (!existsSync(join(pkgDir, entry.types)))
      fail(pkg.name, `export "${sub}" types ${entry.types} missing`);
    if (entry.default === undefined || !existsSync(join(pkgDir, entry.default))) {
      fail(pkg.name, `export "${sub}" default ${entry.default} missing`);
      continue;
    }
    try {
      await import(pathToFileURL(join(pkgDir, entry.default)).href);
    } catch (e) {
      fail(pkg.name, `export "${sub}" does not load: ${e instanceof Error ? e.message : e}`);
    }
  }
  for (const bin of Object.values(typeof pkg.bin === 'string' ? { [pkg.name]: pkg.bin } : (pkg.bin ?? {}))) {
    if (!existsSync(join(pkgDir, bin))) fail(pkg.name, `bin ${bin} missing`);
  }
  if (problems === 0) console.log(`✓ ${pkg.name}@${pkg.version} publishable`);
}
process.exit(problems === 0 ? 0 : 1);
