// Runs the built `faultline` CLI as a real child process, the way a user runs it.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const bin = fileURLToPath(new URL('../../packages/cli/bin/faultline.js', import.meta.url));
const dist = fileURLToPath(new URL('../../packages/cli/dist/cli.js', import.meta.url));

/** A stack frame as Node prints it (`    at fn (file:1:2)`): user-facing errors must not show one. */
export const stackFrame = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;

/** Fails with a clear message when the CLI has not been built (it runs from dist/). */
export function assertBuilt(): void {
  if (!existsSync(dist)) throw new Error(`${dist} is missing: run \`npx tsc -b\` before the e2e tests`);
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running CLI process with its output so far. */
export class CliProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<CliResult>;
  private result: CliResult | undefined;

  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
    this.exited = new Promise((resolve, reject) => {
      child.once('error', reject);
      // 'close' (not 'exit'): all output has been read by then
      child.once('close', (code, signal) => {
        this.result = { code, signal, stdout: this.stdout, stderr: this.stderr };
        resolve(this.result);
      });
    });
    this.exited.catch(() => {});
  }

  get running(): boolean {
    return this.result === undefined;
  }

  /** Resolves with the first match of `pattern` on stdout; rejects if the process ends first or after `ms`. */
  async waitForOutput(pattern: RegExp, ms = 10_000): Promise<RegExpExecArray> {
    const end = Date.now() + ms;
    for (;;) {
      const m = pattern.exec(this.stdout);
      if (m !== null) return m;
      if (!this.running || Date.now() > end) {
        throw new Error(
          `${this.running ? `no ${pattern} on stdout within ${ms}ms` : `the process exited before printing ${pattern}`}\n` +
            `stdout: ${this.stdout}\nstderr: ${this.stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Resolves with the result once the process has exited; rejects after `ms`. */
  async waitForExit(ms = 10_000): Promise<CliResult> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`still running after ${ms}ms\nstdout: ${this.stdout}\nstderr: ${this.stderr}`)),
        ms,
      );
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends the process if it is still running (SIGKILL), and waits for it. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited.catch(() => {});
  }
}

const live = new Set<CliProcess>();

/** Starts `faultline …args`; stop it with {@link stopAllCli} in afterEach. */
export function startCli(args: readonly string[], cwd = repoRoot): CliProcess {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p = new CliProcess(child);
  live.add(p);
  void p.exited.finally(() => live.delete(p)).catch(() => {});
  return p;
}

/** Runs `faultline …args` to completion. */
export function runCli(args: readonly string[], ms = 15_000, cwd = repoRoot): Promise<CliResult> {
  return startCli(args, cwd).waitForExit(ms);
}

/** Kills every CLI process a test left running. */
export async function stopAllCli(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill()));
}
