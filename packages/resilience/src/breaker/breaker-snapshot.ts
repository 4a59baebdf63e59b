import { invalidOption } from '../core/errors.js';
import { type BreakerState, STATE_NAMES, stateCode } from './breaker-state.js';
import type { TimeBucketSnapshot, WindowSnapshot } from './outcome-window.js';

/**
 * A breaker's state as plain JSON, from `exportState()`, to restore with the `initialState`
 * option (e.g. across a restart). Times are wall-clock epoch ms, so a snapshot survives the
 * process that took it.
 */
export interface BreakerSnapshot {
  readonly version: 1;
  readonly state: BreakerState;
  /** When the snapshot was taken (epoch ms). */
  readonly savedAt: number;
  /** When the open period ends (epoch ms) if the state is `open`, else null. */
  readonly openUntil: number | null;
  /** Times the breaker re-opened from half-open since it last closed. */
  readonly reopenCount: number;
  /** The window's counts; ignored on restore when the window kind differs. */
  readonly window?: WindowSnapshot;
}

const OPTION = 'initialState';

function bad(field: string, problem: string): never {
  return invalidOption('circuit-breaker', `${OPTION}${field}`, problem);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function finite(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(field, `must be a finite number, got ${String(v)}`);
  return v;
}

function count(v: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    bad(field, `must be an integer in [0, ${max}], got ${String(v)}`);
  }
  return v;
}

function readWindow(v: unknown): WindowSnapshot {
  if (!isRecord(v)) return bad('.window', 'must be an object');
  switch (v.kind) {
    case 'consecutive': {
      const calls = count(v.calls, '.window.calls');
      return {
        kind: 'consecutive',
        calls,
        failures: count(v.failures, '.window.failures', calls),
        slowCalls: count(v.slowCalls, '.window.slowCalls', calls),
      };
    }
    case 'count': {
      if (!Array.isArray(v.outcomes)) return bad('.window.outcomes', 'must be an array');
      const outcomes = v.outcomes.map((o: unknown, i: number) => count(o, `.window.outcomes[${i}]`, 3));
      return { kind: 'count', outcomes };
    }
    case 'time': {
      if (!Array.isArray(v.buckets)) return bad('.window.buckets', 'must be an array');
      const buckets = v.buckets.map((b: unknown, i: number): TimeBucketSnapshot => {
        const at = `.window.buckets[${i}]`;
        if (!isRecord(b)) return bad(at, 'must be an object');
        const ageMs = finite(b.ageMs, `${at}.ageMs`);
        if (ageMs < 0) bad(`${at}.ageMs`, 'must not be negative');
        const calls = count(b.calls, `${at}.calls`);
        return {
          ageMs,
          calls,
          failures: count(b.failures, `${at}.failures`, calls),
          slowCalls: count(b.slowCalls, `${at}.slowCalls`, calls),
        };
      });
      return { kind: 'time', buckets };
    }
    default:
      return bad('.window.kind', `must be "consecutive", "count" or "time", got ${String(v.kind)}`);
  }
}

/**
 * Checks that `value` is a snapshot this version can restore; throws FL_INVALID_OPTION naming
 * the malformed field (`initialState.openUntil`, …).
 * @internal
 */
export function readSnapshot(value: unknown): BreakerSnapshot {
  if (!isRecord(value)) return bad('', 'must be an object from exportState()');
  if (value.version !== 1) bad('.version', `must be 1, got ${String(value.version)}`);
  const state = value.state;
  if (typeof state !== 'string' || stateCode(state) === -1) {
    bad('.state', `must be one of ${STATE_NAMES.join(', ')}, got ${String(state)}`);
  }
  const savedAt = finite(value.savedAt, '.savedAt');
  let openUntil: number | null = null;
  if (state === 'open') openUntil = finite(value.openUntil, '.openUntil');
  else if (value.openUntil !== null && value.openUntil !== undefined) {
    bad('.openUntil', `must be null unless the state is open, got ${String(value.openUntil)}`);
  }
  const reopenCount = count(value.reopenCount, '.reopenCount');
  const snapshot: BreakerSnapshot = {
    version: 1,
    state: state as BreakerState,
    savedAt,
    openUntil,
    reopenCount,
    ...(value.window === undefined ? {} : { window: readWindow(value.window) }),
  };
  return snapshot;
}
