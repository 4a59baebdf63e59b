// A throwaway PostgreSQL cluster for tests, the approach of @faultline/resilience's test-support and @faultline/chaos' fixtures
// (copied, not imported: packages do not depend on each other). Used by *.test.ts only.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = '/usr/lib/postgresql';

function postgresBin(): string | undefined {
  let versions: string[];
  try {
    versions = readdirSync(ROOT).sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  } catch {
    return undefined;
  }
  return versions
    .map((v) => join(ROOT, v, 'bin'))
    .find((bin) => existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres')));
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

/** Why no cluster can be started here, or undefined when one can. */
export function postgresUnavailable(): string | undefined {
  if (postgresBin() === undefined) return `no PostgreSQL server binaries in ${ROOT}/*/bin`;
  if (process.getuid?.() === 0 && postgresIds() === undefined)
    return 'running as root needs a "postgres" user';
  return undefined;
}

export interface TempPostgres {
  readonly port: number;
  stop(): Promise<void>;
}

/** initdb into a temporary folder, then postgres on 127.0.0.1 (trust auth, fsync off). */
export async function startPostgres(): Promise<TempPostgres> {
  const bin = postgresBin();
  if (bin === undefined) throw new Error(postgresUnavailable());
  const dir = mkdtempSync(join(tmpdir(), 'fl-observe-pg-'));
  const data = join(dir, 'data');
  const prefix: string[] = [];
  if (process.getuid?.() === 0) {
    const ids = postgresIds();
    if (ids === undefined) throw new Error(postgresUnavailable());
    chownSync(dir, ids.uid, ids.gid);
    prefix.push('runuser', '-u', 'postgres', '--');
  }
  const command = (exe: string, args: string[]): [string, string[]] =>
    prefix.length === 0 ? [exe, args] : [prefix[0] as string, [...prefix.slice(1), exe, ...args]];
  let child: ChildProcess | undefined;
  const stop = async () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGQUIT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [initCmd, initArgs] = command(join(bin, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '--no-sync',
    ]);
    const init = spawnSync(initCmd, initArgs, { encoding: 'utf8', timeout: 60_000 });
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}${init.stdout}`);
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const [cmd, args] = command(join(bin, 'postgres'), [
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
    ]);
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`postgres did not start:\n${log}`)), 30_000);
      const onData = (d: Buffer) => {
        log += String(d);
        if (log.includes('database system is ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', onData);
      proc.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`postgres exited:\n${log}`));
      });
    });
    return { port, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
