/** Starts the publisher of a gateway whose config has `ship:` (null otherwise). */
import type { Logger } from 'pino';
import type { Recorder } from '../audit/recorder.js';
import { PortwardenError } from '../errors.js';
import type { Store } from '../store/index.js';
import { Publisher } from './publisher.js';
import type { ShipConfig } from './schema.js';
import type { ShipOptions } from './stream.js';

export function shipOptions(ship: ShipConfig): ShipOptions {
  let token: string | undefined;
  if (ship.token_env !== undefined) {
    token = process.env[ship.token_env];
    if (token === undefined || token === '')
      throw new PortwardenError('PW_ERR_CONFIG', {
        detail: `ship.token_env: environment variable ${ship.token_env} is not set`,
      });
  }
  return {
    servers: typeof ship.nats === 'string' ? [ship.nats] : ship.nats,
    stream: ship.stream,
    subjectPrefix: ship.subject_prefix,
    maxInFlight: ship.max_in_flight,
    maxAgeMs: ship.max_age,
    duplicateWindowMs: ship.duplicate_window,
    publishTimeoutMs: ship.publish_timeout,
    ...(token !== undefined ? { token } : {}),
  };
}

export function startPublisher(
  config: {
    readonly node: string;
    readonly data_dir: string;
    readonly ship?: ShipConfig | undefined;
  },
  store: Store,
  recorder: Recorder,
  log: Logger,
): Publisher | null {
  if (config.ship === undefined) return null;
  const publisher = new Publisher(
    store,
    config.node,
    config.data_dir,
    shipOptions(config.ship),
    log,
  );
  publisher.start(recorder);
  return publisher;
}
