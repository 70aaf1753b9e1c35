/**
 * The shapes of post-deployment analysis (step 6 and each canary step): what one sampling tick
 * observed, how it was judged, and what the run decides. Pure data; no I/O here.
 *
 * The model is Argo Rollouts' analysis: samples every interval, `failureLimit` bad values tolerated,
 * query errors counted apart from bad values (`consecutiveErrorLimit`, default 4), and an explicit
 * no-data policy. Every message names the measured value against its threshold.
 */
import type { InsufficientDataPolicy, NoDataPolicy } from '../config/types.js';

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

import type { Counts, LatencyBucket } from './compare.js';

export type { Counts, LatencyBucket };

/** One release's counts for one tick, or why they could not be read. */
export type CountResult = { kind: 'counts'; counts: Counts } | { kind: 'error'; error: string };

/**
 * What green's counts are judged against.
 * - `concurrent`: blue's counts over the same window, while both serve (each canary step).
 * - `baseline`: blue's counts over a window of the same length right before the switch (after 100 %).
 * - `none`: no control (blue's version unknown, or a rollback's watch): the hard limit only.
 * - `production`: the count queries are not scoped to a release: production as a whole, hard limit only.
 */
export type CountBasis = 'concurrent' | 'baseline' | 'none' | 'production';

/** The count queries' answers of one tick: cumulative from the switch (`fromMs`) to the window's end. */
export interface CountObservation {
  basis: CountBasis;
  fromMs: number;
  toMs: number;
  /** Green's counts (production's with basis `production`). */
  green: CountResult;
  /** Blue's, for `concurrent` and `baseline`. */
  blue?: CountResult;
  /** The window blue's `baseline` counts cover. */
  blueWindow?: { fromMs: number; toMs: number };
  /**
   * With a `{{version}}` latency query and a control: one bucket per tick so far, green's percentile
   * against blue's (alongside, or blue's mirrored tick before the switch). Green's latency is then
   * judged against blue and on the sign test's bound, not per sample against the limit.
   */
  latency?: LatencyBucket[];
  /** Blue's latency query failed this tick (a query error, never a pass). */
  latencyError?: string;
  /** The watch's planned hold, its longest extension, and whether it needs positive evidence to end. */
  holdMs: number;
  maxHoldMs: number;
  requirePass: boolean;
}

/** What one tick observed. A field is absent when that signal is not configured. */
export interface Observation {
  /** ms since epoch when the tick was taken. */
  at: number;
  /** Green's share of production traffic in percent when the tick was taken. */
  share?: number;
  errorRate?: QueryResult;
  latency?: QueryResult;
  monitors?: MonitorResult;
  counts?: CountObservation;
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
  // The count queries' settings; absent → decide.ts's defaults (the threshold judge has none).
  /** One-sided practical margin (error ratio points) green may exceed blue by. */
  comparisonMargin?: number;
  /** The margin is at most this fraction of blue's rate (0: no relative cap). */
  relativeMargin?: number;
  /** Requests per release before its counts are judged. */
  minRequests?: number;
  /** Too few requests once the window was extended to its limit: roll back (default) or stop (fail the job). */
  insufficientData?: InsufficientDataPolicy;
}

/** Argo Rollouts' default `consecutiveErrorLimit`. */
export const DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4;

/**
 * How a tick was judged.
 * - `pass`: every configured signal answered within its threshold.
 * - `breach`: a value above its threshold, a monitor in Alert, or no data under `no-data: fail`.
 * - `error`: a query could not be answered (and nothing breached): counted apart, retried.
 * - `no-data`: a query answered with no points, under `no-data: warn` or `inconclusive`.
 * - `insufficient`: nothing breached, but a release has served fewer than `min-requests` so far, or
 *   the comparison has not yet enough evidence either way: not a pass (the window is extended).
 */
export type SampleOutcome = 'pass' | 'breach' | 'error' | 'no-data' | 'insufficient';

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
  /** The count queries' cumulative counts since the switch, when configured. */
  counts?: { basis: CountBasis; green?: Counts; blue?: Counts };
  /** The counts' verdict in plain words (green against blue, or against the hard limit). */
  comparison?: string;
  /**
   * What the counts' decision procedure (decide.ts) said: `rollback` and `inconclusive` end the run
   * at once (the sequential test is already valid however often it looks: no failure-limit on top);
   * `extend` keeps the watch going past its planned end; `advance` lets it end.
   */
  step?: 'continue' | 'extend' | 'advance' | 'rollback' | 'inconclusive';
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
  | { kind: 'rollback'; reason: string; cause: 'breach' | 'unobservable' | 'insufficient' }
  /** `no-data: inconclusive`: stop and fail the job without rolling back. */
  | { kind: 'inconclusive'; reason: string };

/** Running totals of one run's analysis (canary steps and the final window share one). */
export interface AnalysisState {
  samples: Sample[];
  breaches: number;
  consecutiveErrors: number;
  errors: number;
  noData: number;
  /** Samples whose counts could not be judged yet (too few requests, or no verdict either way). */
  insufficient: number;
  /** Set once a terminal decision (rollback / inconclusive) has been taken; later samples are ignored. */
  decision?: Exclude<Decision, { kind: 'continue' }>;
}
