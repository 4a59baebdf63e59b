import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Journal, type ProxyServer, startProxyServer } from '@faultline/chaos';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertBuilt, runCli, stackFrame, startCli, stopAllCli } from './cli-process.js';
import { fillFixture, fixturePath, removeTempDirs, tempDir } from './fixture-files.js';
import { type LocalServer, portOf, startHealthService } from './local-servers.js';

let service: LocalServer & { readonly requests: () => number };
let proxyServer: ProxyServer;
let dir: string;
let values: Record<string, string | number>;

beforeAll(assertBuilt);
beforeEach(async () => {
  dir = tempDir();
  service = await startHealthService();
  proxyServer = await startProxyServer({ port: 0 });
  const web = await proxyServer.proxies.create({ name: 'web', upstream: service.address });
  values = { api: proxyServer.url, proxyPort: portOf(web.listen) };
});
afterEach(async () => {
  await stopAllCli();
  await proxyServer?.close();
  await service?.close();
  removeTempDirs();
});

/** The experiment fixture `name` with this test's ports filled in. */
function experiment(name: string): string {
  return fillFixture(name, dir, values);
}

function readJournal(path: string): Journal {
  return JSON.parse(readFileSync(path, 'utf8')) as Journal;
}

function toxicsLeft(): string[] {
  return proxyServer.proxies.toxics('web').map((t) => t.name);
}

type HttpValue = { status: number; latencyMs: number };

describe('faultline chaos run (the process)', () => {
  it('a hypothesis that holds under a mild latency toxic: exit 0, journal completed, no toxic left', async () => {
    const file = experiment('latency-holds.yaml');
    const journalPath = join(dir, 'journal.json');
    const r = await runCli(['chaos', 'run', file, '--journal', journalPath]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`experiment: The service stays healthy with 20 ms of latency (${file})`);
    expect(r.stdout).toContain('steady state before: met');
    expect(r.stdout).toMatch(/✓ proxy "mild latency" succeeded/);
    expect(r.stdout).toMatch(/✓ proxy "remove mild latency" succeeded/);
    expect(r.stdout).toContain('steady state after: met');
    expect(r.stdout).toContain(`journal written to ${journalPath}`);
    expect(r.stdout.trimEnd().split('\n')).toContain('status: completed, exit code 0');

    const journal = readJournal(journalPath);
    expect(journal).toMatchObject({ journalVersion: 1, status: 'completed', file, dryRun: false });
    expect(journal.reason).toBeUndefined();
    expect(journal.method.map((a) => [a.name, a.status])).toEqual([
      ['mild latency', 'succeeded'],
      ['soak', 'succeeded'],
    ]);
    expect(journal.method[0]?.output).toMatchObject({
      name: 'mild',
      type: 'latency',
      attributes: { latency: 20 },
    });
    expect(journal.rollbacks.map((a) => [a.name, a.status])).toEqual([['remove mild latency', 'succeeded']]);
    // the toxic really was on the path: every check during the method saw its 20 ms
    expect(journal.steadyState.during.length).toBeGreaterThanOrEqual(1);
    for (const check of journal.steadyState.during) {
      expect(check.met).toBe(true);
      const value = check.probes[0]?.value as HttpValue | undefined;
      expect(value?.latencyMs).toBeGreaterThanOrEqual(19);
    }
    expect(journal.steadyState.after?.met).toBe(true);
    expect(toxicsLeft()).toEqual([]);
  });

  it('a latency that breaks the latency bound trips the guard: exit 2 (aborted), the toxic is removed', async () => {
    const file = experiment('latency-breaks.yaml');
    const journalPath = join(dir, 'journal.json');
    const t0 = Date.now();
    const r = await runCli(['chaos', 'run', file, '--journal', journalPath]);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(Date.now() - t0).toBeLessThan(8000); // the 10 s wait was cut short
    expect(r.stdout).toMatch(/guard: 1 failed check\(s\) \(abortOn.failures 1\); aborting/);
    expect(r.stdout).toMatch(
      /^status: aborted \(the steady state broke during the method \(1 failed checks\)\), exit code 2$/m,
    );

    const journal = readJournal(journalPath);
    expect(journal.status).toBe('aborted');
    expect(journal.steadyState.duringFailures).toBe(1);
    expect(journal.method[0]).toMatchObject({ name: 'big latency', status: 'succeeded' });
    expect(journal.method[1]).toMatchObject({ name: 'soak', status: 'aborted' });
    // no rollback was declared: the runner's own cleanup removed the toxic it added
    expect(journal.cleanup).toEqual([expect.objectContaining({ kind: 'toxic', ok: true })]);
    expect(journal.cleanup[0]?.target).toContain('big');
    expect(toxicsLeft()).toEqual([]);
  });

  it('a timeout toxic fails checks below the guard: exit 1 (deviated), the toxic is removed', async () => {
    const file = experiment('timeout-deviates.yaml');
    const journalPath = join(dir, 'journal.json');
    const r = await runCli(['chaos', 'run', file, '--journal', journalPath]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(
      /^status: deviated \(the steady state failed \d+ check\(s\) during the method\), exit code 1$/m,
    );

    const journal = readJournal(journalPath);
    expect(journal.status).toBe('deviated');
    expect(journal.steadyState.duringFailures).toBeGreaterThanOrEqual(1);
    expect(journal.steadyState.during.some((c) => !c.met && c.probes[0]?.error !== undefined)).toBe(true);
    expect(journal.steadyState.after?.met).toBe(true);
    expect(journal.method.map((a) => a.status)).toEqual(['succeeded', 'succeeded']);
    expect(journal.cleanup).toEqual([expect.objectContaining({ kind: 'toxic', ok: true })]);
    expect(toxicsLeft()).toEqual([]);
  });

  it('Ctrl-C during the method rolls back: exit 2, interrupted in the journal, no toxic left', async () => {
    const file = experiment('long-soak.yaml');
    const journalPath = join(dir, 'journal.json');
    const cli = startCli(['chaos', 'run', file, '--journal', journalPath]);
    await cli.waitForOutput(/✓ proxy "latency" succeeded/);
    expect(toxicsLeft()).toEqual(['soak-latency']);
    cli.child.kill('SIGINT');
    const r = await cli.waitForExit(5000);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout).toContain('SIGINT: stopping the method; rolling back');
    const journal = readJournal(journalPath);
    expect(journal.status).toBe('aborted');
    expect(journal.interrupted?.signal).toBe('SIGINT');
    expect(journal.method[1]).toMatchObject({ name: 'soak', status: 'aborted' });
    expect(toxicsLeft()).toEqual([]);
  });

  it.each([
    [
      'invalid-attribute.yaml',
      ':13: method[0].add.attributes.latency: must be a number, got the string "300"',
    ],
    [
      'invalid-unknown-key.yaml',
      ':9: steadyState.during.abortOn.failure: unknown field (expected one of: failures)',
    ],
  ])('an invalid experiment (%s) exits 3 naming the file, line and field', async (name, message) => {
    const file = fixturePath(name);
    const r = await runCli(['chaos', 'run', file]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`faultline chaos: ${file}${message}\n`);
    expect(r.stderr).not.toMatch(stackFrame);
    expect(service.requests()).toBe(0);
  });

  it('a missing experiment file exits 3 naming the file', async () => {
    const file = join(dir, 'nope.yaml');
    const r = await runCli(['chaos', 'run', file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${file}: cannot read the experiment file (ENOENT)`);
    expect(r.stderr).not.toMatch(stackFrame);
  });

  it('--dry-run prints the plan, probes and injects nothing, exits 0', async () => {
    const file = experiment('latency-holds.yaml');
    const journalPath = join(dir, 'journal.json');
    const r = await runCli(['chaos', 'run', file, '--dry-run', '--journal', journalPath]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      `experiment: The service stays healthy with 20 ms of latency (${file})`,
      'dry run: nothing is probed or injected',
      'steady state: http "health"',
      '  checked every 100ms during the method; abort after 1 failed check(s)',
      'method:',
      '  - proxy "mild latency"',
      '  - wait "soak"',
      'rollbacks:',
      '  - proxy "remove mild latency"',
      'status: completed, exit code 0',
      `journal written to ${journalPath}`,
    ]);
    const journal = readJournal(journalPath);
    expect(journal.dryRun).toBe(true);
    expect([...journal.method, ...journal.rollbacks].map((a) => a.status)).toEqual([
      'skipped',
      'skipped',
      'skipped',
    ]);
    expect(journal.steadyState.before).toBeUndefined();
    expect(service.requests()).toBe(0);
    expect(proxyServer.proxies.stats()[0]?.connectionsTotal).toBe(0);
    expect(toxicsLeft()).toEqual([]);
  });

  it('a journal that cannot be written exits 2 with a clear message', async () => {
    const file = experiment('latency-holds.yaml');
    const journalPath = join(dir, 'no-such-folder', 'journal.json');
    const r = await runCli(['chaos', 'run', file, '--dry-run', '--journal', journalPath]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^faultline chaos: cannot write the journal: ENOENT/);
    expect(r.stderr).toContain(journalPath);
    expect(r.stderr).not.toMatch(stackFrame);
  });
});
