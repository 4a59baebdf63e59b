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

describe('accessLog with batch', () => {
  /** A destination that drains the access log before it takes a line, as a buffered file does. */
  function batched(batch: number) {
    const chunks: string[] = [];
    let drain = () => {};
    const destination = {
      write: (text: string) => {
        drain();
        chunks.push(text);
      },
    };
    const write = accessLog(pino({ base: null, timestamp: false }, destination), {
      destination,
      service: 'api',
      instance: 'a-1',
      batch,
    });
    drain = write.drain;
    const lines = () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '');
    return { chunks, lines, write };
  }
  const withoutTime = (line: string) => {
    const { time: _time, ...rest } = JSON.parse(line) as Record<string, unknown>;
    return rest;
  };

  it('writes the same lines in the same order as one line at a time, 5xx lines from the logger included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.array(
          fc.record({
            route: fc.constantFrom('GET /a', 'POST /b', 'GET /"c"'),
            status: fc.constantFrom(200, 201, 404, 500, 503),
            id: fc.string({ maxLength: 8 }),
            micros: fc.integer({ min: 0, max: 5_000_000 }),
          }),
          { maxLength: 40 },
        ),
        (batch, requests) => {
          const one = capture();
          const many = batched(batch);
          for (const r of requests) {
            const args = [
              request('GET'),
              response(r.status),
              r.route,
              String(r.status),
              r.micros / 1e6,
            ] as const;
            one.write(...args, { request_id: r.id });
            many.write(...args, { request_id: r.id });
          }
          many.write.drain();
          const expected = one.lines.map(withoutTime);
          expect(many.lines().map(withoutTime)).toEqual(
            expected.map((l) => (l.level === 'info' ? { ...l, service: 'api', instance: 'a-1' } : l)),
          );
        },
      ),
    );
  });

  it('holds lines until `batch` requests are held or drain() is called, then writes them in one piece', () => {
    const { chunks, lines, write } = batched(3);
    const ok = (id: string) =>
      write(request('GET'), response(200), 'GET /', '200', 0.001, { request_id: id });
    ok('a');
    ok('b');
    expect(chunks).toEqual([]);
    ok('c');
    expect(chunks).toHaveLength(1);
    expect(lines().map((l) => (JSON.parse(l) as { request_id: string }).request_id)).toEqual(['a', 'b', 'c']);
    ok('d');
    write.drain();
    write.drain();
    expect(chunks).toHaveLength(2);
    expect(lines()).toHaveLength(4);
  });
});
