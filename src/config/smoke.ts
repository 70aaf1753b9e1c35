/**
 * `smoke-tests`: a path to a YAML/JSON file, or inline YAML. Either way a list of checks
 * `{name, path, method, headers, body, status, contains, json: {pointer: value}, max-ms}`
 * (a mapping `{checks: [...]}` is accepted too). Every field is validated, unknown keys included,
 * so a typo such as `staus:` is an error rather than a check that silently tests nothing.
 */
import path from 'node:path';
import YAML from 'yaml';
import type { SmokeCheck } from './types.js';
import { fail, InputError } from './errors.js';
import { parsePath } from './values.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const KEYS = new Set(['name', 'path', 'method', 'headers', 'body', 'status', 'contains', 'json', 'max-ms']);
const MAX_CHECKS = 100;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What the document must be, for messages. */
const FORMAT = `a list of 1 to ${MAX_CHECKS} checks {name, path, method, headers, body, status, contains, json: {"/pointer": value}, max-ms}`;

/** The check used when `smoke-tests` is empty: GET `health-check-path` → 200. */
export function defaultSmokeChecks(healthCheckPath: string): SmokeCheck[] {
  return [
    {
      name: `GET ${healthCheckPath}`,
      path: healthCheckPath,
      method: 'GET',
      headers: {},
      status: 200,
      contains: [],
      json: {},
    },
  ];
}

/** Where the checks come from: file reading is injected so the parser stays testable. */
export interface SmokeSource {
  /** Directories a relative path is looked up in, in order (working-directory, then the workspace). */
  dirs: string[];
  readFile(file: string): string;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value that reads as a file path rather than inline YAML: one line, not a YAML list or mapping. */
function looksLikePath(text: string): boolean {
  return !/[\r\n]/.test(text) && !/^[-[{#]/.test(text) && !/:\s/.test(text) && !text.endsWith(':');
}

function loadText(raw: string, src: SmokeSource, input: string): { text: string; origin: string } {
  const text = raw.trim();
  if (!looksLikePath(text)) return { text, origin: 'inline YAML' };
  const tried: string[] = [];
  for (const dir of path.isAbsolute(text) ? [''] : src.dirs) {
    const file = path.resolve(dir, text);
    if (tried.includes(file)) continue;
    tried.push(file);
    try {
      return { text: src.readFile(file), origin: file };
    } catch {
      // Not there (or unreadable): try the next directory, then report every place looked.
    }
  }
  return fail(
    input,
    raw,
    `a readable YAML/JSON file (looked for ${tried.join(' and ')}) or an inline YAML list of checks`,
  );
}

/** Parses `smoke-tests`; `performanceThresholdMs` is not applied here (`maxMs` stays per-check). */
export function parseSmokeTests(raw: string, src: SmokeSource, input = 'smoke-tests'): SmokeCheck[] {
  const { text, origin } = loadText(raw, src, input);
  let doc: unknown;
  try {
    doc = YAML.parse(text, { maxAliasCount: 100, uniqueKeys: true, prettyErrors: false, logLevel: 'error' });
  } catch (err) {
    const first = err instanceof Error ? (err.message.split('\n')[0] ?? '') : '';
    throw new InputError({
      input,
      got: `YAML that does not parse (${origin}: ${first.slice(0, 120)})`,
      accepts: FORMAT,
    });
  }
  const list = isPlainObject(doc) && Object.keys(doc).length === 1 && Array.isArray(doc.checks) ? doc.checks : doc;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_CHECKS) {
    throw new InputError({ input, got: `${shape(list)} (${origin})`, accepts: FORMAT });
  }
  try {
    return uniqueNames(
      list.map((item: unknown, i) => parseCheck(item, `check ${i + 1}`)),
      list,
    );
  } catch (err) {
    // The parts name a place inside the document; the error names the input and says where.
    if (!(err instanceof InputError)) throw err;
    const where = origin === 'inline YAML' ? '' : ` of ${origin}`;
    throw new InputError(
      err.problems.map((p) => ({ input, got: `${p.got} at ${p.input}${where}`, accepts: p.accepts })),
    );
  }
}

function shape(v: unknown): string {
  if (Array.isArray(v)) return `a list of ${v.length} items`;
  if (v === null || v === undefined) return 'an empty document';
  return `a ${typeof v === 'object' ? 'mapping' : typeof v}`;
}

function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function parseCheck(item: unknown, at: string): SmokeCheck {
  if (!isPlainObject(item)) {
    throw new InputError({ input: at, got: shape(item), accepts: 'a mapping with at least `path`' });
  }
  for (const key of Object.keys(item)) {
    if (!KEYS.has(key)) fail(at, key, `one of the keys ${[...KEYS].join(', ')}`);
  }
  if (typeof item.path !== 'string') fail(`${at} › path`, scalarText(item.path) ?? '', 'a URL path starting with /');
  const checkPath = parsePath(item.path, `${at} › path`);
  const method = item.method === undefined ? 'GET' : String(scalarText(item.method) ?? '').toUpperCase();
  if (!METHODS.includes(method)) fail(`${at} › method`, scalarText(item.method) ?? '', `one of ${METHODS.join(', ')}`);
  const headers = parseHeaders(item.headers, `${at} › headers`);
  let body: string | undefined;
  if (item.body !== undefined && item.body !== null) {
    if (method === 'GET' || method === 'HEAD') {
      fail(`${at} › body`, method, 'a body only with POST, PUT, PATCH, DELETE or OPTIONS');
    }
    if (typeof item.body === 'string') {
      body = item.body;
    } else {
      body = JSON.stringify(item.body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        headers['content-type'] = 'application/json';
      }
    }
  }
  const status =
    item.status === undefined
      ? 200
      : typeof item.status === 'string' && /^\d{3}$/.test(item.status)
        ? Number(item.status)
        : item.status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
    fail(`${at} › status`, scalarText(status) ?? shape(status), 'an HTTP status code from 100 to 599');
  }
  const contains = parseContains(item.contains, `${at} › contains`);
  const json = parseJsonExpectations(item.json, `${at} › json`);
  const check: SmokeCheck = {
    name: item.name === undefined ? `${method} ${checkPath}` : parseName(item.name, `${at} › name`),
    path: checkPath,
    method,
    headers,
    status,
    contains,
    json,
  };
  if (body !== undefined) check.body = body;
  if (item['max-ms'] !== undefined) {
    const maxMs = item['max-ms'];
    if (typeof maxMs !== 'number' || !Number.isFinite(maxMs) || maxMs <= 0) {
      fail(`${at} › max-ms`, scalarText(maxMs) ?? shape(maxMs), 'a number of milliseconds above 0');
    }
    check.maxMs = maxMs;
  }
  return check;
}

function parseName(v: unknown, at: string): string {
  const text = typeof v === 'string' ? v.trim() : '';
  // eslint-disable-next-line no-control-regex
  if (text === '' || text.length > 200 || /[\u0000-\u001f\u007f]/.test(text)) {
    fail(at, scalarText(v) ?? shape(v), 'a name of 1 to 200 characters on one line');
  }
  return text;
}

function parseHeaders(v: unknown, at: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isPlainObject(v)) fail(at, scalarText(v) ?? shape(v), 'a mapping of header names to values');
  const entries = Object.entries(v).map(([name, value]): [string, string] => {
    const text = scalarText(value);
    if (!TOKEN.test(name)) fail(at, name, "header names made of letters, digits and !#$%&'*+.^_`|~-");
    // A line break in a header value would be refused by fetch at run time; refuse it now instead.
    if (text === undefined || /[\r\n\0]/.test(text)) {
      throw new InputError({
        input: `${at} › ${name}`,
        got: 'a value that is not one line of text',
        accepts: 'one line of text',
      });
    }
    return [name, text];
  });
  // fromEntries defines own properties, so a header named `__proto__` cannot touch a prototype.
  return Object.fromEntries(entries);
}

function parseContains(v: unknown, at: string): string[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((s) => {
    const text = scalarText(s);
    if (text === undefined || text === '') fail(at, shape(s), 'a non-empty string or a list of them');
    return text;
  });
}

/** RFC 6901: `""` (the whole document) or `/`-separated tokens where `~` is only `~0` or `~1`. */
export function isJsonPointer(p: string): boolean {
  return p === '' || (p.startsWith('/') && !/~(?![01])/.test(p));
}

function parseJsonExpectations(v: unknown, at: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (!isPlainObject(v)) {
    fail(at, scalarText(v) ?? shape(v), 'a mapping of JSON pointers ("/status") to expected values');
  }
  for (const pointer of Object.keys(v)) {
    if (!pointer.startsWith('/') || !isJsonPointer(pointer)) {
      fail(at, pointer, 'JSON pointers starting with / (e.g. /status, /items/0/id; ~0 for ~ and ~1 for /)');
    }
  }
  return Object.fromEntries(Object.entries(v));
}

function uniqueNames(checks: SmokeCheck[], items: unknown[]): SmokeCheck[] {
  const seen = new Map<string, number>();
  return checks.map((check, i) => {
    const count = (seen.get(check.name) ?? 0) + 1;
    seen.set(check.name, count);
    if (count === 1) return check;
    // Reports are keyed by name: a repeated explicit name is a mistake, a repeated default name is not.
    const explicit = isPlainObject(items[i]) && items[i].name !== undefined;
    if (explicit) fail(`check ${i + 1} › name`, check.name, 'a name used by one check only');
    return { ...check, name: `${check.name} #${count}` };
  });
}
