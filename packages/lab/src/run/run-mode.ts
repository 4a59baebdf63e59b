import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { record } from '@faultline/observe';
import pg from 'pg';
import type { AppConfig, LabMode } from '../app/app-config.js';
import { baselineBalancer, hardenedBalancer } from '../balancer/balancer-presets.js';
import type { LabDatabase } from '../db/provision.js';
import { ComponentGroup, componentEntry } from '../process/component-group.js';
import { freePort } from '../process/free-port.js';
import type { Action, Scenario, Step } from '../scenarios/scenario.js';
import { EventsFile, type LabEvent } from './events-file.js';
import { ToxiproxyClient } from './toxiproxy-client.js';

/** What the stack looks like; the defaults are tuned so a 2-core machine shows each failure. */
export interface StackOptions {
  readonly apps: number;
  readonly poolMax: number;
  /** database round trip including query time, modelled on the database link (ms) */
  readonly dbLatencyMs: number;
  readonly externalLatencyMs: number;
  /** V8 old-space limit of each app, MB: a leak reaches it in seconds, as in a small container */
  readonly appHeapMb: number;
  readonly traceSampleRatio: number;
}

export const DEFAULT_STACK: StackOptions = {
  apps: 3,
  poolMax: 10,
  dbLatencyMs: 90,
  externalLatencyMs: 20,
  appHeapMb: 128,
  traceSampleRatio: 0.2,
};

/** Progress of one mode, once a second. */
export interface ModeProgress {
  readonly mode: LabMode;
  readonly phase: 'starting' | 'running' | 'stopping';
  readonly elapsedS: number;
  readonly durationS: number;
  /** share of the logical requests ending in the last second that succeeded (NaN: none ended) */
  readonly availability: number;
  readonly note?: string;
}

export interface RunModeOptions {
  readonly scenario: Scenario;
  readonly mode: LabMode;
  /** the bundle folder of this mode */
  readonly dir: string;
  /** per-request outcomes of the load generator (kept outside the bundle: not telemetry) */
  readonly outcomesFile: string;
  /** stdout/stderr of every component */
  readonly processOutputDir: string;
  readonly db: LabDatabase;
  readonly durationS: number;
  readonly rps: number;
  readonly stack: StackOptions;
  readonly onProgress?: (p: ModeProgress) => void;
  readonly signal?: AbortSignal;
}

export interface ModeRun {
  readonly mode: LabMode;
  readonly dir: string;
  readonly outcomesFile: string;
  /** epoch ms when the load started */
  readonly loadStart: number;
  readonly durationS: number;
  /** the injections, as written to events.jsonl */
  readonly groundTruth: readonly LabEvent[];
  /** app crashes seen (and restarted) */
  readonly crashes: number;
}

/**
 * Runs one scenario in one mode on a fresh stack: external API, fault proxies, N apps, the load
 * balancer, the load generator and the recorder, then the timeline; stops everything whatever
 * happens.
 */
export async function runMode(options: RunModeOptions): Promise<ModeRun> {
  const { scenario, mode, dir, stack } = options;
  for (const d of [dir, join(dir, 'logs'), join(dir, 'spans'), options.processOutputDir])
    mkdirSync(d, { recursive: true });
  const group = new ComponentGroup(options.processOutputDir);
  const events = new EventsFile(join(dir, 'events.jsonl'));
  const progress = (phase: ModeProgress['phase'], elapsedS: number, availability: number, note?: string) =>
    options.onProgress?.({
      mode,
      phase,
      elapsedS,
      durationS: options.durationS,
      availability,
      ...(note === undefined ? {} : { note }),
    });
  let recorder: ReturnType<typeof record> | undefined;
  let crashes = 0;
  let stopping = false;
  const timers: NodeJS.Timeout[] = [];
  const background: Promise<unknown>[] = [];
  let failure: Error | undefined;
  try {
    progress('starting', 0, Number.NaN, 'starting the stack');
    const external = await group.start({
      name: 'external-api',
      entry: componentEntry('external/external-api-main.js'),
      config: { latencyMs: stack.externalLatencyMs },
    });
    const proxy = await group.start({
      name: 'fault-proxy',
      entry: componentEntry('proxy/fault-proxy-main.js'),
      config: {
        upstreams: { db: options.db.hostPort, external: `127.0.0.1:${String(external.info.port)}` },
        eventsFile: join(dir, 'proxy-events.jsonl'),
      },
    });
    const listen = proxy.info.listen as Record<string, string>;
    const toxiproxy = new ToxiproxyClient(String(proxy.info.apiUrl));
    // the database is "dbLatencyMs away": every round trip pays it, so connections are held as long
    // as a real query's would be, on PGlite as on PostgreSQL
    await toxiproxy.addToxic('db', {
      name: 'lab-db-round-trip',
      type: 'latency',
      attributes: { latency: stack.dbLatencyMs, jitter: Math.round(stack.dbLatencyMs / 5) },
    });
    const dbUrl = new URL(options.db.url);
    const [dbHost, dbPort] = (listen.db ?? '').split(':');
    dbUrl.hostname = dbHost ?? '127.0.0.1';
    dbUrl.port = dbPort ?? '';

    const appConfigs: AppConfig[] = [];
    for (let i = 1; i <= stack.apps; i++) {
      appConfigs.push({
        instance: `app-${i}`,
        mode,
        port: await freePort(),
        dbUrl: dbUrl.toString(),
        externalUrl: `http://${listen.external ?? ''}`,
        logFile: join(dir, 'logs', `app-${i}.log`),
        spanFile: join(dir, 'spans', `app-${i}.otlp.jsonl`),
        traceSampleRatio: stack.traceSampleRatio,
        poolMax: stack.poolMax,
        jobIntervalMs: 10_000,
      });
    }
    const startApp = (c: AppConfig) =>
      group.start({
        name: c.instance,
        entry: componentEntry('app/app-main.js'),
        config: c,
        execArgv: [`--max-old-space-size=${stack.appHeapMb}`],
      });
    await Promise.all(appConfigs.map(startApp));
    group.onUnexpectedExit((name, code, signal) => {
      const c = appConfigs.find((a) => a.instance === name);
      if (c === undefined) {
        if (!stopping) failure ??= new Error(`${name} exited unexpectedly (${code ?? signal})`);
        return;
      }
      if (stopping) return;
      crashes++;
      events.write('process.crash', { service: 'app', instance: name, exit_code: code, signal });
      // a supervisor (systemd, Kubernetes) restarts it after a second, and again until it stays up
      const restart = () => {
        if (stopping) return;
        background.push(
          startApp(c).then(
            () => events.write('process.restart', { service: 'app', instance: name }),
            (e: unknown) => {
              events.write('process.restart_failed', { service: 'app', instance: name, error: String(e) });
              timers.push(setTimeout(restart, 1000));
            },
          ),
        );
      };
      timers.push(setTimeout(restart, 1000));
    });

    const policy = mode === 'hardened' ? hardenedBalancer : baselineBalancer;
    const lb = await group.start({
      name: 'lb',
      entry: componentEntry('balancer/balancer-main.js'),
      config: {
        ...policy,
        healthCheck: { ...policy.healthCheck, path: mode === 'hardened' ? '/live' : '/health' },
        backends: appConfigs.map((c) => ({ id: c.instance, url: `http://127.0.0.1:${c.port}` })),
        eventsFile: join(dir, 'lb-events.jsonl'),
        adminPort: 0,
      },
    });
    const load = await group.start({
      name: 'load',
      entry: componentEntry('load/load-main.js'),
      config: {
        target: `http://127.0.0.1:${String(lb.info.port)}`,
        mode,
        rps: options.rps,
        outcomesFile: options.outcomesFile,
      },
    });
    const loadUrl = `http://127.0.0.1:${String(load.info.port)}`;

    recorder = record({
      out: dir,
      intervalMs: 1000,
      targets: [
        ...appConfigs.map((c) => ({
          url: `http://127.0.0.1:${c.port}/metrics`,
          labels: { job: 'app', instance: c.instance },
        })),
        {
          url: `http://127.0.0.1:${String(lb.info.adminPort)}/metrics`,
          labels: { job: 'lb', instance: 'lb-1' },
        },
        { url: `${loadUrl}/metrics`, labels: { job: 'client', instance: 'load-1' } },
      ],
    });

    // let every pool open all its connections before the load starts: a cold pool behind a slow
    // link would make the first seconds an incident of their own
    await Promise.all(
      appConfigs.flatMap((c) =>
        Array.from({ length: stack.poolMax }, (_, i) =>
          fetch(`http://127.0.0.1:${c.port}/api/products/${i + 1}`).then((r) => r.arrayBuffer()),
        ),
      ),
    );
    const loadStart = Date.now();
    await post(`${loadUrl}/start`);
    events.write('load.start', { service: 'client', rps: options.rps, scenario: scenario.name, mode });

    const act = actor({ appConfigs, toxiproxy, db: options.db, events, scenario, loadUrl, background });
    for (const step of scenario.steps) {
      if (step.atS >= options.durationS) continue;
      timers.push(
        setTimeout(() => {
          if (stopping) return;
          act(step).catch((e: unknown) =>
            events.write('fault.failed', {
              note: step.note,
              error: e instanceof Error ? e.message : String(e),
            }),
          );
        }, step.atS * 1000),
      );
    }

    const endAt = loadStart + options.durationS * 1000;
    let note: string | undefined;
    while (Date.now() < endAt) {
      if (options.signal?.aborted) throw new Error('interrupted');
      if (failure !== undefined) throw failure;
      await sleep(Math.min(1000, endAt - Date.now()), options.signal);
      const elapsed = (Date.now() - loadStart) / 1000;
      const due = scenario.steps.filter((s) => s.atS <= elapsed);
      note = due.at(-1)?.note ?? note;
      const stats = await getJson<{ lastSecondAvailability: number | null }>(`${loadUrl}/stats`).catch(
        () => undefined,
      );
      progress(
        'running',
        Math.min(options.durationS, elapsed),
        stats?.lastSecondAvailability ?? Number.NaN,
        note,
      );
    }
    progress('stopping', options.durationS, Number.NaN, 'waiting for requests in flight');
    await post(`${loadUrl}/finish`);
    events.write('load.stop', { service: 'client' });
    return {
      mode,
      dir,
      outcomesFile: options.outcomesFile,
      loadStart,
      durationS: options.durationS,
      groundTruth: events.written.filter((e) => e.kind === 'fault.injected' || e.kind === 'fault.cleared'),
      crashes,
    };
  } finally {
    stopping = true;
    for (const t of timers) clearTimeout(t);
    await recorder?.stop().catch(() => {});
    await Promise.allSettled(background);
    await group.stopAll();
  }
}

interface ActorContext {
  readonly appConfigs: readonly AppConfig[];
  readonly toxiproxy: ToxiproxyClient;
  readonly db: LabDatabase;
  readonly events: EventsFile;
  readonly scenario: Scenario;
  readonly loadUrl: string;
  readonly background: Promise<unknown>[];
}

/** Performs one step and writes it as ground truth (time, kind, target, parameters). */
function actor(ctx: ActorContext): (step: Step) => Promise<void> {
  const appsOf = (target: string) =>
    target === 'all-apps' ? ctx.appConfigs : ctx.appConfigs.filter((c) => c.instance === target);
  const admin = async (target: string, path: string, method: string, body?: unknown) => {
    await Promise.all(
      appsOf(target).map((c) =>
        fetch(`http://127.0.0.1:${c.port}${path}`, {
          method,
          ...(body === undefined
            ? {}
            : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
          signal: AbortSignal.timeout(5000),
        }).then((r) => r.arrayBuffer()),
      ),
    );
  };
  const truth = (action: Action, note: string, cleared = false) => {
    const { kind, ...params } = action;
    const target = 'target' in action ? action.target : 'proxy' in action ? `${action.proxy}-proxy` : 'db';
    const service =
      target.startsWith('app') || target === 'all-apps'
        ? 'app'
        : 'proxy' in action
          ? action.proxy === 'db'
            ? 'postgres'
            : 'external-api'
          : 'postgres';
    const instances = 'target' in action ? appsOf(action.target).map((c) => c.instance) : [];
    ctx.events.write(cleared ? 'fault.cleared' : 'fault.injected', {
      service,
      ...(instances.length === 1 ? { instance: instances[0] } : instances.length > 1 ? { instances } : {}),
      fault: kind,
      params,
      note,
      scenario: ctx.scenario.name,
      ground_truth: true,
    });
  };
  return async (step) => {
    const a = step.action;
    switch (a.kind) {
      case 'leak':
        await admin(a.target, '/__admin/fault', 'POST', { kind: 'leak', mb_per_s: a.mbPerS });
        break;
      case 'cpu':
        await admin(a.target, '/__admin/fault', 'POST', { kind: 'cpu', percent: a.percent });
        break;
      case 'block':
        await admin(a.target, '/__admin/fault', 'POST', { kind: 'block', ms: a.ms });
        break;
      case 'cache-flush':
        await admin(a.target, '/__admin/fault', 'POST', { kind: 'cache-flush' });
        break;
      case 'clear-process-faults':
        // a crashed app has no fault left to clear; the event still marks the trigger's end
        await admin(a.target, '/__admin/fault', 'DELETE').catch(() => {});
        truth(a, step.note, true);
        return;
      case 'batch-job':
        await admin(a.target, '/__admin/job', 'POST', {
          duration_s: a.durationS,
          concurrency: a.concurrency,
        });
        break;
      case 'toxic':
        await ctx.toxiproxy.addToxic(a.proxy, {
          name: a.name,
          type: a.type,
          ...(a.stream === undefined ? {} : { stream: a.stream }),
          ...(a.toxicity === undefined ? {} : { toxicity: a.toxicity }),
          attributes: a.attributes,
        });
        break;
      case 'remove-toxic':
        await ctx.toxiproxy.removeToxic(a.proxy, a.name);
        truth(a, step.note, true);
        return;
      case 'proxy-down':
        await ctx.toxiproxy.setEnabled(a.proxy, false);
        break;
      case 'proxy-up':
        await ctx.toxiproxy.setEnabled(a.proxy, true);
        truth(a, step.note, true);
        return;
      case 'db-lock':
        ctx.background.push(
          holdLock(ctx.db.url, a.table, a.durationS, () => truth({ ...a }, 'lock released', true)),
        );
        break;
      case 'rate':
        await post(`${ctx.loadUrl}/rate/${a.rps}`);
        ctx.events.write('load.rate', { service: 'client', rps: a.rps, note: step.note });
        return;
    }
    truth(a, step.note);
  };
}

/** A session that takes an exclusive lock, as a migration would, and releases it after `seconds`. */
async function holdLock(url: string, table: string, seconds: number, released: () => void): Promise<void> {
  if (!/^[a-z_]+$/.test(table)) throw new Error(`bad table name ${table}`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('begin');
    await client.query(`lock table ${table} in access exclusive mode`);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    await client.query('commit');
    released();
  } finally {
    await client.end().catch(() => {});
  }
}

async function post(url: string): Promise<void> {
  const res = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(30_000) });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`POST ${url}: ${res.status}`);
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(900) });
  return (await res.json()) as T;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });
}
