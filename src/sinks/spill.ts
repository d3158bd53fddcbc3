/**
 * A sink's spill file: NDJSON records, in order, that could not be delivered yet
 * (`<data_dir>/spill/<sink>.ndjson`). Replay moves the file aside (`.replaying`) so records
 * spilled meanwhile land in a fresh file; what replay could not deliver goes back in front.
 * Every step is synchronous, so no other callback sees a half-done file. A crash during a
 * replay sends the records of that replay again on restart (at-least-once; receivers can
 * de-duplicate on `event.id`, which webhook sinks also send as Idempotency-Key).
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';

export class SpillFile {
  readonly path: string;
  private readonly replayingPath: string;
  private lines: number;

  constructor(path: string) {
    this.path = path;
    this.replayingPath = `${path}.replaying`;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    if (existsSync(this.replayingPath)) {
      // A replay was interrupted: its records go back in front of what was spilled after.
      const restored = readLines(this.replayingPath).concat(readLines(path));
      this.rewrite(restored);
      rmSync(this.replayingPath, { force: true });
    }
    this.lines = readLines(path).length;
  }

  /** Records waiting in the file. */
  get size(): number {
    return this.lines;
  }

  append(records: readonly string[]): void {
    if (records.length === 0) return;
    appendFileSync(this.path, records.map((r) => `${r}\n`).join(''), { mode: 0o600 });
    this.lines += records.length;
  }

  /** Put `records` in front of everything waiting (records a stream left unconfirmed). */
  prepend(records: readonly string[]): void {
    if (records.length === 0) return;
    const all = [...records, ...readLines(this.path)];
    this.rewrite(all);
    this.lines = all.length;
  }

  /** Move every waiting record out for a replay; `giveBack` or `done` must follow. */
  take(): string[] {
    if (this.lines === 0) return [];
    renameSync(this.path, this.replayingPath);
    this.lines = 0;
    return readLines(this.replayingPath);
  }

  /** The replay delivered everything it took. */
  done(): void {
    rmSync(this.replayingPath, { force: true });
  }

  /** The replay stopped: `rest` goes back in front of anything spilled meanwhile. */
  giveBack(rest: readonly string[]): void {
    const all = [...rest, ...readLines(this.path)];
    this.rewrite(all);
    rmSync(this.replayingPath, { force: true });
    this.lines = all.length;
  }

  private rewrite(lines: readonly string[]): void {
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, lines.map((r) => `${r}\n`).join(''), { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}

function readLines(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((line) => line.length > 0);
}
