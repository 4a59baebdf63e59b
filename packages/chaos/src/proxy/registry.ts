import { ChaosErrorCode, FaultlineChaosError } from './errors.js';
import { type ChangeRecorder, chaosChannels } from './events.js';
import type {
  ProxyConfig,
  ProxyJson,
  ProxyStats,
  ProxyUpdate,
  ToxicConfig,
  ToxicJson,
  ToxicUpdate,
} from './model.js';
import { toxicJson } from './model.js';
import { type ProxyEnv, ProxyInstance } from './proxy.js';
import { applyToxicUpdate, makeToxic } from './toxic-spec.js';

const DEFAULT_LISTEN = '127.0.0.1:0';

function missing(field: string, at?: number): never {
  const suffix = at === undefined ? '' : ` at proxy ${at}`;
  throw new FaultlineChaosError(ChaosErrorCode.ProxyInvalid, `missing required field: ${field}${suffix}`, {
    details: { field, ...(at === undefined ? {} : { index: at - 1 }) },
  });
}

function checkConfig(config: ProxyConfig, at?: number): void {
  if (typeof config.name !== 'string' || config.name.length === 0) missing('name', at);
  if (typeof config.upstream !== 'string' || config.upstream.length === 0) missing('upstream', at);
}

/**
 * The proxies of a server, driven in process (the REST API calls the same methods). Every change is
 * published on `faultline:chaos:*` and written to the events file. Methods that bind or close
 * listeners run one at a time.
 * @example const p = await server.proxies.create({ name: 'db', upstream: '127.0.0.1:5432' });
 */
export class ProxyRegistry {
  private readonly proxies = new Map<string, ProxyInstance>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** @internal */
  constructor(
    private readonly env: ProxyEnv,
    private readonly recorder: ChangeRecorder,
  ) {}

  /** Every proxy, sorted by name. */
  list(): ProxyJson[] {
    return [...this.proxies.keys()].sort().map((n) => (this.proxies.get(n) as ProxyInstance).toJSON());
  }

  /** One proxy; throws FL_PROXY_NOT_FOUND. */
  get(name: string): ProxyJson {
    return this.find(name).toJSON();
  }

  /** Byte and connection counters per proxy, sorted by name. */
  stats(): ProxyStats[] {
    return [...this.proxies.keys()].sort().map((n) => (this.proxies.get(n) as ProxyInstance).stats());
  }

  /**
   * Creates a proxy and (unless `enabled: false`) binds its listener. Throws FL_PROXY_INVALID,
   * FL_PROXY_EXISTS, FL_PROXY_LISTEN (then nothing is created) or FL_TOXIC_* for `toxics`.
   */
  create(config: ProxyConfig): Promise<ProxyJson> {
    return this.serial(async () => {
      checkConfig(config);
      if (this.proxies.has(config.name)) {
        throw new FaultlineChaosError(ChaosErrorCode.ProxyExists, `proxy "${config.name}" already exists`, {
          apiMessage: 'proxy already exists',
          details: { proxy: config.name },
        });
      }
      return (await this.add(config)).toJSON();
    });
  }

  /**
   * Creates proxies in one go (Toxiproxy's `/populate`): all entries are checked first; an existing
   * proxy with the same listen and upstream is kept, any other one is replaced.
   */
  populate(configs: readonly ProxyConfig[]): Promise<ProxyJson[]> {
    return this.serial(async () => {
      configs.forEach((c, i) => {
        checkConfig(c, i + 1);
      });
      const out: ProxyJson[] = [];
      for (const config of configs) {
        const existing = this.proxies.get(config.name);
        if (
          existing !== undefined &&
          existing.listen === (config.listen ?? DEFAULT_LISTEN) &&
          existing.upstream === config.upstream
        ) {
          out.push(existing.toJSON());
          continue;
        }
        if (existing !== undefined) await this.delete(existing);
        out.push((await this.add(config)).toJSON());
      }
      return out;
    });
  }

  /**
   * Changes a proxy; fields left out keep their values. A new listen or upstream restarts the
   * listener (closing live connections); `enabled: false` closes the listener and every connection.
   */
  update(name: string, update: ProxyUpdate): Promise<ProxyJson> {
    return this.serial(async () => {
      const proxy = this.find(name);
      const listen = update.listen ?? proxy.listen;
      const upstream = update.upstream ?? proxy.upstream;
      const enabled = update.enabled ?? proxy.enabled;
      let restart = false;
      if (listen !== proxy.listen || upstream !== proxy.upstream) {
        restart = proxy.enabled;
        await proxy.stop();
        proxy.listen = listen;
        proxy.upstream = upstream;
      }
      if (enabled && (!proxy.enabled || restart)) await proxy.start();
      else if (!enabled && proxy.enabled) await proxy.stop();
      const json = proxy.toJSON();
      this.recorder.record(chaosChannels.proxy, 'chaos.proxy.updated', () => ({ proxy: name, config: json }));
      return json;
    });
  }

  /** Deletes a proxy, closing its listener and connections. Throws FL_PROXY_NOT_FOUND. */
  remove(name: string): Promise<void> {
    return this.serial(async () => {
      await this.delete(this.find(name));
    });
  }

  /** The toxics of a proxy: upstream ones first, then downstream, then `both`. */
  toxics(proxy: string): ToxicJson[] {
    return this.find(proxy).listToxics().map(toxicJson);
  }

  /** One toxic; throws FL_PROXY_NOT_FOUND or FL_TOXIC_NOT_FOUND. */
  toxic(proxy: string, name: string): ToxicJson {
    return toxicJson(this.findToxic(proxy, name));
  }

  /** Adds a toxic; live connections see it at once. Throws FL_TOXIC_INVALID or FL_TOXIC_EXISTS. */
  addToxic(proxy: string, config: ToxicConfig): ToxicJson {
    const p = this.find(proxy);
    const toxic = makeToxic(config, (n) => p.findToxic(n) !== undefined);
    p.addToxic(toxic);
    const json = toxicJson(toxic);
    this.recorder.record(chaosChannels.toxic, 'chaos.toxic.added', () => ({ proxy, toxic: json }));
    return json;
  }

  /** Changes a toxic's toxicity and attributes (merged into the current ones). */
  updateToxic(proxy: string, name: string, update: ToxicUpdate): ToxicJson {
    const p = this.find(proxy);
    const toxic = this.findToxic(proxy, name);
    const next = applyToxicUpdate(toxic, update);
    p.updateToxic(toxic, next.toxicity, next.attributes);
    const json = toxicJson(toxic);
    this.recorder.record(chaosChannels.toxic, 'chaos.toxic.updated', () => ({ proxy, toxic: json }));
    return json;
  }

  /** Removes a toxic; its pending data moves on (a removed `timeout` closes the connections it held). */
  removeToxic(proxy: string, name: string): void {
    const p = this.find(proxy);
    const toxic = this.findToxic(proxy, name);
    p.removeToxic(toxic);
    const json = toxicJson(toxic);
    this.recorder.record(chaosChannels.toxic, 'chaos.toxic.removed', () => ({ proxy, toxic: json }));
  }

  /** Enables every proxy and removes every toxic; proxies stay. */
  reset(): Promise<void> {
    return this.serial(async () => {
      let failure: unknown;
      for (const p of this.proxies.values()) {
        for (const t of p.toxics.slice()) {
          p.removeToxic(t);
          const json = toxicJson(t);
          this.recorder.record(chaosChannels.toxic, 'chaos.toxic.removed', () => ({
            proxy: p.name,
            toxic: json,
          }));
        }
        if (!p.enabled) {
          try {
            await p.start();
          } catch (e) {
            failure ??= e;
          }
        }
      }
      this.recorder.record(chaosChannels.proxy, 'chaos.reset', () => ({}));
      if (failure !== undefined) throw failure;
    });
  }

  /** Closes every proxy; later calls that change proxies fail with FL_SERVER_CLOSED. */
  close(): Promise<void> {
    const run = this.queue.then(async () => {
      this.closed = true;
      const all = [...this.proxies.values()];
      this.proxies.clear();
      await Promise.all(all.map((p) => p.stop()));
    });
    this.queue = run.catch(() => {});
    return run;
  }

  private find(name: string): ProxyInstance {
    const p = this.proxies.get(name);
    if (p === undefined) {
      throw new FaultlineChaosError(ChaosErrorCode.ProxyNotFound, `proxy "${name}" not found`, {
        apiMessage: 'proxy not found',
        details: { proxy: name },
      });
    }
    return p;
  }

  private findToxic(proxy: string, name: string) {
    const t = this.find(proxy).findToxic(name);
    if (t === undefined) {
      throw new FaultlineChaosError(
        ChaosErrorCode.ToxicNotFound,
        `toxic "${name}" not found on proxy "${proxy}"`,
        {
          apiMessage: 'toxic not found',
          details: { proxy, toxic: name },
        },
      );
    }
    return t;
  }

  private async add(config: ProxyConfig): Promise<ProxyInstance> {
    const proxy = new ProxyInstance(config.name, config.listen ?? DEFAULT_LISTEN, config.upstream, this.env);
    for (const t of config.toxics ?? []) {
      proxy.addToxic(makeToxic(t, (n) => proxy.findToxic(n) !== undefined));
    }
    if (config.enabled ?? true) await proxy.start();
    this.proxies.set(proxy.name, proxy);
    const json = proxy.toJSON();
    this.recorder.record(chaosChannels.proxy, 'chaos.proxy.created', () => ({
      proxy: proxy.name,
      config: json,
    }));
    for (const t of json.toxics) {
      this.recorder.record(chaosChannels.toxic, 'chaos.toxic.added', () => ({ proxy: proxy.name, toxic: t }));
    }
    return proxy;
  }

  private async delete(proxy: ProxyInstance): Promise<void> {
    this.proxies.delete(proxy.name);
    await proxy.stop();
    this.recorder.record(chaosChannels.proxy, 'chaos.proxy.deleted', () => ({ proxy: proxy.name }));
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) {
        throw new FaultlineChaosError(ChaosErrorCode.ServerClosed, 'the proxy server is closed', {
          apiMessage: 'server closed',
        });
      }
      return fn();
    });
    this.queue = run.catch(() => {});
    return run;
  }
}
