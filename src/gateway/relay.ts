/**
 * The byte relay between the client and the target: backpressure both ways (a congested leg
 * pauses the other one) and, in strict mode, the hold of client bytes until the records
 * that let them through are committed.
 */
import type net from 'node:net';
import type { Duplex } from 'node:stream';

/** What the relay asks of its connection. */
export interface RelayGate {
  /** The relay runs (the connection is open). */
  open(): boolean;
  /**
   * Client bytes must wait: strict mode, or actions are refused for the store and this
   * connection's gating records are not committed yet (store-gate.ts).
   */
  mustHold(): boolean;
  /** Call `fn` once every record so far is committed. */
  afterCommit(fn: () => void): void;
  /** The client's socket closed. */
  clientClosed(): boolean;
}

export class Relay {
  /** The client leg: the raw socket, or the TLSSocket over it once client TLS started. */
  client: Duplex;
  /** The target leg, once connecting (a TLSSocket when `upstream_tls` negotiated TLS). */
  upstream: net.Socket | null = null;
  /** The client sent its end (or went away): the target sees it once held bytes are out. */
  clientEnded = false;
  private readonly gate: RelayGate;
  private held: Buffer[] = [];
  private holding = false;
  private upstreamCongested = false;
  private clientCongested = false;

  constructor(client: Duplex, gate: RelayGate) {
    this.client = client;
    this.gate = gate;
  }

  /** Client bytes are waiting for a commit. */
  get holdsBytes(): boolean {
    return this.held.length > 0;
  }

  /**
   * Forward to the target; in strict mode only once every record so far is committed — or,
   * while actions are refused for the store, once this connection's gating records are.
   */
  toUpstream(bytes: Buffer): void {
    if (!this.gate.open()) return;
    if (this.holding || this.gate.mustHold()) {
      this.held.push(bytes);
      if (!this.holding) {
        this.holding = true;
        this.client.pause();
        this.gate.afterCommit(this.releaseHeld);
      }
      return;
    }
    this.writeUpstream(bytes);
  }

  private readonly releaseHeld = (): void => {
    this.holding = false;
    const held = this.held;
    this.held = [];
    for (const b of held) this.writeUpstream(b);
    if (!this.upstreamCongested && this.gate.open()) this.client.resume();
    if (this.clientEnded) this.endUpstreamWhenFlushed();
  };

  /** Write to the target now (no hold); pause the client while the target is congested. */
  writeUpstream(bytes: Buffer): void {
    const up = this.upstream;
    if (!up || up.destroyed) return;
    if (!up.write(bytes) && !this.upstreamCongested) {
      this.upstreamCongested = true;
      this.client.pause();
      up.once('drain', () => {
        this.upstreamCongested = false;
        if (!this.holding && this.gate.open()) this.client.resume();
      });
    }
  }

  /** Write to the client; pause the target while the client is congested. */
  toClient(bytes: Buffer): void {
    const c = this.client;
    if (c.destroyed || this.gate.clientClosed()) return;
    if (!c.write(bytes) && !this.clientCongested) {
      this.clientCongested = true;
      this.upstream?.pause();
      c.once('drain', () => {
        this.clientCongested = false;
        this.upstream?.resume();
      });
    }
  }

  /** End the target leg, unless client bytes are still held (then the release ends it). */
  endUpstreamWhenFlushed(): void {
    if (this.holding || !this.upstream || this.upstream.destroyed) return;
    this.upstream.end();
  }
}
