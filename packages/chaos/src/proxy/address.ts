import type { AddressInfo } from 'node:net';

/** A parsed `host:port`. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `host:port`, `[v6]:port` or `:port` (empty host: 127.0.0.1, the safe default) as Go's
 * net.SplitHostPort does; returns a reason string when it cannot.
 */
export function parseHostPort(address: string): HostPort | string {
  const colon = address.lastIndexOf(':');
  if (colon < 0) return `address ${address}: missing port in address`;
  let host = address.slice(0, colon);
  const portText = address.slice(colon + 1);
  if (host.startsWith('[')) {
    if (!host.endsWith(']')) return `address ${address}: missing ']' in address`;
    host = host.slice(1, -1);
  } else if (host.includes(':')) {
    return `address ${address}: too many colons in address`;
  }
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) {
    return `address ${address}: invalid port`;
  }
  return { host: host === '' ? '127.0.0.1' : host, port: Number(portText) };
}

/** `host:port` of a bound socket, IPv6 hosts in brackets. */
export function formatAddress(info: AddressInfo | string | null, fallback: string): string {
  if (info === null || typeof info === 'string') return fallback;
  return info.family === 'IPv6' || info.address.includes(':')
    ? `[${info.address}]:${info.port}`
    : `${info.address}:${info.port}`;
}

/** Go's wording for common listen errors (`bind: address already in use`). */
export function listenErrorText(address: string, error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const text =
    code === 'EADDRINUSE'
      ? 'bind: address already in use'
      : code === 'EACCES'
        ? 'bind: permission denied'
        : code === 'EADDRNOTAVAIL'
          ? 'bind: cannot assign requested address'
          : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
            ? 'no such host'
            : error instanceof Error
              ? error.message
              : String(error);
  return `listen tcp ${address}: ${text}`;
}
