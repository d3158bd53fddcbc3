/**
 * Drift findings as `audit-finding` records (DESIGN §4): finding kind, port, listener and the
 * process holding the socket; the port goes in `destination.port` so `search --port` finds it.
 */
import type { EventInput, JsonObject } from '../audit/event.js';
import { uuidv7 } from '../audit/ids.js';
import { NO_CONTEXT, type RecordRef, type Recorder } from '../audit/recorder.js';
import type { DriftFinding } from './drift.js';

export function findingRecord(
  f: DriftFinding,
  run: string,
): { input: EventInput; fields: JsonObject } {
  const finding: JsonObject = { kind: f.kind, severity: f.severity, run };
  if (f.port !== null) finding.port = f.port;
  if (f.ip !== null) finding.ip = f.ip;
  if (f.evidence !== undefined) finding.evidence = f.evidence;
  if (f.missing !== undefined) finding.missing = [...f.missing];
  const fields: JsonObject = { finding };
  if (f.listener !== null) fields.listener = { name: f.listener };
  if (f.port !== null)
    fields.destination = f.ip === null ? { port: f.port } : { ip: f.ip, port: f.port };
  if (f.process !== null) {
    const process: JsonObject = { pid: f.process.pid };
    if (f.process.exe !== null) process.executable = f.process.exe;
    if (f.process.comm !== null) process.name = f.process.comm;
    if (f.process.user !== null) process.user = { name: f.process.user };
    fields.process = process;
  }
  return {
    input: {
      event: {
        action: 'audit-finding',
        kind: 'state',
        category: ['configuration'],
        type: ['info'],
        outcome: 'failure',
        reason: f.detail,
      },
    },
    fields,
  };
}

/** Append one `audit-finding` per finding (one run id for them all); returns their refs. */
export function recordFindings(
  recorder: Recorder,
  findings: readonly DriftFinding[],
  run = uuidv7(),
): RecordRef[] {
  return findings.map((f) => {
    const { input, fields } = findingRecord(f, run);
    return recorder.append(input, {
      ...NO_CONTEXT,
      fields,
      listener: f.listener,
      destinationIp: f.ip,
      destinationPort: f.port,
    });
  });
}
