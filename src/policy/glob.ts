/**
 * Globs for executable paths, HTTP paths and SQL table names, compiled once to anchored
 * regexes. `*` and `?` stay inside one segment, `**` crosses segments, `[a-z]` / `[!x]` are
 * classes, `\` escapes. Braces are refused rather than guessed at.
 */

/** How segments are separated, and what a compiled glob may ignore after a match. */
export interface GlobSyntax {
  /** Characters `*` and `?` never match (the segment separator and friends). */
  readonly stops: string;
  /** Regex source allowed after the pattern (e.g. an HTTP query string). */
  readonly tail?: string;
  readonly caseInsensitive?: boolean;
  /** Regex source allowed before the pattern (e.g. any schema before a bare table name). */
  readonly lead?: string;
}

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\/]/g;
const CLASS_SPECIAL = /[\\\]^[-]/g;

function escapeRegex(text: string): string {
  return text.replace(REGEX_SPECIAL, '\\$&');
}

function escapeClass(text: string): string {
  return text.replace(CLASS_SPECIAL, '\\$&');
}

/** Compile `pattern`; a string result says why it is not a glob. */
export function compileGlob(pattern: string, syntax: GlobSyntax): RegExp | string {
  if (pattern.length === 0) return 'empty pattern';
  const notStop = `[^${escapeClass(syntax.stops)}]`;
  // ** spans separators (the first stop) but not the others, such as ? before a URL query.
  const anyRun =
    syntax.stops.length > 1 ? `[^${escapeClass(syntax.stops.slice(1))}]*` : '[\\s\\S]*';
  let source = `^${syntax.lead ?? ''}`;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern.charAt(i);
    switch (ch) {
      case '*': {
        let run = 1;
        while (pattern.charAt(i + run) === '*') run++;
        if (run > 2) return `"${'*'.repeat(run)}" at offset ${i}; use * or **`;
        source += run === 2 ? anyRun : `${notStop}*`;
        i += run - 1;
        break;
      }
      case '?':
        source += notStop;
        break;
      case '[': {
        const close = pattern.indexOf(']', i + 2);
        if (close < 0) return `unclosed "[" at offset ${i}`;
        let body = pattern.slice(i + 1, close);
        let negate = false;
        if (body.startsWith('!') || body.startsWith('^')) {
          negate = true;
          body = body.slice(1);
        }
        if (body.length === 0) return `empty class at offset ${i}`;
        // Keep ranges (a-z) but escape what would end or negate the class early.
        source += `[${negate ? '^' : ''}${body.replace(/[\\\]^[]/g, '\\$&')}]`;
        i = close;
        break;
      }
      case '{':
      case '}':
        return `braces are not supported (offset ${i}); list each alternative instead`;
      case '\\': {
        const next = pattern.charAt(i + 1);
        if (next === '') return 'trailing "\\"';
        source += escapeRegex(next);
        i++;
        break;
      }
      default:
        source += escapeRegex(ch);
    }
  }
  source += `${syntax.tail ?? ''}$`;
  try {
    return new RegExp(source, syntax.caseInsensitive === true ? 'i' : '');
  } catch (err) {
    return err instanceof Error ? err.message : 'not a valid pattern';
  }
}
