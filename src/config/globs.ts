/**
 * Glob lists (`allowed-branches`, `config-files`), checked with picomatch — the matcher the steps use —
 * so a pattern that would throw or silently match nothing is refused when the inputs are read.
 */
import picomatch from 'picomatch';
import { fail } from './errors.js';

/** Throws `InputError` unless `pattern` compiles to a picomatch matcher that can match something. */
export function validateGlob(pattern: string, input: string): string {
  const accepts = 'glob patterns such as main, release/*, hotfix/** (brackets and braces balanced)';
  let source: string;
  try {
    source = picomatch.makeRe(pattern, { strictBrackets: true }).source;
  } catch {
    return fail(input, pattern, accepts);
  }
  // picomatch compiles a few malformed patterns (a trailing backslash) to a regex that matches nothing.
  if (source === '$^') fail(input, pattern, accepts);
  return pattern;
}

/**
 * Splits a glob list on new lines, and on commas outside braces: `release/v{1,2}, main` is two
 * patterns, not three. Items are trimmed and empty ones dropped, as in every list input.
 */
export function splitGlobList(raw: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '\\' && i + 1 < raw.length) {
      current += ch + raw[++i];
      continue;
    }
    if (ch === '{') depth++;
    if (ch === '}' && depth > 0) depth--;
    if (ch === '\n' || ch === '\r' || (ch === ',' && depth === 0)) {
      items.push(current);
      current = '';
      // A new line always ends a pattern, even one with an unclosed brace (reported by validateGlob).
      if (ch !== ',') depth = 0;
      continue;
    }
    current += ch;
  }
  items.push(current);
  return items.map((item) => item.trim()).filter((item) => item !== '');
}

/** A list of globs (commas outside braces, or new lines); every pattern is validated. */
export function parseGlobs(raw: string, input: string): string[] {
  return splitGlobList(raw).map((p) => validateGlob(p, input));
}
