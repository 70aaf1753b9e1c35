/**
 * Scenarios: the sandbox's initial world as a YAML or JSON file (sandbox/README.md documents every
 * field). A scenario extends `default` unless it says `extends: none`; objects are deep-merged and
 * arrays replaced, so a scenario only states what differs from the default world.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import type { FaultRule } from './service.ts';
import type { VercelScenario } from '../services/vercel.ts';
import type { CloudflareScenario } from '../services/cloudflare.ts';

export type { VercelScenario, CloudflareScenario };

/** Scenario directory of this checkout (`sandbox/scenarios`). */
export const SCENARIO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../scenarios');

/** Classic branch protection (GET …/branches/{branch}/protection). Absent → the branch is not protected. */
export interface ProtectionScenario {
  requiredApprovingReviewCount?: number;
  dismissStaleReviews?: boolean;
  requireCodeOwnerReviews?: boolean;
  /** Required status check contexts; absent → no required status checks. */
  requiredStatusChecks?: string[];
  strict?: boolean;
  enforceAdmins?: boolean;
  requiredLinearHistory?: boolean;
  allowForcePushes?: boolean;
  allowDeletions?: boolean;
}

/** One active ruleset rule that applies to a branch (GET …/rules/branches/{branch}). */
export interface RuleScenario {
  /** Rule type as GitHub names it: `pull_request`, `required_status_checks`, `deletion`, `non_fast_forward`… */
  type: string;
  parameters?: Record<string, unknown>;
  rulesetId?: number;
  /** `Repository` or `Organization` (default `Repository`). */
  rulesetSourceType?: string;
}

export interface BranchScenario {
  name: string;
  /** Head commit of the branch (default: the run's sha for the run's branch, else a derived sha). */
  sha?: string;
  protection?: ProtectionScenario;
  rules?: RuleScenario[];
}

export interface CommitScenario {
  sha: string;
  message: string;
  author?: string;
  /** Commit time, seconds ago (default: spaced an hour apart, newest last). */
  agoSeconds?: number;
}

export interface RepoScenario {
  owner: string;
  name: string;
  id: number;
  private: boolean;
  defaultBranch: string;
  branches: BranchScenario[];
  /** The default branch's history, oldest first (a linear chain; PR heads hang off it). */
  commits: CommitScenario[];
}

export interface RunScenario {
  /** `push`, `workflow_dispatch`, `pull_request`… */
  eventName: string;
  branch: string;
  sha: string;
  runId: number;
  attempt: number;
  actor: string;
  job: string;
  workflow: string;
  /** workflow_dispatch inputs for the event payload. */
  dispatchInputs?: Record<string, string>;
}

export interface ReviewScenario {
  user: string;
  /** APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING */
  state: string;
  body?: string;
  /** Commit reviewed (default: the PR's head sha). */
  commitId?: string;
  /** Seconds ago (default 3600). */
  agoSeconds?: number;
}

export interface PullScenario {
  number: number;
  title: string;
  author: string;
  state: 'open' | 'closed';
  merged: boolean;
  draft?: boolean;
  base: string;
  head: string;
  headSha: string;
  /** The merge commit (merged PRs) or test-merge commit. */
  mergeCommitSha?: string;
  body?: string;
  /** Extra commits of this PR; head and merge commit are always associated. */
  commits?: string[];
  reviews: ReviewScenario[];
  labels?: string[];
}

export interface CheckRunScenario {
  name: string;
  /** Commit (default: the run's sha). */
  sha?: string;
  /** queued | in_progress | completed (default completed). */
  status?: string;
  /** success, failure, neutral, cancelled, skipped, timed_out, action_required. */
  conclusion?: string;
  /** A pending check that completes this many ms after the sandbox starts, with `conclusion`. */
  completeAfterMs?: number;
  /** GitHub App that owns it (default `github-actions`). */
  app?: string;
  summary?: string;
}

export interface StatusScenario {
  context: string;
  /** error | failure | pending | success */
  state: string;
  sha?: string;
  description?: string;
  targetUrl?: string;
  /** A pending status that turns into `finalState` this many ms after the sandbox starts. */
  completeAfterMs?: number;
  finalState?: string;
}

export interface CodeScanningAlertScenario {
  number?: number;
  ruleId: string;
  description?: string;
  /** critical | high | medium | low (security severity). */
  severity: string;
  /** open | dismissed | fixed */
  state?: string;
  tool?: string;
  path?: string;
}

export interface DependabotAlertScenario {
  number?: number;
  package: string;
  ecosystem?: string;
  /** critical | high | medium | low */
  severity: string;
  /** open | dismissed | fixed | auto_dismissed */
  state?: string;
  summary?: string;
  ghsaId?: string;
  cveId?: string;
  manifest?: string;
}

export interface DeploymentStatusScenario {
  state: string;
  description?: string;
  environmentUrl?: string;
  logUrl?: string;
  agoSeconds?: number;
}

export interface DeploymentScenario {
  id?: number;
  sha: string;
  ref: string;
  environment: string;
  task?: string;
  description?: string;
  creator?: string;
  payload?: Record<string, unknown> | string;
  agoSeconds?: number;
  statuses?: DeploymentStatusScenario[];
}

export interface CommentScenario {
  issue: number;
  body: string;
  user: string;
}

export interface GithubScenario {
  /** The token the miniature accepts (Bearer or token); any other gets 401 Bad credentials. */
  token: string;
  pulls: PullScenario[];
  checkRuns: CheckRunScenario[];
  statuses: StatusScenario[];
  /** A list of alerts, or 403 / 404 for "feature off / no access". */
  codeScanning: CodeScanningAlertScenario[] | 403 | 404;
  dependabot: DependabotAlertScenario[] | 403 | 404;
  deployments: DeploymentScenario[];
  comments: CommentScenario[];
  /**
   * The repository's deployment environments (`GET /repos/{o}/{r}/environments/{name}`), or 403 for a
   * token that may not read them. Absent: `production` with a required-reviewers rule. A deployment to
   * an environment that does not exist creates it without protection rules, as GitHub does.
   */
  environments?: EnvironmentScenario[] | 403;
}

export interface EnvironmentScenario {
  name: string;
  /** Built-in protection rules by type (`required_reviewers`, `wait_timer`, `branch_policy`). */
  protection_rules?: ('required_reviewers' | 'wait_timer' | 'branch_policy')[];
  /** Which branches may deploy; absent or null: any branch. */
  deployment_branch_policy?: { protected_branches: boolean; custom_branch_policies: boolean } | null;
}

export interface MonitorScenario {
  id?: number;
  name: string;
  tags: string[];
  /** Alert, Warn, No Data, OK, Ignored, Skipped, Unknown */
  state: string;
  type?: string;
  query?: string;
  /** Per-group states (default: one group `*` with `state`). */
  groups?: Record<string, string>;
}

/** What a metrics query string means in `traffic` mode. */
export type Measure = 'error_rate' | 'latency_p95' | 'latency_p50' | 'latency_avg' | 'requests' | 'errors';

export interface QueryScenario {
  /**
   * The query as the action sends it. `{{version}}` in it matches any value of that tag: the hits
   * counted are those served by the release whose commit SHA, short SHA (7) or Vercel deployment id
   * is that value (traffic mode).
   */
  query: string;
  measure: Measure;
  /** Which action input receives this query (`error-rate-query`, `latency-query`). */
  input?: string;
  /** Only hits matching these count (traffic mode). */
  filter?: { version?: string; pool?: string; synthetic?: boolean };
  /** Scripted mode: the n-th call of this query returns value n (the last repeats); null = no data. */
  scripted?: Array<number | null>;
}

/** A Datadog Deployment Gate (sandbox/services/datadog-gates.ts), keyed by (service, env, identifier). */
export interface GateScenario {
  /** Default `default`, as Datadog's. */
  identifier?: string;
  service: string;
  env: string;
  id?: string;
  /** A dry-run gate answers pass whatever its rules find. */
  dryRun?: boolean;
  /** None: the start answers 404, as for a missing gate. */
  rules: Array<{
    name: string;
    type: 'monitor' | 'faulty_deployment_detection';
    /** The rule's result once decided. */
    status: 'pass' | 'fail';
    /** When set, the rule fails for these versions and passes for any other (overrides `status`). */
    failVersions?: string[];
    reason?: string;
    dryRun?: boolean;
  }>;
  /** Reads answered 404 right after the start ("polled too early"; default 1). */
  notFoundPolls?: number;
  /** Reads answered in_progress after those (default 2). */
  inProgressPolls?: number;
}

export interface DatadogScenario {
  apiKey: string;
  appKey: string;
  /** `traffic`: values computed from the load balancer's real hits; `scripted`: from `queries[].scripted`. */
  metrics: 'traffic' | 'scripted';
  /** Width of one point of a pointlist. */
  bucketSeconds: number;
  /**
   * Ingestion delay (ms, default 0): a request becomes visible to queries this long after it was
   * served, as agent-flushed metrics reach Datadog late; until then its bucket is empty (null).
   */
  ingestionDelayMs?: number;
  queries: QueryScenario[];
  monitors: MonitorScenario[];
  /** Becomes `INPUT_DATADOG-MONITOR-TAGS`. */
  monitorTags?: string[];
  /** Deployment Gates the evaluation endpoints know (none by default: every start answers 404). */
  gates?: GateScenario[];
}

export interface SlackScenario {
  token: string;
  /** Channel name (with or without `#`) as the action is configured. */
  channel: string;
  channelId: string;
  teamId: string;
  team: string;
  botUserId: string;
  botId: string;
}

export interface S3ObjectScenario {
  key: string;
  /** Object age: its LastModified is this many seconds ago. */
  ageSeconds: number;
  body?: string;
  /** Generated content of this size when no body. */
  size?: number;
}

export interface S3Scenario {
  bucket: string;
  region: string;
  objects: S3ObjectScenario[];
}

export interface SeedTable {
  table: string;
  rows: Array<Record<string, string | number | boolean | null>>;
}

export interface PostgresScenario {
  enabled: boolean;
  database: string;
  seed: SeedTable[];
}

export interface DependencyScenario {
  name: string;
  status: number;
  delayMs?: number;
  body?: string;
}

/**
 * Sandbox timings in ms, all short. They feed the Vercel and Cloudflare sections unless those set
 * their own (`vercel.buildDelayMs`, `vercel.aliasDelayMs`, `cloudflare.healthIntervalMs`).
 */
export interface Timings {
  /** Vercel: QUEUED → BUILDING → READY takes this long. */
  buildMs: number;
  /** Vercel: a promote or rollback stays pending/in-progress this long. */
  aliasMs: number;
  /** Cloudflare: how often every monitored pool origin is probed. */
  healthCheckIntervalMs: number;
}

export interface TrafficScenario {
  /** Requests per second to the production URL (0 = off). */
  rate: number;
  paths: string[];
  /** Requests in flight at most; extra ticks are skipped, so the stream stays bounded. */
  maxInFlight: number;
  timeoutMs: number;
}

export interface Scenario {
  name: string;
  description: string;
  repo: RepoScenario;
  run: RunScenario;
  github: GithubScenario;
  vercel: VercelScenario;
  cloudflare: CloudflareScenario;
  datadog: DatadogScenario;
  slack: SlackScenario;
  s3: S3Scenario;
  postgres: PostgresScenario;
  dependencies: DependencyScenario[];
  /** App version the run deploys: a directory under sandbox/app/. */
  deploy: { version: string };
  /** Extra action inputs by input name (`step-duration: 2s`); `{{KEY}}` is replaced by an env value. */
  inputs: Record<string, string>;
  timings: Timings;
  traffic: TrafficScenario;
  faults: FaultRule[];
}

const TOP_LEVEL = new Set([
  'name',
  'description',
  'extends',
  'repo',
  'run',
  'github',
  'vercel',
  'cloudflare',
  'datadog',
  'slack',
  's3',
  'postgres',
  'dependencies',
  'deploy',
  'inputs',
  'timings',
  'traffic',
  'faults',
]);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge: objects merge key by key, anything else (arrays included) is replaced by the override. */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (override === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) out[k] = deepMerge(base[k], v);
  return out;
}

/** Resolve a scenario reference: a name under sandbox/scenarios, or a path (relative to `fromDir`). */
export function resolveScenarioFile(ref: string, fromDir = process.cwd()): string {
  const looksLikePath = ref.includes('/') || ref.includes('\\') || /\.(ya?ml|json)$/i.test(ref);
  if (looksLikePath) {
    const p = path.resolve(fromDir, ref);
    if (!fs.existsSync(p)) throw new Error(`scenario file not found: ${p}`);
    return p;
  }
  for (const ext of ['.yaml', '.yml', '.json']) {
    const p = path.join(SCENARIO_DIR, ref + ext);
    if (fs.existsSync(p)) return p;
  }
  const known = fs.existsSync(SCENARIO_DIR)
    ? fs
        .readdirSync(SCENARIO_DIR)
        .filter((f) => /\.(ya?ml|json)$/.test(f))
        .map((f) => f.replace(/\.(ya?ml|json)$/, ''))
    : [];
  throw new Error(`unknown scenario "${ref}"; known: ${known.join(', ') || 'none'}`);
}

function readRaw(file: string): Record<string, unknown> {
  const text = fs.readFileSync(file, 'utf8');
  const data: unknown = file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  if (!isPlainObject(data)) throw new Error(`${file}: a scenario must be a mapping`);
  for (const k of Object.keys(data)) {
    if (!TOP_LEVEL.has(k))
      throw new Error(`${file}: unknown top-level key "${k}" (known: ${[...TOP_LEVEL].join(', ')})`);
  }
  return data;
}

function loadChain(file: string, seen: string[]): Record<string, unknown> {
  if (seen.includes(file)) throw new Error(`scenario extends itself: ${[...seen, file].join(' → ')}`);
  const raw = readRaw(file);
  const ext = raw.extends;
  const isDefault = path.resolve(file) === path.join(SCENARIO_DIR, 'default.yaml');
  let base: Record<string, unknown> = {};
  if (ext === 'none' || ext === null || isDefault) base = {};
  else
    base = loadChain(resolveScenarioFile(typeof ext === 'string' ? ext : 'default', path.dirname(file)), [
      ...seen,
      file,
    ]);
  const merged = deepMerge(base, raw) as Record<string, unknown>;
  delete merged.extends;
  return merged;
}

function need(cond: unknown, where: string, what: string): void {
  if (!cond) throw new Error(`scenario ${where}: ${what}`);
}

/** Check the fields the services rely on, so a typo fails at load time with the field's name. */
export function checkScenario(s: Scenario): Scenario {
  const n = s.name;
  need(isPlainObject(s.repo) && s.repo.owner && s.repo.name, n, 'repo.owner and repo.name are required');
  need(Array.isArray(s.repo.branches), n, 'repo.branches must be a list');
  need(Array.isArray(s.repo.commits), n, 'repo.commits must be a list (oldest first)');
  for (const c of s.repo.commits)
    need(/^[0-9a-f]{40}$/.test(c?.sha), n, `repo.commits: "${c?.sha}" is not a 40-hex sha`);
  need(isPlainObject(s.run) && /^[0-9a-f]{40}$/.test(s.run.sha), n, 'run.sha must be a 40-hex commit sha');
  need(isPlainObject(s.github) && typeof s.github.token === 'string', n, 'github.token is required');
  for (const k of ['pulls', 'checkRuns', 'statuses', 'deployments', 'comments'] as const)
    need(Array.isArray(s.github[k]), n, `github.${k} must be a list`);
  need(
    s.github.environments === undefined ||
      s.github.environments === 403 ||
      (Array.isArray(s.github.environments) && s.github.environments.every((e) => typeof e?.name === 'string')),
    n,
    'github.environments: a list of {name, protection_rules?, deployment_branch_policy?}, or 403',
  );
  for (const k of ['codeScanning', 'dependabot'] as const)
    need(
      Array.isArray(s.github[k]) || s.github[k] === 403 || s.github[k] === 404,
      n,
      `github.${k}: a list, 403 or 404`,
    );
  need(['traffic', 'scripted'].includes(s.datadog?.metrics), n, 'datadog.metrics: traffic or scripted');
  need(Array.isArray(s.datadog.queries) && Array.isArray(s.datadog.monitors), n, 'datadog.queries/monitors: lists');
  need(s.datadog.bucketSeconds > 0, n, 'datadog.bucketSeconds must be > 0');
  need(
    s.datadog.ingestionDelayMs === undefined || s.datadog.ingestionDelayMs >= 0,
    n,
    'datadog.ingestionDelayMs must be ≥ 0',
  );
  need(
    s.datadog.gates === undefined ||
      (Array.isArray(s.datadog.gates) &&
        s.datadog.gates.every((g) => g && g.service && g.env && Array.isArray(g.rules))),
    n,
    'datadog.gates: a list of {service, env, rules: [...]}',
  );
  need(isPlainObject(s.slack) && s.slack.channel && s.slack.channelId, n, 'slack.channel and slack.channelId');
  need(isPlainObject(s.s3) && s.s3.bucket && Array.isArray(s.s3.objects), n, 's3.bucket and s3.objects');
  need(isPlainObject(s.postgres) && Array.isArray(s.postgres.seed), n, 'postgres.seed must be a list');
  need(
    isPlainObject(s.deploy) && typeof s.deploy.version === 'string',
    n,
    'deploy.version (a directory of sandbox/app)',
  );
  need(isPlainObject(s.timings), n, 'timings must be a mapping');
  for (const [k, v] of Object.entries(s.timings)) {
    need(['buildMs', 'aliasMs', 'healthCheckIntervalMs'].includes(k), n, `timings.${k}: unknown timing`);
    need(typeof v === 'number' && v >= 0 && v <= 60_000, n, `timings.${k}: milliseconds between 0 and 60000`);
  }
  need(isPlainObject(s.vercel ?? {}) && isPlainObject(s.cloudflare ?? {}), n, 'vercel and cloudflare must be mappings');
  need(isPlainObject(s.traffic) && s.traffic.rate >= 0 && s.traffic.rate <= 200, n, 'traffic.rate: 0–200 req/s');
  need(Array.isArray(s.faults), n, 'faults must be a list');
  for (const [i, f] of s.faults.entries())
    need(isPlainObject(f) && typeof f.service === 'string', n, `faults[${i}].service`);
  need(isPlainObject(s.inputs), n, 'inputs must be a mapping');
  for (const [k, v] of Object.entries(s.inputs)) need(typeof v === 'string', n, `inputs.${k} must be a string`);
  return s;
}

/** Load a scenario by name (sandbox/scenarios/NAME.yaml) or path, with its `extends` chain merged in. */
export function loadScenario(ref: string): Scenario {
  const file = resolveScenarioFile(ref);
  const merged = loadChain(file, []);
  // The name is the leaf file's own `name`, else its base name (never inherited from `default`).
  const own = readRaw(file).name;
  merged.name = typeof own === 'string' && own ? own : path.basename(file).replace(/\.(ya?ml|json)$/i, '');
  return checkScenario(merged as unknown as Scenario);
}

/** A scenario given as an object (tests): merged over `default` unless `extends: 'none'`. */
export function scenarioFrom(override: Record<string, unknown>): Scenario {
  const ext = override.extends;
  const base = ext === 'none' ? {} : loadChain(resolveScenarioFile(typeof ext === 'string' ? ext : 'default'), []);
  const merged = deepMerge(base, override) as Record<string, unknown>;
  delete merged.extends;
  if (typeof override.name !== 'string') merged.name = `${String(base.name ?? 'inline')}+inline`;
  return checkScenario(merged as unknown as Scenario);
}
