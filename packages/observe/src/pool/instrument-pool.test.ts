import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUnavailable, startPostgres, type TempPostgres } from '../../../../test/support/postgres.js';
import { find, parseExposition, value } from '../metrics/exposition.fixtures.js';
import { observe } from '../observe.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined && process.env.CI)
  throw new Error(`pool tests need PostgreSQL in CI: ${unavailable} (install Debian's postgresql package)`);

describe.skipIf(unavailable !== undefined)('instrumentPool with a real PostgreSQL', () => {
  let postgres: TempPostgres;

  beforeAll(async () => {
    postgres = await startPostgres();
  });
  afterAll(async () => {
    await postgres?.stop();
  });

  it('shows in-use, waiting, max and acquire times while clients are held', async () => {
    const obs = observe({ service: 'db' });
    const pool = new pg.Pool({ host: '127.0.0.1', port: postgres.port, user: 'postgres', max: 2 });
    try {
      const db = obs.instrumentPool(pool, { name: 'main' });
      const a = await pool.connect(); // promise form
      const b = await new Promise<pg.PoolClient>((resolve, reject) =>
        // callback form
        pool.connect((err, client) => (err || client === undefined ? reject(err) : resolve(client))),
      );
      const third = pool.connect();
      await new Promise((r) => setTimeout(r, 30));

      let s = parseExposition(await obs.metrics());
      expect(value(s, 'db_pool_connections_in_use', { pool: 'main' })).toBe(2);
      expect(value(s, 'db_pool_connections_idle', { pool: 'main' })).toBe(0);
      expect(value(s, 'db_pool_waiting', { pool: 'main' })).toBe(1);
      expect(value(s, 'db_pool_connections_max', { pool: 'main' })).toBe(2);
      expect(value(s, 'db_pool_acquire_duration_seconds_count', { pool: 'main' })).toBe(2);
      expect(db.poolState()).toEqual({ pool_active: 2, pool_idle: 0, pool_waiting: 1, pool_max: 2 });

      a.release();
      const c = await third;
      // the waiter got its client after ≥ 30 ms
      s = parseExposition(await obs.metrics());
      expect(value(s, 'db_pool_acquire_duration_seconds_count', { pool: 'main' })).toBe(3);
      expect(
        value(s, 'db_pool_acquire_duration_seconds_bucket', { pool: 'main', le: '0.025' }),
      ).toBeLessThanOrEqual(2);
      expect(value(s, 'db_pool_waiting', { pool: 'main' })).toBe(0);
      expect((await c.query('select 1 as one')).rows[0]).toEqual({ one: 1 });
      b.release();
      c.release();

      // pool.query goes through the wrapped connect too
      await pool.query('select 1');
      s = parseExposition(await obs.metrics());
      expect(value(s, 'db_pool_acquire_duration_seconds_count', { pool: 'main' })).toBe(4);
      expect(value(s, 'db_pool_connections_in_use', { pool: 'main' })).toBe(0);
      expect(value(s, 'db_pool_connections_idle', { pool: 'main' })).toBe(2);

      db.uninstrument();
      expect(Object.hasOwn(pool, 'connect')).toBe(false);
      s = parseExposition(await obs.metrics());
      expect(find(s, 'db_pool_waiting')).toHaveLength(0);
    } finally {
      obs.shutdown();
      await pool.end();
    }
  });

  it('counts acquire timeouts', async () => {
    const obs = observe({ service: 'db' });
    const pool = new pg.Pool({
      host: '127.0.0.1',
      port: postgres.port,
      user: 'postgres',
      max: 1,
      connectionTimeoutMillis: 50,
    });
    try {
      obs.instrumentPool(pool, { name: 'tight' });
      const held = await pool.connect();
      await expect(pool.connect()).rejects.toThrow(/timeout/);
      await new Promise<void>((resolve) =>
        pool.connect((err) => {
          expect(err).toBeInstanceOf(Error);
          resolve();
        }),
      );
      held.release();
      const s = parseExposition(await obs.metrics());
      expect(value(s, 'db_pool_acquire_timeouts_total', { pool: 'tight' })).toBe(2);
      expect(find(s, 'db_pool_acquire_errors_total', { pool: 'tight' })).toHaveLength(0);
      expect(value(s, 'db_pool_acquire_duration_seconds_bucket', { pool: 'tight', le: '0.025' })).toBe(1);
      expect(value(s, 'db_pool_acquire_duration_seconds_count', { pool: 'tight' })).toBe(3);
    } finally {
      obs.shutdown();
      await pool.end();
    }
  });
});
