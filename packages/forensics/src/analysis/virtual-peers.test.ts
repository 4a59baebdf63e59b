import { afterAll, describe, expect, it } from 'vitest';
import { investigate } from '../investigate.js';
import { tempFolder } from '../test-support/memory-sink.js';
import { analyze } from './analyze.js';
import { type SlowPeer, writeUninstrumentedPeerIncident } from './synthetic-incident.fixtures.js';
import { virtualPeerEdges } from './virtual-peers.js';

const folders: Array<Awaited<ReturnType<typeof tempFolder>>> = [];
afterAll(async () => {
  for (const f of folders) await f.remove();
});

async function analysed(slow: SlowPeer) {
  const f = await tempFolder();
  folders.push(f);
  const { onsetMs } = await writeUninstrumentedPeerIncident(f.dir, slow);
  const { store } = await investigate([f.dir]);
  try {
    return {
      onsetMs,
      analysis: await analyze(store),
      edges: await virtualPeerEdges(store, { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }),
    };
  } finally {
    await store.close();
  }
}

describe('uninstrumented peers as virtual nodes', () => {
  it('names peers from client span attributes; an instrumented callee gets no virtual twin', async () => {
    const { edges, analysis } = await analysed('database');
    expect(edges.map((e) => `${e.caller}→${e.callee}`).sort()).toEqual([
      'app→127.0.0.1:9400',
      'app→postgresql',
    ]);
    const incident = analysis.incidents[0];
    expect(incident?.virtualServices).toEqual(['127.0.0.1:9400', 'postgresql']);
    expect(incident?.dependencies).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ caller: 'frontend', callee: 'app' }),
        expect.objectContaining({ caller: 'app', callee: 'postgresql' }),
      ]),
    );
    expect(incident?.dependencies.some((d) => d.callee === '127.0.0.1:8080')).toBe(false);
  });

  it('a slow database called by three app instances: the database first, pool saturation, the app its victim', async () => {
    const { analysis, onsetMs } = await analysed('database');
    const incident = analysis.incidents[0];
    expect(Math.abs((incident?.onsetMs ?? 0) - onsetMs)).toBeLessThanOrEqual(10_000);
    const [first] = incident?.causes ?? [];
    expect(first?.service).toBe('postgresql');
    expect(first?.virtual).toBe(true);
    expect(first?.mechanism).toMatch(/pool saturation/);
    expect(first?.traces.length).toBeGreaterThan(0);
    const app = incident?.causes.find((c) => c.service === 'app');
    expect(app?.virtual).toBe(false);
    expect(app?.score ?? 0).toBeLessThan(first?.score ?? 0);
  });

  it('a slow external API: the API first, as a slow dependency without a timeout', async () => {
    const { analysis } = await analysed('external-api');
    const [first] = analysis.incidents[0]?.causes ?? [];
    expect(first?.service).toBe('127.0.0.1:9400');
    expect(first?.virtual).toBe(true);
    expect(first?.mechanism).toMatch(/slow dependency without a timeout/);
  });
});
