import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runComponent } from '../process/child-component.js';

/** The external pricing API the apps call: answers in `latencyMs` ± 50 %. */
export interface ExternalApiConfig {
  readonly latencyMs: number;
}

runComponent<ExternalApiConfig>(async (config) => {
  const server = createServer((req, res) => {
    const match = /^\/price\/(\d+)$/.exec((req.url ?? '').split('?')[0] ?? '');
    if (match === null) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"not found"}');
      return;
    }
    const id = Number(match[1]);
    const delay = config.latencyMs * (0.5 + Math.random());
    setTimeout(() => {
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id, price_cents: 100 + ((id * 53) % 9900), currency: 'EUR' }));
    }, delay);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    info: { port },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
});
