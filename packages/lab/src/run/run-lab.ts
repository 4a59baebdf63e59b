import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LabMode } from '../app/app-config.js';
import { type DbChoice, provisionDatabase } from '../db/provision.js';
import { ComponentGroup } from '../process/component-group.js';
import { labReportHtml, type ReportMode } from '../report/lab-report.js';
import { readRunSeries } from '../report/run-series.js';
import { DEFAULT_SCENARIO, findScenario } from '../scenarios/catalog.js';
import type { LabEvent } from './events-file.js';
import { type ModeSummary, summarizeOutcomes } from './mode-summary.js';
import { DEFAULT_STACK, type ModeProgress, runMode, type StackOptions } from './run-mode.js';

export type LabModeChoice = LabMode | 'compare';

export interface LabOptions {
  /** scenario name or catalogue number; default: the seed's story */
  readonly scenario?: string;
  readonly mode?: LabModeChoice;
  /** seconds per mode; default: the scenario's */
  readonly durationS?: number;
  /** offered load; default: the scenario's */
  readonly rps?: number;
  readonly db?: DbChoice;
  /** the run folder; default `faultline-lab/<time>-<scenario>` under the working directory */
  readonly out?: string;
  /** keep every component's stdout/stderr (`process-output/`) */
  readonly keep?: boolean;
  readonly stack?: Partial<StackOptions>;
  readonly onProgress?: (p: LabProgress) => void;
  readonly signal?: AbortSignal;
}

export type LabProgress =
  | { readonly phase: 'database'; readonly note: string }
  | { readonly phase: 'mode'; readonly progress: ModeProgress }
  | { readonly phase: 'report'; readonly note: string };

/** The figures of one mode in summary.json (per-second figures stay in the report). */
export type ModeFigures = Omit<ModeSummary, 'per_second'>;

/** summary.json */
export interface LabSummary {
  readonly scenario: string;
  readonly title: string;
  readonly database: string;
  readonly rps: number;
  readonly duration_s: number;
  readonly trigger_end_s: number;
  readonly modes: Partial<
    Record<LabMode, ModeFigures & { readonly bundle: string; readonly app_crashes: number }>
  >;
  /** every injection and its clearing, as written to the bundles' events.jsonl */
  readonly ground_truth: readonly (LabEvent & { readonly mode: LabMode })[];
  readonly created_at: string;
}

export interface LabResult {
  readonly runDir: string;
  readonly summary: LabSummary;
  readonly summaryFile: string;
  readonly reportFile: string;
}

/**
 * Runs a scenario on the lab stack in baseline and/or hardened mode and writes the run folder:
 * one telemetry bundle per mode, `summary.json` and `report.html`.
 * @example const { summary } = await runLab({ scenario: 'retry-storm', mode: 'compare' });
 */
export async function runLab(options: LabOptions = {}): Promise<LabResult> {
  const scenario = findScenario(options.scenario ?? DEFAULT_SCENARIO);
  const modes: LabMode[] =
    options.mode === undefined || options.mode === 'compare' ? ['baseline', 'hardened'] : [options.mode];
  const durationS = options.durationS ?? scenario.durationS;
  const rps = options.rps ?? scenario.rps;
  if (!(durationS >= 5 && durationS <= 3600))
    throw new Error(`--duration must be between 5 and 3600 seconds, not ${durationS}`);
  if (!(rps > 0 && rps <= 5000)) throw new Error(`--rps must be between 1 and 5000, not ${rps}`);
  const stack: StackOptions = { ...DEFAULT_STACK, ...options.stack };
  const createdAt = new Date();
  const runDir = resolve(
    options.out ??
      join('faultline-lab', `${createdAt.toISOString().replace(/[:.]/g, '-').slice(0, 19)}-${scenario.name}`),
  );
  mkdirSync(runDir, { recursive: true });
  const processOutput = join(runDir, 'process-output');
  const dbGroup = new ComponentGroup(processOutput);
  mkdirSync(processOutput, { recursive: true });
  options.onProgress?.({ phase: 'database', note: 'starting the database' });
  const db = await provisionDatabase(options.db ?? 'auto', dbGroup);
  try {
    if (scenario.needsRealPostgres === true && db.kind === 'pglite') {
      throw new Error(
        `scenario ${scenario.name} needs a real PostgreSQL server (lock waits between sessions); install PostgreSQL or pass --db postgres://…`,
      );
    }
    options.onProgress?.({ phase: 'database', note: db.description });
    const reportModes: ReportMode[] = [];
    const figures: LabSummary['modes'] = {};
    const truth: (LabEvent & { mode: LabMode })[] = [];
    for (const mode of modes) {
      if (options.signal?.aborted) throw new Error('interrupted');
      const dir = join(runDir, mode);
      const run = await runMode({
        scenario,
        mode,
        dir,
        outcomesFile: join(runDir, `${mode}-requests.jsonl`),
        processOutputDir: join(processOutput, mode),
        db,
        durationS,
        rps,
        stack,
        ...(options.onProgress === undefined
          ? {}
          : { onProgress: (p: ModeProgress) => options.onProgress?.({ phase: 'mode', progress: p }) }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      const summary = await summarizeOutcomes(
        run.outcomesFile,
        run.loadStart,
        durationS,
        Math.min(scenario.triggerEndS, durationS),
        scenario.steps.reduce((first, step) => Math.min(first, step.atS), Number.POSITIVE_INFINITY),
      );
      const { per_second: _perSecond, ...rest } = summary;
      figures[mode] = { ...rest, bundle: mode, app_crashes: run.crashes };
      for (const e of run.groundTruth) truth.push({ ...e, mode });
      reportModes.push({ mode, summary, series: await readRunSeries(dir, run.loadStart) });
    }
    options.onProgress?.({ phase: 'report', note: 'writing summary.json and report.html' });
    const summary: LabSummary = {
      scenario: scenario.name,
      title: scenario.title,
      database: db.description,
      rps,
      duration_s: durationS,
      trigger_end_s: scenario.triggerEndS,
      modes: figures,
      ground_truth: truth,
      created_at: createdAt.toISOString(),
    };
    const summaryFile = join(runDir, 'summary.json');
    writeFileSync(summaryFile, `${JSON.stringify(summary, null, 2)}\n`);
    const reportFile = join(runDir, 'report.html');
    writeFileSync(
      reportFile,
      labReportHtml({
        scenario,
        database: db.description,
        rps,
        durationS,
        triggerEndS: scenario.triggerEndS,
        modes: reportModes,
        createdAt: createdAt.toISOString(),
      }),
    );
    return { runDir, summary, summaryFile, reportFile };
  } finally {
    await db.stop();
    await dbGroup.stopAll();
    if (options.keep !== true) rmSync(processOutput, { recursive: true, force: true });
  }
}
