// A second process for the cross-process trace test: `node --import tsx child-server.fixtures.ts <spans file>`.
// Prints its port on stdout; on SIGTERM flushes its spans and exits.
import { createServer } from 'node:http';
import { traceHttpServer } from './http.js';
import { createTracing } from './tracing.js';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: child-server.fixtures.ts <spans file>');
const tracing = createTracing({ service: 'inventory', instance: 'child', exporter: { file } });
const server = createServer((_req, res) => {
  const ids = tracing.getActiveSpanContext();
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ traceId: ids?.traceId, spanId: ids?.spanId }));
});
traceHttpServer(server, tracing);
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address !== null && typeof address === 'object') process.stdout.write(`${address.port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void tracing.shutdown().then(() => process.exit(0));
});
