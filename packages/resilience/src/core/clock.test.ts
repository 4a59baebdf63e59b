import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';

describe('ManualClock', () => {
  it('property: fires exactly the live timers that fall due, in (time, insertion) order', async () => {
    type Op =
      | { kind: 'set'; ms: number }
      | { kind: 'clear'; index: number }
      | { kind: 'advance'; ms: number };
    const op = fc.oneof(
      fc.integer({ min: 0, max: 100 }).map<Op>((ms) => ({ kind: 'set', ms })),
      fc.nat(50).map<Op>((index) => ({ kind: 'clear', index })),
      fc.integer({ min: 0, max: 60 }).map<Op>((ms) => ({ kind: 'advance', ms })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const clock = new ManualClock();
        const fired: number[] = [];
        const model: { id: number; at: number; live: boolean }[] = [];
        const handles: unknown[] = [];
        for (const o of ops) {
          if (o.kind === 'set') {
            const id = model.length;
            model.push({ id, at: clock.now() + o.ms, live: true });
            handles.push(clock.setTimeout(() => fired.push(id), o.ms));
          } else if (o.kind === 'clear') {
            const m = model[o.index];
            if (m !== undefined) {
              clock.clearTimeout(handles[o.index]);
              m.live = false;
            }
          } else {
            const end = clock.now() + o.ms;
            const due = model
              .filter((m) => m.live && m.at <= end)
              .sort((a, b) => a.at - b.at || a.id - b.id)
              .map((m) => m.id);
            for (const m of model) if (m.live && m.at <= end) m.live = false;
            const before = fired.length;
            await clock.advance(o.ms);
            expect(fired.slice(before)).toEqual(due);
          }
          expect(clock.pendingTimers).toBe(model.filter((m) => m.live).length);
        }
      }),
      { numRuns: 200 },
    );
  });
});
