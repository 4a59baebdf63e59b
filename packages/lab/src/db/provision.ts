import pg from 'pg';
import { type ComponentGroup, componentEntry } from '../process/component-group.js';
import { SCHEMA_SQL, SEED_SQL } from './schema.js';
import { postgresUnavailable, startPostgres } from './temp-postgres.js';

/** `auto`: a temporary cluster when PostgreSQL is installed, else embedded PGlite. Or a URL. */
export type DbChoice = 'auto' | 'postgres' | 'pglite' | `postgres://${string}` | `postgresql://${string}`;

/** The database of a lab run. */
export interface LabDatabase {
  /** what runs, said to the user: "PostgreSQL 15 (temporary cluster)", "PGlite (embedded)", … */
  readonly description: string;
  readonly kind: 'temporary' | 'url' | 'pglite';
  readonly url: string;
  /** `host:port` for the fault proxy's upstream */
  readonly hostPort: string;
  stop(): Promise<void>;
}

/** Parses the `--db` value; throws a plain message for anything else. */
export function parseDbChoice(value: string): DbChoice {
  if (value === 'auto' || value === 'postgres' || value === 'pglite') return value;
  if (/^postgres(ql)?:\/\//.test(value)) return value as DbChoice;
  throw new Error(`--db must be auto, postgres, pglite or a postgres:// URL, not ${JSON.stringify(value)}`);
}

/** Starts (or connects to) the run's database and loads the lab's schema and data. */
export async function provisionDatabase(choice: DbChoice, group: ComponentGroup): Promise<LabDatabase> {
  const db = await start(choice, group);
  try {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(SCHEMA_SQL);
      await client.query(SEED_SQL);
    } finally {
      await client.end();
    }
    return db;
  } catch (e) {
    await db.stop();
    throw e;
  }
}

async function start(choice: DbChoice, group: ComponentGroup): Promise<LabDatabase> {
  if (choice !== 'auto' && choice !== 'postgres' && choice !== 'pglite') {
    const u = new URL(choice);
    return {
      description: `PostgreSQL at ${u.host} (given URL)`,
      kind: 'url',
      url: choice,
      hostPort: `${u.hostname}:${u.port || '5432'}`,
      stop: async () => {},
    };
  }
  const unavailable = postgresUnavailable();
  if (choice === 'postgres' && unavailable !== undefined) throw new Error(`--db postgres: ${unavailable}`);
  if (choice !== 'pglite' && unavailable === undefined) {
    const pgServer = await startPostgres();
    const version = await serverVersion(pgServer.url);
    return {
      description: `PostgreSQL ${version} (temporary cluster, removed after the run)`,
      kind: 'temporary',
      url: pgServer.url,
      hostPort: `127.0.0.1:${pgServer.port}`,
      stop: () => pgServer.stop(),
    };
  }
  const c = await group.start({
    name: 'pglite',
    entry: componentEntry('db/pglite-main.js'),
    config: { maxConnections: 200 },
    startTimeoutMs: 60_000,
  });
  const port = Number(c.info.port);
  return {
    description: 'PGlite (embedded PostgreSQL in its own process; install PostgreSQL for a real server)',
    kind: 'pglite',
    url: String(c.info.url),
    hostPort: `127.0.0.1:${port}`,
    stop: () => group.stop('pglite'),
  };
}

async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query<{ server_version: string }>('show server_version');
    return (r.rows[0]?.server_version ?? '').split(' ')[0] ?? '';
  } finally {
    await client.end();
  }
}
