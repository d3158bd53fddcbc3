/** Hash routing: `#/search?port=5432` — the URL holds the page and its state, so it can be shared. */
import { useEffect, useState } from 'react';

export const PAGES = [
  'overview',
  'search',
  'story',
  'policies',
  'integrity',
  'alerts',
  'inventory',
] as const;
export type Page = (typeof PAGES)[number];

export interface Route {
  readonly page: Page;
  readonly params: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  const page = (PAGES as readonly string[]).includes(path) ? (path as Page) : 'overview';
  return { page, params: new URLSearchParams(query) };
}

export function href(page: Page, params?: URLSearchParams | Record<string, string>): string {
  const p = params instanceof URLSearchParams ? params : new URLSearchParams(params ?? {});
  return `#/${page}${p.size > 0 ? `?${p.toString()}` : ''}`;
}

/** Routes in use: told at once by navigate, so a controlled input never shows its old state. */
const followers = new Set<(hash: string) => void>();

export function navigate(page: Page, params?: URLSearchParams | Record<string, string>): void {
  window.location.hash = href(page, params);
  // `hashchange` fires only after this task; a checkbox bound to the route would flick back
  // to its old state until then (and a click in that gap would be lost).
  for (const follow of followers) follow(window.location.hash);
}

export function useRoute(): Route {
  const [state, setState] = useState(() => ({
    hash: window.location.hash,
    route: parseHash(window.location.hash),
  }));
  useEffect(() => {
    const follow = (hash: string): void =>
      setState((old) => (old.hash === hash ? old : { hash, route: parseHash(hash) }));
    const onChange = (): void => follow(window.location.hash);
    followers.add(follow);
    window.addEventListener('hashchange', onChange);
    return () => {
      followers.delete(follow);
      window.removeEventListener('hashchange', onChange);
    };
  }, []);
  return state.route;
}
