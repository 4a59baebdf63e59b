import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventRow, LogRow, SeriesKey, SpanRow, TelemetrySink } from '../ingest/telemetry-rows.js';

/** A sink that keeps everything in arrays, for reader tests. */
export class MemorySink implements TelemetrySink {
  readonly logs: LogRow[] = [];
  readonly spans: SpanRow[] = [];
  readonly events: EventRow[] = [];
  readonly seriesKeys: SeriesKey[] = [];
  readonly samples: { seriesId: number; timeMs: number; value: number }[] = [];
  private readonly ids = new Map<string, number>();
  log(row: LogRow): void {
    this.logs.push(row);
  }
  span(row: SpanRow): void {
    this.spans.push(row);
  }
  event(row: EventRow): void {
    this.events.push(row);
  }
  series(key: SeriesKey): number {
    const k = JSON.stringify([key.name, Object.entries(key.labels).sort()]);
    let id = this.ids.get(k);
    if (id === undefined) {
      id = this.seriesKeys.push(key);
      this.ids.set(k, id);
    }
    return id;
  }
  sample(seriesId: number, timeMs: number, value: number): void {
    this.samples.push({ seriesId, timeMs, value });
  }
}

/** A temporary folder; `write` puts files in it, `remove` deletes it. */
export async function tempFolder(): Promise<{
  dir: string;
  write(name: string, content: string | Uint8Array): Promise<string>;
  remove(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'faultline-forensics-'));
  return {
    dir,
    async write(name, content) {
      const p = join(dir, name);
      await writeFile(p, content);
      return p;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
