import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BackendHealth } from './backend-health.js';
import type { BalancerEvent } from './balancer-options.js';

/** Latency buckets in seconds: fine below 100 ms where the lab's requests live, coarse up to the 10 s baseline timeout. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

/**
 * The balancer's Prometheus metrics, in a private registry (never prom-client's global one, so
 * two balancers in one test process do not collide). State gauges are read from the health
 * state machine at scrape time, which keeps the request path down to two label lookups.
 */
export class BalancerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'backend' | 'code'>;
  private readonly duration: Histogram<'backend'>;
  private readonly ejections: Counter<'backend' | 'reason'>;
  private readonly skipped: Counter<'backend' | 'reason'>;
  private readonly checkDuration: Histogram<'backend'>;
  private readonly checkFailures: Counter<'backend' | 'reason'>;

  constructor(ids: readonly string[], health: BackendHealth, outstanding: ArrayLike<number>) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'lb_requests_total',
      help: 'Requests answered by the balancer, by backend (none: no healthy upstream) and status code.',
      labelNames: ['backend', 'code'],
      registers,
    });
    this.duration = new Histogram({
      name: 'lb_request_duration_seconds',
      help: 'Time from request arrival to the end of the response, by backend.',
      labelNames: ['backend'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    new Gauge({
      name: 'lb_requests_in_flight',
      help: 'Requests being proxied now.',
      registers,
      collect() {
        let sum = 0;
        for (let i = 0; i < outstanding.length; i++) sum += outstanding[i] ?? 0;
        this.set(sum);
      },
    });
    /** A gauge with one series per backend, read from the state at scrape time. */
    const perBackend = (name: string, help: string, value: (index: number, now: number) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['backend'],
        registers,
        collect() {
          const now = Date.now();
          for (const [i, id] of ids.entries()) this.set({ backend: id }, value(i, now));
        },
      });
    };
    perBackend('lb_backend_in_flight', 'Requests in flight to each backend.', (i) => outstanding[i] ?? 0);
    perBackend(
      'lb_backend_healthy',
      '1 when the backend passes its health checks and is not passively ejected.',
      (i) => (health.isHealthy(i) ? 1 : 0),
    );
    perBackend(
      'lb_backend_ejected',
      '1 when the backend is out of rotation (it still receives traffic in panic mode).',
      (i) => (health.isEjected(i) ? 1 : 0),
    );
    perBackend(
      'lb_backend_weight',
      'Share factor from slow start: 0.1 just after a return, 1 at full share.',
      (i, now) => health.weight(i, now),
    );
    new Gauge({
      name: 'lb_healthy_backends',
      help: 'Number of healthy backends.',
      registers,
      collect() {
        this.set(health.healthyCount());
      },
    });
    new Gauge({
      name: 'lb_backends',
      help: 'Number of configured backends.',
      registers,
      collect() {
        this.set(health.size);
      },
    });
    new Gauge({
      name: 'lb_panic_mode',
      help: '1 while the healthy share is below the panic threshold and traffic goes to every backend.',
      registers,
      collect() {
        this.set(health.panic ? 1 : 0);
      },
    });
    this.ejections = new Counter({
      name: 'lb_ejections_total',
      help: 'Backends taken out of rotation, by reason (health_check or outlier).',
      labelNames: ['backend', 'reason'],
      registers,
    });
    this.skipped = new Counter({
      name: 'lb_ejections_skipped_total',
      help: 'Ejections the cap on ejections (max ejection percent) prevented.',
      labelNames: ['backend', 'reason'],
      registers,
    });
    this.checkDuration = new Histogram({
      name: 'lb_health_check_duration_seconds',
      help: 'Duration of active health checks, by backend (timed-out checks count their timeout).',
      labelNames: ['backend'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.checkFailures = new Counter({
      name: 'lb_health_check_failures_total',
      help: 'Failed active health checks, by backend and reason (timeout, status, error).',
      labelNames: ['backend', 'reason'],
      registers,
    });
    for (const id of ids) {
      // zero series exist from the first scrape, so rates start at 0 instead of appearing later
      this.ejections.inc({ backend: id, reason: 'health_check' }, 0);
      this.ejections.inc({ backend: id, reason: 'outlier' }, 0);
      this.checkFailures.inc({ backend: id, reason: 'timeout' }, 0);
    }
  }

  request(backend: string, code: number, seconds: number): void {
    this.requests.inc({ backend, code: String(code) });
    this.duration.observe({ backend }, seconds);
  }

  healthCheck(backend: string, seconds: number, failure: 'timeout' | 'status' | 'error' | undefined): void {
    this.checkDuration.observe({ backend }, seconds);
    if (failure !== undefined) this.checkFailures.inc({ backend, reason: failure });
  }

  event(event: BalancerEvent): void {
    const reason = String(event.source ?? 'health_check');
    if (event.kind === 'lb.eject') this.ejections.inc({ backend: event.target, reason });
    else if (event.kind === 'lb.eject_skipped') this.skipped.inc({ backend: event.target, reason });
  }
}
