const BRAND = Symbol.for('faultline.error');

/** Every stable error code the fault proxy throws. Documented in docs/chaos.md. */
export const ChaosErrorCode = {
  ProxyExists: 'FL_PROXY_EXISTS',
  ProxyNotFound: 'FL_PROXY_NOT_FOUND',
  ProxyInvalid: 'FL_PROXY_INVALID',
  ProxyListen: 'FL_PROXY_LISTEN',
  ToxicExists: 'FL_TOXIC_EXISTS',
  ToxicNotFound: 'FL_TOXIC_NOT_FOUND',
  ToxicInvalid: 'FL_TOXIC_INVALID',
  ConfigInvalid: 'FL_CONFIG_INVALID',
  EventsFile: 'FL_EVENTS_FILE',
  ApiListen: 'FL_API_LISTEN',
  ServerClosed: 'FL_SERVER_CLOSED',
} as const;

export type ChaosErrorCode = (typeof ChaosErrorCode)[keyof typeof ChaosErrorCode];

/** The HTTP status the REST API answers each code with (Toxiproxy's). */
export const statusOfCode: Readonly<Record<ChaosErrorCode, number>> = {
  FL_PROXY_EXISTS: 409,
  FL_PROXY_NOT_FOUND: 404,
  FL_PROXY_INVALID: 400,
  FL_PROXY_LISTEN: 500,
  FL_TOXIC_EXISTS: 409,
  FL_TOXIC_NOT_FOUND: 404,
  FL_TOXIC_INVALID: 400,
  FL_CONFIG_INVALID: 400,
  FL_EVENTS_FILE: 500,
  FL_API_LISTEN: 500,
  FL_SERVER_CLOSED: 503,
};

export interface FaultlineChaosErrorOptions {
  /** The text Toxiproxy's REST API answers with (`proxy not found`); defaults to the message. */
  readonly apiMessage?: string;
  readonly cause?: unknown;
  /** Extra machine-readable facts (proxy, toxic, field, file). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * An error of the fault proxy. `code` is stable across versions; match on it (or use
 * `isFaultlineError` from @faultline/resilience, which recognises the brand) rather than on the message.
 * @example try { await server.proxies.create(cfg) } catch (e) { if (e.code === 'FL_PROXY_EXISTS') … }
 */
export class FaultlineChaosError extends Error {
  readonly code: ChaosErrorCode;
  /** HTTP status the REST API uses for this error. */
  readonly status: number;
  /** Message as Toxiproxy words it (the REST API's `error` field). */
  readonly apiMessage: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ChaosErrorCode, message: string, options: FaultlineChaosErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FaultlineChaosError';
    this.code = code;
    this.status = statusOfCode[code];
    this.apiMessage = options.apiMessage ?? message;
    this.details = options.details;
  }

  /** Brand read by `isFaultlineError`; a registry symbol so that it survives duplicate installs. */
  get [BRAND](): true {
    return true;
  }
}

/** True for errors thrown by the fault proxy (any copy of the package). */
export function isFaultlineChaosError(value: unknown): value is FaultlineChaosError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [BRAND]?: unknown })[BRAND] === true &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { status?: unknown }).status === 'number'
  );
}
