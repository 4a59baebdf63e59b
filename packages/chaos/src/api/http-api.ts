import type { IncomingMessage, ServerResponse } from 'node:http';
import { isFaultlineChaosError } from '../proxy/errors.js';
import type { ProxyConfig } from '../proxy/model.js';
import type { ProxyRegistry } from '../proxy/registry.js';
import { goTypeOf, isPlainObject } from '../proxy/toxic-spec.js';
import { CHAOS_VERSION } from '../version.js';
import { badBody, HttpError } from './http-error.js';
import { renderMetrics } from './metrics.js';
import { decodeObject, parseJson, readBody } from './request-body.js';
import { matchRoute, type Route, routeMethods } from './routes.js';

/** The Toxiproxy version whose REST API this one speaks. */
export const TOXIPROXY_API_VERSION = '2.12.0';

const proxyFields = { name: 'string', listen: 'string', upstream: 'string', enabled: 'bool' } as const;
const toxicFields = { name: 'string', type: 'string', stream: 'string', toxicity: 'float32' } as const;

function send(res: ServerResponse, status: number, type: string | undefined, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.statusCode = status;
  if (type !== undefined) res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json', JSON.stringify(value));
}

/** Toxiproxy's error body: `{"error":"…","status":N}` and a newline. */
export function sendError(res: ServerResponse, status: number, message: string): void {
  send(res, status, 'application/json', `${JSON.stringify({ error: message, status })}\n`);
}

function sendEmpty(res: ServerResponse, status: number): void {
  if (res.headersSent || res.destroyed) return;
  res.statusCode = status;
  res.end();
}

/**
 * The request handler of the REST API, Toxiproxy 2.12's: same routes, status codes, bodies and
 * errors. Never throws: whatever arrives gets an answer.
 */
export function createApiHandler(
  registry: ProxyRegistry,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(registry, req, res).catch((e: unknown) => {
      if (e instanceof HttpError) {
        if (e.status === 413) res.setHeader('Connection', 'close');
        sendError(res, e.status, e.message);
      } else if (isFaultlineChaosError(e)) sendError(res, e.status, e.apiMessage);
      else sendError(res, 500, e instanceof Error ? e.message : String(e));
    });
  };
}

async function handle(registry: ProxyRegistry, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const agent = req.headers['user-agent'];
  if (typeof agent === 'string' && agent.startsWith('Mozilla/')) {
    req.resume();
    return send(res, 403, 'text/plain; charset=utf-8', 'User agent not allowed\n');
  }
  const route = matchRoute(req.url ?? '/');
  if (route === undefined) {
    req.resume();
    return send(res, 404, 'text/plain; charset=utf-8', '404 page not found\n');
  }
  const method = req.method ?? 'GET';
  if (!routeMethods[route.name].includes(method)) {
    req.resume();
    return sendEmpty(res, 405);
  }
  let body = '';
  if (method === 'GET' || method === 'DELETE') req.resume();
  else body = await readBody(req);
  await dispatch(registry, route, method, body, res);
}

async function dispatch(
  registry: ProxyRegistry,
  route: Route,
  method: string,
  body: string,
  res: ServerResponse,
): Promise<void> {
  switch (route.name) {
    case 'version':
      return sendJson(res, 200, { version: TOXIPROXY_API_VERSION, faultline: CHAOS_VERSION });
    case 'metrics':
      return send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', renderMetrics(registry.stats()));
    case 'reset':
      await registry.reset();
      return sendEmpty(res, 204);
    case 'proxies': {
      if (method === 'GET') {
        const all: Record<string, unknown> = {};
        for (const p of registry.list()) all[p.name] = p;
        return sendJson(res, 200, all);
      }
      const input = decodeObject(parseJson(body), 'proxy.Proxy', proxyFields);
      return sendJson(res, 201, await registry.create(proxyConfig(input)));
    }
    case 'populate': {
      const value = parseJson(body);
      if (!Array.isArray(value)) {
        throw badBody(
          `json: cannot unmarshal ${value === null ? 'null' : typeof value} into Go value of type []proxy.Proxy`,
        );
      }
      const configs = value.map((v) => proxyConfig(decodeObject(v, 'proxy.Proxy', proxyFields)));
      return sendJson(res, 201, { proxies: await registry.populate(configs) });
    }
    case 'proxy': {
      if (method === 'GET') return sendJson(res, 200, registry.get(route.proxy));
      if (method === 'DELETE') {
        await registry.remove(route.proxy);
        return sendEmpty(res, 204);
      }
      registry.get(route.proxy); // 404 before 400, as Toxiproxy
      const input = decodeObject(parseJson(body), 'proxy.Proxy', proxyFields);
      const update: { listen?: string; upstream?: string; enabled?: boolean } = {};
      if (typeof input.listen === 'string') update.listen = input.listen;
      if (typeof input.upstream === 'string') update.upstream = input.upstream;
      if (typeof input.enabled === 'boolean') update.enabled = input.enabled;
      return sendJson(res, 200, await registry.update(route.proxy, update));
    }
    case 'toxics': {
      if (method === 'GET') return sendJson(res, 200, registry.toxics(route.proxy));
      registry.get(route.proxy);
      const value = parseJson(body);
      const input = decodeObject(value, 'toxics.ToxicWrapper', toxicFields);
      const attributes = attributesOf(value);
      return sendJson(
        res,
        200,
        registry.addToxic(route.proxy, {
          type: typeof input.type === 'string' ? input.type : '',
          ...(typeof input.name === 'string' ? { name: input.name } : {}),
          ...(typeof input.stream === 'string' ? { stream: input.stream } : {}),
          ...(typeof input.toxicity === 'number' ? { toxicity: input.toxicity } : {}),
          ...(attributes !== undefined ? { attributes } : {}),
        }),
      );
    }
    case 'toxic': {
      if (method === 'GET') return sendJson(res, 200, registry.toxic(route.proxy, route.toxic));
      if (method === 'DELETE') {
        registry.removeToxic(route.proxy, route.toxic);
        return sendEmpty(res, 204);
      }
      registry.toxic(route.proxy, route.toxic);
      const value = parseJson(body);
      const input = decodeObject(value, 'toxics.ToxicWrapper', { toxicity: 'float32' });
      const attributes = attributesOf(value);
      return sendJson(
        res,
        200,
        registry.updateToxic(route.proxy, route.toxic, {
          ...(typeof input.toxicity === 'number' ? { toxicity: input.toxicity } : {}),
          ...(attributes !== undefined ? { attributes } : {}),
        }),
      );
    }
  }
}

/** The `attributes` object of a toxic body, if any; anything but an object is a 400. */
function attributesOf(body: unknown): Readonly<Record<string, unknown>> | undefined {
  if (!isPlainObject(body)) return undefined;
  const a = body.attributes;
  if (a === undefined || a === null) return undefined;
  if (!isPlainObject(a)) {
    throw badBody(
      `json: cannot unmarshal ${goTypeOf(a)} into Go struct field ToxicWrapper.attributes of type toxics.Toxic`,
    );
  }
  return a;
}

function proxyConfig(input: Record<string, string | boolean | number>): ProxyConfig {
  return {
    name: typeof input.name === 'string' ? input.name : '',
    upstream: typeof input.upstream === 'string' ? input.upstream : '',
    ...(typeof input.listen === 'string' ? { listen: input.listen } : {}),
    ...(typeof input.enabled === 'boolean' ? { enabled: input.enabled } : {}),
  };
}
