/**
 * `portwarden central serve` — the read API and the dashboard over the central store
 * (src/api/central). Tokens as for the gateway API: without any it listens on loopback only.
 */
import { Command, Option } from 'commander';
import { createCentralApiServer } from '../../api/index.js';
import type { TokenConfig } from '../../api/auth.js';
import { ROLES, type Role } from '../../api/index.js';
import { formatHostPort, parseHostPort } from '../../config/index.js';
import { createLogger } from '../../log.js';
import { CentralReader, CentralStore } from '../../ship/index.js';
import { runCommand, usage } from '../io.js';
import { collectKeys } from './collect.js';

interface ServeFlags {
  readonly store: string;
  readonly listen: string;
  readonly token?: string[];
  readonly tokenSha256?: string[];
  readonly key?: string[];
  readonly keysFile?: string;
  /** --web DIR, or false with --no-web. */
  readonly web?: string | false;
}

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

export function serveCommand(): Command {
  return new Command('serve')
    .description('the read API and dashboard over the records of every node (read-only)')
    .addOption(
      new Option('--store <url>', 'central store: postgres://user@host/db')
        .env('PORTWARDEN_CENTRAL_STORE')
        .makeOptionMandatory(),
    )
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8443')
    .option(
      '--token <name:role:env...>',
      'a bearer token read from an environment variable (role viewer, auditor or admin)',
    )
    .option('--token-sha256 <name:role:hex...>', 'a bearer token given by its SHA-256')
    .option('--key <verifier...>', "nodes' verifier keys (for verify now)")
    .option('--keys-file <file>', 'verifier keys, one per line')
    .option('--web <dir>', 'the built dashboard (default dist/web)')
    .option('--no-web', 'serve the API only')
    .addHelpText(
      'after',
      `
Without tokens the API is open to reads and listens on loopback only; with tokens it may
listen anywhere and every request needs one. Stop with SIGTERM or SIGINT.

Examples:
  portwarden central serve --store postgres://pw@db/central
  API_TOKEN=… portwarden central serve --store postgres://pw@db/central \\
      --listen 0.0.0.0:8443 --token ops:auditor:API_TOKEN --keys-file /etc/portwarden/node-keys
`,
    )
    .action((f: ServeFlags) =>
      runCommand(async () => {
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
            ...(f.web === false
              ? { webRoot: null }
              : f.web !== undefined
                ? { webRoot: f.web }
                : {}),
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
      }),
    );
}
