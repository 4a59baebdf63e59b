import { readFileSync } from 'node:fs';
import { ChaosErrorCode, FaultlineChaosError } from '../proxy/errors.js';
import type { ProxyConfig, ToxicConfig } from '../proxy/model.js';
import { isPlainObject } from '../proxy/toxic-spec.js';
import { toxicKinds } from '../toxics/catalog.js';

function fail(source: string, field: string, problem: string): never {
  throw new FaultlineChaosError(ChaosErrorCode.ConfigInvalid, `${source}: ${field}: ${problem}`, {
    details: { file: source, field },
  });
}

function describe(v: unknown): string {
  return v === undefined ? 'nothing' : (JSON.stringify(v) ?? String(v)).slice(0, 60);
}

function optionalString(source: string, field: string, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(source, field, `must be a string, got ${describe(v)}`);
  return v;
}

function checkToxic(source: string, at: string, value: unknown): ToxicConfig {
  if (!isPlainObject(value)) fail(source, at, `must be an object, got ${describe(value)}`);
  const type = value.type;
  if (typeof type !== 'string' || !toxicKinds.has(type)) {
    fail(source, `${at}.type`, `must be one of ${[...toxicKinds.keys()].join(', ')}, got ${describe(type)}`);
  }
  const name = optionalString(source, `${at}.name`, value.name);
  const stream = optionalString(source, `${at}.stream`, value.stream);
  if (stream !== undefined && !['upstream', 'downstream', 'both'].includes(stream.toLowerCase())) {
    fail(source, `${at}.stream`, `must be upstream, downstream or both, got ${describe(stream)}`);
  }
  const toxicity = value.toxicity;
  if (
    toxicity !== undefined &&
    toxicity !== null &&
    (typeof toxicity !== 'number' || !Number.isFinite(toxicity))
  ) {
    fail(source, `${at}.toxicity`, `must be a number between 0 and 1, got ${describe(toxicity)}`);
  }
  const attributes = value.attributes;
  if (attributes !== undefined && attributes !== null) {
    if (!isPlainObject(attributes))
      fail(source, `${at}.attributes`, `must be an object, got ${describe(attributes)}`);
    const kind = toxicKinds.get(type);
    if (kind?.level === 'http') {
      try {
        kind.parse(attributes, undefined);
      } catch (e) {
        fail(source, `${at}.attributes`, (e as Error).message);
      }
    } else
      for (const [k, v] of Object.entries(attributes)) {
        if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
          fail(source, `${at}.attributes.${k}`, `must be an integer, got ${describe(v)}`);
        }
      }
  }
  return {
    type,
    ...(name !== undefined ? { name } : {}),
    ...(stream !== undefined ? { stream } : {}),
    ...(typeof toxicity === 'number' ? { toxicity } : {}),
    ...(isPlainObject(attributes) ? { attributes } : {}),
  };
}

/**
 * Checks a start-up config: an array of proxies in `/populate`'s shape, each optionally with
 * `toxics` (faultline extra). `source` names the file in errors (FL_CONFIG_INVALID).
 */
export function parseProxyConfig(value: unknown, source = 'config'): ProxyConfig[] {
  if (!Array.isArray(value))
    fail(source, '(top level)', `must be an array of proxies, got ${describe(value)}`);
  const names = new Set<string>();
  return value.map((p: unknown, i): ProxyConfig => {
    const at = `[${i}]`;
    if (!isPlainObject(p)) fail(source, at, `must be an object, got ${describe(p)}`);
    const name = p.name;
    if (typeof name !== 'string' || name === '')
      fail(source, `${at}.name`, `missing required field (a non-empty string), got ${describe(name)}`);
    if (names.has(name)) fail(source, `${at}.name`, `duplicate proxy name "${name}"`);
    names.add(name);
    const upstream = p.upstream;
    if (typeof upstream !== 'string' || upstream === '') {
      fail(source, `${at}.upstream`, `missing required field (host:port), got ${describe(upstream)}`);
    }
    const listen = optionalString(source, `${at}.listen`, p.listen);
    const enabled = p.enabled;
    if (enabled !== undefined && enabled !== null && typeof enabled !== 'boolean') {
      fail(source, `${at}.enabled`, `must be true or false, got ${describe(enabled)}`);
    }
    const toxics = p.toxics;
    if (toxics !== undefined && toxics !== null && !Array.isArray(toxics)) {
      fail(source, `${at}.toxics`, `must be an array of toxics, got ${describe(toxics)}`);
    }
    return {
      name,
      upstream,
      ...(listen !== undefined ? { listen } : {}),
      ...(typeof enabled === 'boolean' ? { enabled } : {}),
      ...(Array.isArray(toxics)
        ? { toxics: toxics.map((t: unknown, j) => checkToxic(source, `${at}.toxics[${j}]`, t)) }
        : {}),
    };
  });
}

/**
 * Reads and checks a start-up config file (JSON). Errors name the file and the field.
 * @example const proxies = loadProxyConfigFile('./proxies.json');
 */
export function loadProxyConfigFile(file: string): ProxyConfig[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FaultlineChaosError(
      ChaosErrorCode.ConfigInvalid,
      `${file}: cannot read: ${(e as Error).message}`,
      {
        cause: e,
        details: { file },
      },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new FaultlineChaosError(
      ChaosErrorCode.ConfigInvalid,
      `${file}: not valid JSON: ${(e as Error).message}`,
      {
        cause: e,
        details: { file },
      },
    );
  }
  return parseProxyConfig(value, file);
}
