/** A TCP port free on 127.0.0.1 right now (for a server a test starts later). */
import net from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() =>
        a !== null && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port')),
      );
    });
  });
}
