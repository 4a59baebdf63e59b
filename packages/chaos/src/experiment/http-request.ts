import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpResult {
  readonly status: number;
  readonly body: string;
  readonly latencyMs: number;
}

const MAX_BODY = 256 * 1024;

/**
 * One HTTP request without connection reuse (no agent), so that nothing stays open after an
 * experiment and each probe measures a fresh request. Rejects on network errors, on `timeoutMs`
 * and when `signal` aborts; reads at most 256 KiB of the body.
 */
export function sendHttp(
  url: string,
  init: {
    method: string;
    headers?: Readonly<Record<string, string>>;
    body?: string | undefined;
    timeoutMs: number;
    signal?: AbortSignal | undefined;
  },
): Promise<HttpResult> {
  return new Promise<HttpResult>((resolve, reject) => {
    const signal = init.signal;
    if (signal?.aborted) {
      reject(new Error('aborted'));
      return;
    }
    const started = performance.now();
    const u = new URL(url);
    const headers: Record<string, string> = { 'user-agent': 'faultline-chaos', ...init.headers };
    if (init.body !== undefined) {
      headers['content-length'] = String(Buffer.byteLength(init.body));
      if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
        headers['content-type'] = 'application/json';
      }
    }
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    let done = false;
    const finish = (err: Error | undefined, result?: HttpResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err !== undefined) {
        req.destroy();
        reject(err);
      } else {
        resolve(result as HttpResult);
      }
    };
    const onAbort = () => finish(new Error('aborted'));
    const timer = setTimeout(() => finish(new Error(`timed out after ${init.timeoutMs}ms`)), init.timeoutMs);
    const req = send(u, { method: init.method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_BODY) chunks.push(c);
        size += c.length;
      });
      res.on('end', () =>
        finish(undefined, {
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY),
          latencyMs: performance.now() - started,
        }),
      );
      res.on('error', (e) => finish(e));
    });
    req.on('error', (e) => finish(e));
    signal?.addEventListener('abort', onAbort, { once: true });
    req.end(init.body);
  });
}
