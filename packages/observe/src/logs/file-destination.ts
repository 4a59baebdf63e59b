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
   */
  onDrain(drain: () => void): void;
  /** Writes what is buffered and closes the file; resolves (never rejects) within `timeoutMs`. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * An asynchronous pino file destination that can never take the service down: a failed write
 * (`ENOSPC` on a full disk) is counted instead of crashing the process with an unhandled `error`
 * event, and the buffer is bounded so a disk that stays full costs dropped lines, not memory.
 * @example const dest = fileDestination('logs/app.jsonl'); … await dest.close();
 */
export function fileDestination(path: string, options: FileDestinationOptions = {}): FileDestination {
  const minLength = options.bufferBytes ?? 0;
  const file: SonicBoom = pino.destination({
    dest: path,
    mkdir: true,
    sync: false,
    minLength: 0,
    // sonic-boom's largest single write must exceed the buffer
    maxWrite: Math.max(16 * 1024, 2 * minLength),
    maxLength: options.maxBufferBytes ?? 16 * 1024 * 1024,
    // a full disk is not EAGAIN: sonic-boom keeps the failed chunk and retries on the next write
    retryEAGAIN: () => true,
  });
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
    onDrain: (drain) => buffer?.drains.push(drain),
    close: (timeoutMs = 2000) => {
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

/**
 * Lines gathered into one string per `minLength` characters (or per `intervalMs`) before they
 * reach sonic-boom: its own `minLength` buffer measures the byte length of the whole pending
 * chunk on every write, which made each line cost several microseconds at a 16 KiB buffer.
 */
class LineBuffer implements DestinationStream {
  private lines: string[] = [];
  private length = 0;
  /** Run before a line is taken and before a flush (see `FileDestination.onDrain`). */
  readonly drains: (() => void)[] = [];
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly file: SonicBoom,
    private readonly minLength: number,
    intervalMs: number,
  ) {
    this.timer = setInterval(() => this.flush(), intervalMs);
    this.timer.unref();
  }

  write(line: string): void {
    if (this.closed) return;
    for (const drain of this.drains) drain();
    this.lines.push(line);
    this.length += line.length;
    if (this.length >= this.minLength) this.flush();
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

  close(): void {
    this.flush();
    this.closed = true;
    clearInterval(this.timer);
  }
}
