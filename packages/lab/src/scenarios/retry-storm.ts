import type { Scenario } from './scenario.js';

/**
 * Catalogue 3: a 10 s capacity drop (the database link slows to 400 ms) pushes requests past
 * the client timeout; immediate retries multiply the load, and the queues they built keep
 * requests slow after the trigger is gone — the metastable state.
 */
export const retryStorm: Scenario = {
  name: 'retry-storm',
  catalogue: 3,
  title: 'retry storm (metastable failure)',
  description:
    'For 10 s every database round trip takes 400 ms more. Baseline: requests time out at the client, three ' +
    'immediate retries each multiply the load, abandoned requests keep their place in the queues, and the ' +
    'service stays down after the trigger ends. Hardened: a 10 % retry budget, jittered backoff, deadlines ' +
    'propagated so that late work is dropped, and shedding keep it in the stable region.',
  durationS: 80,
  rps: 120,
  triggerEndS: 45,
  steps: [
    {
      atS: 35,
      action: {
        kind: 'toxic',
        proxy: 'db',
        name: 'capacity-drop',
        type: 'latency',
        attributes: { latency: 400, jitter: 50 },
      },
      note: 'database round trips +400 ms',
    },
    {
      atS: 45,
      action: { kind: 'remove-toxic', proxy: 'db', name: 'capacity-drop' },
      note: 'database latency back to normal',
    },
  ],
};
