import { useEffect, useState } from 'preact/hooks';

/** Where the hash points: `#/tasks/abc?status=failed` is path ['tasks', 'abc'] and its query. */
export interface Route {
  path: string[];
  query: URLSearchParams;
}

export function currentRoute(hash = location.hash): Route {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = (q < 0 ? raw : raw.slice(0, q)).split('/').filter(Boolean).map(decodeURIComponent);
  return { path, query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

/** The route, re-rendered on every hash change. */
export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const onChange = () => setRoute(currentRoute());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/** A hash link: `href('tasks', id)` → `#/tasks/<id>`, with optional query parameters (empty ones dropped). */
export function href(...parts: Array<string | Record<string, string | undefined>>): string {
  const segments = parts.filter((p): p is string => typeof p === 'string').map(encodeURIComponent);
  const params = parts.find((p): p is Record<string, string | undefined> => typeof p === 'object');
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v) q.set(k, v);
  const qs = q.toString();
  return `#/${segments.join('/')}${qs ? `?${qs}` : ''}`;
}

export function navigate(to: string): void {
  location.hash = to;
}
