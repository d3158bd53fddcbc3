/**
 * The parts of `portwarden policy` that read the record: `policy history` (every
 * policy-reload record: versions, time, trigger, diff; `--show` prints a version as written)
 * and `policy test --replay` (recorded decisions decided again by a candidate policy file).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse, stringify } from 'yaml';
import type { JsonObject } from '../../audit/event.js';
import { loadConfig } from '../../config/index.js';
import { PortwardenError, errorMessage } from '../../errors.js';
import {
  REPLAYABLE_ACTIONS,
  PolicyReplay,
  compilePolicies,
  describeChanges,
  findDefinition,
  historyEntry,
  stateFromJson,
  type HistoryEntry,
  type PolicyDecider,
  type ReplayReport,
} from '../../policy/index.js';
import { MAX_PAGE, type EventFilter, type Store } from '../../store/index.js';
import { dataDirFromOptions, openStoreForReading } from '../data-dir.js';
import { parseTimeArg } from '../time.js';

export interface RecordsIo {
  readonly out: (text: string) => void;
}

export interface HistoryOptions {
  since?: string;
  policy?: string;
  show?: string;
  format: 'table' | 'ndjson';
}

/** `policy history`: one line per policy-reload record, oldest first. */
export async function policyHistory(
  io: RecordsIo,
  cmd: Command,
  opts: HistoryOptions,
): Promise<number> {
  const store = openStoreForReading(await recordsDataDir(cmd));
  try {
    const filter: EventFilter = {
      actions: ['policy-reload'],
      ...(opts.since === undefined ? {} : { sinceNs: parseTimeArg(opts.since) }),
    };
    const records = [...readRecords(store, filter)];
    const entries = records.map(historyEntry).filter((e): e is HistoryEntry => e !== null);
    if (opts.show !== undefined) return showVersion(io, entries, opts.show);
    const wanted = (e: HistoryEntry): boolean =>
      opts.policy === undefined ||
      e.changes.some((c) => c.name === opts.policy) ||
      (e.trigger === 'start' && e.state?.versions[opts.policy] !== undefined);
    for (const [i, e] of entries.entries()) {
      if (!wanted(e)) continue;
      if (opts.format === 'ndjson') {
        io.out(`${JSON.stringify(records[i])}\n`);
        continue;
      }
      const changes = describeChanges(
        opts.policy === undefined ? e.changes : e.changes.filter((c) => c.name === opts.policy),
      );
      const what =
        e.outcome === 'failure'
          ? `REJECTED (previous policies kept): ${firstLine(e.error ?? '')}`
          : changes.length > 0
            ? changes.join('; ')
            : 'no change';
      io.out(`#${e.sequence}\t${e.time}\t${e.trigger}\t${what}\n`);
      for (const r of e.restartRequired) io.out(`\trestart needed: ${r}\n`);
    }
    if (opts.format === 'table' && entries.length === 0)
      io.out('no policy-reload records (the gateway writes one at start and on each reload)\n');
    return 0;
  } finally {
    store.close();
  }
}

function showVersion(io: RecordsIo, entries: readonly HistoryEntry[], version: string): number {
  const found = findDefinition(entries, version);
  if (found === null) throw usage(`no recorded policy has version ${version}`);
  io.out(`# policy ${found.name} ${found.version}\n`);
  io.out(stringify({ [found.name]: found.definition }));
  return 0;
}

export interface ReplayOptions {
  policy?: string;
  since?: string;
  until?: string;
  listener?: string;
  examples: string;
  format: 'table' | 'ndjson';
}

/** `policy test --replay`: what a candidate policy would have decided differently. */
export async function policyReplay(
  io: RecordsIo,
  cmd: Command,
  opts: ReplayOptions,
): Promise<number> {
  if (opts.policy === undefined) throw usage('--replay needs --policy FILE (the candidate)');
  const examples = Number(opts.examples);
  if (!Number.isInteger(examples) || examples < 0)
    throw usage(`--examples: expected a count, got "${opts.examples}"`);
  const candidate = readCandidate(opts.policy);
  const store = openStoreForReading(await recordsDataDir(cmd));
  try {
    const attached = candidate.listeners ?? configListeners(cmd) ?? recordedListeners(store);
    const deciderFor = (listener: string): PolicyDecider | undefined => {
      const name = attached[listener];
      return name === undefined || name === null ? undefined : candidate.policies.get(name);
    };
    const replay = new PolicyReplay(deciderFor, examples);
    const filter: EventFilter = {
      actions: REPLAYABLE_ACTIONS,
      sinceNs: parseTimeArg(opts.since ?? '7d'),
      ...(opts.until === undefined ? {} : { untilNs: parseTimeArg(opts.until) }),
      ...(opts.listener === undefined ? {} : { listener: opts.listener }),
    };
    for (const record of readRecords(store, filter)) replay.add(record);
    printReport(io, replay.report(), opts.format);
    return 0;
  } finally {
    store.close();
  }
}

function printReport(io: RecordsIo, r: ReplayReport, format: 'table' | 'ndjson'): void {
  if (format === 'ndjson') {
    io.out(`${JSON.stringify(r)}\n`);
    return;
  }
  io.out(
    `replayed ${r.replayed} decisions: ${r.unchanged} unchanged, ${r.newlyDenied} would be denied, ` +
      `${r.newlyAllowed} would be allowed` +
      (r.skipped > 0 ? ` (${r.skipped} on listeners the candidate does not cover)` : '') +
      '\n',
  );
  for (const c of r.counts) {
    io.out(`  ${c.listener}\t${c.rule}\twould ${c.now}\t${c.count}\n`);
  }
  if (r.examples.length > 0) io.out('examples:\n');
  for (const e of r.examples) {
    io.out(
      `  #${e.sequence} ${e.time} ${e.listener} ${e.action} ${e.was}→${e.now}` +
        ` rule=${e.rule ?? '-'} (was ${e.recordedRule ?? '-'}) ${oneLine(e.subject)}\n`,
    );
  }
}

interface Candidate {
  readonly policies: ReadonlyMap<string, PolicyDecider>;
  /** Listener → policy from the candidate file, when it has `listeners:`. */
  readonly listeners?: Readonly<Record<string, string | null>>;
}

/**
 * A candidate is a config file (its `policies:` and, if present, `listeners:`) or a file
 * that is only a `policies:` map.
 */
function readCandidate(file: string): Candidate {
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new PortwardenError('PW_ERR_CONFIG_READ', { file, detail: errorMessage(err) });
  }
  const top = isRecord(doc) ? doc : {};
  const raw = 'policies' in top ? top.policies : top;
  const compiled = compilePolicies(raw);
  if (!compiled.ok) {
    const detail = compiled.issues
      .map((i) => `${file}: policies.${i.path.join('.')}: ${i.message}`)
      .join('\n');
    throw new PortwardenError('PW_ERR_POLICY', { detail });
  }
  if (!Array.isArray(top.listeners)) return { policies: compiled.policies };
  const listeners: Record<string, string | null> = {};
  for (const l of top.listeners as unknown[]) {
    if (isRecord(l) && typeof l.name === 'string')
      listeners[l.name] = typeof l.policy === 'string' ? l.policy : null;
  }
  return { policies: compiled.policies, listeners };
}

/** Listener → policy from -c (when that file exists). */
function configListeners(cmd: Command): Record<string, string | null> | undefined {
  const file = cmd.optsWithGlobals<{ config?: string }>().config ?? 'portwarden.yaml';
  if (!existsSync(file)) return undefined;
  let listeners;
  try {
    listeners = loadConfig(file).config.listeners;
  } catch {
    return undefined; // An invalid config names no attachment we can trust.
  }
  const out: Record<string, string | null> = {};
  for (const l of listeners) out[l.name] = l.policy ?? null;
  return out;
}

/** Listener → policy as the last policy-reload record saw it. */
function recordedListeners(store: Store): Record<string, string | null> {
  const body = store.search({ actions: ['policy-reload'], order: 'newest', limit: 1 }).rows[0]
    ?.body;
  if (body === null || body === undefined) return {};
  const state = stateFromJson((JSON.parse(body) as JsonObject).policy);
  return state === null ? {} : { ...state.listeners };
}

/** Every record matching `filter`, oldest first, page by page. */
function* readRecords(store: Store, filter: EventFilter): Generator<JsonObject> {
  let after: number | undefined;
  for (;;) {
    const page = store.search({
      ...filter,
      order: 'oldest',
      limit: MAX_PAGE,
      ...(after === undefined ? {} : { after }),
    });
    for (const row of page.rows) if (row.body !== null) yield JSON.parse(row.body) as JsonObject;
    if (page.next === null) return;
    after = page.next;
  }
}

/**
 * The data dir to read: --data-dir, else the config's data_dir. A config that does not
 * validate (the very file a rejected reload was about) still names its data_dir.
 */
async function recordsDataDir(cmd: Command): Promise<string> {
  try {
    return await dataDirFromOptions(cmd);
  } catch (err) {
    if (!(err instanceof PortwardenError) || err.code !== 'PW_ERR_CONFIG') throw err;
    const file = resolve(cmd.optsWithGlobals<{ config?: string }>().config ?? 'portwarden.yaml');
    const doc: unknown = parse(readFileSync(file, 'utf8'));
    const dataDir = isRecord(doc) && typeof doc.data_dir === 'string' ? doc.data_dir : undefined;
    if (dataDir === undefined) throw err;
    return resolve(dirname(file), dataDir);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function firstLine(text: string): string {
  const lines = text.split('\n');
  return lines.length > 1 ? `${lines[0] ?? ''} (+${lines.length - 1} more)` : text;
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > 120 ? `${flat.slice(0, 117)}…` : flat;
}

function usage(detail: string): PortwardenError {
  return new PortwardenError('PW_ERR_USAGE', { detail });
}
