/** A throwaway self-signed EC certificate made with the real `openssl` (1 day). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './run.js';

export interface TestCert {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
}

export async function selfSignedCert(commonName = 'localhost'): Promise<TestCert> {
  const dir = mkdtempSync(join(tmpdir(), 'pw-cert-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    `/CN=${commonName}`,
    '-days',
    '1',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  return { dir, cert, key };
}
