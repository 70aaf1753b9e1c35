/**
 * Durations: `300`, `300s`, `5m`, `1h30m`, `500ms`, `1.5s`. A bare number is seconds (so a
 * `HEALTH_CHECK_TIMEOUT=300` environment variable means 300 s). Units run from largest to smallest,
 * each at most once.
 */
import { fail } from './errors.js';

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;
const ORDER: readonly Unit[] = ['h', 'm', 's', 'ms'];

/**
 * The longest duration accepted: Node timers fire at once for anything above 2³¹−1 ms, so a longer
 * timeout would silently become no timeout at all.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** What a duration input accepts, for messages and action.yml. */
export const DURATION_ACCEPTS = 'a duration such as 300 (seconds), 300s, 5m, 1h30m or 500ms';

// One component: a decimal number and a unit; `ms` must be tried before `m`.
const COMPONENT = /(\d+)(?:\.(\d+))?(ms|h|m|s)/y;
const BARE = /^(\d+)(?:\.(\d+))?$/;

/** Exact decimal → integer milliseconds, avoiding float error on the integer part. */
function toMs(intPart: string, fracPart: string | undefined, unitMs: number): number {
  const whole = Number(intPart) * unitMs;
  const frac = fracPart ? Math.round(Number(`0.${fracPart}`) * unitMs) : 0;
  return whole + frac;
}

/**
 * Parses a duration into milliseconds. Throws `InputError` (naming `input`) for empty, negative,
 * malformed, or longer-than-`MAX_DURATION_MS` values.
 */
export function parseDuration(raw: string, input = 'duration'): number {
  const text = raw.trim();
  if (text === '') fail(input, raw, DURATION_ACCEPTS);
  if (text.startsWith('-')) fail(input, raw, `${DURATION_ACCEPTS}; not negative`);
  let ms: number;
  const bare = BARE.exec(text);
  if (bare) {
    ms = toMs(bare[1]!, bare[2], UNIT_MS.s);
  } else {
    ms = 0;
    let pos = 0;
    let lastRank = -1;
    while (pos < text.length) {
      COMPONENT.lastIndex = pos;
      const m = COMPONENT.exec(text);
      if (!m) fail(input, raw, DURATION_ACCEPTS);
      const unit = m[3] as Unit;
      const rank = ORDER.indexOf(unit);
      // `30m1h` or `5m5m` is more likely a typo than an intent: refuse rather than guess.
      if (rank <= lastRank) fail(input, raw, `${DURATION_ACCEPTS}; units in the order h, m, s, ms, each once`);
      lastRank = rank;
      ms += toMs(m[1]!, m[2], UNIT_MS[unit]);
      pos = COMPONENT.lastIndex;
    }
  }
  if (!Number.isFinite(ms) || ms > MAX_DURATION_MS) {
    fail(input, raw, `${DURATION_ACCEPTS}; at most ${formatDuration(MAX_DURATION_MS)}`);
  }
  return ms;
}

/**
 * Formats milliseconds for people and for `parseDuration`: `500ms`, `45s`, `1m30s`, `1h30m`,
 * `2.25s`. `parseDuration(formatDuration(ms)) === ms` for every integer in [0, MAX_DURATION_MS].
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const total = Math.max(0, Math.round(ms));
  if (total < 1000) return `${total}ms`;
  const h = Math.floor(total / UNIT_MS.h);
  const m = Math.floor((total % UNIT_MS.h) / UNIT_MS.m);
  const rest = total % UNIT_MS.m;
  const s = Math.floor(rest / 1000);
  const frac = rest % 1000;
  let out = '';
  if (h) out += `${h}h`;
  if (m) out += `${m}m`;
  if (s || frac) out += frac ? `${s}.${String(frac).padStart(3, '0').replace(/0+$/, '')}s` : `${s}s`;
  return out;
}
