/**
 * A throwaway certificate authority made with the real `openssl` (1 day): the CA certificate
 * a listener's `tls.ca` names, and client certificates it issues (mTLS tests).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './run.js';

export interface IssuedCert {
  readonly cert: string;
  readonly key: string;
}

export interface TestCa {
  readonly dir: string;
  /** The CA certificate (PEM path). */
  readonly ca: string;
  /** A client certificate for `subject` (openssl form, e.g. `/CN=alice/O=Acme`). */
  issue(name: string, subject: string): Promise<IssuedCert>;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function testCa(commonName = 'portwarden test CA'): Promise<TestCa> {
  const dir = mkdtempSync(join(tmpdir(), 'pw-ca-'));
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  await run('openssl', [
    'req',
    '-x509',
    ...EC,
    '-subj',
    `/CN=${commonName}`,
    '-days',
    '1',
    '-keyout',
    caKey,
    '-out',
    ca,
  ]);
  const ext = join(dir, 'client.ext');
  writeFileSync(
    ext,
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n',
  );
  return {
    dir,
    ca,
    issue: async (name, subject) => {
      const key = join(dir, `${name}.key`);
      const csr = join(dir, `${name}.csr`);
      const cert = join(dir, `${name}.pem`);
      await run('openssl', ['req', '-new', ...EC, '-subj', subject, '-keyout', key, '-out', csr]);
      await run('openssl', [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        ca,
        '-CAkey',
        caKey,
        '-CAcreateserial',
        '-days',
        '1',
        '-extfile',
        ext,
        '-out',
        cert,
      ]);
      return { cert, key };
    },
  };
}
