/** The REST API's routes (Toxiproxy's), matched on decoded path segments. */
export type Route =
  | { readonly name: 'reset' }
  | { readonly name: 'populate' }
  | { readonly name: 'version' }
  | { readonly name: 'metrics' }
  | { readonly name: 'proxies' }
  | { readonly name: 'proxy'; readonly proxy: string }
  | { readonly name: 'toxics'; readonly proxy: string }
  | { readonly name: 'toxic'; readonly proxy: string; readonly toxic: string };

/** Methods each route answers; any other gets 405. */
export const routeMethods: Readonly<Record<Route['name'], readonly string[]>> = {
  reset: ['POST'],
  populate: ['POST'],
  version: ['GET'],
  metrics: ['GET'],
  proxies: ['GET', 'POST'],
  proxy: ['GET', 'POST', 'PATCH', 'DELETE'],
  toxics: ['GET', 'POST'],
  toxic: ['GET', 'POST', 'PATCH', 'DELETE'],
};

const fixed: Readonly<Record<string, Route>> = {
  reset: { name: 'reset' },
  populate: { name: 'populate' },
  version: { name: 'version' },
  metrics: { name: 'metrics' },
  proxies: { name: 'proxies' },
};

/** The route of a request target (`/proxies/db/toxics?x` …), or undefined (404). */
export function matchRoute(target: string): Route | undefined {
  const q = target.search(/[?#]/);
  const path = q < 0 ? target : target.slice(0, q);
  if (!path.startsWith('/')) return undefined;
  const raw = path.slice(1).split('/');
  const parts: string[] = [];
  for (const segment of raw) {
    if (segment === '') return undefined;
    try {
      parts.push(decodeURIComponent(segment));
    } catch {
      return undefined;
    }
  }
  const [a, b, c, d] = parts;
  if (parts.length === 1 && a !== undefined) return Object.hasOwn(fixed, a) ? fixed[a] : undefined;
  if (a !== 'proxies' || b === undefined) return undefined;
  if (parts.length === 2) return { name: 'proxy', proxy: b };
  if (c !== 'toxics') return undefined;
  if (parts.length === 3) return { name: 'toxics', proxy: b };
  if (parts.length === 4 && d !== undefined) return { name: 'toxic', proxy: b, toxic: d };
  return undefined;
}
