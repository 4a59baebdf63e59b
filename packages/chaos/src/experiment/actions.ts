import type {
  Action,
  CommandAction,
  HttpAction,
  HttpFaultAction,
  ProcessAction,
  ProxyAction,
} from './definition.js';
import { sendHttp } from './http-request.js';
import type { ActivityRecord } from './journal.js';
import type { Ledger } from './ledger.js';
import { inRange, rangeText, round } from './probes.js';
import { limitExceeded, limitedCommand, TrackedProcess } from './processes.js';

export interface ActionContext {
  /** Aborted when the run is aborted; rollbacks get one that is not. */
  readonly signal: AbortSignal;
  readonly ledger: Ledger;
  readonly killGraceMs: number;
}

/** An action's outcome before timing is added. */
interface Outcome {
  readonly status: ActivityRecord['status'];
  readonly output?: unknown;
  readonly error?: string;
}

const enc = encodeURIComponent;

/** Waits `ms`; resolves false when `signal` aborted first. */
export function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs one action within its timeout; never rejects (failures are records). */
export async function runAction(action: Action, ctx: ActionContext): Promise<ActivityRecord> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const timeout = AbortSignal.timeout(action.timeoutMs);
  const signal = AbortSignal.any([ctx.signal, timeout]);
  let outcome: Outcome;
  try {
    outcome = await dispatch(action, { ...ctx, signal });
  } catch (e) {
    outcome = { status: 'failed', error: e instanceof Error ? e.message : String(e) };
  }
  if (outcome.status !== 'succeeded') {
    if (ctx.signal.aborted) outcome = { ...outcome, status: 'aborted', error: outcome.error ?? 'aborted' };
    else if (timeout.aborted)
      outcome = { ...outcome, status: 'failed', error: `timed out after ${action.timeoutMs}ms` };
  }
  return {
    name: action.name,
    type: action.type,
    status: outcome.status,
    startedAt,
    endedAt: new Date().toISOString(),
    durationMs: round(performance.now() - t0),
    ...(outcome.output === undefined ? {} : { output: outcome.output }),
    ...(outcome.error === undefined ? {} : { error: outcome.error }),
  };
}

function dispatch(action: Action, ctx: ActionContext): Promise<Outcome> {
  switch (action.type) {
    case 'wait':
      return pause(action.durationMs, ctx.signal).then((done) =>
        done ? { status: 'succeeded' } : { status: 'aborted', error: 'aborted' },
      );
    case 'proxy':
      return proxyAction(action, ctx);
    case 'http':
      return httpAction(action, ctx);
    case 'http-fault':
      return httpFaultAction(action, ctx);
    case 'command':
      return commandAction(action, ctx);
    case 'process':
      return processAction(action, ctx);
  }
}

function apiError(status: number, body: string): string {
  try {
    const e = (JSON.parse(body) as { error?: unknown }).error;
    if (typeof e === 'string') return `HTTP ${status}: ${e}`;
  } catch {
    // not JSON
  }
  return `HTTP ${status}: ${body.trim().slice(0, 200)}`;
}

async function proxyAction(a: ProxyAction, ctx: ActionContext): Promise<Outcome> {
  const base = `${a.api}/proxies/${enc(a.proxy)}`;
  const op = a.operation;
  const req = { timeoutMs: a.timeoutMs, signal: ctx.signal };
  switch (op.op) {
    case 'add': {
      const t = op.toxic;
      return addToxic(a, ctx, t.name ?? `${t.type}_${t.stream}`, {
        ...(t.name === undefined ? {} : { name: t.name }),
        type: t.type,
        stream: t.stream,
        toxicity: t.toxicity,
        attributes: t.attributes,
      });
    }
    case 'remove': {
      const res = await sendHttp(`${base}/toxics/${enc(op.toxic)}`, { method: 'DELETE', ...req });
      if (res.status === 404 || (res.status >= 200 && res.status <= 299)) {
        ctx.ledger.forgetToxic({ api: a.api, proxy: a.proxy, name: op.toxic });
        return {
          status: 'succeeded',
          output: { status: res.status, ...(res.status === 404 ? { alreadyAbsent: true } : {}) },
        };
      }
      return { status: 'failed', error: apiError(res.status, res.body) };
    }
    case 'disable':
    case 'enable': {
      const enabled = op.op === 'enable';
      const res = await sendHttp(base, { method: 'POST', body: JSON.stringify({ enabled }), ...req });
      if (res.status < 200 || res.status > 299)
        return { status: 'failed', error: apiError(res.status, res.body) };
      if (enabled) ctx.ledger.forgetDisabled({ api: a.api, proxy: a.proxy });
      else ctx.ledger.addDisabled({ api: a.api, proxy: a.proxy });
      return { status: 'succeeded', output: { enabled } };
    }
  }
}

/** Adds a toxic through the REST API and records it in the ledger (so that it is always removed). */
async function addToxic(
  a: { readonly api: string; readonly proxy: string; readonly timeoutMs: number },
  ctx: ActionContext,
  expectedName: string,
  toxicBody: Record<string, unknown>,
): Promise<Outcome> {
  const base = `${a.api}/proxies/${enc(a.proxy)}`;
  const req = { timeoutMs: a.timeoutMs, signal: ctx.signal };
  const body = JSON.stringify(toxicBody);
  let res: Awaited<ReturnType<typeof sendHttp>>;
  try {
    res = await sendHttp(`${base}/toxics`, { method: 'POST', body, ...req });
  } catch (e) {
    // the server may have added it before we stopped listening: remove it at cleanup to be sure
    ctx.ledger.addToxic({ api: a.api, proxy: a.proxy, name: expectedName });
    throw e;
  }
  if (res.status < 200 || res.status > 299)
    return { status: 'failed', error: apiError(res.status, res.body) };
  let toxic: unknown;
  try {
    toxic = JSON.parse(res.body);
  } catch {
    toxic = undefined;
  }
  const name = (toxic as { name?: unknown } | undefined)?.name;
  ctx.ledger.addToxic({
    api: a.api,
    proxy: a.proxy,
    name: typeof name === 'string' ? name : expectedName,
  });
  return { status: 'succeeded', output: toxic ?? { name: expectedName } };
}

/**
 * `http-fault`: adds an `http_delay` and/or `http_abort` toxic (with the match conditions) to the
 * proxy; each is recorded like a `proxy` toxic, so rollbacks and cleanup always remove it.
 */
async function httpFaultAction(a: HttpFaultAction, ctx: ActionContext): Promise<Outcome> {
  const match: Record<string, unknown> = {
    ...(a.match.method === undefined ? {} : { method: a.match.method }),
    ...(a.match.pathPrefix === undefined ? {} : { path_prefix: a.match.pathPrefix }),
    headers: a.match.headers,
  };
  const both = a.abort !== undefined && a.delay !== undefined;
  const toxics: { name: string; type: string; attributes: Record<string, unknown> }[] = [];
  if (a.delay !== undefined) {
    toxics.push({
      name: both ? `${a.toxic}-delay` : a.toxic,
      type: 'http_delay',
      attributes: { delay: a.delay.durationMs, percentage: a.delay.percentage, ...match },
    });
  }
  if (a.abort !== undefined) {
    toxics.push({
      name: both ? `${a.toxic}-abort` : a.toxic,
      type: 'http_abort',
      attributes: { status: a.abort.status, percentage: a.abort.percentage, ...match },
    });
  }
  const added: unknown[] = [];
  for (const t of toxics) {
    const outcome = await addToxic(a, ctx, t.name, { ...t, stream: 'upstream', toxicity: a.toxicity });
    if (outcome.status !== 'succeeded') return { ...outcome, output: { toxics: added } };
    added.push(outcome.output);
  }
  return { status: 'succeeded', output: { toxics: added } };
}

async function httpAction(a: HttpAction, ctx: ActionContext): Promise<Outcome> {
  const res = await sendHttp(a.url, {
    method: a.method,
    headers: a.headers,
    body: a.body,
    timeoutMs: a.timeoutMs,
    signal: ctx.signal,
  });
  const output = { status: res.status, latencyMs: round(res.latencyMs), body: res.body.slice(0, 500) };
  if (inRange(res.status, a.expectStatus)) return { status: 'succeeded', output };
  return { status: 'failed', output, error: `status ${res.status} not in ${rangeText(a.expectStatus)}` };
}

/** Waits for the process to exit, killing its group on abort or timeout. */
async function supervise(p: TrackedProcess, ctx: ActionContext): Promise<'exited' | 'stopped'> {
  if (ctx.signal.aborted) {
    await p.killGroup(ctx.killGraceMs);
    return 'stopped';
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<'stopped'>((resolve) => {
    onAbort = () => resolve('stopped');
    ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
  const r = await Promise.race([p.exit.then(() => 'exited' as const), aborted]);
  if (onAbort !== undefined) ctx.signal.removeEventListener('abort', onAbort);
  if (r === 'stopped') await p.killGroup(ctx.killGraceMs);
  return r;
}

function processOutput(p: TrackedProcess): Record<string, unknown> {
  return {
    pid: p.pid,
    exitCode: p.exited?.exitCode ?? null,
    signal: p.exited?.signal ?? null,
    stdout: p.stdout.slice(-1000),
    stderr: p.stderr.slice(-1000),
  };
}

async function commandAction(a: CommandAction, ctx: ActionContext): Promise<Outcome> {
  const p = new TrackedProcess(a.name, a.command, a.args, a.cwd, { ...process.env, ...a.env });
  ctx.ledger.processes.add(p);
  const how = await supervise(p, ctx);
  const output = processOutput(p);
  if (p.exited?.error !== undefined)
    return { status: 'failed', output, error: `cannot start: ${p.exited.error}` };
  if (how === 'stopped') return { status: 'failed', output, error: 'stopped' };
  if (p.exited?.exitCode !== a.expectExitCode) {
    const got = p.exited?.exitCode ?? `signal ${String(p.exited?.signal)}`;
    return { status: 'failed', output, error: `exit ${got}, expected ${a.expectExitCode}` };
  }
  return { status: 'succeeded', output };
}

async function processAction(a: ProcessAction, ctx: ActionContext): Promise<Outcome> {
  const cmd = limitedCommand(a.command, a.args, a.env, a.limits);
  const p = new TrackedProcess(a.name, cmd.command, cmd.args, a.cwd, { ...process.env, ...cmd.env });
  ctx.ledger.processes.add(p);
  if (a.limits.cpuPercent !== undefined && p.pid !== undefined) p.startDutyCycle(a.limits.cpuPercent);
  const limits = { ...a.limits, memoryMethod: cmd.memoryMethod ?? a.limits.memoryMethod };
  if (a.background) {
    // give it a moment to fail fast (bad command, immediate crash)
    await Promise.race([p.exit, pause(100, ctx.signal)]);
    if (p.exited !== undefined) {
      return {
        status: 'failed',
        output: { ...processOutput(p), limitExceeded: limitExceeded(p, a.limits, cmd.memoryMethod) ?? null },
        error: p.exited.error ?? 'exited at start',
      };
    }
    return { status: 'succeeded', output: { pid: p.pid, background: true, limits } };
  }
  const how = await supervise(p, ctx);
  const exceeded = limitExceeded(p, a.limits, cmd.memoryMethod) ?? null;
  const output = { ...processOutput(p), limits, limitExceeded: exceeded };
  if (p.exited?.error !== undefined)
    return { status: 'failed', output, error: `cannot start: ${p.exited.error}` };
  if (how === 'stopped') return { status: 'failed', output, error: 'stopped' };
  if (a.expectExitCode !== undefined && p.exited?.exitCode !== a.expectExitCode) {
    const got = p.exited?.exitCode ?? `signal ${String(p.exited?.signal)}`;
    const why = exceeded === null ? '' : ` (${exceeded} limit exceeded)`;
    return { status: 'failed', output, error: `exit ${got}${why}, expected ${a.expectExitCode}` };
  }
  return { status: 'succeeded', output };
}
