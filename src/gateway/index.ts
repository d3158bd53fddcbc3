export { Gateway } from './gateway.js';
export type { GatewayOptions } from './gateway.js';
export { communityId } from './community-id.js';
export { ProxyHeaderReader, encodeProxyV2 } from './proxy-protocol.js';
export { normalizeIp } from './ip.js';
export { gatewayRunning } from './lock.js';
