/**
 * The `--html` report of `faultline investigate`: one self-contained page (uPlot inlined, no
 * network request of any kind) with each incident's window, the timeline of the cascade, aligned
 * charts of the key signals with their onsets, the dependency graph, the ranked causes with their
 * evidence, and the data-quality report. Everything that comes from the data is text, never
 * markup: escaped where the page is written, set with textContent where the page script writes it;
 * the Content-Security-Policy only lets the page's own scripts (by hash) run.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Analysis, Cause, Incident } from '../analysis/analysis-types.js';
import { noIncident } from '../analysis/format-analysis.js';
import type { FileReport } from '../ingest/file-report.js';
import type { IngestReport } from '../investigate.js';
import type { IncidentCharts } from './incident-charts.js';

export interface InvestigationHtmlInput {
  readonly analysis: Analysis;
  /** The data-quality report of the ingestion. */
  readonly dataQuality: IngestReport;
  /** Chart series per incident, in the analysis' order (see `incidentCharts`). */
  readonly charts: readonly IncidentCharts[];
  /** Shown in the title; the inputs' names, say. */
  readonly title?: string;
  /** When the report was made (ISO); now by default. */
  readonly createdAt?: string;
}

const require = createRequire(import.meta.url);

/** Text for HTML (element content or a quoted attribute): nothing from the data is ever markup. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
const esc = escapeHtml;

/** JSON that can sit inside a <script> element without ending it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

function clock(ms: number, withDate = false): string {
  const d = new Date(ms).toISOString();
  return withDate ? `${d.slice(0, 10)} ${d.slice(11, 19)}` : d.slice(11, 19);
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  if (a >= 1e6) return x.toExponential(2);
  if (a >= 100) return x.toFixed(0);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

function bytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

const cut = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

// ── dependency graph ────────────────────────────────────────────────────────

const NODE_W = 168;
const NODE_H = 34;
const COL_GAP = 64;
const ROW_GAP = 18;

/** Layers by longest path from the callers nobody calls (cycles cut after n rounds). */
function layers(nodes: readonly string[], edges: Incident['dependencies']): Map<string, number> {
  const depth = new Map(nodes.map((n) => [n, 0]));
  for (let round = 0; round < nodes.length; round++) {
    let changed = false;
    for (const e of edges) {
      if (e.caller === e.callee) continue;
      const d = (depth.get(e.caller) ?? 0) + 1;
      if (d > (depth.get(e.callee) ?? 0) && d < nodes.length) {
        depth.set(e.callee, d);
        changed = true;
      }
    }
    if (!changed) break;
  }
  return depth;
}

/** Red in proportion to a service's share of the best cause's score. */
function anomalyColour(share: number): string {
  const t = Math.max(0, Math.min(1, share));
  const mix = (a: number, b: number) => Math.round(a + (b - a) * t);
  return `rgb(${mix(238, 209)},${mix(242, 73)},${mix(247, 91)})`;
}

function cascadeSvg(incident: Incident, k: number): string {
  const edges = incident.dependencies;
  if (edges.length === 0)
    return '<p class="muted">No dependencies: the input holds no traces linking services, and no services moved in a consistent order.</p>';
  const nodes = [...new Set(edges.flatMap((e) => [e.caller, e.callee]))].sort();
  const depth = layers(nodes, edges);
  const levels = [...new Set(depth.values())].sort((x, y) => x - y);
  const columns = levels.map((l) => nodes.filter((n) => depth.get(n) === l));
  const pos = new Map<string, { x: number; y: number }>();
  columns.forEach((col, c) => {
    col.forEach((n, r) => {
      pos.set(n, { x: 8 + c * (NODE_W + COL_GAP), y: 8 + r * (NODE_H + ROW_GAP) });
    });
  });
  const width = 16 + columns.length * NODE_W + (columns.length - 1) * COL_GAP;
  const height = 16 + Math.max(...columns.map((c) => c.length)) * (NODE_H + ROW_GAP) - ROW_GAP;
  const best = Math.max(...incident.causes.map((c) => c.score), 0);
  const score = new Map(incident.causes.map((c) => [c.service, c.score]));
  const rank = new Map(incident.causes.map((c, i) => [c.service, i + 1]));
  const marker = `arrow-${k}`;
  const inferred = incident.dependencySource === 'co-occurrence';
  const lines = edges.flatMap((e) => {
    const a = pos.get(e.caller);
    const b = pos.get(e.callee);
    if (a === undefined || b === undefined || e.caller === e.callee) return [];
    const forward = b.x > a.x;
    const x1 = forward ? a.x + NODE_W : a.x + NODE_W / 2;
    const y1 = forward ? a.y + NODE_H / 2 : a.y + NODE_H;
    const x2 = forward ? b.x : b.x + NODE_W / 2;
    const y2 = forward ? b.y + NODE_H / 2 : b.y;
    const mx = (x1 + x2) / 2;
    const d = forward
      ? `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`
      : `M${x1},${y1} C${x1 + 40},${(y1 + y2) / 2} ${x2 + 40},${(y1 + y2) / 2} ${x2},${y2}`;
    return [
      `<path d="${d}" class="edge${inferred ? ' inferred' : ''}" marker-end="url(#${marker})"><title>${esc(
        inferred
          ? `${e.caller} moved after ${e.callee} (${e.count} pairs of onsets, median lag ${Math.round((e.lagMs ?? 0) / 1000)} s)`
          : `${e.caller} → ${e.callee}: ${e.count} calls`,
      )}</title></path>`,
    ];
  });
  const boxes = nodes.map((n) => {
    const p = pos.get(n) ?? { x: 0, y: 0 };
    const s = score.get(n);
    const share = s === undefined || !(best > 0) ? 0 : s / best;
    const r = rank.get(n);
    const label = `${r === undefined ? '' : `#${r} `}${cut(n, 22)}`;
    const virtual = incident.virtualServices.includes(n);
    const tip = `${n}${virtual ? ' (uninstrumented: seen from its callers’ client spans)' : ''}${s === undefined ? '' : ` — cause #${r}, score ${s.toFixed(2)}`}`;
    return `<g class="node${virtual ? ' virtual' : ''}"><title>${esc(tip)}</title><rect x="${p.x}" y="${p.y}" width="${NODE_W}" height="${NODE_H}" rx="6" fill="${anomalyColour(share)}"${r === 1 ? ' class="top"' : ''}/><text x="${p.x + NODE_W / 2}" y="${p.y + NODE_H / 2 + 4}" text-anchor="middle"${share > 0.55 ? ' fill="#fff"' : ''}>${esc(label)}</text></g>`;
  });
  return `<svg class="cascade" role="img" aria-label="service dependencies, callers on the left" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">
<defs><marker id="${marker}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#667"/></marker></defs>
${lines.join('\n')}
${boxes.join('\n')}
</svg>
<p class="muted">${
    inferred
      ? 'No traces in this window: edges inferred from the order in which services moved (dashed; a later service drawn as the caller of an earlier one), not observed calls'
      : `Callers on the left, callees to the right (from traces)${
          incident.virtualServices.length > 0
            ? '; dashed boxes: uninstrumented dependencies, seen only through their callers’ client spans'
            : ''
        }`
  }; the redder a service, the higher its score as a cause.</p>`;
}

// ── incidents ───────────────────────────────────────────────────────────────

function causeHtml(c: Cause, rank: number): string {
  const where = c.instance === null ? c.service : `${c.service} (${c.instance})`;
  const row = (e: Cause['evidence'][number]) => {
    const what = e.template === undefined ? e.name : `log template "${cut(e.template, 160)}"`;
    return `<tr><td>${clock(e.onsetMs)}</td><td>${esc(what)}</td><td>${esc(e.source)}</td><td>${esc(e.kind)}</td><td>${e.direction === 'up' ? '↑' : '↓'} ${esc(fmt(e.before))} → ${esc(fmt(e.after))}</td><td>${e.z >= 1000 ? '≥1000' : e.z.toFixed(1)} σ</td></tr>`;
  };
  const evidence = c.evidence.map(row).join('\n');
  const first = c.firstMoves.map(row).join('\n');
  const logs = c.logs
    .map(
      (l) =>
        `<li><span class="t">${clock(l.timeMs)}</span> <span class="lvl">${esc(l.level ?? '')}</span> <code class="logline">${esc(l.message)}</code>${l.traceId === null ? '' : ` <span class="muted">trace ${esc(l.traceId)}</span>`}</li>`,
    )
    .join('\n');
  return `<li class="cause"><h4>${rank}. ${esc(where)}${c.virtual ? ' <span class="muted">(uninstrumented, seen from its callers)</span>' : ''} <span class="score">score ${c.score.toFixed(2)}</span> — ${esc(c.signal)}</h4>
${c.mechanism === null ? '' : `<p><b>Mechanism:</b> ${esc(c.mechanism)}</p>`}
${c.explainedBy === null ? '' : `<p class="muted">Partly explained by its dependency ${esc(c.explainedBy)}.</p>`}
${evidence === '' ? '' : `<table class="evidence"><thead><tr><th>onset</th><th>signal</th><th>source</th><th>kind</th><th>change</th><th>shift</th></tr></thead><tbody>${evidence}</tbody></table>`}
${first === '' ? '' : `<p><b>First to move</b>${c.instance === null ? '' : ` (${esc(c.instance)})`}: its earliest strong signals, in time order</p><table class="evidence"><thead><tr><th>onset</th><th>signal</th><th>source</th><th>kind</th><th>change</th><th>shift</th></tr></thead><tbody>${first}</tbody></table>`}
${logs === '' ? '' : `<p><b>Log lines</b></p><ul class="logs">${logs}</ul>`}
${c.traces.length === 0 ? '' : `<p><b>Traces:</b> ${c.traces.map((t) => `<code>${esc(t)}</code>`).join(', ')}</p>`}
</li>`;
}

function incidentHtml(i: Incident, k: number): string {
  const top = i.causes[0];
  const timeline = i.timeline
    .map((t) => `<tr><td>${clock(t.timeMs)}</td><td>${esc(t.service)}</td><td>${esc(t.text)}</td></tr>`)
    .join('\n');
  return `<section class="incident" id="incident-${k + 1}">
<h2>Incident ${k + 1}: ${clock(i.window.fromMs, true)} – ${clock(i.window.toMs)} UTC</h2>
<p>Onset ${clock(i.onsetMs)} (${esc(i.onsetBy.service)}: ${esc(i.onsetBy.name)}) · severity ${i.severity.toFixed(1)}${top === undefined ? '' : ` · most likely cause: <b>${esc(top.service)}</b>${top.instance === null ? '' : ` (instance ${esc(top.instance)})`}${top.mechanism === null ? '' : ` — ${esc(top.mechanism)}`}`}</p>
<h3>Timeline</h3>
${timeline === '' ? '<p class="muted">No onset strong enough for the timeline.</p>' : `<table class="timeline"><thead><tr><th>time</th><th>service</th><th>what</th></tr></thead><tbody>${timeline}</tbody></table>`}
<h3>Key signals</h3>
<p class="muted">The evidence signals of the top causes over the window (shaded) and a margin; the red line is each signal's onset.</p>
<div class="charts" data-incident="${k}"></div>
<h3>Cascade</h3>
${cascadeSvg(i, k)}
<h3>Ranked causes</h3>
${i.causes.length === 0 ? '<p class="muted">No cause ranked.</p>' : `<ol class="causes">${i.causes.map((c, r) => causeHtml(c, r + 1)).join('\n')}</ol>`}
</section>`;
}

// ── data quality ────────────────────────────────────────────────────────────

function fileHtml(f: FileReport): string {
  const details: string[] = [];
  if (f.skipped !== null) details.push(`<li>${esc(f.skipped)}</li>`);
  for (const [reason, n] of Object.entries(f.rejectReasons))
    details.push(`<li>${n} rejected: ${esc(reason)}</li>`);
  for (const s of f.samples)
    details.push(`<li>line ${s.line} (${esc(s.reason)}): <code>${esc(s.text)}</code></li>`);
  if (f.gzipError !== null) details.push(`<li>gzip: ${esc(f.gzipError)}</li>`);
  if (f.invalidUtf8Lines > 0) details.push(`<li>${f.invalidUtf8Lines} lines with invalid UTF-8</li>`);
  for (const n of f.notes) details.push(`<li>${esc(n)}</li>`);
  const range =
    f.timeRange === null ? '–' : `${clock(f.timeRange.fromMs, true)} – ${clock(f.timeRange.toMs, true)}`;
  return `<tr><td class="path">${esc(f.path)}</td><td>${esc(f.format)}${f.compressed ? ' (gz)' : ''}</td><td>${esc(bytes(f.bytes))}</td><td>${f.records}</td><td>${f.rejected}</td><td>${range}</td><td>${f.services.length}</td></tr>${details.length === 0 ? '' : `\n<tr class="details"><td colspan="7"><ul>${details.join('')}</ul></td></tr>`}`;
}

function dataQualityHtml(r: IngestReport): string {
  const t = r.totals;
  const clocks =
    r.clockSuspicions.length === 0
      ? '<p class="muted">No clock suspicion: logs, spans and metrics agree in time.</p>'
      : `<ul>${r.clockSuspicions.map((c) => `<li>${esc(c.service)}: ${esc(c.kind)}, offset ${Math.round(c.offsetMs)} ms — ${esc(c.detail)}</li>`).join('')}</ul>`;
  return `<section id="data-quality">
<h2>Data quality</h2>
<p>${t.files} files (${t.unchanged} unchanged) · ${t.records} records stored, ${t.rejected} rejected · ${t.logs} log lines (${t.templates} templates), ${t.series} series (${t.samples} samples), ${t.spans} spans, ${t.events} events${r.timeRange === null ? '' : ` · ${clock(r.timeRange.fromMs, true)} – ${clock(r.timeRange.toMs, true)} UTC`} · read in ${r.durationMs} ms</p>
<table class="files"><thead><tr><th>file</th><th>format</th><th>size</th><th>read</th><th>rejected</th><th>time range (UTC)</th><th>services</th></tr></thead>
<tbody>${r.files.map(fileHtml).join('\n')}</tbody></table>
<h3>Clocks</h3>
${clocks}
</section>`;
}

// ── page ────────────────────────────────────────────────────────────────────

/**
 * The report as one HTML page.
 * @example await writeFile('report.html', investigationHtml({ analysis, dataQuality: report, charts }));
 */
export function investigationHtml(input: InvestigationHtmlInput): string {
  const uplotJs = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
  const uplotCss = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
  const { analysis } = input;
  const data = input.charts.map((c, k) => {
    const w = analysis.incidents[k]?.window;
    return {
      fromS: c.fromMs / 1000,
      toS: c.toMs / 1000,
      window: w === undefined ? null : [w.fromMs / 1000, w.toMs / 1000],
      series: c.series.map((s) => ({
        title: `${s.service} · ${s.name}`,
        detail: `${s.source}, ${s.kind}, step ${s.stepMs / 1000} s · onset ${clock(s.onsetMs)} ${s.direction === 'up' ? '↑' : '↓'} ${s.z >= 1000 ? '≥1000' : s.z.toFixed(1)} σ`,
        onsetS: s.onsetMs / 1000,
        t: s.timesMs.map((x) => x / 1000),
        v: s.values,
      })),
    };
  });
  const title = `faultline investigate${input.title === undefined ? '' : ` — ${input.title}`}`;
  const body =
    analysis.incidents.length === 0
      ? `<p>${esc(noIncident(analysis))}</p>`
      : analysis.incidents.map(incidentHtml).join('\n');
  const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src ${sha256(uplotJs)} ${sha256(CHART_SCRIPT)}; img-src data:`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">
<meta name="referrer" content="no-referrer">
<title>${esc(title)}</title>
<style>${uplotCss}
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2330;max-width:1400px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #dde}h3{font-size:15px;margin:20px 0 6px}h4{font-size:14px;margin:10px 0 4px}
table{border-collapse:collapse;margin:4px 0}td,th{padding:3px 10px;border-bottom:1px solid #e4e6ee;text-align:left;vertical-align:top}
.muted{color:#667}.score{color:#b00020;font-weight:600}code{font:12px ui-monospace,monospace;background:#f3f4f8;padding:1px 4px;border-radius:3px;white-space:pre-wrap;word-break:break-all}
ul.logs{list-style:none;padding-left:8px}ul.logs li{margin:2px 0}.t{font-family:ui-monospace,monospace}.lvl{font-weight:600}
.chart{margin:6px 0 12px}.chart .title{font-size:13px;font-weight:600}.chart .detail{font-size:12px;color:#667}
svg.cascade{font:12px system-ui,sans-serif;overflow:visible}svg .edge{fill:none;stroke:#99a;stroke-width:1.5}svg .edge.inferred{stroke-dasharray:5 4}svg rect{stroke:#556}svg .virtual rect{stroke-dasharray:4 3}svg rect.top{stroke:#b00020;stroke-width:2.5}
tr.details td{border-bottom:1px solid #ccd;font-size:12px}tr.details ul{margin:0;padding-left:18px}td.path{word-break:break-all}
</style></head><body>
<h1>${esc(title)}</h1>
<p class="muted">Made ${esc(input.createdAt ?? new Date().toISOString())} · times in UTC · ${analysis.incidents.length} incident(s) · ${analysis.signals.metric} metric, ${analysis.signals.span} span and ${analysis.signals.log} log signals analysed in ${analysis.durationMs} ms</p>
${body}
${dataQualityHtml(input.dataQuality)}
<script id="chart-data" type="application/json">${scriptJson(data)}</script>
<script>${uplotJs}</script>
<script>${CHART_SCRIPT}</script>
</body></html>
`;
}

// Runs in the page: one chart per key signal, all on the same time range with a shared cursor,
// the window shaded and the onset marked. Text goes in with textContent only.
const CHART_SCRIPT = `
(function(){
var data = JSON.parse(document.getElementById('chart-data').textContent);
function utc(ts){ return uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'); }
function marks(inc, onsetS){
  return { hooks: { drawClear: function(u){
    if (!inc.window) return;
    var ctx = u.ctx, a = u.valToPos(inc.window[0], 'x', true), b = u.valToPos(inc.window[1], 'x', true);
    ctx.save(); ctx.fillStyle = 'rgba(237,174,73,0.15)';
    ctx.fillRect(a, u.bbox.top, b - a, u.bbox.height); ctx.restore();
  }, draw: function(u){
    var ctx = u.ctx, x = u.valToPos(onsetS, 'x', true);
    ctx.save(); ctx.strokeStyle = '#b00020'; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
    ctx.restore();
  } } };
}
var boxes = document.querySelectorAll('.charts');
for (var b = 0; b < boxes.length; b++) {
  var box = boxes[b], inc = data[Number(box.getAttribute('data-incident'))];
  if (!inc || inc.series.length === 0) {
    var none = document.createElement('p'); none.className = 'muted';
    none.textContent = 'No signal to plot.'; box.appendChild(none); continue;
  }
  inc.series.forEach(function(s){
    var cell = document.createElement('div'); cell.className = 'chart'; box.appendChild(cell);
    var t = document.createElement('div'); t.className = 'title'; t.textContent = s.title; cell.appendChild(t);
    var d = document.createElement('div'); d.className = 'detail'; d.textContent = s.detail; cell.appendChild(d);
    new uPlot({
      width: Math.max(360, box.clientWidth || 900), height: 150, tzDate: utc,
      cursor: { sync: { key: 'incident-' + b } },
      legend: { show: false },
      axes: [{ values: function(u, splits){ return splits.map(function(v){ return new Date(v * 1e3).toISOString().slice(11, 19); }); } }, {}],
      scales: { x: { time: true, range: [inc.fromS, inc.toS] } },
      series: [{}, { label: s.title, stroke: '#2e86ab', width: 1.5, spanGaps: false }],
      plugins: [marks(inc, s.onsetS)]
    }, [s.t, s.v], cell);
  });
}
})();
`;
