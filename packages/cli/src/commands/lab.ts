// the lab (pg, prom-client, PGlite…) and listr2 load only when `lab` runs: other commands start fast
import type { LabModeChoice, LabProgress, LabSummary } from '@faultline/lab';
import { type Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { DefaultRenderer, Listr, ListrTaskWrapper, SimpleRenderer } from 'listr2';

type Task = ListrTaskWrapper<unknown, typeof DefaultRenderer | typeof SimpleRenderer, typeof SimpleRenderer>;

import type { CliIo } from '../cli.js';
import { formatScores, scoreRecordings } from './lab-forensics.js';

interface LabCommandOptions {
  readonly scenario?: string;
  readonly mode: LabModeChoice;
  readonly duration?: number;
  readonly rate?: number;
  readonly db: string;
  readonly out?: string;
  readonly keep?: boolean;
  readonly list?: boolean;
}

function positive(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** The comparison table printed at the end of a run. */
export function comparisonTable(summary: LabSummary): string {
  const head = ['mode', 'availability', 'goodput', 'p50', 'p99', 'attempts/req', 'recovery', 'recovered'];
  const rows = Object.entries(summary.modes).map(([mode, m]) => [
    mode,
    pct(m.availability),
    `${m.goodput_rps.toFixed(1)}/s`,
    `${m.p50_ms.toFixed(0)} ms`,
    `${m.p99_ms.toFixed(0)} ms`,
    m.attempts_per_request.toFixed(2),
    m.recovery_s === null ? '—' : `${m.recovery_s} s`,
    m.recovered ? 'yes' : 'no',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

/** Below this availability before the first step, a mode's stack was failing before any fault. */
const PRE_TRIGGER_FLOOR = 0.95;

/**
 * A warning per mode whose stack was already failing before the scenario's first step: the offered
 * load is past what the stack serves on this machine, so the recording shows that overload (and
 * its investigation names it) rather than the scenario.
 */
export function overloadWarnings(summary: LabSummary): string[] {
  return Object.entries(summary.modes).flatMap(([mode, m]) =>
    m.pre_trigger_availability !== null && m.pre_trigger_availability < PRE_TRIGGER_FLOOR
      ? [
          `warning: the ${mode} stack was already failing before the scenario's first step (availability ${pct(m.pre_trigger_availability)} until then): ${summary.rps} req/s is more than it serves on this machine, so this recording shows that overload rather than the scenario. Try a lower --rate.`,
        ]
      : [],
  );
}

/** Progress as listr2 tasks: one per phase, the live figures as the task's output. */
function progressTasks(ListrClass: typeof Listr, modes: readonly string[], tty: boolean) {
  const phases = ['database', ...modes, 'report'];
  const waits = new Map<
    string,
    { resolve: () => void; reject: (e: Error) => void; promise: Promise<void> }
  >();
  for (const p of phases) {
    let resolve = () => {};
    let reject: (e: Error) => void = () => {};
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => {});
    waits.set(p, { resolve, reject, promise });
  }
  const tasks = new Map<string, Task>();
  let current = 'database';
  let lastPlain = 0;
  const enter = (phase: string) => {
    if (phase === current) return;
    for (const p of phases.slice(0, phases.indexOf(phase))) waits.get(p)?.resolve();
    current = phase;
  };
  const list = new ListrClass(
    phases.map((p) => ({
      title: p === 'database' ? 'database' : p === 'report' ? 'summary and report' : `${p} run`,
      task: async (_: unknown, task: Task) => {
        tasks.set(p, task);
        await waits.get(p)?.promise;
      },
    })),
    // the lab handles Ctrl-C itself (it must stop every process first); listr2 would exit at once
    {
      concurrent: false,
      exitOnError: true,
      registerSignalListeners: false,
      renderer: tty ? 'default' : 'simple',
      fallbackRenderer: 'simple',
    },
  );
  const onProgress = (p: LabProgress) => {
    if (p.phase === 'mode') {
      enter(p.progress.mode);
      const a = Number.isNaN(p.progress.availability) ? '—' : pct(p.progress.availability);
      const text = `${p.progress.phase} ${Math.round(p.progress.elapsedS)}/${p.progress.durationS} s · availability (last second) ${a}${p.progress.note === undefined ? '' : ` · ${p.progress.note}`}`;
      const now = Date.now();
      if (tty || now - lastPlain >= 5000 || p.progress.phase !== 'running') {
        lastPlain = now;
        const task = tasks.get(p.progress.mode);
        if (task !== undefined) task.output = text;
      }
      return;
    }
    enter(p.phase);
    const task = tasks.get(p.phase);
    if (task !== undefined) task.output = p.note;
  };
  /** Ends the display: every phase done, or the current one failed with `error`. */
  const finish = (error?: Error) => {
    if (error !== undefined) {
      waits.get(current)?.reject(error);
      return;
    }
    for (const w of waits.values()) w.resolve();
  };
  return { list, onProgress, finish };
}

/**
 * Adds `faultline lab`: builds the HA stack on loopback, runs a scenario baseline and/or hardened,
 * prints the comparison and writes the run folder.
 */
export function registerLabCommand(program: Command, io: CliIo): Command {
  return program
    .command('lab')
    .description('reproduce a cascading failure on a real HA stack on loopback, baseline beside hardened')
    .option('--scenario <name>', "scenario to run (see --list); default: the seed's leak cascade")
    .addOption(
      new Option('--mode <mode>', 'baseline, hardened or both')
        .choices(['baseline', 'hardened', 'compare'])
        .default('compare'),
    )
    .option('--duration <s>', "seconds per mode (default: the scenario's)", positive('--duration'))
    .option(
      '--rate <rps>',
      "offered load in requests per second (default: the scenario's)",
      positive('--rate'),
    )
    .option('--rps <rps>', 'same as --rate', positive('--rps'))
    .option(
      '--db <db>',
      'auto (temporary PostgreSQL if installed, else embedded PGlite), postgres, pglite, or a postgres:// URL',
      'auto',
    )
    .option('--out <dir>', 'run folder (default: faultline-lab/<time>-<scenario>)')
    .option('--keep', "keep every component's stdout/stderr in the run folder")
    .option('--list', 'list the scenarios and exit')
    .action(async (options: LabCommandOptions & { rps?: number }) => {
      const { findScenario, parseDbChoice, runLab, scenarios } = await import('@faultline/lab');
      if (options.list === true) {
        for (const s of scenarios)
          io.out(`${s.name.padEnd(20)} #${s.catalogue}  ${s.title}\n${' '.repeat(26)}${s.description}\n`);
        return;
      }
      const db = parseDbChoice(options.db);
      // a wrong name is reported before anything starts
      if (options.scenario !== undefined) findScenario(options.scenario);
      const modes = options.mode === 'compare' ? ['baseline', 'hardened'] : [options.mode];
      const tty = process.stdout.isTTY === true;
      const { Listr } = await import('listr2');
      const progress = progressTasks(Listr, modes, tty);
      const controller = new AbortController();
      let interrupts = 0;
      const onSignal = () => {
        interrupts++;
        controller.abort();
        if (interrupts > 1) process.exit(130);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const shown = progress.list.run().catch(() => {});
      try {
        const result = await runLab({
          mode: options.mode,
          db,
          onProgress: progress.onProgress,
          signal: controller.signal,
          ...(options.scenario === undefined ? {} : { scenario: options.scenario }),
          ...(options.duration === undefined ? {} : { durationS: options.duration }),
          ...((options.rate ?? options.rps) === undefined ? {} : { rps: options.rate ?? options.rps }),
          ...(options.out === undefined ? {} : { out: options.out }),
          ...(options.keep === true ? { keep: true } : {}),
        });
        progress.finish();
        await shown;
        io.out(
          `\n${result.summary.title} — ${result.summary.rps} req/s, ${result.summary.duration_s} s per mode, ${result.summary.database}\n\n`,
        );
        io.out(`${comparisonTable(result.summary)}\n\n`);
        for (const warning of overloadWarnings(result.summary)) io.out(`${warning}\n\n`);
        // the lab explains its own recording: the forensics engine reads each bundle blind
        try {
          io.out(`${formatScores(await scoreRecordings(result.runDir, result.summary))}\n\n`);
        } catch (e) {
          io.err(
            `faultline lab: investigating the recording failed: ${e instanceof Error ? e.message : String(e)}\n`,
          );
        }
        io.out(
          `run folder: ${result.runDir}\n  summary: ${result.summaryFile}\n  report:  ${result.reportFile}\n`,
        );
      } catch (e) {
        progress.finish(
          controller.signal.aborted
            ? new Error('interrupted')
            : e instanceof Error
              ? e
              : new Error(String(e)),
        );
        await shown;
        if (controller.signal.aborted) {
          io.err('faultline lab: interrupted; every process stopped\n');
          throw new CommanderError(130, 'faultline.lab.interrupted', 'interrupted');
        }
        throw e;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
