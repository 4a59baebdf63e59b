import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateExperiment } from './load-experiment.js';
import { runExperiment } from './run-experiment.js';

const node = process.execPath;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Alive and not a zombie (a container's PID 1 may be slow to reap orphans). */
function liveOrZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

const run = (method: unknown[]) =>
  runExperiment(validateExperiment({ title: 'processes', method }), {
    handleSignals: false,
    killGraceMs: 500,
  });

describe('command and process actions', () => {
  it('a command succeeds on its expected exit code and records its output', async () => {
    const j = await run([
      {
        type: 'command',
        name: 'three',
        command: node,
        args: ['-e', 'console.log("hi"); process.exit(3)'],
        expectExitCode: 3,
      },
    ]);
    expect(j.status).toBe('completed');
    expect(j.method[0]).toMatchObject({ status: 'succeeded', output: { exitCode: 3, stdout: 'hi\n' } });
  });

  it('a command past its timeout is killed and fails', async () => {
    const j = await run([
      { type: 'command', command: node, args: ['-e', 'setTimeout(() => {}, 30000)'], timeout: 300 },
    ]);
    expect(j.status).toBe('failed');
    expect(j.method[0]).toMatchObject({ status: 'failed', error: 'timed out after 300ms' });
    const pid = (j.method[0]!.output as { pid: number }).pid;
    expect(alive(pid)).toBe(false);
    expect(j.durationMs).toBeLessThan(3000);
  });

  it('a command that cannot start fails with the reason', async () => {
    const j = await run([{ type: 'command', command: '/nonexistent/tool' }]);
    expect(j.method[0]?.error).toMatch(/cannot start: .*ENOENT/);
  });

  it('a node process allocating past its memory limit dies, and the journal says so', async () => {
    const j = await run([
      {
        type: 'process',
        name: 'leaky',
        command: node,
        args: ['-e', 'const a = []; for (;;) a.push(new Array(1e5).fill(Math.random()))'],
        limits: { memoryMb: 32 },
        expectExitCode: 0,
        timeout: 20_000,
      },
    ]);
    expect(j.status).toBe('failed');
    const rec = j.method[0];
    expect(rec?.output).toMatchObject({
      limitExceeded: 'memory',
      limits: { memoryMb: 32, memoryMethod: 'v8-heap' },
    });
    expect(rec?.error).toMatch(/memory limit exceeded/);
    expect(j.durationMs).toBeLessThan(5000);
  });

  it('rlimit-as caps a non-node program (ulimit -v, no root needed)', async () => {
    // asking sh for more than 64 MB of address space fails under the limit
    const j = await run([
      {
        type: 'process',
        command: node,
        args: ['-e', '1'],
        limits: { memoryMb: 64, memoryMethod: 'rlimit-as' },
      },
    ]);
    // V8 reserves far more virtual memory than 64 MB: node cannot even start under RLIMIT_AS
    const out = j.method[0]?.output as { exitCode: number | null; signal: string | null };
    expect(out.exitCode === 0 && out.signal === null).toBe(false);
  });

  it('a CPU-time limit kills a busy process with SIGXCPU', async () => {
    const j = await run([
      {
        type: 'process',
        command: node,
        args: ['-e', 'for (;;) {}'],
        limits: { cpuSeconds: 1 },
        timeout: 10_000,
      },
    ]);
    expect(j.method[0]?.output).toMatchObject({ signal: 'SIGXCPU', limitExceeded: 'cpu' });
  });

  it('a CPU share (SIGSTOP/SIGCONT duty cycle) slows a busy process down', async () => {
    const script =
      'const t = Date.now(), c = process.cpuUsage(); for (;;) { const u = process.cpuUsage(c); if (u.user + u.system > 150000) break } console.log(Date.now() - t)';
    const j = await run([
      { type: 'process', command: node, args: ['-e', script], limits: { cpuPercent: 25 } },
    ]);
    const out = j.method[0]?.output as { stdout: string };
    expect(Number(out.stdout.trim())).toBeGreaterThan(350); // 150 ms of CPU at 25 % takes ~600 ms
  });

  it('background processes and their children are killed at the end: no orphans', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fl-proc-'));
    const pidFile = join(dir, 'grandchild.pid');
    const script = `const c = require("child_process").spawn("sleep", ["30"], { stdio: "ignore" }); require("fs").writeFileSync(${JSON.stringify(pidFile)}, String(c.pid)); setInterval(() => {}, 1000)`;
    try {
      const j = await run([
        {
          type: 'process',
          name: 'app',
          command: node,
          args: ['-e', script],
          background: true,
          limits: { memoryMb: 64 },
        },
        { type: 'wait', duration: 300 },
      ]);
      expect(j.status).toBe('completed');
      const pid = (j.method[0]!.output as { pid: number }).pid;
      const grandchild = Number(await readFile(pidFile, 'utf8'));
      expect(j.cleanup).toMatchObject([{ kind: 'process', ok: true, detail: { killedWith: 'SIGTERM' } }]);
      expect(alive(pid)).toBe(false);
      expect(liveOrZombie(grandchild)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
