/**
 * The plumbing of the GitHub adapter (github.ts holds the methods the steps call).
 *
 * Built on `@actions/github`'s Octokit (proxy-aware fetch, `GITHUB_API_URL` via `baseUrl`) with
 * `@octokit/plugin-retry` (5xx/timeouts, never 400/401/403/404/410/422/429/451) and
 * `@octokit/plugin-throttling` (primary and secondary rate limits: one retry when the wait is short, else
 * fail). A small plugin of ours puts a per-attempt timeout on every request. Creates (deployment, comment)
 * are never repeated blindly: an attempt whose outcome is unknown is looked up first.
 */
import { getOctokit } from '@actions/github';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import type { Logger } from '../pipeline/types.js';
import type * as T from './github-types.js';
import type { GraphQLAnswer, GraphQLError } from './github-graphql.js';
import {
  ProviderError,
  attemptSignal,
  backoffDelay,
  classifyNetworkError,
  extractProviderError,
  formatWait,
  providerMessage,
  PROVIDER_TEXT_MAX,
  type RetryPolicy,
} from './http.js';
import { oneLine, redact, sleep } from '../text.js';

type Octokit = ReturnType<typeof getOctokit>;
type OctokitPlugin = Parameters<typeof getOctokit>[2];

/** Backoff between attempts of a create (plugin-retry is off for creates). */
export interface GitHubOptions {
  token: string;
  /** `GITHUB_API_URL` (GitHub Enterprise too). */
  baseUrl: string;
  owner: string;
  repo: string;
  /** Per attempt. */
  timeoutMs: number;
  /** Repeats of a failed idempotent call (plugin-retry waits (n+1)² × retryBaseMs between them). */
  retries: number;
  /** Rate-limit waits longer than this fail at once instead of being waited for. */
  maxRateLimitWaitMs: number;
  /** A create whose answer was lost: the pause before looking it up, and between repeats. */
  createBackoff: RetryPolicy;
  /** Unit of plugin-retry's and plugin-throttling's waits; 1000 in production, smaller in tests. */
  retryBaseMs?: number;
  signal?: AbortSignal;
  secrets?: string[];
  log?: Pick<Logger, 'debug' | 'warning'>;
}

/** A 2xx answer whose JSON body does not parse; `toError` reports it with its status. */
class MalformedResponseError extends Error {
  readonly status: number;
  constructor(what: string, status: number) {
    super(`GitHub answered ${what} with malformed JSON (HTTP ${status})`);
    this.status = status;
  }
}

/** Adds a per-attempt timeout (and the run's signal) to every request. Innermost, so each retry gets its own. */
function timeoutPlugin(timeoutMs: number, run?: AbortSignal): OctokitPlugin {
  return (octokit) => {
    octokit.hook.wrap('request', async (request, options) => {
      // A copy: `options.request` may be the shared defaults object.
      options.request = { ...options.request, signal: attemptSignal(timeoutMs, run) };
      try {
        const response = await request(options);
        // Octokit hands an unparseable JSON body back as a string instead of failing: a 2xx whose
        // body is broken is not a success (a status write answered that way never happened).
        const type = String(response.headers['content-type'] ?? '');
        if (typeof response.data === 'string' && response.data !== '' && type.includes('json')) {
          throw new MalformedResponseError(`${options.method} ${options.url}`, response.status);
        }
        return response;
      } catch (err) {
        // The run was cancelled: no retry. plugin-retry would otherwise wait 1 + 4 + 9 s and repeat a
        // request that fails at once, holding the job past the runner's 10 s grace (docs/safety.md).
        if (run?.aborted) {
          options.request.retries = 0;
          const e = err as { request?: { request?: Record<string, unknown> } };
          if (e.request) e.request.request = { ...e.request.request, retries: 0 };
        }
        throw err;
      }
    });
    return {};
  };
}

/**
 * Writes (anything but GET/HEAD) one at a time, in the order they were made, with no fixed pause.
 * GitHub's REST best practices: "make requests serially instead of concurrently", and "if you are
 * making a large number of POST, PATCH, PUT, or DELETE requests, wait at least one second between
 * each request" (docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api);
 * the secondary limit for content is "no more than 80 content-generating requests per minute"
 * (…/rate-limits-for-the-rest-api). A deploy makes about ten writes over minutes — not a large
 * number — so they are serialized, not spaced; a secondary-limit answer is still waited out by
 * plugin-throttling (its `retry-after`, else 60 s), and the queue waits with it. Outermost plugin,
 * so a write's retries hold the queue.
 */
function serialWrites(queue: { tail: Promise<unknown> }): OctokitPlugin {
  return (octokit) => {
    octokit.hook.wrap('request', (request, options) => {
      if (options.method === 'GET' || options.method === 'HEAD' || isGraphQLQuery(options)) return request(options);
      const sent = queue.tail.then(() => request(options));
      queue.tail = sent.catch(() => undefined);
      return sent;
    });
    return {};
  };
}

/** A GraphQL query (a read sent as a POST): not a write, so not queued behind them. */
function isGraphQLQuery(options: { url?: string; query?: unknown }): boolean {
  return (
    /\/graphql$/.test(options.url ?? '') && typeof options.query === 'string' && !/^\s*mutation\b/.test(options.query)
  );
}

/** GitHub Enterprise Server's REST root ends in /api/v3; its GraphQL endpoint is /api/graphql. */
const GHES_V3 = /\/api\/v3\/?$/;

/**
 * plugin-throttling's `write` group without its `minTime: 1000` (a Bottleneck group whose jobs start
 * at once): `serialWrites` keeps writes one at a time instead. Its `notifications` group (3 s between
 * writes that notify, such as a new issue comment) stays.
 */
const WRITES_UNPACED = { key: () => ({ schedule: <R>(_options: unknown, job: () => Promise<R>) => job() }) };

export interface OctokitError {
  status?: number;
  message?: string;
  name?: string;
  cause?: unknown;
  response?: { data?: unknown; headers?: Record<string, string> };
  request?: { request?: { retryCount?: number } };
}

/** The plumbing of the GitHub adapter: the Octokit, error mapping, and the create-once rule. */
export class GitHubCore {
  readonly octokit: Octokit;
  protected readonly o: GitHubOptions;
  protected readonly repoParams: { owner: string; repo: string };

  constructor(o: GitHubOptions) {
    this.o = o;
    this.repoParams = { owner: o.owner, repo: o.repo };
    const base = o.retryBaseMs ?? 1000;
    const maxWaitSec = o.maxRateLimitWaitMs / 1000;
    const onLimit =
      (kind: string) => (retryAfter: number, options: { method: string; url: string }, _o: unknown, count: number) => {
        // A short wait is retried as often as the retry policy allows; a long one fails at once
        // (a deploy should not sleep for minutes on a shared token's rate limit).
        const again = count < Math.max(1, o.retries) && retryAfter <= maxWaitSec;
        const why =
          retryAfter > maxWaitSec
            ? `not waiting ${retryAfter} s (limit ${maxWaitSec} s)`
            : `giving up after ${count} retries`;
        o.log?.warning(
          `GitHub ${kind} rate limit on ${options.method} ${options.url}: ` +
            (again ? `retrying in ${retryAfter} s` : why),
        );
        return again;
      };
    this.octokit = getOctokit(
      o.token,
      {
        baseUrl: o.baseUrl,
        log: {
          debug: () => {},
          info: () => {},
          warn: (m: string) => o.log?.debug(redact(m, this.secrets())),
          error: () => {},
        },
        retry: { retries: o.retries, retryAfterBaseValue: base, doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451] },
        throttle: {
          retryAfterBaseValue: base,
          // The plugin types this as a Bottleneck.Group; it only calls `key(id).schedule(options, job)`.
          write: WRITES_UNPACED as never,
          onRateLimit: onLimit('primary'),
          onSecondaryRateLimit: onLimit('secondary'),
        },
      },
      timeoutPlugin(o.timeoutMs, o.signal),
      retry,
      throttling,
      serialWrites(this.writes),
    );
  }

  /** The write queue's tail (serialWrites). */
  private readonly writes: { tail: Promise<unknown> } = { tail: Promise.resolve() };

  /**
   * Settles once every write made so far has been answered (or failed): before another client writes
   * the run's record, so a status this one still holds cannot land after it.
   */
  async writesSettled(): Promise<void> {
    // A request reaches the hooks (and the queue) a few microtasks after it is made: look once the
    // current ones have run, and again if a write joined the queue meanwhile.
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      const tail = this.writes.tail;
      await tail;
      if (tail === this.writes.tail) return;
    }
  }

  protected secrets(): string[] {
    return [this.o.token, ...(this.o.secrets ?? [])];
  }

  /** Turns whatever Octokit threw into a ProviderError (or the run's abort reason). */
  protected toError(
    operation: string,
    permission: string,
    err: unknown,
    opts: { outcomeUnknown?: boolean; attempts?: number } = {},
  ): Error {
    if (err instanceof ProviderError) return err;
    if (this.o.signal?.aborted) return err instanceof Error ? err : new Error(String(err));
    const e = (err ?? {}) as OctokitError;
    const outcomeUnknown = opts.outcomeUnknown ?? false;
    // plugin-retry records its retries on the request; creates count their own attempts.
    const attempts = opts.attempts ?? (e.request?.request?.retryCount ?? 0) + 1;
    let detail: string;
    let code: string | undefined;
    const status = e.response ? e.status : undefined;
    if (err instanceof MalformedResponseError) {
      code = 'malformed_json';
      detail = err.message;
    } else if (status !== undefined) {
      const pe = extractProviderError(e.response?.data);
      detail = `HTTP ${status}: ${pe.message ?? oneLine(e.message ?? '', PROVIDER_TEXT_MAX)}`;
    } else {
      code = classifyNetworkError(e.cause ?? err).code;
      detail = code === 'timeout' ? `no answer within ${formatWait(this.o.timeoutMs)}` : `network error ${code}`;
    }
    const denied =
      status === 403 && /not accessible by integration|must have (admin rights|.*access)|permission/i.test(detail);
    if (denied) detail += `; the token needs the "${permission}" permission (workflow "permissions:")`;
    if (attempts > 1) detail += ` (after ${attempts} attempts)`;
    if (outcomeUnknown) detail += '; the outcome is unknown: it was not repeated';
    return new ProviderError({
      provider: 'github',
      operation,
      status,
      code,
      message: redact(providerMessage('github', operation, detail), this.secrets()),
      retryable: status === undefined || status >= 500,
      attempts,
      outcomeUnknown,
      permission: denied ? permission : undefined,
    });
  }

  protected async call<R>(operation: string, permission: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      throw this.toError(operation, permission, err);
    }
  }

  /**
   * A create that must not be repeated blindly: plugin-retry is off for it; after a timeout, reset or 5xx
   * `lookup` says whether it happened, and only when it did not is the create repeated.
   */
  protected async createOnce<R>(
    operation: string,
    permission: string,
    create: () => Promise<R>,
    lookup: () => Promise<R | undefined>,
  ): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await create();
      } catch (err) {
        if (err instanceof ProviderError || this.o.signal?.aborted) throw this.toError(operation, permission, err);
        const e = err as OctokitError;
        const unknown = e.response ? (e.status ?? 0) >= 500 : classifyNetworkError(e.cause ?? err).maybeSent;
        const transient = unknown || !e.response;
        if (!transient) throw this.toError(operation, permission, err, { attempts: attempt });
        if (unknown) {
          // Give GitHub a moment to finish what it may be doing before looking.
          await sleep(backoffDelay(attempt, this.o.createBackoff), this.o.signal);
          let found: R | undefined;
          try {
            found = await lookup();
          } catch {
            throw this.toError(operation, permission, err, { outcomeUnknown: true, attempts: attempt });
          }
          if (found !== undefined) {
            this.o.log?.debug(`GitHub ${operation}: the earlier attempt had succeeded (found by lookup)`);
            return found;
          }
        }
        if (attempt > this.o.retries) throw this.toError(operation, permission, err, { attempts: attempt });
        if (!unknown) await sleep(backoffDelay(attempt, this.o.createBackoff), this.o.signal);
      }
    }
  }

  /**
   * One GraphQL query. HTTP errors, timeouts and retries are those of any read (plugin-retry,
   * plugin-throttling, which also waits out a `RATE_LIMITED` answer); an answer with `errors` beside
   * `data` is returned as it is, for the caller to take only the parts that did not fail. An answer
   * without data (the query was refused whole: validation, a schema this GitHub lacks) throws.
   */
  protected async graphql<D>(
    operation: string,
    permission: string,
    query: string,
    variables: Record<string, unknown>,
  ): Promise<GraphQLAnswer<D>> {
    const url = GHES_V3.test(this.o.baseUrl) ? this.o.baseUrl.replace(GHES_V3, '/api/graphql') : '/graphql';
    const operationName = /^\s*query\s+(\w+)/.exec(query)?.[1];
    const { data: body, status } = await this.call(operation, permission, () =>
      this.octokit.request(`POST ${url}`, { query, variables, ...(operationName ? { operationName } : {}) }),
    );
    const answer = (body ?? {}) as { data?: D | null; errors?: GraphQLError[] };
    const errors = Array.isArray(answer.errors) ? answer.errors : [];
    if (!answer.data || typeof answer.data !== 'object') {
      const first = errors[0]?.message ?? 'no data';
      throw new ProviderError({
        provider: 'github',
        operation,
        status,
        code: 'graphql_errors',
        message: redact(
          providerMessage('github', operation, `GraphQL answered without data: ${oneLine(first, PROVIDER_TEXT_MAX)}`),
          this.secrets(),
        ),
      });
    }
    return { data: answer.data, errors };
  }

  /** A 404 (and only a 404) becomes null. */
  protected async orNull<R>(operation: string, permission: string, fn: () => Promise<R>): Promise<R | null> {
    try {
      return await fn();
    } catch (err) {
      const e = err as OctokitError;
      if (e.status === 404 && e.response) return null;
      throw this.toError(operation, permission, err);
    }
  }
}

export interface RawPull {
  number: number;
  title: string;
  state: string;
  merged_at: string | null;
  draft?: boolean;
  base: { ref: string };
  head: { ref: string; sha: string };
  html_url: string;
  user: { login: string } | null;
}

export function mapPull(p: RawPull): T.PullRequest {
  return {
    number: p.number,
    title: p.title,
    state: p.state === 'open' ? 'open' : 'closed',
    merged: p.merged_at !== null,
    mergedAt: p.merged_at ?? undefined,
    draft: p.draft ?? false,
    baseRef: p.base.ref,
    headRef: p.head.ref,
    headSha: p.head.sha,
    htmlUrl: p.html_url,
    user: p.user?.login,
  };
}

export interface RawDeployment {
  id: number;
  sha: string;
  ref: string;
  environment: string;
  payload: unknown;
  description?: string | null;
  created_at: string;
  creator: { login: string } | null;
}

export function mapDeployment(d: RawDeployment): T.GitHubDeployment {
  let payload: unknown = d.payload;
  if (typeof payload === 'string') {
    try {
      payload = JSON.parse(payload);
    } catch {
      payload = {};
    }
  }
  return {
    id: d.id,
    sha: d.sha,
    ref: d.ref,
    environment: d.environment,
    payload: payload && typeof payload === 'object' ? (payload as Record<string, unknown>) : {},
    description: d.description ?? undefined,
    createdAt: d.created_at,
    creator: d.creator?.login,
  };
}

export function mapStatus(s: {
  id: number;
  state: string;
  description?: string;
  environment_url?: string;
  log_url?: string;
  created_at: string;
}): T.DeploymentStatus {
  return {
    id: s.id,
    state: s.state,
    description: s.description || undefined,
    environmentUrl: s.environment_url || undefined,
    logUrl: s.log_url || undefined,
    createdAt: s.created_at,
  };
}
