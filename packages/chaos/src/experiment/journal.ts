/** How an experiment ended. */
export type ExperimentStatus = 'completed' | 'deviated' | 'aborted' | 'failed';

/** One probe's outcome, with the value it measured. */
export interface ProbeResult {
  readonly name: string;
  readonly type: string;
  readonly ok: boolean;
  /** What was measured: `{ status, latencyMs }` for http, the sample for prometheus. */
  readonly value: unknown;
  /** The tolerance, in words. */
  readonly expected: string;
  readonly error?: string;
  readonly startedAt: string;
  readonly durationMs: number;
}

/** One check of the steady-state hypothesis: every probe, at one time. */
export interface HypothesisCheck {
  readonly phase: 'before' | 'during' | 'after';
  readonly at: string;
  readonly durationMs: number;
  readonly met: boolean;
  readonly probes: readonly ProbeResult[];
}

/** One action of the method or of the rollbacks. */
export interface ActivityRecord {
  readonly name: string;
  readonly type: string;
  readonly status: 'succeeded' | 'failed' | 'aborted' | 'skipped';
  readonly startedAt: string;
  readonly endedAt: string;
  readonly durationMs: number;
  readonly output?: unknown;
  readonly error?: string;
}

/** What the runner undid on its own: toxics the run added and processes it started. */
export interface CleanupRecord {
  readonly kind: 'toxic' | 'proxy-enable' | 'process';
  readonly target: string;
  readonly ok: boolean;
  readonly at: string;
  readonly detail?: unknown;
  readonly error?: string;
}

/** The record of one experiment run, written as JSON with `--journal`. */
export interface Journal {
  readonly journalVersion: 1;
  readonly title: string;
  readonly description: string | undefined;
  readonly file: string | undefined;
  status: ExperimentStatus;
  /** Why it ended as it did, in words (absent when completed). */
  reason: string | undefined;
  readonly dryRun: boolean;
  readonly startedAt: string;
  endedAt: string;
  durationMs: number;
  readonly steadyState: {
    before: HypothesisCheck | undefined;
    readonly during: HypothesisCheck[];
    duringFailures: number;
    after: HypothesisCheck | undefined;
  };
  readonly method: ActivityRecord[];
  readonly rollbacks: ActivityRecord[];
  readonly cleanup: CleanupRecord[];
  /** Set when the run was interrupted (SIGINT, SIGTERM, or `abort()`). */
  interrupted: { readonly signal: string; readonly at: string } | undefined;
}

/** Exit codes of `faultline chaos run`. */
export const ExperimentExitCode = {
  /** The hypothesis held before, during and after. */
  Completed: 0,
  /** The hypothesis did not hold during (below the guard) or after. */
  Deviated: 1,
  /** Aborted (steady state not met before, guard tripped, interrupted) or an action failed. */
  AbortedOrFailed: 2,
  /** The experiment file is invalid. */
  Invalid: 3,
} as const;

/**
 * The process exit code for a run's journal, or for an error thrown before the run (3 for an
 * invalid experiment, 2 otherwise).
 * @example process.exitCode = exitCodeOf(await runExperiment(def));
 */
export function exitCodeOf(outcome: unknown): number {
  const status = (outcome as { status?: unknown } | null)?.status;
  if (status === 'completed') return ExperimentExitCode.Completed;
  if (status === 'deviated') return ExperimentExitCode.Deviated;
  if (status === 'aborted' || status === 'failed') return ExperimentExitCode.AbortedOrFailed;
  const code = (outcome as { code?: unknown } | null)?.code;
  return code === 'FL_CHAOS_INVALID_EXPERIMENT'
    ? ExperimentExitCode.Invalid
    : ExperimentExitCode.AbortedOrFailed;
}
