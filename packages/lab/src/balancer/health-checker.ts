import http from 'node:http';
import type { HealthCheckOptions } from './balancer-options.js';

/** Result of one probe; `failure` is undefined when it passed. */
export interface ProbeResult {
  /** Human-readable cause, used in ejection reasons: `timeout after 1000ms`, `HTTP 503`, `ECONNREFUSED`. */
  readonly failure: string | undefined;
  /** Low-cardinality cause for metrics. */
  readonly kind: 'timeout' | 'status' | 'error' | undefined;
  readonly seconds: number;
}

/**
 * Active health checks: each backend on its own timer, the next probe `intervalMs` after the
 * previous one ended, so a backend that hangs is probed once per interval + timeout and never by
 * overlapping probes. Each probe opens a fresh connection (no keep-alive), as HAProxy and nginx
 * do, so a wedged pooled socket cannot make a backend look dead or alive.
 */
export class HealthChecker {
  private readonly timers: (NodeJS.Timeout | undefined)[];
  private readonly inflight = new Set<http.ClientRequest>();
  private stopped = false;

  constructor(
    private readonly urls: readonly URL[],
    private readonly options: HealthCheckOptions,
    private readonly onResult: (index: number, result: ProbeResult) => void,
  ) {
    this.timers = urls.map(() => undefined);
  }

  /** Starts the timers, staggered across one interval so probes do not all fire at once. */
  start(): void {
    const n = this.urls.length;
    for (let i = 0; i < n; i++) this.schedule(i, (this.options.intervalMs * i) / n);
  }

  /** Stops every timer and aborts the probes in flight; no result is reported afterwards. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) if (timer !== undefined) clearTimeout(timer);
    for (const req of this.inflight) req.destroy();
    this.inflight.clear();
  }

  private schedule(index: number, delayMs: number): void {
    if (this.stopped) return;
    this.timers[index] = setTimeout(() => {
      this.timers[index] = undefined;
      void this.check(index);
    }, delayMs);
  }

  private async check(index: number): Promise<void> {
    const url = this.urls[index];
    if (url === undefined) return;
    const result = await this.probe(new URL(this.options.path, url));
    if (this.stopped) return;
    this.onResult(index, result);
    this.schedule(index, this.options.intervalMs);
  }

  private probe(url: URL): Promise<ProbeResult> {
    const started = performance.now();
    const timeoutMs = this.options.timeoutMs;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (failure: string | undefined, kind: ProbeResult['kind']): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inflight.delete(req);
        resolve({ failure, kind, seconds: (performance.now() - started) / 1000 });
      };
      const req = http.get(
        url,
        { agent: false, headers: { 'user-agent': 'faultline-lb-health-check' } },
        (res) => {
          const status = res.statusCode ?? 0;
          res.resume();
          // the probe passes only once the whole answer arrived within the timeout
          res.once('end', () => {
            finish(
              status >= 200 && status < 300 ? undefined : `HTTP ${status}`,
              status >= 200 && status < 300 ? undefined : 'status',
            );
            req.destroy();
          });
          res.once('error', (err) => finish(errorText(err), 'error'));
        },
      );
      // a total deadline (connect + answer), not a socket idle timeout: a trickling answer still fails
      const timer = setTimeout(() => {
        finish(`timeout after ${timeoutMs}ms`, 'timeout');
        req.destroy();
      }, timeoutMs);
      req.once('error', (err) => finish(errorText(err), 'error'));
      this.inflight.add(req);
    });
  }
}

/** `ECONNREFUSED`-style code when there is one, else the message. */
export function errorText(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code ?? err.message;
}
