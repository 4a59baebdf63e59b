// The lab owns the temporary-cluster code; every package's tests start PostgreSQL through it.
export {
  findPostgresBin,
  postgresUnavailable,
  startPostgres,
  type TempPostgres,
} from '../../packages/lab/src/db/temp-postgres.js';
