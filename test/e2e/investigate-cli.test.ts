import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, repoRoot, runCli, stackFrame, stopAllCli } from './cli-process.js';

const NEZHA = join(repoRoot, '../shared/data/nezha-trainticket-dev/2023-01-29_0');
let dir = '';

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'faultline-investigate-e2e-'));
  await writeFile(
    join(dir, 'app.log'),
    '{"time":1700000000000,"service":"api","level":30,"msg":"ok"}\nnot json at all \u0007\n{"time":"yesterday","msg":"bad time"}\n',
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(stopAllCli);

describe('faultline investigate (the process)', () => {
  it('--ingest-only prints the data-quality report of a Nezha case and exits 0', async () => {
    const r = await runCli(['investigate', NEZHA, '--ingest-only'], 30_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/logs\.jsonl\.gz\s+json-logs\s+7852\s+0/);
    expect(r.stdout).toMatch(/spans\.otlp\.json\.gz\s+otlp-traces\s+14460\s+0/);
    expect(r.stdout).toContain('ts-contacts-service');
  });

  it('--json prints the report as JSON; rejected lines are quoted escaped, exit code stays 0', async () => {
    const r = await runCli(['investigate', dir, '--ingest-only', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      files: {
        format: string;
        records: number;
        rejected: number;
        samples: { line: number; text: string }[];
      }[];
    };
    expect(report.files[0]).toMatchObject({ format: 'json-logs', records: 1, rejected: 2 });
    expect(report.files[0]?.samples[0]).toMatchObject({ line: 2, text: '"not json at all \\u0007"' });
  });

  it('the human report names the file, line and reason of rejects', async () => {
    const r = await runCli(['investigate', dir, '--ingest-only']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1 rejected: invalid JSON');
    expect(r.stdout).toContain('1 rejected: "time" is not a time');
    expect(r.stdout).toContain('line 2: "not json at all \\u0007"');
  });

  it('a --store file makes the second run skip unchanged files', async () => {
    const store = join(dir, 'store.duckdb');
    const first = await runCli(['investigate', join(dir, 'app.log'), '--ingest-only', '--store', store]);
    expect(first.code).toBe(0);
    const second = await runCli(['investigate', join(dir, 'app.log'), '--ingest-only', '--store', store]);
    expect(second.stdout).toContain('unchanged since the last ingest');
    expect(second.stdout).toContain('1 files (1 unchanged)');
  });

  it.each([
    [['investigate', '/no/such/folder'], /\/no\/such\/folder: no such file or folder/],
    [['investigate', 'x', '--tz', 'Mars/Olympus'], /--tz "Mars\/Olympus": not a time zone/],
    [['investigate', '--prometheus', 'http://127.0.0.1:9'], /--prometheus needs --from and --to/],
    [['investigate'], /give at least one file or folder/],
  ])('usage error %j: message on stderr, exit 2, no stack trace', async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(stackFrame);
  });
});
