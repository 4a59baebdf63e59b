import { type Command, CommanderError } from 'commander';
import type { CliIo } from '../cli.js';

interface InvestigateCommandOptions {
  readonly ingestOnly?: boolean;
  readonly store?: string;
  readonly tz?: string;
  readonly year?: string;
  readonly prometheus?: string;
  readonly from?: string;
  readonly to?: string;
  readonly selector?: readonly string[];
  readonly step?: string;
  readonly json?: boolean;
  readonly around?: string;
  readonly html?: string;
}

const USAGE_EXIT = 2;

function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value];
}

class UsageError extends Error {}

/** `now`, `now-15m`, an ISO time or epoch s/ms/ns → epoch ms. */
function parseWhen(name: string, value: string, parseTime: (v: unknown) => number | undefined): number {
  const rel = /^now(?:\s*-\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d))?$/.exec(value.trim());
  if (rel !== null) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] ?? 'ms'] ?? 1;
    return Date.now() - Number(rel[1] ?? '0') * unit;
  }
  const ms = parseTime(value);
  if (ms === undefined)
    throw new UsageError(
      `${name} ${JSON.stringify(value)}: not a time (ISO 8601, epoch seconds/ms, or now-15m)`,
    );
  return ms;
}

/**
 * `faultline investigate <paths…> [--ingest-only] [--store FILE] [--tz ZONE]
 * [--prometheus URL --from T --to T [--selector S]…] [--json] [--html FILE]`: reads every file (folders
 * recursively) into the store and prints the data-quality report. Exit 0 whatever the data holds;
 * 2 for usage errors (missing path, bad option).
 */
export function registerInvestigateCommand(program: Command, io: CliIo): void {
  program
    .command('investigate')
    .argument(
      '[paths...]',
      'telemetry files or folders (logs, metrics, traces, events; .gz read transparently)',
    )
    .description('read logs, metrics, traces and events around an incident and report on the data')
    .option('--ingest-only', 'stop after reading: print the data-quality report')
    .option('--store <file>', 'keep the store in this DuckDB file (re-running skips unchanged files)')
    .option('--tz <zone>', 'zone for times written without one (UTC, +08:00, Asia/Shanghai)', undefined)
    .option('--year <year>', 'year for text timestamps without one (syslog)')
    .option('--prometheus <url>', 'also pull metrics from this Prometheus-compatible API')
    .option('--from <time>', 'window start for --prometheus (ISO, epoch, now-1h)')
    .option('--to <time>', 'window end for --prometheus (ISO, epoch, now)')
    .option(
      '--selector <selector>',
      'series selector for --prometheus, repeatable (default all series)',
      collect,
    )
    .option('--step <seconds>', 'resolution for --prometheus (default 1)')
    .option('--around <time>', 'analyse the incident around this time (ISO, epoch) instead of finding them')
    .option('--json', 'print the analysis and the data-quality report as JSON')
    .option(
      '--html <file>',
      'also write a self-contained HTML report (charts, cascade, evidence) to this file',
    )
    .action(async (paths: string[], options: InvestigateCommandOptions) => {
      const code = await runInvestigate(paths, options, io);
      if (code !== 0)
        throw new CommanderError(code, 'faultline.investigate.exit', `investigate exit code ${code}`);
    });
}

async function runInvestigate(
  paths: string[],
  options: InvestigateCommandOptions,
  io: CliIo,
): Promise<number> {
  const forensics = await import('@faultline/forensics');
  let investigation: Awaited<ReturnType<typeof forensics.investigate>>;
  let aroundMs: number | undefined;
  try {
    if (paths.length === 0 && options.prometheus === undefined)
      throw new UsageError('give at least one file or folder, or --prometheus with --from and --to');
    let prometheus: import('@faultline/forensics').PrometheusPullOptions | undefined;
    if (options.prometheus !== undefined) {
      if (options.from === undefined || options.to === undefined)
        throw new UsageError('--prometheus needs --from and --to');
      const zone = forensics.parseTimeZone(options.tz ?? 'UTC');
      const parse = (v: unknown) => forensics.parseTime(v, zone);
      const fromMs = parseWhen('--from', options.from, parse);
      const toMs = parseWhen('--to', options.to, parse);
      if (toMs < fromMs) throw new UsageError('--to is before --from');
      if (!/^https?:\/\//.test(options.prometheus))
        throw new UsageError(`--prometheus ${JSON.stringify(options.prometheus)}: not an http(s) URL`);
      const step = options.step === undefined ? undefined : Number(options.step);
      if (step !== undefined && !(step > 0))
        throw new UsageError('--step must be a positive number of seconds');
      prometheus = {
        url: options.prometheus,
        fromMs,
        toMs,
        ...(options.selector === undefined ? {} : { selectors: options.selector }),
        ...(step === undefined ? {} : { stepSeconds: step }),
      };
    } else if (options.from !== undefined || options.to !== undefined || options.selector !== undefined) {
      throw new UsageError('--from, --to and --selector go with --prometheus');
    }
    if (options.html !== undefined && options.ingestOnly === true)
      throw new UsageError('--html needs the analysis: drop --ingest-only');
    if (options.around !== undefined) {
      const zone = forensics.parseTimeZone(options.tz ?? 'UTC');
      aroundMs = parseWhen('--around', options.around, (v) => forensics.parseTime(v, zone));
    }
    const year = options.year === undefined ? undefined : Number(options.year);
    if (year !== undefined && !(Number.isInteger(year) && year >= 1970 && year <= 2200))
      throw new UsageError(`--year ${JSON.stringify(options.year)}: not a year`);
    investigation = await forensics.investigate(paths, {
      ...(options.store === undefined ? {} : { store: options.store }),
      ...(options.tz === undefined ? {} : { tz: options.tz }),
      ...(year === undefined ? {} : { year }),
      ...(prometheus === undefined ? {} : { prometheus }),
    });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    io.err(`faultline investigate: ${message}\n`);
    const usage =
      e instanceof UsageError ||
      (forensics.isForensicsError(e) &&
        (e.code === forensics.ForensicsErrorCode.PathNotFound ||
          e.code === forensics.ForensicsErrorCode.InvalidOption));
    return usage ? USAGE_EXIT : 1;
  }
  const { store, report } = investigation;
  try {
    if (options.ingestOnly === true) {
      io.out(
        options.json === true ? `${JSON.stringify(report, null, 2)}\n` : forensics.formatIngestReport(report),
      );
      return 0;
    }
    const analysis = await forensics.analyze(store, aroundMs === undefined ? {} : { aroundMs });
    if (options.json === true) {
      io.out(`${JSON.stringify({ ...forensics.analysisToJson(analysis), data_quality: report }, null, 2)}\n`);
    } else {
      io.out(forensics.formatIngestReport(report));
      io.out(`\n${forensics.formatAnalysis(analysis)}`);
    }
    if (options.html !== undefined) {
      const { writeFile } = await import('node:fs/promises');
      const { basename, resolve } = await import('node:path');
      const charts = await forensics.incidentCharts(store, analysis);
      const file = resolve(options.html);
      const html = forensics.investigationHtml({
        analysis,
        dataQuality: report,
        charts,
        ...(paths.length === 0 ? {} : { title: paths.map((p) => basename(resolve(p))).join(', ') }),
      });
      try {
        await writeFile(file, html);
      } catch (e) {
        io.err(
          `faultline investigate: cannot write ${file}: ${e instanceof Error ? e.message : String(e)}\n`,
        );
        return 1;
      }
      // stdout holds the JSON with --json: the path goes to stderr then.
      if (options.json === true) io.err(`HTML report: ${file}\n`);
      else io.out(`HTML report: ${file}\n`);
    }
  } finally {
    await store.close();
  }
  return 0;
}
