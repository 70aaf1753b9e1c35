/**
 * Smoke checks against green's own URL: each check is requested `samples` times, every sample must
 * meet the check's expectations (status, body substrings, JSON pointers), and the samples' p95 must
 * stay within the check's latency budget. Pure of the pipeline: it takes checks, a base URL and
 * options, and returns results; the step and the report are built on top.
 *
 * Samples are measurements, so a failed sample is never retried: retrying would hide exactly the
 * flakiness the smoke test exists to catch. Each request has its own timeout instead.
 */
import type { SmokeCheck } from '../../config/types.js';
import { probe } from '../../providers/health.js';
import { deepEqual, resolvePointer } from './json-pointer.js';
import { percentile } from './stats.js';
import { formatMs } from '../../text.js';

/** One request of a check. */
export interface SmokeSample {
  /** Time to the last byte of the body, in ms (or until the failure). */
  ms: number;
  /** HTTP status, or null when no response arrived. */
  status: number | null;
  ok: boolean;
  /** Why the sample failed (absent when ok). */
  reason?: string;
}

/** One check's verdict. */
export interface SmokeResult {
  name: string;
  method: string;
  path: string;
  samples: SmokeSample[];
  p50: number;
  p95: number;
  /** The p95 budget applied: the check's `max-ms`, else `performance-threshold-ms`. */
  budgetMs: number;
  passed: boolean;
  /** One line: what passed, or the first thing that failed against what was expected. */
  reason: string;
}

export interface SmokeOptions {
  /** Requests per check (`smoke-samples`). */
  samples: number;
  /** Budget for checks without `max-ms` (`performance-threshold-ms`). */
  defaultMaxMs: number;
  /** Sent with every request (the protection bypass header). Values are never reported. */
  headers?: Record<string, string>;
  /** Aborts the run (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Per-request timeout; default max(10 s, 4 × the check's budget), at most 60 s. */
  timeoutMs?: number;
  /** Body bytes read for `contains` / `json` (default 1 MiB). */
  maxBodyBytes?: number;
}

const DEFAULT_MAX_BODY = 1024 * 1024;

/** Run every check in order (sequentially: a smoke test must not load-test a fresh deployment). */
export async function runSmoke(
  checks: readonly SmokeCheck[],
  baseUrl: string,
  opts: SmokeOptions,
): Promise<SmokeResult[]> {
  const results: SmokeResult[] = [];
  for (const check of checks) results.push(await runCheck(check, baseUrl, opts));
  return results;
}

/** Run one check `opts.samples` times and judge it. */
export async function runCheck(check: SmokeCheck, baseUrl: string, opts: SmokeOptions): Promise<SmokeResult> {
  const budgetMs = check.maxMs ?? opts.defaultMaxMs;
  const timeoutMs = opts.timeoutMs ?? Math.min(60_000, Math.max(10_000, 4 * budgetMs));
  const samples: SmokeSample[] = [];
  for (let i = 0; i < Math.max(1, opts.samples); i++) {
    opts.signal?.throwIfAborted();
    samples.push(await takeSample(check, baseUrl, opts, timeoutMs));
  }
  return judgeCheck(check, samples, budgetMs);
}

/** The verdict of a check from its samples (pure; exported for tests). */
export function judgeCheck(check: SmokeCheck, samples: readonly SmokeSample[], budgetMs: number): SmokeResult {
  const times = samples.map((s) => s.ms);
  const p50 = percentile(times, 50);
  const p95 = percentile(times, 95);
  const failed = samples.filter((s) => !s.ok);
  const base = { name: check.name, method: check.method, path: check.path, samples: [...samples], p50, p95, budgetMs };
  if (failed.length > 0) {
    const first = failed[0]!.reason ?? 'failed';
    return { ...base, passed: false, reason: `${failed.length}/${samples.length} samples failed: ${first}` };
  }
  if (p95 > budgetMs) {
    return {
      ...base,
      passed: false,
      reason: `p95 ${formatMs(p95)} over the ${formatMs(budgetMs)} budget (p50 ${formatMs(p50)})`,
    };
  }
  return {
    ...base,
    passed: true,
    reason: `${samples.length}/${samples.length} samples OK; p50 ${formatMs(p50)}, p95 ${formatMs(p95)} within ${formatMs(budgetMs)}`,
  };
}

/** Join a base URL and a check path without doubling or losing the slash. */
export function joinUrl(baseUrl: string, path: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return `${base}${path.startsWith('/') ? path : `/${path}`}`;
}

async function takeSample(
  check: SmokeCheck,
  baseUrl: string,
  opts: SmokeOptions,
  timeoutMs: number,
): Promise<SmokeSample> {
  const headers: Record<string, string> = { 'cache-control': 'no-cache', ...check.headers, ...(opts.headers ?? {}) };
  if (check.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    headers['content-type'] = looksLikeJson(check.body) ? 'application/json' : 'text/plain; charset=utf-8';
  }
  const r = await probe(joinUrl(baseUrl, check.path), {
    method: check.method,
    headers,
    ...(check.body !== undefined ? { body: check.body } : {}),
    timeoutMs,
    ...(opts.signal ? { signal: opts.signal } : {}),
    maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY,
    // The check names the status it expects; following a redirect would judge another page.
    maxRedirects: 0,
  });
  if (r.error !== undefined) {
    const reason = r.error.startsWith('timeout')
      ? `no answer within ${formatMs(timeoutMs)}`
      : `request failed: ${r.error}`;
    return { ms: r.durationMs, status: r.status || null, ok: false, reason };
  }
  const problem = expectationProblem(check, r.status, r.body);
  return problem
    ? { ms: r.durationMs, status: r.status, ok: false, reason: problem }
    : { ms: r.durationMs, status: r.status, ok: true };
}

/** The first unmet expectation of a response, or undefined when it meets them all (pure). */
export function expectationProblem(check: SmokeCheck, status: number, body: string): string | undefined {
  if (status !== check.status) return `expected status ${check.status}, got ${status}`;
  for (const needle of check.contains) {
    if (!body.includes(needle)) return `body does not contain ${JSON.stringify(needle)}`;
  }
  const pointers = Object.entries(check.json);
  if (pointers.length === 0) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return 'body is not JSON';
  }
  for (const [pointer, expected] of pointers) {
    const found = resolvePointer(doc, pointer);
    if (!found.found) return `JSON ${pointer} is missing`;
    if (!deepEqual(found.value, expected)) {
      return `JSON ${pointer} is ${short(found.value)}, expected ${short(expected)}`;
    }
  }
  return undefined;
}

function looksLikeJson(body: string): boolean {
  const t = body.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return false;
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}

function short(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
