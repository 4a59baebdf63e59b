import { toxicKinds } from '../toxics/catalog.js';
import type { ToxicAttributes, ToxicAttributeValue, ToxicKind } from '../toxics/stage.js';
import { ChaosErrorCode, FaultlineChaosError } from './errors.js';
import type { ToxicConfig, ToxicState, ToxicStream, ToxicUpdate } from './model.js';

const INVALID_STREAM = 'stream was invalid, can be either upstream or downstream';

function invalid(message: string, apiMessage: string, field: string): never {
  throw new FaultlineChaosError(ChaosErrorCode.ToxicInvalid, message, { apiMessage, details: { field } });
}

/** Parses a stream name as Toxiproxy does (case-insensitive), plus `both`. */
export function parseStream(value: unknown): ToxicStream {
  if (value === undefined || value === null || value === '') return 'downstream';
  const s = typeof value === 'string' ? value.toLowerCase() : '';
  if (s === 'upstream' || s === 'downstream' || s === 'both') return s;
  return invalid(
    `toxic stream "${String(value)}" is invalid: use upstream, downstream or both`,
    INVALID_STREAM,
    'stream',
  );
}

/** Checks and normalises attributes: known ones kept (integers), unknown ones ignored. */
export function parseAttributes(
  kind: ToxicKind,
  input: Readonly<Record<string, unknown>> | undefined,
  base: ToxicAttributes | undefined,
): Record<string, ToxicAttributeValue> {
  if (kind.level === 'http') return kind.parse(input, base);
  const out: Record<string, ToxicAttributeValue> = {};
  for (const name of kind.attributes) {
    const v = input !== undefined && Object.hasOwn(input, name) ? input[name] : undefined;
    if (v === undefined || v === null) {
      out[name] = base?.[name] ?? 0;
      continue;
    }
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
      invalid(
        `toxic attribute "${name}" must be an integer, got ${JSON.stringify(v) ?? String(v)}`,
        `bad request body: json: cannot unmarshal ${goTypeOf(v)} into Go struct field .attributes.${name} of type int64`,
        `attributes.${name}`,
      );
    }
    out[name] = v;
  }
  return out;
}

function checkToxicity(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return invalid(
      `toxicity must be a number, got ${JSON.stringify(value) ?? String(value)}`,
      `bad request body: json: cannot unmarshal ${goTypeOf(value)} into Go struct field ToxicWrapper.toxicity of type float32`,
      'toxicity',
    );
  }
  return value;
}

/**
 * Validates a toxic to add, applying Toxiproxy's defaults. Order of checks as Toxiproxy: stream,
 * default name, type, then (by the caller) name clash, then attributes.
 */
export function makeToxic(input: ToxicConfig, nameTaken: (name: string) => boolean): ToxicState {
  const parsedStream = parseStream(input.stream);
  if (input.name !== undefined && typeof input.name !== 'string') {
    invalid('toxic name must be a string', 'bad request body: toxic name must be a string', 'name');
  }
  const type = typeof input.type === 'string' ? input.type : '';
  const kind = toxicKinds.get(type);
  // HTTP toxics act on requests, i.e. the upstream stream, whatever stream a client sends
  const stream = kind?.level === 'http' ? 'upstream' : parsedStream;
  const name = input.name === undefined || input.name === '' ? `${type}_${stream}` : input.name;
  if (kind === undefined) {
    return invalid(`invalid toxic type "${type}"`, 'invalid toxic type', 'type');
  }
  if (nameTaken(name)) {
    throw new FaultlineChaosError(ChaosErrorCode.ToxicExists, `toxic "${name}" already exists`, {
      apiMessage: 'toxic already exists',
      details: { toxic: name },
    });
  }
  const toxicity =
    input.toxicity === undefined || input.toxicity === null ? 1 : checkToxicity(input.toxicity);
  if (input.attributes !== undefined && input.attributes !== null && !isPlainObject(input.attributes)) {
    invalid(
      'toxic attributes must be an object',
      `bad request body: json: cannot unmarshal ${goTypeOf(input.attributes)} into Go struct field .attributes of type toxics.Toxic`,
      'attributes',
    );
  }
  const attributes = parseAttributes(kind, input.attributes ?? undefined, undefined);
  return { name, type, stream, kind, toxicity, attributes };
}

/** Validates an update; returns the new toxicity and attributes (merged). */
export function applyToxicUpdate(
  t: ToxicState,
  update: ToxicUpdate,
): { toxicity: number; attributes: Record<string, ToxicAttributeValue> } {
  const toxicity =
    update.toxicity === undefined || update.toxicity === null ? t.toxicity : checkToxicity(update.toxicity);
  if (update.attributes !== undefined && update.attributes !== null && !isPlainObject(update.attributes)) {
    invalid(
      'toxic attributes must be an object',
      `bad request body: json: cannot unmarshal ${goTypeOf(update.attributes)} into Go struct field .attributes of type toxics.Toxic`,
      'attributes',
    );
  }
  return { toxicity, attributes: parseAttributes(t.kind, update.attributes ?? undefined, t.attributes) };
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The JSON type name Go's decoder uses in its errors. */
export function goTypeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'number' : `number ${v}`;
  return typeof v;
}
