/** The Redis protocol (RESP2/RESP3): session, parser and command lookup. */
export { createRedisSession } from './session.js';
export { createRedisListenerSession } from './gateway-auth.js';
export { RespParser } from './resp-parser.js';
export type { RespParserOptions, RespSink } from './resp-parser.js';
export type { CommandHead, Reply, ReplyType } from './messages.js';
export { RESP_TYPE } from './messages.js';
export { commandKeys, resolveCommand, UNKNOWN_CATEGORIES, REDIS_COMMANDS } from './commands.js';
export type { ResolvedCommand } from './commands.js';
export type { RedisCommandSpec, RedisKeySpec } from './command-spec.js';
export { REDIS_COMMANDS_VERSION } from './command-table.js';
export { refuseRedisConnection } from './store-refusal.js';
