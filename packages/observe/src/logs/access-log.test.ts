import type { IncomingMessage, ServerResponse } from 'node:http';
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { accessLog } from './access-log.js';

/** An access log writing to an array, with the pino logger the 5xx lines go through. */
function capture() {
  const lines: string[] = [];
  const destination = { write: (line: string) => void lines.push(line) };
  const write = accessLog(pino({ base: null }, destination), {
    destination,
    service: 'api "v2"',
    instance: 'é-1',
  });
  return { lines, write };
}

const request = (method: string) => ({ method }) as IncomingMessage;
const response = (statusCode: number) => ({ statusCode }) as ServerResponse;

describe('accessLog', () => {
  it('writes one valid JSON line per request whatever the route, method, id and duration', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
        fc.integer({ min: 100, max: 499 }),
        fc.oneof(
          fc.constantFrom('a"b', 'c\\d', 'e\nf', '\u2028', '\u0000'),
          fc.uuid(),
          fc.string({ minLength: 1, maxLength: 40 }),
          fc.string({ unit: 'grapheme', maxLength: 10 }),
        ),
        fc.integer({ min: 0, max: 60_000_000 }),
        fc.boolean(),
        (route, method, status, id, micros, traced) => {
          const { lines, write } = capture();
          const ids = traced
            ? { request_id: id, trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' }
            : { request_id: id };
          // twice: the second line reuses what the first built
          for (let k = 0; k < 2; k++)
            write(request(method), response(status), route, String(status), micros / 1e6, ids);
          expect(lines).toHaveLength(2);
          for (const line of lines) {
            expect(line.endsWith('}\n')).toBe(true);
            const parsed = JSON.parse(line) as Record<string, unknown>;
            expect(parsed).toMatchObject({
              level: 'info',
              service: 'api "v2"',
              instance: 'é-1',
              ...ids,
              method,
              route,
              status,
              msg: 'request completed',
            });
            expect(parsed.duration_ms).toBeCloseTo(micros / 1000, 3);
            expect(Number.isNaN(Date.parse(String(parsed.time)))).toBe(false);
          }
        },
      ),
    );
  });

  it('a route answered with another status or method is written with its own', () => {
    const { lines, write } = capture();
    write(request('GET'), response(200), 'GET /users', '200', 0.001, undefined);
    write(request('GET'), response(404), 'GET /users', '404', 0.001, undefined);
    write(request('HEAD'), response(404), 'GET /users', '404', 0.001, undefined);
    expect(lines.map((l) => JSON.parse(l) as { status: number; method: string })).toMatchObject([
      { status: 200, method: 'GET' },
      { status: 404, method: 'GET' },
      { status: 404, method: 'HEAD' },
    ]);
  });
});
