import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, trace } from '@opentelemetry/api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUnavailable, startPostgres, type TempPostgres } from '../../../../test/support/postgres.js';
import { tracePool } from './pool.js';
import { createTracing } from './tracing.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined && process.env.CI)
  throw new Error(
    `tracePool tests need PostgreSQL in CI: ${unavailable} (install Debian's postgresql package)`,
  );

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: Record<string, unknown> }[];
  status: { code: number };
}

function readSpans(file: string): (Span & { attr: Record<string, unknown> })[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .flatMap((l) => {
      const doc = JSON.parse(l) as { resourceSpans: { scopeSpans: { spans: Span[] }[] }[] };
      return doc.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    })
    .map((s) => ({
      ...s,
      attr: Object.fromEntries(
        s.attributes.map(({ key, value }) => [key, value.stringValue ?? value.intValue ?? value.boolValue]),
      ),
    }));
}

describe('tracePool with a database that refuses connections', () => {
  it('makes a failed pg.connect CLIENT span with peer.service, and puts the pool back on untrace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'observe-pg-refused-'));
    const file = join(dir, 'otlp.json');
    // a port nothing listens on: taken, then closed
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const tracing = createTracing({ service: 'api', exporter: { file } });
    const pool = new pg.Pool({ host: '127.0.0.1', port, user: 'postgres', max: 2 });
    const OriginalClient = (pool as unknown as { Client: unknown }).Client;
    const untrace = tracePool(pool, tracing, { name: 'main', peerService: 'orders-db' });
    try {
      await expect(pool.query('select 1')).rejects.toThrow(/ECONNREFUSED/);
      untrace();
      expect((pool as unknown as { Client: unknown }).Client).toBe(OriginalClient);
      await expect(pool.query('select 1')).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      untrace();
      await pool.end();
      await tracing.shutdown();
    }
    const spans = readSpans(file);
    rmSync(dir, { recursive: true, force: true });
    const connects = spans.filter((s) => s.name === 'pg.connect');
    expect(connects).toHaveLength(1); // the second attempt ran untraced
    expect(connects[0]?.kind).toBe(3); // CLIENT
    expect(connects[0]?.status.code).toBe(2); // ERROR
    expect(connects[0]?.attr).toMatchObject({ 'peer.service': 'orders-db', 'db.system.name': 'postgresql' });
    expect(spans.filter((s) => s.name === 'pg.pool.acquire').map((s) => s.status.code)).toEqual([2]);
  });
});

describe.skipIf(unavailable !== undefined)('tracePool with a real PostgreSQL', () => {
  let postgres: TempPostgres;
  let dir: string;

  beforeAll(async () => {
    postgres = await startPostgres();
    dir = mkdtempSync(join(tmpdir(), 'observe-pg-traces-'));
  });
  afterAll(async () => {
    await postgres?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes pg.pool.acquire and pg.query spans under the caller, for pool.query and connect()', async () => {
    const file = join(dir, 'otlp.json');
    const tracing = createTracing({ service: 'db', exporter: { file } });
    const pool = new pg.Pool({ host: '127.0.0.1', port: postgres.port, user: 'postgres', max: 1 });
    const untrace = tracePool(pool, tracing, { name: 'main', peerService: 'users-db' });
    const request = tracing.tracer.startSpan('GET /users');
    const held = tracing.tracer.startSpan('GET /hold');
    try {
      // a second caller waits for the only client, held by another request
      const holder = await context.with(trace.setSpan(context.active(), held), () => pool.connect());
      const waiting = context.with(trace.setSpan(context.active(), request), async () => {
        const r = await pool.query('select $1::text as id', ['s3cr3t-value']);
        const client = await pool.connect();
        try {
          await client.query('create temporary table t (x int)');
          await expect(client.query('selec nothing')).rejects.toThrow();
        } finally {
          client.release();
        }
        return r.rows[0] as { id: string };
      });
      await new Promise((r) => setTimeout(r, 50));
      expect(pool.waitingCount).toBe(1);
      holder.release();
      expect(await waiting).toEqual({ id: 's3cr3t-value' });
    } finally {
      request.end();
      held.end();
      untrace();
      await pool.end();
      await tracing.shutdown();
    }

    const spans = readSpans(file);
    const requestId = request.spanContext().spanId;
    const mine = spans.filter((s) => s.parentSpanId === requestId);
    expect(mine.map((s) => s.name)).toEqual([
      'pg.pool.acquire', // inside pool.query
      'pg.query',
      'pg.pool.acquire', // pool.connect()
      'pg.query',
      'pg.query',
    ]);
    expect(mine.every((s) => s.traceId === request.spanContext().traceId)).toBe(true);
    const [acquire, select, , create, bad] = mine;
    // the first acquisition waited for the held client, with one waiter when it started
    expect(acquire?.kind).toBe(1); // INTERNAL
    expect(acquire?.attr).toMatchObject({
      'db.system.name': 'postgresql',
      'db.client.connection.pool.name': 'main',
      'db.client.connection.pool.total': '1',
      'db.client.connection.pool.idle': '0',
    });
    const waited = BigInt(acquire?.endTimeUnixNano ?? '0') - BigInt(acquire?.startTimeUnixNano ?? '0');
    expect(waited).toBeGreaterThan(40_000_000n);
    // the query ran after the acquisition, as its sibling, not its child
    expect(BigInt(select?.startTimeUnixNano ?? '0')).toBeGreaterThanOrEqual(
      BigInt(acquire?.endTimeUnixNano ?? '0'),
    );
    expect(select?.kind).toBe(3); // CLIENT
    expect(select?.attr).toMatchObject({
      'db.operation.name': 'SELECT',
      'db.client.connection.pool.name': 'main',
      'peer.service': 'users-db',
    });
    expect(acquire?.attr['peer.service']).toBeUndefined(); // the wait is the caller's, not the database's
    expect(create?.attr['db.operation.name']).toBe('CREATE');
    expect(bad?.status.code).toBe(2); // ERROR
    expect(select?.status.code).toBe(0);
    // the holder's acquisition belongs to its own request
    const heldId = held.spanContext().spanId;
    // it opened the pool's only connection: a CLIENT call to the database, as its sibling
    const held2 = spans.filter((s) => s.parentSpanId === heldId);
    expect(held2.map((s) => s.name)).toEqual(['pg.connect', 'pg.pool.acquire']);
    expect(held2[0]?.kind).toBe(3);
    expect(held2[0]?.status.code).toBe(0);
    expect(held2[0]?.attr).toMatchObject({ 'db.system.name': 'postgresql', 'peer.service': 'users-db' });
    expect(spans.filter((s) => s.name === 'pg.connect')).toHaveLength(1);
    // never the statement text or its values
    expect(JSON.stringify(spans)).not.toContain('s3cr3t');
    expect(JSON.stringify(spans)).not.toContain('$1');
  });
});
