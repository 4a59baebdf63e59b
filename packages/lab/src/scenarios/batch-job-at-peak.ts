import type { Scenario } from './scenario.js';

/** Catalogue 5: a report job, scheduled on every instance, starts at peak on the shared pool. */
export const batchJobAtPeak: Scenario = {
  name: 'batch-job-at-peak',
  catalogue: 5,
  title: 'background job at peak',
  description:
    'A report job starts on every app at peak and runs 8 queries at a time for 20 s. Baseline: it shares the ' +
    'request pool, users wait for connections, deep health checks fail, apps are ejected. Hardened: the job ' +
    'has its own pool of 2 connections — a quota it cannot exceed.',
  durationS: 75,
  rps: 120,
  triggerEndS: 55,
  steps: [
    {
      atS: 35,
      action: { kind: 'batch-job', target: 'all-apps', durationS: 20, concurrency: 8 },
      note: 'report job starts on every app (8 queries at a time)',
    },
  ],
};
