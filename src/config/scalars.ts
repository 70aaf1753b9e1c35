/**
 * Scalar parsers: booleans, bounded integers and numbers, enums, URLs. Each takes the raw text and
 * the input's name, and throws `InputError` naming that input; none of them throws anything else.
 */
import { fail, InputError } from './errors.js';

const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);

/** `true/false/yes/no/on/off/1/0`, any case; empty gives `fallback` (unlike `core.getBooleanInput`). */
export function parseBoolean(raw: string, input: string, fallback: boolean): boolean {
  const text = raw.trim().toLowerCase();
  if (text === '') return fallback;
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  return fail(input, raw, 'true or false (also yes/no, on/off, 1/0)');
}

/** Bounds for numbers; both inclusive. */
export interface Bounds {
  min?: number;
  max?: number;
}

function rangeText(b: Bounds): string {
  if (b.min !== undefined && b.max !== undefined) return `from ${b.min} to ${b.max}`;
  if (b.min !== undefined) return `${b.min} or more`;
  if (b.max !== undefined) return `${b.max} or less`;
  return 'any value';
}

function checkBounds(value: number, raw: string, input: string, what: string, b: Bounds): number {
  if ((b.min !== undefined && value < b.min) || (b.max !== undefined && value > b.max)) {
    fail(input, raw, `${what} ${rangeText(b)}`);
  }
  return value;
}

/** A whole number in decimal, within `bounds` (and always within the safe-integer range). */
export function parseInteger(raw: string, input: string, bounds: Bounds = {}): number {
  const text = raw.trim();
  const what = 'a whole number';
  if (!/^[+-]?\d+$/.test(text)) fail(input, raw, `${what} ${rangeText(bounds)}`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) fail(input, raw, `${what} ${rangeText(bounds)}`);
  return checkBounds(value, raw, input, what, bounds);
}

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A finite decimal number (`0.5`, `.5`, `1e-3`), within `bounds`. */
export function parseNumber(raw: string, input: string, bounds: Bounds = {}): number {
  const text = raw.trim();
  const what = 'a number';
  if (!DECIMAL.test(text)) fail(input, raw, `${what} ${rangeText(bounds)}`);
  const value = Number(text);
  if (!Number.isFinite(value)) fail(input, raw, `${what} ${rangeText(bounds)}`);
  return checkBounds(value, raw, input, what, bounds);
}

/** A ratio from 0 to 1, written `0.01` or as a percentage `1%`. */
export function parseRatio(raw: string, input: string): number {
  const text = raw.trim();
  const accepts = 'a ratio from 0 to 1 (e.g. 0.01) or a percentage (e.g. 1%)';
  const percent = text.endsWith('%');
  const body = percent ? text.slice(0, -1).trim() : text;
  if (!DECIMAL.test(body)) fail(input, raw, accepts);
  const value = Number(body) / (percent ? 100 : 1);
  if (!Number.isFinite(value) || value < 0 || value > 1) fail(input, raw, accepts);
  return value;
}

/** One of `allowed`, compared case-insensitively, returned in its canonical spelling. */
export function parseEnum<T extends string>(raw: string, input: string, allowed: readonly T[]): T {
  const text = raw.trim().toLowerCase();
  const found = allowed.find((a) => a.toLowerCase() === text);
  if (found === undefined) fail(input, raw, `one of ${allowed.join(', ')}`);
  return found;
}

/**
 * An absolute `http:` or `https:` URL without credentials, returned without a trailing slash.
 * Credentials in a URL would be printed wherever the URL is (reports, logs), so they are refused.
 */
export function parseUrl(raw: string, input: string): string {
  const text = raw.trim();
  const accepts = 'an absolute http:// or https:// URL without user or password';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(input, raw, accepts);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') fail(input, raw, accepts);
  if (url.username !== '' || url.password !== '') {
    throw new InputError({ input, got: 'a URL with credentials (hidden)', accepts });
  }
  if (/\s/.test(text)) fail(input, raw, accepts);
  return url.href.replace(/\/+$/, '');
}
