/** Sections 6–7 and rollback: post-deploy validation, cleanup and notification, the rollback target. */
import type { Config, DatadogConfig } from './types.js';
import { formatDuration } from './duration.js';
import { describeValue } from './errors.js';
import { NO_DATA_POLICIES, durationAtLeast, parseReason, parseText } from './fields.js';
import { parseBoolean, parseEnum, parseInteger, parseRatio } from './scalars.js';
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
  const validation: Config['validation'] = {
    errorRateThreshold: r.value('error-rate-threshold', parseRatio, 0.01, 'ERROR_RATE_THRESHOLD'),
    performanceThresholdMs,
    windowMs: r.value('validation-window', durationAtLeast(0), 300_000),
    intervalMs: r.value('validation-interval', durationAtLeast(1), 30_000),
    failureLimit: r.value('failure-limit', (raw, i) => parseInteger(raw, i, { min: 0, max: 10_000 }), 0),
    noData: r.value('no-data', (raw, i) => parseEnum(raw, i, NO_DATA_POLICIES), 'warn'),
    rollbackWindowMs: 0,
    rollbackTimeoutMs: 0,
  };
  validation.rollbackWindowMs = r.value('rollback-window', durationAtLeast(0), validation.windowMs);
  validation.rollbackTimeoutMs = r.value('rollback-timeout', durationAtLeast(1), 600_000, 'ROLLBACK_TIMEOUT');
  if (errorRateQuery !== undefined) validation.errorRateQuery = errorRateQuery;
  if (latencyQuery !== undefined) validation.latencyQuery = latencyQuery;

  // Reading queries and monitors needs both keys; posting events needs the API key only.
  const needKeys = ['error-rate-query', 'latency-query', 'datadog-monitor-tags'].filter((n) => r.has(n));
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
