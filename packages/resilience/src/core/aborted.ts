import { FaultlineError, isFaultlineError, ResilienceErrorCode } from './errors.js';

/**
 * The error for work that did not run, or stopped waiting, because its scope was aborted: the
 * policy's own error when a policy aborted it (a timeout), else FL_ABORTED carrying the caller's
 * reason as `cause`.
 */
export function abortedError(reason: unknown, policy?: string): FaultlineError {
  if (isFaultlineError(reason)) return reason;
  const why = reason instanceof Error ? reason.message : String(reason);
  return new FaultlineError(ResilienceErrorCode.Aborted, `aborted by the caller: ${why}`, {
    cause: reason,
    ...(policy === undefined ? {} : { policy }),
  });
}
