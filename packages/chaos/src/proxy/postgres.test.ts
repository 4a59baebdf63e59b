import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUnavailable, startPostgres } from '../../../../test/support/postgres.js';
import { Cleanup, portOf } from './loopback.fixtures.js';
import { startProxyServer } from './server.js';

const unavailable = postgresUnavailable();
const cleanup = new Cleanup();
let upstream = '';

beforeAll(async () => {
  if (unavailable !== undefined) return;
  const db = cleanup.add(await startPostgres(), (p) => p.stop());
  upstream = `127.0.0.1:${db.port}`;
}, 60_000);
afterAll(() => cleanup.run());

describe.skipIf(unavailable !== undefined)('PostgreSQL through the fault proxy', () => {
  it('queries pass through; a latency toxic slows each round trip; a timeout toxic makes queries hang', async () => {
    const s = cleanup.add(await startProxyServer({ port: 0 }), (x) => x.close());
    const p = await s.proxies.create({ name: 'pg', upstream });
    const client = new pg.Client({
      host: '127.0.0.1',
      port: portOf(p.listen),
      user: 'postgres',
      database: 'postgres',
    });
    client.on('error', () => {}); // the timeout toxic ends the session on purpose
    cleanup.add(client, (c) => c.end().catch(() => {}));
    await client.connect();
    const time = async () => {
      const t0 = performance.now();
      const r = await client.query('SELECT 1 AS one');
      expect(r.rows).toEqual([{ one: 1 }]);
      return performance.now() - t0;
    };
    expect(await time()).toBeLessThan(40);
    s.proxies.addToxic('pg', { type: 'latency', attributes: { latency: 50 } });
    const slow = await time();
    expect(slow).toBeGreaterThanOrEqual(50);
    expect(slow).toBeLessThan(150);
    s.proxies.removeToxic('pg', 'latency_downstream');
    expect(await time()).toBeLessThan(40);
    s.proxies.addToxic('pg', { type: 'timeout', stream: 'upstream', attributes: { timeout: 100 } });
    const errored = await client.query('SELECT 2').then(
      () => undefined,
      (e: Error) => e,
    );
    expect(errored).toBeInstanceOf(Error);
  });
});
