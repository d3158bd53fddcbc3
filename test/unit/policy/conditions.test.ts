// One block per condition kind; each decided through decideAction/decideConnection.
import { describe, expect, test } from 'vitest';
import { AT, conn, http, policyOf, redis, sql } from '../../helpers/policy-facts.js';

const read = sql('read', 'SELECT', ['public.orders']);

describe('sources', () => {
  const policy = policyOf(`
- id: nets
  allow: { sources: [10.1.0.0/16, 192.168.7.9, "2001:db8:10::/48", "fe80::1"] }
`);
  test.each([
    ['10.1.255.254', 'allow'],
    ['10.2.0.1', 'deny'],
    ['192.168.7.9', 'allow'],
    ['192.168.7.10', 'deny'],
    ['2001:db8:10:ffff::1', 'allow'],
    ['2001:db8:11::1', 'deny'],
    ['fe80::1', 'allow'],
    ['fe80:0:0:0:0:0:0:1', 'allow'],
    ['::ffff:10.1.2.3', 'allow'], // dual-stack socket view of an IPv4 client
    ['::ffff:10.2.2.3', 'deny'],
    ['not-an-ip', 'deny'],
  ])('%s → %s', (sourceIp, verdict) => {
    expect(policy.decideConnection(conn({ sourceIp }), AT).verdict).toBe(verdict);
    expect(policy.decideAction(conn({ sourceIp }), read, AT).verdict).toBe(verdict);
  });

  test('a malformed source IP satisfies a deny rule (fail closed)', () => {
    const p = policyOf(`
- id: block
  deny: { sources: [10.9.0.0/16] }
- id: rest
  allow: {}
`);
    expect(p.decideConnection(conn({ sourceIp: 'bogus' }), AT).ruleId).toBe('block');
    expect(p.decideConnection(conn({ sourceIp: '10.8.0.1' }), AT).ruleId).toBe('rest');
  });
});

describe('names: users, databases, applications, tls_subjects', () => {
  const policy = policyOf(`
- id: named
  allow:
    users: [app, report]
    databases: [orders]
    applications: [billing]
    tls_subjects: ["CN=app,O=Example"]
`);
  const full = {
    user: 'app',
    database: 'orders',
    application: 'billing',
    tlsSubject: 'CN=app,O=Example',
  };
  test('all present and listed → allow', () => {
    expect(policy.decideAction(conn(full), read, AT)).toMatchObject({
      verdict: 'allow',
      ruleId: 'named',
    });
  });
  test.each([
    ['user', 'root'],
    ['database', 'postgres'],
    ['application', 'psql'],
    ['tlsSubject', 'CN=other'],
  ])('%s = %s not listed → deny', (key, value) => {
    expect(policy.decideAction(conn({ ...full, [key]: value }), read, AT).verdict).toBe('deny');
  });
  test('names are case-sensitive', () => {
    expect(policy.decideAction(conn({ ...full, user: 'App' }), read, AT).verdict).toBe('deny');
  });
  test('absent at action stage is final: no match', () => {
    expect(policy.decideAction(conn({ ...full, application: undefined }), read, AT).verdict).toBe(
      'deny',
    );
  });
  test('unknown at accept does not fail: the connection may proceed', () => {
    expect(policy.decideConnection(conn(), AT)).toMatchObject({ verdict: 'allow' });
    expect(policy.decideConnection(conn(), AT).ruleId).toBeUndefined();
    expect(policy.decideConnection(conn({ user: 'root' }), AT).verdict).toBe('deny');
  });
});

describe('process (unknown never allows; fail-closed for deny)', () => {
  const allow = policyOf(`
- id: psql
  allow: { process: { exe: [/usr/bin/psql, "/opt/*/bin/psql"], uid: [1000] } }
`);
  const proc = (exe: string, uid: number) => ({ exe, uid, pid: 4242 });
  test.each([
    [proc('/usr/bin/psql', 1000), 'allow'],
    [proc('/opt/pg16/bin/psql', 1000), 'allow'],
    [proc('/opt/pg16/extra/bin/psql', 1000), 'deny'], // * stays in one segment
    [proc('/usr/bin/psql', 0), 'deny'],
    [proc('/usr/bin/python3', 1000), 'deny'],
    [null, 'deny'],
    [undefined, 'deny'],
  ])('%j → %s at action stage', (process, verdict) => {
    expect(allow.decideAction(conn({ process }), read, AT).verdict).toBe(verdict);
  });
  test('at accept: not looked up yet is undecided, looked up and absent fails', () => {
    expect(allow.decideConnection(conn(), AT).verdict).toBe('allow');
    expect(allow.decideConnection(conn({ process: null }), AT).verdict).toBe('deny');
  });

  const deny = policyOf(
    `
- id: no-python
  deny: { process: { exe: ["/usr/bin/python*"] } }
`,
    'allow',
  );
  test.each([
    [proc('/usr/bin/python3', 0), 'deny'],
    [proc('/usr/bin/psql', 0), 'allow'],
    [null, 'deny'],
    [undefined, 'deny'],
  ])('deny rule: %j → %s', (process, verdict) => {
    expect(deny.decideAction(conn({ process }), read, AT).verdict).toBe(verdict);
  });
});

describe('grant: required (placeholder: group grant:<listener>)', () => {
  const policy = policyOf(`
- id: granted
  allow: { grant: required }
`);
  test.each([
    [['grant:orders-db'], 'allow'],
    [['grant:orders-db2', 'dba'], 'deny'],
    [['grant:other'], 'deny'],
    [[], 'deny'],
    [undefined, 'deny'],
  ])('groups %j → %s', (groups, verdict) => {
    expect(policy.decideAction(conn({ groups }), read, AT).verdict).toBe(verdict);
  });
});

describe('sql', () => {
  const policy = policyOf(`
- id: no-secrets
  deny: { sql: { tables: [secret.*, audit.log] } }
- id: no-ddl
  deny: { sql: { classes: [ddl, dcl] } }
- id: reads
  allow: { sql: { classes: [read], tables: ["public.*", "reports"] } }
- id: writes
  allow: { sql: { operations: [INSERT, update] } }
`);
  const c = conn({ user: 'app' });
  test.each([
    [sql('read', 'SELECT', ['public.orders']), 'allow', 'reads'],
    [sql('read', 'SELECT', ['PUBLIC.Orders']), 'allow', 'reads'], // SQL folds unquoted names
    [sql('read', 'SELECT', ['analytics.reports']), 'allow', 'reads'], // bare pattern: any schema
    [sql('read', 'SELECT', ['public.orders', 'private.keys']), 'deny', undefined], // all must match
    [sql('read', 'SELECT', []), 'deny', undefined], // allow with tables needs a table
    [sql('read', 'SELECT', ['public.orders', 'secret.keys']), 'deny', 'no-secrets'], // deny: any
    [sql('read', 'SELECT', ['keys']), 'deny', 'no-secrets'], // unqualified may be secret.keys
    [sql('read', 'SELECT', ['log']), 'deny', 'no-secrets'],
    [sql('ddl', 'CREATE TABLE', ['public.x']), 'deny', 'no-ddl'],
    [sql('unknown', 'DO', []), 'deny', 'no-secrets'], // unknown class: any deny applies
    [sql('write', 'INSERT', ['public.orders']), 'allow', 'writes'],
    [sql('write', 'UPDATE', ['public.orders'], 'mysql'), 'allow', 'writes'],
    [sql('write', 'DELETE', ['public.orders']), 'deny', undefined],
  ])('%j → %s by %s', (action, verdict, ruleId) => {
    const d = policy.decideAction(c, action, AT);
    expect(d.verdict).toBe(verdict);
    expect(d.ruleId).toBe(ruleId);
  });
  test('an operation covers its longer forms: CREATE matches CREATE TABLE', () => {
    const p = policyOf(`
- id: creates
  allow: { sql: { operations: [CREATE] } }
`);
    expect(p.decideAction(c, sql('ddl', 'CREATE TABLE', ['t']), AT).verdict).toBe('allow');
    expect(p.decideAction(c, sql('ddl', 'CREATEX', ['t']), AT).verdict).toBe('deny');
  });
  test('sql conditions never match other protocols', () => {
    expect(policy.decideAction(c, redis('get', ['read']), AT).verdict).toBe('deny');
  });
});

describe('redis', () => {
  const policy = policyOf(`
- id: no-admin
  deny: { redis: { categories: ["@admin", "@dangerous"] } }
- id: config-get
  allow: { redis: { commands: [config|get] } }
- id: reads
  allow: { redis: { categories: ["@read"] } }
- id: client
  allow: { redis: { commands: [CLIENT] } }
`);
  test.each([
    [redis('get', ['read', 'string', 'fast']), 'allow', 'reads'],
    [redis('set', ['write', 'string', 'slow']), 'deny', undefined],
    [redis('keys', ['keyspace', 'read', 'slow', 'dangerous']), 'deny', 'no-admin'],
    [redis('config|get', ['admin', 'slow', 'dangerous']), 'deny', 'no-admin'], // first match wins
    [redis('client|list', ['slow', 'connection']), 'allow', 'client'], // container covers subcommands
  ])('%j → %s by %s', (action, verdict, ruleId) => {
    const d = policy.decideAction(conn(), action, AT);
    expect([d.verdict, d.ruleId]).toEqual([verdict, ruleId]);
  });
  test('@all matches every command; a listed subcommand does not cover its siblings', () => {
    const p = policyOf(`
- id: everything
  alert: { redis: { categories: ["@all"] }, users: [ops] }
- id: config-get
  allow: { redis: { commands: [config|get] } }
`);
    expect(p.decideAction(conn({ user: 'ops' }), redis('flushall', ['write']), AT).verdict).toBe(
      'alert',
    );
    expect(p.decideAction(conn(), redis('config|get', ['admin']), AT).verdict).toBe('allow');
    expect(p.decideAction(conn(), redis('config|set', ['admin']), AT).verdict).toBe('deny');
  });
});

describe('http', () => {
  const policy = policyOf(`
- id: no-admin
  deny: { http: { paths: ["/admin/**"] } }
- id: api
  allow: { http: { methods: [GET, head], paths: ["/api/**", "/health"] } }
- id: one-level
  allow: { http: { methods: [POST], paths: ["/jobs/*"] } }
`);
  test.each([
    [http('GET', '/api/v1/orders/7'), 'allow', 'api'],
    [http('HEAD', '/health'), 'allow', 'api'],
    [http('GET', '/health?verbose=1'), 'allow', 'api'], // the query is not part of the path
    [http('GET', '/healthz'), 'deny', undefined],
    [http('DELETE', '/api/v1/orders/7'), 'deny', undefined],
    [http('get', '/api/x'), 'deny', undefined], // methods are case-sensitive on the wire
    [http('POST', '/jobs/7'), 'allow', 'one-level'],
    [http('POST', '/jobs/7/run'), 'deny', undefined],
    [http('GET', '/admin/users'), 'deny', 'no-admin'],
    // Paths a server may resolve differently fail closed: never allowed, always denied.
    [http('GET', '/api/../admin/users'), 'deny', 'no-admin'],
    [http('GET', '/api/%2e%2e/admin'), 'deny', 'no-admin'],
    [http('GET', '/api/a%2Fb'), 'deny', 'no-admin'],
    [http('GET', '/api/.'), 'deny', 'no-admin'],
    [http('GET', 'http://evil/api/x'), 'deny', 'no-admin'],
    [http('GET', '/api/file.txt?next=/../x'), 'allow', 'api'], // dots in the query are harmless
  ])('%j → %s by %s', (action, verdict, ruleId) => {
    const d = policy.decideAction(conn(), action, AT);
    expect([d.verdict, d.ruleId]).toEqual([verdict, ruleId]);
  });
});
