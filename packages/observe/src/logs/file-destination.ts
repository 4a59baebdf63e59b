import { type DestinationStream, pino } from 'pino';

type SonicBoom = ReturnType<typeof pino.destination>;

/** What a file destination did with the lines it was given. */
export interface LogWriteStats {
  /** Failed writes (full disk, removed folder, …); the data stays buffered and is retried. */
  readonly writeErrors: number;
  /** Bytes dropped because the buffer was full (the disk failed for a while). */
  readonly droppedBytes: number;
}

export interface FileDestinationOptions {
  /**
   * Bytes (counted as characters) buffered before a write; 0 writes every line at once. A buffer turns one `write(2)`
   * per line into one per ~30 lines, which is most of the cost of an access log.
   */
  readonly bufferBytes?: number;
  /** Longest a buffered line waits for its write; default 1000 ms. */
  readonly flushIntervalMs?: number;
  /** Buffered bytes beyond which new lines are dropped (and counted); default 16 MiB. */
  readonly maxBufferBytes?: number;
}

export interface FileDestination {
  /** What a pino logger (or the access log) writes lines to. */
  readonly stream: DestinationStream;
  stats(): LogWriteStats;
  /**
   * Whether lines are buffered (`bufferBytes` > 0): only then can a writer hold lines back and
   * hand them over at {@link FileDestination.onDrain}.
   */
  readonly buffered: boolean;
  /**
   * Registers what must run before any line is taken and before every flush (a batching access
   * log writes the lines it holds), so that held lines keep their place and their deadline.
   * Returns a function that unregisters it.
   */
  onDrain(drain: () => void): () => void;
  /** Writes what is buffered and closes the file; resolves (never rejects) within `timeoutMs`. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * An asynchronous pino file destination that can never take the service down: a failed write
 * (`ENOSPC` on a full disk) is counted instead of crashing the process with an unhandled `error`
 * event, and the buffer is bounded so a disk that stays full costs dropped lines, not memory.
 * Lines still buffered when the process exits (`process.exit()`, an uncaught exception) are
 * written synchronously on its `exit` event.
 * @example const dest = fileDestination('logs/app.jsonl'); … await dest.close();
 */
export function fileDestination(path: string, options: FileDestinationOptions = {}): FileDestination {
  const minLength = options.bufferBytes ?? 0;
  hookExit();
  const file: SonicBoom = pino.destination({
    dest: path,
    mkdir: true,
    sync: false,
    minLength: 0,
    // sonic-boom's largest single write must exceed the buffer
    maxWrite: Math.max(16 * 1024, 2 * minLength),
    maxLength: options.maxBufferBytes ?? 16 * 1024 * 1024,
    // a full disk is not EAGAIN: sonic-boom keeps the failed chunk and retries on the next write;
    // a busy descriptor is retried later, but not while the process exits
    retryEAGAIN: () => !exiting,
  });
  return bufferedDestination(file, options, 'file');
}

let sharedStdout: FileDestination | undefined;

/**
 * The process's one buffered stdout ({@link stdoutDestination} with its defaults), which loggers
 * that name no destination share, so that their lines keep one order. Its `close()` writes what
 * is buffered and leaves it open for the others.
 */
export function defaultStdout(): FileDestination {
  sharedStdout ??= stdoutDestination({}, true);
  return sharedStdout;
}

/**
 * Standard output, where containerised services log. With `bufferBytes` (default 16 KiB) lines
 * are gathered into one write per buffer or per `flushIntervalMs` (default 250 ms) instead of one
 * `write(2)` per line, and written asynchronously, as a file is: a reader that stops reading (a
 * stuck log shipper, a container runtime's log driver on a full disk) never blocks the event
 * loop; beyond `maxBufferBytes` (default 16 MiB) waiting, lines are dropped and counted in
 * `stats()`. An error line (pino level ≥ 50) is handed over at once, with every line before it;
 * what is still buffered is written on the process's `exit` event. What can be lost is the last
 * quarter second of lines below error level when the process is killed (SIGKILL, or SIGTERM with
 * no handler). `bufferBytes: 0` writes each line synchronously, as pino's default does: nothing
 * lost to a kill, but a stuck reader stalls the service.
 * @example const out = stdoutDestination(); const log = pino({}, out.stream);
 */
export function stdoutDestination(options: FileDestinationOptions = {}, shared = false): FileDestination {
  const o = { bufferBytes: 16 * 1024, flushIntervalMs: 250, ...options };
  const buffered = o.bufferBytes > 0;
  hookExit();
  const out: SonicBoom = pino.destination({
    dest: 1,
    sync: !buffered,
    minLength: 0,
    ...(buffered
      ? {
          maxWrite: Math.max(16 * 1024, 2 * o.bufferBytes),
          maxLength: o.maxBufferBytes ?? 16 * 1024 * 1024,
          // a pipe whose reader is slow answers EAGAIN: written later, but not while exiting
          retryEAGAIN: () => !exiting,
        }
      : {}),
  });
  return bufferedDestination(out, o, shared ? 'shared' : 'stdout');
}

/** What `close()` does: end the file; flush stdout and write later lines at once; or only flush. */
type CloseMode = 'file' | 'stdout' | 'shared';

function bufferedDestination(
  file: SonicBoom,
  options: FileDestinationOptions,
  mode: CloseMode,
): FileDestination {
  const minLength = options.bufferBytes ?? 0;
  const buffer = minLength > 0 ? new LineBuffer(file, minLength, options.flushIntervalMs ?? 1000) : undefined;
  const stream: DestinationStream = buffer ?? file;
  let writeErrors = 0;
  let droppedBytes = 0;
  file.on('error', () => {
    writeErrors++;
  });
  file.on('drop', (data: string | Buffer) => {
    droppedBytes += Buffer.byteLength(data);
  });
  let closing: Promise<void> | undefined;
  return {
    stream,
    stats: () => ({ writeErrors, droppedBytes }),
    buffered: buffer !== undefined,
    onDrain: (drain) => {
      buffer?.drains.push(drain);
      return () => {
        const i = buffer?.drains.indexOf(drain) ?? -1;
        if (i !== -1) buffer?.drains.splice(i, 1);
      };
    },
    close: (timeoutMs = 2000) => {
      if (mode === 'shared') {
        buffer?.flush();
        return Promise.resolve();
      }
      if (mode === 'stdout') {
        // standard output stays open for the rest of the process: later lines are written at once
        buffer?.close(true);
        return Promise.resolve();
      }
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        function done(): void {
          clearTimeout(timer);
          file.off('close', done);
          file.off('error', done);
          resolve();
        }
        file.once('close', done);
        // a write that fails while closing ends the wait: the data cannot be written
        file.once('error', done);
        try {
          buffer?.close();
          file.end();
        } catch {
          done();
        }
      });
      return closing;
    },
  };
}

/** The buffers still open, written synchronously when the process exits. */
const openBuffers = new Set<LineBuffer>();
let exitHooked = false;
/** Set on the process's `exit` event: a busy descriptor is then given up on, not waited for. */
let exiting = false;

/**
 * Hooks the process's `exit` event once: first of all listeners, the flag that stops retries of
 * a busy descriptor (pino's own exit flush of an asynchronous destination would otherwise wait
 * for a stuck pipe forever); then the synchronous flush of the open buffers.
 */
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.prependListener('exit', () => {
    exiting = true;
  });
  process.on('exit', () => {
    for (const buffer of openBuffers) buffer.flushSync();
  });
}

/**
 * Lines gathered into one string per `minLength` characters (or per `intervalMs`) before they
 * reach sonic-boom: its own `minLength` buffer measures the byte length of the whole pending
 * chunk on every write, which made each line cost several microseconds at a 16 KiB buffer.
 */
class LineBuffer implements DestinationStream {
  /** Set by pino before each of its writes (the stream asks for it in the constructor). */
  lastLevel = 0;
  /** How `pino(stream)`, with no options, tells a stream from options. */
  readonly writable = true;
  private lines: string[] = [];
  private length = 0;
  /** Run before a line is taken and before a flush (see `FileDestination.onDrain`). */
  readonly drains: (() => void)[] = [];
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private passThrough = false;

  constructor(
    private readonly file: SonicBoom,
    private readonly minLength: number,
    intervalMs: number,
  ) {
    this.timer = setInterval(() => this.flush(), intervalMs);
    this.timer.unref();
    Object.defineProperty(this, Symbol.for('pino.metadata'), { value: true });
    openBuffers.add(this);
    hookExit();
  }

  write(line: string): void {
    if (this.closed) {
      if (this.passThrough) this.file.write(line);
      return;
    }
    for (const drain of this.drains) drain();
    this.lines.push(line);
    this.length += line.length;
    // lines written straight to the stream (the access log's) leave `lastLevel` alone: reset it
    const error = this.lastLevel >= ERROR_LEVEL;
    this.lastLevel = 0;
    if (error || this.length >= this.minLength) this.flush();
  }

  /** Hands what is gathered to the file (written asynchronously). */
  flush(): void {
    for (const drain of this.drains) drain();
    if (this.lines.length === 0) return;
    const chunk = this.lines.length === 1 ? (this.lines[0] as string) : this.lines.join('');
    this.lines = [];
    this.length = 0;
    try {
      this.file.write(chunk);
    } catch {
      // a destroyed stream: the lines cannot be written any more
    }
  }

  /** Flushes and writes everything out before returning (the process is exiting). */
  flushSync(): void {
    try {
      this.flush();
      this.file.flushSync();
    } catch {
      // a full disk or a closed descriptor: nothing more can be written
    }
  }

  /** Flushes and stops buffering; later lines are dropped, or with `passThrough` written at once. */
  close(passThrough = false): void {
    this.flush();
    this.closed = true;
    this.passThrough = passThrough;
    clearInterval(this.timer);
    openBuffers.delete(this);
  }
}

const ERROR_LEVEL = 50;
