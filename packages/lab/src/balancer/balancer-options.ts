/**
 * Configuration of the lab's load balancer. Every field mirrors a knob of a real balancer
 * (Envoy names in brackets) so that a scenario's baseline and hardened settings read like a
 * config file a team could have shipped.
 */

/** One upstream server. */
export interface BackendTarget {
  /** Stable name used in events, metrics and `/state` (e.g. `app-1`). */
  readonly id: string;
  /** Base URL, e.g. `http://127.0.0.1:4101`; only the origin is used. */
  readonly url: string;
}

/** Active health checking [health_checks]: each backend is probed on its own timer. */
export interface HealthCheckOptions {
  /** Path probed with GET, e.g. `/health`. A 2xx answer passes; anything else fails. */
  readonly path: string;
  /** Wait between the end of one probe and the start of the next. */
  readonly intervalMs: number;
  /** A probe with no complete answer after this long fails ("timeout after …ms") and is aborted. */
  readonly timeoutMs: number;
  /** Consecutive failed probes that make a healthy backend unhealthy. */
  readonly unhealthyThreshold: number;
  /** Consecutive passed probes that make an unhealthy backend healthy again. */
  readonly healthyThreshold: number;
}

/** Passive ejection [outlier_detection.consecutive_5xx]: judged from real traffic. */
export interface PassiveEjectionOptions {
  /** Consecutive 5xx answers, connection errors or upstream timeouts that eject a backend. */
  readonly consecutiveFailures: number;
  /** How long a passively ejected backend stays out [base_ejection_time]. */
  readonly ejectionMs: number;
}

/** How the next backend is chosen among the routable ones. */
export type BalancingAlgorithm = 'round-robin' | 'least-request';

/** The settings that make a policy: everything but where to listen and whom to proxy to. */
export interface BalancerPolicy {
  readonly healthCheck: HealthCheckOptions;
  /** `undefined` turns passive ejection off. */
  readonly passive: PassiveEjectionOptions | undefined;
  /** An upstream answer not complete after this long becomes a 504 [route timeout]. */
  readonly upstreamTimeoutMs: number;
  /** Never eject more than this share of the backends, 0–100 [max_ejection_percent]. */
  readonly maxEjectionPercent: number;
  /**
   * When the healthy share drops below this percentage, route to every backend, healthy or not
   * (fail open) [healthy_panic_threshold]. 0 turns panic mode off.
   */
  readonly panicThresholdPercent: number;
  /** A returning backend's share ramps linearly from 10 % to 100 % over this time [slow_start_window]. */
  readonly slowStartMs: number;
  /** Default `round-robin` (weighted by slow start). */
  readonly algorithm?: BalancingAlgorithm;
}

/** Lab events written for each ejection, return, skipped ejection and panic transition. */
export type BalancerEventKind = 'lb.eject' | 'lb.return' | 'lb.panic' | 'lb.panic_end' | 'lb.eject_skipped';

/**
 * One event, as written to the events file (one JSON object per line). `target` is the backend
 * id, or `lb` for panic transitions, which concern the balancer as a whole.
 */
export interface BalancerEvent {
  readonly time: string;
  readonly kind: BalancerEventKind;
  readonly service: 'lb';
  readonly target: string;
  readonly reason: string;
  readonly [detail: string]: string | number | boolean;
}

export interface BalancerOptions extends BalancerPolicy {
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** Traffic port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Port of `/metrics` and `/state`; 0 (default) picks a free one. */
  readonly adminPort?: number;
  readonly backends: readonly BackendTarget[];
  /** Called synchronously for every event. */
  readonly onEvent?: (event: BalancerEvent) => void;
  /** Events are appended here as JSON lines. */
  readonly eventsFile?: string;
}
