/**
 * Builds the run's provider adapters from the Config: only the configured ones (an absent one is
 * undefined, and the steps that need it say so in the report). Creating them makes no network call.
 *
 * Every timeout and retry policy lives in POLICIES below, one row per provider, so the whole picture of
 * "how long can a call to X take" is in one place.
 */
import type { Config, DatadogConfig } from '../config/types.js';
import type { Logger } from '../pipeline/types.js';
import { CloudflareLb } from './cloudflare.js';
import { Datadog, type CallPolicy } from './datadog.js';
import { GitHub } from './github.js';
import { RateLimitBudget, type RetryPolicy } from './http.js';
import type { BackupStore as S3BackupStore, BackupStoreOptions } from './s3.js';
import { Slack } from './slack.js';
import { VercelApi } from './vercel-api.js';

export { ProviderError } from './http.js';
export type { CloudflareLb } from './cloudflare.js';
export type { Datadog, DatadogSampler } from './datadog.js';
export type { GitHub } from './github.js';
/**
 * What the steps use of the backup bucket. The AWS SDK behind it is 1.3 MB of the bundle and ~300 ms
 * to load, so it is loaded on the first call (a chunk of its own), only by a run that backs up.
 */
export type BackupStore = Pick<S3BackupStore, 'streamUpload' | 'verify' | 'newest' | 'exists' | 'deleteObject'>;
export type { Slack } from './slack.js';
export { SafeNotifier } from './slack.js';
export type { VercelApi } from './vercel-api.js';

/** The adapters of one run: `ctx.providers` in every step (src/pipeline/context.ts). */
export interface Providers {
  github: GitHub;
  /** The rate-limit budgets the REST adapters share (absent in test fakes: per-call caps apply). */
  rateLimits?: RateLimitBudgets;
  vercel?: VercelApi;
  cloudflare?: CloudflareLb;
  datadog?: Datadog;
  slack?: Slack;
  backup?: BackupStore;
}

/**
 * Timeouts are per attempt. `maxRetryAfterMs`: a provider asking to wait longer than this (on a 5xx) is
 * not waited for — the call fails at once with the wait in its message. A 429 is different: it is
 * waited out, as the provider asks, up to `rateLimitPerStepMs` — a budget shared by all of the
 * provider's calls in one step of the run — and up to `rollback-timeout` during a restore
 * (`RateLimitBudgets`); a wait that does not fit fails at once, naming the budget.
 */
export const POLICIES = {
  /** Octokit plugin-retry waits (n+1)² s between attempts; rate limits are retried once if ≤ the cap. */
  github: {
    timeoutMs: 15_000,
    retries: 3,
    maxRateLimitWaitMs: 60_000,
    /** A create whose answer was lost: the pause before looking it up, and between repeats. */
    createBackoff: policy(0, 500, 4_000, 0),
  },
  /** Vercel's rate limits use one-minute buckets: a wait of up to a minute is worth it for a promote. */
  vercel: { timeoutMs: 20_000, retry: policy(3, 1_000, 8_000, 60_000), rateLimitPerStepMs: 60_000 },
  /**
   * Staging a deployment (`@vercel/client` upload and create): bounded by `health-check-timeout`, as its
   * requests have no timeout of their own. A create whose outcome was lost is looked up and, when Vercel
   * does not have it, repeated this many times.
   */
  vercelCreate: { retries: 1 },
  /**
   * Cloudflare's API allows 1,200 requests per 5 minutes per user and, once over, blocks every call
   * for 5 minutes (https://developers.cloudflare.com/fundamentals/api/reference/limits/): a storm of a
   * few seconds is waited out, within a minute per step; a 5-minute block fails the step in words.
   */
  cloudflare: { timeoutMs: 10_000, retry: policy(3, 500, 5_000, 30_000), rateLimitPerStepMs: 60_000 },
  /**
   * `sample`: one validation sample (a query or the monitors, every `validation-interval`). One quick
   * retry inside the tick, a timeout below the interval, never a long wait for a rate limit: a failed
   * tick counts as a query error and the next tick retries, so the analysis' consecutive-error limit
   * (not an HTTP retry budget) decides when production is unobservable.
   */
  datadog: {
    timeoutMs: 10_000,
    retry: policy(2, 500, 4_000, 20_000),
    /** Events, DORA, monitors (not samples): a rate limit of the organisation is waited out this long. */
    rateLimitPerStepMs: 30_000,
    sample: datadogSamplePolicy,
  },
  /**
   * `dependency-urls` probes (any server of the user's): a hung one must not use the whole
   * `health-check-timeout` in one try; pauses double from 250 ms up to 5 s.
   */
  dependencyProbe: { attemptTimeoutMs: 10_000, baseDelayMs: 250, maxDelayMs: 5_000 },
  /** A notification must never hold up the run. */
  slack: { timeoutMs: 5_000, retries: 1, maxRetryAfterMs: 2_000 },
  /**
   * The first parts are 5 MiB, S3's smallest (they grow with the stream, first past 4.68 GiB:
   * src/providers/multipart.ts), and 4 of them are in flight, the next filled only once it could be
   * sent: the upload holds ~20 MiB. Benchmark 3 at 1 GiB, against `aws s3 cp -` on a loopback S3 that
   * sets the pace: 5 MiB × 4 peaked at 146–148 MB; 7 MiB × 3 (147 requests instead of 205) at
   * 144–147 MB with no better throughput (0.80–1.17 of the CLI's against 0.90–1.37, runs at load 5–9);
   * 6 MiB × 4 at 150 MB, 8 MiB × 3 at 156 MB. Four in flight stay: against a distant S3, parts in
   * flight matter more than part size. A minute per 5 MiB part allows ~90 KB/s (a larger part gets as
   * long per byte); the SDK's standard mode makes 3 attempts, each part resent whole.
   */
  s3: { requestTimeoutMs: 60_000, connectionTimeoutMs: 5_000, maxAttempts: 3, partSize: 5 * 1024 * 1024, queueSize: 4 },
} as const;

function policy(retries: number, baseDelayMs: number, maxDelayMs: number, maxRetryAfterMs: number): RetryPolicy {
  return { retries, baseDelayMs, maxDelayMs, maxRetryAfterMs };
}

/**
 * The run's rate-limit budgets, one per REST provider (`RetryPolicy.rateLimit`). main starts a new
 * step's budgets after each step (`startStep`); a restore gets `rollback-timeout` (`startRestore`).
 */
export class RateLimitBudgets {
  readonly cloudflare = new RateLimitBudget('cloudflare', POLICIES.cloudflare.rateLimitPerStepMs);
  readonly vercel = new RateLimitBudget('vercel', POLICIES.vercel.rateLimitPerStepMs);
  readonly datadog = new RateLimitBudget('datadog', POLICIES.datadog.rateLimitPerStepMs);
  /** Each provider's per-step budget, for the next step. */
  startStep(): void {
    this.cloudflare.reset(POLICIES.cloudflare.rateLimitPerStepMs, 'this step');
    this.vercel.reset(POLICIES.vercel.rateLimitPerStepMs, 'this step');
    this.datadog.reset(POLICIES.datadog.rateLimitPerStepMs, 'this step');
  }
  /** A restore waits out rate limits up to its own deadline (`rollback-timeout`). */
  startRestore(timeoutMs: number): void {
    for (const b of [this.cloudflare, this.vercel, this.datadog]) b.reset(timeoutMs, 'the restore');
  }
}

/** Per attempt: a sample slower than this is an error for its tick (clamped to 2–10 s by the interval). */
export function tickTimeoutMs(intervalMs: number): number {
  return Math.min(10_000, Math.max(2_000, Math.round(intervalMs * 0.8)));
}

function datadogSamplePolicy(intervalMs: number): CallPolicy {
  return {
    timeoutMs: tickTimeoutMs(intervalMs),
    retry: policy(1, Math.min(500, Math.max(50, Math.round(intervalMs / 10))), 1_000, Math.min(2_000, intervalMs)),
  };
}

/** The configured adapters, sharing the run's signal, secrets and logger. No network call is made. */
export function createProviders(config: Config, log: Logger, signal: AbortSignal): Providers {
  const secrets = config.secrets;
  const common = { signal, secrets, log };
  const rateLimits = new RateLimitBudgets();
  const providers: Providers = {
    rateLimits,
    github: new GitHub({
      token: config.githubToken,
      baseUrl: config.run.apiUrl,
      owner: config.run.owner,
      repo: config.run.repo,
      ...POLICIES.github,
      ...common,
    }),
  };
  if (config.vercel.token) {
    providers.vercel = new VercelApi({
      token: config.vercel.token,
      teamId: config.vercel.teamId,
      apiUrl: config.vercel.apiUrl,
      timeoutMs: POLICIES.vercel.timeoutMs,
      retry: { ...POLICIES.vercel.retry, rateLimit: rateLimits.vercel },
      create: POLICIES.vercelCreate,
      ...common,
    });
  }
  const cf = config.traffic.cloudflare;
  if (cf) {
    providers.cloudflare = new CloudflareLb({
      apiToken: cf.apiToken,
      accountId: cf.accountId,
      zoneId: cf.zoneId,
      loadBalancerId: cf.loadBalancerId,
      baseUrl: cf.baseUrl,
      timeoutMs: POLICIES.cloudflare.timeoutMs,
      retry: { ...POLICIES.cloudflare.retry, rateLimit: rateLimits.cloudflare },
      ...common,
    });
  }
  const dd = config.validation.datadog;
  if (dd) providers.datadog = createDatadog(dd, common, rateLimits.datadog);
  const slack = config.cleanup.slack;
  if (slack) {
    providers.slack = new Slack({ token: slack.token, apiUrl: slack.apiUrl, ...POLICIES.slack, ...common });
  }
  const backup = config.prepare.backup;
  if (backup) {
    providers.backup = lazyBackupStore({
      region: backup.region,
      endpoint: backup.endpoint,
      ...POLICIES.s3,
      signal,
      secrets,
    });
  }
  return providers;
}

/**
 * The Datadog client for `dd`, at the POLICIES of the table above. createProviders builds the run's
 * with it; the validation sampler (which reads only the config) builds its own the same way.
 */
export function createDatadog(
  dd: DatadogConfig,
  common: { secrets?: string[]; signal?: AbortSignal; log?: Pick<Logger, 'debug'> } = {},
  rateLimit?: RateLimitBudget,
): Datadog {
  const { rateLimitPerStepMs: _perStep, ...policy } = POLICIES.datadog;
  return new Datadog({
    apiKey: dd.apiKey,
    appKey: dd.appKey,
    baseUrl: dd.baseUrl,
    ...policy,
    ...(rateLimit ? { retry: { ...policy.retry, rateLimit } } : {}),
    ...common,
  });
}

/** A BackupStore that loads the S3 adapter (and the AWS SDK) on its first call. */
function lazyBackupStore(o: BackupStoreOptions): BackupStore {
  let store: Promise<S3BackupStore> | undefined;
  const load = (): Promise<S3BackupStore> => (store ??= import('./s3.js').then((m) => new m.BackupStore(o)));
  return {
    streamUpload: async (...a) => (await load()).streamUpload(...a),
    verify: async (...a) => (await load()).verify(...a),
    newest: async (...a) => (await load()).newest(...a),
    exists: async (...a) => (await load()).exists(...a),
    deleteObject: async (...a) => (await load()).deleteObject(...a),
  };
}
