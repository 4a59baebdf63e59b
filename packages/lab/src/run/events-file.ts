import { appendFileSync } from 'node:fs';

/** One lab event line: `{ time, kind, service?, instance?, … }` (the bundle's events format). */
export interface LabEvent {
  readonly time: string;
  readonly kind: string;
  readonly service?: string;
  readonly instance?: string;
  readonly [field: string]: unknown;
}

/** Appends events to a JSON-lines file synchronously: an event is on disk before the next step runs. */
export class EventsFile {
  readonly written: LabEvent[] = [];

  constructor(readonly path: string) {}

  write(kind: string, fields: Readonly<Record<string, unknown>> = {}, at: Date = new Date()): LabEvent {
    const event: LabEvent = { time: at.toISOString(), kind, ...fields };
    appendFileSync(this.path, `${JSON.stringify(event)}\n`);
    this.written.push(event);
    return event;
  }
}
