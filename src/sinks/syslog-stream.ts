/**
 * syslog over TCP (RFC 6587) and TLS (RFC 5425), at least once. Plain syslog has no
 * acknowledgement: a frame written into a connection the receiver drops without reading it
 * is lost, and the write still succeeded. So the transport keeps every record it wrote since
 * the receiver last *confirmed* what it read, and sends those again after a break.
 *
 * The confirmation is TCP's own: every `resend_window` records the transport ends the
 * connection (FIN after the last frame) and waits for the receiver to close its side. A
 * receiver sees that end only after it has read every byte before it, so its close says
 * "read all of it". A connection that breaks instead (reset, receiver stopped, timeout)
 * leaves its records unconfirmed: they are written again, oldest first, on the next
 * connection, before any newer record. Records carry `id`, `sequence` and `node` in their
 * structured data, so the receiver drops a record it already has.
 *
 * The receiver must close its side when the sender ends the connection, as rsyslog's imtcp
 * and syslog-ng do; one that does not never confirms anything, so its records are sent
 * again and again (and spilled): `resend_window: 0` turns confirmation off.
 * Unconfirmed records are at most `resend_window`: the transport confirms before it writes
 * more, and writes nothing new while older records wait to be sent again.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { JsonObject } from '../audit/event.js';
import type { SyslogSinkConfig } from './schema.js';
import type { Transport } from './sink.js';

/** Ends `s` and waits for the peer to close its side: true when it did, cleanly, in time. */
function endAndWaitForPeer(s: net.Socket, timeoutMs: number): Promise<boolean> {
  if (s.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    let peerEnded = false;
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.once('end', () => {
      peerEnded = true;
    });
    s.once('close', (hadError: boolean) => {
      clearTimeout(timer);
      resolve(peerEnded && !hadError);
    });
    s.end();
  });
}

export class SyslogStreamTransport implements Transport {
  private readonly config: SyslogSinkConfig;
  private readonly frame: (record: JsonObject) => Buffer;
  private readonly log: Logger | undefined;
  private socket: net.Socket | null = null;
  /** Written on the current connection since the last confirmation, oldest first. */
  private sent: JsonObject[] = [];
  /** Left unconfirmed by a connection that broke: written first on the next one. */
  private resend: JsonObject[] = [];
  /** Records written again after a break (for tests and logs). */
  resent = 0;
  /** Connections the receiver closed after reading everything. */
  confirmations = 0;

  constructor(config: SyslogSinkConfig, frame: (record: JsonObject) => Buffer, log?: Logger) {
    this.config = config;
    this.frame = frame;
    this.log = log;
  }

  async deliver(record: JsonObject): Promise<void> {
    while (this.resend.length > 0) await this.writeOne(this.resend[0] as JsonObject, true);
    await this.writeOne(record, false);
  }

  takeUnconfirmed(): JsonObject[] {
    const s = this.socket;
    this.socket = null;
    s?.destroy();
    const out = [...this.sent, ...this.resend];
    this.sent = [];
    this.resend = [];
    return out;
  }

  /** Confirms what was sent (or leaves it for takeUnconfirmed) and closes. */
  async close(): Promise<void> {
    try {
      await this.confirm();
    } catch {
      // Left in `resend`: the sink spills it.
    }
    const s = this.socket;
    this.socket = null;
    s?.destroy();
  }

  private async writeOne(record: JsonObject, again: boolean): Promise<void> {
    const window = this.config.resend_window;
    if (window > 0 && this.sent.length >= window) await this.confirm();
    const s = await this.open();
    await this.write(s, record);
    if (again) {
      this.resend.shift();
      this.resent += 1;
    }
    if (window > 0) this.sent.push(record);
  }

  /**
   * End the connection and wait for the receiver to close its side: then it read every
   * record written on it. Throws (leaving them to be sent again) when it does not in time.
   */
  private async confirm(): Promise<void> {
    const s = this.socket;
    // No connection: a break already moved what it carried to `resend`.
    if (s === null) return;
    // Detached first: its close is not a break any more.
    this.socket = null;
    if (this.config.resend_window === 0) {
      s.end();
      return;
    }
    if (await endAndWaitForPeer(s, this.config.timeout)) {
      this.sent = [];
      this.confirmations += 1;
      return;
    }
    const count = this.sent.length;
    this.resend = [...this.sent, ...this.resend];
    this.sent = [];
    throw new Error(
      `syslog receiver did not close its side within ${this.config.timeout} ms after the sink ended the connection: ${count} records unconfirmed, sent again`,
    );
  }

  /** The connection broke: what it left unconfirmed goes in front of what waits to be resent. */
  private broke(s: net.Socket): void {
    if (this.socket !== s) return;
    this.socket = null;
    if (this.sent.length > 0) {
      this.resend = [...this.sent, ...this.resend];
      this.log?.info(
        { sink: this.config.name, records: this.sent.length },
        'syslog connection broke: unconfirmed records will be sent again',
      );
    }
    this.sent = [];
  }

  private write(s: net.Socket, record: JsonObject): Promise<void> {
    const frame = this.frame(record);
    return new Promise<void>((resolve, reject) => {
      s.write(frame, (err) => {
        if (err) {
          this.broke(s);
          s.destroy();
          reject(err);
        } else if (this.socket !== s) {
          // Written, but the connection broke meanwhile: it is resent (or retried).
          reject(new Error('syslog connection closed'));
        } else resolve();
      });
    });
  }

  private async open(): Promise<net.Socket> {
    if (this.socket !== null && !this.socket.destroyed) return this.socket;
    const s = await this.connect();
    s.on('error', () => s.destroy());
    s.on('close', () => this.broke(s));
    s.on('data', () => undefined); // syslog receivers do not answer; ignore stray bytes
    this.socket = s;
    return s;
  }

  private connect(): Promise<net.Socket> {
    const { host, port } = this.config.address;
    return new Promise((resolve, reject) => {
      const s =
        this.config.transport === 'tls'
          ? tls.connect({
              host,
              port,
              servername: net.isIP(host) ? undefined : host,
              ...(this.config.ca ? { ca: readFileSync(this.config.ca) } : {}),
            })
          : net.connect({ host, port });
      const timer = setTimeout(
        () => s.destroy(new Error(`connect to ${host}:${port} timed out`)),
        this.config.timeout,
      );
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(err);
      };
      s.once(this.config.transport === 'tls' ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.removeListener('error', onError);
        resolve(s);
      });
      s.once('error', onError);
    });
  }
}
