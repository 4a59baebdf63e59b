import type { Scenario } from './scenario.js';

/** Catalogue 7: the pricing API hangs for 60 % of calls; the baseline calls it without a timeout. */
export const slowExternalApi: Scenario = {
  name: 'slow-external-api',
  catalogue: 7,
  title: 'slow external API, no timeout',
  description:
    'For 20 s the pricing API holds 60 % of calls for 30 s. Baseline: no timeout, so requests hang until the ' +
    'load balancer gives up; in-flight requests and sockets pile up. Hardened: a 300 ms timeout, a breaker and ' +
    'the last known price as fallback.',
  durationS: 75,
  rps: 120,
  triggerEndS: 55,
  steps: [
    {
      atS: 35,
      action: {
        kind: 'toxic',
        proxy: 'external',
        name: 'pricing-hang',
        type: 'http_delay',
        attributes: { delay: 30_000, percentage: 60 },
      },
      note: 'pricing API hangs for 60 % of calls',
    },
    {
      atS: 55,
      action: { kind: 'remove-toxic', proxy: 'external', name: 'pricing-hang' },
      note: 'pricing API healthy again',
    },
  ],
};
