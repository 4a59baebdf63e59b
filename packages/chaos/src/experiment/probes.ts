import type { HttpProbe, Probe, PrometheusProbe, Range, SteadyState } from './definition.js';
import { sendHttp } from './http-request.js';
import type { HypothesisCheck, ProbeResult } from './journal.js';

/** `[200, 299]`, `≥ 5`, `≤ 0.01`, `= 3` */
export function rangeText(r: Range): string {
  if (r.min !== undefined && r.max !== undefined)
    return r.min === r.max ? `= ${r.min}` : `[${r.min}, ${r.max}]`;
  if (r.min !== undefined) return `>= ${r.min}`;
  return `<= ${String(r.max)}`;
}

export function inRange(v: number, r: Range): boolean {
  return (r.min === undefined || v >= r.min) && (r.max === undefined || v <= r.max);
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return code !== undefined && !e.message.includes(code) ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}

/** Runs every probe of the hypothesis concurrently; met when all are ok. */
export async function checkHypothesis(
  phase: HypothesisCheck['phase'],
  steady: SteadyState,
  signal: AbortSignal | undefined,
): Promise<HypothesisCheck> {
  const at = new Date().toISOString();
  const t0 = performance.now();
  const probes = await Promise.all(steady.probes.map((p) => runProbe(p, signal)));
  return { phase, at, durationMs: round(performance.now() - t0), met: probes.every((p) => p.ok), probes };
}

/** Runs one probe; never rejects (failures are results). */
export async function runProbe(probe: Probe, signal: AbortSignal | undefined): Promise<ProbeResult> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const base = { name: probe.name, type: probe.type, startedAt };
  try {
    const r = probe.type === 'http' ? await httpProbe(probe, signal) : await prometheusProbe(probe, signal);
    return { ...base, ...r, durationMs: round(performance.now() - t0) };
  } catch (e) {
    return {
      ...base,
      ok: false,
      value: null,
      expected: expectedText(probe),
      error: errorText(e),
      durationMs: round(performance.now() - t0),
    };
  }
}

function expectedText(probe: Probe): string {
  if (probe.type === 'prometheus') return `value ${rangeText(probe.tolerance)}`;
  const lat = probe.maxLatencyMs === undefined ? '' : `, latency <= ${probe.maxLatencyMs}ms`;
  return `status ${rangeText(probe.status)}${lat}`;
}

export function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

async function httpProbe(
  probe: HttpProbe,
  signal: AbortSignal | undefined,
): Promise<Omit<ProbeResult, 'name' | 'type' | 'startedAt' | 'durationMs'>> {
  const res = await sendHttp(probe.url, {
    method: probe.method,
    headers: probe.headers,
    body: probe.body,
    timeoutMs: probe.timeoutMs,
    signal,
  });
  const latencyMs = round(res.latencyMs);
  const statusOk = inRange(res.status, probe.status);
  const latencyOk = probe.maxLatencyMs === undefined || res.latencyMs <= probe.maxLatencyMs;
  const problems: string[] = [];
  if (!statusOk) problems.push(`status ${res.status} not in ${rangeText(probe.status)}`);
  if (!latencyOk) problems.push(`latency ${latencyMs}ms over ${String(probe.maxLatencyMs)}ms`);
  return {
    ok: statusOk && latencyOk,
    value: { status: res.status, latencyMs },
    expected: expectedText(probe),
    ...(problems.length > 0 ? { error: problems.join('; ') } : {}),
  };
}

async function prometheusProbe(
  probe: PrometheusProbe,
  signal: AbortSignal | undefined,
): Promise<Omit<ProbeResult, 'name' | 'type' | 'startedAt' | 'durationMs'>> {
  const url = `${probe.url.replace(/\/+$/, '')}/api/v1/query?query=${encodeURIComponent(probe.query)}`;
  const res = await sendHttp(url, { method: 'GET', timeoutMs: probe.timeoutMs, signal });
  const expected = expectedText(probe);
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body);
  } catch {
    throw new Error(`HTTP ${res.status}: the response is not JSON`);
  }
  const p = parsed as {
    status?: unknown;
    error?: unknown;
    data?: { resultType?: unknown; result?: unknown };
  };
  if (p.status !== 'success') {
    throw new Error(
      `query failed (HTTP ${res.status}): ${typeof p.error === 'string' ? p.error : 'no error given'}`,
    );
  }
  const { resultType, result } = p.data ?? {};
  let sample: unknown;
  let labels: unknown;
  if (resultType === 'scalar') {
    sample = result;
  } else if (resultType === 'vector' && Array.isArray(result)) {
    if (result.length !== 1) {
      return {
        ok: false,
        value: null,
        expected,
        error:
          result.length === 0
            ? 'the query returned no samples'
            : `the query returned ${result.length} series; aggregate it to one (e.g. sum(…))`,
      };
    }
    sample = (result[0] as { value?: unknown }).value;
    labels = (result[0] as { metric?: unknown }).metric;
  } else {
    throw new Error(
      `unsupported result type ${JSON.stringify(resultType)} (use an instant query yielding a scalar or one sample)`,
    );
  }
  const raw = Array.isArray(sample) ? sample[1] : undefined;
  const value = typeof raw === 'string' || typeof raw === 'number' ? Number(raw) : Number.NaN;
  if (Number.isNaN(value)) {
    return { ok: false, value: null, expected, error: `the sample is not a number: ${JSON.stringify(raw)}` };
  }
  const ok = inRange(value, probe.tolerance);
  return {
    ok,
    value: labels === undefined ? { value } : { value, metric: labels },
    expected,
    ...(ok ? {} : { error: `value ${value} not ${rangeText(probe.tolerance)}` }),
  };
}
