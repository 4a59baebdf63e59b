import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

const CHUNK = 1 << 20;

/** True when the file starts with the gzip magic bytes (content decides, not the name). */
export async function isGzipFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const magic = Buffer.alloc(2);
    const { bytesRead } = await handle.read(magic, 0, 2, 0);
    return bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** The decompressed bytes of a file, chunk by chunk; a gzip error ends the stream and is kept. */
export interface ByteSource {
  readonly compressed: boolean;
  readonly chunks: AsyncIterable<Buffer>;
  /** The decompression error that ended the stream early (truncated or corrupt gzip), if any. */
  gzipError(): string | undefined;
  /** Stops reading and releases the file. */
  close(): void;
}

/** Opens `path` for streaming, decompressing gzip transparently (several members allowed). */
export async function openByteSource(path: string, signal?: AbortSignal): Promise<ByteSource> {
  const compressed = await isGzipFile(path);
  const file = createReadStream(path, { highWaterMark: CHUNK, ...(signal === undefined ? {} : { signal }) });
  let stream: Readable = file;
  let error: string | undefined;
  if (compressed) {
    const gunzip = createGunzip({ chunkSize: CHUNK });
    file.on('error', (e) => gunzip.destroy(e));
    stream = file.pipe(gunzip);
  }
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of stream) yield chunk as Buffer;
    } catch (e) {
      if (signal?.aborted === true) throw e;
      if (!compressed) throw e;
      error = e instanceof Error ? e.message : String(e);
    } finally {
      file.destroy();
      stream.destroy();
    }
  }
  return {
    compressed,
    chunks: chunks(),
    gzipError: () => error,
    close() {
      file.destroy();
      stream.destroy();
    },
  };
}

/** Up to `bytes` decompressed bytes from the start of a file (for format detection). */
export async function readHead(
  path: string,
  bytes = 64 * 1024,
): Promise<{ head: Buffer; compressed: boolean }> {
  const source = await openByteSource(path);
  const parts: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of source.chunks) {
      parts.push(chunk);
      length += chunk.length;
      if (length >= bytes) break;
    }
  } finally {
    source.close();
  }
  const head = Buffer.concat(parts, length);
  return { head: head.length > bytes ? head.subarray(0, bytes) : head, compressed: source.compressed };
}

export interface LineVisitor {
  /** One line without its `\n` (and `\r`), 1-based number. */
  line(text: string, lineNo: number): void;
  /** A line longer than the limit: only its first bytes are kept. */
  oversize(lineNo: number, bytes: number, head: string): void;
}

export interface LineStats {
  readonly lines: number;
  readonly bytes: number;
  readonly compressed: boolean;
  readonly gzipError: string | undefined;
  /** Lines holding bytes that are not valid UTF-8 (decoded with U+FFFD). */
  readonly invalidUtf8Lines: number;
}

const HEAD_KEEP = 256;

/**
 * Streams a file line by line in bounded memory: at most one line (up to `maxLineBytes`) plus one
 * chunk is held. Longer lines are reported through `oversize` and skipped.
 */
export async function readLines(
  path: string,
  visitor: LineVisitor,
  options: { maxLineBytes: number; signal?: AbortSignal },
): Promise<LineStats> {
  const source = await openByteSource(path, options.signal);
  const max = options.maxLineBytes;
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let skipping = false; // inside an oversize line
  let skippedBytes = 0;
  let skippedHead = '';
  let lineNo = 0;
  let bytes = 0;
  let invalid = 0;

  const emit = (buf: Buffer, start: number, end: number): void => {
    lineNo++;
    let text: string;
    if (pendingLength > 0) {
      pending.push(buf.subarray(start, end));
      const whole = Buffer.concat(pending, pendingLength + end - start);
      pending = [];
      pendingLength = 0;
      text = whole.toString('utf8', 0, whole.length - (whole[whole.length - 1] === 13 ? 1 : 0));
    } else {
      text = buf.toString('utf8', start, end > start && buf[end - 1] === 13 ? end - 1 : end);
    }
    if (text.includes('\uFFFD')) invalid++;
    visitor.line(text, lineNo);
  };

  try {
    for await (const chunk of source.chunks) {
      bytes += chunk.length;
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(10, start);
        if (nl < 0) break;
        if (skipping) {
          lineNo++;
          visitor.oversize(lineNo, skippedBytes + nl - start, skippedHead);
          skipping = false;
        } else if (pendingLength + nl - start > max) {
          lineNo++;
          visitor.oversize(lineNo, pendingLength + nl - start, headOf(pending, chunk, start));
          pending = [];
          pendingLength = 0;
        } else {
          emit(chunk, start, nl);
        }
        start = nl + 1;
      }
      if (start < chunk.length) {
        const rest = chunk.length - start;
        if (skipping) skippedBytes += rest;
        else if (pendingLength + rest > max) {
          skippedHead = headOf(pending, chunk, start);
          skippedBytes = pendingLength + rest;
          skipping = true;
          pending = [];
          pendingLength = 0;
        } else {
          // copy: the stream may reuse its buffers
          pending.push(Buffer.from(chunk.subarray(start)));
          pendingLength += rest;
        }
      }
    }
    if (skipping) {
      lineNo++;
      visitor.oversize(lineNo, skippedBytes, skippedHead);
    } else if (pendingLength > 0) {
      const whole = Buffer.concat(pending, pendingLength);
      pending = [];
      pendingLength = 0;
      emit(whole, 0, whole.length);
    }
  } finally {
    source.close();
  }
  return {
    lines: lineNo,
    bytes,
    compressed: source.compressed,
    gzipError: source.gzipError(),
    invalidUtf8Lines: invalid,
  };
}

function headOf(pending: readonly Buffer[], chunk: Buffer, start: number): string {
  const first = pending.length > 0 ? pending[0]! : chunk.subarray(start);
  return first.toString('utf8', 0, Math.min(first.length, HEAD_KEEP));
}

/** The whole decompressed file as text, or an error when it is larger than `maxBytes`. */
export async function readDocument(
  path: string,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<
  { text: string; bytes: number; compressed: boolean; gzipError: string | undefined } | { tooLarge: number }
> {
  const source = await openByteSource(path, signal);
  const parts: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of source.chunks) {
      length += chunk.length;
      if (length > maxBytes) return { tooLarge: length };
      parts.push(chunk);
    }
  } finally {
    source.close();
  }
  return {
    text: Buffer.concat(parts, length).toString('utf8'),
    bytes: length,
    compressed: source.compressed,
    gzipError: source.gzipError(),
  };
}
