/**
 * Watching production: the one routine behind canary holds (the traffic step), post-deployment
 * validation and the watch after a rollback. Every watch of a run adds to the run's one analysis
 * (`RunServices.analysis`), so `failure-limit` counts breaching samples across the whole rollout,
 * and the report's chart shows every sample of the run, each with green's share.
 */
import { summarize } from '../analysis/analysis.js';
import { formatRatio, formatSpan } from '../analysis/format.js';
import { policyFromConfig } from '../analysis/policy.js';
import type { AnalysisPolicy, AnalysisState, Decision, Sample } from '../analysis/types.js';
import type { Config } from '../config/types.js';
import type { CheckResult, Logger } from '../pipeline/types.js';
import type { Datadog } from '../providers/index.js';
import type { DeploymentRef } from '../pipeline/types.js';
import { DEFAULT_MAX_HOLD_FACTOR } from '../analysis/counts.js';
import { VERSION_PLACEHOLDER } from '../config/sections-post.js';
import { samplesMarkdown } from '../surfaces/chart.js';
import { hasSignals, sampleWindow, type CountSignals, type MetricsSource, type Signals } from './sampler.js';
import { formatMs } from '../text.js';

/** What a watch needs of the run: its core, the run's Datadog adapter and the run's analysis. */
export interface WatchContext {
  config: Config;
  log: Logger;
  signal: AbortSignal;
  analysis: AnalysisState;
  providers: { datadog?: Datadog | undefined };
}

/** What watching production concluded. */
export type Watch =
  /** Nothing could be watched (no Datadog, no signal): said in `skip`, never a pass. */
  | { watched: false; skip: string }
  | {
      watched: true;
      /** `continue`: the window passed; otherwise the terminal decision (breach, unobservable, no data). */
      decision: Decision;
      /** Samples of this watch (the run's analysis keeps every sample of the run). */
      samples: Sample[];
      /** Samples, totals, thresholds and verdict of the run so far, for the report. */
      details: Record<string, unknown>;
      /** One check per signal and one for observability, over the run so far. */
      checks: CheckResult[];
      /** The samples chart for the job summary. */
      markdown: string;
    };

/**
 * Watch production for `durationMs`, a sample every `validation-interval`, adding to `analysis`.
 * Resolves early on the first terminal decision; rejects only when the run is cancelled.
 */
export async function watchProduction(
  run: WatchContext,
  opts: {
    durationMs: number;
    share: number;
    heading: string;
    onStart?: () => void;
    /** The releases a `{{version}}` query is asked about: green (the one judged) and blue (its control). */
    releases?: { green?: DeploymentRef | undefined; blue?: DeploymentRef | undefined };
    /** `concurrent` while both serve; `baseline` after 100 % (blue's window before the switch); `none`. */
    control?: 'concurrent' | 'baseline' | 'none';
    /** The watch needs positive evidence to end (the last canary step, and every watch at 100 %). */
    requirePass?: boolean;
  },
): Promise<Watch> {
  const { config, log, signal, analysis } = run;
  const monitoring = monitoringOf(config, run.providers.datadog, opts.releases);
  if ('skip' in monitoring) return { watched: false, skip: monitoring.skip };
  const counts = countSignals(config, opts, log);
  // A query that cannot be asked of the release is not watched, and that is never a pass.
  const unaskable = monitoring.unaskable ?? (counts && 'skip' in counts ? counts.skip : undefined);
  if (unaskable) return cannotWatch(run, monitoring.policy, unaskable, opts.heading);
  if (counts && !('skip' in counts)) monitoring.signals.counts = counts;
  opts.onStart?.();
  const intervalMs = config.validation.intervalMs;
  const { decision, samples } = await sampleWindow({
    source: monitoring.source,
    signals: monitoring.signals,
    delayMs: config.validation.evaluationDelayMs,
    startMs: Date.now(),
    policy: monitoring.policy,
    analysis,
    durationMs: opts.durationMs,
    intervalMs,
    share: opts.share,
    signal,
    log,
    onSample: (s) => logSample(log, s),
  });
  const window = { durationMs: opts.durationMs, intervalMs };
  return {
    watched: true,
    decision,
    samples,
    details: analysisDetails(analysis, monitoring.policy, window),
    checks: analysisChecks(analysis, monitoring.policy, monitoring.signals),
    markdown: samplesMarkdown(
      analysis.samples,
      { errorRate: monitoring.policy.errorRateThreshold, latencyMs: monitoring.policy.latencyThresholdMs },
      opts.heading,
    ),
  };
}

/** What `{{version}}` becomes for a release: the `version` tag the app reports to Datadog. */
export function versionOf(config: Pick<Config, 'validation'>, release: DeploymentRef | undefined): string | undefined {
  if (!release) return undefined;
  switch (config.validation.versionIdentity) {
    case 'deployment-id':
      return release.id;
    case 'short-sha':
      return release.sha?.slice(0, 7);
    case 'sha':
      return release.sha;
  }
}

/** True when a query names the release it asks about. */
export function isScoped(query: string): boolean {
  return query.includes(VERSION_PLACEHOLDER);
}

/** The query asked of one release. */
export function forRelease(query: string, version: string): string {
  return query.split(VERSION_PLACEHOLDER).join(version);
}

/**
 * The signals the config asks to watch; a `{{version}}` query is asked of green (its version from
 * `releases`). A scoped query whose release is unknown is left out: `monitoringOf` refuses to watch.
 */
export function signalsOf(config: Config, releases?: { green?: DeploymentRef | undefined }): Signals {
  const v = config.validation;
  const green = versionOf(config, releases?.green);
  const scope = (q: string | undefined) => (q && isScoped(q) ? (green ? forRelease(q, green) : undefined) : q);
  const errorRateQuery = scope(v.errorRateQuery);
  const latencyQuery = scope(v.latencyQuery);
  return {
    ...(errorRateQuery ? { errorRateQuery } : {}),
    ...(latencyQuery ? { latencyQuery } : {}),
    monitorTags: config.prepare.datadogMonitorTags,
  };
}

/**
 * The count queries of a watch, or why they cannot be asked. Scoped queries need green's version;
 * a comparison needs blue's too — without it green is judged against the hard limit alone, said in
 * the log. Unscoped queries count production as a whole.
 */
function countSignals(
  config: Config,
  opts: Parameters<typeof watchProduction>[1],
  log: Logger,
): CountSignals | { skip: string } | undefined {
  const v = config.validation;
  if (!v.requestCountQuery || !v.errorCountQuery) return undefined;
  const control = opts.control ?? 'none';
  const common = {
    requirePass: opts.requirePass ?? true,
    maxHoldMs: opts.durationMs * DEFAULT_MAX_HOLD_FACTOR,
    // Blue's window before the switch is as long as the watch can get: the most evidence still recent.
    baselineMs: opts.durationMs * DEFAULT_MAX_HOLD_FACTOR,
  };
  const pair = (version?: string) => ({
    requests: version ? forRelease(v.requestCountQuery!, version) : v.requestCountQuery!,
    errors: version ? forRelease(v.errorCountQuery!, version) : v.errorCountQuery!,
  });
  if (!isScoped(v.requestCountQuery)) return { basis: 'production', green: pair(), ...common };
  const green = versionOf(config, opts.releases?.green);
  if (!green) {
    return {
      skip: `green's version (version-identity: ${v.versionIdentity}) is not known, so the {{version}} count queries cannot be asked`,
    };
  }
  const blue = control === 'none' ? undefined : versionOf(config, opts.releases?.blue);
  if (control !== 'none' && !blue) {
    log.warning(
      `blue's version (version-identity: ${v.versionIdentity}) is not known: green is judged against error-rate-threshold alone, without a comparison`,
    );
  }
  if (blue === green) {
    log.warning(`green and blue report the same version ${green}: green is judged against error-rate-threshold alone`);
    return { basis: 'none', green: pair(green), ...common };
  }
  // A `{{version}}` latency query is asked of blue too: green's percentile is judged against blue's.
  const blueLatency = blue && v.latencyQuery && isScoped(v.latencyQuery) ? forRelease(v.latencyQuery, blue) : undefined;
  return blue
    ? {
        basis: control === 'baseline' ? 'baseline' : 'concurrent',
        green: pair(green),
        blue: pair(blue),
        ...common,
        ...(blueLatency ? { blueLatency } : {}),
      }
    : { basis: 'none', green: pair(green), ...common };
}

/**
 * Where samples come from, or why there are none: Datadog must be configured and at least one
 * signal (a query or monitor tags) given.
 */
export function monitoringOf(
  config: Config,
  datadog: Datadog | undefined,
  releases?: { green?: DeploymentRef | undefined },
): { source: MetricsSource; signals: Signals; policy: AnalysisPolicy; unaskable?: string } | { skip: string } {
  if (!config.validation.datadog || !datadog) {
    return { skip: 'Datadog is not configured (datadog-api-key): production was not watched' };
  }
  const v = config.validation;
  const unscopable =
    [v.errorRateQuery, v.latencyQuery].some((q) => q && isScoped(q)) && !versionOf(config, releases?.green);
  const signals = signalsOf(config, releases);
  if (!hasSignals(signals) && !v.requestCountQuery) {
    return {
      skip: 'no error-rate-query, latency-query, request-count-query or datadog-monitor-tags is set: nothing to watch',
    };
  }
  return {
    source: datadog.sampler(config.validation.intervalMs),
    signals,
    policy: policyFromConfig(config),
    ...(unscopable
      ? {
          unaskable: `green's version (version-identity: ${v.versionIdentity}) is not known, so the {{version}} queries cannot be asked`,
        }
      : {}),
  };
}

/** A watch that cannot ask its queries: stop (inconclusive), never a pass. */
function cannotWatch(run: WatchContext, policy: AnalysisPolicy, why: string, heading: string): Watch {
  const decision = { kind: 'inconclusive' as const, reason: `inconclusive: ${why}` };
  run.analysis.decision ??= decision;
  return {
    watched: true,
    decision: run.analysis.decision,
    samples: [],
    details: analysisDetails(run.analysis, policy, { durationMs: 0, intervalMs: run.config.validation.intervalMs }),
    checks: [{ name: 'observability', status: 'fail', reason: why }],
    markdown: samplesMarkdown(
      run.analysis.samples,
      { errorRate: policy.errorRateThreshold, latencyMs: policy.latencyThresholdMs },
      heading,
    ),
  };
}

/** One log line per sample; breaches and errors as warnings. */
function logSample(log: Logger, s: Sample): void {
  const share = s.share === undefined ? '' : ` (green ${s.share}%)`;
  const line = `sample${share}: ${s.outcome} — ${s.reason}`;
  if (s.outcome === 'breach' || s.outcome === 'error') log.warning(line);
  else log.info(line);
}

function maxOf(values: (number | null)[]): number | undefined {
  const nums = values.filter((v): v is number => v !== null);
  return nums.length > 0 ? Math.max(...nums) : undefined;
}

/** One check per signal (measured maximum against threshold) and one for observability. */
function analysisChecks(a: AnalysisState, policy: AnalysisPolicy, signals: Signals): CheckResult[] {
  const checks: CheckResult[] = [];
  const signalCheck = (name: string, values: (number | null)[], threshold: number, fmt: (n: number) => string) => {
    const max = maxOf(values);
    const over = values.filter((v) => v !== null && v > threshold).length;
    if (max === undefined) {
      checks.push({ name, status: 'warn', reason: 'no value was measured' });
      return;
    }
    checks.push({
      name,
      status: over > policy.failureLimit ? 'fail' : over > 0 ? 'warn' : 'pass',
      reason: `max ${fmt(max)} ${max > threshold ? '>' : '≤'} ${fmt(threshold)}; ${over} of ${values.length} sample(s) above`,
    });
  };
  if (signals.errorRateQuery) {
    signalCheck(
      'error rate',
      a.samples.map((s) => s.errorRate),
      policy.errorRateThreshold,
      formatRatio,
    );
  }
  // Against blue, latency is part of the "green against blue" verdict (judged on its bound).
  if (signals.latencyQuery && !signals.counts?.blueLatency) {
    signalCheck(
      'latency',
      a.samples.map((s) => s.latencyMs),
      policy.latencyThresholdMs,
      formatMs,
    );
  }
  if (signals.counts) {
    const last = [...a.samples].reverse().find((s) => s.comparison !== undefined);
    const name = signals.counts.basis === 'production' ? 'error counts (production)' : 'green against blue';
    checks.push({
      name,
      status: !last ? 'warn' : last.step === 'rollback' ? 'fail' : last.step === 'advance' ? 'pass' : 'warn',
      reason: last?.comparison ?? 'no count was read',
    });
  }
  if (signals.monitorTags.length > 0) {
    const alerting = [...new Set(a.samples.flatMap((s) => s.alerting ?? []))];
    checks.push(
      alerting.length > 0
        ? { name: 'monitors', status: 'fail', reason: `in Alert: ${alerting.join(', ')}` }
        : { name: 'monitors', status: 'pass', reason: `no monitor tagged ${signals.monitorTags.join(', ')} in Alert` },
    );
  }
  const unobservable = a.decision?.kind === 'rollback' && a.decision.cause === 'unobservable';
  checks.push({
    name: 'observability',
    status: unobservable ? 'fail' : a.errors > 0 ? 'warn' : 'pass',
    reason: unobservable
      ? a.decision!.reason
      : a.errors > 0
        ? `${a.errors} query error(s), retried (limit ${policy.consecutiveErrorLimit} in a row)`
        : 'every query answered',
  });
  return checks;
}

/** The details every analysis outcome carries: the samples, totals and verdict. */
function analysisDetails(
  a: AnalysisState,
  policy: AnalysisPolicy,
  window: { durationMs: number; intervalMs: number },
): Record<string, unknown> {
  return {
    samples: a.samples,
    window: { ...window, text: `${formatSpan(window.durationMs)} every ${formatSpan(window.intervalMs)}` },
    thresholds: { errorRate: policy.errorRateThreshold, latencyMs: policy.latencyThresholdMs },
    failureLimit: policy.failureLimit,
    consecutiveErrorLimit: policy.consecutiveErrorLimit,
    noDataPolicy: policy.noData,
    breaches: a.breaches,
    queryErrors: a.errors,
    noData: a.noData,
    verdict: summarize(a, policy),
  };
}
