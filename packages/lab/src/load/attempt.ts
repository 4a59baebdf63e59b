import { Agent, request } from 'node:http';

/** How one HTTP attempt ended. */
export interface AttemptResult {
  /** HTTP status, or 0 when there was no answer (refused, reset, timed out) */
  readonly status: number;
  /** the server said "overloaded, don't retry" */
  readonly overloaded: boolean;
  /** the answer was a degraded (fallback) one */
  readonly degraded: boolean;
  /** why there was no answer */
  readonly error?: string;
}

/** One keep-alive agent for the whole load: connection setup must not dominate the figures. */
export const loadAgent = new Agent({ keepAlive: true, maxSockets: 4096, keepAliveMsecs: 10_000 });

/** One GET with a hard timeout (the socket is destroyed when it expires). */
export function attempt(
  url: URL,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<AttemptResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: AttemptResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = request(url, { agent: loadAgent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const body = Buffer.concat(chunks).toString('utf8');
        finish({
          status,
          overloaded: res.headers['x-faultline-overloaded'] === '1',
          degraded: status === 200 && body.includes('"degraded":true'),
        });
      });
      res.on('error', (e) => finish({ status: 0, overloaded: false, degraded: false, error: e.message }));
    });
    const timer = setTimeout(
      () => {
        finish({ status: 0, overloaded: false, degraded: false, error: 'timeout' });
        req.destroy();
      },
      Math.max(1, timeoutMs),
    );
    req.on('error', (e) => finish({ status: 0, overloaded: false, degraded: false, error: e.message }));
    req.end();
  });
}
