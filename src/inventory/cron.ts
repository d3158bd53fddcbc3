/** Cron expressions for `audit.schedule`, checked with croner when the config loads. */
import { Cron } from 'croner';
import { z } from 'zod';

/** Null when croner accepts the pattern, else its complaint. */
export function cronProblem(pattern: string): string | null {
  try {
    new Cron(pattern, { paused: true }).stop();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** A cron pattern (5 or 6 fields, or @daily-style nicknames). */
export const cronSchema = z.string().superRefine((pattern, ctx) => {
  const problem = cronProblem(pattern);
  if (problem !== null)
    ctx.addIssue({ code: 'custom', message: `bad cron expression: ${problem}` });
});
