import { once } from 'node:events';
import { createServer } from 'node:net';

/** A port that was free a moment ago on 127.0.0.1 (for servers that must come back on the same port). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('could not pick a free port');
  return address.port;
}
