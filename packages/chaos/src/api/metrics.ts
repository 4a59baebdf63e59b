import type { ProxyStats } from '../proxy/model.js';

function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * Prometheus text exposition of the proxies' counters, with Toxiproxy's metric names
 * (`toxiproxy_proxy_received_bytes_total` / `…_sent_bytes_total` by direction, proxy, listener,
 * upstream) plus faultline's connection counters.
 */
export function renderMetrics(stats: readonly ProxyStats[]): string {
  const lines: string[] = [];
  const counter = (
    name: string,
    help: string,
    type: 'counter' | 'gauge',
    rows: (s: ProxyStats) => [string, number][],
  ) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const s of stats) {
      const base = `proxy="${label(s.name)}",listener="${label(s.listen)}",upstream="${label(s.upstream)}"`;
      for (const [extra, v] of rows(s)) lines.push(`${name}{${extra}${base}} ${v}`);
    }
  };
  counter(
    'toxiproxy_proxy_received_bytes_total',
    'The total number of bytes received from the client',
    'counter',
    (s) => [
      ['direction="upstream",', s.upstreamBytes.received],
      ['direction="downstream",', s.downstreamBytes.received],
    ],
  );
  counter(
    'toxiproxy_proxy_sent_bytes_total',
    'The total number of bytes sent to the client',
    'counter',
    (s) => [
      ['direction="upstream",', s.upstreamBytes.sent],
      ['direction="downstream",', s.downstreamBytes.sent],
    ],
  );
  counter('faultline_chaos_proxy_connections_total', 'Connections accepted by the proxy', 'counter', (s) => [
    ['', s.connectionsTotal],
  ]);
  counter('faultline_chaos_proxy_connections_open', 'Connections open through the proxy', 'gauge', (s) => [
    ['', s.connectionsOpen],
  ]);
  return `${lines.join('\n')}\n`;
}
