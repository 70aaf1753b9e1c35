/**
 * How analysis values read in messages: `error rate 0.034 > 0.01 at 12:03:30`,
 * `latency 812 ms > 500 ms`. Times are UTC (the runner's clock; the log shows UTC too).
 */

/** An error ratio with at most 4 significant digits, never in exponent form (0.00012, not 1.2e-4). */
export function formatRatio(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const rounded = Number(value.toPrecision(4));
  // String() switches to exponent form below 1e-6; print such values plainly.
  const text = String(rounded);
  return text.includes('e') ? rounded.toFixed(12).replace(/\.?0+$/, '') : text;
}

/** `HH:MM:SS` in UTC. */
export function formatClock(at: number | string | Date): string {
  const d = at instanceof Date ? at : new Date(at);
  if (Number.isNaN(d.getTime())) return String(at);
  return d.toISOString().slice(11, 19);
}

/** A duration for messages: `500ms`, `30s`, `5m`, `1m30s`. */
export function formatSpan(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const totalSeconds = Math.round(ms / 100) / 10;
  if (totalSeconds < 60) return `${totalSeconds}s`;
  const whole = Math.round(totalSeconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}
