import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../proxy/loopback.fixtures.js';
import { type ProxyServer, startProxyServer } from '../proxy/server.js';
import { raw } from './api.fixtures.js';

const cleanup = new Cleanup();
let s: ProxyServer;

beforeAll(async () => {
  s = cleanup.add(await startProxyServer({ port: 0 }), (x) => x.close());
});
afterAll(() => cleanup.run());

const name = fc.oneof(
  fc.constantFrom('p', 'q', 'latency_downstream', 'noop_upstream', '', 'a b', '%zz', '..', '__proto__'),
  fc.string({ maxLength: 8 }),
);
const segment = fc.oneof(
  fc.constantFrom('proxies', 'toxics', 'populate', 'reset', 'version', 'metrics', '', '%', '%zz', '%2F'),
  name.map(encodeURIComponent),
);
const path = fc
  .tuple(fc.array(segment, { minLength: 0, maxLength: 5 }), fc.constantFrom('', '?x=1', '#f', '?'))
  .map(([parts, tail]) => `/${parts.join('/')}${tail}`);
const value = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  fc.constantFrom(
    'latency',
    'bandwidth',
    'timeout',
    'slicer',
    'upstream',
    'downstream',
    'both',
    1e308,
    -1,
    0.5,
  ),
);
const listen = fc.constantFrom('127.0.0.1:0', '', ':0', 'nohost', '127.0.0.1:99999', '[::1', 5, null, true);
const proxyBody = fc.record(
  {
    name,
    upstream: fc.oneof(fc.constant('127.0.0.1:9'), value),
    listen,
    enabled: fc.oneof(fc.boolean(), value),
  },
  { requiredKeys: [] },
);
const toxicBody = fc.record(
  {
    name: fc.oneof(name, value),
    type: fc.oneof(fc.constantFrom('latency', 'bandwidth', 'timeout', 'slicer', 'noop', 'limit_data'), value),
    stream: fc.oneof(fc.constantFrom('upstream', 'downstream', 'both', 'UP'), value),
    toxicity: fc.oneof(fc.double(), value),
    attributes: fc.oneof(fc.dictionary(fc.constantFrom('latency', 'rate', 'timeout', 'x'), value), value),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.constant(undefined),
  proxyBody.map((b) => JSON.stringify(b)),
  fc.array(proxyBody, { maxLength: 3 }).map((b) => JSON.stringify(b)),
  toxicBody.map((b) => JSON.stringify(b)),
  fc.json(),
  fc.string({ maxLength: 50 }),
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
);
const method = fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS', 'HEAD');

describe('REST API fuzz', () => {
  it('never crashes and always answers in the documented shape', { timeout: 60_000 }, async () => {
    await s.proxies.create({ name: 'p', upstream: '127.0.0.1:9' });
    await fc.assert(
      fc.asyncProperty(method, path, body, async (m, p, b) => {
        const r = await raw(s.url, m, p, m === 'GET' || m === 'HEAD' ? undefined : b);
        expect(r.status).toBeGreaterThanOrEqual(200);
        expect(r.status).toBeLessThan(600);
        if (m === 'HEAD') return;
        if (r.status === 404 && r.headers['content-type']?.toString().startsWith('text/plain')) {
          expect(r.body).toBe('404 page not found\n');
        } else if (r.status === 405) {
          expect(r.body).toBe('');
        } else if (r.status >= 400) {
          expect(r.headers['content-type']).toBe('application/json');
          expect(r.body.endsWith('\n')).toBe(true);
          const e = JSON.parse(r.body) as Record<string, unknown>;
          expect(Object.keys(e).sort()).toEqual(['error', 'status']);
          expect(e.status).toBe(r.status);
          expect(typeof e.error).toBe('string');
        } else if (r.body !== '') {
          JSON.parse(r.body.startsWith('# HELP') ? '{}' : r.body);
        }
      }),
      { numRuns: 400 },
    );
    expect((await raw(s.url, 'GET', '/version')).status).toBe(200);
  });
});
