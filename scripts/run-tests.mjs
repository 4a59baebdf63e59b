#!/usr/bin/env node
// Runs the whole suite with vitest and fails when nothing ran, or (in CI) when anything was
// skipped: a suite that silently runs zero tests must never look green.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'faultline-tests-'));
const report = join(dir, 'results.json');
try {
  const run = spawnSync(
    process.execPath,
    [
      'node_modules/vitest/vitest.mjs',
      'run',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${report}`,
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit' },
  );
  if (run.status !== 0) process.exit(run.status ?? 1);
  const r = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(
    `tests: ${r.numTotalTests} total, ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`,
  );
  if (r.numTotalTests === 0 || r.numPassedTests === 0) {
    console.error('✗ no test ran');
    process.exit(1);
  }
  if (process.env.CI && skipped > 0) {
    console.error('✗ tests were skipped in CI: every test must run here');
    process.exit(1);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
