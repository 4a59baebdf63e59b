/**
 * Events (a load balancer's ejections, crashes, restarts, injected faults, deploys) as timeline
 * lines in plain words, and runs of the same event (a scrape failing every second) folded into one.
 */
import type { EventRecord } from '../store/store-queries.js';
import type { TimelineEntry } from './analysis-types.js';

const text = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : undefined;

const BALANCING = /eject|(^|\.)(return|readmit|restore)/i;

/** What the event is about: the backend a balancer acted on, else the instance (or proxy). */
function subject(e: EventRecord): string | undefined {
  if (BALANCING.test(e.kind)) return text(e.attrs.target) ?? e.instance ?? undefined;
  return e.instance ?? text(e.attrs.proxy) ?? text(e.attrs.target);
}

/**
 * One event in plain words, e.g. `app-1 ejected: 2 failed health checks (timeout after 1000ms)`.
 * Unknown kinds keep their name, with what they concern and their reason or note.
 * @example eventText({ kind: 'process.crash', service: 'app', instance: 'app-1', attrs: { signal: 'SIGABRT' }, timeMs: 0 })
 */
export function eventText(e: EventRecord): string {
  const who = subject(e);
  const reason = text(e.attrs.reason) ?? text(e.attrs.message) ?? text(e.attrs.note) ?? text(e.attrs.error);
  const why = reason === undefined ? '' : `: ${reason}`;
  const kind = e.kind.toLowerCase();
  if (who !== undefined && /eject/.test(kind)) return `${who} ejected${why}`;
  if (who !== undefined && /(^|\.)(return|readmit|restore)/.test(kind))
    return `${who} back in rotation${why}`;
  if (/crash|oom|killed/.test(kind)) {
    const how =
      text(e.attrs.signal) ??
      (e.attrs.exit_code == null ? undefined : `exit code ${text(e.attrs.exit_code)}`);
    return `${who ?? e.service ?? 'process'} ${/oom/.test(kind) ? 'ran out of memory' : 'crashed'}${how === undefined ? '' : ` (${how})`}`;
  }
  if (/restart/.test(kind)) return `${who ?? e.service ?? 'process'} restarted${why}`;
  if (/fault\.injected/.test(kind))
    return `fault injected into ${who ?? e.service ?? '?'}${text(e.attrs.note) === undefined ? why : `: ${text(e.attrs.note)}`}`;
  if (/fault\.cleared/.test(kind))
    return `fault cleared on ${who ?? e.service ?? '?'}${text(e.attrs.note) === undefined ? why : `: ${text(e.attrs.note)}`}`;
  return `${e.kind}${who === undefined ? '' : ` ${who}`}${why}`;
}

/**
 * Timeline lines of `events`, in time order; consecutive events of one kind about one subject
 * within `foldMs` of each other become one line (`… ×5 over 4 s`).
 */
export function eventTimeline(events: readonly EventRecord[], foldMs = 10_000): TimelineEntry[] {
  const sorted = [...events].sort((a, b) => a.timeMs - b.timeMs);
  const out: TimelineEntry[] = [];
  // the open run of each (kind, service, subject); another kind of event about the same subject
  // (a return between two ejections) ends it
  const runs = new Map<string, { first: EventRecord; lastMs: number; count: number; index: number }>();
  const lastKind = new Map<string, string>();
  for (const e of sorted) {
    const about = `${e.service ?? ''}\u0000${subject(e) ?? ''}`;
    const key = `${e.kind}\u0000${about}`;
    const run = runs.get(key);
    const interrupted = lastKind.get(about) !== e.kind;
    lastKind.set(about, e.kind);
    if (run !== undefined && !interrupted && e.timeMs - run.lastMs <= foldMs) {
      run.count++;
      run.lastMs = e.timeMs;
      const seconds = Math.round((run.lastMs - run.first.timeMs) / 1000);
      out[run.index] = {
        ...(out[run.index] as TimelineEntry),
        text: `${eventText(run.first)} ×${run.count} over ${seconds} s`,
      };
      continue;
    }
    runs.set(key, { first: e, lastMs: e.timeMs, count: 1, index: out.length });
    out.push({ timeMs: e.timeMs, service: e.service ?? e.instance ?? '', text: eventText(e) });
  }
  return out;
}
