import { FaultlineError, type ResilienceErrorCode } from './errors.js';
import { channels, publish } from './events.js';

/** Who rejects: the policy kind, its optional name, and the label used in errors (`kind:name`). @internal */
export interface PolicyId {
  readonly kind: string;
  readonly name: string | undefined;
  readonly label: string;
}

/** Builds the identity of a policy from its kind and optional name. @internal */
export function policyId(kind: string, name: string | undefined): PolicyId {
  return { kind, name, label: name === undefined ? kind : `${kind}:${name}` };
}

/**
 * Publishes a rejection on `channels.reject` and returns the error (built only on the rejection
 * path, so an admitted call pays nothing).
 * @internal
 */
export function announce(id: PolicyId, error: FaultlineError, reason: string): FaultlineError {
  publish(channels.reject, () => ({
    policy: id.kind,
    name: id.name,
    code: error.code,
    reason,
    details: error.details,
  }));
  return error;
}

/** A new rejection error with `details`, published on `channels.reject`. @internal */
export function rejection(
  id: PolicyId,
  code: ResilienceErrorCode,
  reason: string,
  message: string,
  details: Readonly<Record<string, unknown>>,
  retryable = false,
): FaultlineError {
  return announce(
    id,
    new FaultlineError(code, `${id.label}: ${message}`, { policy: id.label, retryable, details }),
    reason,
  );
}
