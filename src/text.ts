/**
 * Small text and time helpers every layer shares: one line of text from anything, the message of
 * anything thrown, a millisecond figure, an abortable sleep, a bounded concurrent map, and the removal
 * of secrets. One of each,
 * so that what is printed, waited for and hidden is the same everywhere.
 */

/**
 * Collapses whitespace and control characters (newlines included) into single spaces, so remote text
 * cannot start a new log line (and so never a workflow command); cuts to `max` characters with `...`.
 */
export function oneLine(text: string, max = Number.POSITIVE_INFINITY): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, Math.max(0, max - 3))}...` : flat;
}

/** The message of anything thrown (Error or not), on one line. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return oneLine(err.message || err.name);
  if (typeof err === 'string') return oneLine(err);
  try {
    return oneLine(JSON.stringify(err) ?? String(err));
  } catch {
    return String(err);
  }
}

/** A measured duration in milliseconds (a latency): `812 ms`, `9.6 ms` and `5 ms` below 10 ms, `–` when unknown. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  return Math.abs(ms) >= 10 ? `${Math.round(ms)} ms` : `${Math.round(ms * 10) / 10} ms`;
}

/** Resolves after `ms`; rejects at once with the signal's reason when `signal` aborts (the run is cancelled). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `fn` over `items`, at most `limit` at a time; the results in the items' order. */
export async function mapInOrder<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return out;
}

/** Why `signal` aborted, as an Error (a non-Error reason becomes "the run was cancelled"). */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('the run was cancelled');
}

/** The replacement for a secret value. */
export const REDACTED = '***';

const TOKEN_PATTERNS: RegExp[] = [
  // Any authorization header value, however it reached the text.
  /(authorization["']?\s*[:=]\s*["']?)(bearer|token|basic)?\s*[^\s"',;}]+/gi,
  // A scheme followed by something token-like (has a digit): "invalid token provided" stays readable.
  /\b(bearer|token|basic)\s+(?=\S*\d)[A-Za-z0-9._~+/=-]{12,}/gi,
  // Well-known token shapes: GitHub, Slack, AWS access keys.
  /\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g,
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/g,
  /\b(AKIA|ASIA)[A-Z0-9]{16}\b/g,
];

/**
 * Returns a function that removes from a text every secret as given, its URL-encoded, JSON-escaped
 * and base64 forms (for secrets of 4 characters or more: shorter forms would match everywhere and
 * protect nothing), and anything shaped like an authorization value or a well-known token.
 */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (!s) continue;
    forms.add(s);
    if (s.length < 4) continue;
    // A lone surrogate has no URL form (encodeURIComponent throws); its other forms still count.
    try {
      forms.add(encodeURIComponent(s));
    } catch {
      // nothing to add
    }
    forms.add(JSON.stringify(s).slice(1, -1));
    forms.add(Buffer.from(s).toString('base64'));
  }
  // Longest first, so a secret that contains another is replaced whole rather than in pieces.
  const values = [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const value of values) if (out.includes(value)) out = out.split(value).join(REDACTED);
    for (const re of TOKEN_PATTERNS) {
      out = out.replace(re, (m, p1: string | undefined) =>
        typeof p1 === 'string' && /authorization/i.test(p1) ? `${p1}${REDACTED}` : m.replace(/\S+$/, REDACTED),
      );
    }
    return out;
  };
}

/** `text` with every secret removed (see `createRedactor`). */
export function redact(text: string, secrets: readonly string[] = []): string {
  return createRedactor(secrets)(text);
}

/** A deep copy of `value` with every secret removed from every string (keys included). */
export function redactDeep<T>(value: T, secrets: readonly string[]): T {
  const clean = createRedactor(secrets);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return clean(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, inner]) => [clean(k), walk(inner)]));
    }
    return v;
  };
  return walk(value) as T;
}
