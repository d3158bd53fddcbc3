/**
 * The gateway's identity state: the directory of identities (from config) and the grant
 * book (from `grant` records: loaded from the store at start, then kept current from every
 * commit). It also drains `grant-requests/` so the CLI can grant while the gateway runs, and
 * owns the caches of remote JWT key sets.
 */
import type { Logger } from 'pino';
import type { JsonObject } from '../audit/event.js';
import type { Recorder } from '../audit/recorder.js';
import type { Config } from '../config/index.js';
import { errorMessage } from '../errors.js';
import type { ActionFacts } from '../policy/index.js';
import type { EventRow, Store } from '../store/index.js';
import { pendingGrantRequests, removeRequest, requestToChange } from './grant-inbox.js';
import { GrantBook, grantChangeOf, grantGroup, grantRecord, type Grant } from './grants.js';
import { IdentityDirectory, type Principal } from './identities.js';
import { JwksSources } from './jwks-sources.js';

const POLL_MS = 500;

export class IdentityRuntime {
  readonly directory: IdentityDirectory;
  readonly grants = new GrantBook();
  private readonly dataDir: string;
  private readonly store: Store;
  private readonly recorder: Recorder;
  private readonly log: Logger;
  private readonly jwks: JwksSources;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(
    config: Pick<Config, 'identities' | 'data_dir'>,
    store: Store,
    recorder: Recorder,
    log: Logger,
  ) {
    this.jwks = new JwksSources(log);
    this.directory = new IdentityDirectory(config.identities, this.jwks);
    this.dataDir = config.data_dir;
    this.store = store;
    this.recorder = recorder;
    this.log = log;
  }

  /**
   * Load grants from the store, follow new ones, start draining grant requests, and fetch
   * remote JWT key sets in the background.
   */
  start(): void {
    this.jwks.prefetch();
    for (let after: number | null = -1; after !== null;) {
      const page = this.store.search({ actions: ['grant'], order: 'oldest', after, limit: 1000 });
      for (const row of page.rows) this.applyRow(row);
      after = page.next;
    }
    this.unsubscribe = this.recorder.onCommit((rows) => {
      for (const row of rows) if (row.action === 'grant') this.applyRow(row);
    });
    this.drainRequests();
    this.timer = setInterval(() => this.drainRequests(), POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.jwks.close();
  }

  /** Groups policy sees: the identity's own, plus `grant:<listener>` while a grant allows. */
  groupsFor(
    p: Principal,
    listener: string,
    nowMs: number,
    action?: ActionFacts,
  ): readonly string[] {
    const grant = this.grants.find(p.name, listener, nowMs, action);
    return grant === undefined ? p.groups : [...p.groups, grantGroup(listener)];
  }

  activeGrant(p: Principal, listener: string, nowMs: number): Grant | undefined {
    return this.grants.find(p.name, listener, nowMs);
  }

  /** Record and apply pending CLI requests (the commit listener applies them). */
  drainRequests(): void {
    for (const taken of pendingGrantRequests(this.dataDir)) {
      if (taken.request === null) {
        this.log.warn({ file: taken.file, problem: taken.problem }, 'grant request refused');
        removeRequest(taken.file);
        continue;
      }
      const change = requestToChange(taken.request);
      if (change.change === 'create' && !this.directory.has(change.grant.identity)) {
        this.log.warn(
          { file: taken.file, identity: change.grant.identity },
          'grant for an unknown identity refused',
        );
        removeRequest(taken.file);
        continue;
      }
      try {
        this.recorder.append(grantRecord(change, 'cli'));
        removeRequest(taken.file);
      } catch (err) {
        this.log.error({ err: errorMessage(err) }, 'grant request could not be recorded');
      }
    }
  }

  private applyRow(row: EventRow): void {
    if (row.body === null) return;
    try {
      const change = grantChangeOf(JSON.parse(row.body) as JsonObject);
      if (change) this.grants.apply(change);
    } catch (err) {
      this.log.warn({ err: errorMessage(err), sequence: row.sequence }, 'unreadable grant record');
    }
  }
}
