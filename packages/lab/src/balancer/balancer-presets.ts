import type { BalancerPolicy } from './balancer-options.js';

/**
 * Settings as many balancers ship them, and as many teams leave them. Merge with `backends`:
 * `startBalancer({ ...baselineBalancer, backends })`.
 *
 * Nothing here is wrong on its own; together they let a fleet-wide blip (a GC pause, a slow
 * database behind a deep health check) eject every backend, and then the balancer itself answers
 * `no healthy upstream`.
 */
export const baselineBalancer: BalancerPolicy = {
  healthCheck: {
    path: '/health',
    // a probe per second, as most examples configure it
    intervalMs: 1000,
    // a timeout as long as the interval: a stalled event loop fails the probe within 1 s
    timeoutMs: 1000,
    // two misses in a row eject: quick to react, and quick to overreact to a pause
    unhealthyThreshold: 2,
    healthyThreshold: 2,
  },
  // Envoy's outlier detection default is 5 consecutive 5xx; ejection time as nginx's fail_timeout-ish 10 s
  passive: { consecutiveFailures: 5, ejectionMs: 10_000 },
  // generous, as defaults are (Envoy 15 s, nginx 60 s): slow answers queue instead of failing
  upstreamTimeoutMs: 10_000,
  // no cap: if every backend fails its checks, every backend is ejected
  maxEjectionPercent: 100,
  // no fail-open
  panicThresholdPercent: 0,
  // a returning backend takes its full share at once, cold caches and all
  slowStartMs: 0,
  algorithm: 'round-robin',
};

/**
 * What the same balancer should be told: never eject more than half the fleet, fail open when
 * too few backends look healthy, ramp a returning backend up, and give up on slow answers early
 * enough that the client's deadline still leaves time for a retry.
 */
export const hardenedBalancer: BalancerPolicy = {
  healthCheck: {
    // same probe settings as baseline, so the comparison isolates cap, panic, slow start and timeout;
    // point `path` at the apps' shallow readiness endpoint when merging
    path: '/health',
    intervalMs: 1000,
    timeoutMs: 1000,
    unhealthyThreshold: 2,
    healthyThreshold: 2,
  },
  // off: an app that sheds load answers 503 "overloaded" on purpose, and ejecting it for that would
  // pile its share onto the others; the shallow active check still catches a dead or stalled app
  passive: undefined,
  // the lab's requests take tens of ms; 2 s is far above normal and below the client's deadline
  upstreamTimeoutMs: 2000,
  // the cap: a fleet-wide failure can eject at most half; the rest keep serving
  maxEjectionPercent: 50,
  // below half healthy, the checks are more likely wrong than the whole fleet dead: fail open
  panicThresholdPercent: 50,
  // a rejoining backend ramps from 10 % to its full share over 10 s instead of taking it at once
  slowStartMs: 10_000,
  // kept equal to baseline; 'least-request' would also send less to a slow backend
  algorithm: 'round-robin',
};
