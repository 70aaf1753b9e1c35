/**
 * Pre-flight's look-ups: every independent GitHub call runs at once (Promise.all), and the CI wait
 * polls check runs and statuses with backoff until `checks-timeout`. Each look-up becomes a Lookup —
 * answered, or failed with the reason — so one failed call makes one check "not checked" instead of
 * hiding the others. Only the run being cancelled aborts the whole step.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config, Severity } from '../../config/types.js';
import type { GitHub, PreflightGraph, PullRequest } from '../../providers/github.js';
import type { BenchmarkData } from './benchmarks.js';
import { classifyChecks, shouldKeepWaiting, type ChecksData, type ChecksPolicy } from './checks.js';
import type { SecurityData } from './security.js';
import type { CheckRun, CombinedStatus, Review } from '../../providers/github-types.js';
import {
  type AlertList,
  type BranchProtection,
  type CheckRunInfo,
  type PullInfo,
  type ReviewInfo,
  type StatusInfo,
} from './types.js';
import { sleep } from '../../text.js';
import { attempt, found, lookupFailed, type Lookup } from '../checks.js';
import type { Environment } from '../../providers/github-types.js';

/**
 * The GitHub calls pre-flight makes (the real adapter in production). The GraphQL reads are optional:
 * without them (or when one fails, or leaves a part unsettled) every gate is read over REST.
 */
export type PreflightGitHub = Partial<Pick<GitHub, 'readPreflightGraph' | 'readChecksGraph'>> &
  Pick<
    GitHub,
    | 'getRepo'
    | 'getBranch'
    | 'getBranchRules'
    | 'listPullsForCommit'
    | 'getPull'
    | 'listReviews'
    | 'listCheckRunsForRef'
    | 'getCombinedStatus'
    | 'listCodeScanningAlerts'
    | 'listDependabotAlerts'
    | 'getEnvironment'
  >;

/** Protection of one branch: its `protected` flag and the active rulesets that apply to it. */
export async function readProtection(
  gh: PreflightGitHub,
  branch: string,
  signal?: AbortSignal,
): Promise<Lookup<BranchProtection>> {
  const [b, rules] = await Promise.all([
    attempt(() => gh.getBranch(branch), signal),
    attempt(() => gh.getBranchRules(branch), signal),
  ]);
  if (!b.ok) return b;
  if (!b.value) return lookupFailed(`branch '${branch}' does not exist in the repository`, 404);
  // GitHub's flag covers classic protection (and, on current GitHub, rulesets too); the rules
  // look-up names the rulesets. A failed rules look-up leaves the flag to decide on its own.
  const rulesets = rules.ok
    ? [...new Set(rules.value.map((r) => (r.rulesetId !== undefined ? `#${r.rulesetId}` : `(${r.type})`)))]
    : [];
  return found({ classic: b.value.protected, rulesets });
}

/**
 * The PR that brought the commit: the event's own PR; else the merged PR into the deployed branch
 * (a push to main); else the open PR from the deployed branch (a branch dispatch, hotfixes); else
 * any merged PR, then any open PR whose head is the commit. Null when none did.
 */
export function choosePull(
  pulls: readonly PullRequest[],
  branch: string,
  sha: string,
  eventPull?: number,
): PullRequest | null {
  const newestMerge = (a: PullRequest, b: PullRequest) => Date.parse(b.mergedAt ?? '') - Date.parse(a.mergedAt ?? '');
  const merged = pulls.filter((p) => p.merged).sort(newestMerge);
  const open = pulls.filter((p) => p.state === 'open');
  return (
    pulls.find((p) => eventPull !== undefined && p.number === eventPull) ??
    merged.find((p) => p.baseRef === branch) ??
    open.find((p) => p.headRef === branch && p.headSha === sha) ??
    open.find((p) => p.headRef === branch) ??
    merged[0] ??
    open.find((p) => p.headSha === sha) ??
    null
  );
}

function toPullInfo(p: PullRequest): PullInfo {
  return {
    number: p.number,
    title: p.title,
    url: p.htmlUrl,
    author: p.user ?? '',
    state: p.state,
    merged: p.merged,
    baseRef: p.baseRef,
    headRef: p.headRef,
  };
}

/** The PR number of a pull_request / pull_request_target event, if this run is one. */
export function eventPullNumber(event: Record<string, unknown>): number | undefined {
  const pr = event.pull_request as { number?: unknown } | undefined;
  return typeof pr?.number === 'number' ? pr.number : undefined;
}

/** Finds the PR of the commit and reads its reviews (reviews only when there is a PR). */
export async function readPullAndReviews(
  gh: PreflightGitHub,
  q: { sha: string; branch: string; eventPull?: number },
  signal?: AbortSignal,
  onPull?: (pull: PullInfo) => void,
): Promise<{ pull: Lookup<PullInfo | null>; reviews: Lookup<ReviewInfo[]> }> {
  const pull = await attempt(async () => {
    const listed = await gh.listPullsForCommit(q.sha);
    const chosen = choosePull(listed, q.branch, q.sha, q.eventPull);
    // A pull_request event names its PR even when GitHub does not (yet) associate the commit with it.
    if (!chosen && q.eventPull !== undefined) return toPullInfo(await gh.getPull(q.eventPull));
    return chosen && toPullInfo(chosen);
  }, signal);
  if (!pull.ok || !pull.value) return { pull, reviews: found([]) };
  onPull?.(pull.value);
  const number = pull.value.number;
  return { pull, reviews: await attempt(async () => (await gh.listReviews(number)).map(toReviewInfo), signal) };
}

function toReviewInfo(r: Review): ReviewInfo {
  return { id: r.id, reviewer: r.user ?? '', state: r.state, submittedAt: r.submittedAt };
}

/**
 * The PR and its reviews from pre-flight's GraphQL answer when it settled them (the commit's PRs, and
 * the chosen PR's reviews whole); what it did not settle is read over REST, as without GraphQL.
 */
async function pullAndReviews(
  gh: PreflightGitHub,
  graph: Promise<PreflightGraph>,
  q: { sha: string; branch: string; eventPull?: number },
  signal?: AbortSignal,
  onPull?: (pull: PullInfo) => void,
): Promise<{ pull: Lookup<PullInfo | null>; reviews: Lookup<ReviewInfo[]> }> {
  const pulls = (await graph).pulls;
  if (!pulls) return readPullAndReviews(gh, q, signal, onPull);
  const chosen = choosePull(
    pulls.map((p) => p.pull),
    q.branch,
    q.sha,
    q.eventPull,
  );
  // The event's PR not (yet) associated with the commit: REST reads it by number.
  if (!chosen && q.eventPull !== undefined) return readPullAndReviews(gh, q, signal, onPull);
  if (!chosen) return { pull: found(null), reviews: found([]) };
  const info = toPullInfo(chosen);
  onPull?.(info);
  const reviews = pulls.find((p) => p.pull.number === chosen.number)?.reviews;
  return {
    pull: found(info),
    reviews: reviews
      ? found(reviews.map(toReviewInfo))
      : await attempt(async () => (await gh.listReviews(chosen.number)).map(toReviewInfo), signal),
  };
}

/**
 * The branch's protection from the GraphQL answer only when it shows protection (a classic rule or a
 * ruleset applies); anything else — unprotected, no such branch, not settled — is read over REST,
 * whose `protected` flag decides, so GraphQL can make a gate pass sooner but never fail it alone.
 */
async function protectionOf(
  gh: PreflightGitHub,
  graph: Promise<PreflightGraph>,
  branch: string,
  signal?: AbortSignal,
): Promise<Lookup<BranchProtection>> {
  const p = (await graph).protection;
  if (p && (p.classic || p.rulesets.length > 0)) return found(p);
  return readProtection(gh, branch, signal);
}

/**
 * Where a check read comes from: a GraphQL answer already in hand (pre-flight's first read), then the
 * GraphQL checks query (one call for both lists) until it fails once, else REST (two calls).
 */
export interface ChecksSource {
  first?: Promise<{ runs: CheckRun[]; combined: CombinedStatus } | undefined>;
  graph: boolean;
}

async function checksViaGraph(
  gh: PreflightGitHub,
  sha: string,
  source: ChecksSource | undefined,
): Promise<{ runs: CheckRun[]; combined: CombinedStatus } | undefined> {
  if (!source) return undefined;
  const first = source.first;
  if (first) {
    source.first = undefined;
    const settled = await first;
    if (settled) return settled;
  }
  if (!source.graph || !gh.readChecksGraph) return undefined;
  // A query that fails, or whose answer is not whole (more than a page of checks), is not tried again:
  // the REST reads say why, if they fail too.
  const whole = await gh.readChecksGraph(sha).catch(() => undefined);
  if (!whole) source.graph = false;
  return whole;
}

/** Check runs and statuses of the commit, once. */
export async function readChecks(
  gh: PreflightGitHub,
  sha: string,
  signal?: AbortSignal,
  source?: ChecksSource,
): Promise<ChecksData> {
  const graph = await checksViaGraph(gh, sha, source);
  const [runs, combined] = graph
    ? [found(graph.runs), found(graph.combined)]
    : await Promise.all([
        attempt(() => gh.listCheckRunsForRef(sha), signal),
        attempt(() => gh.getCombinedStatus(sha), signal),
      ]);
  const checkRuns: Lookup<CheckRunInfo[]> = runs.ok
    ? found(
        runs.value.map((r) => ({
          id: r.id,
          name: r.name,
          status: r.status,
          conclusion: r.conclusion,
          startedAt: r.startedAt,
          detailsUrl: r.htmlUrl,
        })),
      )
    : runs;
  const statuses: Lookup<StatusInfo[]> = combined.ok
    ? found(
        combined.value.statuses.map((s) => ({
          context: s.context,
          state: s.state,
          description: s.description,
          url: s.targetUrl,
        })),
      )
    : combined;
  return { checkRuns, statuses };
}

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Injected in tests. */
  clock?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Told before each wait (for a log line). */
  onWait?: (info: { pending: string[]; delayMs: number; elapsedMs: number }) => void;
  /** GraphQL reads of the checks (pre-flight's first answer, then the checks query); REST without. */
  source?: ChecksSource;
}

/**
 * The delay before poll number `n` (1-based): starts small relative to the timeout (so a short
 * timeout still gets several looks), grows by half each time, never above 30 s.
 */
export function pollDelay(n: number, timeoutMs: number): number {
  const first = Math.min(5000, Math.max(250, Math.round(timeoutMs / 20)));
  return Math.min(30_000, Math.round(first * 1.5 ** (n - 1)));
}

/**
 * Reads checks until nothing is pending (or something failed, which decides already), or until
 * `checks-timeout`. A look-up that fails ends the wait: its check is then "not checked".
 */
export async function waitForChecks(
  gh: PreflightGitHub,
  sha: string,
  policy: ChecksPolicy,
  o: WaitOptions,
): Promise<{ data: ChecksData; waitedMs: number }> {
  const clock = o.clock ?? Date.now;
  const wait = o.sleep ?? sleep;
  const started = clock();
  for (let n = 1; ; n++) {
    const data = await readChecks(gh, sha, o.signal, o.source);
    const elapsed = clock() - started;
    if (!data.checkRuns.ok || !data.statuses.ok) return { data, waitedMs: elapsed };
    const c = classifyChecks(data.checkRuns.value, data.statuses.value, policy);
    const remaining = o.timeoutMs - elapsed;
    if (!shouldKeepWaiting(c) || remaining <= 0) return { data, waitedMs: elapsed };
    const delayMs = Math.min(pollDelay(n, o.timeoutMs), remaining);
    o.onWait?.({ pending: [...c.pending, ...c.missing], delayMs, elapsedMs: elapsed });
    await wait(delayMs, o.signal);
  }
}

function alertList(result: Awaited<ReturnType<PreflightGitHub['listCodeScanningAlerts']>>): Lookup<AlertList> {
  if (!Array.isArray(result)) {
    // The adapter says why and which permission; the HTTP status decides the hint shown.
    const status = /HTTP (\d{3})/.exec(result.notChecked)?.[1];
    return lookupFailed(result.notChecked, status ? Number(status) : undefined);
  }
  return found({
    alerts: result.map((a) => ({
      number: a.number,
      severity: a.severity?.toLowerCase() ?? null,
      title: a.summary,
      url: a.htmlUrl,
    })),
    truncated: false,
  });
}

/** Open code-scanning and Dependabot alerts, both at once; nothing is read when the gate is off. */
export async function readSecurity(
  gh: PreflightGitHub,
  severities: readonly Severity[],
  signal?: AbortSignal,
): Promise<SecurityData> {
  const off = lookupFailed<AlertList>('security-block-severity is none');
  if (severities.length === 0) return { codeScanning: off, dependabot: off };
  const [cs, db] = await Promise.all([
    attempt(() => gh.listCodeScanningAlerts({ state: 'open' }), signal),
    attempt(() => gh.listDependabotAlerts({ state: 'open' }), signal),
  ]);
  return { codeScanning: cs.ok ? alertList(cs.value) : cs, dependabot: db.ok ? alertList(db.value) : db };
}

/** The `benchmark-results` file, relative to the workspace (the job's working directory). */
export async function readBenchmarks(file: string | undefined): Promise<BenchmarkData> {
  if (!file) return {};
  const content = await attempt(() => readFile(path.resolve(file), 'utf8'));
  return { path: file, content };
}

/** Everything pre-flight looked up. */
export interface PreflightFacts {
  defaultBranch: Lookup<string>;
  protection: Lookup<BranchProtection>;
  /** Protection of the PR's base branch, read only for an unprotected hotfix branch. */
  baseProtection?: Lookup<BranchProtection>;
  pull: Lookup<PullInfo | null>;
  reviews: Lookup<ReviewInfo[]>;
  checks: ChecksData;
  checksWaitedMs: number;
  security: SecurityData;
  benchmarks: BenchmarkData;
  /** The deployment environment (null: it does not exist). */
  environment: Lookup<Environment | null>;
}

/**
 * The repository's default branch as the run's event names it: every event that starts a workflow
 * carries its `repository` (with `default_branch`), so no API call is needed. Only when the event is
 * about this very repository (a reusable workflow runs on its caller's event); else undefined.
 */
export function defaultBranchOf(event: Record<string, unknown>, fullName: string): string | undefined {
  const repo = event.repository as { full_name?: unknown; default_branch?: unknown } | undefined;
  if (typeof repo?.full_name !== 'string' || repo.full_name.toLowerCase() !== fullName.toLowerCase()) return undefined;
  return typeof repo.default_branch === 'string' && repo.default_branch !== '' ? repo.default_branch : undefined;
}

/** Every look-up of pre-flight, the independent ones concurrently. */
export async function gatherPreflight(
  gh: PreflightGitHub,
  config: Config,
  o: {
    signal?: AbortSignal;
    onWait?: WaitOptions['onWait'];
    checksPolicy: ChecksPolicy;
    /** Told as soon as the commit's PR is known (before its reviews are read). */
    onPull?: (pull: PullInfo) => void;
    /** Told when the GraphQL read failed (every gate is then read over REST). */
    onGraphFailed?: (err: unknown) => void;
  },
): Promise<PreflightFacts> {
  const { signal } = o;
  const pf = config.preflight;
  const needProtection = pf.requireBranchProtection;
  const notRead = lookupFailed<never>('not needed (require-branch-protection is false)');
  const fromEvent = defaultBranchOf(config.run.event, `${config.run.owner}/${config.run.repo}`);
  const sha = config.run.reviewSha ?? config.run.sha;
  // One GraphQL query settles most gates in one round trip; what it does not settle is read over REST.
  const graph: Promise<PreflightGraph> = gh.readPreflightGraph
    ? gh
        .readPreflightGraph({ sha, branch: config.branch, environment: config.environment, protection: needProtection })
        .catch((err: unknown) => {
          o.onGraphFailed?.(err);
          return {};
        })
    : Promise.resolve({});
  const checksSource: ChecksSource = { first: graph.then((g) => g.checks), graph: gh.readChecksGraph !== undefined };
  const [defaultBranch, protection, pr, checks, security, benchmarks, environment] = await Promise.all([
    !needProtection
      ? notRead
      : fromEvent !== undefined
        ? found(fromEvent)
        : attempt(async () => (await gh.getRepo()).defaultBranch, signal),
    needProtection ? protectionOf(gh, graph, config.branch, signal) : notRead,
    pullAndReviews(
      gh,
      graph,
      { sha, branch: config.branch, eventPull: eventPullNumber(config.run.event) },
      signal,
      o.onPull,
    ),
    waitForChecks(gh, sha, o.checksPolicy, {
      timeoutMs: pf.checksTimeoutMs,
      signal,
      onWait: o.onWait,
      source: checksSource,
    }),
    readSecurity(gh, pf.securityBlockSeverities, signal),
    readBenchmarks(pf.benchmarkResults),
    graph.then((g) =>
      g.environment !== undefined ? found(g.environment) : attempt(() => gh.getEnvironment(config.environment), signal),
    ),
  ]);
  return {
    defaultBranch,
    protection,
    pull: pr.pull,
    reviews: pr.reviews,
    checks: checks.data,
    checksWaitedMs: checks.waitedMs,
    security,
    benchmarks,
    environment,
  };
}
