import type { Scenario } from './scenario.js';

/**
 * The seed's story (catalogue 2): a leak in app-1 grows until GC pauses stall its event loop;
 * its health checks time out and the load balancer ejects it; the survivors take its traffic,
 * their pools fill, their deep health checks queue behind user queries and fail, they are
 * ejected in turn, and naive client retries keep the service down after app-1 has restarted.
 */
export const leakCascade: Scenario = {
  name: 'leak-cascade',
  catalogue: 2,
  title: 'leak → GC → health checks → ejection → overload',
  description:
    'app-1 leaks memory until GC pauses stall it; the load balancer ejects it and its traffic moves to the ' +
    'survivors, whose pools saturate and whose deep health checks then fail too. Baseline: every app is ejected ' +
    'and naive retries keep it down. Hardened: ejections are capped, liveness is shallow, excess load is shed ' +
    'with "overloaded" answers the client does not retry, and app-1 rejoins with slow start.',
  durationS: 80,
  // 3 apps serve ~160 req/s (pool of 10, two ~95 ms queries per request); 2 serve ~107. At 125 the
  // survivors of app-1's ejection are ~17 % over capacity, so the client's 1 s timeout is crossed
  // within seconds on any machine: a load just under their capacity (110) made the collapse a coin toss
  rps: 125,
  triggerEndS: 65,
  steps: [
    { atS: 28, action: { kind: 'leak', target: 'app-1', mbPerS: 10 }, note: 'app-1 starts leaking 10 MB/s' },
    {
      atS: 65,
      action: { kind: 'clear-process-faults', target: 'app-1' },
      note: 'the leak stops (fixed or restarted)',
    },
  ],
};
