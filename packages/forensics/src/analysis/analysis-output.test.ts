import { describe, expect, it } from 'vitest';
import { analysisToJson } from './analysis-json.js';
import type { Analysis } from './analysis-types.js';
import { formatAnalysis } from './format-analysis.js';

const T = Date.UTC(2026, 0, 2, 14, 30, 0);
const analysis: Analysis = {
  incidents: [
    {
      window: { fromMs: T, toMs: T + 300_000 },
      onsetMs: T,
      onsetBy: { service: 'db', name: 'cpu', source: 'metric', z: 40.04 },
      severity: 12.5,
      causes: [
        {
          service: 'db',
          instance: 'db-1',
          score: 9.5,
          signal: 'cpu',
          mechanism: 'CPU saturation',
          evidence: [
            {
              signalId: 'metric cpu',
              service: 'db',
              instance: 'db-1',
              source: 'metric',
              kind: 'cpu',
              name: 'cpu',
              onsetMs: T + 41_000,
              direction: 'up',
              z: 40,
              before: 10,
              after: 90,
              stepMs: 1000,
            },
          ],
          firstMoves: [
            {
              signalId: 'metric heap',
              service: 'db',
              instance: 'db-1',
              source: 'metric',
              kind: 'memory',
              name: 'heap_used_bytes',
              onsetMs: T + 20_000,
              direction: 'up',
              z: 9,
              before: 100,
              after: 400,
              stepMs: 1000,
            },
          ],
          logs: [
            {
              timeMs: T + 42_000,
              service: 'db',
              level: 'error',
              message: 'boom <script>alert(1)</script>\u001b[2J',
              traceId: null,
            },
          ],
          traces: ['abc'],
          explainedBy: null,
          virtual: false,
        },
        {
          service: 'api',
          instance: null,
          score: 2,
          signal: 'p95 latency',
          mechanism: null,
          evidence: [],
          firstMoves: [],
          logs: [],
          traces: [],
          explainedBy: 'db',
          virtual: false,
        },
      ],
      timeline: [{ timeMs: T + 41_000, service: 'db', text: 'cpu ↑ 10 → 90' }],
      dependencies: [{ caller: 'api', callee: 'db', count: 10 }],
      dependencySource: 'traces',
      virtualServices: [],
    },
  ],
  signals: { metric: 3, span: 6, log: 2 },
  stepMs: { metric: 1000, event: 5000 },
  durationMs: 12,
};

describe('analysis outputs', () => {
  it('terminal: window, timeline to the second, ranked causes with evidence; control characters escaped', () => {
    const text = formatAnalysis(analysis);
    expect(text).toContain('Incident 1: 2026-01-02 14:30:00 – 14:35:00 UTC (onset 14:30:00: db cpu,');
    expect(text).toContain('14:30:41  db: cpu ↑ 10 → 90');
    expect(text).toMatch(/1\. db \(db-1\)\s+score 9\.50/);
    // the headline names the instance too: a service of three replicas is not the answer
    expect(text).toMatch(/Most likely cause: db \(instance db-1\)/);
    expect(text).toContain('partly explained by its dependency db');
    expect(text).not.toContain('\u001b');
    expect(formatAnalysis(analysis, { utcOffsetMinutes: 480 })).toContain('22:30:41');
  });

  it('shows what moved first when the strongest evidence came later, in the text and the JSON', () => {
    const text = formatAnalysis(analysis);
    expect(text).toContain(
      'first to move (db-1):\n       14:30:20 heap_used_bytes ↑ 100 → 400 (9.0 σ, metric)',
    );
    expect(analysisToJson(analysis)).toMatchObject({
      incidents: [{ causes: [{ firstMoves: [{ signal: 'heap_used_bytes', z: 9 }] }, { firstMoves: [] }] }],
    });
    // nothing earlier than the lines already shown: no extra section
    const first = analysis.incidents[0];
    if (first === undefined) throw new Error('fixture has an incident');
    const late = first.causes.map((c) => ({
      ...c,
      firstMoves: c.firstMoves.map((e) => ({ ...e, onsetMs: T + 50_000 })),
    }));
    expect(formatAnalysis({ ...analysis, incidents: [{ ...first, causes: late }] })).not.toContain(
      'first to move',
    );
  });

  it('says whether no signal moved or there was nothing to read', () => {
    const none = { ...analysis, incidents: [] };
    expect(formatAnalysis(none)).toBe('No incident found: no signal left its baseline.\n');
    expect(formatAnalysis({ ...none, signals: { metric: 0, span: 0, log: 0 } })).toContain(
      'there was no telemetry to analyse',
    );
  });

  it('json: incidents[].window and causes[] best first with service and score', () => {
    const json = JSON.parse(JSON.stringify(analysisToJson(analysis))) as {
      schema: string;
      incidents: Array<{
        window: { from: string; toMs: number };
        onsetBy: { service: string; signal: string; source: string; z: number };
        causes: Array<{ service: string; score: number; rank: number }>;
      }>;
    };
    expect(json.schema).toBe('faultline.analysis/1');
    expect(json.incidents[0]?.onsetBy).toEqual({ service: 'db', signal: 'cpu', source: 'metric', z: 40.04 });
    expect(json.incidents[0]?.window.from).toBe('2026-01-02T14:30:00.000Z');
    expect(json.incidents[0]?.causes.map((c) => [c.rank, c.service, c.score])).toEqual([
      [1, 'db', 9.5],
      [2, 'api', 2],
    ]);
  });

  it('marks an uninstrumented dependency as virtual in the text and the JSON', () => {
    const first = analysis.incidents[0];
    if (first === undefined) throw new Error('fixture has an incident');
    const withPeer: Analysis = {
      ...analysis,
      incidents: [
        {
          ...first,
          causes: first.causes.map((c, k) => (k === 0 ? { ...c, service: 'postgresql', virtual: true } : c)),
          virtualServices: ['postgresql'],
        },
      ],
    };
    const text = formatAnalysis(withPeer);
    expect(text).toContain('1. postgresql (db-1) [uninstrumented, seen from its callers]');
    expect(text).toContain('Uninstrumented dependencies (virtual nodes, from their callers');
    expect(analysisToJson(withPeer)).toMatchObject({
      incidents: [
        {
          virtualServices: ['postgresql'],
          causes: [{ service: 'postgresql', virtual: true }, { virtual: false }],
        },
      ],
    });
  });

  it('says so when there is no incident', () => {
    expect(formatAnalysis({ ...analysis, incidents: [] })).toMatch(/No incident found/);
  });

  it('spells out a cascade inferred without traces, and says it was inferred', () => {
    const first = analysis.incidents[0];
    if (first === undefined) throw new Error('fixture has an incident');
    const inferred: Analysis = {
      ...analysis,
      incidents: [
        {
          ...first,
          dependencies: [{ caller: 'api', callee: 'db', count: 4, lagMs: 10_000 }],
          dependencySource: 'co-occurrence',
        },
      ],
    };
    const text = formatAnalysis(inferred);
    expect(text).toContain('inferred from the order in which services moved');
    expect(text).toContain('api moved after db (4 pairs of onsets, 10 s later)');
    expect(analysisToJson(inferred)).toMatchObject({
      incidents: [{ dependencySource: 'co-occurrence', dependencies: [{ caller: 'api', lagMs: 10_000 }] }],
    });
  });
});
