import type { IncomingMessage } from 'node:http';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE']);
// A segment that looks like an identifier (number, uuid, long hex or token) would make one series
// per resource; it becomes ':id'.
const ID_LIKE = /^(?:\d+|[0-9a-f]{8,}|[0-9a-f]{8}-[0-9a-f-]{27,}|.{32,})$/i;

/** The default route label: method plus the first path segment, ids folded (`GET /users`, `GET /:id`). */
export function defaultRoute(req: IncomingMessage): string {
  const method = METHODS.has(req.method ?? '') ? (req.method as string) : 'OTHER';
  const url = req.url ?? '/';
  let end = url.length;
  for (let i = 1; i < url.length; i++) {
    const c = url.charCodeAt(i);
    // '/', '?', '#'
    if (c === 47 || c === 63 || c === 35) {
      end = i;
      break;
    }
  }
  const segment = url.charCodeAt(0) === 47 ? url.slice(1, end) : '';
  if (segment === '') return `${method} /`;
  return `${method} /${ID_LIKE.test(segment) ? ':id' : segment}`;
}

/**
 * Keeps the number of distinct route labels bounded: past `max`, new routes are reported as
 * `other` (a scanner probing random paths must not blow up the series count).
 */
export class RouteLimiter {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}

  label(route: string): string {
    if (this.seen.has(route)) return route;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(route);
    return route;
  }
}
