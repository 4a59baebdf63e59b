import { context, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { PgPoolLike } from '../pool/instrument-pool.js';
import type { Tracing } from './tracing.js';

export interface TracePoolOptions {
  /** `db.client.connection.pool.name` on the spans; default `default`. */
  readonly name?: string;
  /**
   * `peer.service` on the query spans: the name the database goes by in service graphs and in
   * `faultline investigate` (e.g. `orders-db`); unset, tools fall back to `db.system.name`.
   */
  readonly peerService?: string;
}

type Callback = (err: unknown, ...rest: unknown[]) => void;
interface QueryableClient {
  query: (...args: unknown[]) => unknown;
}

const WRAPPED = Symbol.for('faultline.observe.traced-client');

// Statements are mostly a few constant texts: their operation is looked up, not parsed again.
const operations = new Map<string, string>();
const MAX_CACHED_STATEMENTS = 1000;

/** The statement's first word, upper-cased (`SELECT`), never its values or the rest of the text. */
export function operationOf(statement: unknown): string {
  const text =
    typeof statement === 'string'
      ? statement
      : typeof (statement as { text?: unknown } | null)?.text === 'string'
        ? (statement as { text: string }).text
        : '';
  let operation = operations.get(text);
  if (operation === undefined) {
    operation = /^\s*([A-Za-z]+)/.exec(text)?.[1]?.toUpperCase() ?? 'UNKNOWN';
    if (operations.size < MAX_CACHED_STATEMENTS && text.length <= 1024) operations.set(text, operation);
  }
  return operation;
}

function fail(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

function isThenable(v: unknown): v is Promise<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

interface Connectable {
  connect(...args: unknown[]): unknown;
}
type ConnectableClass = new (...args: never[]) => Connectable;

/**
 * A CLIENT span `pg.connect` (with `peer.service`) for every physical connection the pool opens:
 * node-postgres pools make them through their `Client` class, which is swapped for a subclass
 * whose `connect` is traced. A database that refuses or drops connections then shows as failed
 * calls to it, not only as failed acquisitions inside its callers. Returns the undo.
 */
function traceNewConnections(
  pool: PgPoolLike,
  tracer: Tracing['tracer'],
  o: { poolName: string; peer: Record<string, string>; isActive: () => boolean },
): () => void {
  const holder = pool as unknown as { Client?: unknown };
  const Original = holder.Client;
  if (typeof Original !== 'function') return () => {};
  const Base = Original as ConnectableClass;
  class TracedClient extends Base {
    override connect(...args: unknown[]): unknown {
      if (!o.isActive()) return super.connect(...args);
      const span = tracer.startSpan('pg.connect', {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system.name': 'postgresql',
          'db.client.connection.pool.name': o.poolName,
          ...o.peer,
        },
      });
      const cb = args[0];
      if (typeof cb === 'function') {
        return super.connect((err: unknown, ...rest: unknown[]) => {
          if (err) fail(span, err);
          span.end();
          (cb as Callback)(err, ...rest);
        });
      }
      const result = super.connect(...args);
      if (!isThenable(result)) {
        span.end();
        return result;
      }
      return result.then(
        (r) => {
          span.end();
          return r;
        },
        (e: unknown) => {
          fail(span, e);
          span.end();
          throw e;
        },
      );
    }
  }
  holder.Client = TracedClient;
  return () => {
    if (holder.Client === TracedClient) holder.Client = Original;
  };
}

/**
 * Traces a node-postgres `Pool`: `pg.pool.acquire` spans for `pool.connect()` (also inside
 * `pool.query`), with the pool state when asked, and `pg.query` spans for queries on the clients
 * it hands out, named by the statement's first word only, and `pg.connect` CLIENT spans for the
 * connections it opens. Returns a function that unhooks the pool.
 * @example const untrace = tracePool(pool, tracing, { name: 'main' });
 */
export function tracePool(pool: PgPoolLike, tracing: Tracing, options: TracePoolOptions = {}): () => void {
  const { tracer } = tracing;
  const poolName = options.name ?? 'default';
  const peer = options.peerService === undefined ? {} : { 'peer.service': options.peerService };
  let active = true;
  const wrapClient = (client: unknown): void => {
    const c = client as QueryableClient & { [WRAPPED]?: boolean };
    if (c === null || typeof c !== 'object' || typeof c.query !== 'function' || c[WRAPPED]) return;
    const query = c.query;
    c[WRAPPED] = true;
    c.query = function tracedQuery(this: unknown, ...args: unknown[]): unknown {
      // submittables (cursors, streams) are passed through untraced
      if (!active || typeof (args[0] as { submit?: unknown } | null)?.submit === 'function') {
        return Reflect.apply(query, this, args);
      }
      const operation = operationOf(args[0]);
      const span = tracer.startSpan('pg.query', {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system.name': 'postgresql',
          'db.operation.name': operation,
          'db.client.connection.pool.name': poolName,
          ...peer,
        },
      });
      const last = args.length - 1;
      const cb = args[last];
      if (typeof cb === 'function') {
        args[last] = (err: unknown, ...rest: unknown[]) => {
          if (err) fail(span, err);
          span.end();
          (cb as Callback)(err, ...rest);
        };
      }
      let result: unknown;
      try {
        result = Reflect.apply(query, this, args);
      } catch (e) {
        fail(span, e);
        span.end();
        throw e;
      }
      if (typeof cb !== 'function') {
        if (isThenable(result)) {
          return result.then(
            (r) => {
              span.end();
              return r;
            },
            (e: unknown) => {
              fail(span, e);
              span.end();
              throw e;
            },
          );
        }
        span.end();
      }
      return result;
    };
  };

  const restoreClient = traceNewConnections(pool, tracer, { poolName, peer, isActive: () => active });
  const target = pool as unknown as { connect: (...args: unknown[]) => unknown };
  const hadOwn = Object.hasOwn(target, 'connect');
  const original = target.connect;
  target.connect = function connect(this: unknown, ...args: unknown[]): unknown {
    if (!active) return Reflect.apply(original, this, args);
    const span = tracer.startSpan('pg.pool.acquire', {
      kind: SpanKind.INTERNAL,
      attributes: {
        'db.system.name': 'postgresql',
        'db.client.connection.pool.name': poolName,
        'db.client.connection.pool.waiting': pool.waitingCount,
        'db.client.connection.pool.idle': pool.idleCount,
        'db.client.connection.pool.total': pool.totalCount,
      },
    });
    const cb = args[0];
    if (typeof cb === 'function') {
      // the pool may call back from another request's release: restore the caller's context
      // (entered here rather than through context.bind, whose wrapper costs more than the call)
      const caller = context.active();
      const wrapped = (err: unknown, client: unknown, done: unknown): void => {
        if (err) fail(span, err);
        else wrapClient(client);
        span.end();
        context.with(caller, cb as Callback, undefined, err, client, done);
      };
      return args.length === 1
        ? original.call(this, wrapped)
        : Reflect.apply(original, this, [wrapped, ...args.slice(1)]);
    }
    const result = Reflect.apply(original, this, args);
    if (!isThenable(result)) {
      span.end();
      return result;
    }
    return result.then(
      (client) => {
        wrapClient(client);
        span.end();
        return client;
      },
      (e: unknown) => {
        fail(span, e);
        span.end();
        throw e;
      },
    );
  };
  return () => {
    if (!active) return;
    active = false;
    restoreClient();
    if (hadOwn) target.connect = original;
    else delete (target as { connect?: unknown }).connect;
  };
}
