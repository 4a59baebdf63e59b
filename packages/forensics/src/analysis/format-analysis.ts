/**
 * The terminal report of an analysis: for each incident its window, a timeline of the cascade to
 * the second, and the ranked causes with the evidence behind them (signals with onsets, log lines,
 * traces). Plain text, no colour: it is read in terminals, pasted in tickets and diffed in tests.
 */
import type { Analysis, Cause, Incident } from './analysis-types.js';

export interface FormatAnalysisOptions {
  /** Minutes east of UTC for displayed times; 0 (UTC) by default. */
  readonly utcOffsetMinutes?: number;
  /** Causes shown per incident; default 5. */
  readonly causes?: number;
  /** Timeline entries shown per incident; default 20. */
  readonly timeline?: number;
}

function clock(ms: number, offsetMin: number, withDate = false): string {
  const d = new Date(ms + offsetMin * 60_000).toISOString();
  return withDate ? `${d.slice(0, 10)} ${d.slice(11, 19)}` : d.slice(11, 19);
}

function zone(offsetMin: number): string {
  if (offsetMin === 0) return 'UTC';
  const sign = offsetMin < 0 ? '-' : '+';
  const a = Math.abs(offsetMin);
  return `UTC${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

const oneLine = (s: string, max = 160) => {
  // Control characters would let a log line rewrite the terminal: show them escaped.
  let flat = '';
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    if (ch === '\n') flat += ' ';
    else if (code < 0x20 || code === 0x7f) flat += `\\x${code.toString(16).padStart(2, '0')}`;
    else flat += ch;
  }
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

function formatCause(c: Cause, rank: number, offset: number): string[] {
  const out: string[] = [];
  const where = `${c.instance === null ? c.service : `${c.service} (${c.instance})`}${c.virtual ? ' [uninstrumented, seen from its callers]' : ''}`;
  out.push(`  ${rank}. ${where}  score ${c.score.toFixed(2)}  — ${c.signal}`);
  if (c.mechanism !== null) out.push(`     mechanism: ${c.mechanism}`);
  if (c.explainedBy !== null) out.push(`     partly explained by its dependency ${c.explainedBy}`);
  const line = (e: Cause['evidence'][number]) => {
    const what = e.template === undefined ? e.name : `log template "${oneLine(e.template, 80)}"`;
    return `${clock(e.onsetMs, offset)} ${what} ${e.direction === 'up' ? '↑' : '↓'} ${fmt(e.before)} → ${fmt(e.after)} (${e.z >= 1000 ? '≥1000' : e.z.toFixed(1)} σ, ${e.source})`;
  };
  const shown = c.evidence.slice(0, 4);
  for (const e of shown) out.push(`     ${line(e)}`);
  // what moved first, when the strongest lines above do not already say it
  const first = c.firstMoves.filter((e) => !shown.some((s) => s.signalId === e.signalId));
  if (
    first.length > 0 &&
    (shown.length === 0 || first.some((e) => e.onsetMs < Math.min(...shown.map((s) => s.onsetMs))))
  ) {
    out.push(`     first to move${c.instance === null ? '' : ` (${c.instance})`}:`);
    for (const e of first) out.push(`       ${line(e)}`);
  }
  for (const l of c.logs.slice(0, 2))
    out.push(`     log ${clock(l.timeMs, offset)} ${l.level ?? ''} ${oneLine(l.message)}`);
  if (c.traces.length > 0) out.push(`     traces: ${c.traces.join(', ')}`);
  return out;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  if (a >= 1e6) return x.toExponential(2);
  if (a >= 100) return x.toFixed(0);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

/** The dependency graph in a line or a few: its source, and the inferred edges spelled out. */
function formatCascade(i: Incident): string[] {
  if (i.dependencySource === 'traces')
    return [
      '',
      `  Cascade: ${i.dependencies.length} caller → callee edges from traces (drawn in --html, listed in --json)`,
      ...(i.virtualServices.length === 0
        ? []
        : [
            `  Uninstrumented dependencies (virtual nodes, from their callers' client spans): ${i.virtualServices.map((v) => oneLine(v, 60)).join(', ')}`,
          ]),
    ];
  if (i.dependencySource === 'none') return [];
  const shown = i.dependencies.slice(0, 8).map((d) => {
    const lag = d.lagMs === undefined ? '' : `, ${Math.round(d.lagMs / 1000)} s later`;
    return `  ${oneLine(d.caller, 60)} moved after ${oneLine(d.callee, 60)} (${d.count} pairs of onsets${lag})`;
  });
  return [
    '',
    '  Cascade (no traces in this window: inferred from the order in which services moved, not observed calls)',
    ...shown,
  ];
}

function formatIncident(i: Incident, n: number, options: FormatAnalysisOptions): string[] {
  const offset = options.utcOffsetMinutes ?? 0;
  const out: string[] = [];
  out.push(
    `Incident ${n}: ${clock(i.window.fromMs, offset, true)} – ${clock(i.window.toMs, offset)} ${zone(offset)} (onset ${clock(i.onsetMs, offset)}: ${i.onsetBy.service} ${i.onsetBy.name}, severity ${i.severity.toFixed(1)})`,
  );
  const top = i.causes[0];
  if (top !== undefined)
    out.push(
      `  Most likely cause: ${top.service}${top.instance === null ? '' : ` (instance ${top.instance})`}${top.mechanism === null ? '' : ` — ${top.mechanism}`}`,
    );
  out.push('', '  Timeline');
  for (const t of i.timeline.slice(0, options.timeline ?? 20))
    out.push(`  ${clock(t.timeMs, offset)}  ${t.service}: ${oneLine(t.text)}`);
  if (i.timeline.length > (options.timeline ?? 20))
    out.push(`  … ${i.timeline.length - (options.timeline ?? 20)} more`);
  out.push('', '  Ranked causes');
  i.causes.slice(0, options.causes ?? 5).forEach((c, k) => {
    out.push(...formatCause(c, k + 1, offset));
  });
  out.push(...formatCascade(i));
  return out;
}

/** Why no incident was reported: no signal moved, or there was nothing to read. */
export function noIncident(analysis: Analysis): string {
  const { metric, span, log } = analysis.signals;
  return metric + span + log === 0
    ? 'No incident found: there was no telemetry to analyse (no log, metric or span records read).'
    : 'No incident found: no signal left its baseline.';
}

/**
 * The analysis as terminal text.
 * @example process.stdout.write(formatAnalysis(await analyze(store)))
 */
export function formatAnalysis(analysis: Analysis, options: FormatAnalysisOptions = {}): string {
  if (analysis.incidents.length === 0) return `${noIncident(analysis)}\n`;
  const out: string[] = [];
  analysis.incidents.forEach((i, k) => {
    if (k > 0) out.push('');
    out.push(...formatIncident(i, k + 1, options));
  });
  out.push(
    '',
    `Analysed ${analysis.signals.metric} metric, ${analysis.signals.span} span and ${analysis.signals.log} log signals in ${analysis.durationMs} ms.`,
  );
  return `${out.join('\n')}\n`;
}
