import { type Channel, channel } from 'node:diagnostics_channel';
import { closeSync, openSync, writeSync } from 'node:fs';
import { ChaosErrorCode, FaultlineChaosError } from './errors.js';

/**
 * Diagnostics channels the fault proxy publishes on. Messages are the event records below, built
 * only when someone listens (or an events file is configured).
 * @example diagnostics_channel.subscribe('faultline:chaos:toxic', (e) => console.log(e.kind, e.toxic));
 */
export const chaosChannels = {
  /** `chaos.proxy.created|updated|deleted`, `chaos.reset`: `{ time, kind, proxy, … }`. */
  proxy: channel('faultline:chaos:proxy'),
  /** `chaos.toxic.added|updated|removed`: `{ time, kind, proxy, toxic }`. */
  toxic: channel('faultline:chaos:toxic'),
  /** `chaos.connection`, one per accepted connection: `{ time, kind, proxy, client, upstream, toxics, skipped }`. */
  connection: channel('faultline:chaos:connection'),
  /**
   * `chaos.http.fault`, one per request an HTTP toxic acted on: `{ time, kind, proxy, client, method,
   * path, toxics, action, status?, delayMs?, close? }`; `chaos.http.passthrough`, once per connection
   * and direction whose bytes are not HTTP/1.x: `{ time, kind, proxy, client, direction, reason }`.
   */
  http: channel('faultline:chaos:http'),
} as const satisfies Record<string, Channel>;

/** One change, as published and as written to the events file (bundle format: one JSON per line). */
export interface ChaosEvent {
  readonly time: string;
  readonly kind: string;
  readonly [field: string]: unknown;
}

/** Publishes changes on the channels and appends them to the events file, when there is one. */
export class ChangeRecorder {
  private fd: number | undefined;

  constructor(readonly eventsFile?: string) {
    if (eventsFile === undefined) return;
    try {
      this.fd = openSync(eventsFile, 'a');
    } catch (e) {
      throw new FaultlineChaosError(
        ChaosErrorCode.EventsFile,
        `cannot open events file ${eventsFile}: ${(e as Error).message}`,
        { cause: e, details: { file: eventsFile } },
      );
    }
  }

  /** Records a change; `build` runs only when someone will see the result. */
  record(ch: Channel, kind: string, build: () => Record<string, unknown>): void {
    const toFile = this.fd !== undefined;
    if (!toFile && !ch.hasSubscribers) return;
    const event: ChaosEvent = { time: new Date().toISOString(), kind, ...build() };
    if (ch.hasSubscribers) ch.publish(event);
    if (this.fd !== undefined) {
      try {
        writeSync(this.fd, `${JSON.stringify(event)}\n`);
      } catch {
        // a full disk must not break the proxy; the change itself has happened
      }
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}
