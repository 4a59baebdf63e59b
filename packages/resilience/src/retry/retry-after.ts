/**
 * Reads a server's `Retry-After` (seconds or an HTTP date) from an error or a result: a
 * `Response`-like object with `headers.get`, a Node `IncomingMessage`-like `headers` record, an
 * error carrying such a `response`, or a `retryAfterMs` number. Returns milliseconds or undefined.
 */
export function retryAfterOf(value: unknown, now: () => number = Date.now): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as {
    retryAfterMs?: unknown;
    headers?: unknown;
    response?: unknown;
  };
  if (typeof v.retryAfterMs === 'number' && v.retryAfterMs >= 0) return v.retryAfterMs;
  const header = headerOf(v.headers) ?? headerOf((v.response as { headers?: unknown } | undefined)?.headers);
  return header === undefined ? undefined : parseRetryAfter(header, now());
}

function headerOf(headers: unknown): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const h = headers as { get?: unknown } & Record<string, unknown>;
  if (typeof h.get === 'function') {
    const got = (h.get as (n: string) => unknown).call(headers, 'retry-after');
    return typeof got === 'string' ? got : undefined;
  }
  const raw = h['retry-after'] ?? h['Retry-After'];
  if (Array.isArray(raw)) return typeof raw[0] === 'string' ? raw[0] : undefined;
  return typeof raw === 'string' ? raw : undefined;
}

/** Parses a `Retry-After` value: delta-seconds or an HTTP date, relative to `nowMs` (epoch ms). */
export function parseRetryAfter(value: string, nowMs: number): number | undefined {
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // an HTTP date names its weekday or month (RFC 9110 §5.6.7); anything else is not one
  if (!/[A-Za-z]{3}/.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
