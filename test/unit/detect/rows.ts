/**
 * Scripted records for detector tests: EventRows with chosen times, as the store would
 * hand them to the engine (bodies are plain JSON, not made by the production recorder).
 */
import type { JsonObject } from '../../../src/audit/event.js';
import type { EventRow } from '../../../src/store/index.js';

let sequence = 1000;

export interface RowSpec {
  readonly action: string;
  /** Epoch milliseconds. */
  readonly at: number;
  readonly outcome?: 'success' | 'failure';
  readonly listener?: string;
  readonly source?: string;
  readonly user?: string;
  readonly connection?: string;
  readonly body?: JsonObject;
}

export function row(spec: RowSpec): EventRow {
  const seq = sequence++;
  const id = `ev-${seq}`;
  const body: JsonObject = {
    ...(spec.body ?? {}),
    event: {
      action: spec.action,
      id,
      sequence: seq,
      ...(spec.outcome ? { outcome: spec.outcome } : {}),
    },
  };
  return {
    sequence: seq,
    timestampNs: BigInt(spec.at) * 1_000_000n,
    id,
    action: spec.action,
    outcome: spec.outcome ?? null,
    listener: spec.listener ?? null,
    connectionId: spec.connection ?? null,
    sourceIp: spec.source ?? null,
    sourcePort: spec.source ? 40000 : null,
    destinationIp: null,
    destinationPort: null,
    upstreamLocalIp: null,
    upstreamLocalPort: null,
    upstreamIp: null,
    upstreamPort: null,
    user: spec.user ?? null,
    communityId: null,
    text: null,
    body: JSON.stringify(body),
    leafHash: Buffer.alloc(32),
  };
}

/** 2026-03-02 (a Monday) at hh:mm UTC, in epoch ms. */
export function at(hour: number, minute = 0, day = 2): number {
  return Date.UTC(2026, 2, day, hour, minute);
}
