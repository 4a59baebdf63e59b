/**
 * The load balancer as its own OS process, as in a real stack. Started by the lab with
 * `child_process.fork(path)`; its options come as JSON in `FAULTLINE_LAB_CONFIG` (`onEvent` cannot
 * cross a process boundary, so events go to `eventsFile`). It reports `{type:'ready', port,
 * adminPort}` over IPC and exits on SIGTERM, SIGINT, or when the IPC channel closes — the lab
 * died — so it can never outlive the lab.
 */
import type { BalancerOptions } from './balancer-options.js';
import { type RunningBalancer, startBalancer } from './load-balancer.js';

/** Message sent to the parent once both ports listen. */
export interface BalancerReadyMessage {
  readonly type: 'ready';
  readonly port: number;
  readonly adminPort: number;
}

async function main(): Promise<void> {
  const raw = process.env.FAULTLINE_LAB_CONFIG;
  if (raw === undefined)
    throw new Error('FAULTLINE_LAB_CONFIG is not set: expected the balancer options as JSON');
  const options = JSON.parse(raw) as BalancerOptions;
  if (!Array.isArray(options.backends) || typeof options.healthCheck !== 'object') {
    throw new Error('FAULTLINE_LAB_CONFIG: expected at least `backends` and `healthCheck`');
  }

  let balancer: RunningBalancer | undefined;
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    // a hard deadline: whatever hangs, the process goes
    setTimeout(() => process.exit(0), 2000).unref();
    void (balancer?.close() ?? Promise.resolve()).finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop);

  balancer = await startBalancer(options);
  if (stopping) {
    await balancer.close();
    return;
  }
  const ready: BalancerReadyMessage = { type: 'ready', port: balancer.port, adminPort: balancer.adminPort };
  if (process.send !== undefined) process.send(ready);
  // forked, but the parent already went away before we listened
  if (process.send !== undefined && !process.connected) stop();
}

main().catch((err: unknown) => {
  process.stderr.write(`faultline lab balancer: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
