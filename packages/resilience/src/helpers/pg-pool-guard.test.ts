import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUnavailable, startPostgres, type TempPostgres } from '../../../../test/support/postgres.js';
import { ManualClock } from '../core/clock.js';
import { isFaultlineError } from '../core/errors.js';
import { withDeadline } from '../deadline/deadline.js';
import { guardPool, type PoolClientLike } from './pg-pool-guard.js';

/** An in-memory pool shaped like pg's, whose connect() waits until a client is released. */
class FakePool {
  readonly options = { max: 2 };
  totalCount = 0;
  idleCount = 0;
  readonly #waiters: ((c: FakeClient) => void)[] = [];
  readonly #idle: FakeClient[] = [];
  get waitingCount(): number {
    return this.#waiters.length;
  }
  connect(): Promise<FakeClient> {
    const idle = this.#idle.pop();
    if (idle !== undefined) {
      this.idleCount--;
      return Promise.resolve(idle);
    }
    if (this.totalCount < this.options.max) {
      this.totalCount++;
      return Promise.resolve(new FakeClient(this));
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  _release(c: FakeClient): void {
    const next = this.#waiters.shift();
    if (next !== undefined) next(c);
    else {
      this.#idle.push(c);
      this.idleCount++;
    }
  }
}

class FakeClient implements PoolClientLike {
  readonly #pool: FakePool;
  constructor(pool: FakePool) {
    this.#pool = pool;
  }
  async query(text: string): Promise<{ rows: { text: string }[] }> {
    if (text === 'fail') throw new Error('syntax error');
    return { rows: [{ text }] };
  }
  release(): void {
    this.#pool._release(this);
  }
}

function collect(name: string): { events: Record<string, unknown>[]; stop: () => void } {
  const events: Record<string, unknown>[] = [];
  const fn = (m: unknown) => events.push(m as Record<string, unknown>);
  subscribe(name, fn);
  return { events, stop: () => unsubscribe(name, fn) };
}

describe('guardPool (in-memory pool, manual clock)', () => {
  it('gives up after acquireTimeoutMs with the pool state, and hands a late connection straight back', async () => {
    const clock = new ManualClock();
    const pool = new FakePool();
    const guard = guardPool(pool, { acquireTimeoutMs: 500, name: 'orders', clock });
    const rejects = collect('faultline:resilience:reject');
    try {
      const a = await guard.acquire();
      await guard.acquire();
      const third = guard.acquire().catch((e: unknown) => e);
      await clock.advance(499);
      expect(pool.waitingCount).toBe(1);
      await clock.advance(1);
      const err = await third;
      expect(isFaultlineError(err) && err.code).toBe('FL_POOL_ACQUIRE_TIMEOUT');
      expect(isFaultlineError(err) && err.details).toEqual({
        pool_active: 2,
        pool_idle: 0,
        pool_waiting: 1,
        pool_max: 2,
        waited_ms: 500,
        acquire_timeout_ms: 500,
        pool: 'orders',
      });
      expect((err as Error).message).toBe(
        'pg-pool-guard:orders: no connection within 500ms (waited 500ms; pool_active=2 pool_idle=0 pool_waiting=1 pool_max=2)',
      );
      expect(rejects.events).toEqual([
        expect.objectContaining({
          policy: 'pg-pool-guard',
          name: 'orders',
          code: 'FL_POOL_ACQUIRE_TIMEOUT',
          reason: 'acquire-timeout',
        }),
      ]);
      // the abandoned request is still queued in the pool: the next free connection goes back at once
      a.release();
      await clock.advance(0);
      expect(guard.lateReleases).toBe(1);
      expect(guard.state()).toEqual({ pool_active: 1, pool_idle: 1, pool_waiting: 0, pool_max: 2 });
      expect(clock.pendingTimers).toBe(0);
    } finally {
      rejects.stop();
    }
  });

  it('stops waiting when the caller aborts (FL_ABORTED) or the deadline is shorter', async () => {
    const clock = new ManualClock();
    const pool = new FakePool();
    const guard = guardPool(pool, { acquireTimeoutMs: 10_000, clock });
    await guard.acquire();
    await guard.acquire();
    const ac = new AbortController();
    const aborted = guard.acquire(ac.signal).catch((e: unknown) => e);
    ac.abort(new Error('request cancelled'));
    expect(await aborted).toMatchObject({ code: 'FL_ABORTED', cause: { message: 'request cancelled' } });

    const bounded = withDeadline(300, () => guard.acquire(), { clock }).catch((e: unknown) => e);
    await clock.advance(300);
    expect(await bounded).toMatchObject({
      code: 'FL_POOL_ACQUIRE_TIMEOUT',
      details: { acquire_timeout_ms: 300 },
    });
    await expect(withDeadline(0, () => guard.acquire(), { clock })).rejects.toMatchObject({
      code: 'FL_DEADLINE_EXCEEDED',
    });
  });

  it('query releases the client, destroying it on a failed query like pg does', async () => {
    const pool = new FakePool();
    const guard = guardPool(pool, { acquireTimeoutMs: 100 });
    await expect(guard.query<{ rows: { text: string }[] }>('select 1')).resolves.toEqual({
      rows: [{ text: 'select 1' }],
    });
    await expect(guard.query('fail')).rejects.toThrow('syntax error');
    expect(guard.state()).toMatchObject({ pool_active: 0, pool_waiting: 0 });
  });

  it('rejects nonsense options', () => {
    expect(() => guardPool(new FakePool(), { acquireTimeoutMs: -1 })).toThrow(/option "acquireTimeoutMs"/);
  });
});

const unavailable = postgresUnavailable();

if (unavailable !== undefined && process.env.CI) {
  describe('guardPool against a real PostgreSQL', () => {
    it('needs PostgreSQL in CI', () => {
      throw new Error(`PostgreSQL is required in CI but unavailable: ${unavailable}`);
    });
  });
} else {
  if (unavailable !== undefined) console.warn(`skipping the PostgreSQL pool guard tests: ${unavailable}`);
  describe.skipIf(unavailable !== undefined)(
    `guardPool against a real PostgreSQL${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
    () => {
      let db: TempPostgres;
      let pool: pg.Pool;

      beforeAll(async () => {
        db = await startPostgres();
        pool = new pg.Pool({ connectionString: db.url, max: 2 });
      });

      afterAll(async () => {
        await pool?.end();
        await db?.stop();
      });

      it('a third acquire on a pool of two held connections times out with the pool state', async () => {
        const guard = guardPool(pool, { acquireTimeoutMs: 200, name: 'main' });
        const a = await guard.acquire();
        const b = await guard.acquire();
        try {
          const started = performance.now();
          const err = await guard.acquire().then(
            () => undefined,
            (e: unknown) => e,
          );
          const waited = performance.now() - started;
          expect(waited).toBeGreaterThanOrEqual(195);
          expect(waited).toBeLessThan(1000);
          expect(isFaultlineError(err)).toBe(true);
          if (!isFaultlineError(err)) return;
          expect(err.code).toBe('FL_POOL_ACQUIRE_TIMEOUT');
          expect(err.retryable).toBe(true);
          expect(err.details).toMatchObject({
            pool_active: 2,
            pool_idle: 0,
            pool_waiting: 1,
            pool_max: 2,
            pool: 'main',
          });
          expect(err.details?.waited_ms).toBeGreaterThanOrEqual(195);
          expect(err.message).toContain('pool_active=2 pool_idle=0 pool_waiting=1 pool_max=2');
          // what the service logs (the seed's line), straight from the details
          const line = JSON.parse(
            JSON.stringify({
              level: 'error',
              message: 'DB connection timeout',
              request_id: 'req-123',
              pool_active: err.details?.pool_active,
              pool_max: err.details?.pool_max,
            }),
          );
          expect(line).toEqual({
            level: 'error',
            message: 'DB connection timeout',
            request_id: 'req-123',
            pool_active: 2,
            pool_max: 2,
          });
          // pg cannot cancel the queued connect: the connection freed next comes straight back
          a.release();
          await expect.poll(() => guard.lateReleases).toBe(1);
          expect(pool.waitingCount).toBe(0);
          expect(pool.idleCount).toBe(1);
        } finally {
          b.release();
        }
      });

      it('a query through the guard works', async () => {
        const guard = guardPool(pool, { acquireTimeoutMs: 1000 });
        const res = await guard.query<pg.QueryResult<{ n: number; who: string }>>(
          'select $1::int + 1 as n, current_user as who',
          [41],
        );
        expect(res.rows).toEqual([{ n: 42, who: 'postgres' }]);
        await expect(guard.query('select * from no_such_table')).rejects.toThrow(/no_such_table/);
        expect(pool.waitingCount).toBe(0);
        expect(pool.totalCount - pool.idleCount).toBe(0);
      });

      it('a connection cut mid-query rejects the query and does not crash the process', async () => {
        // a TCP relay in front of PostgreSQL whose sockets we reset, as a network cut or a proxy would
        const sockets = new Set<Socket>();
        const relay = createServer((down) => {
          const up = connect(db.port, '127.0.0.1');
          sockets.add(down);
          down.on('error', () => {});
          up.on('error', () => down.destroy());
          down.pipe(up).pipe(down);
        });
        relay.listen(0, '127.0.0.1');
        await once(relay, 'listening');
        const port = (relay.address() as AddressInfo).port;
        const cutPool = new pg.Pool({
          connectionString: `postgresql://postgres@127.0.0.1:${port}/postgres`,
          max: 1,
        });
        cutPool.on('error', () => {});
        const guard = guardPool(cutPool, { acquireTimeoutMs: 1000 });
        const uncaught: unknown[] = [];
        const onUncaught = (e: unknown) => uncaught.push(e);
        const listeners = process.listeners('uncaughtException');
        process.removeAllListeners('uncaughtException');
        process.on('uncaughtException', onUncaught);
        try {
          const slow = guard.query('select pg_sleep(5)').then(
            () => undefined,
            (e: unknown) => e,
          );
          await expect.poll(() => sockets.size).toBe(1);
          await new Promise((r) => setTimeout(r, 100));
          for (const s of sockets) s.resetAndDestroy();
          expect(await slow).toBeInstanceOf(Error);
          await new Promise((r) => setTimeout(r, 100));
          expect(uncaught).toEqual([]);
        } finally {
          process.off('uncaughtException', onUncaught);
          for (const l of listeners) process.on('uncaughtException', l);
          await cutPool.end().catch(() => {});
          relay.close();
        }
      });
    },
  );
}
