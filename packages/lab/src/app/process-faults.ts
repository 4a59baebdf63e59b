/**
 * Faults a lab app can inflict on itself, as real code paths would: a leak that retains many
 * small objects (so every major GC has more to mark, as real leaks of request objects do), CPU
 * burn, event-loop blocking.
 */
export interface ProcessFaults {
  /** Retains `mbPerS` MB of small objects per second until cleared. */
  leak(mbPerS: number): void;
  /** Busies the CPU for `percent` of every 100 ms. */
  burn(percent: number): void;
  /** Blocks the event loop for `ms` once. */
  block(ms: number): void;
  /** Stops leaking (releasing the leaked memory) and burning. */
  clear(kind?: 'leak' | 'cpu'): void;
  /** MB retained by the leak so far. */
  leakedMb(): number;
  close(): void;
}

/** Roughly what one retained record costs on the heap: object, two strings, an array slot. */
const RECORD_BYTES = 200;

export function processFaults(): ProcessFaults {
  let retained: unknown[][] = [];
  let leakedBytes = 0;
  let leakTimer: NodeJS.Timeout | undefined;
  let burnTimer: NodeJS.Timeout | undefined;
  let seq = 0;

  const busy = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      // spin: this is the fault
    }
  };

  return {
    leak(mbPerS) {
      if (leakTimer !== undefined) clearInterval(leakTimer);
      const perTick = Math.max(1, Math.round((mbPerS * 1024 * 1024) / RECORD_BYTES / 10));
      leakTimer = setInterval(() => {
        const batch: unknown[] = new Array(perTick);
        for (let i = 0; i < perTick; i++) {
          seq++;
          // distinct strings and objects, like request bodies kept in a forgotten map
          batch[i] = { id: seq, at: Date.now(), note: `request-${seq}-${'x'.repeat(seq % 64)}` };
        }
        retained.push(batch);
        leakedBytes += perTick * RECORD_BYTES;
      }, 100);
    },
    burn(percent) {
      if (burnTimer !== undefined) clearInterval(burnTimer);
      const ms = Math.max(0, Math.min(95, percent));
      burnTimer = setInterval(() => busy(ms), 100);
    },
    block(ms) {
      busy(ms);
    },
    clear(kind) {
      if (kind === undefined || kind === 'leak') {
        if (leakTimer !== undefined) clearInterval(leakTimer);
        leakTimer = undefined;
        retained = [];
        leakedBytes = 0;
      }
      if (kind === undefined || kind === 'cpu') {
        if (burnTimer !== undefined) clearInterval(burnTimer);
        burnTimer = undefined;
      }
    },
    leakedMb() {
      return leakedBytes / (1024 * 1024);
    },
    close() {
      this.clear();
    },
  };
}
