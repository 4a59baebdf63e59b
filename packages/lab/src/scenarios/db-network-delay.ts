import type { Scenario } from './scenario.js';

/** Catalogue 6: latency on the network path to the database; the server itself stays fast. */
export const dbNetworkDelay: Scenario = {
  name: 'db-network-delay',
  catalogue: 6,
  title: 'network delay to the database',
  description:
    'For 20 s the path to the database adds 600 ms each way. Client-side query time rises while server-side ' +
    'time stays normal. Baseline: pools fill, requests pile up, apps are ejected. Hardened: client-side query ' +
    'and acquire timeouts, a breaker, and degraded answers from the cache.',
  durationS: 75,
  rps: 120,
  triggerEndS: 55,
  steps: [
    {
      atS: 35,
      action: {
        kind: 'toxic',
        proxy: 'db',
        name: 'network-delay',
        type: 'latency',
        attributes: { latency: 600, jitter: 100 },
      },
      note: 'database path +600 ms',
    },
    {
      atS: 55,
      action: { kind: 'remove-toxic', proxy: 'db', name: 'network-delay' },
      note: 'database path back to normal',
    },
  ],
};
