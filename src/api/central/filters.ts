/** Query parameters of the central API: the shared filter model, `module`, and the central cursor. */
import { PortwardenError } from '../../errors.js';
import { type CentralFilter, decodeCursor, encodeCursor } from '../../ship/index.js';
import { FILTER_PARAMS, parseFilterQuery } from '../filters.js';

export const CENTRAL_FILTER_PARAMS = {
  ...FILTER_PARAMS,
  node: 'only this node',
  module: 'event.module (kubernetes, auditd, conntrack)',
  after: 'keyset cursor: the `next` of the previous page (TIME_NS:NODE:SEQ)',
} as const;

export const centralFilterSchema = {
  type: 'object',
  properties: Object.fromEntries(
    Object.entries(CENTRAL_FILTER_PARAMS).map(([k, description]) => [
      k,
      { type: 'string', description },
    ]),
  ),
} as const;

/** Builds the filter; unknown parameters are refused (a typo never widens a search). */
export function parseCentralQuery(
  query: Readonly<Record<string, unknown>>,
  allowed: readonly string[] = [],
): CentralFilter {
  if ('aggregate' in query && !allowed.includes('aggregate'))
    throw new PortwardenError('PW_ERR_QUERY', {
      detail: 'aggregate: folding repeats is not available on the central API',
    });
  const f = parseFilterQuery(query, [...allowed, 'after', 'module']);
  const { after: _a, ...rest } = f;
  const after = query.after;
  const module = query.module;
  if (after !== undefined && typeof after !== 'string')
    throw new PortwardenError('PW_ERR_QUERY', { detail: 'after: give it once' });
  if (module !== undefined && typeof module !== 'string')
    throw new PortwardenError('PW_ERR_QUERY', { detail: 'module: give it once' });
  return {
    ...rest,
    ...(module !== undefined ? { module } : {}),
    ...(after !== undefined ? { after: encodeCursor(decodeCursor(after)) } : {}),
  };
}
