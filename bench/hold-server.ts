/**
 * A target that accepts connections and holds them open without a word, printing how many
 * it holds (`holding N`) whenever the number changes — the far end of the idle-connection
 * measurements.
 *
 *   node --import tsx bench/hold-server.ts <port>
 */
import net from 'node:net';

const port = Number(process.argv[2] ?? '0');
let holding = 0;
let reportScheduled = false;
const report = (): void => {
  if (reportScheduled) return;
  reportScheduled = true;
  setTimeout(() => {
    reportScheduled = false;
    process.stdout.write(`holding ${holding}\n`);
  }, 50);
};
const server = net.createServer((s) => {
  holding++;
  report();
  s.on('error', () => undefined);
  s.on('close', () => {
    holding--;
    report();
  });
});
server.maxConnections = 100_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
