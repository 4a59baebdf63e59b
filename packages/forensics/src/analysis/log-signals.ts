/**
 * Signals from log lines, per service: error and warning rates, and the rate of each template the
 * service logs. A template that is new or surging in the incident is often the most specific
 * evidence there is (the exception a fault throws), so templates are signals of their own.
 */
import type { TelemetryStore } from '../store/telemetry-store.js';
import type { Signal } from './signal.js';

type Row = Record<string, unknown>;
const num = (r: Row, k: string): number => {
  const v = r[k];
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : Number(v ?? Number.NaN);
};
const str = (r: Row, k: string): string => String(r[k] ?? '');

/** Whether a template signal's name marks it as logged at warn level or worse (`error template T7`). */
export function isSevereTemplate(name: string): boolean {
  return /^(warn|error|fatal) template /.test(name);
}

/** Log signals on a grid of `stepMs` from `startMs` (`length` buckets); zero where nothing was logged. */
export async function logSignals(
  store: TelemetryStore,
  startMs: number,
  stepMs: number,
  length: number,
  minTemplateCount = 3,
): Promise<Signal[]> {
  const params = { step: stepMs, start: startMs };
  const levels = await store.query(
    `SELECT service, ((floor(t_ms / $step) * $step - $start) / $step)::INTEGER AS b,
       count(*) FILTER (WHERE level IN ('error', 'fatal'))::DOUBLE AS errs,
       count(*) FILTER (WHERE level = 'warn')::DOUBLE AS warns
     FROM logs WHERE service IS NOT NULL GROUP BY 1, 2`,
    params,
  );
  const per = new Map<string, { errs: Float64Array; warns: Float64Array }>();
  for (const r of levels) {
    const b = num(r, 'b');
    if (!(b >= 0 && b < length)) continue;
    const service = str(r, 'service');
    let m = per.get(service);
    if (m === undefined) {
      m = { errs: new Float64Array(length), warns: new Float64Array(length) };
      per.set(service, m);
    }
    m.errs[b] = num(r, 'errs');
    m.warns[b] = num(r, 'warns');
  }
  const base = { instance: null, source: 'log' as const, startMs, stepMs, countData: true };
  const signals: Signal[] = [];
  for (const [service, m] of per) {
    signals.push(
      {
        ...base,
        id: `log ${service} errors`,
        service,
        kind: 'errors',
        name: 'error logs',
        values: m.errs,
        bad: 'up',
        health: true,
      },
      {
        ...base,
        id: `log ${service} warnings`,
        service,
        kind: 'errors',
        name: 'warning logs',
        values: m.warns,
        bad: 'up',
        health: false,
      },
    );
  }
  const templates = await store.query(
    `WITH c AS (SELECT service, template_id, ((floor(t_ms / $step) * $step - $start) / $step)::INTEGER AS b,
                  count(*)::DOUBLE AS n, any_value(level) AS level
                FROM logs WHERE service IS NOT NULL AND template_id IS NOT NULL GROUP BY 1, 2, 3),
          keep AS (SELECT service, template_id FROM c GROUP BY 1, 2 HAVING sum(n) >= $min)
     SELECT c.*, t.template FROM c JOIN keep USING (service, template_id)
       LEFT JOIN templates t USING (template_id)`,
    { ...params, min: minTemplateCount },
  );
  const perTemplate = new Map<
    string,
    { service: string; id: string; template: string; level: string; v: Float64Array }
  >();
  for (const r of templates) {
    const b = num(r, 'b');
    if (!(b >= 0 && b < length)) continue;
    const key = `${str(r, 'service')}\u0000${str(r, 'template_id')}`;
    let t = perTemplate.get(key);
    if (t === undefined) {
      t = {
        service: str(r, 'service'),
        id: str(r, 'template_id'),
        template: str(r, 'template'),
        level: str(r, 'level'),
        v: new Float64Array(length),
      };
      perTemplate.set(key, t);
    }
    t.v[b] = num(r, 'n');
  }
  for (const t of perTemplate.values()) {
    const severe = t.level === 'error' || t.level === 'fatal' || t.level === 'warn';
    signals.push({
      ...base,
      id: `log ${t.service} template ${t.id}`,
      service: t.service,
      kind: 'log-template',
      name: `${severe ? `${t.level} ` : ''}template ${t.id}`,
      values: t.v,
      bad: 'up',
      health: false,
      templateId: t.id,
      template: t.template,
    });
  }
  return signals;
}
