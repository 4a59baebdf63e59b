#!/usr/bin/env node
// Runs the whole suite with vitest and fails when nothing ran, or (in CI) when anything was
// skipped: a suite that silently runs zero tests must never look green. Never `process.exit` in
// here: the temporary report folder must be removed on every path.
//
// The lab's end-to-end tests run last and alone: they drive a real stack to overload on purpose,
// and sharing two cores with the rest of the suite would measure the suite, not the stack.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ALONE = ['test/e2e/lab.test.ts'];
const args = process.argv.slice(2);
const phases = args.length > 0 ? [args] : [[...ALONE.flatMap((f) => ['--exclude', f])], [...ALONE]];

const dir = mkdtempSync(join(tmpdir(), 'faultline-tests-'));
const totals = { total: 0, passed: 0, failed: 0, skipped: 0 };
try {
  for (const [i, phase] of phases.entries()) {
    const report = join(dir, `results-${i}.json`);
    const run = spawnSync(
      process.execPath,
      [
        'node_modules/vitest/vitest.mjs',
        'run',
        '--reporter=default',
        '--reporter=json',
        `--outputFile.json=${report}`,
        ...phase,
      ],
      { stdio: 'inherit' },
    );
    if (run.status !== 0) {
      process.exitCode = run.status ?? 1;
      break;
    }
    const r = JSON.parse(readFileSync(report, 'utf8'));
    totals.total += r.numTotalTests;
    totals.passed += r.numPassedTests;
    totals.failed += r.numFailedTests;
    totals.skipped += r.numPendingTests + r.numTodoTests;
    if (r.numTotalTests === 0 || r.numPassedTests === 0) {
      console.error(`✗ no test ran in: vitest run ${phase.join(' ')}`);
      process.exitCode = 1;
      break;
    }
  }
  if (process.exitCode) throw new Error('failed');
  console.log(
    `tests: ${totals.total} total, ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`,
  );
  if (process.env.CI && totals.skipped > 0) {
    console.error('✗ tests were skipped in CI: every test must run here');
    process.exitCode = 1;
  }
} catch (e) {
  // a failing phase has printed its reason and set the exit code; anything else is a failure too
  if (!process.exitCode) {
    console.error('✗', e);
    process.exitCode = 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
