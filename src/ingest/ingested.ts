/**
 * What a log parser produces: the record input (event + top-level ECS-like fields) and
 * the tuple the store indexes. Parsers are line-fed state machines; a line they cannot
 * read is `Malformed` (counted and reported by the caller, never thrown).
 */
import type { EventInput, JsonObject } from '../audit/event.js';
import type { RecordContext } from '../audit/recorder.js';
import { NO_CONTEXT } from '../audit/recorder.js';

export interface Ingested {
  readonly input: EventInput;
  readonly sourceIp: string | null;
  readonly sourcePort: number | null;
  readonly destinationIp: string | null;
  readonly destinationPort: number | null;
  readonly communityId: string | null;
}

export class Malformed {
  constructor(readonly reason: string) {}
}

/** A parser of one log format, fed one line at a time. */
export interface LineParser {
  /** Returns the events this line completed (often none or one), or why it is malformed. */
  line(text: string): readonly Ingested[] | Malformed;
  /** Events still open at the end of input. */
  end(): readonly Ingested[];
}

/** The record context of an ingested event: only the indexed tuple (fields are in `input`). */
export function ingestedContext(e: Ingested): RecordContext {
  return {
    ...NO_CONTEXT,
    sourceIp: e.sourceIp,
    sourcePort: e.sourcePort,
    destinationIp: e.destinationIp,
    destinationPort: e.destinationPort,
    communityId: e.communityId,
  };
}

/** `{ ip, port }` without the absent parts. */
export function endpointObject(ip: string | null, port: number | null): JsonObject {
  const out: JsonObject = {};
  if (ip !== null) out.ip = ip;
  if (port !== null) out.port = port;
  return out;
}

/** Drops undefined members so a record holds only what the log said. */
export function compact(o: Record<string, JsonObject[string] | undefined>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
