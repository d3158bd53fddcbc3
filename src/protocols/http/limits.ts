/** Size bounds for one HTTP/1.1 connection's parsers (configurable per listener). */
import { DEFAULT_BODY_LIMITS } from './body-tracker.js';
import type { BodyLimits } from './body-tracker.js';
import { DEFAULT_HEAD_LIMITS } from './head-parser.js';
import type { HeadLimits } from './head-parser.js';

export type HttpLimits = HeadLimits & BodyLimits;

export const DEFAULT_HTTP_LIMITS: HttpLimits = { ...DEFAULT_HEAD_LIMITS, ...DEFAULT_BODY_LIMITS };
