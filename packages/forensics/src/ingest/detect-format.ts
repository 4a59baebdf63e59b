import { parseLeadingTimestamp } from '../time/leading-timestamp.js';
import { parseTime } from '../time/parse-time.js';
import { isObject, looksLikeEvent, looksLikeLog } from './json-fields.js';

/** The formats of the telemetry bundle (docs/forensics.md). */
export type TelemetryFormat =
  | 'json-logs'
  | 'text-logs'
  | 'events'
  | 'prometheus-range'
  | 'prometheus-response'
  | 'prometheus-text'
  | 'csv-metrics'
  | 'otlp-traces'
  | 'otlp-logs'
  | 'jaeger-traces'
  | 'zipkin-traces'
  | 'unknown';

export interface Detection {
  readonly format: TelemetryFormat;
  /** `lines`: one record (or one document) per line; `document`: the whole file is one JSON value. */
  readonly layout: 'lines' | 'document';
  /** For `unknown`: why nothing fitted. */
  readonly reason?: string;
}

type JsonKind = TelemetryFormat | 'json-other';

/** What one parsed JSON value is. */
export function classifyJson(value: unknown): JsonKind {
  if (Array.isArray(value)) {
    const first = value[0];
    if (isObject(first) && typeof first.traceId === 'string' && first.id !== undefined)
      return 'zipkin-traces';
    return 'json-other';
  }
  if (!isObject(value)) return 'json-other';
  if (Array.isArray(value.resourceSpans)) return 'otlp-traces';
  if (Array.isArray(value.resourceLogs)) return 'otlp-logs';
  if (isObject(value.metric) && (Array.isArray(value.values) || Array.isArray(value.value)))
    return 'prometheus-range';
  if (isObject(value.data) && Array.isArray(value.data.result)) return 'prometheus-response';
  if (Array.isArray(value.data) && isObject(value.data[0]) && Array.isArray(value.data[0].spans))
    return 'jaeger-traces';
  if (
    typeof value.traceId === 'string' &&
    value.id !== undefined &&
    value.timestamp !== undefined &&
    !looksLikeLog({ msg: value.msg, message: value.message })
  )
    return 'zipkin-traces';
  if (looksLikeEvent(value)) return 'events';
  if (looksLikeLog(value)) return 'json-logs';
  return 'json-other';
}

const PROM_SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?\s+\S+(\s+-?\d+(\.\d+)?)?\s*$/;
const PROM_COMMENT = /^#\s*(HELP|TYPE|UNIT|EOF)\b/;
export const TIME_COLUMN = /^(time|timestamp|ts|date|datetime|@timestamp|t|time_ms|time_s|epoch)$/i;

/** Times before 2000 in a CSV "time" column are line numbers or clock times, not timestamps. */
const Y2000 = 946_684_800_000;

function splitFirst(row: string): string[] {
  return row.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
}

function isBinary(head: Buffer): boolean {
  let control = 0;
  const n = Math.min(head.length, 8192);
  for (let i = 0; i < n; i++) {
    const b = head[i]!;
    if (b === 0) return true;
    if (b < 9 || (b > 13 && b < 32)) control++;
  }
  return n > 0 && control / n > 0.01;
}

function majority(counts: Map<JsonKind, number>, nameHint: string): JsonKind {
  let best: JsonKind = 'json-other';
  let bestCount = 0;
  for (const [kind, count] of counts) {
    if (kind === 'json-other') continue;
    const better =
      count > bestCount ||
      (count === bestCount && kind === 'events' && /event/i.test(nameHint)) ||
      (count === bestCount && kind === 'json-logs' && best === 'events' && !/event/i.test(nameHint));
    if (better) {
      best = kind;
      bestCount = count;
    }
  }
  return best;
}

/** The JSON format named by keys visible in the head of a document too large to parse here. */
function sniffDocumentKeys(text: string): TelemetryFormat | undefined {
  const t = text.slice(0, 4096);
  if (/"resourceSpans"\s*:/.test(t)) return 'otlp-traces';
  if (/"resourceLogs"\s*:/.test(t)) return 'otlp-logs';
  if (/"resultType"\s*:/.test(text) && /"result"\s*:/.test(text)) return 'prometheus-response';
  if (/"traceID"\s*:/.test(t) && /"spans"\s*:/.test(t)) return 'jaeger-traces';
  if (/^\s*\[/.test(t) && /"traceId"\s*:/.test(t)) return 'zipkin-traces';
  return undefined;
}

/**
 * Recognises a file's format from its first (decompressed) bytes; `nameHint` (the file name) only
 * breaks a tie between events and logs. `complete` says the head is the whole file.
 * @example detectFormat(Buffer.from('{"time":1,"msg":"hi"}\n'), 'app.log', true).format // 'json-logs'
 */
export function detectFormat(head: Buffer, nameHint = '', complete = false): Detection {
  if (head.length === 0) return { format: 'unknown', layout: 'lines', reason: 'empty file' };
  if (isBinary(head)) return { format: 'unknown', layout: 'lines', reason: 'binary content' };
  const text = head.toString('utf8').replace(/^\uFEFF/, '');
  const trimmed = text.trimStart();
  const lines = text.split('\n');
  if (!complete && lines.length > 1) lines.pop(); // the last line may be cut
  const sample = lines
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(0, 50);

  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    const counts = new Map<JsonKind, number>();
    let parsed = 0;
    for (const line of sample) {
      if (line[0] !== '{' && line[0] !== '[') continue;
      try {
        const kind = classifyJson(JSON.parse(line));
        parsed++;
        counts.set(kind, (counts.get(kind) ?? 0) + 1);
      } catch {
        // not a whole JSON value on this line
      }
    }
    if (parsed > 0 && parsed * 2 >= Math.min(sample.length, 2)) {
      const kind = majority(counts, nameHint);
      if (kind !== 'json-other') return { format: kind, layout: 'lines' };
      return { format: 'unknown', layout: 'lines', reason: 'JSON without a recognised shape' };
    }
    if (complete) {
      try {
        const kind = classifyJson(JSON.parse(text));
        if (kind !== 'json-other') return { format: kind, layout: 'document' };
        return { format: 'unknown', layout: 'document', reason: 'JSON without a recognised shape' };
      } catch {
        // fall through to the key sniff
      }
    }
    const sniffed = sniffDocumentKeys(text);
    if (sniffed !== undefined) return { format: sniffed, layout: 'document' };
  }

  if (sample.length === 0) return { format: 'unknown', layout: 'lines', reason: 'no content' };
  const promLines = sample.filter((l) => PROM_COMMENT.test(l) || PROM_SAMPLE.test(l)).length;
  if (promLines === sample.length && sample.some((l) => !l.startsWith('#')))
    return { format: 'prometheus-text', layout: 'lines' };

  const header = sample[0]!;
  if (header.includes(',')) {
    const columns = header.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
    const data = sample.slice(1, 6);
    const timeIdx = columns.findIndex((c) => TIME_COLUMN.test(c));
    if (timeIdx >= 0 && data.length > 0) {
      const numericRows = data.filter((row) => {
        const cells = row.split(',');
        const t = parseTime(cells[timeIdx]?.trim().replace(/^"|"$/g, ''));
        if (t === undefined || t < Y2000) return false;
        return cells.some((cell, i) => i !== timeIdx && cell.trim() !== '' && Number.isFinite(Number(cell)));
      });
      // Metrics are mostly numbers: a CSV of log fields (many text columns) is not one.
      const cells = splitFirst(data[0] ?? '');
      const numericCols = cells.filter(
        (c, i) => i !== timeIdx && c.trim() !== '' && Number.isFinite(Number(c)),
      ).length;
      const textCols = cells.length - 1 - numericCols;
      if (numericRows.length * 2 >= data.length && numericCols >= textCols)
        return { format: 'csv-metrics', layout: 'lines' };
    }
  }

  const stamped = sample.filter((l) => parseLeadingTimestamp(l) !== undefined).length;
  if (stamped * 2 >= sample.length) return { format: 'text-logs', layout: 'lines' };
  return {
    format: 'unknown',
    layout: 'lines',
    reason: 'no format recognised (no leading timestamps, no JSON)',
  };
}
