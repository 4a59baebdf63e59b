import { describe, expect, it } from 'vitest';
import { runDemo } from './demo.js';

describe('runDemo', () => {
  it('prints a report of at most 100 columns that tells both outcomes honestly', async () => {
    const lines: string[] = [];
    const { naive, hardened } = await runDemo((line) => lines.push(line), { durationS: 40 });
    expect(lines.length).toBeLessThan(40);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(100);
    const text = lines.join('\n');
    expect(text).toContain('retry storm (scenario 3)');
    expect(text).toMatch(/recovered after the trigger ended\s+no\s+yes, in \d+ s/);
    expect(naive.summary.recovered).toBe(false);
    expect(hardened.summary.recovered).toBe(true);
    // one sparkline column per simulated second
    const capacity = lines.find((l) => l.startsWith('capacity'));
    expect(capacity?.slice(13)).toBe(`${'#'.repeat(10)}${'-'.repeat(10)}${'#'.repeat(20)}`);
    expect(lines.at(-1)).toMatch(/^Why: the budget kept attempts at 1\.\d\dx demand/);
  });
});
