import type { Scenario } from './scenario.js';

/**
 * Catalogue 1: a migration takes a lock on `orders` for 15 s; every statistics query waits on
 * it holding its pooled connection, the pools fill and everything behind them waits too.
 */
export const poolExhaustion: Scenario = {
  name: 'pool-exhaustion',
  catalogue: 1,
  title: 'pool exhaustion from slow queries (lock wait)',
  description:
    'A migration holds an exclusive lock on the orders table for 15 s. Queries on it wait holding their ' +
    'connection; node-postgres waits forever for a free one. Baseline: pools at max with waiters, deep health ' +
    'checks time out, the load balancer ejects every app. Hardened: statement and acquire timeouts free the ' +
    'pool, the breaker stops asking, answers come degraded from the cache.',
  durationS: 75,
  rps: 120,
  triggerEndS: 50,
  needsRealPostgres: true,
  steps: [
    {
      atS: 35,
      action: { kind: 'db-lock', table: 'orders', durationS: 15 },
      note: 'a migration locks orders for 15 s',
    },
  ],
};
