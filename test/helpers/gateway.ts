/**
 * Starts a real gateway in this process for integration tests: a temporary data dir, the
 * given listeners (listen on 127.0.0.1:0), and helpers to read what was recorded.
 *
 * IMPORTANT: the gateway runs in the test's own process, so run client programs (psql,
 * mariadb, redis-cli, curl…) with `run()` from ./run.ts (async). `execFileSync` blocks the
 * event loop and deadlocks the gateway.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfigText, formatIssues } from '../../src/config/index.js';
import type { JsonObject } from '../../src/audit/event.js';
import { Gateway } from '../../src/gateway/index.js';
import type { GatewayOptions } from '../../src/gateway/index.js';
import { silentLogger } from '../../src/log.js';

export interface TestGateway {
  readonly gateway: Gateway;
  readonly dataDir: string;
  port(listener: string): number;
  /** Every committed record, by sequence. */
  events(): JsonObject[];
  /** Poll until `pred` holds for the committed records (or fail after `timeoutMs`). */
  waitForEvents(pred: (events: JsonObject[]) => boolean, timeoutMs?: number): Promise<JsonObject[]>;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly listeners: readonly Record<string, unknown>[];
  readonly audit?: Record<string, unknown>;
  readonly policies?: Record<string, unknown>;
  readonly extra?: Record<string, unknown>;
  readonly gatewayOptions?: Partial<GatewayOptions>;
}

export async function startGateway(opts: StartOptions): Promise<TestGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pw-test-'));
  const raw = {
    node: 'test-node',
    data_dir: dataDir,
    audit: { mode: 'strict', ...(opts.audit ?? {}) },
    shutdown_timeout: '2s',
    listeners: opts.listeners,
    ...(opts.policies ? { policies: opts.policies } : {}),
    ...(opts.extra ?? {}),
  };
  const text = stringify(raw);
  const parsed = parseConfigText(text);
  if (!parsed.ok) throw new Error(formatIssues('test-config', parsed.issues));
  const gateway = Gateway.create(
    { file: join(dataDir, 'portwarden.yaml'), config: parsed.config, text },
    { log: silentLogger(), ...(opts.gatewayOptions ?? {}) },
  );
  await gateway.start();
  const events = (): JsonObject[] => {
    const out: JsonObject[] = [];
    for (const row of gateway.store.iterate(0))
      if (row.body) out.push(JSON.parse(row.body) as JsonObject);
    return out;
  };
  let stopped = false;
  return {
    gateway,
    dataDir,
    port(name: string): number {
      const l = gateway.listeners.find((x) => x.name === name);
      if (!l) throw new Error(`no listener ${name}`);
      return l.address().port;
    },
    events,
    async waitForEvents(pred, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const evs = events();
        if (pred(evs)) return evs;
        if (Date.now() > deadline) {
          throw new Error(
            `condition not met within ${timeoutMs} ms; ${evs.length} events: ${evs.map((e) => JSON.stringify((e.event as JsonObject).action)).join(',')}`,
          );
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await gateway.stop(2000);
      gateway.closeStore();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Records with this `event.action`. */
export function byAction(events: readonly JsonObject[], action: string): JsonObject[] {
  return events.filter((e) => (e.event as JsonObject).action === action);
}

/** Read a dotted path (`upstream.local.port`) from a record. */
export function field(e: JsonObject, path: string): unknown {
  let cur: unknown = e;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}
