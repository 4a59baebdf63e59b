import { serviceOfLabels } from '../store/store-schema.js';
import { type LeadingTimestampOptions, parseLeadingTimestamp } from '../time/leading-timestamp.js';
import { parseTime } from '../time/parse-time.js';
import type { TimeZone } from '../time/time-zone.js';
import { TIME_COLUMN } from './detect-format.js';
import type { FileReportBuilder } from './file-report.js';
import type { LogRow, TelemetrySink } from './telemetry-rows.js';

/** A line-at-a-time reader: `line` for each line, `end` once after the last. */
export interface LineHandler {
  line(text: string, lineNo: number): void;
  end(): void;
}

export interface TextContext {
  readonly sink: TelemetrySink;
  readonly report: FileReportBuilder;
  readonly zone: TimeZone;
}

const LEVEL_TOKEN =
  /(?:^|[\s[<(|])(TRACE|DEBUG|INFO|NOTICE|WARN(?:ING)?|ERROR|ERR|FATAL|CRIT(?:ICAL)?|SEVERE|EMERG|Trace|Debug|Info|Notice|Warn(?:ing)?|Error|Fatal|Critical|trace|debug|info|notice|warn(?:ing)?|error|fatal|crit)(?=[\s\]>):|,]|$)/;
const LEVELS: Readonly<Record<string, string>> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  severe: 'error',
  fatal: 'fatal',
  crit: 'fatal',
  critical: 'fatal',
  emerg: 'fatal',
};

/** The level word near the start of a text log message, if any. */
export function textLevel(rest: string): string | null {
  const m = LEVEL_TOKEN.exec(rest.length > 80 ? rest.slice(0, 80) : rest);
  return m === null ? null : (LEVELS[m[1]!.toLowerCase()] ?? null);
}

const MAX_MESSAGE = 64 * 1024;

/**
 * The header syslog writes after its timestamp: `host program[pid]: ` (RFC 3164 and rsyslog's
 * default; journald's short output; `program` may carry a facility, as `sshd(pam_unix)`).
 */
const SYSLOG_HEADER = /^([A-Za-z0-9][\w.:-]{0,252}) ([A-Za-z_][\w./()@-]{0,63}?)(?:\[(\d{1,10})\])?: /;
/** Timestamps syslog writes: `Dec 10 06:55:46`, or RFC 3339 with a zone (rsyslog's high precision). */
const SYSLOG_STAMP =
  /^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d |\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d) )/;

/** Who wrote a syslog-style line: the program as the service, the host as the instance. */
export interface SyslogHeader {
  readonly host: string;
  readonly program: string;
  readonly pid: number | undefined;
  /** The message after the header. */
  readonly message: string;
}

/**
 * The `host program[pid]: ` header of a line whose timestamp (`line`'s start) was removed to give
 * `rest`. Taken when the line carries a pid, or its timestamp is one syslog writes; never when the
 * first word is a level (`INFO executor.Backend: …` is a level and a logger, not a host).
 */
export function syslogHeader(line: string, rest: string): SyslogHeader | undefined {
  const m = SYSLOG_HEADER.exec(rest);
  if (m === null) return undefined;
  const host = m[1] as string;
  const program = m[2] as string;
  if (LEVELS[host.toLowerCase()] !== undefined || LEVELS[program.toLowerCase()] !== undefined)
    return undefined;
  if (m[3] === undefined && !SYSLOG_STAMP.test(line)) return undefined;
  return {
    host,
    program,
    pid: m[3] === undefined ? undefined : Number(m[3]),
    message: rest.slice(m[0].length),
  };
}

/**
 * Plain-text log lines with a leading timestamp. Lines without one continue the previous record
 * (stack traces); before the first record they are rejected.
 */
export function textLogReader(ctx: TextContext, options: LeadingTimestampOptions = {}): LineHandler {
  let pending:
    | {
        timeMs: number;
        level: string | null;
        message: string;
        line: number;
        header: SyslogHeader | undefined;
      }
    | undefined;
  const stampOptions = { ...options, zone: ctx.zone };
  const flush = (): void => {
    if (pending === undefined) return;
    const header = pending.header;
    const row: LogRow = {
      timeMs: pending.timeMs,
      service: header?.program ?? null,
      instance: header?.host ?? null,
      level: pending.level,
      message: pending.message,
      requestId: null,
      traceId: null,
      spanId: null,
      attrs: header?.pid === undefined ? null : `{"pid":${header.pid}}`,
      line: pending.line,
    };
    ctx.sink.log(row);
    ctx.report.accept(row.timeMs, row.service);
    pending = undefined;
  };
  return {
    line(text, lineNo) {
      if (text.trim() === '') return;
      const stamp = parseLeadingTimestamp(text, stampOptions);
      if (stamp !== undefined) {
        flush();
        const header = syslogHeader(text, stamp.rest);
        const message = header?.message ?? stamp.rest;
        pending = { timeMs: stamp.timeMs, level: textLevel(message), message, line: lineNo, header };
      } else if (pending !== undefined) {
        if (pending.message.length < MAX_MESSAGE)
          pending.message = `${pending.message}\n${text}`.slice(0, MAX_MESSAGE);
      } else {
        ctx.report.reject(lineNo, 'no leading timestamp', text);
      }
    },
    end: flush,
  };
}

/** Splits `name{a="x",b="y"}` label text (escapes `\"`, `\\`, `\n` honoured). */
export function parseLabels(text: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (text[i] === ' ' || text[i] === ',')) i++;
    if (i >= n) break;
    const eq = text.indexOf('=', i);
    if (eq < 0) return undefined;
    const key = text.slice(i, eq).trim();
    if (text[eq + 1] !== '"' || key === '') return undefined;
    let j = eq + 2;
    let value = '';
    while (j < n && text[j] !== '"') {
      if (text[j] === '\\' && j + 1 < n) {
        const c = text[j + 1];
        value += c === 'n' ? '\n' : c;
        j += 2;
      } else value += text[j++];
    }
    if (j >= n) return undefined;
    labels[key] = value;
    i = j + 1;
  }
  return labels;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+(-?\d+(?:\.\d+)?))?\s*$/;

/** Prometheus / OpenMetrics text exposition with sample timestamps (ms or s, by magnitude). */
export function prometheusTextReader(ctx: TextContext): LineHandler {
  const ids = new Map<string, number>();
  let ended = false;
  return {
    line(text, lineNo) {
      const t = text.trim();
      if (t === '' || ended) return;
      if (t.startsWith('#')) {
        if (/^#\s*EOF\b/.test(t)) ended = true;
        return;
      }
      const m = SAMPLE.exec(t);
      if (m === null) {
        ctx.report.reject(lineNo, 'not a metric sample line', text);
        return;
      }
      const labels = m[2] === undefined || m[2] === '' ? {} : parseLabels(m[2]);
      if (labels === undefined) {
        ctx.report.reject(lineNo, 'malformed labels', text);
        return;
      }
      if (m[4] === undefined) {
        ctx.report.reject(lineNo, 'sample without timestamp', text);
        return;
      }
      const timeMs = parseTime(Number(m[4]), ctx.zone);
      const value = Number(m[3]);
      if (timeMs === undefined || Number.isNaN(value)) {
        ctx.report.reject(
          lineNo,
          timeMs === undefined ? 'timestamp is not a time' : 'value is not a number',
          text,
        );
        return;
      }
      const keyText = `${m[1]}{${m[2] ?? ''}}`;
      let id = ids.get(keyText);
      if (id === undefined) {
        id = ctx.sink.series({ name: m[1]!, labels });
        if (ids.size < 100_000) ids.set(keyText, id);
      }
      ctx.sink.sample(id, timeMs, value);
      ctx.report.accept(timeMs, serviceOfLabels(labels));
    },
    end() {},
  };
}

/** One CSV row's cells (double quotes and `""` escapes; no multi-line cells). */
export function splitCsv(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const cells: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      cells.push(cur);
      cur = '';
    } else cur += c;
  }
  cells.push(cur);
  return cells;
}

const NAME_COLUMN = /^(metric|name|__name__)$/i;

/**
 * CSV with a header and a time column. Wide: every numeric column is a series named by its header,
 * text columns are labels. Long: a `metric`/`name` column names the series and `value` holds it.
 */
export function csvMetricsReader(ctx: TextContext): LineHandler {
  let header: string[] | undefined;
  let timeIdx = -1;
  let nameIdx = -1;
  let valueIdx = -1;
  const ids = new Map<string, number>();
  const idOf = (name: string, labels: Record<string, string>): number => {
    const key = `${name}\u0000${JSON.stringify(labels)}`;
    let id = ids.get(key);
    if (id === undefined) {
      id = ctx.sink.series({ name, labels });
      if (ids.size < 100_000) ids.set(key, id);
    }
    return id;
  };
  return {
    line(text, lineNo) {
      if (text.trim() === '') return;
      const cells = splitCsv(text).map((c) => c.trim());
      if (header === undefined) {
        header = cells;
        timeIdx = cells.findIndex((c) => TIME_COLUMN.test(c));
        if (timeIdx < 0) timeIdx = 0;
        nameIdx = cells.findIndex((c) => NAME_COLUMN.test(c));
        valueIdx = cells.findIndex((c) => /^value$/i.test(c));
        return;
      }
      const timeMs = parseTime(cells[timeIdx] ?? '', ctx.zone);
      if (timeMs === undefined) {
        ctx.report.reject(lineNo, `"${header[timeIdx]}" is not a time`, text);
        return;
      }
      const labels: Record<string, string> = {};
      const numeric: [number, number][] = [];
      for (let i = 0; i < cells.length; i++) {
        if (i === timeIdx || i === nameIdx) continue;
        const cell = cells[i]!;
        if (cell === '') continue;
        const v = Number(cell);
        if (Number.isFinite(v) || /^[+-]?(inf|nan)/i.test(cell)) numeric.push([i, v]);
        else labels[header[i] ?? `col${i}`] = cell;
      }
      let stored = 0;
      if (nameIdx >= 0 && valueIdx >= 0) {
        const v = Number(cells[valueIdx]);
        if (!Number.isNaN(v)) {
          ctx.sink.sample(idOf(cells[nameIdx] || 'value', labels), timeMs, v);
          stored++;
        }
      } else {
        for (const [i, v] of numeric) {
          if (Number.isNaN(v)) continue;
          ctx.sink.sample(idOf(header[i] ?? `col${i}`, labels), timeMs, v);
          stored++;
        }
      }
      if (stored === 0) ctx.report.reject(lineNo, 'no numeric value', text);
      for (let k = 0; k < stored; k++) ctx.report.accept(timeMs, serviceOfLabels(labels));
    },
    end() {},
  };
}
