import type { ConnectionToxicKind } from './stage.js';

/**
 * `refuse_connection` (faultline extra, "cable unplugged"): each new connection it applies to is
 * accepted and at once closed with a TCP RST, before anything is sent upstream. Live connections
 * are untouched.
 */
export const refuseConnectionToxic: ConnectionToxicKind = {
  type: 'refuse_connection',
  level: 'connection',
  attributes: [],
};

/**
 * `delay_accept` (faultline extra): each new connection it applies to is held `delay` ms before the
 * proxy connects upstream; what the client sends meanwhile waits. Live connections are untouched.
 */
export const delayAcceptToxic: ConnectionToxicKind = {
  type: 'delay_accept',
  level: 'connection',
  attributes: ['delay'],
};
