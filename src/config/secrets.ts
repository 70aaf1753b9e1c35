/**
 * Secret registration (SECURITY.md). The runner masks only the exact strings it is told
 * about, so each secret is registered together with the forms it takes on the way out: URL-encoded
 * (query strings, form bodies), JSON-escaped (request bodies, error envelopes echoed back), base64
 * (Basic auth, at every byte alignment so `base64(user:secret)` is covered too), and, for multi-line
 * values, each line — the runner matches masks line by line.
 */

/** Lines and fragments shorter than this are not registered: masking `{` or `}` would garble every log. */
export const MIN_FRAGMENT = 4;

/**
 * The stable middle of base64(prefix + secret) for a prefix of `shift` unknown bytes: the characters
 * that depend only on the secret's own bits, whatever comes before or after it.
 */
function base64Shifted(secret: Buffer, shift: 0 | 1 | 2): string {
  const encoded = Buffer.concat([Buffer.alloc(shift), secret])
    .toString('base64')
    .replace(/=+$/, '');
  // Skip the characters that carry prefix bits; drop the last group if it is partial (it carries suffix bits).
  const skip = [0, 2, 3][shift]!;
  const full = Math.floor((shift + secret.length) / 3) * 4;
  return encoded.slice(skip, full);
}

/** `encodeURIComponent`, which throws on a lone surrogate; such a value cannot be URL-encoded, so has no such form. */
function uriEncoded(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Every form of one secret value worth masking, the value itself first (deduplicated, never empty). */
export function secretForms(value: string): string[] {
  if (value === '') return [];
  const forms = new Set<string>();
  const lines = value.split(/\r\n|\r|\n/);
  if (lines.length > 1) {
    // The whole value never appears on one log line; its lines do.
    for (const line of lines) {
      const trimmed = line.trim();
      if (trimmed.length >= MIN_FRAGMENT) forms.add(trimmed);
    }
  } else {
    forms.add(value);
  }
  const bytes = Buffer.from(value, 'utf8');
  const candidates = [
    uriEncoded(value),
    // `+` for spaces, as in application/x-www-form-urlencoded bodies.
    new URLSearchParams({ v: value }).toString().slice(2),
    JSON.stringify(value).slice(1, -1),
    bytes.toString('base64'),
    bytes.toString('base64url'),
  ];
  for (const shift of [0, 1, 2] as const) candidates.push(base64Shifted(bytes, shift));
  for (const c of candidates) {
    if (c.length >= MIN_FRAGMENT || c === value) forms.add(c);
  }
  return [...forms];
}

/**
 * Registers every value and its derived forms with `setSecret` (core.setSecret in the action) and
 * returns all registered strings, for the action's own redaction. Empty values are skipped.
 */
export function registerSecrets(values: Iterable<string | undefined>, setSecret: (value: string) => void): string[] {
  const registered = new Set<string>();
  for (const value of values) {
    if (!value) continue;
    for (const form of secretForms(value)) {
      if (registered.has(form)) continue;
      registered.add(form);
      setSecret(form);
    }
  }
  return [...registered];
}
