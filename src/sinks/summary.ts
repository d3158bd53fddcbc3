/** One human line for a record (Slack text, syslog console views). */
import type { JsonObject, JsonValue } from '../audit/event.js';

function get(record: JsonObject, path: string): JsonValue | undefined {
  let cur: JsonValue | undefined = record;
  for (const key of path.split('.')) {
    if (cur === null || cur === undefined || typeof cur !== 'object' || Array.isArray(cur))
      return undefined;
    cur = cur[key];
  }
  return cur;
}

/** A string field of a record by dotted path, or null. */
export function stringField(record: JsonObject, path: string): string | null {
  const value = get(record, path);
  return typeof value === 'string' ? value : null;
}

/** A number field of a record by dotted path, or null. */
export function numberField(record: JsonObject, path: string): number | null {
  const value = get(record, path);
  return typeof value === 'number' ? value : null;
}

/** `[HIGH] anomaly-port-scan listener=orders-db source=10.0.0.5 user=app: reason`. */
export function summaryLine(record: JsonObject): string {
  const action = stringField(record, 'event.action') ?? 'record';
  const severity = stringField(record, 'alert.severity');
  const parts = [severity === null ? action : `[${severity.toUpperCase()}] ${action}`];
  const listener = stringField(record, 'listener.name');
  const source = stringField(record, 'source.ip');
  const user = stringField(record, 'user.name');
  if (listener !== null) parts.push(`listener=${listener}`);
  if (source !== null) parts.push(`source=${source}`);
  if (user !== null) parts.push(`user=${user}`);
  const reason = stringField(record, 'event.reason');
  return reason === null ? parts.join(' ') : `${parts.join(' ')}: ${reason}`;
}
