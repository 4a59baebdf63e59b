import { sendHttp } from './http-request.js';
import type { CleanupRecord } from './journal.js';
import type { TrackedProcess } from './processes.js';

interface ToxicRef {
  readonly api: string;
  readonly proxy: string;
  readonly name: string;
}

interface ProxyRef {
  readonly api: string;
  readonly proxy: string;
}

const enc = encodeURIComponent;

/**
 * Everything a run injected and has not undone yet: toxics it added, proxies it disabled,
 * processes it started. Whatever is still here after the rollbacks is undone by {@link cleanup}.
 */
export class Ledger {
  readonly toxics = new Map<string, ToxicRef>();
  readonly disabled = new Map<string, ProxyRef>();
  readonly processes = new Set<TrackedProcess>();

  addToxic(ref: ToxicRef): void {
    this.toxics.set(`${ref.api}|${ref.proxy}|${ref.name}`, ref);
  }
  forgetToxic(ref: ToxicRef): void {
    this.toxics.delete(`${ref.api}|${ref.proxy}|${ref.name}`);
  }
  addDisabled(ref: ProxyRef): void {
    this.disabled.set(`${ref.api}|${ref.proxy}`, ref);
  }
  forgetDisabled(ref: ProxyRef): void {
    this.disabled.delete(`${ref.api}|${ref.proxy}`);
  }

  /** Undoes everything still recorded; each step is bounded in time and recorded. */
  async cleanup(records: CleanupRecord[], log: (line: string) => void, killGraceMs: number): Promise<void> {
    for (const [key, t] of [...this.toxics]) {
      const target = `${t.api} proxy ${t.proxy} toxic ${t.name}`;
      try {
        const res = await sendHttp(`${t.api}/proxies/${enc(t.proxy)}/toxics/${enc(t.name)}`, {
          method: 'DELETE',
          timeoutMs: 5000,
        });
        const ok = res.status === 204 || res.status === 200 || res.status === 404;
        records.push({
          kind: 'toxic',
          target,
          ok,
          at: new Date().toISOString(),
          detail: { status: res.status, ...(res.status === 404 ? { alreadyAbsent: true } : {}) },
          ...(ok ? {} : { error: `HTTP ${res.status}: ${res.body.trim()}` }),
        });
        if (ok) this.toxics.delete(key);
        log(`  cleanup: removed toxic ${t.name} from ${t.proxy}${ok ? '' : ` FAILED (HTTP ${res.status})`}`);
      } catch (e) {
        records.push({ kind: 'toxic', target, ok: false, at: new Date().toISOString(), error: String(e) });
        log(`  cleanup: removing toxic ${t.name} from ${t.proxy} FAILED: ${String(e)}`);
      }
    }
    for (const [key, p] of [...this.disabled]) {
      const target = `${p.api} proxy ${p.proxy}`;
      try {
        const res = await sendHttp(`${p.api}/proxies/${enc(p.proxy)}`, {
          method: 'POST',
          body: JSON.stringify({ enabled: true }),
          timeoutMs: 5000,
        });
        const ok = res.status === 200 || res.status === 404;
        records.push({
          kind: 'proxy-enable',
          target,
          ok,
          at: new Date().toISOString(),
          detail: { status: res.status },
        });
        if (ok) this.disabled.delete(key);
        log(`  cleanup: re-enabled proxy ${p.proxy}${ok ? '' : ` FAILED (HTTP ${res.status})`}`);
      } catch (e) {
        records.push({
          kind: 'proxy-enable',
          target,
          ok: false,
          at: new Date().toISOString(),
          error: String(e),
        });
      }
    }
    await Promise.all(
      [...this.processes].map(async (p) => {
        const alive = p.groupAlive();
        if (!alive && p.exited !== undefined) {
          this.processes.delete(p);
          return;
        }
        const { signal } = await p.killGroup(killGraceMs);
        const gone = !p.groupAlive();
        records.push({
          kind: 'process',
          target: `${p.name} (pid ${String(p.pid)})`,
          ok: gone,
          at: new Date().toISOString(),
          detail: { killedWith: signal, exit: p.exited ?? null },
          ...(gone ? {} : { error: 'still running after SIGKILL' }),
        });
        if (gone) this.processes.delete(p);
        log(`  cleanup: stopped process ${p.name} (pid ${String(p.pid)}) with ${String(signal)}`);
      }),
    );
  }
}
