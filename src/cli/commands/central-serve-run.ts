/** `portwarden central serve` when it runs (central-serve.ts defines the command). */
import type { TokenConfig } from '../../api/auth.js';
import { ROLES, createCentralApiServer, type Role } from '../../api/index.js';
import { formatHostPort, parseHostPort } from '../../config/address.js';
import { createLogger } from '../../log.js';
import { CentralReader, CentralStore } from '../../ship/index.js';
import { usage } from '../io.js';
import type { ServeFlags } from './central-serve.js';
import { collectKeys } from './collect.js';

/** `NAME:ROLE:VALUE` → a token config (VALUE an environment variable or a SHA-256). */
function parseToken(text: string, kind: 'env' | 'sha256'): TokenConfig {
  const [name = '', role = '', value = '', ...rest] = text.split(':');
  const flag = kind === 'env' ? '--token' : '--token-sha256';
  if (rest.length > 0 || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(name) || value === '')
    throw usage(`${flag} expects NAME:ROLE:${kind === 'env' ? 'ENV_VAR' : 'SHA256_HEX'}`);
  if (!(ROLES as readonly string[]).includes(role))
    throw usage(`${flag} ${name}: role must be one of ${ROLES.join(', ')}`);
  if (kind === 'sha256' && !/^[0-9a-f]{64}$/.test(value))
    throw usage(`--token-sha256 ${name}: expected a hex SHA-256`);
  return kind === 'env'
    ? { name, role: role as Role, token_env: value }
    : { name, role: role as Role, token_sha256: value };
}

export async function runServe(f: ServeFlags): Promise<number> {
  const listen = parseHostPort(f.listen);
  if (listen === null) throw usage(`--listen expects HOST:PORT, got "${f.listen}"`);
  const tokens = [
    ...(f.token ?? []).map((t) => parseToken(t, 'env')),
    ...(f.tokenSha256 ?? []).map((t) => parseToken(t, 'sha256')),
  ];
  const keys = collectKeys(f.key, f.keysFile);
  const log = createLogger();
  const store = await CentralStore.open(f.store);
  let server;
  try {
    server = await createCentralApiServer({
      source: new CentralReader(store),
      log,
      listen,
      tokens,
      keys,
      ...(f.web === false ? { webRoot: null } : f.web !== undefined ? { webRoot: f.web } : {}),
    });
    const bound = await server.listen();
    process.stdout.write(`central api listening on http://${formatHostPort(bound)}\n`);
  } catch (err) {
    await server?.close();
    await store.close();
    throw err;
  }
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await server.close();
  await store.close();
  return 0;
}
