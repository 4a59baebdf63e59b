import type { FileReport } from './ingest/file-report.js';
import type { IngestReport } from './investigate.js';

function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? '?' : d.toISOString().replace('.000Z', 'Z');
}

function shortPath(path: string, width: number): string {
  return path.length <= width ? path : `…${path.slice(path.length - width + 1)}`;
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function fileLine(f: FileReport, pathWidth: number): string {
  const range = f.timeRange === null ? '-' : `${iso(f.timeRange.fromMs)} … ${iso(f.timeRange.toMs)}`;
  const status = f.skipped !== null ? `skipped: ${f.skipped}` : range;
  return [
    pad(shortPath(f.path, pathWidth), pathWidth),
    pad(f.format, 19),
    pad(String(f.records), 10, true),
    pad(String(f.rejected), 9, true),
    ` ${status}`,
  ].join(' ');
}

/**
 * The data-quality report as a terminal table: one row per file, then rejected lines (quoted,
 * escaped), gzip problems, the readers' notes, clock-offset suspicions and totals. Plain text, no colours.
 */
export function formatIngestReport(report: IngestReport): string {
  const pathWidth = Math.min(60, Math.max(4, ...report.files.map((f) => f.path.length)));
  const out: string[] = [];
  out.push(
    [
      pad('file', pathWidth),
      pad('format', 19),
      pad('records', 10, true),
      pad('rejected', 9, true),
      ' time range (UTC)',
    ].join(' '),
  );
  for (const f of report.files) out.push(fileLine(f, pathWidth));
  const problems = report.files.filter(
    (f) => f.skipped === null && (f.rejected > 0 || f.gzipError !== null || f.invalidUtf8Lines > 0),
  );
  if (problems.length > 0) {
    out.push('', 'problems:');
    for (const f of problems) {
      out.push(`  ${f.path}`);
      for (const [reason, count] of Object.entries(f.rejectReasons))
        out.push(`    ${count} rejected: ${reason}`);
      for (const s of f.samples) out.push(`      line ${s.line}: ${s.text}`);
      if (f.gzipError !== null) out.push(`    gzip error: ${f.gzipError} (kept what was read)`);
      if (f.invalidUtf8Lines > 0)
        out.push(`    ${f.invalidUtf8Lines} lines with invalid UTF-8 (kept, bytes replaced by U+FFFD)`);
    }
  }
  // what the reader decided about a file (a service named after it, the path it took); the gzip
  // note repeats the problem above
  const noted = report.files.filter((f) => f.notes.some((n) => !n.startsWith('gzip')));
  if (noted.length > 0) {
    out.push('', 'notes:');
    for (const f of noted) {
      out.push(`  ${f.path}`);
      for (const n of f.notes) if (!n.startsWith('gzip')) out.push(`    ${n}`);
    }
  }
  if (report.clockSuspicions.length > 0) {
    out.push('', 'clock offset suspicions:');
    for (const c of report.clockSuspicions) out.push(`  ${c.service}: ${c.detail}`);
  }
  const t = report.totals;
  out.push(
    '',
    `${t.files} files (${t.unchanged} unchanged), ${t.records} records read, ${t.rejected} rejected`,
    `store: ${t.logs} logs (${t.templates} templates), ${t.series} series / ${t.samples} samples, ${t.spans} spans, ${t.events} events`,
    `services: ${report.services.length === 0 ? '-' : report.services.join(', ')}`,
    `time range: ${report.timeRange === null ? '-' : `${iso(report.timeRange.fromMs)} … ${iso(report.timeRange.toMs)}`}`,
  );
  return `${out.join('\n')}\n`;
}
