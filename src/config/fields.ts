/**
 * The fixed vocabulary of the interface (README.md, "Inputs"): modes, strategies, defaults, the
 * environment variables that stand in for inputs and service selectors, and small parser adapters
 * shared by the sections.
 */
import type {
  GateErrorPolicy,
  InsufficientDataPolicy,
  Mode,
  NoDataPolicy,
  Strategy,
  TrafficManagerKind,
  VersionIdentity,
} from './types.js';
import { DURATION_ACCEPTS, parseDuration } from './duration.js';
import { fail } from './errors.js';
import { parseList } from './list.js';
import { parseUrl } from './scalars.js';

export const MODES: readonly Mode[] = ['deploy', 'rollback', 'plan'];
export const STRATEGIES: readonly Strategy[] = ['blue-green', 'canary', 'immediate'];
export const TRAFFIC_MANAGERS: readonly TrafficManagerKind[] = ['cloudflare', 'vercel'];
export const NO_DATA_POLICIES: readonly NoDataPolicy[] = ['warn', 'fail', 'inconclusive'];
export const INSUFFICIENT_DATA_POLICIES: readonly InsufficientDataPolicy[] = ['rollback', 'fail'];
export const VERSION_IDENTITIES: readonly VersionIdentity[] = ['sha', 'short-sha', 'deployment-id'];
export const GATE_ERROR_POLICIES: readonly GateErrorPolicy[] = ['fail', 'pass'];

/** Every input of action.yml, in its order (a test keeps the two in step). */
export const INPUT_NAMES = [
  'mode',
  'strategy',
  'environment',
  'branch',
  'github-token',
  'production-url',
  'allowed-branches',
  'require-branch-protection',
  'required-approvals',
  'required-checks',
  'checks-timeout',
  'security-block-severity',
  'benchmark-results',
  'benchmark-thresholds',
  'backup-command',
  'backup-bucket',
  'backup-prefix',
  'backup-endpoint',
  'aws-region',
  'backup-max-age',
  'required-env',
  'config-files',
  'dependency-urls',
  'datadog-monitor-tags',
  'vercel-token',
  'vercel-project-id',
  'vercel-team-id',
  'working-directory',
  'prebuilt',
  'vercel-protection-bypass',
  'health-check-path',
  'health-check-timeout',
  'version-header',
  'version-path',
  'smoke-tests',
  'smoke-samples',
  'performance-threshold-ms',
  'traffic-manager',
  'cloudflare-api-token',
  'cloudflare-account-id',
  'cloudflare-zone-id',
  'cloudflare-load-balancer-id',
  'cloudflare-pools',
  'allow-session-affinity',
  'traffic-steps',
  'step-duration',
  'datadog-api-key',
  'datadog-app-key',
  'datadog-site',
  'error-rate-query',
  'latency-query',
  'request-count-query',
  'error-count-query',
  'version-identity',
  'comparison-margin',
  'relative-margin',
  'min-requests',
  'insufficient-data',
  'evaluation-delay',
  'deployment-gate',
  'deployment-gate-on-error',
  'deployment-gate-timeout',
  'datadog-service',
  'error-rate-threshold',
  'validation-window',
  'validation-interval',
  'failure-limit',
  'no-data',
  'rollback-window',
  'rollback-timeout',
  'keep-deployments',
  'slack-token',
  'slack-channel',
  'pr-comment',
  'rollback-to',
  'reason',
] as const;

export type InputName = (typeof INPUT_NAMES)[number];

/** Inputs whose default comes from an environment variable (input, else variable, else default). */
export const SEED_ENV: Partial<Record<InputName, string>> = {
  'health-check-timeout': 'HEALTH_CHECK_TIMEOUT',
  'performance-threshold-ms': 'PERFORMANCE_THRESHOLD_MS',
  'error-rate-threshold': 'ERROR_RATE_THRESHOLD',
  'rollback-timeout': 'ROLLBACK_TIMEOUT',
  'traffic-manager': 'TRAFFIC_MANAGER',
};

/**
 * Environment variables that select a service: each accepts only the one service this action implements,
 * so a workflow written for another platform fails when the inputs are read, not halfway through a deploy.
 */
export const SELECTORS: Readonly<Record<string, string>> = {
  DEPLOY_PLATFORM: 'vercel',
  MONITORING_SERVICE: 'datadog',
  BACKUP_SERVICE: 'aws-s3',
  NOTIFICATION_SERVICE: 'slack',
};

/** Default endpoints, overridable through the environment so tests and the sandbox need no special path. */
export const ENDPOINTS = {
  VERCEL_API_URL: 'https://api.vercel.com',
  CLOUDFLARE_BASE_URL: 'https://api.cloudflare.com/client/v4',
  SLACK_API_URL: 'https://slack.com/api',
} as const;

/** A duration parser with a lower bound (`minMs` 1 means "above zero"). */
export function durationAtLeast(minMs: number): (raw: string, input: string) => number {
  return (raw, input) => {
    const ms = parseDuration(raw, input);
    if (ms < minMs) fail(input, raw, `${DURATION_ACCEPTS}; ${minMs === 1 ? 'above 0' : `at least ${minMs}ms`}`);
    return ms;
  };
}

/** A list of http(s) URLs. */
export function parseUrlList(raw: string, input: string): string[] {
  return parseList(raw).map((u) => parseUrl(u, input));
}

/** `required-checks`: `all`, `none` (→ `[]`), or a list of check names. */
export function parseRequiredChecks(raw: string): 'all' | string[] {
  const items = parseList(raw);
  if (items.length === 1 && items[0]!.toLowerCase() === 'all') return 'all';
  if (items.length === 1 && items[0]!.toLowerCase() === 'none') return [];
  return items;
}

/** An S3 bucket name (S3, R2 and MinIO share these rules). */
export function parseBucket(raw: string, input: string): string {
  const text = raw.trim();
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(text) || text.includes('..')) {
    fail(input, raw, 'an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens)');
  }
  return text;
}

/** Free text on the records (`reason`): at most 1000 characters. */
export function parseReason(raw: string, input: string): string {
  const text = raw.trim();
  // eslint-disable-next-line no-control-regex
  if (text.length > 1000 || /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) {
    fail(input, raw, 'text of at most 1000 characters without control characters');
  }
  return text;
}

/** Non-empty text without control characters other than tab and line breaks (queries, commands). */
export function parseText(what: string): (raw: string, input: string) => string {
  return (raw, input) => {
    const text = raw.trim();
    // eslint-disable-next-line no-control-regex
    if (text === '' || /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) fail(input, raw, what);
    return text;
  };
}
