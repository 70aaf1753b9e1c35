/** Markdown helpers for docs/benchmarks.md. */

/** A Markdown table; cells are escaped for `|`. */
export function table(head: string[], rows: (string | number)[][]): string {
  const esc = (c: string | number) => String(c).replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    `| ${head.map(esc).join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

/** Backticks around code (paths, flags, operations). */
export const code = (s: string) => `\`${s}\``;

/** Paragraphs and blocks joined with blank lines, empty ones dropped. */
export function blocks(...parts: (string | undefined | false)[]): string {
  return parts.filter((p): p is string => typeof p === 'string' && p.trim() !== '').join('\n\n');
}

/** A bullet list, empty when there are no items. */
export function bullets(items: (string | undefined | false)[]): string {
  return items
    .filter((i): i is string => typeof i === 'string' && i !== '')
    .map((i) => `- ${i}`)
    .join('\n');
}
