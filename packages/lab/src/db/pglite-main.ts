import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { runComponent } from '../process/child-component.js';

/**
 * The zero-setup database: PGlite (PostgreSQL compiled to WebAssembly) in its own process,
 * behind a PostgreSQL wire-protocol server, so the apps use node-postgres exactly as against a
 * real server. Its own process because PGlite runs every query on one thread: sharing a process
 * with anything else would stall both.
 */
runComponent<{ maxConnections: number }>(async (config) => {
  const db = await PGlite.create();
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: 0,
    maxConnections: config.maxConnections,
  });
  await server.start();
  const address = server.getServerConn();
  const port = Number(address.split(':').pop());
  return {
    info: { port, url: `postgresql://postgres@127.0.0.1:${port}/postgres` },
    async close() {
      await server.stop();
      await db.close();
    },
  };
});
