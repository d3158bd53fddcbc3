/**
 * The audit report from a known data set written through a real gateway's Recorder: the
 * numbers in report.json are the ones the data set implies, integrity verifies, and the
 * self-contained HTML renders offline in headless Chromium (screenshot: docs/screenshots/
 * report.png). Then the scheduled audit, run once inside the gateway.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventInput, JsonObject } from '../../src/audit/event.js';
import { NO_CONTEXT, type RecordContext } from '../../src/audit/recorder.js';
import { ScheduledAudit } from '../../src/inventory/index.js';
import {
  buildReport,
  checkIntegrity,
  writeReportFiles,
  type ReportData,
} from '../../src/inventory/report/index.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { SCREENSHOT_DIR } from '../helpers/screenshots.js';

const SHOT = join(SCREENSHOT_DIR, 'report.png');

function ctx(listener: string, source: string, user: string | null, conn: string): RecordContext {
  const fields: JsonObject = {
    listener: { name: listener },
    connection: { id: conn },
    source: { ip: source, port: 40000 },
  };
  if (user !== null) fields.user = { name: user };
  return {
    ...NO_CONTEXT,
    fields,
    listener,
    connectionId: conn,
    sourceIp: source,
    sourcePort: 40000,
    user,
  };
}

const open = (outcome: 'success' | 'failure'): EventInput => ({
  event: {
    action: 'connection-open',
    category: ['network'],
    type: outcome === 'success' ? ['connection', 'start', 'allowed'] : ['connection', 'denied'],
    outcome,
  },
});
const close: EventInput = {
  event: {
    action: 'connection-close',
    category: ['network'],
    type: ['connection', 'end'],
    outcome: 'success',
  },
};

let gw: TestGateway;
let n = 0;

/** One whole connection: open, optional actions, close. */
function connection(
  listener: string,
  source: string,
  user: string | null,
  actions: EventInput[] = [],
): void {
  const c = ctx(listener, source, user, `c-${n++}`);
  gw.gateway.recorder.append(open('success'), c);
  for (const a of actions) gw.gateway.recorder.append(a, c);
  gw.gateway.recorder.append(close, c);
}

function anomaly(detector: string, severity: string, source: string, reason: string): void {
  gw.gateway.recorder.append(
    {
      event: {
        action: `anomaly-${detector}`,
        kind: 'alert',
        category: ['intrusion_detection'],
        type: ['indicator'],
        severity: 73,
        reason,
      },
      alert: { detector, severity, key: source },
    },
    { ...NO_CONTEXT, fields: { source: { ip: source } }, sourceIp: source },
  );
}

function finding(run: string, kind: string, port: number, detail: string): void {
  gw.gateway.recorder.append(
    {
      event: {
        action: 'audit-finding',
        kind: 'state',
        category: ['configuration'],
        type: ['info'],
        outcome: 'failure',
        reason: detail,
      },
      finding: { kind, port, run, severity: 'medium' },
    },
    { ...NO_CONTEXT, destinationPort: port },
  );
}

let report: ReportData;

beforeAll(async () => {
  gw = await startGateway({ listeners: [] });
  const query = (outcome: 'success' | 'failure'): EventInput => ({
    event: {
      action: 'db-query',
      category: ['database'],
      type: ['access', outcome === 'success' ? 'allowed' : 'denied'],
      outcome,
    },
    db: { operation: 'DELETE', query: { text: 'delete from orders' } },
  });
  for (let i = 0; i < 3; i++) connection('orders-db', '10.0.0.1', 'alice', [query('success')]);
  connection('orders-db', '10.0.0.2', 'bob', [query('failure')]);
  connection('cache', '10.0.0.2', 'bob');
  connection('cache', '10.0.0.2', 'bob');
  connection('web', '10.0.0.3', null);
  for (let i = 0; i < 2; i++)
    gw.gateway.recorder.append(open('failure'), ctx('orders-db', '10.0.0.9', null, `r-${i}`));
  for (let i = 0; i < 3; i++)
    gw.gateway.recorder.append(
      {
        event: {
          action: 'db-login',
          category: ['database', 'authentication'],
          type: ['start'],
          outcome: 'failure',
        },
      },
      ctx('orders-db', '10.0.0.9', 'admin', `l-${i}`),
    );
  anomaly('denial-burst', 'high', '10.0.0.9', '3 failed logins from 10.0.0.9 within 60 s');
  anomaly('denial-burst', 'high', '10.0.0.8', '3 denied attempts from 10.0.0.8 within 60 s');
  anomaly('new-access', 'medium', '10.0.0.3', 'first access to web from 10.0.0.3');
  finding('run-1', 'undeclared-listener', 2024, '0.0.0.0:2024 listens but nothing declares it');
  finding('run-1', 'listener-undocumented', 15432, 'listener orders-db has no owner');
  finding(
    'run-2',
    'target-not-listening',
    6380,
    'target 127.0.0.1:6380 of listener cache is on this host but nothing listens there',
  );
  gw.gateway.recorder.append({
    event: {
      action: 'policy-reload',
      category: ['configuration'],
      type: ['change'],
      outcome: 'success',
      reason: 'sighup',
    },
    message: 'policies reloaded: databases changed',
  });
  await new Promise<void>((resolve) => gw.gateway.recorder.afterCommit(resolve));
  gw.gateway.checkpointer.checkpointNow();
  await new Promise<void>((resolve) => gw.gateway.recorder.afterCommit(resolve));
  const now = Date.now();
  report = buildReport(gw.gateway.store, {
    sinceNs: BigInt(now - 7 * 86_400_000) * 1_000_000n,
    untilNs: BigInt(now + 1) * 1_000_000n,
    integrity: await checkIntegrity(gw.gateway.store, gw.dataDir),
    node: 'test-node',
  });
});

afterAll(async () => {
  await gw.stop();
});

describe('report from a known data set', () => {
  it('has the expected numbers', () => {
    expect(report.totals).toEqual({
      records: gw.gateway.store.nextSequence(),
      connections: 7,
      denied: 3,
      failed_logins: 3,
      anomalies: 3,
      findings: 3,
      policy_changes: 1,
    });
    expect(report.access.listeners).toEqual(['cache', 'orders-db', 'web']);
    expect(report.access.rows).toEqual([
      { who: 'alice', counts: { 'orders-db': 3 }, total: 3 },
      { who: 'bob', counts: { cache: 2, 'orders-db': 1 }, total: 3 },
      { who: '10.0.0.3', counts: { web: 1 }, total: 1 },
    ]);
    expect(report.denied).toEqual([
      { kind: 'failed-login', listener: 'orders-db', source: '10.0.0.9', user: 'admin', count: 3 },
      { kind: 'denied', listener: 'orders-db', source: '10.0.0.9', user: '-', count: 2 },
      { kind: 'denied', listener: 'orders-db', source: '10.0.0.2', user: 'bob', count: 1 },
    ]);
    expect(report.anomalies_by_detector).toEqual({ 'denial-burst': 2, 'new-access': 1 });
    expect(report.anomalies.map((a) => a.source)).toEqual(['10.0.0.3', '10.0.0.8', '10.0.0.9']);
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({ kind: 'target-not-listening', port: 6380 });
    expect(report.policy_changes).toMatchObject([{ outcome: 'success', trigger: 'sighup' }]);
    expect(report.integrity.status).toBe('ok');
    expect(report.daily).toHaveLength(8);
    const today = report.daily[report.daily.length - 1];
    expect(today).toMatchObject({ connections: 7, denied: 6, anomalies: 3 });
  });

  it('renders offline in headless Chromium', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-report-'));
    const files = writeReportFiles(report, join(dir, 'report.html'));
    expect(JSON.parse(readFileSync(files.json, 'utf8'))).toEqual(report);
    const html = readFileSync(files.html, 'utf8');
    expect(html).not.toMatch(/<script|<link|src=|url\(/i);
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(files.html).href);
      expect(requests).toEqual([pathToFileURL(files.html).href]);
      expect(await page.locator('h1').textContent()).toBe('portwarden audit report');
      const matrix = page.locator('table').first();
      expect(await matrix.locator('tbody tr').count()).toBe(3);
      expect(await matrix.locator('tbody tr').first().textContent()).toBe('alice33');
      expect(await page.locator('svg').count()).toBe(2);
      expect(await page.locator('.ok').textContent()).toBe('verified');
      const bars = await page.locator('svg rect title').allTextContents();
      expect(bars.filter((t) => t.endsWith('connections: 7'))).toHaveLength(1);
      await page.screenshot({ path: SHOT, fullPage: true });
      expect(existsSync(SHOT)).toBe(true);
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('scheduled audit', () => {
  it('records drift findings through the gateway recorder, verifies, and writes a report in the data dir', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const address = probe.address();
    const downPort = typeof address === 'object' && address !== null ? address.port : 0;
    await new Promise((r) => probe.close(r));
    const sched = await startGateway({
      listeners: [
        {
          name: 'gone',
          listen: '127.0.0.1:0',
          target: `127.0.0.1:${downPort}`,
          owner: 'ops',
          purpose: 'test',
        },
      ],
      audit: { schedule: '0 3 * * *' },
    });
    try {
      const cfg = sched.gateway.loaded.config;
      expect(cfg.audit.schedule).toBe('0 3 * * *');
      const audit = new ScheduledAudit({
        pattern: cfg.audit.schedule ?? '',
        config: cfg,
        dataDir: sched.dataDir,
        store: sched.gateway.store,
        recorder: sched.gateway.recorder,
        ownEndpoints: () => sched.gateway.listeners.map((l) => l.address()),
      });
      audit.start();
      expect(audit.nextRun()?.getHours()).toBe(3);
      const run = await audit.runOnce();
      audit.stop();
      expect(run.findings.find((f) => f.kind === 'target-not-listening')?.port).toBe(downPort);
      expect(run.integrity.status).toBe('ok');
      const recorded = sched
        .events()
        .filter((e) => (e.event as JsonObject).action === 'audit-finding');
      expect(recorded).toHaveLength(run.findings.length);
      expect(recorded.map((e) => (e.event as JsonObject).sequence)).toEqual(
        recorded.map((_e, i) => ((recorded[0]?.event as JsonObject).sequence as number) + i),
      );
      const data = JSON.parse(readFileSync(run.report.json, 'utf8')) as ReportData;
      expect(run.report.json.startsWith(join(sched.dataDir, 'reports', 'report-'))).toBe(true);
      expect(data.findings.map((f) => f.kind)).toContain('target-not-listening');
      expect(data.totals.findings).toBe(run.findings.length);
      expect(existsSync(run.report.html)).toBe(true);
    } finally {
      await sched.stop();
    }
  });
});
