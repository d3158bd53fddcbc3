/**
 * A relay on 127.0.0.1 that opens each connection to `target` with a PROXY v1 header naming
 * `sourceIp`, then pipes both ways: a real client seen by a gateway (with `trusted_proxies`
 * covering 127.0.0.1) as connecting from elsewhere — e.g. off loopback.
 */
import net from 'node:net';

export interface ProxyRelay {
  readonly port: number;
  close(): Promise<void>;
}

export function startProxyRelay(target: number, sourceIp: string): Promise<ProxyRelay> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const up = net.connect(target, '127.0.0.1');
    sockets.add(client);
    sockets.add(up);
    up.write(`PROXY TCP4 ${sourceIp} 127.0.0.1 40000 ${target}\r\n`);
    client.pipe(up).pipe(client);
    client.on('error', () => up.destroy());
    up.on('error', () => client.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      const port = a !== null && typeof a === 'object' ? a.port : 0;
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    }),
  );
}
