import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PrometheusTarget {
  /** The `/metrics` URL to scrape (scheme, host:port, path and query are all honoured). */
  readonly url: string;
  /** Target labels attached to every series of this target (`instance` overrides host:port). */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface StartPrometheusOptions {
  readonly targets: readonly PrometheusTarget[];
  /** Scrape interval; defaults to 1000 ms. */
  readonly scrapeIntervalMs?: number;
  /** The Prometheus executable; defaults to `prometheus` on the PATH (Debian: /usr/bin/prometheus). */
  readonly binary?: string;
  /** The `job` label; defaults to `faultline`. */
  readonly job?: string;
  /** How long to wait for `/-/ready`; defaults to 30 000 ms. */
  readonly readyTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL; defaults to 5000 ms. */
  readonly stopGraceMs?: number;
}

export interface RunningPrometheus {
  /** Base URL of its HTTP API, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly pid: number;
  /** The temporary folder holding `prometheus.yml` and `data/`; removed by `stop()`. */
  readonly dir: string;
  /** SIGTERM, SIGKILL after the grace period, then removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

const STDERR_TAIL = 4096;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not allocate a port');
  return address.port;
}

function duration(ms: number): string {
  return `${Math.max(1, Math.round(ms))}ms`;
}

/** The prometheus.yml for `targets` (JSON is valid YAML, so values are escaped by JSON.stringify). */
export function prometheusConfig(
  targets: readonly PrometheusTarget[],
  scrapeIntervalMs = 1000,
  job = 'faultline',
): string {
  const staticConfigs = targets.map((target) => {
    const url = new URL(target.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new Error(`unsupported target URL ${target.url}: only http and https`);
    // Per-target scheme, path and query parameters through Prometheus' reserved labels.
    const labels: Record<string, string> = {
      __scheme__: url.protocol.slice(0, -1),
      __metrics_path__: url.pathname,
    };
    for (const [name, value] of url.searchParams) labels[`__param_${name}`] = value;
    for (const [name, value] of Object.entries(target.labels ?? {})) labels[name] = value;
    return { targets: [url.host], labels };
  });
  const config = {
    global: {
      scrape_interval: duration(scrapeIntervalMs),
      scrape_timeout: duration(scrapeIntervalMs * 0.8),
      evaluation_interval: duration(scrapeIntervalMs),
    },
    scrape_configs: [{ job_name: job, static_configs: staticConfigs }],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/**
 * Writes a prometheus.yml into a fresh temporary folder, starts Prometheus on a free loopback port
 * scraping `targets`, and resolves once `/-/ready` answers.
 *
 * @example const prom = await startPrometheus({ targets: [{ url: 'http://127.0.0.1:3001/metrics' }] });
 *   … await prom.stop();
 */
export async function startPrometheus(options: StartPrometheusOptions): Promise<RunningPrometheus> {
  const scrapeIntervalMs = options.scrapeIntervalMs ?? 1000;
  if (!(scrapeIntervalMs > 0)) throw new RangeError('scrapeIntervalMs must be positive');
  const binary = options.binary ?? 'prometheus';
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const stopGraceMs = options.stopGraceMs ?? 5000;
  const config = prometheusConfig(options.targets, scrapeIntervalMs, options.job);

  const dir = await mkdtemp(join(tmpdir(), 'faultline-prometheus-'));
  let child: ChildProcess | undefined;
  let stopping: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child !== undefined && child.pid !== undefined && !exited(child)) {
        child.kill('SIGTERM');
        if (!(await waitForExit(child, stopGraceMs))) {
          child.kill('SIGKILL');
          await waitForExit(child, 5000);
        }
      }
      await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    const configFile = join(dir, 'prometheus.yml');
    await writeFile(configFile, config);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const proc = spawn(
      binary,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = proc;
    let stderr = '';
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL);
    });
    let failure: Error | undefined;
    proc.on('error', (error: NodeJS.ErrnoException) => {
      failure ??=
        error.code === 'ENOENT'
          ? new Error(
              `Prometheus binary not found: '${binary}'. Install it (Debian/Ubuntu: apt-get install prometheus) or pass \`binary\`.`,
            )
          : new Error(`could not start Prometheus '${binary}': ${error.message}`);
    });
    proc.once('exit', (code, signal) => {
      failure ??= new Error(
        `Prometheus exited during start-up (${signal ?? `code ${code}`})${stderr ? `:\n${stderr.trim()}` : ''}`,
      );
    });

    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (failure !== undefined) throw failure;
      try {
        const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
        await response.arrayBuffer();
        if (response.ok) break;
      } catch {
        // not listening yet
      }
      if (failure !== undefined) throw failure;
      if (Date.now() > deadline)
        throw new Error(
          `Prometheus not ready after ${readyTimeoutMs} ms${stderr ? `:\n${stderr.trim()}` : ''}`,
        );
      await sleep(100);
    }
    // Once started, a later exit is not an error of ours; stop() handles it.
    const pid = proc.pid;
    if (pid === undefined) throw new Error('Prometheus has no pid');
    return { url, pid, dir, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
