/** Talking to /api/v1: the bearer token (kept for this tab only), JSON GETs, the live stream. */

export interface Endpoint {
  readonly ip: string | null;
  readonly port: number | null;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };
export type JsonObject = { [k: string]: JsonValue };

export interface ApiEvent {
  readonly sequence: number;
  readonly id: string;
  readonly timestamp: string;
  readonly action: string;
  readonly outcome: string | null;
  readonly listener: string | null;
  readonly connection: string | null;
  readonly source: Endpoint;
  readonly destination: Endpoint;
  readonly upstream_local: Endpoint;
  readonly upstream: Endpoint;
  readonly user: string | null;
  readonly community_id: string | null;
  readonly text: string | null;
  readonly leaf_hash: string;
  readonly canonical?: string | null;
  readonly record: JsonObject | null;
  /** On the central API (`portwarden central serve`): the node the record came from. */
  readonly node?: string;
  /** On the central API: `NODE:SEQ`, the record's name across nodes. */
  readonly ref?: string;
}

/** How to ask for one record: its sequence on a gateway, NODE:SEQ on the central API. */
export function refOf(e: ApiEvent): string {
  return e.ref ?? String(e.sequence);
}

/** GET /api/v1/session: `central` and `nodes` only on the central API. */
export interface Session {
  readonly name: string | null;
  readonly role: string | null;
  readonly node: string | null;
  readonly central?: boolean;
  readonly nodes?: readonly string[];
}

const TOKEN_KEY = 'portwarden.token';

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token === null || token === '') sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function headers(): HeadersInit {
  const token = getToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function parse<T>(res: Response): Promise<T> {
  if (res.ok) return (await res.json()) as T;
  let code = 'HTTP';
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // not JSON: keep the status line
  }
  if (res.status === 401) window.dispatchEvent(new CustomEvent('portwarden:unauthorized'));
  throw new ApiError(res.status, code, message);
}

export async function getJson<T>(path: string, params?: URLSearchParams): Promise<T> {
  const query = params && params.size > 0 ? `?${params.toString()}` : '';
  return parse<T>(await fetch(`api/v1/${path}${query}`, { headers: headers() }));
}

export async function postJson<T>(path: string): Promise<T> {
  return parse<T>(await fetch(`api/v1/${path}`, { method: 'POST', headers: headers() }));
}

/**
 * Follow the live tail (Server-Sent Events over fetch, so the bearer token can be sent,
 * which EventSource cannot). Reconnects after a drop until `signal` aborts.
 */
export async function followLive(
  params: URLSearchParams,
  onEvent: (e: ApiEvent) => void,
  signal: AbortSignal,
  onState?: (connected: boolean) => void,
): Promise<void> {
  while (!signal.aborted) {
    try {
      const res = await fetch(`api/v1/live?${params.toString()}`, { headers: headers(), signal });
      if (!res.ok || res.body === null) throw new Error(`live: ${res.status}`);
      onState?.(true);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = message
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
          if (data !== '' && message.includes('event: record'))
            onEvent(JSON.parse(data) as ApiEvent);
        }
      }
    } catch {
      // dropped or refused: retry below unless we were told to stop
    }
    onState?.(false);
    if (signal.aborted) return;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** A field of a record by dotted path. */
export function fieldOf(record: JsonObject | null, path: string): JsonValue | undefined {
  let cur: JsonValue | undefined = record;
  for (const p of path.split('.')) {
    if (cur === null || cur === undefined || typeof cur !== 'object' || Array.isArray(cur))
      return undefined;
    cur = cur[p];
  }
  return cur;
}

export function endpoint(e: Endpoint): string {
  if (e.ip === null) return '–';
  const ip = e.ip.includes(':') ? `[${e.ip}]` : e.ip;
  return e.port === null ? ip : `${ip}:${e.port}`;
}

export function isDenied(e: ApiEvent): boolean {
  const type = fieldOf(e.record, 'event.type');
  return Array.isArray(type) && type.includes('denied');
}

/** A record field as display text ('' when absent; objects as JSON). */
export function fieldText(record: JsonObject | null, ...paths: string[]): string {
  for (const p of paths) {
    const v = fieldOf(record, p);
    if (v === undefined || v === null) continue;
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return '';
}
