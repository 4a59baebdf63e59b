import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';

/** Told when undici creates the request of the watched fetch, and when it writes it to a socket. @internal */
export interface SocketWatcher {
  /** undici created the request (so the watch works for this fetch) */
  onRequest(): void;
  /** the request's headers were written to a connected socket */
  onSent(): void;
}

const current = new AsyncLocalStorage<SocketWatcher>();
const byRequest = new WeakMap<object, SocketWatcher>();
let installed = false;

/**
 * fetch (undici, bundled with Node) does not say when its connection is up; its diagnostics
 * channels do. `undici:request:create` is published synchronously inside the fetch's own async
 * context, which ties the request object to the watcher; `undici:client:sendHeaders` then says the
 * request is on a connected socket (new or reused). Installed once, on first use.
 */
function install(): void {
  if (installed) return;
  installed = true;
  subscribe('undici:request:create', (message) => {
    const watcher = current.getStore();
    const request = (message as { request?: unknown }).request;
    if (watcher === undefined || typeof request !== 'object' || request === null) return;
    byRequest.set(request, watcher);
    watcher.onRequest();
  });
  subscribe('undici:client:sendHeaders', (message) => {
    const request = (message as { request?: unknown }).request;
    if (typeof request !== 'object' || request === null) return;
    const watcher = byRequest.get(request);
    if (watcher === undefined) return;
    byRequest.delete(request);
    watcher.onSent();
  });
}

/** Runs `fn` (which calls fetch) so that `watcher` hears about its requests. @internal */
export function watchSockets<T>(watcher: SocketWatcher, fn: () => T): T {
  install();
  return current.run(watcher, fn);
}
