/**
 * How `portwarden grant` hands a grant change to the gateway: a request file in
 * `<data_dir>/grant-requests/` (written to a temporary name, then renamed). The gateway
 * picks requests up every half second — or at its next start — records each one through
 * its recorder (so the hash chain has one writer), applies it and deletes the file. Only
 * files owned by the gateway's own user (or root) and writable by no one else are accepted:
 * whoever may write the data directory may already change the audit trail.
 */
import {
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { GrantChange } from './grants.js';

const REQUEST_DIR = 'grant-requests';

const requestSchema = z.discriminatedUnion('change', [
  z.strictObject({
    change: z.literal('create'),
    id: z.string().min(1),
    identity: z.string().min(1),
    listener: z.string().min(1),
    expires: z.string(),
    reason: z.string(),
    operations: z.array(z.string()),
    granted_by: z.string(),
  }),
  z.strictObject({
    change: z.literal('revoke'),
    id: z.string().min(1),
    revoked_by: z.string(),
    reason: z.string(),
  }),
]);

export type GrantRequest = z.infer<typeof requestSchema>;

export function grantRequestDir(dataDir: string): string {
  return join(dataDir, REQUEST_DIR);
}

/** Write one request (CLI side); returns the file's path. */
export function writeGrantRequest(dataDir: string, request: GrantRequest): string {
  const dir = grantRequestDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${request.id}-${request.change}.json`);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(request), { mode: 0o600 });
  renameSync(tmp, file);
  return file;
}

export function requestToChange(r: GrantRequest): GrantChange {
  if (r.change === 'revoke')
    return { change: 'revoke', id: r.id, revokedBy: r.revoked_by, reason: r.reason };
  return {
    change: 'create',
    grant: {
      id: r.id,
      identity: r.identity,
      listener: r.listener,
      expiresMs: Date.parse(r.expires),
      reason: r.reason,
      operations: r.operations,
      grantedBy: r.granted_by,
    },
  };
}

export interface TakenRequest {
  readonly file: string;
  readonly request: GrantRequest | null;
  /** Why the file was refused (bad owner/mode, not JSON, wrong shape). */
  readonly problem?: string;
}

/** Pending requests in name order (gateway side); the caller deletes each after recording it. */
export function pendingGrantRequests(dataDir: string): TakenRequest[] {
  const dir = grantRequestDir(dataDir);
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .sort();
  } catch {
    return [];
  }
  const uid = process.getuid?.() ?? 0;
  const out: TakenRequest[] = [];
  for (const n of names) {
    const file = join(dir, n);
    try {
      const st = statSync(file);
      if ((st.uid !== uid && st.uid !== 0) || (st.mode & 0o022) !== 0) {
        out.push({ file, request: null, problem: 'owned by another user or writable by others' });
        continue;
      }
      const parsed = requestSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (
        !parsed.success ||
        (parsed.data.change === 'create' && Number.isNaN(Date.parse(parsed.data.expires)))
      )
        out.push({ file, request: null, problem: 'not a grant request' });
      else out.push({ file, request: parsed.data });
    } catch (err) {
      out.push({ file, request: null, problem: err instanceof Error ? err.message : 'unreadable' });
    }
  }
  return out;
}

export function removeRequest(file: string): void {
  rmSync(file, { force: true });
}
