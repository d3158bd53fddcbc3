/**
 * Shared CLI plumbing: the global options, exit codes and error printing. Every command
 * definition imports this at start-up, so it stays light: what reads the config or opens
 * the store is in data-dir.ts, which the commands load when they run.
 */
import type { Command } from 'commander';
import { PortwardenError, errorMessage } from '../errors.js';

export interface GlobalOptions {
  readonly config?: string;
  readonly dataDir?: string;
}

export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** Run a command body; print PortwardenErrors plainly and set the documented exit code. */
export async function runCommand(
  body: () => Promise<number | void> | number | void,
): Promise<void> {
  try {
    const code = await body();
    process.exitCode = typeof code === 'number' ? code : 0;
  } catch (err) {
    if (err instanceof PortwardenError) {
      process.stderr.write(`portwarden: ${err.code}: ${err.message}\n`);
      process.exitCode = err.exitCode === 0 ? 2 : err.exitCode;
    } else {
      process.stderr.write(`portwarden: unexpected error: ${errorMessage(err)}\n`);
      if (err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
      process.exitCode = 2;
    }
  }
}

export function usage(detail: string): PortwardenError {
  return new PortwardenError('PW_ERR_USAGE', { detail });
}
