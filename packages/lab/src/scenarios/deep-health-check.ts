import type { Scenario } from './scenario.js';

/** Catalogue 9: a 6 s database blip fails every deep health check at once. */
export const deepHealthCheck: Scenario = {
  name: 'deep-health-check',
  catalogue: 9,
  title: 'deep health check ejects every node',
  description:
    'The database is unreachable for 6 s. Baseline: /health queries the database, so every app fails its ' +
    'probes within one interval and the load balancer answers "no healthy upstream" until they pass again. ' +
    'Hardened: shallow liveness keeps every app in rotation, answers come degraded from the cache, and the ' +
    'load balancer would fail open (panic threshold) before ejecting them all.',
  durationS: 65,
  rps: 120,
  triggerEndS: 41,
  steps: [
    { atS: 35, action: { kind: 'proxy-down', proxy: 'db' }, note: 'database unreachable' },
    { atS: 41, action: { kind: 'proxy-up', proxy: 'db' }, note: 'database reachable again' },
  ],
};
