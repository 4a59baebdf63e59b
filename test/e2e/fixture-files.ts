// Temp folders and fixture templates for the e2e tests: a fixture's `{{name}}` placeholders are
// filled at test time (ports are only known then) and the result written to a temp folder.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Path of a committed fixture file. */
export function fixturePath(name: string): string {
  return join(fixtures, name);
}

const made = new Set<string>();

/** A new temp folder, removed by {@link removeTempDirs}. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'faultline-e2e-'));
  made.add(dir);
  return dir;
}

/** Removes every temp folder made so far. */
export function removeTempDirs(): void {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  made.clear();
}

/** Writes fixture `name` into `dir` with its `{{key}}` placeholders replaced; returns the new path. */
export function fillFixture(
  name: string,
  dir: string,
  values: Readonly<Record<string, string | number>>,
): string {
  const text = readFileSync(fixturePath(name), 'utf8').replace(/\{\{(\w+)\}\}/g, (all, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`${name}: no value for ${all}`);
    return String(v);
  });
  const out = join(dir, name);
  writeFileSync(out, text);
  return out;
}
