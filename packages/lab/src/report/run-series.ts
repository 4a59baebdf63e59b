import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** One chart line: seconds since the load started → value. */
export interface Line {
  readonly label: string;
  readonly points: readonly (readonly [number, number])[];
}

/** A marked moment: an injection, an ejection, a crash. */
export interface Marker {
  readonly s: number;
  readonly kind: string;
  readonly label: string;
}

/** The series a lab report charts, per mode. */
export interface RunSeries {
  readonly poolInUse: readonly Line[];
  readonly poolWaiting: readonly Line[];
  readonly heapMb: readonly Line[];
  readonly loopP99Ms: readonly Line[];
  readonly healthyBackends: readonly Line[];
  readonly markers: readonly Marker[];
}

interface QueryRangeLine {
  readonly metric: Readonly<Record<string, string>>;
  readonly values: readonly (readonly [number, string])[];
}

const WANTED: Record<string, { key: keyof Omit<RunSeries, 'markers'>; scale: number; stat?: string }> = {
  db_pool_connections_in_use: { key: 'poolInUse', scale: 1 },
  db_pool_waiting: { key: 'poolWaiting', scale: 1 },
  nodejs_heap_used_bytes: { key: 'heapMb', scale: 1 / (1024 * 1024) },
  nodejs_eventloop_delay_seconds: { key: 'loopP99Ms', scale: 1000, stat: 'p99' },
  lb_healthy_backends: { key: 'healthyBackends', scale: 1 },
};

/** Reads the series and events the report needs from a mode's bundle folder. */
export async function readRunSeries(dir: string, loadStart: number): Promise<RunSeries> {
  const acc: Record<keyof Omit<RunSeries, 'markers'>, Map<string, [number, number][]>> = {
    poolInUse: new Map(),
    poolWaiting: new Map(),
    heapMb: new Map(),
    loopP99Ms: new Map(),
    healthyBackends: new Map(),
  };
  const file = join(dir, 'metrics.jsonl');
  if (existsSync(file)) {
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      const name = /"__name__":"([a-z_]+)"/.exec(line)?.[1];
      const want = name === undefined ? undefined : WANTED[name];
      if (want === undefined) continue;
      let parsed: QueryRangeLine;
      try {
        parsed = JSON.parse(line) as QueryRangeLine;
      } catch {
        continue;
      }
      if (want.stat !== undefined && parsed.metric.stat !== want.stat) continue;
      const label = parsed.metric.instance ?? parsed.metric.job ?? 'value';
      const map = acc[want.key];
      const points = map.get(label) ?? [];
      map.set(label, points);
      for (const [t, v] of parsed.values) {
        const value = Number(v);
        if (Number.isFinite(value))
          points.push([Math.round((t * 1000 - loadStart) / 100) / 10, value * want.scale]);
      }
    }
  }
  const lines = (m: Map<string, [number, number][]>): Line[] =>
    [...m.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([label, points]) => ({ label, points: points.sort((a, b) => a[0] - b[0]) }));
  return {
    poolInUse: lines(acc.poolInUse),
    poolWaiting: lines(acc.poolWaiting),
    heapMb: lines(acc.heapMb),
    loopP99Ms: lines(acc.loopP99Ms),
    healthyBackends: lines(acc.healthyBackends),
    markers: readMarkers(dir, loadStart),
  };
}

function readMarkers(dir: string, loadStart: number): Marker[] {
  const markers: Marker[] = [];
  for (const name of ['events.jsonl', 'lb-events.jsonl']) {
    const file = join(dir, name);
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      const kind = String(e.kind);
      if (!/^(fault\.|lb\.eject$|lb\.return$|lb\.panic$|process\.crash$)/.test(kind)) continue;
      const s = Math.round((Date.parse(String(e.time)) - loadStart) / 100) / 10;
      const who = String(e.instance ?? e.target ?? e.service ?? '');
      const label = kind.startsWith('fault.')
        ? `${kind === 'fault.cleared' ? 'cleared' : 'injected'}: ${String(e.note ?? e.fault)}`
        : `${kind} ${who}`;
      markers.push({ s, kind, label });
    }
  }
  return markers.sort((a, b) => a.s - b.s);
}
