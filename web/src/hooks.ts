/** Small data hooks: fetch JSON (with reload), and the live tail. */
import { useCallback, useEffect, useRef, useState } from 'react';
import { type ApiEvent, type Session, followLive, getJson } from './api';

export interface Loaded<T> {
  readonly data: T | null;
  readonly error: string | null;
  readonly reload: () => void;
}

export function useJson<T>(path: string, params?: URLSearchParams, refreshMs?: number): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const query = params?.toString() ?? '';
  useEffect(() => {
    let live = true;
    getJson<T>(path, new URLSearchParams(query)).then(
      (d) => {
        if (!live) return;
        setData(d);
        setError(null);
      },
      (err: unknown) => {
        if (live) setError(err instanceof Error ? err.message : String(err));
      },
    );
    return () => {
      live = false;
    };
  }, [path, query, tick]);
  useEffect(() => {
    if (refreshMs === undefined) return;
    const t = setInterval(() => setTick((n) => n + 1), refreshMs);
    return () => clearInterval(t);
  }, [refreshMs]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, reload };
}

let session: Promise<Session> | null = null;

/** The session (asked once per page load; a failure is asked again next time). */
export function useSession(): Session | null {
  const [data, setData] = useState<Session | null>(null);
  useEffect(() => {
    let live = true;
    session ??= getJson<Session>('session');
    session.then(
      (s) => {
        if (live) setData(s);
      },
      () => {
        session = null;
      },
    );
    return () => {
      live = false;
    };
  }, []);
  return data;
}

/** Calls `onEvent` for each live record matching `params` while `enabled`. */
export function useLive(
  params: URLSearchParams,
  onEvent: (e: ApiEvent) => void,
  enabled = true,
): boolean {
  const [connected, setConnected] = useState(false);
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const query = params.toString();
  useEffect(() => {
    if (!enabled) return;
    const abort = new AbortController();
    void followLive(
      new URLSearchParams(query),
      (e) => handler.current(e),
      abort.signal,
      setConnected,
    );
    return () => {
      abort.abort();
      setConnected(false);
    };
  }, [query, enabled]);
  return connected;
}
