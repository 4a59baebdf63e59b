#!/usr/bin/env node
// Runs every benchmark (bench/*.bench.ts), or the ones named: `npm run bench -- resilience soak`.
// Each runs in its own process, with the V8 flags it needs, and prints one JSON object on its last line.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length > 0) {
  console.error(`unknown benchmark: ${unknown.join(', ')} (have: ${all.join(', ')})`);
  process.exit(2);
}
// Benchmarks run as plain JavaScript: a TypeScript loader in the process slows every promise
// reaction by ~20 % and would skew the figures. Compile them once with tsc.
const root = join(here, '..');
const tsc = spawnSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(here, 'tsconfig.json')],
  {
    stdio: 'inherit',
  },
);
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
const out = join(root, '.bench-out');
let failed = 0;
for (const name of wanted.length > 0 ? wanted : all) {
  console.log(`\n# ${name}`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(out, `${name}.bench.js`)], {
    stdio: 'inherit',
  });
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
