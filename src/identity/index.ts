/** Who is behind a connection: local client processes found through /proc. */
export {
  findLocalClientProcess,
  type Endpoint,
  type LocalProcess,
  type LocalProcessOptions,
} from './local-process.js';
