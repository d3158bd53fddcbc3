/**
 * The inputs that are not protocol streams: the PROXY header (v1 text, v2 binary) and the
 * TLS ClientHello reader give only typed errors (PortwardenError); config text and policy
 * documents give issues, never a throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { PortwardenError } from '../../src/errors.js';
import { parseConfigText } from '../../src/config/index.js';
import { ProxyHeaderReader, encodeProxyV2 } from '../../src/gateway/proxy-protocol.js';
import { compilePolicies } from '../../src/policy/index.js';
import { ClientHelloReader } from '../../src/protocols/tls/index.js';
import {
  alpnExtension,
  clientHelloMessage,
  records,
  sniExtension,
} from '../unit/tls/hello-builder.js';
import { chunk, fuzzOptions, splits, streamFrom } from './harness.js';

function onlyTyped(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof PortwardenError)) throw err;
  }
}

describe('PROXY header', () => {
  it('v1 and v2 headers, mutated and chunked: a header, need-more, or PW_ERR_PROXY_HEADER', () => {
    const seeds = [
      Buffer.from('PROXY TCP4 192.0.2.1 198.51.100.2 51234 5432\r\n'),
      Buffer.from('PROXY TCP6 2001:db8::1 2001:db8::2 51234 5432\r\n'),
      Buffer.from('PROXY UNKNOWN\r\n'),
      encodeProxyV2({
        source: { ip: '192.0.2.1', port: 51234 },
        destination: { ip: '198.51.100.2', port: 5432 },
        uniqueId: 'c-0192',
      }),
      encodeProxyV2({
        source: { ip: '2001:db8::1', port: 1 },
        destination: { ip: '2001:db8::2', port: 2 },
      }),
    ];
    fc.assert(
      fc.property(streamFrom(seeds), splits, (bytes, points) => {
        const reader = new ProxyHeaderReader();
        onlyTyped(() => {
          for (const c of chunk(bytes, points)) {
            const r = reader.push(c);
            if (r.state !== 'need-more') return;
          }
        });
      }),
      fuzzOptions(),
    );
  }, 600_000);
});

describe('TLS ClientHello', () => {
  it('mutated and chunked records: a hello, need-more, or a ProtocolError', () => {
    const seeds = [
      records(
        clientHelloMessage({ extensions: [sniExtension('db.internal'), alpnExtension(['h2'])] }),
      ),
      records(clientHelloMessage({ extensions: [sniExtension('a.b')] }), 50),
      records(clientHelloMessage()),
    ];
    fc.assert(
      fc.property(streamFrom(seeds), splits, (bytes, points) => {
        const reader = new ClientHelloReader({ maxHelloBytes: 16 * 1024 });
        onlyTyped(() => {
          for (const c of chunk(bytes, points)) if (reader.push(c)) return;
        });
      }),
      fuzzOptions(),
    );
  }, 600_000);
});

/** JSON-ish values shaped like config and policy documents, with hostile leaves. */
const leaf = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    '127.0.0.1:0',
    'db',
    '5s',
    '-1',
    '10.0.0.0/33',
    '::1',
    'tcp',
    'postgres',
    'allow',
    'deny',
    '*',
    '09:00-17:00',
  ),
);
const doc = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(
    fc.oneof(
      fc.string(),
      fc.constantFrom(
        'listeners',
        'name',
        'listen',
        'target',
        'protocol',
        'audit',
        'mode',
        'policy',
        'policies',
        'rules',
        'allow',
        'deny',
        'default',
        'id',
        'users',
        'sources',
        'commands',
        'time',
        'when',
      ),
    ),
    tie('value'),
    { maxKeys: 6 },
  ),
})).object;

describe('config and policy inputs', () => {
  it('config text (random YAML documents and mutated text) gives ok or issues, never a throw', () => {
    const base = stringify({
      data_dir: '/tmp/x',
      listeners: [
        { name: 'pg', listen: '127.0.0.1:0', target: '127.0.0.1:5432', protocol: 'postgres' },
      ],
    });
    fc.assert(
      fc.property(
        fc.oneof(
          doc.map((d) => stringify(d)),
          streamFrom([Buffer.from(base)]).map((b) => b.toString('utf8')),
        ),
        (text) => {
          const r = parseConfigText(text);
          if (!r.ok) expect(r.issues.length).toBeGreaterThan(0);
        },
      ),
      fuzzOptions(),
    );
  }, 600_000);

  it('policy documents give a compile result, never a throw', () => {
    fc.assert(
      fc.property(fc.oneof(doc, fc.dictionary(fc.string(), doc, { maxKeys: 3 })), (raw) => {
        const r = compilePolicies(raw);
        expect(typeof r.ok).toBe('boolean');
      }),
      fuzzOptions(),
    );
  }, 600_000);
});
