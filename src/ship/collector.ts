/**
 * `portwarden collect`: consumes every node's records from the JetStream stream with one
 * durable pull consumer (several collector instances share it: a work queue), verifies
 * each node's chain (chain.ts) and writes the central store. A fetched batch is written in
 * one PostgreSQL transaction, nodes locked in name order (two collectors never deadlock);
 * messages are acknowledged only after the commit, so a collector killed mid-batch loses
 * nothing: JetStream redelivers after `ack_wait` and (node, seq) idempotency drops what
 * was already stored. Records may arrive out of order across instances; a record whose
 * predecessor is missing waits in `pending` (bounded per node).
 */
import { hostname } from 'node:os';
import {
  AckPolicy,
  DeliverPolicy,
  type JsMsg,
  type JetStreamManager,
  type NatsConnection,
  nanos,
} from 'nats';
import type { Logger } from 'pino';
import { parseVerifierKey, type NoteVerifier } from '../audit/integrity.js';
import { PortwardenError, errorMessage } from '../errors.js';
import { ingestNode, type IngestOutcome } from './chain.js';
import type { CentralStore } from './pg-store.js';
import { connectNats, ensureStream, SHIP_DEFAULTS } from './stream.js';
import { decodeMessage, type ShippedCheckpoint, type ShippedRecord } from './wire.js';

export interface CollectorOptions {
  readonly servers: readonly string[];
  readonly stream: string;
  readonly subjectPrefix: string;
  /** The durable consumer every instance shares. */
  readonly durable: string;
  /** Verifier key strings `<node>+<id>+<base64>`; the key name is the node name. */
  readonly keys: readonly string[];
  readonly ackWaitMs: number;
  readonly batch: number;
  readonly maxPendingPerNode: number;
  readonly name: string;
  readonly token?: string;
}

export const COLLECTOR_DEFAULTS = {
  durable: 'portwarden-collector',
  ackWaitMs: 30_000,
  batch: 500,
  maxPendingPerNode: 100_000,
} as const;

export interface CollectorStats {
  stored: number;
  duplicate: number;
  pending: number;
  quarantined: number;
  retry: number;
  malformed: number;
  batches: number;
}

/** Verifier keys grouped by node (key name); refuses a malformed key string. */
export function keysByNode(keys: readonly string[]): Map<string, NoteVerifier[]> {
  const out = new Map<string, NoteVerifier[]>();
  for (const k of keys) {
    let v: NoteVerifier;
    try {
      v = parseVerifierKey(k.trim());
    } catch (err) {
      throw new PortwardenError(
        'PW_ERR_KEY',
        { detail: `bad verifier key ${JSON.stringify(k.split('+')[0])}: ${errorMessage(err)}` },
        { cause: err },
      );
    }
    const list = out.get(v.name) ?? [];
    list.push(v);
    out.set(v.name, list);
  }
  return out;
}

export class Collector {
  readonly stats: CollectorStats = {
    stored: 0,
    duplicate: 0,
    pending: 0,
    quarantined: 0,
    retry: 0,
    malformed: 0,
    batches: 0,
  };
  private readonly store: CentralStore;
  private readonly opts: CollectorOptions;
  private readonly log: Logger;
  private readonly keys: Map<string, NoteVerifier[]>;
  private nc: NatsConnection | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(store: CentralStore, opts: CollectorOptions, log: Logger) {
    this.store = store;
    this.opts = opts;
    this.log = log;
    this.keys = keysByNode(opts.keys);
  }

  /** Connects, makes sure the stream and the durable consumer exist, starts consuming. */
  async start(): Promise<void> {
    this.nc = await connectNats(this.opts.servers, this.opts.name, this.opts.token);
    const jsm = await this.nc.jetstreamManager();
    await ensureStream(jsm, this.opts.stream, this.opts.subjectPrefix, {
      maxAgeMs: SHIP_DEFAULTS.maxAgeMs,
      duplicateWindowMs: SHIP_DEFAULTS.duplicateWindowMs,
    });
    await this.ensureConsumer(jsm);
    this.loop = this.consume(this.nc);
  }

  /** Stops after the batch in hand is committed and acknowledged. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop?.catch(() => undefined);
    await this.nc?.close().catch(() => undefined);
    this.nc = null;
  }

  private async ensureConsumer(jsm: JetStreamManager): Promise<void> {
    try {
      await jsm.consumers.info(this.opts.stream, this.opts.durable);
      return;
    } catch (err) {
      if (!/not found/i.test(String(err))) throw err;
    }
    try {
      await jsm.consumers.add(this.opts.stream, {
        durable_name: this.opts.durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: `${this.opts.subjectPrefix}.>`,
        ack_wait: nanos(this.opts.ackWaitMs),
        max_ack_pending: 50_000,
      });
    } catch (err) {
      if (!/already in use|already exists/i.test(String(err))) throw err;
    }
  }

  private async consume(nc: NatsConnection): Promise<void> {
    const js = nc.jetstream();
    while (!this.stopped) {
      try {
        const consumer = await js.consumers.get(this.opts.stream, this.opts.durable);
        while (!this.stopped) {
          const fetched = await consumer.fetch({ max_messages: this.opts.batch, expires: 1000 });
          const msgs: JsMsg[] = [];
          for await (const m of fetched) msgs.push(m);
          if (msgs.length > 0) await this.processBatch(msgs);
        }
      } catch (err) {
        if (this.stopped) return;
        this.log.warn({ err: errorMessage(err) }, 'consuming failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Writes one batch in one transaction, then acknowledges (or asks for redelivery). */
  async processBatch(msgs: readonly JsMsg[]): Promise<void> {
    const byNode = new Map<
      string,
      { records: Item<ShippedRecord>[]; checkpoints: Item<ShippedCheckpoint>[] }
    >();
    for (const m of msgs) {
      const decoded = decodeMessage(m.data);
      if (typeof decoded === 'string') {
        this.stats.malformed++;
        this.log.error(
          { subject: m.subject, reason: decoded },
          'malformed shipped message dropped',
        );
        m.term();
        continue;
      }
      const group = byNode.get(decoded.node) ?? { records: [], checkpoints: [] };
      byNode.set(decoded.node, group);
      if (decoded.kind === 'record') group.records.push({ msg: m, value: decoded });
      else group.checkpoints.push({ msg: m, value: decoded });
    }
    const nodes = [...byNode.keys()].sort();
    const settled: { msg: JsMsg; outcome: IngestOutcome }[] = [];
    try {
      // The day partitions these records need are created before the batch's transaction:
      // created from inside it (on another connection), a new partition would wait for the
      // transaction's own lock on `records` while the transaction waits for it — a hang at
      // the first record of each new day.
      await this.store.ensurePartitions(
        [...byNode.values()].flatMap((g) => g.records.map((r) => r.value.timestampNs)),
      );
      await this.store.transaction(async (tx) => {
        settled.length = 0;
        for (const node of nodes) {
          const group = byNode.get(node);
          if (group === undefined) continue;
          group.records.sort((a, b) => a.value.sequence - b.value.sequence);
          const out = await ingestNode(
            tx,
            node,
            group.records.map((x) => x.value),
            group.checkpoints.map((x) => x.value),
            {
              keys: this.keys,
              maxPendingPerNode: this.opts.maxPendingPerNode,
              collector: this.opts.name,
            },
          );
          out.records.forEach((o, i) => {
            const item = group.records[i];
            if (item) settled.push({ msg: item.msg, outcome: o });
          });
          out.checkpoints.forEach((o, i) => {
            const item = group.checkpoints[i];
            if (item) settled.push({ msg: item.msg, outcome: o });
          });
        }
      });
    } catch (err) {
      this.log.error(
        { err: errorMessage(err), messages: msgs.length },
        'batch not written; redelivery',
      );
      for (const m of msgs) m.nak(1000);
      return;
    }
    this.stats.batches++;
    for (const { msg, outcome } of settled) {
      this.stats[outcome]++;
      if (outcome === 'retry') msg.nak(2000);
      else msg.ack();
    }
  }
}

interface Item<T> {
  readonly msg: JsMsg;
  readonly value: T;
}

/** A collector name for findings and the NATS connection: `collector@<host>:<pid>`. */
export function defaultCollectorName(): string {
  return `collector@${hostname()}:${process.pid}`;
}
