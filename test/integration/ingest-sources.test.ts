/**
 * `sources:` — a running gateway tails a conntrack log: lines appended later are ingested
 * into its own log, a partial line waits for its newline, and after a restart the
 * remembered offset means nothing is ingested twice.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Gateway } from '../../src/gateway/index.js';
import { silentLogger } from '../../src/log.js';
import { byAction, startGateway } from '../helpers/gateway.js';

const dir = mkdtempSync(join(tmpdir(), 'pw-sources-'));
const logFile = join(dir, 'conntrack.log');
const line = (port: number): string =>
  `[1700000000.1]\t [NEW] ipv4 2 tcp 6 120 SYN_SENT src=10.0.0.5 dst=10.0.0.9 sport=${port} dport=5432 [UNREPLIED] src=10.0.0.9 dst=10.0.0.5 sport=5432 dport=${port}\n`;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sources: tailing files', () => {
  it('ingests appended lines once, across a restart', async () => {
    writeFileSync(logFile, line(40000) + 'garbage\n');
    const sources = [{ format: 'conntrack', path: logFile, poll: '50ms', from: 'start' }];
    const gw = await startGateway({ listeners: [], extra: { node: 'tailer', sources } });
    try {
      await gw.waitForEvents((evs) => byAction(evs, 'ingest-conntrack-new').length === 1);
      appendFileSync(logFile, line(40001) + line(40002).slice(0, 30)); // second one is partial
      await gw.waitForEvents((evs) => byAction(evs, 'ingest-conntrack-new').length === 2);
      appendFileSync(logFile, line(40002).slice(30));
      const evs = await gw.waitForEvents((e) => byAction(e, 'ingest-conntrack-new').length === 3);
      const ports = byAction(evs, 'ingest-conntrack-new').map(
        (e) => (e.source as { port: number }).port,
      );
      expect(ports).toEqual([40000, 40001, 40002]);

      // Restart on the same data dir: the offset is remembered, only new lines come in.
      await gw.gateway.stop(500);
      gw.gateway.closeStore();
      appendFileSync(logFile, line(40003));
      const again = Gateway.create(gw.gateway.loaded, { log: silentLogger() });
      await again.start();
      try {
        const deadline = Date.now() + 10_000;
        let seen: number[] = [];
        while (Date.now() < deadline) {
          seen = [...again.store.iterate(0)]
            .filter((r) => r.action === 'ingest-conntrack-new')
            .map((r) => r.sourcePort ?? -1);
          if (seen.length >= 4) break;
          await new Promise((r) => setTimeout(r, 25));
        }
        expect(seen).toEqual([40000, 40001, 40002, 40003]);
      } finally {
        await again.stop(500);
        again.closeStore();
      }
    } finally {
      await gw.stop();
    }
  });
});
