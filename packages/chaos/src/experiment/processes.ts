import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { ProcessLimits } from './definition.js';

/** How a tracked process ended. */
export interface ProcessExit {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly error?: string;
}

const TAIL = 4096;

/**
 * A child started in its own process group (`detached`), so that killing the group also kills
 * whatever it started: nothing is orphaned.
 */
export class TrackedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number | undefined;
  readonly exit: Promise<ProcessExit>;
  exited: ProcessExit | undefined = undefined;
  stdout = '';
  stderr = '';
  /** Set when we killed it (so a SIGKILL is not blamed on a limit). */
  killedByRunner = false;
  stopDutyCycle: (() => void) | undefined = undefined;

  constructor(
    name: string,
    command: string,
    args: readonly string[],
    cwd: string | undefined,
    env: NodeJS.ProcessEnv,
  ) {
    this.name = name;
    this.child = spawn(command, [...args], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = this.child.pid;
    this.child.stdout?.on('data', (c: Buffer) => {
      this.stdout = tail(this.stdout + c.toString('utf8'));
    });
    this.child.stderr?.on('data', (c: Buffer) => {
      this.stderr = tail(this.stderr + c.toString('utf8'));
    });
    this.exit = new Promise<ProcessExit>((resolve) => {
      this.child.on('error', (e) => {
        // spawn failures (ENOENT, EACCES) come here without an exit event
        if (this.pid === undefined) this.#settle({ exitCode: null, signal: null, error: e.message }, resolve);
      });
      this.child.once('close', (exitCode, signal) => this.#settle({ exitCode, signal }, resolve));
    });
  }

  #settle(exit: ProcessExit, resolve: (e: ProcessExit) => void): void {
    if (this.exited !== undefined) return;
    this.stopDutyCycle?.();
    this.exited = exit;
    resolve(exit);
  }

  /** True while any process of its group is alive (zombies waiting to be reaped do not count). */
  groupAlive(): boolean {
    if (this.pid === undefined) return false;
    try {
      process.kill(-this.pid, 0);
    } catch {
      return false;
    }
    const live = liveGroupMembers(this.pid);
    return live === undefined || live > 0;
  }

  #signalGroup(sig: NodeJS.Signals): void {
    if (this.pid === undefined) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      // already gone
    }
  }

  /**
   * SIGTERM to the whole group (with SIGCONT, since a stopped process does not act on SIGTERM),
   * then SIGKILL after `graceMs`. Resolves when the group is gone.
   */
  async killGroup(graceMs: number): Promise<{ signal: 'SIGTERM' | 'SIGKILL' | null }> {
    this.stopDutyCycle?.();
    if (!this.groupAlive()) return { signal: null };
    this.killedByRunner = true;
    this.#signalGroup('SIGTERM');
    this.#signalGroup('SIGCONT');
    if (await waitGone(this, graceMs)) return { signal: 'SIGTERM' };
    this.#signalGroup('SIGKILL');
    await waitGone(this, 2000);
    return { signal: 'SIGKILL' };
  }

  /** Lets the group run `percent` % of each period: SIGCONT, then SIGSTOP for the rest. */
  startDutyCycle(percent: number, periodMs = 100): void {
    const runMs = Math.max(1, (periodMs * percent) / 100);
    const stopMs = Math.max(1, periodMs - runMs);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let active = true;
    const pause = () => {
      if (!active) return;
      this.#signalGroup('SIGSTOP');
      timer = setTimeout(resume, stopMs);
    };
    const resume = () => {
      if (!active) return;
      this.#signalGroup('SIGCONT');
      timer = setTimeout(pause, runMs);
    };
    this.stopDutyCycle = () => {
      if (!active) return;
      active = false;
      clearTimeout(timer);
      this.#signalGroup('SIGCONT');
    };
    timer = setTimeout(pause, runMs);
  }
}

/**
 * Non-zombie processes in group `pgid`, from /proc; undefined where /proc cannot tell. A container
 * whose PID 1 does not reap leaves killed grandchildren as zombies, still members of the group.
 */
function liveGroupMembers(pgid: number): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  let live = 0;
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') live++;
  }
  return live;
}

async function waitGone(p: TrackedProcess, ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    if (p.exited !== undefined && !p.groupAlive()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return p.exited !== undefined && !p.groupAlive();
}

function tail(s: string): string {
  return s.length > TAIL ? s.slice(s.length - TAIL) : s;
}

export function isNodeCommand(command: string): boolean {
  const b = basename(command);
  return command === process.execPath || b === 'node' || b === 'nodejs' || b === 'node.exe';
}

/** The command line and environment that apply `limits` without root. */
export function limitedCommand(
  command: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  limits: ProcessLimits,
): {
  command: string;
  args: string[];
  env: Record<string, string>;
  memoryMethod: 'v8-heap' | 'rlimit-as' | undefined;
} {
  const outEnv: Record<string, string> = { ...env };
  let memoryMethod: 'v8-heap' | 'rlimit-as' | undefined;
  const ulimits: string[] = [];
  if (limits.memoryMb !== undefined) {
    memoryMethod =
      limits.memoryMethod === 'auto'
        ? isNodeCommand(command)
          ? 'v8-heap'
          : 'rlimit-as'
        : limits.memoryMethod;
    if (memoryMethod === 'v8-heap') {
      // NODE_OPTIONS reaches node however it is started (npm start, a shell script, …)
      const prior = env.NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? '';
      outEnv.NODE_OPTIONS = `${prior} --max-old-space-size=${limits.memoryMb}`.trim();
    } else {
      ulimits.push(`ulimit -v ${limits.memoryMb * 1024}`);
    }
  }
  if (limits.cpuSeconds !== undefined) {
    // soft limit: SIGXCPU (terminates by default); hard limit 2 s later: SIGKILL for those who ignore it
    ulimits.push(`ulimit -S -t ${limits.cpuSeconds}`, `ulimit -H -t ${limits.cpuSeconds + 2}`);
  }
  if (ulimits.length === 0) return { command, args: [...args], env: outEnv, memoryMethod };
  // lowering one's own rlimits needs no privilege; `exec` keeps the pid (and so the group)
  return {
    command: '/bin/sh',
    args: ['-c', `${ulimits.join(' && ')} && exec "$0" "$@"`, command, ...args],
    env: outEnv,
    memoryMethod,
  };
}

/** Which limit, if any, ended the process, judged from how it ended and what it printed. */
export function limitExceeded(
  p: TrackedProcess,
  limits: ProcessLimits,
  memoryMethod: 'v8-heap' | 'rlimit-as' | undefined,
): 'memory' | 'cpu' | undefined {
  const exit = p.exited;
  if (exit === undefined) return undefined;
  if (
    memoryMethod === 'v8-heap' &&
    (/heap out of memory|Reached heap limit/i.test(p.stderr) || exit.signal === 'SIGABRT')
  ) {
    return 'memory';
  }
  if (
    memoryMethod === 'rlimit-as' &&
    /Cannot allocate memory|out of memory|bad_alloc|MemoryError/i.test(p.stderr)
  ) {
    return 'memory';
  }
  if (
    limits.cpuSeconds !== undefined &&
    (exit.signal === 'SIGXCPU' || (exit.signal === 'SIGKILL' && !p.killedByRunner))
  ) {
    return 'cpu';
  }
  return undefined;
}
