import { batchJobAtPeak } from './batch-job-at-peak.js';
import { dbNetworkDelay } from './db-network-delay.js';
import { deepHealthCheck } from './deep-health-check.js';
import { leakCascade } from './leak-cascade.js';
import { poolExhaustion } from './pool-exhaustion.js';
import { retryStorm } from './retry-storm.js';
import type { Scenario } from './scenario.js';
import { slowExternalApi } from './slow-external-api.js';

/** Every scenario, in catalogue order; the seed's story is the default. */
export const scenarios: readonly Scenario[] = [
  poolExhaustion,
  leakCascade,
  retryStorm,
  batchJobAtPeak,
  dbNetworkDelay,
  slowExternalApi,
  deepHealthCheck,
];

export const DEFAULT_SCENARIO = leakCascade.name;

/** The scenario called `name`, or an error listing the names. */
export function findScenario(name: string): Scenario {
  const s = scenarios.find((x) => x.name === name || String(x.catalogue) === name);
  if (s === undefined) {
    throw new Error(
      `unknown scenario ${JSON.stringify(name)}; have: ${scenarios.map((x) => x.name).join(', ')}`,
    );
  }
  return s;
}
