/**
 * Where browser tests save screenshots: docs/screenshots/ when UPDATE_SCREENSHOTS=1 (to
 * refresh the pictures the docs link), else a temporary folder, so a test run never
 * changes tracked files.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SCREENSHOT_DIR =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? fileURLToPath(new URL('../../docs/screenshots', import.meta.url))
    : mkdtempSync(join(tmpdir(), 'pw-screenshots-'));
mkdirSync(SCREENSHOT_DIR, { recursive: true });
