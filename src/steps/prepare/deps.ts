/**
 * Prepare check: service dependencies. Every `dependency-urls` URL must answer 2xx within
 * `health-check-timeout`: each is asked until it does (a dependency restarting for a moment is not
 * an outage), with backoff, all URLs at once. The verdict (`evaluateDependencies`) is pure.
 */
import type { CheckResult } from '../../pipeline/types.js';
import { probe } from '../../providers/health.js';
import { sleep } from '../../text.js';
import { POLICIES } from '../../providers/index.js';

export const DEPS_CHECK = 'Service dependencies';

/** What probing one URL found. */
export interface DependencyResult {
  url: string;
  ok: boolean;
  /** Status of the last answer, when there was one. */
  status?: number;
  /** Transport error of the last attempt, when it had no answer. */
  error?: string;
  attempts: number;
  /** Set when the URL cannot be asked at all (not http/https): the dependency is then not checked. */
  unusable?: string;
  /** Time to the first 2xx, or spent trying. */
  elapsedMs: number;
}

/** A URL as it may be shown: credentials and query (which may hold tokens) hidden. */
export function displayUrl(raw: string): string {
  try {
    const u = new URL(raw);
    const auth = u.username || u.password ? '***@' : '';
    return `${u.protocol}//${auth}${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}

/** Per attempt and between attempts (POLICIES.dependencyProbe). */
const PROBE = POLICIES.dependencyProbe;

/** Asks `url` (GET) until it answers 2xx or `timeoutMs` has passed. */
export async function probeDependency(
  url: string,
  timeoutMs: number,
  signal?: AbortSignal,
  clock: () => number = Date.now,
): Promise<DependencyResult> {
  const started = clock();
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    return { url, ok: false, attempts: 0, elapsedMs: 0, unusable: 'not a valid URL' };
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    return {
      url,
      ok: false,
      attempts: 0,
      elapsedMs: 0,
      unusable: `only http and https URLs can be checked, not ${protocol}`,
    };
  }
  let attempts = 0;
  let status: number | undefined;
  let error: string | undefined;
  for (;;) {
    attempts++;
    const remaining = timeoutMs - (clock() - started);
    const perAttempt = Math.max(1, Math.min(PROBE.attemptTimeoutMs, remaining));
    // Only the body's first bytes are read: the answer's status is all that counts.
    const r = await probe(url, {
      timeoutMs: perAttempt,
      signal,
      maxBodyBytes: 1024,
      headers: { 'user-agent': 'production-deploy (dependency check)' },
    });
    status = r.status || undefined;
    error = r.error;
    if (r.ok) return { url, ok: true, status, attempts, elapsedMs: clock() - started };
    const left = timeoutMs - (clock() - started);
    const delay = Math.min(PROBE.maxDelayMs, PROBE.baseDelayMs * 2 ** (attempts - 1));
    // No time left for a real attempt after the pause: the last answer is the verdict.
    if (left <= delay) return { url, ok: false, status, error, attempts, elapsedMs: clock() - started };
    await sleep(delay, signal);
  }
}

/** The dependencies check from what probing found. */
export function evaluateDependencies(results: readonly DependencyResult[], timeoutMs: number): CheckResult {
  const name = DEPS_CHECK;
  if (results.length === 0) return { name, status: 'skipped', reason: 'no dependency-urls' };
  const details = {
    urls: results.map((r) => ({
      url: displayUrl(r.url),
      ok: r.ok,
      status: r.status,
      error: r.error,
      attempts: r.attempts,
      unusable: r.unusable,
      elapsedMs: r.elapsedMs,
    })),
  };
  const down = results.filter((r) => !r.ok && !r.unusable);
  const unusable = results.filter((r) => r.unusable);
  if (down.length > 0) {
    const secs = Math.round(timeoutMs / 1000);
    const what = down.map(
      (r) =>
        `${displayUrl(r.url)} ${r.status !== undefined ? `answered HTTP ${r.status}` : `failed (${r.error ?? 'no answer'})`}`,
    );
    return {
      name,
      status: 'fail',
      reason: `${down.length} of ${results.length} did not answer 2xx within ${secs} s (health-check-timeout): ${what.join(', ')}`,
      details,
    };
  }
  if (unusable.length > 0) {
    return {
      name,
      status: 'not-checked',
      reason: `cannot check ${unusable.map((r) => `${displayUrl(r.url)} (${r.unusable})`).join(', ')}`,
      details,
    };
  }
  const slowest = Math.max(...results.map((r) => r.elapsedMs));
  return {
    name,
    status: 'pass',
    reason: `all ${results.length} answered 2xx (slowest after ${slowest} ms): ${results.map((r) => displayUrl(r.url)).join(', ')}`,
    details,
  };
}
