import { type ChildProcess, fork } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FailedMessage, ReadyMessage } from './child-component.js';

/** How to start one component process. */
export interface ComponentSpec {
  /** unique within the group, e.g. `app-2`; names the output file */
  readonly name: string;
  /** module file of the component's main, as a `file:` URL or a path */
  readonly entry: string | URL;
  readonly config: unknown;
  readonly execArgv?: readonly string[];
  readonly startTimeoutMs?: number;
}

/** A started component process. */
export interface RunningComponent {
  readonly name: string;
  readonly pid: number;
  readonly info: Readonly<Record<string, unknown>>;
  readonly child: ChildProcess;
  /** resolves when the process has exited, for whatever reason */
  readonly exited: Promise<void>;
}

/** Told when a component exits without being asked to. */
export type UnexpectedExitListener = (name: string, code: number | null, signal: string | null) => void;

/**
 * Starts the lab's component processes and guarantees they stop: on `stopAll()`, and — as a
 * last resort — with SIGKILL when this process exits. Children also stop by themselves when
 * their IPC channel closes, which covers this process being killed outright.
 */
export class ComponentGroup {
  private readonly running = new Map<string, RunningComponent>();
  private readonly stopping = new Set<string>();
  private readonly outputs: WriteStream[] = [];
  private readonly listeners: UnexpectedExitListener[] = [];
  private readonly killAll = () => {
    for (const c of this.running.values()) c.child.kill('SIGKILL');
  };

  /** @param outputDir where each component's stdout and stderr go (`<name>.out.log`) */
  constructor(private readonly outputDir?: string) {
    process.on('exit', this.killAll);
  }

  /** Called with each component that exits without `stop()`: a crash, an out-of-memory kill. */
  onUnexpectedExit(listener: UnexpectedExitListener): void {
    this.listeners.push(listener);
  }

  get(name: string): RunningComponent | undefined {
    return this.running.get(name);
  }

  /** Starts a component and waits for it to say it is ready. */
  async start(spec: ComponentSpec): Promise<RunningComponent> {
    if (this.running.has(spec.name)) throw new Error(`component ${spec.name} is already running`);
    const entry = typeof spec.entry === 'string' ? spec.entry : fileURLToPath(spec.entry);
    const child = fork(entry, [], {
      env: { ...process.env, FAULTLINE_LAB_CONFIG: JSON.stringify(spec.config) },
      execArgv: [...(spec.execArgv ?? [])],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const tail: string[] = [];
    let out: WriteStream | undefined;
    if (this.outputDir !== undefined) {
      out = createWriteStream(join(this.outputDir, `${spec.name}.out.log`), { flags: 'a' });
      this.outputs.push(out);
    }
    const capture = (chunk: Buffer) => {
      tail.push(String(chunk));
      if (tail.length > 40) tail.shift();
      out?.write(chunk);
    };
    child.stdout?.on('data', capture);
    child.stderr?.on('data', capture);
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        const current = this.running.get(spec.name);
        if (current?.child === child) this.running.delete(spec.name);
        const expected = this.stopping.delete(spec.name);
        if (!expected && current?.child === child) {
          for (const l of this.listeners) l(spec.name, code, signal);
        }
        resolve();
      });
    });
    const info = await new Promise<Readonly<Record<string, unknown>>>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new Error(
            `${spec.name} did not start within ${spec.startTimeoutMs ?? 30_000} ms:\n${tail.join('')}`,
          ),
        );
      }, spec.startTimeoutMs ?? 30_000);
      child.on('message', (m: ReadyMessage | FailedMessage) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          // a component may also report its fields beside `type` instead of under `info`
          resolve(m.info ?? (m as unknown as Record<string, unknown>));
        } else if (m.type === 'failed') {
          clearTimeout(timer);
          reject(new Error(`${spec.name} failed to start: ${m.error}`));
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${spec.name} exited during startup (${code ?? signal}):\n${tail.join('')}`));
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`${spec.name} has no pid`);
    const running: RunningComponent = { name: spec.name, pid, info, child, exited };
    this.running.set(spec.name, running);
    return running;
  }

  /** Stops one component: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(name: string, graceMs = 3000): Promise<void> {
    const c = this.running.get(name);
    if (c === undefined) return;
    this.stopping.add(name);
    c.child.kill('SIGTERM');
    const timer = setTimeout(() => c.child.kill('SIGKILL'), graceMs);
    await c.exited;
    clearTimeout(timer);
  }

  /** Kills a component at once, as a crash would (used by process-kill faults). */
  async kill(name: string): Promise<void> {
    const c = this.running.get(name);
    if (c === undefined) return;
    c.child.kill('SIGKILL');
    await c.exited;
  }

  /** Stops every component, in reverse start order, and closes the output files. */
  async stopAll(graceMs = 3000): Promise<void> {
    const names = [...this.running.keys()].reverse();
    await Promise.all(names.map((n) => this.stop(n, graceMs)));
    await Promise.all(
      this.outputs.splice(0).map((o) => new Promise<void>((resolve) => o.end(() => resolve()))),
    );
    process.removeListener('exit', this.killAll);
  }
}

/**
 * The compiled file of a component main. Components always run as plain JavaScript from `dist/`
 * (also when the lab itself runs from sources under a test runner), so a TypeScript loader
 * never slows the stack down.
 */
export function componentEntry(relativeJs: string): URL {
  const here = new URL('.', import.meta.url);
  const url = new URL(`../${relativeJs}`, here);
  const at = url.href.lastIndexOf('/src/');
  return at < 0 ? url : new URL(`${url.href.slice(0, at)}/dist/${url.href.slice(at + 5)}`);
}
