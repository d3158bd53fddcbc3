/**
 * Filters over the generated data set (dataset.ts) and the sequences each must select, oldest
 * first: the known answers of the search conformance suite (conformance-search.test.ts),
 * whose text cases the embedded store's FTS-index-versus-tail test (search.test.ts) reuses.
 */
import type { EventFilter } from '../../../src/store/index.js';

export const CASES: [string, EventFilter, number[]][] = [
  ['no filter', {}, Array.from({ length: 25 }, (_, i) => i)],
  ['listener', { listener: 'cache' }, [7, 8, 9, 10]],
  ['one action', { actions: ['db-query'] }, [2, 4, 20, 22]],
  ['two actions', { actions: ['db-query', 'http-request'] }, [2, 4, 12, 14, 20, 22]],
  ['source ip', { sourceIp: '10.0.0.1' }, [0, 1, 2, 3, 4, 5, 6, 18, 21, 22, 23]],
  [
    'source ip:port',
    { sourceIp: '10.0.0.1', sourcePort: 50001 },
    [0, 1, 2, 3, 4, 5, 6, 21, 22, 23],
  ],
  ['upstream local', { upstreamLocalIp: '10.0.0.9', upstreamLocalPort: 40002 }, [7, 8, 9, 10]],
  ['port: upstream local leg', { port: 40002 }, [7, 8, 9, 10]],
  ['port: target leg', { port: 6379 }, [7, 8, 9, 10]],
  ['port: client source leg', { port: 50003 }, [11, 12, 13, 14, 15, 16]],
  ['port: gateway leg', { port: 15432 }, [0, 1, 2, 3, 4, 5, 6, 17, 18, 19, 20, 21, 22, 23]],
  ['port + action', { port: 15432, actions: ['db-query'] }, [2, 4, 20, 22]],
  ['user', { user: 'app' }, [1, 2, 4, 20, 22]],
  ['outcome failure', { outcome: 'failure' }, [4, 5, 9, 10, 14, 15, 17, 18, 23]],
  ['outcome success', { outcome: 'success', listener: 'api' }, [11, 12, 13, 16]],
  ['rule', { rule: 'no-delete' }, [4, 14]],
  ['policy version', { policyVersion: 'sha256:v1', listener: 'cache' }, [7, 8, 9, 10]],
  ['db namespace', { db: 'orders' }, [1, 2, 4, 20, 22]],
  ['operation, any case', { operation: 'select' }, [2, 20]],
  // The outcome record of a Redis command names the command too.
  ['operation across protocols', { operation: 'GET' }, [8, 9, 12]],
  ['class', { statementClass: 'write' }, [4, 22]],
  ['status: SQLSTATE', { status: '42501' }, [5]],
  ['status: HTTP', { status: '403' }, [15]],
  ['status: Redis error', { status: 'NOPERM' }, [9]],
  ['community id, client leg', { communityId: '1:c2-client' }, [7, 8, 9, 10]],
  ['community id, upstream leg', { communityId: '1:c2-upstream' }, [7, 8, 9, 10]],
  ['community id of a refused connection', { communityId: '1:c4-client' }, [17]],
  ['connection', { connectionId: 'c1' }, [0, 1, 2, 3, 4, 5, 6]],
  ['node', { node: 'node-a', actions: ['checkpoint'] }, [24]],
  ['unknown value', { user: 'nobody' }, []],
  // PostgreSQL text cannot hold NUL: a value with one matches nothing rather than failing.
  ['NUL in a value', { user: 'app\u0000', actions: ['db-query\u0000'] }, []],
  ['NUL in a community id', { communityId: '1:c1-client\u0000' }, []],
  ['NUL in a text without words', { text: '=\u0000$' }, []],
  ['text: words split on _', { text: 'order_items' }, [4]],
  ['text: word', { text: 'orders' }, [2, 12, 14, 22]],
  ['text: phrase', { text: 'delete from' }, [4]],
  ['text: phrase order matters', { text: 'from delete' }, []],
  ['text: case ignored', { text: 'FROM ORDERS' }, [2]],
  ['text: prefix', { text: 'pg_sl*' }, [20]],
  ['text: a whole word is not a prefix', { text: 'pg_sl' }, []],
  ['text: path', { text: 'v1 orders 7' }, [14]],
  ['text + listener', { text: 'orders', listener: 'api' }, [12, 14]],
  [
    'text + two actions',
    { text: 'orders', actions: ['db-query', 'http-request'] },
    [2, 12, 14, 22],
  ],
  ['text: a digit is a word', { text: ':1' }, [2, 8, 20, 22]],
  ['text without words: substring', { text: '= $' }, [2]],
];
