import { startProxyServer } from '@faultline/chaos';
import { runComponent } from '../process/child-component.js';

/** The lab's fault proxies: one per dependency, all driven through the Toxiproxy REST API. */
export interface FaultProxyConfig {
  /** proxy name → upstream `host:port` */
  readonly upstreams: Readonly<Record<string, string>>;
  /** every toxic change as an event, for the run's ground truth */
  readonly eventsFile: string;
}

runComponent<FaultProxyConfig>(async (config) => {
  const server = await startProxyServer({
    port: 0,
    eventsFile: config.eventsFile,
    config: Object.entries(config.upstreams).map(([name, upstream]) => ({
      name,
      listen: '127.0.0.1:0',
      upstream,
      enabled: true,
    })),
  });
  const listen: Record<string, string> = {};
  for (const p of server.proxies.list()) listen[p.name] = p.listen;
  return { info: { apiUrl: server.url, listen }, close: () => server.close() };
});
