import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ChaosErrorCode, FaultlineChaosError, isFaultlineChaosError, statusOfCode } from './errors.js';

const docs = ['../../../../docs/chaos.md']
  .map((p) => fileURLToPath(new URL(p, import.meta.url)))
  .filter((p) => existsSync(p))
  .map((p) => readFileSync(p, 'utf8'))
  .join('\n');

describe('FaultlineChaosError', () => {
  it('carries a stable code, the API status and the faultline brand', () => {
    const e = new FaultlineChaosError('FL_PROXY_NOT_FOUND', 'proxy "x" not found', {
      apiMessage: 'proxy not found',
    });
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('FL_PROXY_NOT_FOUND');
    expect(e.status).toBe(404);
    expect(e.apiMessage).toBe('proxy not found');
    expect((e as unknown as Record<symbol, unknown>)[Symbol.for('faultline.error')]).toBe(true);
    expect(isFaultlineChaosError(e)).toBe(true);
    expect(isFaultlineChaosError(new Error('x'))).toBe(false);
  });

  it('documents every code in the docs', () => {
    for (const code of Object.values(ChaosErrorCode)) {
      expect(docs).toContain(`| \`${code}\` |`);
      expect(statusOfCode[code]).toBeGreaterThanOrEqual(400);
    }
  });
});
