/** The result of an analysis: incidents, each with its timeline and ranked root-cause candidates. */
import type { SignalKind, SignalSource } from './signal.js';

/** One signal's departure from its baseline inside an incident. */
export interface SignalOnset {
  readonly signalId: string;
  readonly service: string;
  readonly instance: string | null;
  readonly source: SignalSource;
  readonly kind: SignalKind;
  readonly name: string;
  /** When it first left its baseline, epoch ms (at the signal's resolution). */
  readonly onsetMs: number;
  /**
   * The end of the last step in the window where it was still at least halfway out (epoch ms): a
   * trigger that ended long before its victims recovered is told apart from one that lasted.
   */
  readonly lastMs?: number;
  readonly direction: 'up' | 'down';
  /** Shift in baseline σ, capped at 1000. */
  readonly z: number;
  readonly before: number;
  readonly after: number;
  readonly stepMs: number;
  readonly template?: string;
  readonly caller?: string;
}

export interface LogEvidence {
  readonly timeMs: number;
  readonly service: string | null;
  readonly level: string | null;
  readonly message: string;
  readonly traceId: string | null;
}

/** A root-cause candidate. */
export interface Cause {
  readonly service: string;
  /** The instance whose own strong evidence moved first (its peers follow), when the data has instances. */
  readonly instance: string | null;
  /** Relative score, ≥ 0; the best cause of an incident has the highest. */
  readonly score: number;
  /** The strongest signal (`cpu`, `latency`, `a log template`…). */
  readonly signal: string;
  /** The catalogued mechanism, in plain words, when the evidence matches one. */
  readonly mechanism: string | null;
  /** Why: the signals that moved, strongest first. */
  readonly evidence: readonly SignalOnset[];
  /**
   * How it started: the earliest strong signals (≥ 8 σ) of the service (of its lead instance, when
   * known), in time order, at most 4 — often weaker than the symptoms that follow (a heap growing
   * before every pool fills), and the part of the story a sceptical reader checks first.
   */
  readonly firstMoves: readonly SignalOnset[];
  /** Log lines from this service in the incident (errors and new templates first). */
  readonly logs: readonly LogEvidence[];
  /** Trace ids that pass through this service in the incident. */
  readonly traces: readonly string[];
  /** Share of the score removed because a dependency of this service explains it. */
  readonly explainedBy: string | null;
  /**
   * An uninstrumented dependency (a database, an external API) seen only through its callers'
   * client spans: a virtual node named from their `peer.service`, `db.system.name` or
   * `server.address`.
   */
  readonly virtual: boolean;
}

export interface TimelineEntry {
  readonly timeMs: number;
  readonly service: string;
  readonly text: string;
}

export interface Incident {
  readonly window: { readonly fromMs: number; readonly toMs: number };
  /**
   * When the incident began: the first strong departure of its densest bunch of departures, or of
   * a chain of strong departures leading up to it bucket by bucket.
   */
  readonly onsetMs: number;
  /** The signal that moved at `onsetMs` (`z`: its change point's shift in robust σ). */
  readonly onsetBy: {
    readonly service: string;
    readonly name: string;
    readonly source: string;
    readonly z: number;
  };
  /** Sum of the evidence behind the incident; incidents are ordered by it. */
  readonly severity: number;
  readonly causes: readonly Cause[];
  readonly timeline: readonly TimelineEntry[];
  /**
   * Caller → callee edges: calls seen in traces (`count` = calls), or, without traces, inferred
   * from the order in which services moved (`count` = agreeing pairs of onsets, `lagMs` = median
   * delay from the callee's onsets to the caller's).
   */
  readonly dependencies: ReadonlyArray<{
    readonly caller: string;
    readonly callee: string;
    readonly count: number;
    readonly lagMs?: number;
  }>;
  /** Where the edges come from: observed calls, inferred timing, or nothing to go on. */
  readonly dependencySource: 'traces' | 'co-occurrence' | 'none';
  /** Nodes of the graph that are uninstrumented peers inferred from their callers' client spans. */
  readonly virtualServices: readonly string[];
}

export interface Analysis {
  readonly incidents: readonly Incident[];
  readonly signals: { readonly metric: number; readonly span: number; readonly log: number };
  /** Grid steps used: metrics at their own resolution; spans and logs bucketed. */
  readonly stepMs: { readonly metric: number | null; readonly event: number | null };
  readonly durationMs: number;
}
