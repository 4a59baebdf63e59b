const BRAND = Symbol.for('faultline.error');

/** Stable codes of @faultline/forensics errors (docs/forensics.md lists them). */
export const ForensicsErrorCode = {
  /** An input path does not exist or cannot be read. */
  PathNotFound: 'FL_FORENSICS_PATH_NOT_FOUND',
  /** An option has an invalid value (`--tz`, `--from`, `--to`, a selector…). */
  InvalidOption: 'FL_FORENSICS_INVALID_OPTION',
  /** The Prometheus-compatible API answered with an error or could not be reached. */
  PrometheusFailed: 'FL_FORENSICS_PROMETHEUS_FAILED',
  /** The store file exists but is not a faultline store, or was written by an incompatible version. */
  StoreInvalid: 'FL_FORENSICS_STORE_INVALID',
} as const;

export type ForensicsErrorCode = (typeof ForensicsErrorCode)[keyof typeof ForensicsErrorCode];

/**
 * An error of @faultline/forensics: a stable `code`, a message naming the file/option/field.
 * FaultlineError-compatible: `isFaultlineError` of @faultline/resilience recognises it.
 */
export class ForensicsError extends Error {
  readonly retryable = false;
  constructor(
    readonly code: ForensicsErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'FaultlineError';
  }

  get [BRAND](): true {
    return true;
  }
}

/** True for a {@link ForensicsError}, even one from another copy of the package. */
export function isForensicsError(e: unknown): e is ForensicsError {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as { [BRAND]?: unknown })[BRAND] === true &&
    typeof (e as { code?: unknown }).code === 'string' &&
    (e as { code: string }).code.startsWith('FL_FORENSICS_')
  );
}
