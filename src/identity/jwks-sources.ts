/**
 * Where JWT credentials get their keys: a JWKS file (read once, when config loads) or an
 * issuer over HTTP (`jwks_url`, or discovery from `issuer`), one cached `RemoteJwks` per
 * location shared by every credential naming it. The identity runtime prefetches remote key
 * sets at gateway start and closes them at stop.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { PortwardenError, errorMessage } from '../errors.js';
import { silentLogger } from '../log.js';
import { RemoteJwks, type KeyLookup } from './jwks-remote.js';

export const DEFAULT_MIN_INTERVAL_MS = 30_000;

export interface JwksSettings {
  readonly issuer?: string | undefined;
  readonly jwks_file?: string | undefined;
  readonly jwks_url?: string | undefined;
  readonly jwks_min_interval?: number | undefined;
}

/** What a verifier asks for keys. */
export interface KeySource {
  keys(): Promise<KeyLookup | null>;
  /** A token named an unknown key: true when a refetch brought a changed set. */
  unknownKey(): Promise<boolean>;
}

export class JwksSources {
  private readonly remotes = new Map<string, RemoteJwks>();
  private readonly log: Logger;

  constructor(log: Logger = silentLogger()) {
    this.log = log;
  }

  /** The key source of one credential; `where` names it in config errors. */
  sourceFor(c: JwksSettings, where: string): KeySource {
    if (c.jwks_file !== undefined) return fileSource(c.jwks_file, where);
    if (c.jwks_url === undefined && c.issuer === undefined)
      throw new PortwardenError('PW_ERR_CONFIG', {
        detail: `${where}: set jwks_file, jwks_url or issuer`,
      });
    const minIntervalMs = c.jwks_min_interval ?? DEFAULT_MIN_INTERVAL_MS;
    const key = `${c.jwks_url ?? ''}|${c.jwks_url === undefined ? (c.issuer ?? '') : ''}|${minIntervalMs}`;
    let remote = this.remotes.get(key);
    if (remote === undefined) {
      remote = new RemoteJwks({
        ...(c.jwks_url === undefined ? { issuer: c.issuer } : { url: c.jwks_url }),
        minIntervalMs,
        log: this.log,
      });
      this.remotes.set(key, remote);
    }
    return remote;
  }

  prefetch(): void {
    for (const r of this.remotes.values()) r.prefetch();
  }

  close(): void {
    for (const r of this.remotes.values()) r.close();
  }
}

function fileSource(file: string, where: string): KeySource {
  let lookup: KeyLookup;
  try {
    lookup = createLocalJWKSet(JSON.parse(readFileSync(file, 'utf8')) as JSONWebKeySet);
  } catch (err) {
    throw new PortwardenError(
      'PW_ERR_CONFIG',
      { detail: `${where}.jwks_file ${file}: ${errorMessage(err)}` },
      { cause: err },
    );
  }
  return { keys: () => Promise.resolve(lookup), unknownKey: () => Promise.resolve(false) };
}
