import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { createTemplateMiner, type TemplateSummary } from '@faultline/forensics';
import type { Command } from 'commander';
import type { CliIo } from '../cli.js';

interface TemplatesCommandOptions {
  readonly jsonField?: string;
  readonly summary?: boolean;
}

/** Longer lines are cut here (the rest up to the newline is skipped): a 1 GB line must not need 1 GB. */
const MAX_LINE_CHARS = 1 << 20;
/** Output is written in batches of about this many characters. */
const OUT_BATCH = 1 << 16;

/** The input's bytes, gunzipped when they start with the gzip magic (whatever the file is called). */
async function* decompressed(source: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done === true) return;
  const head = typeof first.value === 'string' ? Buffer.from(first.value) : first.value;
  async function* all(): AsyncGenerator<Buffer> {
    yield head;
    for (;;) {
      const r = await it.next();
      if (r.done === true) return;
      yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    }
  }
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    const feeding = (async () => {
      try {
        for await (const chunk of all()) {
          if (!gunzip.write(chunk)) await new Promise((r) => gunzip.once('drain', r));
        }
        gunzip.end();
      } catch (e) {
        gunzip.destroy(e instanceof Error ? e : new Error(String(e)));
      }
    })();
    for await (const chunk of gunzip) yield chunk as Buffer;
    await feeding;
  } else {
    yield* all();
  }
}

/** Lines of UTF-8 text (invalid bytes become U+FFFD), without their `\n` or `\r\n`. */
async function* textLines(source: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let skipping = false;
  const take = function* (text: string): Generator<string> {
    let from = 0;
    for (;;) {
      const nl = text.indexOf('\n', from);
      if (nl === -1) break;
      const piece = text.slice(from, nl);
      from = nl + 1;
      if (skipping) {
        skipping = false;
        yield pending;
      } else {
        const line = pending + piece;
        yield line.length > MAX_LINE_CHARS ? line.slice(0, MAX_LINE_CHARS) : line;
      }
      pending = '';
    }
    if (!skipping) {
      pending += text.slice(from);
      if (pending.length > MAX_LINE_CHARS) {
        pending = pending.slice(0, MAX_LINE_CHARS);
        skipping = true;
      }
    }
  };
  for await (const chunk of source) yield* take(decoder.write(chunk));
  yield* take(decoder.end());
  if (pending !== '' || skipping) yield pending;
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** Reads a dotted path (`log.message`) of a parsed JSON value; undefined unless it is a string. */
function stringAt(value: unknown, path: readonly string[]): string | undefined {
  let v = value;
  for (const key of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return typeof v === 'string' ? v : undefined;
}

/**
 * The message of a line: a JSON object's `field` (by default `msg` or `message`) when the line is
 * one and has it, else the whole line.
 */
export function messageOf(line: string, field?: string): string {
  const trimmed = line.trimStart();
  if (!trimmed.startsWith('{')) return line;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return line;
  }
  if (field !== undefined) return stringAt(parsed, field.split('.')) ?? line;
  return stringAt(parsed, ['msg']) ?? stringAt(parsed, ['message']) ?? line;
}

function summaryTable(templates: ReadonlyArray<TemplateSummary>): string {
  const sorted = [...templates].sort((a, b) => b.count - a.count);
  const countWidth = Math.max(5, ...sorted.map((t) => String(t.count).length));
  const idWidth = Math.max(2, ...sorted.map((t) => t.templateId.length));
  let out = `${'count'.padStart(countWidth)}  ${'id'.padEnd(idWidth)}  template\n`;
  for (const t of sorted) {
    out += `${String(t.count).padStart(countWidth)}  ${t.templateId.padEnd(idWidth)}  ${t.template}\n`;
  }
  return out;
}

/**
 * Mines the lines of `input` into templates. Writes, for each line, `{"line","template_id","template"}`
 * as a JSON line (the template as known at that moment), or with `summary` only the final table.
 * @example await runTemplates(createReadStream('app.log'), io, {});
 */
export async function runTemplates(
  input: AsyncIterable<Buffer | string>,
  io: CliIo,
  options: TemplatesCommandOptions,
): Promise<void> {
  const miner = createTemplateMiner();
  let out = '';
  let n = 0;
  for await (const raw of textLines(decompressed(input))) {
    n++;
    const mined = miner.mine(messageOf(stripCr(raw), options.jsonField));
    if (options.summary === true) continue;
    out += `{"line":${n},"template_id":${JSON.stringify(mined.templateId)},"template":${JSON.stringify(mined.template)}}\n`;
    if (out.length >= OUT_BATCH) {
      io.out(out);
      out = '';
    }
  }
  if (out !== '') io.out(out);
  if (options.summary === true) io.out(summaryTable(miner.templates()));
}

/**
 * Adds `faultline templates [file]`: mines log messages into templates, like Drain3's tooling.
 * @example registerTemplatesCommand(program, io);
 */
export function registerTemplatesCommand(
  program: Command,
  io: CliIo,
  stdin: () => Readable = () => process.stdin,
): Command {
  return program
    .command('templates')
    .description(
      'mine log lines into templates; prints {"line","template_id","template"} per line (.gz read transparently)',
    )
    .argument('[file]', 'log file, or - for standard input', '-')
    .option(
      '--json-field <field>',
      'take the message from this field of JSON lines (dotted path; default msg or message)',
    )
    .option('--summary', 'print only the final template table (count, id, template)')
    .action(async (file: string, options: TemplatesCommandOptions) => {
      if (file !== '-') {
        const kind = statSync(file, { throwIfNoEntry: false });
        if (kind === undefined) throw new Error(`templates: ${file}: no such file`);
        if (!kind.isFile()) throw new Error(`templates: ${file}: not a file`);
      }
      const input = file === '-' ? stdin() : createReadStream(file);
      await runTemplates(input, io, options);
    });
}
