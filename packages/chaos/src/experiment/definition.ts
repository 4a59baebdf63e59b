/**
 * A validated experiment, with every default filled in and every duration in ms. Produced by
 * `loadExperiment`, `parseExperiment` or `validateExperiment`; see docs/chaos.md.
 */
export interface ExperimentDefinition {
  readonly version: 1;
  readonly title: string;
  readonly description: string | undefined;
  readonly tags: readonly string[];
  readonly steadyState: SteadyState | undefined;
  readonly method: readonly Action[];
  readonly rollbacks: readonly Action[];
}

export interface SteadyState {
  readonly title: string | undefined;
  readonly probes: readonly Probe[];
  /** Checking while the method runs; undefined: only before and after. */
  readonly during: { readonly intervalMs: number; readonly abortOnFailures: number } | undefined;
}

/** Inclusive range; either end may be open. */
export interface Range {
  readonly min: number | undefined;
  readonly max: number | undefined;
}

export interface HttpProbe {
  readonly type: 'http';
  readonly name: string;
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
  readonly status: Range;
  readonly maxLatencyMs: number | undefined;
  readonly timeoutMs: number;
}

export interface PrometheusProbe {
  readonly type: 'prometheus';
  readonly name: string;
  /** Base URL of a Prometheus-compatible API (Prometheus, Thanos, Mimir, VictoriaMetrics). */
  readonly url: string;
  /** PromQL instant query that must yield one sample. */
  readonly query: string;
  readonly tolerance: Range;
  readonly timeoutMs: number;
}

export type Probe = HttpProbe | PrometheusProbe;

export interface ActionBase {
  readonly name: string;
  readonly pauseBeforeMs: number;
  readonly pauseAfterMs: number;
  readonly timeoutMs: number;
}

export interface ToxicSpec {
  readonly name: string | undefined;
  readonly type: string;
  readonly stream: 'upstream' | 'downstream';
  readonly toxicity: number;
  readonly attributes: Readonly<Record<string, number>>;
}

/** Toxiproxy REST API operations on one proxy. */
export type ProxyOperation =
  | { readonly op: 'add'; readonly toxic: ToxicSpec }
  | { readonly op: 'remove'; readonly toxic: string }
  | { readonly op: 'disable' }
  | { readonly op: 'enable' };

export interface ProxyAction extends ActionBase {
  readonly type: 'proxy';
  /** Base URL of the Toxiproxy-compatible API (default http://127.0.0.1:8474). */
  readonly api: string;
  readonly proxy: string;
  readonly operation: ProxyOperation;
}

export interface WaitAction extends ActionBase {
  readonly type: 'wait';
  readonly durationMs: number;
}

export interface CommandAction extends ActionBase {
  readonly type: 'command';
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly expectExitCode: number;
}

export interface ProcessLimits {
  readonly memoryMb: number | undefined;
  /** `v8-heap`: NODE_OPTIONS=--max-old-space-size; `rlimit-as`: `ulimit -v`; `auto`: v8-heap for node. */
  readonly memoryMethod: 'auto' | 'v8-heap' | 'rlimit-as';
  /** RLIMIT_CPU (`ulimit -t`): the process gets SIGXCPU after this much CPU time. */
  readonly cpuSeconds: number | undefined;
  /** Duty cycle of SIGCONT/SIGSTOP on the process group: share of wall time it may run, 1–99. */
  readonly cpuPercent: number | undefined;
}

export interface ProcessAction extends ActionBase {
  readonly type: 'process';
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly limits: ProcessLimits;
  /** Keep it running through the rest of the experiment (it is killed at the end). */
  readonly background: boolean;
  /** Expected exit code of a foreground process; undefined: any exit is fine. */
  readonly expectExitCode: number | undefined;
}

export interface HttpAction extends ActionBase {
  readonly type: 'http';
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
  readonly expectStatus: Range;
}

/** Which requests an `http-fault` acts on; every condition given must hold. */
export interface HttpFaultMatch {
  /** A method or a comma-separated list (`POST,PUT`). */
  readonly method: string | undefined;
  readonly pathPrefix: string | undefined;
  /** Header name → exact value ('' only asks for the header). */
  readonly headers: Readonly<Record<string, string>>;
}

/** HTTP-aware faults on a proxy: adds an `http_abort` and/or `http_delay` toxic through the REST API. */
export interface HttpFaultAction extends ActionBase {
  readonly type: 'http-fault';
  readonly api: string;
  readonly proxy: string;
  /** Toxic name; with both faults, `<toxic>-delay` and `<toxic>-abort`. */
  readonly toxic: string;
  readonly toxicity: number;
  readonly abort: { readonly status: number; readonly percentage: number } | undefined;
  readonly delay: { readonly durationMs: number; readonly percentage: number } | undefined;
  readonly match: HttpFaultMatch;
}

export type Action = ProxyAction | WaitAction | CommandAction | ProcessAction | HttpAction | HttpFaultAction;
