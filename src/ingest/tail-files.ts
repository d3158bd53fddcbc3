/**
 * `sources:` — the gateway tails log files and ingests new lines into its own log (the
 * gateway is then the only writer of the data dir). Poll-based: every `poll` the file is
 * stat'ed and the bytes past the remembered offset are read (at most 1 MiB per poll); a
 * partial last line waits for its newline. Offsets are kept per path with the inode in
 * `<data_dir>/ingest-offsets.json`, so a restart resumes where it stopped; a new inode
 * (rotation) or a shorter file (truncation) starts from 0.
 */
import {
  closeSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Recorder } from '../audit/recorder.js';
import { errorMessage } from '../errors.js';
import { emptyReport, ingestLine, parserFor, type IngestReport } from './append.js';
import type { LineParser } from './ingested.js';
import type { SourceConfig } from './schema.js';

export const OFFSETS_FILE = 'ingest-offsets.json';
const MAX_READ = 1 << 20;

interface Position {
  inode: number;
  offset: number;
}

interface Tail {
  readonly source: SourceConfig;
  readonly parser: LineParser;
  readonly report: IngestReport;
  timer: NodeJS.Timeout | null;
}

export class FileTailer {
  private readonly tails: Tail[];
  private readonly positions: Record<string, Position>;
  private readonly dataDir: string;
  private readonly recorder: Recorder;
  private readonly log: Logger;

  constructor(sources: readonly SourceConfig[], dataDir: string, recorder: Recorder, log: Logger) {
    this.dataDir = dataDir;
    this.recorder = recorder;
    this.log = log;
    this.positions = readOffsets(dataDir);
    this.tails = sources.map((source) => ({
      source,
      parser: parserFor(source.format),
      report: emptyReport(),
      timer: null,
    }));
  }

  start(): void {
    for (const t of this.tails) {
      if (this.positions[t.source.path] === undefined && t.source.from === 'end') {
        const st = statOrNull(t.source.path);
        this.positions[t.source.path] = { inode: st?.ino ?? 0, offset: st?.size ?? 0 };
      }
      t.timer = setInterval(() => this.poll(t), t.source.poll);
      t.timer.unref();
    }
  }

  stop(): void {
    for (const t of this.tails) {
      if (t.timer) clearInterval(t.timer);
      t.timer = null;
      this.poll(t);
    }
  }

  /** Per-source counts (lines, ingested, malformed) since start. */
  reports(): { path: string; report: IngestReport }[] {
    return this.tails.map((t) => ({ path: t.source.path, report: t.report }));
  }

  /** Reads what was appended since the last poll (public for tests). */
  poll(t: Tail): void {
    const path = t.source.path;
    const st = statOrNull(path);
    if (st === null) return;
    let pos = this.positions[path] ?? { inode: st.ino, offset: 0 };
    if (pos.inode !== st.ino || st.size < pos.offset) pos = { inode: st.ino, offset: 0 };
    if (st.size === pos.offset) return;
    const length = Math.min(st.size - pos.offset, MAX_READ);
    const buf = Buffer.alloc(length);
    let fd: number | null = null;
    try {
      fd = openSync(path, 'r');
      readSync(fd, buf, 0, length, pos.offset);
    } catch (err) {
      this.log.warn({ path, err: errorMessage(err) }, 'cannot read source');
      return;
    } finally {
      if (fd !== null) closeSync(fd);
    }
    const lastNewline = buf.lastIndexOf(0x0a);
    // A single line longer than MAX_READ is skipped as malformed rather than wedging the tail.
    const consumed = lastNewline < 0 ? (length === MAX_READ ? length : 0) : lastNewline + 1;
    if (consumed === 0) return;
    const malformedBefore = t.report.malformed;
    if (lastNewline < 0) {
      t.report.lines++;
      t.report.malformed++;
    } else {
      for (const line of buf.toString('utf8', 0, lastNewline).split('\n'))
        ingestLine(t.parser, line, this.recorder, t.report);
    }
    this.positions[path] = { inode: st.ino, offset: pos.offset + consumed };
    writeOffsets(this.dataDir, this.positions);
    if (t.report.malformed > malformedBefore)
      this.log.warn(
        { path, malformed: t.report.malformed - malformedBefore },
        'malformed source lines skipped',
      );
  }
}

function statOrNull(path: string): { ino: number; size: number } | null {
  try {
    const st = statSync(path);
    return { ino: st.ino, size: st.size };
  } catch {
    return null;
  }
}

function readOffsets(dataDir: string): Record<string, Position> {
  try {
    const parsed = JSON.parse(readFileSync(join(dataDir, OFFSETS_FILE), 'utf8')) as unknown;
    if (parsed !== null && typeof parsed === 'object') return parsed as Record<string, Position>;
  } catch {
    // No offsets yet (or unreadable): start per the `from` setting.
  }
  return {};
}

function writeOffsets(dataDir: string, positions: Record<string, Position>): void {
  const path = join(dataDir, OFFSETS_FILE);
  writeFileSync(`${path}.tmp`, JSON.stringify(positions) + '\n', { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

/** Starts tailing the configured sources (null when there are none). */
export function startSources(
  config: { readonly data_dir: string; readonly sources: readonly SourceConfig[] },
  recorder: Recorder,
  log: Logger,
): FileTailer | null {
  if (config.sources.length === 0) return null;
  const tailer = new FileTailer(config.sources, config.data_dir, recorder, log);
  tailer.start();
  return tailer;
}
