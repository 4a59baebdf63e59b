import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ModeSummary } from '../run/mode-summary.js';
import type { RunSeries } from './run-series.js';

/** What one mode contributes to the report. */
export interface ReportMode {
  readonly mode: string;
  readonly summary: ModeSummary;
  readonly series: RunSeries;
}

export interface LabReportInput {
  readonly scenario: {
    readonly name: string;
    readonly title: string;
    readonly description: string;
    readonly catalogue: number;
  };
  readonly database: string;
  readonly rps: number;
  readonly durationS: number;
  readonly triggerEndS: number;
  readonly modes: readonly ReportMode[];
  readonly createdAt: string;
}

const require = createRequire(import.meta.url);

/** Text for HTML: nothing from a run is ever markup. */
function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that can sit inside a <script> element without ending it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/**
 * A self-contained HTML page comparing the modes: the figures, then aligned time-series charts
 * (client availability, pools, heap, event-loop delay, healthy backends) with injections and
 * ejections marked. uPlot is inlined; the page makes no network request.
 */
export function labReportHtml(input: LabReportInput): string {
  const uplotJs = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
  const uplotCss = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
  const rows = input.modes
    .map(
      (
        m,
      ) => `<tr><th>${esc(m.mode)}</th><td>${pct(m.summary.availability)}</td><td>${m.summary.goodput_rps.toFixed(1)}</td>
<td>${m.summary.p50_ms.toFixed(0)}</td><td>${m.summary.p99_ms.toFixed(0)}</td><td>${m.summary.attempts_per_request.toFixed(2)}</td>
<td>${m.summary.recovery_s === null ? '—' : `${m.summary.recovery_s} s`}</td><td>${m.summary.recovered ? 'yes' : 'no'}</td>
<td>${m.summary.seconds_below_90}</td><td>${pct(m.summary.degraded_share)}</td></tr>`,
    )
    .join('\n');
  const data = {
    durationS: input.durationS,
    triggerEndS: input.triggerEndS,
    modes: input.modes.map((m) => ({
      mode: m.mode,
      availability: m.summary.per_second.map((p) => [p.s + 0.5, p.availability * 100]),
      p99: m.summary.per_second.map((p) => [p.s + 0.5, p.p99_ms]),
      attempts: m.summary.per_second.map((p) => [p.s + 0.5, p.attempts]),
      series: m.series,
    })),
  };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>faultline lab — ${esc(input.scenario.name)}</title>
<style>${uplotCss}
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2330;max-width:1500px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #dde;text-align:right}th:first-child{text-align:left}
.grid{display:grid;grid-template-columns:repeat(${input.modes.length},minmax(0,1fr));gap:16px}
.chart h3{font-size:13px;margin:6px 0;font-weight:600}.muted{color:#667}
ul.markers{font-size:12px;columns:2;padding-left:18px}
</style></head><body>
<h1>faultline lab: ${esc(input.scenario.title)}</h1>
<p class="muted">scenario <b>${esc(input.scenario.name)}</b> (catalogue ${input.scenario.catalogue}) · ${input.rps} requests/s offered · ${input.durationS} s per mode · trigger over at ${input.triggerEndS} s · database: ${esc(input.database)} · ${esc(input.createdAt)}</p>
<p>${esc(input.scenario.description)}</p>
<h2>Figures</h2>
<table><thead><tr><th>mode</th><th>availability</th><th>goodput (req/s)</th><th>p50 ms</th><th>p99 ms</th><th>attempts / request</th><th>recovery</th><th>recovered</th><th>seconds &lt; 90 %</th><th>degraded answers</th></tr></thead>
<tbody>${rows}</tbody></table>
<p class="muted">Availability: logical requests that succeeded within the client's deadline. Recovery: seconds from the end of the trigger until availability stayed ≥ 95 % for 5 s.</p>
<div id="charts"></div>
<script id="lab-data" type="application/json">${scriptJson(data)}</script>
<script>${uplotJs}</script>
<script>${CHART_SCRIPT}</script>
</body></html>
`;
}

// Runs in the page: builds one row of charts per signal, one column per mode, markers as lines.
const CHART_SCRIPT = `
(function(){
var data = JSON.parse(document.getElementById('lab-data').textContent);
var root = document.getElementById('charts');
var colors = ['#d1495b','#2e86ab','#66a182','#edae49','#8d6a9f','#00798c'];
var rows = [
  ['Client availability per second (%)', function(m){ return [{label:'availability', points:m.availability}]; }],
  ['Client p99 latency per second (ms)', function(m){ return [{label:'p99', points:m.p99}]; }],
  ['Attempts per logical request', function(m){ return [{label:'attempts', points:m.attempts}]; }],
  ['DB pool connections in use', function(m){ return m.series.poolInUse; }],
  ['DB pool waiters', function(m){ return m.series.poolWaiting; }],
  ['Heap used (MB)', function(m){ return m.series.heapMb; }],
  ['Event-loop delay p99 (ms)', function(m){ return m.series.loopP99Ms; }],
  ['Healthy backends (load balancer)', function(m){ return m.series.healthyBackends; }]
];
function align(lines){
  var xs = {}; lines.forEach(function(l){ l.points.forEach(function(p){ xs[p[0]] = 1; }); });
  var x = Object.keys(xs).map(Number).sort(function(a,b){return a-b;});
  var out = [x];
  lines.forEach(function(l){ var m = {}; l.points.forEach(function(p){ m[p[0]] = p[1]; }); out.push(x.map(function(v){ return v in m ? m[v] : null; })); });
  return out;
}
function markerPlugin(markers){
  return { hooks: { draw: function(u){
    var ctx = u.ctx; ctx.save();
    markers.forEach(function(mk){
      var x = u.valToPos(mk.s, 'x', true);
      ctx.strokeStyle = mk.kind.indexOf('fault.') === 0 ? '#b00020' : (mk.kind === 'process.crash' ? '#000' : '#999');
      ctx.setLineDash(mk.kind.indexOf('fault.') === 0 ? [] : [4,4]);
      ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
    });
    ctx.restore();
  } } };
}
rows.forEach(function(row){
  var h = document.createElement('h2'); h.textContent = row[0]; root.appendChild(h);
  var grid = document.createElement('div'); grid.className = 'grid'; root.appendChild(grid);
  data.modes.forEach(function(m){
    var cell = document.createElement('div'); cell.className = 'chart'; grid.appendChild(cell);
    var t = document.createElement('h3'); t.textContent = m.mode; cell.appendChild(t);
    var lines = row[1](m);
    if (!lines || lines.length === 0) { var p = document.createElement('p'); p.className='muted'; p.textContent = 'no data'; cell.appendChild(p); return; }
    var series = [{ label: 's' }].concat(lines.map(function(l, i){ return { label: l.label, stroke: colors[i % colors.length], width: 1.5, spanGaps: false }; }));
    new uPlot({ width: Math.max(320, Math.floor((root.clientWidth - 16 * (data.modes.length - 1)) / data.modes.length)), height: 190,
      scales: { x: { time: false, range: [0, data.durationS] } }, series: series, plugins: [markerPlugin(m.series.markers)],
      axes: [{ label: 'seconds since load start' }, {}] }, align(lines), cell);
  });
});
var h = document.createElement('h2'); h.textContent = 'Events (injections red, ejections grey dashed, crashes black)'; root.appendChild(h);
var grid = document.createElement('div'); grid.className = 'grid'; root.appendChild(grid);
data.modes.forEach(function(m){
  var cell = document.createElement('div'); grid.appendChild(cell);
  var t = document.createElement('h3'); t.textContent = m.mode; cell.appendChild(t);
  var ul = document.createElement('ul'); ul.className = 'markers'; cell.appendChild(ul);
  m.series.markers.forEach(function(mk){ var li = document.createElement('li'); li.textContent = mk.s.toFixed(1) + ' s  ' + mk.label; ul.appendChild(li); });
});
})();
`;
