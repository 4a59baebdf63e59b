import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { currentRequestId, rawHeader, requestIdOf, runInRequest } from './request-context.js';

const withRaw = (rawHeaders: string[]) => ({ rawHeaders }) as unknown as IncomingMessage;

describe('request ids', () => {
  it('reads x-request-id from the raw headers whatever its case, first value first', () => {
    const req = withRaw(['Host', 'x', 'X-Request-ID', 'req-1', 'x-request-id', 'req-2']);
    expect(rawHeader(req, 'x-request-id')).toBe('req-1');
    expect(requestIdOf(req)).toBe('req-1');
    expect(rawHeader(req, 'traceparent')).toBeUndefined();
  });

  it('replaces a missing or unacceptable id by a generated UUID', () => {
    expect(requestIdOf(withRaw([]))).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdOf(withRaw(['x-request-id', 'has space']))).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdOf(withRaw(['x-request-id', 'x'.repeat(129)]))).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('makes the id current while a request runs, and restores the one around it', () => {
    expect(currentRequestId()).toBeUndefined();
    const seen = runInRequest('outer', () => {
      const inner = runInRequest('inner', (x: number) => `${currentRequestId()}:${x}`, 1);
      return [inner, currentRequestId()];
    });
    expect(seen).toEqual(['inner:1', 'outer']);
    expect(currentRequestId()).toBeUndefined();
  });
});
