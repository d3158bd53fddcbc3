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

export function navigate(page: Page, params?: URLSearchParams | Record<string, string>): void {
  window.location.hash = href(page, params);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const onChange = (): void => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
