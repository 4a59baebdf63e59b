import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresUnavailable } from '../support/postgres.js';
import { assertBuilt, CliProcess, repoRoot } from './cli-process.js';

const bin = join(repoRoot, 'packages/cli/bin/faultline.js');
const noPostgres = postgresUnavailable();
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Starts the CLI with a marker in its environment, which every process it starts inherits. */
function startLab(args: readonly string[], marker: string): CliProcess {
  const child = spawn(process.execPath, [bin, 'lab', ...args], {
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', FAULTLINE_TEST_MARKER: marker },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new CliProcess(child);
}

/** Pids of live processes (zombies excluded) whose environment carries `marker`. */
function processesWithMarker(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      if (/^State:\s+Z/m.test(status)) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').includes(`FAULTLINE_TEST_MARKER=${marker}`))
        found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return check();
}

function jsonLines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe.skipIf(noPostgres !== undefined)('faultline lab (real PostgreSQL, real processes)', () => {
  it('lists the scenarios', async () => {
    assertBuilt();
    const p = startLab(['--list'], 'list');
    const r = await p.waitForExit(15_000);
    expect(r.code).toBe(0);
    for (const name of [
      'pool-exhaustion',
      'leak-cascade',
      'retry-storm',
      'batch-job-at-peak',
      'db-network-delay',
      'slow-external-api',
      'deep-health-check',
    ]) {
      expect(r.stdout).toContain(name);
    }
  });

  it('refuses an unknown scenario before it starts anything, listing the names', async () => {
    assertBuilt();
    const out = mkdtempSync(join(tmpdir(), 'fl-lab-unknown-'));
    dirs.push(out);
    const p = startLab(['--scenario', 'nosuch', '--out', join(out, 'run')], 'unknown');
    const r = await p.waitForExit(15_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown scenario "nosuch"; have: pool-exhaustion, leak-cascade');
    expect(r.stdout).not.toContain('database');
    expect(existsSync(join(out, 'run'))).toBe(false);
  });

  it('runs the seed scenario in both modes: the baseline collapses, the hardened stack holds', async () => {
    assertBuilt();
    const out = mkdtempSync(join(tmpdir(), 'fl-lab-e2e-'));
    dirs.push(out);
    const marker = `run-${process.pid}-${Date.now()}`;
    const p = startLab(['--duration', '65', '--db', 'postgres', '--out', out], marker);
    const r = await p.waitForExit(340_000);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/baseline\s+\d+\.\d %/);
    expect(r.stdout).toMatch(/hardened\s+\d+\.\d %/);

    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
      scenario: string;
      modes: Record<
        string,
        {
          availability: number;
          goodput_rps: number;
          p99_ms: number;
          attempts_per_request: number;
          recovered: boolean;
        }
      >;
      ground_truth: { kind: string; fault: string; instance?: string; mode: string; time: string }[];
    };
    expect(summary.scenario).toBe('leak-cascade');
    const { baseline, hardened } = summary.modes;
    expect(baseline).toBeDefined();
    expect(hardened).toBeDefined();
    // the outage is real in baseline, bounded in hardened
    // (the lab's own output in the message: which faults fired, what the modes measured)
    expect(baseline?.availability ?? 1, r.stdout).toBeLessThan(0.85);
    expect(hardened?.availability ?? 0).toBeGreaterThan(0.9);
    expect((hardened?.availability ?? 0) - (baseline?.availability ?? 1)).toBeGreaterThan(0.15);
    expect(baseline?.attempts_per_request ?? 0).toBeGreaterThan(hardened?.attempts_per_request ?? 0);

    // ground truth: the leak on app-1, in both modes, in summary.json and in each bundle's events
    for (const mode of ['baseline', 'hardened']) {
      const leak = summary.ground_truth.find(
        (e) => e.mode === mode && e.kind === 'fault.injected' && e.fault === 'leak',
      );
      expect(leak?.instance).toBe('app-1');
      const events = jsonLines(join(out, mode, 'events.jsonl'));
      expect(
        events.some((e) => e.kind === 'fault.injected' && e.fault === 'leak' && e.instance === 'app-1'),
      ).toBe(true);
      expect(events.some((e) => e.kind === 'load.start')).toBe(true);

      // the bundle: 1 s metrics of every component, logs with request ids, spans, LB events
      const metrics = readFileSync(join(out, mode, 'metrics.jsonl'), 'utf8');
      for (const name of [
        'db_pool_connections_in_use',
        'db_pool_waiting',
        'nodejs_heap_used_bytes',
        'nodejs_eventloop_delay_seconds',
        'lb_healthy_backends',
        'client_requests_total',
      ]) {
        expect(metrics, name).toContain(`"__name__":"${name}"`);
      }
      // the recorder flushes every few seconds: one series spans several lines
      const values = jsonLines(join(out, mode, 'metrics.jsonl'))
        .filter((l) => {
          const m = l.metric as Record<string, string>;
          return m.__name__ === 'nodejs_heap_used_bytes' && m.instance === 'app-2';
        })
        .flatMap((l) => l.values as [number, string][])
        .sort((a, b) => a[0] - b[0]);
      expect(values.length).toBeGreaterThan(30);
      const steps = values.slice(1).map((v, i) => v[0] - (values[i]?.[0] ?? 0));
      expect(steps.filter((s) => s < 1.6).length / steps.length).toBeGreaterThan(0.6);
      const logs = jsonLines(join(out, mode, 'logs', 'app-2.log'));
      expect(
        logs.some((l) => typeof l.request_id === 'string' && l.service === 'app' && l.instance === 'app-2'),
      ).toBe(true);
      const spans = readdirSync(join(out, mode, 'spans'));
      expect(spans.length).toBeGreaterThan(0);
      expect(readFileSync(join(out, mode, 'spans', spans[0] ?? ''), 'utf8')).toContain('resourceSpans');
      expect(existsSync(join(out, mode, 'lb-events.jsonl'))).toBe(true);
    }
    // the cascade is visible in baseline: app-1 ejected, then survivors too
    const ejections = jsonLines(join(out, 'baseline', 'lb-events.jsonl')).filter(
      (e) => e.kind === 'lb.eject',
    );
    expect(new Set(ejections.map((e) => e.target)).size).toBeGreaterThanOrEqual(2);

    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('uPlot');
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+href=/);
    // nothing left: no process of the run, no component output folder
    expect(processesWithMarker(marker)).toEqual([]);
    expect(existsSync(join(out, 'process-output'))).toBe(false);
  }, 360_000);

  it('stops every process it started when interrupted (SIGINT)', async () => {
    assertBuilt();
    const out = mkdtempSync(join(tmpdir(), 'fl-lab-int-'));
    dirs.push(out);
    const marker = `int-${process.pid}-${Date.now()}`;
    const pgDirsBefore = new Set(readdirSync(tmpdir()).filter((d) => d.startsWith('fl-pg-')));
    const p = startLab(['--duration', '60', '--mode', 'baseline', '--db', 'postgres', '--out', out], marker);
    await p.waitForOutput(/running \d+\/60 s/, 90_000);
    // the stack is up: app servers, load balancer, proxies, load generator, PostgreSQL
    expect(processesWithMarker(marker).length).toBeGreaterThanOrEqual(7);
    p.child.kill('SIGINT');
    const r = await p.waitForExit(30_000);
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('interrupted');
    expect(await waitUntil(() => processesWithMarker(marker).length === 0, 10_000)).toBe(true);
    const pgDirsAfter = readdirSync(tmpdir()).filter((d) => d.startsWith('fl-pg-') && !pgDirsBefore.has(d));
    expect(pgDirsAfter).toEqual([]);
  }, 150_000);
});
