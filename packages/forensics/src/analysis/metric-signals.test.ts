import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { investigate } from '../investigate.js';
import { tempFolder } from '../test-support/memory-sink.js';
import { metricSignals } from './metric-signals.js';

describe('metricSignals', () => {
  const folders: Array<Awaited<ReturnType<typeof tempFolder>>> = [];
  afterAll(async () => {
    for (const f of folders) await f.remove();
  });

  it('reads a latency quantile of 0 as "no requests", not as an instant answer; other zeros stay', async () => {
    const f = await tempFolder();
    folders.push(f);
    const t0 = 1_700_000_000;
    const series = (name: string, v: (i: number) => number) =>
      JSON.stringify({
        metric: { __name__: name, service: 'api' },
        values: Array.from({ length: 10 }, (_, i) => [t0 + i, String(v(i))]),
      });
    await writeFile(
      join(f.dir, 'metrics.jsonl'),
      `${series('latency_p99_seconds', (i) => (i % 3 === 0 ? 0 : 0.2))}\n${series('cpu', (i) => (i % 3 === 0 ? 0 : 5))}\n`,
    );
    const { store } = await investigate([f.dir]);
    try {
      const { signals } = await metricSignals(store);
      const latency = signals.find((s) => s.name === 'latency_p99_seconds');
      const cpu = signals.find((s) => s.name === 'cpu');
      expect(latency?.kind).toBe('latency');
      expect(Number.isNaN(latency?.values[0])).toBe(true);
      expect(latency?.values[1]).toBeCloseTo(0.2);
      expect(cpu?.values[0]).toBe(0);
    } finally {
      await store.close();
    }
  });
});
