/**
 * Defence in depth: the runner masks registered secrets in the log, but not in files the action
 * writes (the report, the job summary, outputs, saved state). Everything the action writes passes
 * through here first, with `config.secrets` (which already holds each secret's encoded forms).
 */

/** The replacement for a secret value. */
export const REDACTED = '***';

/** Returns a function that replaces every occurrence of every secret in a string. */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  // Longest first, so a secret that contains another is replaced whole rather than in pieces.
  const values = [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
  if (values.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const value of values) if (out.includes(value)) out = out.split(value).join(REDACTED);
    return out;
  };
}

/** A deep copy of `value` with every secret removed from every string (keys included). */
export function redactDeep<T>(value: T, secrets: readonly string[]): T {
  const redact = createRedactor(secrets);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redact(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, inner]) => [redact(k), walk(inner)]));
    }
    return v;
  };
  return walk(value) as T;
}
