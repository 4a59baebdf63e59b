import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ResilienceErrorCode } from './errors.js';

describe('error codes', () => {
  it('every code is documented in docs/resilience.md, and every documented code exists', () => {
    const doc = readFileSync(new URL('../../../../docs/resilience.md', import.meta.url), 'utf8');
    const codes = Object.values(ResilienceErrorCode);
    for (const code of codes) expect(doc, `${code} is not documented`).toContain(`\`${code}\``);
    const table = doc.slice(doc.indexOf('## Errors'));
    const documented = new Set([...table.matchAll(/^\| `(FL_[A-Z_]+)`/gm)].map((m) => m[1]));
    expect([...documented].sort()).toEqual([...codes].sort());
  });

  it('codes are unique and follow the FL_ naming', () => {
    const codes = Object.values(ResilienceErrorCode);
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of codes) expect(c).toMatch(/^FL_[A-Z_]+$/);
  });
});
