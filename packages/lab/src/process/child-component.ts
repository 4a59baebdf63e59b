/**
 * The child side of a lab component: every server of the stack runs in its own OS process,
 * started by the lab with `fork()`. The child reads its configuration from
 * `FAULTLINE_LAB_CONFIG`, starts, reports `{ type: 'ready', … }` over IPC, and stops on SIGTERM,
 * SIGINT or when the IPC channel closes — the parent is gone — so it can never outlive the lab.
 */

/** What a started component reports to the lab and how it stops. */
export interface StartedComponent {
  readonly info: Readonly<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Message a component sends when it is ready. */
export interface ReadyMessage {
  readonly type: 'ready';
  readonly info: Readonly<Record<string, unknown>>;
}

/** Message a component sends when it cannot start. */
export interface FailedMessage {
  readonly type: 'failed';
  readonly error: string;
}

/** Reads the JSON configuration the lab passed to this process. */
export function componentConfig<T>(): T {
  const raw = process.env.FAULTLINE_LAB_CONFIG;
  if (raw === undefined) throw new Error('FAULTLINE_LAB_CONFIG is not set: start this file from the lab');
  return JSON.parse(raw) as T;
}

/**
 * Runs `start` as a lab component process.
 * @example runComponent(async (config: AppConfig) => startApp(config));
 */
export function runComponent<T>(start: (config: T) => Promise<StartedComponent>): void {
  let started: StartedComponent | undefined;
  let closing = false;
  const shutdown = (code: number) => {
    if (closing) return;
    closing = true;
    const done = () => process.exit(code);
    // a component that does not stop within 3 s is killed by its own hand
    setTimeout(done, 3000).unref();
    (started?.close() ?? Promise.resolve()).then(done, done);
  };
  process.once('SIGTERM', () => shutdown(0));
  process.once('SIGINT', () => shutdown(0));
  process.once('disconnect', () => shutdown(0));
  const send = (message: ReadyMessage | FailedMessage) => {
    if (process.send !== undefined && process.connected) process.send(message);
  };
  let config: T;
  try {
    config = componentConfig<T>();
  } catch (e) {
    send({ type: 'failed', error: e instanceof Error ? e.message : String(e) });
    process.exitCode = 1;
    return;
  }
  start(config).then(
    (s) => {
      started = s;
      if (closing) {
        s.close().finally(() => process.exit(0));
        return;
      }
      send({ type: 'ready', info: s.info });
    },
    (e: unknown) => {
      send({ type: 'failed', error: e instanceof Error ? e.message : String(e) });
      setTimeout(() => process.exit(1), 50).unref();
    },
  );
}
