/**
 * The JetStream side both ends share: connection options and the stream every node
 * publishes to. The stream keeps records as a work queue (a message is removed once the
 * collector acknowledged it, i.e. once it is committed in PostgreSQL), bounded by age so a
 * collector outage cannot fill the NATS disk forever, with a msgID duplicate window so a
 * publisher that resends after an outage adds nothing.
 */
import {
  type ConnectionOptions,
  type JetStreamManager,
  type NatsConnection,
  RetentionPolicy,
  StorageType,
  connect,
  nanos,
} from 'nats';

/** How a node reaches NATS and names its stream and subjects (config `ship:`). */
export interface ShipOptions {
  readonly servers: readonly string[];
  readonly stream: string;
  readonly subjectPrefix: string;
  /** Most records published and not yet acknowledged. */
  readonly maxInFlight: number;
  readonly maxAgeMs: number;
  readonly duplicateWindowMs: number;
  readonly publishTimeoutMs: number;
  /** NATS auth token (from the environment variable the config names). */
  readonly token?: string;
}

export const SHIP_DEFAULTS = {
  stream: 'PORTWARDEN',
  subjectPrefix: 'portwarden',
  maxInFlight: 1024,
  maxAgeMs: 7 * 24 * 3600 * 1000,
  duplicateWindowMs: 120_000,
  publishTimeoutMs: 5000,
} as const;

/** One connection attempt (the caller retries); reconnects forever once connected. */
export function connectNats(
  servers: readonly string[],
  name: string,
  token?: string,
): Promise<NatsConnection> {
  const opts: ConnectionOptions = {
    servers: [...servers],
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    timeout: 2000,
    ...(token !== undefined ? { token } : {}),
  };
  return connect(opts);
}

/** Creates the stream when it is missing (several nodes may race to create it). */
export async function ensureStream(
  jsm: JetStreamManager,
  stream: string,
  subjectPrefix: string,
  limits: { readonly maxAgeMs: number; readonly duplicateWindowMs: number },
): Promise<void> {
  try {
    await jsm.streams.info(stream);
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    await jsm.streams.add({
      name: stream,
      subjects: [`${subjectPrefix}.>`],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      max_age: nanos(limits.maxAgeMs),
      duplicate_window: nanos(limits.duplicateWindowMs),
    });
  } catch (err) {
    // Another node created it between info() and add().
    if (!/already in use/i.test(String(err))) throw err;
  }
}

function isNotFound(err: unknown): boolean {
  return /not found/i.test(String(err));
}
