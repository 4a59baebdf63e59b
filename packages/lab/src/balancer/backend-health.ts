import type { BalancerEvent, BalancerEventKind, PassiveEjectionOptions } from './balancer-options.js';

/**
 * The balancer's decisions, without sockets or timers: who is healthy, who is ejected, when the
 * cap forbids an ejection, when panic mode starts and ends. Time is passed in, so the whole
 * state machine can be driven by a property test.
 *
 * Two verdicts feed one routing decision, as in Envoy: active health checks (a state that lasts
 * until the opposite threshold is crossed) and passive ejection (a timed sentence handed down on
 * consecutive failures of real traffic). A backend is ejected while either says so — unless the
 * cap on ejections forbids it, in which case it stays in rotation and an `lb.eject_skipped` event
 * says why. Events are emitted on transitions of the actual routing state only, so an ejection is
 * reported exactly once and always followed by exactly one return.
 */

export interface HealthPolicy {
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
  readonly passive: PassiveEjectionOptions | undefined;
  readonly maxEjectionPercent: number;
  readonly panicThresholdPercent: number;
  readonly slowStartMs: number;
}

/** Why a backend is out of rotation; also the `reason` label of the ejection counter. */
export type EjectionSource = 'health_check' | 'outlier';

/** How one request ended, for passive ejection. `undefined` in `recordOutcome` means success. */
export interface RequestFailure {
  /** `5xx`: the backend answered with a server error; `error`: connection error or timeout. */
  readonly kind: '5xx' | 'error';
  /** e.g. `HTTP 503`, `connect ECONNREFUSED`, `timeout after 2000ms`. */
  readonly detail: string;
}

/** A backend's state as `/state` and `RunningBalancer.state()` show it. */
export interface BackendHealthState {
  readonly id: string;
  /** Verdict of checks and traffic: false when it fails its checks or is passively ejected (or would be, but for the cap). */
  readonly healthy: boolean;
  /** Out of rotation (outside panic mode). */
  readonly ejected: boolean;
  readonly ejectedBy: EjectionSource | undefined;
  /** ISO time of the current ejection. */
  readonly ejectedSince: string | undefined;
  /** Receives traffic now (not ejected, or panic mode). */
  readonly routable: boolean;
  /** Share factor from slow start: 0.1 just after a return, 1 at full share. */
  readonly weight: number;
  readonly consecutiveCheckFailures: number;
  readonly consecutiveCheckSuccesses: number;
  readonly consecutiveFailures: number;
}

interface Slot {
  readonly id: string;
  activeHealthy: boolean;
  checkFailures: number;
  checkSuccesses: number;
  lastCheckFailure: string;
  passiveFailures: number;
  passiveAll5xx: boolean;
  lastPassiveFailure: string;
  /** Set while passively ejected; cleared when the sentence has elapsed. */
  passiveUntil: number | undefined;
  ejected: boolean;
  ejectedBy: EjectionSource | undefined;
  ejectedAt: number;
  /** An `lb.eject_skipped` was emitted for the current failed-checks episode (dedupes events). */
  skippedActive: boolean;
  /** Same for the current streak of failed requests. */
  skippedPassive: boolean;
  /** Why the backend may return, set when its last verdict against it cleared. */
  clearReason: string;
  returnedAt: number | undefined;
}

const MIN_SLOW_START_WEIGHT = 0.1;

/** State machine of every backend's health; see the file comment. */
export class BackendHealth {
  private readonly slots: Slot[];
  private readonly maxEjected: number;
  private ejectedCount = 0;
  private panicking = false;
  /** Indexes of the backends that receive traffic; rebuilt only on transitions (hot path reads it). */
  private routableCache: number[];

  /**
   * `emit` is called synchronously for every event, after the state has changed.
   * @example new BackendHealth(['app-1', 'app-2'], policy, (e) => console.log(e.kind))
   */
  constructor(
    ids: readonly string[],
    private readonly policy: HealthPolicy,
    private readonly emit: (event: BalancerEvent) => void,
  ) {
    this.slots = ids.map((id) => ({
      id,
      activeHealthy: true,
      checkFailures: 0,
      checkSuccesses: 0,
      lastCheckFailure: '',
      passiveFailures: 0,
      passiveAll5xx: true,
      lastPassiveFailure: '',
      passiveUntil: undefined,
      ejected: false,
      ejectedBy: undefined,
      ejectedAt: 0,
      skippedActive: false,
      skippedPassive: false,
      clearReason: '',
      returnedAt: undefined,
    }));
    // floor: a 50 % cap over 3 backends ejects at most 1 and keeps 2 (at least half)
    this.maxEjected = Math.floor((ids.length * clampPercent(policy.maxEjectionPercent)) / 100);
    this.routableCache = this.slots.map((_, i) => i);
  }

  get size(): number {
    return this.slots.length;
  }

  get panic(): boolean {
    return this.panicking;
  }

  /** Largest number of backends the cap allows out at once. */
  get ejectionLimit(): number {
    return this.maxEjected;
  }

  /** Indexes of the backends to route to: all of them in panic mode, else those not ejected. */
  routable(): readonly number[] {
    return this.routableCache;
  }

  /** Slow-start share factor of backend `index` at `now`, in [0.1, 1]. */
  weight(index: number, now: number): number {
    const slot = this.slots[index];
    if (slot === undefined || slot.returnedAt === undefined || this.policy.slowStartMs <= 0) return 1;
    const elapsed = now - slot.returnedAt;
    if (elapsed >= this.policy.slowStartMs) {
      slot.returnedAt = undefined; // ramp over: skip the arithmetic from now on
      return 1;
    }
    return (
      MIN_SLOW_START_WEIGHT + ((1 - MIN_SLOW_START_WEIGHT) * Math.max(0, elapsed)) / this.policy.slowStartMs
    );
  }

  /** Feeds one active health check result; `failure` is undefined when it passed. */
  recordCheck(index: number, failure: string | undefined, now: number): void {
    const slot = this.slot(index);
    if (failure === undefined) {
      slot.checkFailures = 0;
      slot.checkSuccesses++;
      if (!slot.activeHealthy && slot.checkSuccesses >= this.policy.healthyThreshold) {
        slot.activeHealthy = true;
        slot.skippedActive = false;
        slot.clearReason = `${slot.checkSuccesses} passed health checks`;
        this.reconcile(now);
      }
      return;
    }
    slot.checkSuccesses = 0;
    slot.checkFailures++;
    slot.lastCheckFailure = failure;
    if (slot.activeHealthy && slot.checkFailures >= this.policy.unhealthyThreshold) {
      slot.activeHealthy = false;
      this.reconcile(now);
    }
  }

  /** Feeds the outcome of one proxied request (passive ejection); `failure` undefined means success. */
  recordOutcome(index: number, failure: RequestFailure | undefined, now: number): void {
    const passive = this.policy.passive;
    if (passive === undefined) return;
    const slot = this.slot(index);
    // an ejected backend only sees traffic in panic mode; its sentence is already running
    if (slot.ejected) return;
    if (failure === undefined) {
      if (slot.passiveFailures === 0) return; // the hot path: nothing to do
      slot.passiveFailures = 0;
      slot.passiveAll5xx = true;
      if (slot.skippedPassive) {
        slot.skippedPassive = false;
        this.updatePanic(now);
      }
      return;
    }
    slot.passiveFailures++;
    slot.passiveAll5xx &&= failure.kind === '5xx';
    slot.lastPassiveFailure = failure.detail;
    if (slot.passiveFailures < passive.consecutiveFailures) return;
    const reason = slot.passiveAll5xx
      ? `${slot.passiveFailures} consecutive 5xx`
      : `${slot.passiveFailures} consecutive failures (last: ${slot.lastPassiveFailure})`;
    if (this.ejectedCount < this.maxEjected) {
      slot.passiveUntil = now + passive.ejectionMs;
      this.eject(slot, 'outlier', reason, now);
      this.rebuildRoutable();
      this.updatePanic(now);
    } else if (!slot.skippedPassive) {
      slot.skippedPassive = true;
      this.emitSkipped(slot, 'outlier', reason, now);
      this.updatePanic(now);
    }
  }

  /** Ends passive ejections whose time has come; call at `nextExpiry()`. */
  tick(now: number): void {
    this.reconcile(now);
  }

  /** Earliest time a passive ejection ends, to arm a timer; undefined when none runs. */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const slot of this.slots) {
      if (slot.passiveUntil !== undefined && (next === undefined || slot.passiveUntil < next))
        next = slot.passiveUntil;
    }
    return next;
  }

  /** Whether backend `index` counts as healthy (see `BackendHealthState.healthy`). */
  isHealthy(index: number): boolean {
    const slot = this.slot(index);
    return slot.activeHealthy && slot.passiveUntil === undefined && !slot.skippedPassive;
  }

  isEjected(index: number): boolean {
    return this.slot(index).ejected;
  }

  healthyCount(): number {
    let count = 0;
    for (let i = 0; i < this.slots.length; i++) if (this.isHealthy(i)) count++;
    return count;
  }

  snapshot(now: number): BackendHealthState[] {
    return this.slots.map((slot, i) => ({
      id: slot.id,
      healthy: this.isHealthy(i),
      ejected: slot.ejected,
      ejectedBy: slot.ejectedBy,
      ejectedSince: slot.ejected ? new Date(slot.ejectedAt).toISOString() : undefined,
      routable: this.panicking || !slot.ejected,
      weight: this.weight(i, now),
      consecutiveCheckFailures: slot.checkFailures,
      consecutiveCheckSuccesses: slot.checkSuccesses,
      consecutiveFailures: slot.passiveFailures,
    }));
  }

  private slot(index: number): Slot {
    const slot = this.slots[index];
    if (slot === undefined) throw new RangeError(`no backend at index ${index}`);
    return slot;
  }

  /** Brings the routing state in line with the verdicts: returns first (they free room under the cap), then ejections. */
  private reconcile(now: number): void {
    let changed = false;
    for (const slot of this.slots) {
      if (slot.passiveUntil !== undefined && now >= slot.passiveUntil) {
        slot.passiveUntil = undefined;
        slot.clearReason = `ejection of ${this.policy.passive?.ejectionMs ?? 0}ms elapsed`;
        if (slot.ejected && !slot.activeHealthy) slot.ejectedBy = 'health_check'; // still out, now for its checks
      }
    }
    for (const slot of this.slots) {
      if (slot.ejected && slot.activeHealthy && slot.passiveUntil === undefined) {
        this.return(slot, now);
        changed = true;
      }
    }
    for (const slot of this.slots) {
      if (slot.ejected || slot.activeHealthy) continue;
      const reason = `${slot.checkFailures} failed health checks (${slot.lastCheckFailure})`;
      if (this.ejectedCount < this.maxEjected) {
        this.eject(slot, 'health_check', reason, now);
        changed = true;
      } else if (!slot.skippedActive) {
        slot.skippedActive = true;
        this.emitSkipped(slot, 'health_check', reason, now);
      }
    }
    if (changed) this.rebuildRoutable();
    this.updatePanic(now);
  }

  private eject(slot: Slot, source: EjectionSource, reason: string, now: number): void {
    slot.ejected = true;
    slot.ejectedBy = source;
    slot.ejectedAt = now;
    slot.skippedActive = false;
    slot.skippedPassive = false;
    slot.returnedAt = undefined;
    this.ejectedCount++;
    this.emitEvent('lb.eject', slot.id, reason, now, {
      source,
      ejected_backends: this.ejectedCount,
      total_backends: this.slots.length,
      ...(source === 'outlier' ? { ejection_ms: this.policy.passive?.ejectionMs ?? 0 } : {}),
    });
  }

  private return(slot: Slot, now: number): void {
    const source = slot.ejectedBy ?? 'health_check';
    slot.ejected = false;
    slot.ejectedBy = undefined;
    slot.passiveFailures = 0;
    slot.passiveAll5xx = true;
    slot.returnedAt = this.policy.slowStartMs > 0 ? now : undefined;
    this.ejectedCount--;
    this.emitEvent('lb.return', slot.id, slot.clearReason, now, {
      source,
      ejected_for_ms: now - slot.ejectedAt,
      ejected_backends: this.ejectedCount,
      total_backends: this.slots.length,
      slow_start_ms: this.policy.slowStartMs,
    });
  }

  private emitSkipped(slot: Slot, source: EjectionSource, reason: string, now: number): void {
    this.emitEvent('lb.eject_skipped', slot.id, reason, now, {
      source,
      ejected_backends: this.ejectedCount,
      total_backends: this.slots.length,
      max_ejection_percent: this.policy.maxEjectionPercent,
    });
  }

  private rebuildRoutable(): void {
    const all = this.slots.map((_, i) => i);
    this.routableCache = this.panicking ? all : all.filter((i) => !this.slots[i]?.ejected);
  }

  private updatePanic(now: number): void {
    const threshold = clampPercent(this.policy.panicThresholdPercent);
    if (threshold <= 0 || this.slots.length === 0) return;
    const healthy = this.healthyCount();
    const panic = healthy * 100 < threshold * this.slots.length;
    if (panic === this.panicking) return;
    this.panicking = panic;
    this.rebuildRoutable();
    const share = `${healthy} of ${this.slots.length} backends healthy`;
    this.emitEvent(
      panic ? 'lb.panic' : 'lb.panic_end',
      'lb',
      panic ? `${share}, below the ${threshold}% panic threshold: routing to all` : `${share}`,
      now,
      { healthy_backends: healthy, total_backends: this.slots.length, panic_threshold_percent: threshold },
    );
  }

  private emitEvent(
    kind: BalancerEventKind,
    target: string,
    reason: string,
    now: number,
    details: Record<string, string | number | boolean>,
  ): void {
    this.emit({ time: new Date(now).toISOString(), kind, service: 'lb', target, reason, ...details });
  }
}

function clampPercent(value: number): number {
  return Math.min(100, Math.max(0, value));
}
