/**
 * The bare Node relay baseline: accept, connect to the target, `pipe()` both ways. No
 * records, no parsing, no limits — the floor any Node proxy pays for moving bytes.
 *
 *   node --import tsx bench/pipe-proxy.ts <listen-port> <target-host>:<target-port>
 */
import net from 'node:net';

const [listenArg, targetArg] = process.argv.slice(2);
const listenPort = Number(listenArg);
const colon = targetArg?.lastIndexOf(':') ?? -1;
if (!targetArg || colon < 0 || !Number.isInteger(listenPort)) {
  process.stderr.write('usage: pipe-proxy.ts <listen-port> <host:port>\n');
  process.exit(2);
}
const targetHost = targetArg.slice(0, colon);
const targetPort = Number(targetArg.slice(colon + 1));

const server = net.createServer({ noDelay: true }, (client) => {
  const upstream = net.connect({ host: targetHost, port: targetPort, noDelay: true });
  client.pipe(upstream);
  upstream.pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
});
server.listen(listenPort, '127.0.0.1', () =>
  process.stdout.write(`pipe-proxy listening on ${listenPort}\n`),
);
process.on('SIGTERM', () => process.exit(0));
