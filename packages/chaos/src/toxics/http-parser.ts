/** The head of an HTTP/1.x message, as far as the fault proxy needs it. */
export interface HttpHead {
  /** Request method (requests), '' for responses. */
  readonly method: string;
  /** Request target as sent (requests), '' for responses. */
  readonly target: string;
  /** Status code (responses), 0 for requests. */
  readonly status: number;
  /** `1.1` or `1.0`. */
  readonly version: string;
  /** Header fields in order, names lower-cased, values trimmed. */
  readonly headers: readonly (readonly [string, string])[];
  /**
   * How the body is framed: `none`, `length` (Content-Length), `chunked`, or `opaque` (unknown
   * framing, a tunnel or a body read until close: the parser stops and hands on the rest unparsed).
   */
  readonly body: 'none' | 'length' | 'chunked' | 'opaque';
}

/** What the parser reports, in stream order. Raw bytes always add up to the input. */
export interface HttpParserEvents {
  /** A complete head; `raw` is its bytes (with any empty lines before it). */
  head(head: HttpHead, raw: Buffer): void;
  /** Raw body bytes (chunked framing included). */
  body(raw: Buffer): void;
  /** The message is complete. */
  done(): void;
  /** The stream is not (or no longer) parseable HTTP/1.x; everything from here on goes to `opaque`. */
  error(reason: string): void;
  /** Bytes the parser does not interpret (after `error`, or after an `opaque` head). */
  opaque(raw: Buffer): void;
}

export interface HttpParserOptions {
  /** For responses: the method of the request being answered (HEAD and CONNECT change framing). */
  readonly requestMethod?: () => string | undefined;
}

/** Largest head the parser accepts (request line or status line and headers). */
export const MAX_HEAD_BYTES = 64 * 1024;
const MAX_LINE = 4096;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([^\s]+) HTTP\/(1\.[01])$/;
const STATUS_LINE = /^HTTP\/(1\.[01]) (\d{3})(?: [^\r\n]*)?$/;
const HEADER_LINE = /^([^:\s]+):[ \t]*(.*?)[ \t]*$/;

type State = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'opaque';

/**
 * An incremental HTTP/1.x parser for one direction of a connection (requests or responses): feed it
 * bytes as they arrive, in any split, and it reports heads, raw body bytes and message ends, so that
 * a proxy can act per message and forward the very bytes it read. Keep-alive and pipelining are
 * handled (messages follow each other); anything that is not HTTP/1.x is reported once with `error`
 * and then handed on unparsed. Never throws on input.
 */
export class HttpParser {
  private state: State = 'head';
  private head: Buffer[] = [];
  private headLength = 0;
  private remaining = 0;
  private line = '';
  private trailerLineEmpty = true;
  private afterDone: 'head' | 'opaque' = 'head';

  constructor(
    private readonly kind: 'request' | 'response',
    private readonly events: HttpParserEvents,
    private readonly options: HttpParserOptions = {},
  ) {}

  /** True once the parser has given up (or a tunnel started): bytes go to `opaque`. */
  get isOpaque(): boolean {
    return this.state === 'opaque';
  }

  /** True when no message is in progress (between messages, nothing buffered). */
  get idle(): boolean {
    return this.state === 'head' && this.headLength === 0;
  }

  push(data: Buffer): void {
    let i = 0;
    while (i < data.length) {
      switch (this.state) {
        case 'opaque':
          this.events.opaque(i === 0 ? data : data.subarray(i));
          return;
        case 'head':
          i = this.pushHead(data, i);
          break;
        case 'length': {
          const n = Math.min(this.remaining, data.length - i);
          this.events.body(data.subarray(i, i + n));
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) this.finish();
          break;
        }
        case 'chunk-data': {
          const n = Math.min(this.remaining, data.length - i);
          this.events.body(data.subarray(i, i + n));
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.state = 'chunk-end';
            this.line = '';
          }
          break;
        }
        case 'chunk-size':
        case 'chunk-end':
        case 'trailers':
          i = this.pushLines(data, i);
          break;
      }
    }
  }

  /** Bytes of an incomplete head, handed back (at the end of the stream) and forgotten. */
  takeBuffered(): Buffer {
    const b = Buffer.concat(this.head, this.headLength);
    this.head = [];
    this.headLength = 0;
    return b;
  }

  private fail(reason: string): void {
    this.state = 'opaque';
    this.events.error(reason);
  }

  /** Consumes head bytes from `data[i…]`; returns the next index. */
  private pushHead(data: Buffer, i: number): number {
    const prevLen = this.headLength;
    const chunk = data.subarray(i);
    const buf = prevLen === 0 ? chunk : Buffer.concat([...this.head, chunk], prevLen + chunk.length);
    // skip empty lines before the start line (RFC 9112 §2.2)
    let start = 0;
    while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
    const end = findHeadEnd(buf, Math.max(start, prevLen - 3));
    if (end < 0) {
      const problem = this.checkPartial(buf, start);
      if (problem !== undefined || buf.length > MAX_HEAD_BYTES) {
        this.head = [];
        this.headLength = 0;
        this.fail(problem ?? 'head too large');
        this.events.opaque(buf);
        return data.length;
      }
      this.head.push(chunk);
      this.headLength += chunk.length;
      return data.length;
    }
    this.head = [];
    this.headLength = 0;
    const raw = buf.subarray(0, end);
    const parsed = this.parseHead(raw.toString('latin1', start));
    if (typeof parsed === 'string') {
      this.fail(parsed);
      this.events.opaque(buf);
      return data.length;
    }
    this.events.head(parsed.head, raw);
    this.afterDone = parsed.after;
    switch (parsed.head.body) {
      case 'none':
        this.finish();
        break;
      case 'length':
        if (parsed.length === 0) this.finish();
        else {
          this.state = 'length';
          this.remaining = parsed.length;
        }
        break;
      case 'chunked':
        this.state = 'chunk-size';
        this.line = '';
        break;
      case 'opaque':
        this.state = 'opaque';
        break;
    }
    // bytes of `buf` after the head: index into `data`
    return i + (end - prevLen);
  }

  /** A reason when the start of an incomplete head cannot be HTTP/1.x. */
  private checkPartial(buf: Buffer, start: number): string | undefined {
    let nl = buf.indexOf(0x0a, start);
    const limit = nl < 0 ? buf.length : nl;
    for (let k = start; k < limit; k++) {
      const c = buf[k] as number;
      if ((c < 0x20 && c !== 0x09 && !(c === 0x0d && k === limit - 1)) || c >= 0x7f) {
        return 'not HTTP/1.x (binary data)';
      }
    }
    if (nl < 0) {
      if (limit - start > MAX_LINE) return 'start line too long';
      // a request line starts with a method token and a space; a status line with "HTTP/"
      const first = buf.toString('latin1', start, Math.min(limit, start + 32));
      if (this.kind === 'response') {
        if (!'HTTP/1.'.startsWith(first.slice(0, 7))) return 'not an HTTP/1.x status line';
      } else {
        const sp = first.indexOf(' ');
        const method = sp < 0 ? first : first.slice(0, sp);
        if (method !== '' && !TOKEN.test(method)) return 'not an HTTP/1.x request line';
        if (sp < 0 && first.length >= 32) return 'not an HTTP/1.x request line';
      }
      return undefined;
    }
    let line = buf.toString('latin1', start, nl);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (!(this.kind === 'request' ? REQUEST_LINE : STATUS_LINE).test(line)) {
      return `not HTTP/1.x: ${JSON.stringify(line.slice(0, 80))}`;
    }
    // later lines: only header-ish text
    nl = buf.indexOf(0x0a, nl + 1);
    return undefined;
  }

  private parseHead(text: string): { head: HttpHead; length: number; after: 'head' | 'opaque' } | string {
    const lines = text.split(/\r?\n/);
    // the head ends with an empty line: drop the two empty strings the split leaves
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    const startLine = lines[0] ?? '';
    const headers: [string, string][] = [];
    for (let k = 1; k < lines.length; k++) {
      const m = HEADER_LINE.exec(lines[k] as string);
      if (m === null || !TOKEN.test(m[1] as string)) return `bad header line ${JSON.stringify(lines[k])}`;
      headers.push([(m[1] as string).toLowerCase(), m[2] as string]);
    }
    const te = headerList(headers, 'transfer-encoding');
    const cls = headers.filter(([n]) => n === 'content-length').map(([, v]) => v.trim());
    let length = 0;
    let lengthOk = true;
    if (cls.length > 0) {
      const first = cls[0] as string;
      lengthOk = /^\d{1,15}$/.test(first) && cls.every((v) => v === first);
      length = lengthOk ? Number(first) : 0;
    }
    const chunked = te.length > 0 && te[te.length - 1] === 'chunked';
    if (this.kind === 'request') {
      const m = REQUEST_LINE.exec(startLine);
      if (m === null) return `not HTTP/1.x: ${JSON.stringify(startLine.slice(0, 80))}`;
      const method = m[1] as string;
      let body: HttpHead['body'];
      if (method === 'CONNECT') body = 'opaque';
      else if (te.length > 0) body = chunked ? 'chunked' : 'opaque';
      else if (!lengthOk) body = 'opaque';
      else body = cls.length > 0 ? 'length' : 'none';
      const upgrade = headers.some(([n]) => n === 'upgrade');
      return {
        head: { method, target: m[2] as string, status: 0, version: m[3] as string, headers, body },
        length,
        after: upgrade ? 'opaque' : 'head',
      };
    }
    const m = STATUS_LINE.exec(startLine);
    if (m === null) return `not HTTP/1.x: ${JSON.stringify(startLine.slice(0, 80))}`;
    const status = Number(m[2]);
    const reqMethod = this.options.requestMethod?.();
    let body: HttpHead['body'];
    if (status === 101 || (reqMethod === 'CONNECT' && status >= 200 && status < 300)) body = 'opaque';
    else if (status < 200 || status === 204 || status === 304 || reqMethod === 'HEAD') body = 'none';
    else if (te.length > 0) body = chunked ? 'chunked' : 'opaque';
    else if (!lengthOk) body = 'opaque';
    else body = cls.length > 0 ? 'length' : 'opaque';
    return {
      head: { method: '', target: '', status, version: m[1] as string, headers, body },
      length,
      after: 'head',
    };
  }

  /** Chunk-size lines, the CRLF after chunk data, and trailers. */
  private pushLines(data: Buffer, i: number): number {
    const from = i;
    while (i < data.length) {
      const c = data[i] as number;
      i++;
      if (c !== 0x0a) {
        if (this.state === 'chunk-end' && c !== 0x0d) {
          this.events.body(data.subarray(from, i - 1));
          this.fail('bad chunk: no CRLF after the data');
          this.events.opaque(data.subarray(i - 1));
          return data.length;
        }
        if (this.state === 'trailers') this.trailerLineEmpty &&= c === 0x0d;
        else this.line += String.fromCharCode(c);
        if (this.line.length > MAX_LINE) {
          this.events.body(data.subarray(from, i));
          this.fail('chunk size line too long');
          return i;
        }
        continue;
      }
      if (this.state === 'chunk-end') {
        this.state = 'chunk-size';
        this.line = '';
        continue;
      }
      if (this.state === 'trailers') {
        if (this.trailerLineEmpty) {
          this.events.body(data.subarray(from, i));
          this.finish();
          return i;
        }
        this.trailerLineEmpty = true;
        continue;
      }
      // chunk-size line: hex digits, optional extensions
      const m = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;[^\r]*)?\r?$/.exec(this.line);
      this.line = '';
      if (m === null) {
        this.events.body(data.subarray(from, i));
        this.fail('bad chunk size line');
        return i;
      }
      const size = Number.parseInt(m[1] as string, 16);
      if (size === 0) {
        this.state = 'trailers';
        this.trailerLineEmpty = true;
      } else {
        this.state = 'chunk-data';
        this.remaining = size;
        this.events.body(data.subarray(from, i));
        return i;
      }
    }
    if (i > from) this.events.body(data.subarray(from, i));
    return i;
  }

  private finish(): void {
    this.state = this.afterDone;
    this.events.done();
  }
}

/** Index just past the empty line ending a head (CRLFCRLF or LFLF, mixed allowed), or -1. */
function findHeadEnd(buf: Buffer, from: number): number {
  let k = buf.indexOf(0x0a, Math.max(0, from));
  while (k >= 0) {
    const n = k + 1;
    if (buf[n] === 0x0a) return n + 1;
    if (buf[n] === 0x0d && n + 1 < buf.length && buf[n + 1] === 0x0a) return n + 2;
    k = buf.indexOf(0x0a, n);
  }
  return -1;
}

/** Comma-separated values of a header, lower-cased, over all its fields. */
function headerList(headers: readonly (readonly [string, string])[], name: string): string[] {
  const out: string[] = [];
  for (const [n, v] of headers) {
    if (n !== name) continue;
    for (const part of v.split(',')) {
      const p = part.trim().toLowerCase();
      if (p !== '') out.push(p);
    }
  }
  return out;
}

/** The value of a header (fields joined with `, `), or undefined. */
export function headerValue(head: HttpHead, name: string): string | undefined {
  let out: string | undefined;
  for (const [n, v] of head.headers) if (n === name) out = out === undefined ? v : `${out}, ${v}`;
  return out;
}

/** True when the client wants the connection closed after this request. */
export function wantsClose(head: HttpHead): boolean {
  const c = (headerValue(head, 'connection') ?? '').toLowerCase();
  if (head.version === '1.0') return !/\bkeep-alive\b/.test(c);
  return /\bclose\b/.test(c);
}
