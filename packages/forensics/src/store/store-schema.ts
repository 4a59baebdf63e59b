/**
 * The store's tables. Every time is epoch milliseconds as DOUBLE (sub-millisecond fractions kept):
 * one unit everywhere, directly comparable across tables. `attrs` columns hold JSON text.
 */
export const SCHEMA_VERSION = '1';

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta(key VARCHAR, value VARCHAR);
CREATE TABLE IF NOT EXISTS files(
  file_id INTEGER, path VARCHAR, size BIGINT, mtime_ms DOUBLE, fingerprint VARCHAR,
  format VARCHAR, report VARCHAR, ingested_at_ms DOUBLE);
CREATE TABLE IF NOT EXISTS logs(
  t_ms DOUBLE, service VARCHAR, instance VARCHAR, level VARCHAR, message VARCHAR,
  template_id VARCHAR, request_id VARCHAR, trace_id VARCHAR, span_id VARCHAR, attrs VARCHAR,
  file_id INTEGER, line BIGINT);
CREATE TABLE IF NOT EXISTS templates(template_id VARCHAR, template VARCHAR, count BIGINT);
CREATE TABLE IF NOT EXISTS series(
  series_id INTEGER, name VARCHAR, service VARCHAR, instance VARCHAR, labels VARCHAR);
CREATE TABLE IF NOT EXISTS metric_samples(series_id INTEGER, t_ms DOUBLE, value DOUBLE, file_id INTEGER);
CREATE TABLE IF NOT EXISTS spans(
  trace_id VARCHAR, span_id VARCHAR, parent_span_id VARCHAR, service VARCHAR, instance VARCHAR,
  name VARCHAR, kind VARCHAR, start_ms DOUBLE, duration_ms DOUBLE, status VARCHAR, attrs VARCHAR,
  file_id INTEGER);
CREATE TABLE IF NOT EXISTS events(
  t_ms DOUBLE, kind VARCHAR, service VARCHAR, instance VARCHAR, attrs VARCHAR, file_id INTEGER);
`;

/** Tables holding rows that belong to one ingested file (deleted when the file changes). */
export const FILE_TABLES = ['logs', 'metric_samples', 'spans', 'events'] as const;

const SERVICE_LABELS = ['service', 'service_name', 'app', 'application', 'container', 'job'];
const INSTANCE_LABELS = ['instance', 'pod', 'pod_name', 'service_instance_id', 'host', 'node'];

/** The service a metric series belongs to, from its labels. */
export function serviceOfLabels(labels: Readonly<Record<string, string>>): string | null {
  for (const key of SERVICE_LABELS) {
    const v = labels[key];
    if (v !== undefined && v !== '') return v;
  }
  return null;
}

/** The instance (pod, host…) a metric series belongs to, from its labels. */
export function instanceOfLabels(labels: Readonly<Record<string, string>>): string | null {
  for (const key of INSTANCE_LABELS) {
    const v = labels[key];
    if (v !== undefined && v !== '') return v;
  }
  return null;
}

/** A series' identity: its name and its labels sorted by key. */
export function seriesKeyText(name: string, labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort();
  let out = name;
  for (const k of keys) out += `\u0000${k}\u0001${labels[k]}`;
  return out;
}
