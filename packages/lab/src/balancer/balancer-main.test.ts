import { type ChildProcess, fork, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { get, portIsFree, startTestBackend, type TestBackend, waitFor } from './balancer.fixtures.js';
import type { BalancerReadyMessage } from './balancer-main.js';
import type { BalancerOptions } from './balancer-options.js';
import { baselineBalancer } from './balancer-presets.js';

/** The compiled entry, as the lab forks it (`npx tsc -b packages/lab` first). */
const entry = fileURLToPath(new URL('../../dist/balancer/balancer-main.js', import.meta.url));

let backend: TestBackend;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npx tsc -b packages/lab\` first`);
  backend = await startTestBackend('app-1');
  dir = mkdtempSync(join(tmpdir(), 'faultline-lb-'));
});
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
afterAll(async () => {
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
});

async function startChild(): Promise<{
  child: ChildProcess;
  ready: BalancerReadyMessage;
  exited: Promise<number | null>;
}> {
  const options: BalancerOptions = {
    ...baselineBalancer,
    healthCheck: { ...baselineBalancer.healthCheck, intervalMs: 50, timeoutMs: 100 },
    backends: [{ id: backend.id, url: backend.url }],
    eventsFile: join(dir, 'events.jsonl'),
  };
  const child = fork(entry, [], {
    env: { ...process.env, FAULTLINE_LAB_CONFIG: JSON.stringify(options) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await new Promise<BalancerReadyMessage>((resolve, reject) => {
    child.once('message', (m) => resolve(m as BalancerReadyMessage));
    child.once('exit', (code) => reject(new Error(`balancer exited with ${code} before ready`)));
  });
  return { child, ready, exited };
}

describe('balancer-main (forked process)', () => {
  it('reports its ports, proxies, writes events, and exits when the parent disconnects', async () => {
    const { child, ready, exited } = await startChild();
    expect(ready.type).toBe('ready');
    expect((await get(`http://127.0.0.1:${ready.port}/`)).body).toBe('app-1');

    backend.health = 'fail';
    const events = join(dir, 'events.jsonl');
    await waitFor(
      () => existsSync(events) && readFileSync(events, 'utf8').includes('lb.eject'),
      3000,
      'eject event',
    );
    const line = JSON.parse(readFileSync(events, 'utf8').split('\n')[0] ?? '') as {
      kind: string;
      target: string;
    };
    expect(line).toMatchObject({ kind: 'lb.eject', target: 'app-1' });
    backend.health = 'ok';

    child.disconnect(); // what the child sees when the lab dies
    expect(await exited).toBe(0);
    expect(await portIsFree(ready.port)).toBe(true);
    expect(await portIsFree(ready.adminPort)).toBe(true);
  });

  it('exits on SIGTERM', async () => {
    const { child, ready, exited } = await startChild();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await portIsFree(ready.port)).toBe(true);
  });

  it('dies with its parent when the parent is killed', async () => {
    // a parent that forks the balancer and prints its pid, then is SIGKILLed: no chance to clean up
    const parentCode = `
      import { fork } from 'node:child_process';
      const child = fork(process.argv[1], [], { execArgv: [], env: process.env, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
      child.on('message', (m) => process.stdout.write(JSON.stringify({ pid: child.pid, ...m }) + '\\n'));
    `;
    const options: BalancerOptions = {
      ...baselineBalancer,
      backends: [{ id: backend.id, url: backend.url }],
    };
    const parent = spawn(process.execPath, ['--input-type=module', '-e', parentCode, entry], {
      env: { ...process.env, FAULTLINE_LAB_CONFIG: JSON.stringify(options) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(parent);
    const ready = await new Promise<BalancerReadyMessage & { pid: number }>((resolve, reject) => {
      let out = '';
      parent.stdout?.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('\n'))
          resolve(JSON.parse(out.split('\n')[0] ?? '') as BalancerReadyMessage & { pid: number });
      });
      parent.once('exit', () => reject(new Error('parent exited early')));
    });
    // an orphan that exited stays a zombie until init reaps it, which can take a while: that counts as gone
    const alive = (): boolean => {
      try {
        process.kill(ready.pid, 0);
      } catch {
        return false;
      }
      try {
        return !/^State:\s+Z/m.test(readFileSync(`/proc/${ready.pid}/status`, 'utf8'));
      } catch {
        return true; // no /proc (not Linux): kill(0) succeeded, so it runs
      }
    };
    expect(alive()).toBe(true);
    parent.kill('SIGKILL');
    await waitFor(() => !alive(), 3000, 'the orphaned balancer to exit');
    expect(await portIsFree(ready.port)).toBe(true);
  });
});
