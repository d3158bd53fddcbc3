/**
 * Trap ports (`traps:` in the config): listeners nobody has a reason to use. Each
 * connection is recorded as a refused `connection-open` (`event.reason: trap`,
 * `listener.protocol: trap`) and closed at once without a byte sent; the port-scan
 * detector counts trap touches per source.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import type { JsonObject } from '../audit/event.js';
import { NO_CONTEXT, type Recorder } from '../audit/recorder.js';
import { PortwardenError, errorMessage } from '../errors.js';
import { communityId, normalizeIp } from '../gateway/index.js';
import type { TrapConfig } from './schema.js';

export class TrapListener {
  readonly config: TrapConfig;
  private readonly recorder: Recorder;
  private readonly server: net.Server;
  private readonly log: Logger | undefined;
  /** Connections recorded since start. */
  touches = 0;

  constructor(config: TrapConfig, recorder: Recorder, log?: Logger) {
    this.config = config;
    this.recorder = recorder;
    this.log = log;
    this.server = net.createServer({ pauseOnConnect: true }, (socket) => this.onConnection(socket));
    this.server.on('error', (err) =>
      this.log?.error({ trap: config.name, err: errorMessage(err) }, 'trap error'),
    );
  }

  get name(): string {
    return this.config.name;
  }

  listen(): Promise<void> {
    const { host, port } = this.config.listen;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void =>
        reject(
          new PortwardenError(
            'PW_ERR_LISTEN',
            {
              listener: `trap ${this.config.name}`,
              address: `${host}:${port}`,
              detail: errorMessage(err),
            },
            { cause: err },
          ),
        );
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.removeListener('error', onError);
        resolve();
      });
    });
  }

  address(): { host: string; port: number } {
    const a = this.server.address();
    if (a === null || typeof a === 'string') return this.config.listen;
    return { host: a.address, port: a.port };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(socket: net.Socket): void {
    const sourceIp = normalizeIp(socket.remoteAddress ?? '');
    const sourcePort = socket.remotePort ?? 0;
    const destinationIp = normalizeIp(socket.localAddress ?? '');
    const destinationPort = socket.localPort ?? 0;
    socket.on('error', () => undefined);
    socket.destroy();
    const community = safeCommunityId(sourceIp, destinationIp, sourcePort, destinationPort);
    const network: JsonObject = { transport: 'tcp', protocol: 'trap' };
    if (community !== null) network.community_id = community;
    this.touches++;
    this.recorder.append(
      {
        event: {
          action: 'connection-open',
          category: ['network', 'intrusion_detection'],
          type: ['connection', 'denied'],
          outcome: 'failure',
          reason: 'trap',
        },
      },
      {
        ...NO_CONTEXT,
        fields: {
          listener: { name: this.config.name, protocol: 'trap' },
          source: { ip: sourceIp, port: sourcePort },
          destination: { ip: destinationIp, port: destinationPort },
          network,
        },
        listener: this.config.name,
        sourceIp,
        sourcePort,
        destinationIp,
        destinationPort,
        communityId: community,
      },
    );
  }
}

/** Open every trap; on a failure the ones already open are closed again. */
export async function openTraps(
  configs: readonly TrapConfig[],
  recorder: Recorder,
  log?: Logger,
): Promise<TrapListener[]> {
  const traps: TrapListener[] = [];
  try {
    for (const c of configs) {
      const trap = new TrapListener(c, recorder, log);
      await trap.listen();
      traps.push(trap);
    }
  } catch (err) {
    await Promise.all(traps.map((t) => t.close()));
    throw err;
  }
  return traps;
}

function safeCommunityId(
  saddr: string,
  daddr: string,
  sport: number,
  dport: number,
): string | null {
  try {
    return communityId({ saddr, daddr, sport, dport });
  } catch {
    return null;
  }
}
