import pg from 'pg';
import type { Logger } from 'pino';
import { HARDENED } from './app-config.js';

export interface BatchJobOptions {
  /** the app's shared pool (the baseline runs the job on it) */
  readonly pool: pg.Pool;
  readonly hardened: boolean;
  readonly dbUrl: string;
  readonly seconds: number;
  /** report queries run at once */
  readonly concurrency: number;
  readonly log: Logger;
}

// a report over every order: a real aggregate, seconds of work under load
const REPORT_SQL = `select p.id, count(*) as n, sum(o.qty) as units, avg(o.qty) as mean
  from orders o join products p on p.id = o.product_id
  group by p.id order by units desc`;

/**
 * The scenario-5 batch job: for `seconds`, `concurrency` workers run a report over every order.
 * Baseline: on the shared pool, so the report holds connections users need. Hardened: on its
 * own pool of {@link HARDENED.jobPoolMax} connections — a quota the job cannot exceed.
 */
export async function startBatchJob(options: BatchJobOptions): Promise<number> {
  const own = options.hardened
    ? new pg.Pool({ connectionString: options.dbUrl, max: HARDENED.jobPoolMax })
    : undefined;
  own?.on('error', () => {});
  const pool = own ?? options.pool;
  const workers = options.hardened ? Math.min(options.concurrency, HARDENED.jobPoolMax) : options.concurrency;
  const end = Date.now() + options.seconds * 1000;
  let reports = 0;
  options.log.info({ job: 'nightly-report', workers, seconds: options.seconds }, 'batch job started');
  try {
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (Date.now() < end) {
          await pool.query(REPORT_SQL);
          reports++;
        }
      }),
    );
    options.log.info({ job: 'nightly-report', reports }, 'batch job finished');
    return reports;
  } catch (e) {
    options.log.error(
      { job: 'nightly-report', err: e instanceof Error ? e.message : String(e) },
      'batch job failed',
    );
    throw e;
  } finally {
    await own?.end().catch(() => {});
  }
}
