/**
 * The one typed configuration of a run. `parseConfig` (src/config/index.ts) builds it from the
 * action's inputs and the runner's environment; nothing else in src/ reads inputs or process.env.
 * All durations are milliseconds. All URLs are absolute strings without a trailing slash.
 */

export type Mode = 'deploy' | 'rollback' | 'plan';
export type Strategy = 'blue-green' | 'canary' | 'immediate';
export type TrafficManagerKind = 'cloudflare' | 'vercel';
export type NoDataPolicy = 'warn' | 'fail' | 'inconclusive';
/** Too few requests per release once the step was extended to its limit: roll back, or stop and fail the job. */
export type InsufficientDataPolicy = 'rollback' | 'fail';
/** How the app names its release in Datadog's `version` tag (what `{{version}}` becomes). */
export type VersionIdentity = 'sha' | 'short-sha' | 'deployment-id';
/** What a Deployment Gate that cannot answer (error, timeout, not found) counts as. */
export type GateErrorPolicy = 'fail' | 'pass';

/** A Datadog Deployment Gate evaluated after the final switch (`deployment-gate`). */
export interface DeploymentGateConfig {
  /** The gate's `identifier` (Datadog's default gate is `default`). */
  identifier: string;
  /** `fail` (default): a gate that cannot answer is a failed gate; `pass`: the user chose to fail open. */
  onError: GateErrorPolicy;
  /** How long the evaluation may take, polls included, before it counts as an error. */
  timeoutMs: number;
}
export type Severity = 'critical' | 'high' | 'medium' | 'low';

/** `NAME<=VALUE` or `NAME>=VALUE` from `benchmark-thresholds`. */
export interface BenchmarkThreshold {
  name: string;
  op: '<=' | '>=';
  value: number;
}

/** One smoke check from `smoke-tests` (file or inline YAML), with defaults applied. */
export interface SmokeCheck {
  name: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  /** Sent as is; an object/array in YAML is sent as JSON with content-type application/json. */
  body?: string;
  /** Expected HTTP status (default 200). */
  status: number;
  /** Substrings the body must contain. */
  contains: string[];
  /** JSON pointer (RFC 6901, e.g. `/status`) → expected value (deep equality). */
  json: Record<string, unknown>;
  /** p95 latency budget for this check; falls back to `smoke.performanceThresholdMs`. */
  maxMs?: number;
}

/** The workflow run (GitHub context), read once from the runner's environment and the event payload. */
export interface WorkflowRun {
  /** `GITHUB_API_URL`, default https://api.github.com */
  apiUrl: string;
  /** `GITHUB_SERVER_URL`, default https://github.com */
  serverUrl: string;
  owner: string;
  repo: string;
  sha: string;
  /**
   * The commit whose reviews and checks pre-flight judges: the PR's head commit for `pull_request`
   * events (their `GITHUB_SHA` is a test-merge commit that carries no checks), else `sha`.
   */
  reviewSha?: string;
  /** `GITHUB_REF`, e.g. refs/heads/main */
  ref: string;
  eventName: string;
  /** The parsed `GITHUB_EVENT_PATH` payload ({} when absent). */
  event: Record<string, unknown>;
  runId: string;
  runAttempt: number;
  /** `GITHUB_JOB`, used to exclude this job's own check run. */
  job: string;
  actor: string;
  workflow: string;
  /** `${serverUrl}/${owner}/${repo}/actions/runs/${runId}` */
  runUrl: string;
  /** `RUNNER_TEMP`, default os.tmpdir() */
  runnerTemp: string;
}

export interface BackupConfig {
  /** Shell command whose stdout is the backup; absent → only `maxAgeMs` is checked. */
  command?: string;
  bucket: string;
  /** With `{repo}` and `{environment}` already substituted; ends with `/`. */
  prefix: string;
  /** `backup-endpoint` or `AWS_ENDPOINT_URL_S3`; absent → AWS. */
  endpoint?: string;
  region: string;
  maxAgeMs?: number;
}

export interface CloudflareConfig {
  apiToken: string;
  accountId: string;
  zoneId: string;
  loadBalancerId: string;
  /** Exactly two pool ids: the two slots. Which is live is read, never assumed. */
  pools: [string, string];
  /** `CLOUDFLARE_BASE_URL`, default https://api.cloudflare.com/client/v4 */
  baseUrl: string;
  /**
   * `allow-session-affinity`: a load balancer with session affinity is accepted; a restore then
   * disables green's origins so pinned visitors leave it (README, "Affinity, rules, monitors").
   */
  allowSessionAffinity: boolean;
}

export interface DatadogConfig {
  apiKey: string;
  appKey?: string;
  /** From `datadog-site`: a site name becomes https://api.<site>; a full URL is used as is. */
  baseUrl: string;
}

export interface SlackConfig {
  token: string;
  channel: string;
  /** `SLACK_API_URL`, default https://slack.com/api (no trailing slash). */
  apiUrl: string;
}

export interface Config {
  mode: Mode;
  strategy: Strategy;
  environment: string;
  /** Branch being deployed: the input, else the triggering ref's branch. */
  branch: string;
  githubToken: string;
  /** Required for deploy and rollback. */
  productionUrl?: string;
  run: WorkflowRun;

  preflight: {
    allowedBranches: string[];
    requireBranchProtection: boolean;
    requiredApprovals: number;
    /** 'all' or the list of check names that must have succeeded. */
    requiredChecks: 'all' | string[];
    checksTimeoutMs: number;
    /** Empty = `none` (security gate disabled). */
    securityBlockSeverities: Severity[];
    benchmarkResults?: string;
    benchmarkThresholds: BenchmarkThreshold[];
  };

  prepare: {
    backup?: BackupConfig;
    requiredEnv: string[];
    configFiles: string[];
    dependencyUrls: string[];
    datadogMonitorTags: string[];
  };

  vercel: {
    /** Required for every mode. */
    token: string;
    projectId: string;
    teamId?: string;
    /** Absolute path. */
    workingDirectory: string;
    prebuilt: boolean;
    protectionBypass?: string;
    healthCheckPath: string;
    healthCheckTimeoutMs: number;
    /** Response header the app sends naming its release (`version-header`, default `x-app-version`). */
    versionHeader: string;
    /** Path whose body names the release (`version-path`); when set, answers are attributed by it. */
    versionPath?: string;
    /** `VERCEL_API_URL`, default https://api.vercel.com */
    apiUrl: string;
  };

  smoke: {
    checks: SmokeCheck[];
    samples: number;
    performanceThresholdMs: number;
  };

  traffic: {
    manager: TrafficManagerKind;
    cloudflare?: CloudflareConfig;
    /** Green's share after each step, percent, ascending, ending at 100. */
    steps: number[];
    stepDurationMs: number;
  };

  validation: {
    datadog?: DatadogConfig;
    /** Each query may hold `{{version}}`: replaced by the release's version (`versionIdentity`). */
    errorRateQuery?: string;
    latencyQuery?: string;
    /** Requests served in a window (a count query, e.g. `sum:…hits{…,version:{{version}}}.as_count()`). */
    requestCountQuery?: string;
    /** Failed requests in a window; goes with `requestCountQuery`. */
    errorCountQuery?: string;
    versionIdentity: VersionIdentity;
    /** One-sided practical margin (absolute error ratio) green may exceed blue by before it is worse. */
    comparisonMargin: number;
    /** The margin is at most this fraction of blue's error rate; 0: no relative cap. */
    relativeMargin: number;
    /** Requests each release must have served in a window before it is judged. */
    minRequests: number;
    insufficientData: InsufficientDataPolicy;
    /** Each sample asks about a window that ended this long ago (Datadog's data arrives late). */
    evaluationDelayMs: number;
    /** The Datadog service of the app (`datadog-service`); unset: a `service:` monitor tag, else the repository. */
    datadogService?: string;
    /** A Deployment Gate evaluated with green's `version` after the final switch (`deployment-gate`). */
    gate?: DeploymentGateConfig;
    errorRateThreshold: number;
    /** Applies to all three gates (smoke p95 default and post-deploy latency). */
    performanceThresholdMs: number;
    windowMs: number;
    intervalMs: number;
    failureLimit: number;
    noData: NoDataPolicy;
    /** For `immediate`: how long blue stays ready and production is watched. */
    rollbackWindowMs: number;
    rollbackTimeoutMs: number;
  };

  cleanup: {
    keepDeployments: number;
    slack?: SlackConfig;
    prComment: boolean;
  };

  rollback: {
    /** 'previous', a Vercel deployment id (dpl_…), a commit SHA, or a GitHub deployment id. */
    to: string;
    reason?: string;
  };

  /** Every secret value registered with core.setSecret (and its encoded forms); for redaction. */
  secrets: string[];

  /**
   * Input combinations that are valid but probably not what the user meant (e.g. `backup-bucket`
   * without `backup-command` or `backup-max-age`); main logs each with core.warning.
   */
  warnings?: string[];
}
