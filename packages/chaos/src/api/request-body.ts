import type { IncomingMessage } from 'node:http';
import { goTypeOf, isPlainObject } from '../proxy/toxic-spec.js';
import { badBody, HttpError } from './http-error.js';

/** Bodies above this are refused (413); Toxiproxy requests are a few hundred bytes. */
export const MAX_BODY_BYTES = 1 << 20;
/** Past this much, the request is not even drained: the connection is dropped. */
const MAX_DRAIN_BYTES = 64 << 20;

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Reads the whole body. Invalid UTF-8 becomes U+FFFD, as Go's decoder does. Rejects with 413 when it
 * is larger than {@link MAX_BODY_BYTES} (after draining up to 64 MiB so that the client reads the answer).
 */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) parts.push(chunk);
      else if (size > MAX_DRAIN_BYTES) {
        reject(new HttpError(413, 'bad request body: http: request body too large'));
        req.destroy();
      }
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) reject(new HttpError(413, 'bad request body: http: request body too large'));
      else resolve(utf8.decode(Buffer.concat(parts, size)));
    });
    req.on('error', (e) => reject(new HttpError(400, `bad request body: ${e.message}`)));
  });
}

/** Parses JSON as the body of a Toxiproxy request. */
export function parseJson(text: string): unknown {
  if (text.trim() === '') throw badBody('EOF');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badBody(e instanceof Error ? e.message : String(e));
  }
}

type FieldType = 'string' | 'bool' | 'float32';

const goFieldType: Record<FieldType, string> = { string: 'string', bool: 'bool', float32: 'float32' };

/**
 * Checks the body is a JSON object with these typed fields (null counts as missing, as in Go) and
 * returns the fields present. Unknown fields are ignored.
 */
export function decodeObject(
  value: unknown,
  struct: string,
  fields: Readonly<Record<string, FieldType>>,
): Record<string, string | boolean | number> {
  if (value === null) return {};
  if (!isPlainObject(value)) {
    throw badBody(`json: cannot unmarshal ${goTypeOf(value)} into Go value of type ${struct}`);
  }
  const out: Record<string, string | boolean | number> = {};
  for (const [field, type] of Object.entries(fields)) {
    if (!Object.hasOwn(value, field)) continue;
    const v = value[field];
    if (v === null || v === undefined) continue;
    const ok =
      (type === 'string' && typeof v === 'string') ||
      (type === 'bool' && typeof v === 'boolean') ||
      (type === 'float32' && typeof v === 'number' && Number.isFinite(v));
    if (!ok) {
      throw badBody(
        `json: cannot unmarshal ${goTypeOf(v)} into Go struct field ${struct.split('.').pop()}.${field} of type ${goFieldType[type]}`,
      );
    }
    out[field] = v;
  }
  return out;
}
