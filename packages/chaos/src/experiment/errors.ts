const BRAND = Symbol.for('faultline.error');

/** Stable codes of the experiment runner's errors. */
export const ExperimentErrorCode = {
  /** The experiment file cannot be read, parsed or validated. */
  InvalidExperiment: 'FL_CHAOS_INVALID_EXPERIMENT',
} as const;

/**
 * An experiment that cannot be run: unreadable, unparseable, or with a field missing or wrong.
 * The message names the file, the line where known and the field, e.g.
 * `exp.yaml:12: method[1].add.type: must be a non-empty string`.
 * FaultlineError-compatible: `isFaultlineError` of @faultline/resilience recognises it.
 */
export class ExperimentError extends Error {
  readonly code: string = ExperimentErrorCode.InvalidExperiment;
  readonly retryable = false;
  /** The file, when the experiment came from one. */
  readonly file: string | undefined;
  /** 1-based line of the offending field (or of its nearest parent), when known. */
  readonly line: number | undefined;
  /** Path of the offending field, e.g. `steadyState.probes[0].url`; empty for the whole document. */
  readonly field: string | undefined;
  /** The problem alone, without location. */
  readonly problem: string;

  constructor(
    problem: string,
    where: { file?: string | undefined; line?: number | undefined; field?: string | undefined } = {},
  ) {
    const loc = [where.file, where.line].filter((x) => x !== undefined).join(':');
    const field = where.field === undefined || where.field === '' ? '' : `${where.field}: `;
    super(`${loc === '' ? '' : `${loc}: `}${field}${problem}`);
    this.name = 'FaultlineError';
    this.file = where.file;
    this.line = where.line;
    this.field = where.field;
    this.problem = problem;
  }

  get [BRAND](): true {
    return true;
  }
}

/** True for an {@link ExperimentError}, even one from another copy of the package. */
export function isExperimentError(e: unknown): e is ExperimentError {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as { [BRAND]?: unknown })[BRAND] === true &&
    (e as { code?: unknown }).code === ExperimentErrorCode.InvalidExperiment
  );
}
