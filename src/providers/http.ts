/**
 * The shared HTTP core of the REST adapters (Vercel, Cloudflare, Datadog) and the pure helpers every
 * adapter uses: retry-after parsing and backoff (errors and redaction are in errors.ts, re-exported here).
 *
 * Why not each provider's SDK: one retry/timeout policy we control end to end (a provider asking us to
 * wait longer than the step's rate-limit budget must fail the step, not stall it), one place that keeps secrets out of errors, and
 * one place that refuses to repeat a create whose outcome is unknown without looking it up first.
 */

import {
  ProviderError,
  classifyNetworkError,
  extractProviderError,
  formatWait,
  headerSecrets,
  providerMessage,
  type ProviderName,
  PROVIDER_TEXT_MAX,
} from './errors.js';
import { abortReason, sleep } from '../text.js';
import { oneLine, redact } from '../text.js';

// Adapters and steps import everything HTTP-related from here.
export * from './errors.js';

/** Retry policy of one provider (see the table in src/providers/index.ts). */
export interface RetryPolicy {
  /** Repeats after the first attempt (0 = one attempt). */
  retries: number;
  /** First backoff delay; doubles with each attempt, with jitter. */
  baseDelayMs: number;
  /** Upper bound of one backoff delay (not of a provider's retry-after). */
  maxDelayMs: number;
  /** A retry-after longer than this is not waited for: fail at once instead (429s with `rateLimit`: see it). */
  maxRetryAfterMs: number;
  /**
   * The rate-limit budget the provider's calls share in the current step (or restore). A 429 is
   * waited out — its `retry-after` (or the provider's reset header), else the backoff — as long as
   * the waits fit in it, without using up `retries`; a wait that does not fit fails at once, saying
   * so. Absent: a 429 is one more retry, its wait capped by `maxRetryAfterMs`.
   */
  rateLimit?: RateLimitBudget;
}

/**
 * How long one provider's calls may wait for its rate limit, together, in one step of the run (or
 * one restore): shared by every call of the provider, reset by `startStep`/`startRestore` (the
 * run's `RateLimitBudgets`). Waits of concurrent calls add up, so the budget errs on the short side.
 */
export class RateLimitBudget {
  readonly provider: ProviderName;
  private spent = 0;
  private limit: number;
  private scope: string;
  constructor(provider: ProviderName, limitMs: number, scope = 'this step') {
    this.provider = provider;
    this.limit = limitMs;
    this.scope = scope;
  }
  /** Starts a new budget of `limitMs` for `scope` ("this step", "the restore"). */
  reset(limitMs: number, scope: string): void {
    this.spent = 0;
    this.limit = limitMs;
    this.scope = scope;
  }
  get spentMs(): number {
    return this.spent;
  }
  get remainingMs(): number {
    return Math.max(0, this.limit - this.spent);
  }
  /** Books `waitMs` when it fits in what is left; false (nothing booked) when it does not. */
  take(waitMs: number): boolean {
    if (waitMs > this.remainingMs) return false;
    this.spent += waitMs;
    return true;
  }
  /** Why a wait of `waitMs` is not made: the budget, what is spent, and what the provider asked. */
  refusal(waitMs: number): string {
    return (
      `rate-limited: the provider asked to wait ${formatWait(waitMs)}, more than the ${formatWait(this.remainingMs)} ` +
      `left of the ${formatWait(this.limit)} this action waits for ${this.provider}'s rate limit in ${this.scope} ` +
      `(${formatWait(this.spent)} already waited)`
    );
  }
}

/** One JSON request. */
export interface RequestOptions<T = unknown> {
  provider: ProviderName;
  /** Short name of what is being done (`promote`, `getPool`…), used in messages. */
  operation: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string or bytes as is. */
  body?: unknown;
  /** Per attempt, including reading the response body. */
  timeoutMs: number;
  retry: RetryPolicy;
  /** Safe to repeat blindly (GET, PUT, DELETE, PATCH with the same body). */
  idempotent: boolean;
  /**
   * For a non-idempotent call: finds the effect of an attempt whose outcome is unknown (timeout, reset,
   * 5xx). Returns the resource when the effect happened (it is returned instead of repeating the call),
   * `undefined` when it did not (the call is then repeated).
   */
  lookup?: () => Promise<T | undefined>;
  /** The run's signal: an abort stops at once and is never retried. */
  signal?: AbortSignal;
  /** Values that must never appear in an error message. */
  secrets?: string[];
  /** Non-2xx statuses that are answers, not errors (e.g. 404 for "not found → null"). */
  okStatuses?: number[];
  /** Told before each retry (for a debug line); never given secrets. */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

/** A parsed answer. `lookedUp` is set when the body came from `lookup` (then `status` is 0). */
export interface JsonResponse<T> {
  status: number;
  headers: Headers;
  body: T;
  lookedUp?: boolean;
}

// ---------------------------------------------------------------- pure helpers

/**
 * How long the provider asked us to wait, in ms, from `retry-after-ms`, `retry-after` (seconds or an
 * HTTP-date) and, when `rateLimitReset` is set, `x-ratelimit-reset` (Datadog: seconds until the reset;
 * a value that looks like an epoch, as GitHub sends, is read as one). Unparseable, negative or infinite
 * values are ignored; a date in the past means 0.
 */
export function parseRetryAfter(
  headers: Headers,
  opts: { now?: number; rateLimitReset?: boolean } = {},
): number | undefined {
  const now = opts.now ?? Date.now();
  const num = (v: string | null): number | undefined => {
    if (v === null || !/^\s*\d+(\.\d+)?\s*$/.test(v)) return undefined;
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  const ms = num(headers.get('retry-after-ms'));
  if (ms !== undefined) return Math.ceil(ms);
  const ra = headers.get('retry-after');
  if (ra !== null) {
    const secs = num(ra);
    if (secs !== undefined) return Math.ceil(secs * 1000);
    // An HTTP-date has a comma and a GMT suffix; Date.parse alone accepts far too much.
    if (/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(ra.trim())) {
      const at = Date.parse(ra);
      if (Number.isFinite(at)) return Math.max(0, at - now);
    }
  }
  if (opts.rateLimitReset) {
    const reset = num(headers.get('x-ratelimit-reset'));
    if (reset !== undefined) return reset > 1e9 ? Math.max(0, reset * 1000 - now) : Math.ceil(reset * 1000);
    // Cloudflare's `Ratelimit: "default";r=0;t=30`: `t` is the seconds until the window resets
    // (https://developers.cloudflare.com/fundamentals/api/reference/limits/).
    const t = /(?:^|;)\s*t=(\d+)\s*(?:;|,|$)/.exec(headers.get('ratelimit') ?? '')?.[1];
    if (t !== undefined) return Number(t) * 1000;
  }
  return undefined;
}

/** Backoff before retry number `attempt` (1-based): exponential, capped, with "equal jitter" in [d/2, d]. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const d = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(d / 2 + random() * (d / 2));
}

/** The signal of one attempt: the run's signal and a per-attempt timeout. */
export function attemptSignal(timeoutMs: number, run?: AbortSignal): AbortSignal {
  const t = AbortSignal.timeout(timeoutMs);
  return run ? AbortSignal.any([run, t]) : t;
}

// ---------------------------------------------------------------- the request loop

interface Failure {
  detail: string;
  status?: number;
  code?: string;
  retryable: boolean;
  /** The effect may have happened (non-idempotent call sent, answer lost or 5xx). */
  unknown: boolean;
  waitMs?: number;
}

/**
 * One JSON call with a per-attempt timeout, retries with backoff on 408/429/5xx/network errors, the
 * provider's retry-after honoured up to `retry.maxRetryAfterMs` — for a 429, up to what is left of
 * the step's rate-limit budget (`retry.rateLimit`) — and the unknown-outcome rule for non-idempotent
 * calls. Throws ProviderError (or the run signal's reason when the run is aborted).
 */
export async function requestJson<T>(o: RequestOptions<T>): Promise<JsonResponse<T>> {
  const secrets = [...(o.secrets ?? []), ...headerSecrets(o.headers)];
  const fail = (f: Failure, attempts: number, extra?: string): ProviderError =>
    new ProviderError({
      provider: o.provider,
      operation: o.operation,
      status: f.status,
      code: f.code,
      retryable: f.retryable,
      attempts,
      outcomeUnknown: f.unknown,
      message: redact(
        providerMessage(o.provider, o.operation, f.detail) +
          (attempts > 1 ? ` (after ${attempts} attempts)` : '') +
          (extra ? `; ${extra}` : ''),
        secrets,
      ),
    });

  const headers: Record<string, string> = { accept: 'application/json', ...o.headers };
  let payload: string | Uint8Array | undefined;
  if (typeof o.body === 'string' || o.body instanceof Uint8Array) payload = o.body;
  else if (o.body !== undefined) {
    payload = JSON.stringify(o.body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
  }

  // Attempts answered 429 and waited out within the rate-limit budget: they do not use up `retries`.
  let rateLimited = 0;
  for (let attempt = 1; ; attempt++) {
    if (o.signal?.aborted) throw abortReason(o.signal);
    let failure: Failure;
    let status = 0;
    let resHeaders = new Headers();
    try {
      const res = await fetch(o.url, {
        method: o.method,
        headers,
        body: payload,
        signal: attemptSignal(o.timeoutMs, o.signal),
        // A 3xx is reported, not followed: credentials in custom headers (DD-API-KEY…) stay on the host we
        // were configured with. None of these APIs redirects in normal operation.
        redirect: 'manual',
      });
      status = res.status;
      resHeaders = res.headers;
      const text = await res.text();
      const ok = (status >= 200 && status < 300) || (o.okStatuses ?? []).includes(status);
      if (ok) {
        if (text.trim() === '') return { status, headers: res.headers, body: undefined as T };
        try {
          return { status, headers: res.headers, body: JSON.parse(text) as T };
        } catch {
          if (status < 200 || status >= 300) return { status, headers: res.headers, body: undefined as T };
          // A GET may simply be asked again; a create answered 2xx happened, but we cannot read what.
          failure = {
            detail: `HTTP ${status} with a body that is not JSON`,
            status,
            code: 'malformed_json',
            retryable: true,
            unknown: !o.idempotent,
          };
        }
      } else {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON: the text itself is the message
        }
        const pe = extractProviderError(parsed);
        const retryable = status === 408 || status === 429 || status >= 500;
        failure = {
          detail: `HTTP ${status}${pe.code ? ` ${pe.code}` : ''}${pe.message ? `: ${pe.message}` : ''}`,
          status,
          code: pe.code,
          retryable,
          // 408 and 429 say the request was not processed; a 5xx may come after the effect.
          unknown: !o.idempotent && status >= 500,
          waitMs: retryable ? parseRetryAfter(res.headers, { rateLimitReset: status === 429 }) : undefined,
        };
      }
    } catch (err) {
      if (o.signal?.aborted) throw abortReason(o.signal);
      const n = classifyNetworkError(err);
      failure = {
        detail: n.code === 'timeout' ? `no answer within ${formatWait(o.timeoutMs)}` : `network error ${n.code}`,
        status: status || undefined,
        code: n.code,
        retryable: true,
        unknown: !o.idempotent && n.maybeSent,
      };
    }

    let waited = false;
    if (failure.unknown) {
      if (!o.lookup) throw fail(failure, attempt, 'the outcome is unknown: it was not repeated');
      let found: T | undefined;
      try {
        // Give the provider the backoff delay to finish what it may be doing before we look.
        await sleep(backoffDelay(attempt, o.retry), o.signal);
        waited = true;
        found = await o.lookup();
      } catch (err) {
        if (o.signal?.aborted) throw abortReason(o.signal);
        const why = err instanceof Error ? oneLine(err.message, PROVIDER_TEXT_MAX) : 'lookup failed';
        throw fail(failure, attempt, `the outcome is unknown and looking it up failed (${why})`);
      }
      if (found !== undefined) return { status: 0, headers: resHeaders, body: found, lookedUp: true };
      // Looked up and not there: the attempt had no effect, so it is safe to repeat.
    }
    if (!failure.retryable) throw fail({ ...failure, unknown: false }, attempt);
    const budget = o.retry.rateLimit;
    if (budget && failure.status === 429) {
      // Waited out within the step's budget: the provider's wait, else the backoff.
      // A wait of 0 (a reset already past) still backs off, so a storm is never hammered.
      const wait = failure.waitMs || backoffDelay(rateLimited + 1, o.retry);
      if (!budget.take(wait)) throw fail({ ...failure, unknown: false }, attempt, budget.refusal(wait));
      rateLimited += 1;
      o.onRetry?.({ attempt, delayMs: wait, reason: redact(failure.detail, secrets) });
      await sleep(wait, o.signal);
      continue;
    }
    if (attempt - rateLimited > o.retry.retries) throw fail({ ...failure, unknown: false }, attempt);
    // After a lookup the backoff has already been waited.
    let delay = waited ? 0 : backoffDelay(attempt - rateLimited, o.retry);
    if (failure.waitMs !== undefined) {
      if (failure.waitMs > o.retry.maxRetryAfterMs) {
        throw fail({ ...failure, unknown: false }, attempt, waitMessage(failure.waitMs, o.retry.maxRetryAfterMs));
      }
      delay = failure.waitMs;
    }
    o.onRetry?.({ attempt, delayMs: delay, reason: redact(failure.detail, secrets) });
    await sleep(delay, o.signal);
  }
}

/** "the provider asked to wait 300 s before retrying, more than the 30 s this action waits" */
export function waitMessage(waitMs: number, capMs: number): string {
  return `the provider asked to wait ${formatWait(waitMs)} before retrying, more than the ${formatWait(capMs)} this action waits`;
}

/** `?a=1&b=2` from defined values only (arrays repeat the key). */
export function query(params: Record<string, string | number | boolean | undefined | string[]>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) q.append(k, x);
    else q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
