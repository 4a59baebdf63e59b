import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./stdout-child.fixtures.ts', import.meta.url));
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

interface Child {
  readonly process: ChildProcess;
  /** Everything the child wrote to stdout so far. */
  stdout(): string;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

function run(...args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TSX_DISABLE_CACHE: '1' },
  });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr?.resume();
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { process: child, stdout: () => out, exited };
}

/** The `i` of each JSON line of `text`, in order (every line must be JSON). */
const numbers = (text: string): number[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { i: number }).i);

const ALL = Array.from({ length: 1000 }, (_, i) => i);

async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

describe('buffered stdout', () => {
  it('writes every buffered line when the process calls process.exit()', async () => {
    const child = run('exit');
    expect(await child.exited).toBe(3);
    expect(numbers(child.stdout())).toEqual(ALL);
  });

  it('writes every buffered line when the process dies of an uncaught exception', async () => {
    const child = run('throw');
    expect(await child.exited).toBe(1);
    expect(numbers(child.stdout())).toEqual(ALL);
  });

  it('keeps one order for the lines of every logger that writes to stdout by default', async () => {
    const child = run('shared');
    expect(await child.exited).toBe(0);
    expect(numbers(child.stdout())).toEqual(ALL);
  });

  it('never blocks the event loop when nobody reads stdout: lines beyond the bound are dropped and counted', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, 'stuck'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TSX_DISABLE_CACHE: '1' },
    });
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    // stdout is not read until the child has reported: its pipe fills and stays full
    child.stdout.pause();
    const [chunk] = (await once(child.stderr, 'data')) as [Buffer];
    const report = JSON.parse(chunk.toString()) as {
      beats: number;
      maxGapMs: number;
      writeErrors: number;
      droppedBytes: number;
    };
    expect(report.beats).toBeGreaterThan(10);
    expect(report.maxGapMs).toBeLessThan(2000);
    expect(report.droppedBytes).toBeGreaterThan(0);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    const [code] = (await once(child, 'close')) as [number];
    expect(code).toBe(0);
    // whole lines were dropped, never parts of one: what arrived parses, in order
    const seen = numbers(out);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(200_000);
    expect(seen.every((n, k) => k === 0 || n > (seen[k - 1] as number))).toBe(true);
  });

  it('writes an error line at once, with the lines before it, without waiting for the flush', async () => {
    const child = run('error');
    await until(() => child.stdout().includes('"failed"'), 20_000);
    const lines = child
      .stdout()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(lines.map((l) => l.msg)).toEqual(['line', 'line', 'line', 'failed']);
    expect(lines[3]?.level).toBe(50);
    expect(child.process.exitCode).toBeNull();
  });

  it('writes the access lines an observer still holds when the process exits without close()', async () => {
    const child = run('observe');
    const [chunk] = (await once(child.process.stderr as NodeJS.ReadableStream, 'data')) as [Buffer];
    const port = Number(chunk.toString().trim());
    expect(port).toBeGreaterThan(0);
    // fewer requests than a batch: none of their lines is written before the exit
    for (let i = 0; i < 10; i++) await (await fetch(`http://127.0.0.1:${port}/items/${i}`)).text();
    child.process.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    const lines = child
      .stdout()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { msg: string; route: string; status: number; request_id: string });
    expect(lines).toHaveLength(10);
    expect(lines.every((l) => l.msg === 'request completed' && l.status === 200)).toBe(true);
    expect(new Set(lines.map((l) => l.request_id)).size).toBe(10);
  });
});

describe('buffered file', () => {
  it('writes every buffered line when the process calls process.exit()', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'observe-exit-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'app.jsonl');
    const child = run('file', file);
    expect(await child.exited).toBe(0);
    expect(numbers(readFileSync(file, 'utf8'))).toEqual(ALL);
  });
});
