/** Sections 6–7 and rollback: post-deploy validation, cleanup and notification, the rollback target. */
import type { Config, DatadogConfig, GateErrorPolicy } from './types.js';
import { formatDuration } from './duration.js';
import { describeValue } from './errors.js';
import {
  GATE_ERROR_POLICIES,
  INSUFFICIENT_DATA_POLICIES,
  NO_DATA_POLICIES,
  VERSION_IDENTITIES,
  durationAtLeast,
  parseReason,
  parseText,
} from './fields.js';
import { parseBoolean, parseEnum, parseInteger, parseNumber, parseRatio } from './scalars.js';
import { endpoint } from './sections-deploy.js';
import type { SectionContext } from './sections-pre.js';
import type { Reader } from './source.js';
import { parseDatadogSite, parseIdentifier, parseRollbackTo } from './values.js';

/** Section 6: post-deployment validation (Datadog) and the rollback budget. */
export function readValidation(r: Reader, ctx: SectionContext, performanceThresholdMs: number): Config['validation'] {
  const apiKey = r.secret('datadog-api-key');
  const appKey = r.secret('datadog-app-key');
  const baseUrl = r.value('datadog-site', parseDatadogSite, 'https://api.datadoghq.com');
  const query = parseText('a Datadog metrics query');
  const errorRateQuery = r.optional('error-rate-query', query);
  const latencyQuery = r.optional('latency-query', query);
  const requestCountQuery = r.optional('request-count-query', query);
  const errorCountQuery = r.optional('error-count-query', query);
  const validation: Config['validation'] = {
    errorRateThreshold: r.value('error-rate-threshold', parseRatio, 0.01, 'ERROR_RATE_THRESHOLD'),
    performanceThresholdMs,
    windowMs: r.value('validation-window', durationAtLeast(0), 300_000),
    intervalMs: r.value('validation-interval', durationAtLeast(1), 30_000),
    failureLimit: r.value('failure-limit', (raw, i) => parseInteger(raw, i, { min: 0, max: 10_000 }), 0),
    noData: r.value('no-data', (raw, i) => parseEnum(raw, i, NO_DATA_POLICIES), 'inconclusive'),
    versionIdentity: r.value('version-identity', (raw, i) => parseEnum(raw, i, VERSION_IDENTITIES), 'sha'),
    comparisonMargin: r.value('comparison-margin', parseRatio, 0.02),
    relativeMargin: r.value('relative-margin', (raw, i) => parseNumber(raw, i, { min: 0, max: 100 }), 0.25),
    minRequests: r.value('min-requests', (raw, i) => parseInteger(raw, i, { min: 1, max: 10_000_000 }), 200),
    insufficientData: r.value(
      'insufficient-data',
      (raw, i) => parseEnum(raw, i, INSUFFICIENT_DATA_POLICIES),
      'rollback',
    ),
    evaluationDelayMs: r.value('evaluation-delay', durationAtLeast(0), 60_000),
    rollbackWindowMs: 0,
    rollbackTimeoutMs: 0,
  };
  validation.rollbackWindowMs = r.value('rollback-window', durationAtLeast(0), validation.windowMs);
  validation.rollbackTimeoutMs = r.value('rollback-timeout', durationAtLeast(1), 600_000, 'ROLLBACK_TIMEOUT');
  if (errorRateQuery !== undefined) validation.errorRateQuery = errorRateQuery;
  if (latencyQuery !== undefined) validation.latencyQuery = latencyQuery;
  if (requestCountQuery !== undefined) validation.requestCountQuery = requestCountQuery;
  if (errorCountQuery !== undefined) validation.errorCountQuery = errorCountQuery;
  checkCountQueries(r);
  readGate(r, validation);

  // Reading queries and monitors needs both keys; posting events needs the API key only.
  const needKeys = [
    'error-rate-query',
    'latency-query',
    'request-count-query',
    'error-count-query',
    'datadog-monitor-tags',
    'deployment-gate',
  ].filter((n) => r.has(n));
  if (needKeys.length > 0) {
    r.require('datadog-api-key', `a Datadog API key; required by ${needKeys.join(', ')}`);
    r.require('datadog-app-key', `a Datadog application key; required by ${needKeys.join(', ')}`);
  } else if (appKey !== '') {
    r.require('datadog-api-key', 'a Datadog API key; required with datadog-app-key');
  }
  if (apiKey !== '' && !r.failed('datadog-site')) {
    const datadog: DatadogConfig = { apiKey, baseUrl };
    if (appKey !== '') datadog.appKey = appKey;
    validation.datadog = datadog;
  }

  if (!r.failed('validation-window', 'validation-interval')) {
    const { windowMs, intervalMs } = validation;
    if (windowMs > 0 && intervalMs > windowMs) {
      r.problem(
        'validation-interval',
        `${describeValue(formatDuration(intervalMs))}, longer than validation-window (${formatDuration(windowMs)})`,
        'a duration no longer than validation-window',
      );
    }
  }
  if (ctx.strategy === 'immediate' && r.has('rollback-window') && !r.failed('rollback-window', 'validation-interval')) {
    const { rollbackWindowMs, intervalMs } = validation;
    if (rollbackWindowMs > 0 && intervalMs > rollbackWindowMs) {
      r.problem(
        'rollback-window',
        `${describeValue(formatDuration(rollbackWindowMs))}, shorter than validation-interval (${formatDuration(intervalMs)})`,
        'with strategy: immediate, a duration at least as long as validation-interval',
      );
    }
  }
  return validation;
}

/**
 * `deployment-gate` and its settings, and `datadog-service` (the service a gate is keyed by, with
 * `environment`). A gate is evaluated fail-closed: `deployment-gate-on-error: pass` is the user's
 * explicit choice to let a gate that cannot answer count as passed.
 */
function readGate(r: Reader, validation: Config['validation']): void {
  const service = r.optional('datadog-service', (raw, i) =>
    parseIdentifier(raw, i, 'a Datadog service name, as the app reports it (service:<name>)'),
  );
  if (service !== undefined) validation.datadogService = service;
  const identifier = r.optional('deployment-gate', (raw, i) =>
    parseIdentifier(raw, i, 'a Datadog Deployment Gate identifier (Datadog names its first gate default)'),
  );
  const onError = r.value(
    'deployment-gate-on-error',
    (raw, i) => parseEnum(raw, i, GATE_ERROR_POLICIES),
    'fail' as GateErrorPolicy,
  );
  const timeoutMs = r.value('deployment-gate-timeout', durationAtLeast(1_000), 1_800_000);
  if (identifier !== undefined) validation.gate = { identifier, onError, timeoutMs };
}

/** The placeholder a release-scoped query names its release with. */
export const VERSION_PLACEHOLDER = '{{version}}';

/**
 * The two count queries go together, and both scope a release or neither does: green is compared
 * with blue only when each count can be asked of each release. A placeholder spelled otherwise
 * (`{{ version }}`, `{{VERSION}}`) is refused rather than sent to Datadog as a tag that matches nothing.
 */
function checkCountQueries(r: Reader): void {
  const queries = ['error-rate-query', 'latency-query', 'request-count-query', 'error-count-query'] as const;
  for (const name of queries) {
    if (!r.has(name) || r.failed(name)) continue;
    const raw = r.input(name);
    const stray = /\{\{(?!version\}\})[^}]*\}\}/.exec(raw);
    if (stray) {
      r.problem(
        name,
        `a query with ${describeValue(stray[0])}`,
        `a Datadog query; the only placeholder is ${VERSION_PLACEHOLDER}`,
      );
    }
  }
  const requests = r.has('request-count-query');
  const errors = r.has('error-count-query');
  if (requests && !errors)
    r.require('error-count-query', 'a Datadog count query of failed requests; required with request-count-query');
  if (errors && !requests)
    r.require('request-count-query', 'a Datadog count query of requests; required with error-count-query');
  if (requests && errors && !r.failed('request-count-query', 'error-count-query')) {
    const scoped = [r.input('request-count-query'), r.input('error-count-query')].map((q) =>
      q.includes(VERSION_PLACEHOLDER),
    );
    if (scoped[0] !== scoped[1]) {
      r.problem(
        'error-count-query',
        scoped[1]
          ? `scoped with ${VERSION_PLACEHOLDER} while request-count-query is not`
          : `not scoped with ${VERSION_PLACEHOLDER} while request-count-query is`,
        `both count queries scoped to the release with ${VERSION_PLACEHOLDER}, or neither`,
      );
    }
  }
}

/** Section 7: cleanup and notification. */
export function readCleanup(r: Reader): Config['cleanup'] {
  const cleanup: Config['cleanup'] = {
    keepDeployments: r.value('keep-deployments', (raw, i) => parseInteger(raw, i, { min: 0, max: 1000 }), 0),
    prComment: true,
  };
  const token = r.secret('slack-token');
  const channel = r.optional('slack-channel', (raw, i) =>
    parseIdentifier(raw, i, 'a Slack channel id (C0123…) or name (#deploys)'),
  );
  if (token !== '') r.require('slack-channel', 'a Slack channel id or name; required with slack-token');
  if (r.has('slack-channel')) r.require('slack-token', 'a Slack bot token; required with slack-channel');
  if (token !== '' && channel !== undefined && !r.failed('slack-token')) {
    cleanup.slack = { token, channel, apiUrl: endpoint(r, 'SLACK_API_URL') };
  }
  cleanup.prComment = r.value('pr-comment', (raw, i) => parseBoolean(raw, i, true), true);
  return cleanup;
}

/** Rollback mode: the target and the reason recorded with it. */
export function readRollback(r: Reader): Config['rollback'] {
  const rollback: Config['rollback'] = { to: r.value('rollback-to', parseRollbackTo, 'previous') };
  const reason = r.optional('reason', parseReason);
  if (reason !== undefined) rollback.reason = reason;
  return rollback;
}
