import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type HttpHead, HttpParser } from './http-parser.js';

interface Parsed {
  readonly events: string[];
  /** every raw byte the parser handed on, in order */
  readonly bytes: Buffer;
}

/** Parses `input` fed in the pieces given by `cuts`; body and opaque bytes are merged per message. */
function parse(kind: 'request' | 'response', input: Buffer, cuts: readonly number[] = []): Parsed {
  const events: string[] = [];
  const out: Buffer[] = [];
  let body: Buffer[] = [];
  let opaque: Buffer[] = [];
  const flushBody = () => {
    if (body.length > 0) events.push(`body ${Buffer.concat(body).toString('latin1')}`);
    body = [];
  };
  const parser = new HttpParser(
    kind,
    {
      head: (h: HttpHead, raw) => {
        out.push(raw);
        events.push(`head ${JSON.stringify(h)} ${raw.length}`);
      },
      body: (raw) => {
        out.push(raw);
        body.push(raw);
      },
      done: () => {
        flushBody();
        events.push('done');
      },
      error: (reason) => {
        flushBody();
        events.push(`error ${reason}`);
      },
      opaque: (raw) => {
        out.push(raw);
        opaque.push(raw);
      },
    },
    { requestMethod: () => 'GET' },
  );
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    if (cut <= at || cut >= input.length) continue;
    parser.push(input.subarray(at, cut));
    at = cut;
  }
  if (at < input.length) parser.push(input.subarray(at));
  flushBody();
  if (opaque.length > 0) events.push(`opaque ${Buffer.concat(opaque).toString('latin1')}`);
  opaque = [];
  const rest = parser.takeBuffered();
  if (rest.length > 0) {
    out.push(rest);
    events.push(`buffered ${rest.length}`);
  }
  return { events, bytes: Buffer.concat(out) };
}

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,10}$/);
const headerValue = fc.stringMatching(/^[ -~]{0,20}$/).map((v) => v.trim());
const path = fc.stringMatching(/^\/[A-Za-z0-9/_.?=&-]{0,20}$/);
const bodyText = fc.stringMatching(/^[ -~\r\n]{0,40}$/);

const request = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
    path,
    headers: fc.array(fc.tuple(token, headerValue), { maxLength: 4 }),
    body: bodyText,
    framing: fc.constantFrom('none', 'length', 'chunked'),
    chunks: fc.array(fc.integer({ min: 1, max: 10 }), { maxLength: 4 }),
    lf: fc.boolean(),
  })
  .map(({ method, path, headers, body, framing, chunks, lf }) => {
    const eol = lf ? '\n' : '\r\n';
    const lines = [`${method} ${path} HTTP/1.1`, 'host: x'];
    for (const [n, v] of headers) {
      const name = n.toLowerCase();
      if (name === 'content-length' || name === 'transfer-encoding' || name === 'upgrade') continue;
      lines.push(`${n}: ${v}`);
    }
    let payload = '';
    if (framing === 'length') {
      lines.push(`Content-Length: ${body.length}`);
      payload = body;
    } else if (framing === 'chunked') {
      lines.push('Transfer-Encoding: chunked');
      let rest = body;
      for (const size of chunks) {
        if (rest === '') break;
        const piece = rest.slice(0, size);
        rest = rest.slice(size);
        payload += `${piece.length.toString(16)}${eol}${piece}\r\n`;
      }
      if (rest !== '') payload += `${rest.length.toString(16)};ext=1\r\n${rest}\r\n`;
      payload += `0\r\n${chunks.length % 2 === 0 ? '' : 'x-trailer: 1\r\n'}\r\n`;
    }
    return `${lines.join(eol)}${eol}${eol}${payload}`;
  });

describe('HttpParser', () => {
  it('parses a keep-alive sequence of requests', () => {
    const input = Buffer.from(
      'GET /a HTTP/1.1\r\nHost: x\r\n\r\n' +
        'POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc' +
        'POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n',
    );
    const p = parse('request', input);
    expect(p.events.filter((e) => !e.startsWith('head')).join('|')).toBe(
      'done|body abc|done|body 3\r\nxyz\r\n0\r\n\r\n|done',
    );
    expect(p.bytes.equals(input)).toBe(true);
  });

  it('reports binary data as not HTTP at once, and hands it on', () => {
    const input = Buffer.from([0, 0, 0, 8, 4, 210, 22, 47]);
    const p = parse('request', input);
    expect(p.events[0]).toMatch(/^error not HTTP/);
    expect(p.bytes.equals(input)).toBe(true);
  });

  it('frames responses (HEAD-less): content-length, chunked, 204, 1xx, until close', () => {
    const input = Buffer.from(
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi' +
        'HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n\r\nrest of stream',
    );
    const p = parse('response', input);
    expect(p.events.filter((e) => !e.startsWith('head')).join('|')).toBe(
      'done|body hi|done|done|opaque rest of stream',
    );
    expect(p.bytes.equals(input)).toBe(true);
  });

  it('gives the same parse for any split of valid requests', () => {
    fc.assert(
      fc.property(
        fc.array(request, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (reqs, cuts) => {
          const input = Buffer.from(reqs.join(''), 'latin1');
          const whole = parse('request', input);
          expect(whole.events.filter((e) => e === 'done')).toHaveLength(reqs.length);
          expect(whole.events.some((e) => e.startsWith('error'))).toBe(false);
          const split = parse(
            'request',
            input,
            cuts.map((c) => c % (input.length + 1)),
          );
          expect(split.events).toEqual(whole.events);
          expect(split.bytes.equals(input)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws on garbage and never loses or invents a byte', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc
            .array(
              fc.constantFrom(
                'GET / HTTP/1.1',
                '\r\n',
                'content-length: 5',
                'transfer-encoding: chunked',
                'zz',
                ':',
                ' ',
                '0',
                'HTTP/1.1 200 OK',
                '\n',
                'ff',
              ),
              { maxLength: 30 },
            )
            .map((parts) => new Uint8Array(Buffer.from(parts.join(''), 'latin1'))),
        ),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.constantFrom('request' as const, 'response' as const),
        (bytes, cuts, kind) => {
          const input = Buffer.from(bytes);
          const p = parse(
            kind,
            input,
            cuts.map((c) => c % (input.length + 1)),
          );
          expect(p.bytes.equals(input)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
