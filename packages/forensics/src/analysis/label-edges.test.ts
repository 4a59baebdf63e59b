import { afterAll, describe, expect, it } from 'vitest';
import { investigate } from '../investigate.js';
import { tempFolder } from '../test-support/memory-sink.js';
import { labelEdges } from './label-edges.js';

const folders: Array<Awaited<ReturnType<typeof tempFolder>>> = [];
afterAll(async () => {
  for (const f of folders) await f.remove();
});

const series = (labels: Record<string, string>) =>
  JSON.stringify({
    metric: labels,
    values: [
      [1700000000, '1'],
      [1700000001, '2'],
    ],
  });

describe('labelEdges', () => {
  it("draws a load balancer's backends and a client's upstream as its callees, not its own labels", async () => {
    const f = await tempFolder();
    folders.push(f);
    const lines = [
      series({ __name__: 'up', job: 'app', instance: 'app-1' }),
      series({ __name__: 'up', job: 'app', instance: 'app-2' }),
      series({ __name__: 'up', job: 'orders', instance: 'orders-1' }),
      series({ __name__: 'lb_backend_healthy', job: 'lb', instance: 'lb-1', backend: 'app-1' }),
      series({ __name__: 'lb_backend_healthy', job: 'lb', instance: 'lb-1', backend: 'app-2' }),
      series({ __name__: 'client_calls', job: 'web', instance: 'web-1', upstream: 'orders' }),
      // a label naming the series' own service or an unknown value is no dependency
      series({ __name__: 'app_jobs', job: 'app', instance: 'app-1', queue: 'app' }),
      series({ __name__: 'app_jobs', job: 'app', instance: 'app-1', queue: 'mail' }),
    ];
    await f.write('metrics.jsonl', `${lines.join('\n')}\n`);
    const { store } = await investigate([f.dir]);
    try {
      const edges = await labelEdges(store);
      expect(edges.sort((a, b) => a.caller.localeCompare(b.caller))).toEqual([
        { caller: 'lb', callee: 'app', count: 2 },
        { caller: 'web', callee: 'orders', count: 1 },
      ]);
    } finally {
      await store.close();
    }
  });
});
