/**
 * The `--json` output of `faultline investigate`: a documented, stable schema (`schema` names its
 * version; fields are only ever added; docs/investigate.md documents every field). Times are
 * ISO-8601 UTC strings with their epoch ms beside them; numbers are rounded so that outputs diff
 * cleanly.
 *
 * ```
 * { schema: "faultline.analysis/1",
 *   incidents: [{ window: { from, to, fromMs, toMs }, onset, onsetMs, severity,
 *                 onsetBy: { service, signal, source, z },   // what moved at the onset
 *                 causes: [{ rank, service, instance, virtual, score, signal, mechanism, explainedBy,
 *                            evidence: [{ signal, source, kind, onset, direction, z, before, after }],
 *                            firstMoves: [same shape: the earliest strong signals, in time order],
 *                            logs: [{ time, level, message, traceId }], traces: [traceId] }],   // best first
 *                 timeline: [{ time, service, text }],
 *                 dependencies: [{ caller, callee, count, lagMs? }],   // lagMs: inferred edges only
 *                 dependencySource: 'traces' | 'co-occurrence' | 'none',
 *                 virtualServices: [service] }],   // uninstrumented peers seen from their callers
 *   signals: { metric, span, log }, stepMs: { metric, event }, durationMs }
 * ```
 */
import type { Analysis, SignalOnset } from './analysis-types.js';

export const ANALYSIS_JSON_SCHEMA = 'faultline.analysis/1';

const iso = (ms: number) => new Date(ms).toISOString();
const r3 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);

const evidenceJson = (e: SignalOnset) => ({
  signal: e.name,
  source: e.source,
  kind: e.kind,
  instance: e.instance,
  onset: iso(e.onsetMs),
  onsetMs: e.onsetMs,
  direction: e.direction,
  z: r3(e.z),
  before: r3(e.before),
  after: r3(e.after),
  ...(e.template === undefined ? {} : { template: e.template }),
  ...(e.caller === undefined ? {} : { caller: e.caller }),
});

/** The JSON document for an analysis (JSON.stringify it). */
export function analysisToJson(analysis: Analysis): Record<string, unknown> {
  return {
    schema: ANALYSIS_JSON_SCHEMA,
    incidents: analysis.incidents.map((i) => ({
      window: {
        from: iso(i.window.fromMs),
        to: iso(i.window.toMs),
        fromMs: i.window.fromMs,
        toMs: i.window.toMs,
      },
      onset: iso(i.onsetMs),
      onsetMs: i.onsetMs,
      onsetBy: {
        service: i.onsetBy.service,
        signal: i.onsetBy.name,
        source: i.onsetBy.source,
        z: r3(i.onsetBy.z),
      },
      severity: r3(i.severity),
      causes: i.causes.map((c, rank) => ({
        rank: rank + 1,
        service: c.service,
        instance: c.instance,
        virtual: c.virtual,
        score: r3(c.score),
        signal: c.signal,
        mechanism: c.mechanism,
        explainedBy: c.explainedBy,
        evidence: c.evidence.map(evidenceJson),
        firstMoves: c.firstMoves.map(evidenceJson),
        logs: c.logs.map((l) => ({
          time: iso(l.timeMs),
          level: l.level,
          message: l.message,
          traceId: l.traceId,
        })),
        traces: c.traces,
      })),
      timeline: i.timeline.map((t) => ({ time: iso(t.timeMs), service: t.service, text: t.text })),
      dependencies: i.dependencies,
      dependencySource: i.dependencySource,
      virtualServices: i.virtualServices,
    })),
    signals: analysis.signals,
    stepMs: analysis.stepMs,
    durationMs: analysis.durationMs,
  };
}
