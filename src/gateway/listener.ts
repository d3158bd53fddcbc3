/** One configured listener: a TCP server whose connections become GatewayConnections. */
import net from 'node:net';
import { PortwardenError } from '../errors.js';
import { formatHostPort } from '../config/index.js';
import { GatewayConnection } from './connection.js';
import type { ListenerRuntime } from './listener-runtime.js';

export class Listener {
  runtime: ListenerRuntime;
  private readonly server: net.Server;

  constructor(runtime: ListenerRuntime) {
    this.runtime = runtime;
    // pauseOnConnect: no client byte is read before the upstream is connected and the open
    // record is written; allowHalfOpen: each direction ends on its own (half-close).
    this.server = net.createServer(
      { pauseOnConnect: true, allowHalfOpen: true, noDelay: true },
      (socket) => {
        new GatewayConnection(this.runtime, socket).start();
      },
    );
    this.server.on('error', (err) =>
      this.runtime.log.error({ listener: runtime.config.name, err: err.message }, 'listener error'),
    );
  }

  get name(): string {
    return this.runtime.config.name;
  }

  /** The bound address (port resolved when the config said 0). */
  address(): { host: string; port: number } {
    const a = this.server.address();
    if (a === null || typeof a === 'string')
      return { host: this.runtime.config.listen.host, port: this.runtime.config.listen.port };
    return { host: a.address, port: a.port };
  }

  async listen(): Promise<void> {
    const { host, port } = this.runtime.config.listen;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          new PortwardenError(
            'PW_ERR_LISTEN',
            {
              listener: this.name,
              address: formatHostPort({ host, port }),
              detail: err.code ?? err.message,
            },
            { cause: err },
          ),
        );
      };
      this.server.once('error', onError);
      this.server.listen({ host, port, ipv6Only: false }, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
  }

  /** Stop accepting; live connections continue (server.close's callback waits for them). */
  stopAccepting(): Promise<void> {
    this.runtime.accepting = false;
    if (this.server.listening) this.server.close();
    return Promise.resolve();
  }
}
