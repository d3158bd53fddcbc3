/**
 * A new Redis connection while the audit store is unavailable: the first command is answered
 * `-ERR audit store unavailable…` and the connection ends, as Redis itself answers a client
 * it cannot serve (`-ERR max number of clients reached`). Nothing reaches the target.
 */
import type { ConnectionRefusal, RefusalContext } from '../session.js';
import { STORE_REFUSED_CONNECTION } from './serializer.js';

/** Bytes read at most before answering: enough for the first line of any command. */
const MAX_READ = 64 * 1024;

class RedisStoreRefusal implements ConnectionRefusal {
  private read = 0;
  private finished = false;

  constructor(private readonly ctx: RefusalContext) {}

  start(): void {
    // The client speaks first.
  }

  /** Answers once the first line of the first command (RESP or inline) is in. */
  onClientData(chunk: Buffer): void {
    if (this.finished) return;
    this.read += chunk.length;
    if (!chunk.includes(0x0a) && this.read < MAX_READ) return;
    this.finished = true;
    this.ctx.toClient(STORE_REFUSED_CONNECTION);
    this.ctx.done();
  }
}

export const refuseRedisConnection = (ctx: RefusalContext): ConnectionRefusal =>
  new RedisStoreRefusal(ctx);
