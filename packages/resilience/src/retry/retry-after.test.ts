import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRetryAfter, retryAfterOf } from './retry-after.js';

describe('Retry-After', () => {
  const now = Date.parse('2026-11-24T10:00:00Z');

  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Tue, 24 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 24 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-3', now)).toBeUndefined();
  });

  it('finds the header on responses, header records, errors and explicit hints', () => {
    const clock = () => now;
    expect(retryAfterOf({ headers: new Headers({ 'Retry-After': '3' }) }, clock)).toBe(3000);
    expect(retryAfterOf({ headers: { 'retry-after': '4' } }, clock)).toBe(4000);
    expect(retryAfterOf({ headers: { 'retry-after': ['5'] } }, clock)).toBe(5000);
    expect(
      retryAfterOf(Object.assign(new Error('429'), { response: { headers: { 'retry-after': '6' } } }), clock),
    ).toBe(6000);
    expect(retryAfterOf({ retryAfterMs: 70 }, clock)).toBe(70);
    expect(retryAfterOf({ headers: {} }, clock)).toBeUndefined();
    expect(retryAfterOf('429', clock)).toBeUndefined();
    expect(retryAfterOf(null, clock)).toBeUndefined();
  });

  it('property: any string parses to undefined or a non-negative number, never throws', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const v = parseRetryAfter(s, now);
        expect(v === undefined || (Number.isFinite(v) && v >= 0)).toBe(true);
      }),
    );
  });
});
