import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's postgresql-NN packages put the server binaries. */
const DEBIAN_ROOT = '/usr/lib/postgresql';
const READY = 'database system is ready to accept connections';

/** A throwaway PostgreSQL cluster. */
export interface TempPostgres {
  /** `postgresql://postgres@127.0.0.1:PORT/postgres` (trust auth) */
  readonly url: string;
  readonly port: number;
  /** the temporary folder holding the data directory and the unix socket */
  readonly dir: string;
  /** Stops the postmaster (killing it if it does not stop at once) and removes the folder. */
  stop(): Promise<void>;
}

/** The newest `/usr/lib/postgresql/<version>/bin` holding `initdb` and `postgres`, if any. */
export function findPostgresBin(): string | undefined {
  let versions: string[];
  try {
    versions = readdirSync(DEBIAN_ROOT);
  } catch {
    return undefined;
  }
  versions.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  for (const v of versions) {
    const bin = join(DEBIAN_ROOT, v, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres'))) return bin;
  }
  return undefined;
}

/** Why {@link startPostgres} cannot work here, or undefined when it can. */
export function postgresUnavailable(): string | undefined {
  if (findPostgresBin() === undefined) {
    return `no PostgreSQL server binaries in ${DEBIAN_ROOT}/*/bin (install Debian's postgresql package)`;
  }
  if (isRoot() && postgresIds() === undefined) {
    return 'running as root needs a "postgres" system user to run initdb and postgres as';
  }
  return undefined;
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function postgresIds(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('could not pick a free port');
  return address.port;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function kill(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Starts a temporary PostgreSQL cluster from Debian's binaries: `initdb` into a fresh temporary
 * folder (as the `postgres` user through `runuser` when running as root), a free port on
 * 127.0.0.1, the unix socket in that folder, `fsync=off`. Removes everything again when startup
 * fails, on `stop()`, or when the process exits without calling it.
 * @example const pg = await startPostgres(); try { … pg.url … } finally { await pg.stop(); }
 */
export async function startPostgres(): Promise<TempPostgres> {
  const bin = findPostgresBin();
  if (bin === undefined) throw new Error(postgresUnavailable());
  const dir = mkdtempSync(join(tmpdir(), 'fl-pg-'));
  const data = join(dir, 'data');
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  let postmaster: number | undefined;
  let stopped = false;
  let watchdog: number | undefined;
  const log: string[] = [];

  const killNow = () => {
    kill(watchdog, 'SIGKILL');
    kill(postmaster, 'SIGKILL');
    kill(child?.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killNow);

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killNow);
    kill(watchdog, 'SIGKILL');
    postmaster ??= readPostmasterPid(data);
    const running = child !== undefined && child.exitCode === null && child.signalCode === null;
    if (running || (postmaster !== undefined && alive(postmaster))) {
      // immediate shutdown: nothing in a throwaway cluster is worth a checkpoint
      kill(postmaster ?? child?.pid, 'SIGQUIT');
      const gone = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref()),
      ]);
      if (!gone) {
        kill(postmaster, 'SIGKILL');
        kill(child?.pid, 'SIGKILL');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 2000).unref())]);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const prefix: string[] = [];
    if (isRoot()) {
      const ids = postgresIds();
      if (ids === undefined) throw new Error(postgresUnavailable());
      chownSync(dir, ids.uid, ids.gid);
      prefix.push('runuser', '-u', 'postgres', '--');
    }
    const command = (exe: string, args: string[]): [string, string[]] =>
      prefix.length === 0 ? [exe, args] : [prefix[0] as string, [...prefix.slice(1), exe, ...args]];

    const [initCmd, initArgs] = command(join(bin, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--no-sync',
    ]);
    const init = spawnSync(initCmd, initArgs, { encoding: 'utf8', timeout: 60_000 });
    if (init.status !== 0) {
      throw new Error(
        `initdb failed (${init.status ?? init.signal}): ${init.error?.message ?? ''}\n${init.stderr}${init.stdout}`,
      );
    }

    const port = await freePort();
    const [pgCmd, pgArgs] = command(join(bin, 'postgres'), [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-h',
      '127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ]);
    const proc = spawn(pgCmd, pgArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    exited = once(proc, 'exit').catch(() => {});
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`postgres did not start within 30 s:\n${log.join('')}`)),
        30_000,
      );
      const onData = (chunk: Buffer) => {
        log.push(String(chunk));
        if (log.join('').includes(READY)) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stderr?.on('data', onData);
      proc.stdout?.on('data', onData);
      proc.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`postgres exited during startup (${code ?? signal}):\n${log.join('')}`));
      });
    });
    postmaster = readPostmasterPid(data);
    watchdog = startWatchdog(postmaster ?? proc.pid, dir);
    return { url: `postgresql://postgres@127.0.0.1:${port}/postgres`, port, dir, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The postmaster's pid, from the first line of `postmaster.pid`. */
function readPostmasterPid(data: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A detached shell that outlives us only to clean up: when this process dies without stopping
 * the cluster (SIGKILL, a crash the exit hook never sees), it stops the postmaster and removes
 * the folder, so no PostgreSQL is ever left running.
 */
function startWatchdog(postmaster: number | undefined, dir: string): number | undefined {
  if (postmaster === undefined) return undefined;
  const script = [
    `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done`,
    `kill -QUIT ${postmaster} 2>/dev/null`,
    'sleep 3',
    `kill -KILL ${postmaster} 2>/dev/null`,
    `rm -rf '${dir.replaceAll("'", '')}'`,
  ].join('; ');
  try {
    const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
    child.unref();
    return child.pid;
  } catch {
    return undefined;
  }
}
