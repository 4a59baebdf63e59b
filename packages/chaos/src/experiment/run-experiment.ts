import { channel } from 'node:diagnostics_channel';
import { type ActionContext, pause, runAction } from './actions.js';
import type { Action, ExperimentDefinition } from './definition.js';
import type { ActivityRecord, HypothesisCheck, Journal } from './journal.js';
import { exitCodeOf } from './journal.js';
import { Ledger } from './ledger.js';
import { checkHypothesis, round } from './probes.js';

/**
 * Published at each step of a run, only when someone subscribes:
 * `{ event: 'start' | 'hypothesis' | 'action' | 'rollback' | 'cleanup' | 'end', title, … }`.
 */
export const experimentChannel = channel('faultline:chaos:experiment');

export interface RunExperimentOptions {
  /** Aborting it stops the method and runs the rollbacks, as Ctrl-C does. */
  readonly signal?: AbortSignal;
  /** Install SIGINT/SIGTERM handlers for the duration of the run (default true). */
  readonly handleSignals?: boolean;
  /** Receives a readable progress log, one line at a time. */
  readonly log?: (line: string) => void;
  /** Validate and print the plan without probing or injecting anything. */
  readonly dryRun?: boolean;
  /** The experiment's file, recorded in the journal. */
  readonly file?: string;
  /** How long processes get between SIGTERM and SIGKILL at cleanup (default 2000 ms). */
  readonly killGraceMs?: number;
}

/** A run in progress. */
export interface ExperimentRun {
  /** Settles when the run, its rollbacks and its cleanup are over; never rejects. */
  readonly journal: Promise<Journal>;
  /** Stops the method (as Ctrl-C does); rollbacks and cleanup still run. */
  abort(reason?: string): void;
}

/**
 * Runs an experiment to its end and resolves to its journal.
 * @example const journal = await runExperiment(await loadExperiment('exp.yaml')); process.exitCode = exitCodeOf(journal);
 */
export function runExperiment(
  definition: ExperimentDefinition,
  options: RunExperimentOptions = {},
): Promise<Journal> {
  return startExperiment(definition, options).journal;
}

/**
 * Starts an experiment and hands back a way to stop it. Rollbacks always run once the method has
 * started (on success, failure, guard abort, `abort()`, SIGINT/SIGTERM), then everything the run
 * injected and did not undo itself is removed: toxics deleted, proxies re-enabled, processes killed.
 */
export function startExperiment(
  definition: ExperimentDefinition,
  options: RunExperimentOptions = {},
): ExperimentRun {
  const stop = new AbortController();
  const startedAt = new Date();
  const journal: Journal = {
    journalVersion: 1,
    title: definition.title,
    description: definition.description,
    file: options.file,
    status: 'completed',
    reason: undefined,
    dryRun: options.dryRun === true,
    startedAt: startedAt.toISOString(),
    endedAt: startedAt.toISOString(),
    durationMs: 0,
    steadyState: { before: undefined, during: [], duringFailures: 0, after: undefined },
    method: [],
    rollbacks: [],
    cleanup: [],
    interrupted: undefined,
  };
  let abortReason: string | undefined;
  const abort = (reason = 'abort()', interrupted = true) => {
    if (stop.signal.aborted) return;
    abortReason = reason;
    if (interrupted) journal.interrupted = { signal: reason, at: new Date().toISOString() };
    stop.abort(new Error(reason));
  };
  const run: ExperimentRun = {
    journal: execute(definition, options, journal, stop.signal, abort, () => abortReason),
    abort: (reason) => abort(reason ?? 'abort()'),
  };
  return run;
}

async function execute(
  def: ExperimentDefinition,
  options: RunExperimentOptions,
  journal: Journal,
  stopSignal: AbortSignal,
  abort: (reason?: string, interrupted?: boolean) => void,
  abortReason: () => string | undefined,
): Promise<Journal> {
  const log = options.log ?? (() => {});
  const publish = (event: string, extra: Record<string, unknown> = {}) => {
    if (experimentChannel.hasSubscribers) experimentChannel.publish({ event, title: def.title, ...extra });
  };
  const t0 = performance.now();
  let rollingBack = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (rollingBack || stopSignal.aborted) {
      log(`${sig}: already stopping; rollbacks and cleanup are running and will finish`);
      return;
    }
    log(`${sig}: stopping the method; rolling back`);
    abort(sig);
  };
  const installed = options.handleSignals !== false && options.dryRun !== true;
  if (installed) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const external = options.signal;
  const onExternal = () => abort('signal');
  if (external?.aborted) abort('signal');
  else external?.addEventListener('abort', onExternal, { once: true });

  const ledger = new Ledger();
  /** set once the method starts: from then on the rollbacks must run, exactly once */
  const state = { methodStarted: false, rollbacksDone: false };
  const ctx: ActionContext = { signal: stopSignal, ledger, killGraceMs: options.killGraceMs ?? 2000 };
  log(`experiment: ${def.title}${options.file === undefined ? '' : ` (${options.file})`}`);
  publish('start', { file: options.file });
  try {
    if (options.dryRun === true) {
      dryRun(def, journal, log);
      return journal;
    }
    const steady = def.steadyState;

    // 1. steady state before: nothing is injected unless it holds
    if (steady !== undefined) {
      const before = await checkHypothesis('before', steady, stopSignal);
      journal.steadyState.before = before;
      logCheck(log, before);
      publish('hypothesis', { check: before });
      if (!before.met || stopSignal.aborted) {
        journal.status = 'aborted';
        journal.reason = stopSignal.aborted
          ? `interrupted (${abortReason() ?? 'abort'}) before the method; nothing was injected`
          : 'the steady state did not hold before the method; nothing was injected';
        return journal;
      }
    }

    // 2. method, with the hypothesis checked at an interval alongside
    const methodDone = new AbortController();
    const during =
      steady?.during === undefined
        ? Promise.resolve()
        : duringLoop(def, journal, AbortSignal.any([stopSignal, methodDone.signal]), log, abort, publish);
    let failed: ActivityRecord | undefined;
    state.methodStarted = true;
    log('method:');
    for (const action of def.method) {
      if (stopSignal.aborted) break;
      const rec = await runStep(action, ctx, log);
      journal.method.push(rec);
      publish('action', { record: rec });
      if (rec.status === 'failed') {
        failed = rec;
        break;
      }
    }
    methodDone.abort();
    await during;

    if (stopSignal.aborted) {
      journal.status = 'aborted';
      journal.reason =
        abortReason() === 'guard'
          ? `the steady state broke during the method (${journal.steadyState.duringFailures} failed checks)`
          : `interrupted (${abortReason() ?? 'abort'})`;
    } else if (failed !== undefined) {
      journal.status = 'failed';
      journal.reason = `action "${failed.name}" failed: ${failed.error ?? 'no detail'}`;
    }

    // 3. rollbacks and cleanup (finally, below), then the steady state after
    rollingBack = true;
    state.rollbacksDone = true;
    await rollBack(def, journal, ledger, ctx, log, publish, true);
    if (journal.status === 'completed' && steady !== undefined) {
      const after = await checkHypothesis('after', steady, undefined);
      journal.steadyState.after = after;
      logCheck(log, after);
      publish('hypothesis', { check: after });
      if (!after.met) {
        journal.status = 'deviated';
        journal.reason = 'the steady state did not hold after the method';
      } else if (journal.steadyState.duringFailures > 0) {
        journal.status = 'deviated';
        journal.reason = `the steady state failed ${journal.steadyState.duringFailures} check(s) during the method`;
      }
    }
    return journal;
  } catch (e) {
    journal.status = 'failed';
    journal.reason = `runner error: ${e instanceof Error ? e.message : String(e)}`;
    return journal;
  } finally {
    // whatever happened above, leave nothing behind
    rollingBack = true;
    const declared = state.methodStarted && !state.rollbacksDone;
    state.rollbacksDone ||= declared;
    if (declared || ledger.toxics.size + ledger.disabled.size + ledger.processes.size > 0) {
      await rollBack(def, journal, ledger, ctx, log, publish, declared);
    }
    if (installed) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    external?.removeEventListener('abort', onExternal);
    const end = new Date();
    journal.endedAt = end.toISOString();
    journal.durationMs = round(performance.now() - t0);
    log(
      `status: ${journal.status}${journal.reason === undefined ? '' : ` (${journal.reason})`}, exit code ${exitCodeOf(journal)}`,
    );
    publish('end', { status: journal.status, reason: journal.reason });
  }
}

/** The declared rollbacks (when `declared`), then automatic cleanup of what is left. */
async function rollBack(
  def: ExperimentDefinition,
  journal: Journal,
  ledger: Ledger,
  ctx: ActionContext,
  log: (line: string) => void,
  publish: (event: string, extra?: Record<string, unknown>) => void,
  declared: boolean,
): Promise<void> {
  // rollbacks must run even when the run was aborted: they get a signal of their own
  const rbCtx: ActionContext = { ...ctx, signal: new AbortController().signal };
  if (declared && def.rollbacks.length > 0) {
    log('rollbacks:');
    for (const action of def.rollbacks) {
      const rec = await runStep(action, rbCtx, log);
      journal.rollbacks.push(rec);
      publish('rollback', { record: rec });
    }
  }
  const before = journal.cleanup.length;
  await ledger.cleanup(journal.cleanup, log, ctx.killGraceMs);
  for (const rec of journal.cleanup.slice(before)) publish('cleanup', { record: rec });
}

async function runStep(
  action: Action,
  ctx: ActionContext,
  log: (line: string) => void,
): Promise<ActivityRecord> {
  if (action.pauseBeforeMs > 0 && !(await pause(action.pauseBeforeMs, ctx.signal))) {
    return skipped(action, 'aborted during the pause before it');
  }
  const rec = await runAction(action, ctx);
  const detail = rec.error === undefined ? '' : `: ${rec.error}`;
  log(`  ${mark(rec.status)} ${action.type} "${action.name}" ${rec.status} in ${rec.durationMs}ms${detail}`);
  if (rec.status === 'succeeded' && action.pauseAfterMs > 0) await pause(action.pauseAfterMs, ctx.signal);
  return rec;
}

function skipped(action: Action, why: string): ActivityRecord {
  const now = new Date().toISOString();
  return {
    name: action.name,
    type: action.type,
    status: 'skipped',
    startedAt: now,
    endedAt: now,
    durationMs: 0,
    error: why,
  };
}

function mark(status: ActivityRecord['status']): string {
  return status === 'succeeded' ? '✓' : status === 'skipped' ? '-' : '✗';
}

function logCheck(log: (line: string) => void, c: HypothesisCheck): void {
  log(`steady state ${c.phase}: ${c.met ? 'met' : 'NOT met'}`);
  for (const p of c.probes) {
    const v = p.value === null ? '' : ` ${JSON.stringify(p.value)}`;
    log(
      `  ${p.ok ? '✓' : '✗'} ${p.type} "${p.name}"${v} expected ${p.expected}${p.error === undefined ? '' : ` — ${p.error}`}`,
    );
  }
}

async function duringLoop(
  def: ExperimentDefinition,
  journal: Journal,
  signal: AbortSignal,
  log: (line: string) => void,
  abort: (reason?: string, interrupted?: boolean) => void,
  publish: (event: string, extra?: Record<string, unknown>) => void,
): Promise<void> {
  const steady = def.steadyState;
  const during = steady?.during;
  if (steady === undefined || during === undefined) return;
  while (await pause(during.intervalMs, signal)) {
    const check = await checkHypothesis('during', steady, signal);
    if (signal.aborted) return; // the method ended mid-check: the check is not meaningful
    journal.steadyState.during.push(check);
    publish('hypothesis', { check });
    if (!check.met) {
      journal.steadyState.duringFailures++;
      logCheck(log, check);
      if (journal.steadyState.duringFailures >= during.abortOnFailures) {
        log(
          `guard: ${journal.steadyState.duringFailures} failed check(s) (abortOn.failures ${during.abortOnFailures}); aborting`,
        );
        abort('guard', false);
        return;
      }
    }
  }
}

function dryRun(def: ExperimentDefinition, journal: Journal, log: (line: string) => void): void {
  log('dry run: nothing is probed or injected');
  const steady = def.steadyState;
  if (steady !== undefined) {
    log(`steady state: ${steady.probes.map((p) => `${p.type} "${p.name}"`).join(', ')}`);
    if (steady.during !== undefined) {
      log(
        `  checked every ${steady.during.intervalMs}ms during the method; abort after ${steady.during.abortOnFailures} failed check(s)`,
      );
    }
  }
  for (const [list, label] of [
    [def.method, 'method'],
    [def.rollbacks, 'rollbacks'],
  ] as const) {
    log(`${label}:`);
    for (const a of list) {
      log(`  - ${a.type} "${a.name}"`);
      (label === 'method' ? journal.method : journal.rollbacks).push(skipped(a, 'dry run'));
    }
  }
}
