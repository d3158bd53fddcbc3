/** `portwarden demo` when it runs (demo.ts defines the command; this starts a gateway). */
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../config/index.js';
import { createLogger } from '../../log.js';
import type { DemoFlags } from './demo.js';
import { startGateway, stopOnSignals } from './start-run.js';

function reachable(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolvePromise(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

function startInternalService(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        service: 'inventory-api',
        path: req.url,
        forwarded: req.headers.forwarded ?? null,
      }) + '\n',
    );
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

export async function runDemo(flags: DemoFlags): Promise<number> {
  const dir = resolve(flags.dir);
  mkdirSync(dir, { recursive: true });
  const base = Number(flags.basePort);
  const service = await startInternalService();
  const servicePort = (service.address() as net.AddressInfo).port;
  const listeners: Record<string, unknown>[] = [
    {
      name: 'inventory-api',
      listen: `127.0.0.1:${base}`,
      target: `127.0.0.1:${servicePort}`,
      protocol: 'http',
      owner: 'demo',
      purpose: 'internal HTTP API',
      forwarded: { forwarded: true, request_id_header: 'X-Request-Id' },
    },
  ];
  const tries = [`curl -s http://127.0.0.1:${base}/items/42`];
  if (await reachable(5432)) {
    listeners.push({
      name: 'postgres',
      listen: `127.0.0.1:${base + 1}`,
      target: '127.0.0.1:5432',
      protocol: 'postgres',
      owner: 'demo',
      purpose: 'local PostgreSQL',
    });
    tries.push(
      `psql "host=127.0.0.1 port=${base + 1} user=postgres dbname=test" -c "select now()"`,
    );
  }
  if (await reachable(3306)) {
    listeners.push({
      name: 'mariadb',
      listen: `127.0.0.1:${base + 2}`,
      target: '127.0.0.1:3306',
      protocol: 'mysql',
      owner: 'demo',
      purpose: 'local MariaDB',
    });
    tries.push(`mariadb -h 127.0.0.1 -P ${base + 2} -u root test -e "select 1"`);
  }
  if (await reachable(6379)) {
    listeners.push({
      name: 'redis',
      listen: `127.0.0.1:${base + 3}`,
      target: '127.0.0.1:6379',
      protocol: 'redis',
      owner: 'demo',
      purpose: 'local Redis',
    });
    tries.push(`redis-cli -p ${base + 3} set greeting hello`);
  }
  const file = join(dir, 'portwarden.yaml');
  writeFileSync(
    file,
    `# Written by \`portwarden demo\`; edit and run \`portwarden start -c ${file}\`.\n` +
      stringify({
        node: 'demo',
        data_dir: './data',
        audit: { mode: 'strict', checkpoint_interval: '10s' },
        api: { listen: `127.0.0.1:${base + 10}` },
        listeners,
      }),
  );
  const loaded = loadConfig(file);
  const log = createLogger(process.env.PORTWARDEN_LOG_LEVEL ?? 'warn');
  const gateway = await startGateway(loaded, log);
  const cfg = `-c ${file}`;
  process.stdout.write(
    [
      '',
      `portwarden demo is running (config ${file}).`,
      '',
      'Listeners:',
      ...gateway.listeners.map(
        (l) =>
          `  ${l.name.padEnd(14)} 127.0.0.1:${l.address().port} -> ${l.runtime.config.target.host}:${l.runtime.config.target.port} (${l.runtime.config.protocol})`,
      ),
      '',
      `Dashboard and API: http://127.0.0.1:${base + 10}/  (API: /api/v1/openapi.json, metrics: /metrics)`,
      '',
      'Try, in another terminal:',
      ...tries.map((t) => `  ${t}`),
      `  npx portwarden search ${cfg} --since 15m`,
      `  npx portwarden tail ${cfg}`,
      `  npx portwarden who ${cfg} 127.0.0.1:<client port> --at 5m`,
      `  npx portwarden verify ${cfg}`,
      '',
      'Ctrl-C stops it (connections drain, every record is committed).',
      '',
    ].join('\n'),
  );
  await stopOnSignals(gateway, log, () => new Promise<void>((r) => service.close(() => r())));
  return 0;
}
