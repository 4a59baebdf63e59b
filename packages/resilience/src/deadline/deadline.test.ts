import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import {
  currentDeadline,
  DEADLINE_HEADER,
  deadlineHeaders,
  parseDeadlineHeader,
  remainingTime,
  withDeadline,
} from './deadline.js';

describe('deadline propagation', () => {
  it('carries the deadline through awaits and reports the time left', async () => {
    const clock = new ManualClock(1000);
    expect(remainingTime()).toBe(Number.POSITIVE_INFINITY);
    await withDeadline(
      500,
      async () => {
        await clock.advance(200);
        await new Promise((r) => setImmediate(r));
        expect(remainingTime()).toBe(300);
        expect(deadlineHeaders()).toEqual({ [DEADLINE_HEADER]: '300' });
      },
      { clock },
    );
    expect(currentDeadline()).toBeUndefined();
    expect(deadlineHeaders()).toEqual({});
  });

  it('an inner deadline never extends the outer one', () => {
    const clock = new ManualClock();
    withDeadline(
      100,
      () => {
        withDeadline(1000, () => expect(remainingTime()).toBe(100), { clock });
        withDeadline(50, () => expect(remainingTime()).toBe(50), { clock });
      },
      { clock },
    );
  });

  it('never reports negative time', async () => {
    const clock = new ManualClock();
    await withDeadline(
      10,
      async () => {
        await clock.advance(50);
        expect(remainingTime()).toBe(0);
      },
      { clock },
    );
  });

  it('parses its own header and gRPC timeouts, and ignores garbage', () => {
    expect(parseDeadlineHeader('250')).toBe(250);
    expect(parseDeadlineHeader(['1500'])).toBe(1500);
    expect(parseDeadlineHeader('2S')).toBe(2000);
    expect(parseDeadlineHeader('150m')).toBe(150);
    expect(parseDeadlineHeader('1M')).toBe(60_000);
    for (const bad of ['', ' ', '-5', 'abc', '1e9', '12x', undefined, null]) {
      expect(parseDeadlineHeader(bad)).toBeUndefined();
    }
  });

  it('rejects a negative duration', () => {
    expect(() => withDeadline(-1, () => 0)).toThrow(/option "ms"/);
  });
});
