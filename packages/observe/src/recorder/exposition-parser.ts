/** One sample line of the Prometheus text exposition format. */
export interface ExpositionSample {
  readonly name: string;
  /** Null-prototype record: label names such as `__proto__` are ordinary keys here. */
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** Milliseconds since the epoch, when the line carries one. */
  readonly timestampMs?: number;
}

export interface ExpositionParseError {
  /** 1-based line number. */
  readonly line: number;
  readonly message: string;
}

export interface ParsedExposition {
  readonly samples: ExpositionSample[];
  /** Metric family name → HELP text (unescaped). */
  readonly help: Map<string, string>;
  /** Metric family name → TYPE (`counter`, `gauge`, `histogram`, `summary`, `untyped`, …). */
  readonly types: Map<string, string>;
  /** Lines that could not be parsed; they are skipped, never fatal. */
  readonly errors: ExpositionParseError[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

class LineError extends Error {}

/** Parses a sample value as Prometheus does: decimal floats, `NaN`, `+Inf`, `-Inf` (any case). */
export function parseSampleValue(text: string): number | undefined {
  const lower = text.toLowerCase();
  if (lower === 'nan') return Number.NaN;
  if (lower === '+inf' || lower === 'inf') return Number.POSITIVE_INFINITY;
  if (lower === '-inf') return Number.NEGATIVE_INFINITY;
  return FLOAT.test(text) ? Number(text) : undefined;
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(.)/g, (whole, ch: string) => (ch === 'n' ? '\n' : ch === '\\' ? '\\' : whole));
}

/**
 * Parses Prometheus text exposition format (0.0.4). Bad lines are reported in `errors` and skipped.
 *
 * @example parseExposition('up{job="api"} 1 1700000000000\n').samples[0]?.value // 1
 */
export function parseExposition(text: string): ParsedExposition {
  const result: ParsedExposition = { samples: [], help: new Map(), types: new Map(), errors: [] };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    try {
      parseLine(line, result);
    } catch (error) {
      if (!(error instanceof LineError)) throw error;
      result.errors.push({ line: i + 1, message: error.message });
    }
  }
  return result;
}

function parseLine(line: string, result: ParsedExposition): void {
  const trimmed = line.replace(/^[ \t]+/, '');
  if (trimmed === '') return;
  if (trimmed.startsWith('#')) {
    parseComment(trimmed, result);
    return;
  }
  result.samples.push(parseSample(trimmed));
}

function parseComment(line: string, result: ParsedExposition): void {
  const match = /^#[ \t]+(HELP|TYPE)[ \t]+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:[ \t]+(.*))?$/s.exec(line);
  if (match === null) return; // an ordinary comment
  const name = match[2]!;
  const rest = match[3] ?? '';
  if (match[1] === 'HELP') result.help.set(name, unescapeHelp(rest));
  else result.types.set(name, rest.trim().toLowerCase());
}

function parseSample(line: string): ExpositionSample {
  const nameMatch = METRIC_NAME.exec(line);
  if (nameMatch === null) throw new LineError('expected a metric name');
  const name = nameMatch[0];
  let pos = name.length;
  const labels: Record<string, string> = Object.create(null) as Record<string, string>;
  const brace = skipBlanks(line, pos);
  if (line[brace] === '{') pos = parseLabels(line, brace + 1, labels);
  const fields = line
    .slice(pos)
    .split(/[ \t]+/)
    .filter((field) => field !== '');
  if (fields.length === 0) throw new LineError(`missing value for ${name}`);
  if (fields.length > 2) throw new LineError(`unexpected text after value of ${name}`);
  if (pos < line.length && !/[ \t]/.test(line[pos] ?? '')) throw new LineError(`bad text after ${name}`);
  const value = parseSampleValue(fields[0]!);
  if (value === undefined) throw new LineError(`bad value ${JSON.stringify(fields[0])}`);
  const timestampText = fields[1];
  if (timestampText === undefined) return { name, labels, value };
  if (!INTEGER.test(timestampText)) throw new LineError(`bad timestamp ${JSON.stringify(timestampText)}`);
  return { name, labels, value, timestampMs: Number(timestampText) };
}

function skipBlanks(line: string, pos: number): number {
  let p = pos;
  while (line[p] === ' ' || line[p] === '\t') p++;
  return p;
}

/** Parses from just after `{` to just after `}`; returns the position after `}`. */
function parseLabels(line: string, start: number, labels: Record<string, string>): number {
  let pos = skipBlanks(line, start);
  while (line[pos] !== '}') {
    const nameMatch = LABEL_NAME.exec(line.slice(pos));
    if (nameMatch === null) throw new LineError('expected a label name');
    const labelName = nameMatch[0];
    pos = skipBlanks(line, pos + labelName.length);
    if (line[pos] !== '=') throw new LineError(`expected = after label ${labelName}`);
    pos = skipBlanks(line, pos + 1);
    if (line[pos] !== '"') throw new LineError(`expected " to open value of label ${labelName}`);
    pos++;
    let value = '';
    for (;;) {
      const ch = line[pos];
      if (ch === undefined) throw new LineError(`unterminated value of label ${labelName}`);
      if (ch === '"') break;
      if (ch === '\\') {
        const next = line[pos + 1];
        if (next === undefined) throw new LineError(`unterminated value of label ${labelName}`);
        value += next === 'n' ? '\n' : next === '\\' || next === '"' ? next : `\\${next}`;
        pos += 2;
      } else {
        value += ch;
        pos++;
      }
    }
    if (Object.hasOwn(labels, labelName)) throw new LineError(`duplicate label ${labelName}`);
    labels[labelName] = value;
    pos = skipBlanks(line, pos + 1);
    if (line[pos] === ',') pos = skipBlanks(line, pos + 1);
    else if (line[pos] !== '}') throw new LineError('expected , or } in label set');
  }
  return pos + 1;
}
