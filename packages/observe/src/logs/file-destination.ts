import { pino } from 'pino';

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
   * Bytes buffered before a write; 0 writes every line at once. A buffer turns one `write(2)`
   * per line into one per ~30 lines, which is most of the cost of an access log.
   */
  readonly bufferBytes?: number;
  /** Longest a buffered line waits for its write; default 1000 ms. */
  readonly flushIntervalMs?: number;
  /** Buffered bytes beyond which new lines are dropped (and counted); default 16 MiB. */
  readonly maxBufferBytes?: number;
}

export interface FileDestination {
  readonly stream: SonicBoom;
  stats(): LogWriteStats;
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
  const stream = pino.destination({
    dest: path,
    mkdir: true,
    sync: false,
    minLength,
    // sonic-boom's largest single write must exceed the buffer
    maxWrite: Math.max(16 * 1024, 2 * minLength),
    maxLength: options.maxBufferBytes ?? 16 * 1024 * 1024,
    periodicFlush: options.flushIntervalMs ?? 1000,
    // a full disk is not EAGAIN: sonic-boom keeps the failed chunk and retries on the next write
    retryEAGAIN: () => true,
  });
  let writeErrors = 0;
  let droppedBytes = 0;
  stream.on('error', () => {
    writeErrors++;
  });
  stream.on('drop', (data: string | Buffer) => {
    droppedBytes += Buffer.byteLength(data);
  });
  let closing: Promise<void> | undefined;
  return {
    stream,
    stats: () => ({ writeErrors, droppedBytes }),
    close: (timeoutMs = 2000) => {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        function done(): void {
          clearTimeout(timer);
          stream.off('close', done);
          stream.off('error', done);
          resolve();
        }
        stream.once('close', done);
        // a write that fails while closing ends the wait: the data cannot be written
        stream.once('error', done);
        try {
          stream.end();
        } catch {
          done();
        }
      });
      return closing;
    },
  };
}
