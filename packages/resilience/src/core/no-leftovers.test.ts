import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const index = fileURLToPath(new URL('../index.ts', import.meta.url));

/**
 * Runs a script in a fresh Node process (through tsx, on the sources) and returns its output and
 * how long the process took to exit after the script's last statement.
 */
function runChild(body: string): { out: string; exitLagMs: number; status: number | null; err: string } {
  const script = `
    import * as R from ${JSON.stringify(index)};
    const before = new Set(process.getActiveResourcesInfo());
    ${body}
    const left = process.getActiveResourcesInfo().filter((r) => !before.has(r));
    console.log(JSON.stringify({ left, end: performance.timeOrigin + performance.now() }));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
    // tsx would otherwise leave its compile cache in the temp folder
    env: { ...process.env, TSX_DISABLE_CACHE: '1' },
  });
  const exitedAt = Date.now();
  const line = r.stdout.trim().split('\n').at(-1) ?? '{}';
  const parsed = JSON.parse(line) as { end?: number };
  return { out: line, exitLagMs: exitedAt - (parsed.end ?? exitedAt), status: r.status, err: r.stderr };
}

describe('a process using the library', () => {
  it('exits at once after successful calls, with no timer or listener left behind', () => {
    const r = runChild(`
      const policy = R.wrap(R.retry({ maxRetries: 2 }), R.timeout(60_000), R.timeout(30_000, { resolution: 0 }));
      const ac = new AbortController();
      for (let i = 0; i < 1000; i++) {
        await policy.execute(async ({ signal }) => signal.aborted ? 0 : i, i % 2 ? { signal: ac.signal } : undefined);
      }
      const { getEventListeners } = await import('node:events');
      const listeners = getEventListeners(ac.signal, 'abort').length;
      if (listeners !== 0) throw new Error(listeners + ' abort listeners left on the caller signal');
    `);
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.out).left).toEqual([]);
    // the 60 s timeouts must not hold the process: it exits as soon as the script is done
    expect(r.exitLagMs).toBeLessThan(2000);
  });
});
