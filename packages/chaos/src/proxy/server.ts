import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApiHandler } from '../api/http-api.js';
import { loadProxyConfigFile, parseProxyConfig } from '../config/config-file.js';
import { listenErrorText } from './address.js';
import { ChaosErrorCode, FaultlineChaosError, isFaultlineChaosError } from './errors.js';
import { ChangeRecorder } from './events.js';
import type { ProxyConfig } from './model.js';
import { ProxyRegistry } from './registry.js';

/** Options of {@link startProxyServer}. */
export interface ProxyServerOptions {
  /** Admin API host; default `127.0.0.1`. */
  readonly host?: string;
  /** Admin API port; default 8474 (Toxiproxy's); 0 picks a free one. */
  readonly port?: number;
  /** Proxies to create at start (the `/populate` shape, toxics allowed), or the path of a JSON file of them. */
  readonly config?: readonly ProxyConfig[] | string;
  /** Appends every change as a JSON line (`{"time","kind":"chaos.toxic.added",…}`) to this file. */
  readonly eventsFile?: string;
  /** Receives one JSON line per accepted connection saying which toxics applied to it. */
  readonly logger?: (line: string) => void;
  /** Uniform random in [0, 1) for toxicity rolls and jitter; default `Math.random`. */
  readonly random?: () => number;
}

/** A running fault proxy server. */
export interface ProxyServer {
  /** Base URL of the admin (REST) API, e.g. `http://127.0.0.1:8474`. */
  readonly url: string;
  /** Where the admin API listens. */
  readonly address: { readonly host: string; readonly port: number };
  /** The proxies, driven in process. */
  readonly proxies: ProxyRegistry;
  /** Closes the admin API, every proxy listener and every connection. */
  close(): Promise<void>;
}

/**
 * Starts a Toxiproxy-compatible fault proxy server: the REST API on `host:port` and the proxies of
 * `config`. Throws FL_CONFIG_INVALID, FL_EVENTS_FILE, FL_PROXY_LISTEN or FL_API_LISTEN, leaving
 * nothing open.
 * @example const server = await startProxyServer({ port: 0 }); … await server.close();
 */
export async function startProxyServer(options: ProxyServerOptions = {}): Promise<ProxyServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8474;
  const configs =
    options.config === undefined
      ? []
      : typeof options.config === 'string'
        ? loadProxyConfigFile(options.config)
        : parseProxyConfig(options.config, 'config');
  const recorder = new ChangeRecorder(options.eventsFile);
  const registry = new ProxyRegistry(
    { random: options.random ?? Math.random, logger: options.logger },
    recorder,
  );
  let http: Server | undefined;
  try {
    if (configs.length > 0) {
      try {
        await registry.populate(configs);
      } catch (e) {
        const source = typeof options.config === 'string' ? options.config : 'config';
        if (isFaultlineChaosError(e) && e.code !== ChaosErrorCode.ProxyListen) {
          throw new FaultlineChaosError(ChaosErrorCode.ConfigInvalid, `${source}: ${e.message}`, {
            cause: e,
            details: { file: source, ...e.details },
          });
        }
        throw e;
      }
    }
    const server = createServer({ keepAliveTimeout: 5000 }, createApiHandler(registry));
    http = server;
    server.on('clientError', (_err, socket) => {
      if (socket.writable) {
        const body = `${JSON.stringify({ error: 'bad request', status: 400 })}\n`;
        socket.end(
          `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      }
      socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.removeListener('error', reject);
        resolve();
      });
    }).catch((e: unknown) => {
      throw new FaultlineChaosError(ChaosErrorCode.ApiListen, listenErrorText(`${host}:${port}`, e), {
        cause: e,
        details: { host, port },
      });
    });
    server.on('error', () => {});
    const info = server.address() as AddressInfo;
    const urlHost = info.address.includes(':') ? `[${info.address}]` : info.address;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${urlHost}:${info.port}`,
      address: { host: info.address, port: info.port },
      proxies: registry,
      close() {
        closing ??= (async () => {
          const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeAllConnections();
          await registry.close();
          await stopped;
          recorder.close();
        })();
        return closing;
      },
    };
  } catch (e) {
    if (http?.listening) {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http?.close(() => resolve()));
    }
    await registry.close();
    recorder.close();
    throw e;
  }
}
