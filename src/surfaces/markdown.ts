/**
 * Escaping for text that came from outside (commit messages, PR titles, provider error messages,
 * build logs) before it goes into Markdown: one line, no HTML, no Markdown syntax, no table
 * breaks. GitHub renders job summaries and PR comments as GFM with HTML, so unescaped remote text
 * could inject images, links, or break a table.
 */

/** Characters that mean something in GFM inline syntax (backslash-escapable ASCII punctuation). */
const MD_PUNCT = /[\\`*_{}[\]()#+!|~<>]/g;

/** Shortens to `max` characters, marking the cut. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** Untrusted text as inline Markdown: one line, HTML entities and Markdown punctuation escaped. */
export function escapeInline(text: string, max = 500): string {
  const line = truncate(text.replace(/[\s\u2028\u2029]+/g, ' ').trim(), max);
  return line.replace(/&/g, '&amp;').replace(MD_PUNCT, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : `\\${c}`));
}

/** Untrusted text for a table cell (pipes escaped too); empty text becomes an em dash. */
export function escapeCell(text: string, max = 300): string {
  const out = escapeInline(text, max);
  return out === '' ? '—' : out;
}

/**
 * Untrusted text as an inline code span (ids, paths, SHAs): backticks fenced by a longer run, pipes
 * escaped so the span is safe inside a table (GFM removes the backslash of `\|` in table cells).
 */
export function codeSpan(text: string, max = 200): string {
  const line = truncate(text.replace(/[\s\u2028\u2029]+/g, ' ').trim(), max).replace(/\|/g, '\\|');
  if (line === '') return '—';
  const longest = Math.max(0, ...(line.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = line.startsWith('`') || line.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${line}${pad}${fence}`;
}

/** A Markdown table from a header row and cells that are already escaped. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
