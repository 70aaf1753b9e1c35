/**
 * The shapes of post-deployment analysis (step 6 and each canary step): what one sampling tick
 * observed, how it was judged, and what the run decides. Pure data; no I/O here.
 *
 * The model is Argo Rollouts' analysis: samples every interval, `failureLimit` bad values tolerated,
 * query errors counted apart from bad values (`consecutiveErrorLimit`, default 4), and an explicit
 * no-data policy. Every message names the measured value against its threshold.
 */
import type { NoDataPolicy } from '../config/types.js';

/** One metrics query's answer for one tick. */
export type QueryResult =
  /** The newest non-null point of the window. `pointAt` is that point's time (ms since epoch). */
  | { kind: 'value'; value: number; pointAt?: number }
  /** The query answered but the window had no (non-null) point. */
  | { kind: 'no-data' }
  /** The query could not be answered (5xx, timeout, network, malformed answer): production unobserved. */
  | { kind: 'error'; error: string };

/** A Datadog monitor that is in `Alert`. */
export interface AlertingMonitor {
  id: number | string;
  name: string;
  state: string;
}

/** The monitors of `datadog-monitor-tags` for one tick. */
export type MonitorResult = { kind: 'ok'; alerting: AlertingMonitor[] } | { kind: 'error'; error: string };

/** What one tick observed. A field is absent when that signal is not configured. */
export interface Observation {
  /** ms since epoch when the tick was taken. */
  at: number;
  /** Green's share of production traffic in percent when the tick was taken. */
  share?: number;
  errorRate?: QueryResult;
  latency?: QueryResult;
  monitors?: MonitorResult;
}

/** The thresholds and tolerances of one run's analysis, all from the config. */
export interface AnalysisPolicy {
  /** Breach above this (0–1). */
  errorRateThreshold: number;
  /** Breach above this (ms). */
  latencyThresholdMs: number;
  /** Breaching samples tolerated; one more rolls back. */
  failureLimit: number;
  /** Consecutive query errors tolerated (retried); one more means production cannot be observed. */
  consecutiveErrorLimit: number;
  noData: NoDataPolicy;
}

/** Argo Rollouts' default `consecutiveErrorLimit`. */
export const DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4;

/**
 * How a tick was judged.
 * - `pass`: every configured signal answered within its threshold.
 * - `breach`: a value above its threshold, a monitor in Alert, or no data under `no-data: fail`.
 * - `error`: a query could not be answered (and nothing breached): counted apart, retried.
 * - `no-data`: a query answered with no points, under `no-data: warn` or `inconclusive`.
 */
export type SampleOutcome = 'pass' | 'breach' | 'error' | 'no-data';

/** One judged tick, as the report keeps it. */
export interface Sample {
  /** ISO time of the tick. */
  at: string;
  /** Green's share (percent) when sampled. */
  share?: number;
  /** Measured error ratio, null when not measured (no data, error, not configured). */
  errorRate: number | null;
  /** Measured latency in ms, null when not measured. */
  latencyMs: number | null;
  /** Names of monitors in Alert at this tick. */
  alerting?: string[];
  outcome: SampleOutcome;
  /** True when the sample counts against `failure-limit`. */
  breach: boolean;
  /** One line: measured values against thresholds, or what was missing and why. */
  reason: string;
}

/** What the analysis says after a sample. */
export type Decision =
  | { kind: 'continue' }
  /** Roll back: too many breaches, or production could not be observed. */
  | { kind: 'rollback'; reason: string; cause: 'breach' | 'unobservable' }
  /** `no-data: inconclusive`: stop and fail the job without rolling back. */
  | { kind: 'inconclusive'; reason: string };

/** Running totals of one run's analysis (canary steps and the final window share one). */
export interface AnalysisState {
  samples: Sample[];
  breaches: number;
  consecutiveErrors: number;
  errors: number;
  noData: number;
  /** Set once a terminal decision (rollback / inconclusive) has been taken; later samples are ignored. */
  decision?: Exclude<Decision, { kind: 'continue' }>;
}
