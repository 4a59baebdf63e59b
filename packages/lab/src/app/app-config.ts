/** Baseline: settings as most services ship them. Hardened: what a careful engineer would choose. */
export type LabMode = 'baseline' | 'hardened';

/** Everything an app server process needs, passed by the lab as JSON. */
export interface AppConfig {
  /** e.g. `app-2`; the `instance` label and log field */
  readonly instance: string;
  readonly mode: LabMode;
  /** fixed port, so that a restarted app comes back where the load balancer expects it */
  readonly port: number;
  /** PostgreSQL URL as the app sees it (through the fault proxy) */
  readonly dbUrl: string;
  /** base URL of the external pricing API (through the fault proxy) */
  readonly externalUrl: string;
  /** JSON-lines log file */
  readonly logFile: string;
  /** OTLP/JSON span file; no tracing when absent */
  readonly spanFile?: string;
  /** share of traces recorded (0–1) */
  readonly traceSampleRatio?: number;
  /** connections in the shared pool (node-postgres default: 10) */
  readonly poolMax: number;
  /** interval of the light background job, in ms (0: none) */
  readonly jobIntervalMs: number;
}

/** The resilience settings of a hardened app; the baseline has none of them. */
export const HARDENED = {
  /** longest wait for a pooled connection: a request that cannot get one soon is better refused */
  acquireTimeoutMs: 250,
  /** PostgreSQL cancels any statement running longer (server side, so the connection is freed) */
  statementTimeoutMs: 1000,
  /** the most a request may take, whatever the caller allows; the client gives up at 2 s */
  requestBudgetMs: 1800,
  /** the pricing API answers in ~20 ms; its p99.9 is well under this */
  externalTimeoutMs: 300,
  /** requests in progress at once before queueing; a queue that stays slow is shed (CoDel) */
  maxConcurrent: 24,
  maxQueued: 200,
  shedTargetDelayMs: 100,
  shedIntervalMs: 300,
  /** the batch job gets its own small pool so it cannot starve user requests */
  jobPoolMax: 2,
} as const;

/** What the baseline does, spelled out so the comparison is honest. */
export const BASELINE = {
  /** node-postgres waits for a connection forever by default */
  acquireTimeoutMs: 0,
  /** no statement timeout, no request budget, fetch without a timeout */
  statementTimeoutMs: 0,
} as const;
