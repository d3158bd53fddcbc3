/**
 * The YAML schema (docs/config.md). Every key is checked; unknown keys are errors, so a typo
 * never silently weakens a setting.
 */
import { z } from 'zod';
import { isIP } from 'node:net';
import { parseDurationMs, parseHostPort } from './address.js';
import { detectorsSchema, trapSchema } from '../detect/schema.js';
import { cronSchema } from '../inventory/cron.js';
import { alertsSchema, recordsSchema, sinksSchema } from '../sinks/schema.js';
import { shipSchema } from '../ship/schema.js';
import { sourcesSchema } from '../ingest/schema.js';
import { storeUrlProblem } from '../store/index.js';
import { dashboardSchema } from '../api/aggregate-config.js';
import { jwksUrlProblem } from '../identity/jwks-url.js';

const hostPort = z.string().transform((value, ctx) => {
  const hp = parseHostPort(value);
  if (!hp) {
    ctx.addIssue({ code: 'custom', message: `expected host:port, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return hp;
});

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDurationMs(value);
  if (ms === null) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration like 500ms, 30s, 5m, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return ms;
});

const cidr = z.string().refine(
  (v) => {
    const [ip, bits, extra] = v.split('/');
    if (extra !== undefined || !ip) return false;
    const family = isIP(ip);
    if (family === 0) return false;
    if (bits === undefined) return true;
    if (!/^\d{1,3}$/.test(bits)) return false;
    return Number(bits) <= (family === 4 ? 32 : 128);
  },
  { message: 'expected an IP or CIDR like 10.0.0.0/8' },
);

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'expected a name of letters, digits, _ . - (max 63)');

export const PROTOCOLS = ['tcp', 'postgres', 'mysql', 'redis', 'http', 'tls'] as const;

const tlsSchema = z.strictObject({
  cert: z.string(),
  key: z.string(),
  ca: z.string().optional(),
  client_auth: z.enum(['none', 'request', 'require']).default('none'),
});

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a hex SHA-256');

/** One way an identity proves itself (docs/identity.md). */
const identityCredentialSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('token'), sha256: sha256Hex }),
  z.strictObject({ type: z.literal('mtls'), subject: z.string().min(1) }),
  /** PostgreSQL SASL sign-in: `portwarden identity scram-verifier` prints one from a token. */
  z.strictObject({
    type: z.literal('scram_sha256'),
    verifier: z
      .string()
      .regex(
        /^SCRAM-SHA-256\$[1-9][0-9]*:[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/,
        'expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>',
      ),
  }),
  /** MySQL mysql_native_password sign-in: `*` + hex SHA1(SHA1(token)), as MySQL stores it. */
  z.strictObject({
    type: z.literal('mysql_native_password'),
    hash: z.string().regex(/^\*[0-9A-Fa-f]{40}$/, 'expected * and 40 hex digits'),
  }),
  z
    .strictObject({
      type: z.literal('jwt'),
      issuer: z.string().optional(),
      /** Keys from a file, from a URL, or (neither) by OpenID discovery from `issuer`. */
      jwks_file: z.string().optional(),
      jwks_url: z.string().optional(),
      /** Least time between two key set fetches (and least cache lifetime). */
      jwks_min_interval: duration
        .refine((ms) => ms >= 1000 && ms <= 3_600_000, 'expected 1s to 1h')
        .optional(),
      audience: z.string(),
      /** The `sub` the token must carry; defaults to the identity's name. */
      subject: z.string().optional(),
      groups_claim: z.string().default('groups'),
    })
    .superRefine((c, ctx) => {
      if (c.jwks_file !== undefined && c.jwks_url !== undefined)
        ctx.addIssue({ code: 'custom', message: 'set jwks_file or jwks_url, not both' });
      const url = c.jwks_file !== undefined ? undefined : (c.jwks_url ?? c.issuer);
      if (url === undefined && c.jwks_file === undefined)
        ctx.addIssue({ code: 'custom', message: 'set jwks_file, jwks_url or issuer (discovery)' });
      const problem = url === undefined ? null : jwksUrlProblem(url);
      if (problem !== null)
        ctx.addIssue({
          code: 'custom',
          path: [c.jwks_url === undefined ? 'issuer' : 'jwks_url'],
          message: problem,
        });
    }),
]);

export const identitySchema = z.strictObject({
  name,
  kind: z.enum(['person', 'service']).default('person'),
  groups: z.array(z.string()).default([]),
  credentials: z.array(identityCredentialSchema).min(1),
});

export const listenerSchema = z.strictObject({
  name,
  listen: hostPort,
  target: hostPort,
  protocol: z.enum(PROTOCOLS).default('tcp'),
  policy: z.string().optional(),
  owner: z.string().optional(),
  purpose: z.string().optional(),
  criticality: z.enum(['low', 'medium', 'high', 'critical']).optional(),
  trusted_proxies: z.array(cidr).default([]),
  proxy_protocol_out: z.boolean().default(false),
  connect_timeout: duration.default(5000),
  idle_timeout: duration.default(3_600_000),
  /** postgres/mysql/http/tls: the client's start-up must be done this long after the open. */
  handshake_timeout: duration.default(10_000),
  /** http: every request head must arrive whole within this of its first byte (else 408). */
  header_timeout: duration.default(10_000),
  /** Client bytes per second below which they are a trickle and do not reset `idle_timeout`. */
  min_rate: z.number().int().min(0).max(1_000_000_000).default(32),
  max_connections: z.number().int().positive().default(10_000),
  max_connections_per_source: z.number().int().positive().default(1_000),
  max_message_bytes: z
    .number()
    .int()
    .min(1024)
    .max(1 << 30)
    .default(16 * 1024 * 1024),
  record_values: z.boolean().default(false),
  record_parameters: z.boolean().optional(),
  tls: tlsSchema.optional(),
  upstream_tls: z.enum(['disable', 'prefer', 'require', 'verify-full']).default('disable'),
  /** PEM file of CAs trusted for the target in `upstream_tls: verify-full`. */
  upstream_ca: z.string().optional(),
  /** `gateway`: clients sign in to portwarden; the gateway logs in to the target itself. */
  auth: z.enum(['passthrough', 'gateway']).default('passthrough'),
  upstream_user: z.string().optional(),
  upstream_password_env: z.string().optional(),
  upstream_password_file: z.string().optional(),
  /** HTTP `auth: gateway`: the header the target expects, its value from the environment. */
  upstream_header: z.strictObject({ name: z.string(), value_env: z.string() }).optional(),
  on_grant_expiry: z.enum(['deny', 'close']).default('deny'),
  forwarded: z
    .strictObject({
      forwarded: z.boolean().default(false),
      x_forwarded: z.boolean().default(false),
      request_id_header: z.string().optional(),
    })
    .optional(),
});

export const auditSchema = z.strictObject({
  mode: z.enum(['strict', 'async']).default('strict'),
  flush_ms: z.number().int().min(1).max(10_000).default(50),
  fsync: z.boolean().default(false),
  /** While the store refuses writes: refuse natively, block (hold), or allow (docs/operations.md). */
  on_store_failure: z.enum(['refuse', 'block', 'allow']).default('refuse'),
  checkpoint_interval: duration.default(60_000),
  /** Cron pattern for the drift audit, verify and report (docs/inventory.md). */
  schedule: cronSchema.optional(),
});

export const apiSchema = z.strictObject({
  listen: hostPort.default({ host: '127.0.0.1', port: 8080 }),
  enabled: z.boolean().default(true),
  tokens: z
    .array(
      z.strictObject({
        name,
        role: z.enum(['viewer', 'auditor', 'admin']),
        token_sha256: z
          .string()
          .regex(/^[0-9a-f]{64}$/, 'expected a hex SHA-256')
          .optional(),
        token_env: z.string().optional(),
      }),
    )
    .default([]),
});

export const configSchema = z.strictObject({
  node: name.default('portwarden'),
  data_dir: z.string().default('./portwarden-data'),
  /** `postgres://user@host:port/db?schema=name`: records in PostgreSQL (docs/config.md). */
  store: z
    .string()
    .superRefine((url, ctx) => {
      const problem = storeUrlProblem(url);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  log: z
    .strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info') })
    .default({ level: 'info' }),
  api: apiSchema.default({ listen: { host: '127.0.0.1', port: 8080 }, enabled: true, tokens: [] }),
  audit: auditSchema.default({
    mode: 'strict',
    flush_ms: 50,
    fsync: false,
    on_store_failure: 'refuse',
    checkpoint_interval: 60_000,
  }),
  shutdown_timeout: duration.default(10_000),
  listeners: z.array(listenerSchema).default([]),
  /** Validated by the policy module (compilePolicies), which knows the rule language. */
  policies: z.record(z.string(), z.unknown()).default({}),
  identities: z.array(identitySchema).default([]),
  /** Listeners that only record and close (docs/detectors.md). */
  traps: z.array(trapSchema).default([]),
  detectors: detectorsSchema.prefault({}),
  alerts: alertsSchema.prefault({}),
  sinks: sinksSchema.default([]),
  /** Live export of every committed record to sinks (docs/alerts.md). */
  records: recordsSchema.prefault({}),
  ship: shipSchema.optional(),
  sources: sourcesSchema.default([]),
  /** Dashboard views: folding of repeated statements (docs/search.md#aggregation). */
  dashboard: dashboardSchema.prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type ListenerConfig = z.infer<typeof listenerSchema>;
export type AuditConfig = z.infer<typeof auditSchema>;
export type IdentityConfig = z.infer<typeof identitySchema>;
export type IdentityCredentialConfig = IdentityConfig['credentials'][number];
