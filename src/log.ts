/** Process logs (never audit records): pino, JSON lines on stderr. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env.PORTWARDEN_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { name: 'portwarden' } }, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
