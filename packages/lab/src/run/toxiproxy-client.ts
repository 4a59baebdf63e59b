/**
 * The lab drives its fault proxies through the Toxiproxy REST API, exactly as an existing
 * Toxiproxy client would.
 */
export class ToxiproxyClient {
  constructor(private readonly apiUrl: string) {}

  async addToxic(
    proxy: string,
    toxic: {
      name: string;
      type: string;
      stream?: string;
      toxicity?: number;
      attributes: Readonly<Record<string, number | string>>;
    },
  ): Promise<void> {
    await this.call('POST', `/proxies/${proxy}/toxics`, { stream: 'downstream', toxicity: 1, ...toxic });
  }

  async removeToxic(proxy: string, name: string): Promise<void> {
    await this.call('DELETE', `/proxies/${proxy}/toxics/${name}`);
  }

  async setEnabled(proxy: string, enabled: boolean): Promise<void> {
    await this.call('POST', `/proxies/${proxy}`, { enabled });
  }

  private async call(method: string, path: string, body?: unknown): Promise<void> {
    const res = await fetch(new URL(path, this.apiUrl), {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    if (!res.ok) throw new Error(`fault proxy ${method} ${path}: ${res.status} ${await res.text()}`);
  }
}
