/**
 * Lists: items separated by commas or new lines, each trimmed, empty items dropped — so both
 * `main, hotfix/*` and a YAML block scalar with one item per line work.
 */

/** Splits a list input. Never throws; an empty or blank input gives `[]`. */
export function parseList(raw: string): string[] {
  return raw
    .split(/[,\r\n]/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** Splits on new lines only, for inputs whose items may contain commas (benchmark names). */
export function parseLines(raw: string): string[] {
  return raw
    .split(/\r?\n|\r/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** The inverse of `parseList` for items without commas or line breaks: `a, b, c`. */
export function formatList(items: readonly string[]): string {
  return items.join(', ');
}
