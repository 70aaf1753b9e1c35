/**
 * The sampling loop: every interval, observe the configured signals and feed the analysis, until
 * the window is over or the analysis decides. Shared by the validate step (the window after the
 * final switch) and each canary step (held for `step-duration`).
 *
 * Lag: Datadog's data arrives late, so tick k asks about the window that ended at start + k·interval
 * and is taken `delayMs` later (`evaluation-delay`): the watch lasts `durationMs + delayMs`, sees its
 * whole window, and its first window starts at `startMs` (the switch), never before it.
 *
 * Ticks are aligned to the start so a slow query does not stretch the window; a tick that comes late
 * is taken at once. A window that ends on query errors keeps sampling at the interval until an
 * observation succeeds or the consecutive-error limit is exceeded: production is never passed
 * without having been observed. With count queries, the window also goes on while their decision
 * procedure has not let it end (too few requests: the step is extended, up to its limit).
 */
import { needsEvidence, observe, needsMoreSamples } from '../analysis/analysis.js';
import { formatSpan } from '../analysis/format.js';
import type {
  AnalysisPolicy,
  AnalysisState,
  CountBasis,
  CountObservation,
  CountResult,
  Decision,
  MonitorResult,
  LatencyBucket,
  Observation,
  QueryResult,
  Sample,
} from '../analysis/types.js';
import type { Logger } from '../pipeline/types.js';
import { sleep } from '../text.js';

/** Where samples come from (Datadog in production: `Datadog.sampler`). Never throws. */
export interface MetricsSource {
  /** The newest value of a metrics query over [fromMs, toMs]. */
  query(query: string, fromMs: number, toMs: number, signal: AbortSignal): Promise<QueryResult>;
  /** The total of a count query over [fromMs, toMs]. */
  count(query: string, fromMs: number, toMs: number, signal: AbortSignal): Promise<QueryResult>;
  /** Monitors with all of `tags` that are in Alert. */
  alerting(tags: string[], signal: AbortSignal): Promise<MonitorResult>;
}

/** What to observe. An absent query (or empty tags) is not observed. */
export interface Signals {
  errorRateQuery?: string;
  latencyQuery?: string;
  monitorTags: string[];
  /** The count queries, each already made release-specific where it names `{{version}}`. */
  counts?: CountSignals;
}

/** Requests and errors: of green (or production), and of blue when there is a control. */
export interface CountSignals {
  basis: CountBasis;
  green: { requests: string; errors: string };
  blue?: { requests: string; errors: string };
  /** With `baseline`: how long blue's window before the switch is (it ends at the switch). */
  baselineMs?: number;
  /** The watch needs positive evidence before it ends (last step before 100 %, and after 100 %). */
  requirePass: boolean;
  /** The longest the watch may be extended to when the evidence is not there yet. */
  maxHoldMs: number;
  /**
   * Blue's `{{version}}` latency query, with a control (`concurrent` or `baseline`): green's latency
   * (`Signals.latencyQuery`, already green's) is then judged against it bucket by bucket.
   */
  blueLatency?: string;
}

export interface WindowOptions {
  source: MetricsSource;
  signals: Signals;
  policy: AnalysisPolicy;
  /** The run's analysis (shared across canary steps and the final window). */
  analysis: AnalysisState;
  durationMs: number;
  intervalMs: number;
  /** `evaluation-delay`: each tick asks about a window that ended this long ago (default 0). */
  delayMs?: number;
  /** Where the first window starts: the switch (default: now). */
  startMs?: number;
  /** Green's share while sampling (for the report). */
  share?: number;
  signal: AbortSignal;
  log: Logger;
  /** Clock and sleep, for tests. */
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Told after each sample (the step logs it; a canary step can surface it). */
  onSample?: (sample: Sample, decision: Decision) => void;
}

export interface WindowResult {
  decision: Decision;
  /** Samples taken in this window (the analysis keeps all of the run's). */
  samples: Sample[];
}

/** True when at least one signal is configured. */
export function hasSignals(s: Signals): boolean {
  return Boolean(s.errorRateQuery || s.latencyQuery || s.monitorTags.length > 0);
}

/** Take one observation: every configured signal in parallel, over [from, to]. */
export async function takeObservation(
  source: MetricsSource,
  signals: Signals,
  at: number,
  intervalMs: number,
  signal: AbortSignal,
  share?: number,
  from: number = at - intervalMs,
): Promise<Observation> {
  const [errorRate, latency, monitors] = await Promise.all([
    signals.errorRateQuery ? source.query(signals.errorRateQuery, from, at, signal) : undefined,
    signals.latencyQuery ? source.query(signals.latencyQuery, from, at, signal) : undefined,
    signals.monitorTags.length > 0 ? source.alerting(signals.monitorTags, signal) : undefined,
  ]);
  const obs: Observation = { at };
  if (share !== undefined) obs.share = share;
  if (errorRate) obs.errorRate = errorRate;
  if (latency) obs.latency = latency;
  if (monitors) obs.monitors = monitors;
  return obs;
}

/** One release's requests and errors over [from, to]: no data is no requests; an error is an error. */
export async function readCounts(
  source: MetricsSource,
  q: { requests: string; errors: string },
  from: number,
  to: number,
  signal: AbortSignal,
): Promise<CountResult> {
  const [requests, errors] = await Promise.all([
    source.count(q.requests, from, to, signal),
    source.count(q.errors, from, to, signal),
  ]);
  for (const r of [requests, errors]) if (r.kind === 'error') return { kind: 'error', error: r.error };
  const n = requests.kind === 'value' ? Math.round(requests.value) : 0;
  const e = errors.kind === 'value' ? Math.round(errors.value) : 0;
  // Two queries read at slightly different moments can disagree by a request or two.
  return { kind: 'counts', counts: { requests: Math.max(n, e), errors: e } };
}

/**
 * Sample for `durationMs` (at least one sample), then for as long as the window ended on errors or
 * the count queries' procedure extends it. Returns the first terminal decision, or `continue` when
 * the window passed.
 */
export async function sampleWindow(o: WindowOptions): Promise<WindowResult> {
  const now = o.now ?? Date.now;
  const pause = o.sleep ?? sleep;
  const interval = Math.max(1, o.intervalMs);
  const delay = Math.max(0, o.delayMs ?? 0);
  const ticks = Math.max(1, Math.floor(o.durationMs / interval));
  const start = o.startMs ?? now();
  const samples: Sample[] = [];
  const counts = o.signals.counts;
  const holdMs = Math.max(interval, o.durationMs);
  let baseline: CountResult | undefined;
  let extending = false;
  // Latency against blue: one bucket per tick, and the cumulative requests the buckets are cut from.
  const buckets: LatencyBucket[] = [];
  let seen = { green: 0, blue: 0 };
  if (o.analysis.decision) return { decision: o.analysis.decision, samples };
  for (let k = 1; ; k++) {
    const to = start + k * interval;
    const wait = to + delay - now();
    if (wait > 0) await pause(wait, o.signal);
    const from = Math.max(start, to - interval);
    const takenAt = now();
    const blueWindow = counts?.basis === 'baseline' ? mirrored(k, counts) : { from, to };
    const [obs, counted, blueLatency] = await Promise.all([
      takeObservation(o.source, o.signals, to, interval, o.signal, o.share, from),
      counts ? countObservation(counts, to) : undefined,
      counts?.blueLatency && o.signals.latencyQuery
        ? o.source.query(counts.blueLatency, blueWindow.from, blueWindow.to, o.signal)
        : undefined,
    ]);
    // The sample is dated when it was taken (its window ended `delay` before).
    obs.at = takenAt;
    if (counted) obs.counts = counted;
    if (counted && blueLatency) addBucket(counted, obs.latency, blueLatency);
    const { sample, decision } = observe(o.analysis, obs, o.policy);
    samples.push(sample);
    o.onSample?.(sample, decision);
    if (decision.kind !== 'continue') return { decision, samples };
    if (k >= ticks) {
      if (needsMoreSamples(o.analysis)) {
        if (k === ticks) {
          o.log.warning(
            `the ${formatSpan(o.durationMs)} window ended on ${o.analysis.consecutiveErrors} query error(s): ` +
              `sampling on until production is observed (at most ${
                o.policy.consecutiveErrorLimit - o.analysis.consecutiveErrors + 1
              } more)`,
          );
        }
        continue;
      }
      if (counts && needsEvidence(o.analysis)) {
        if (!extending) {
          extending = true;
          o.log.warning(
            `the ${formatSpan(o.durationMs)} window is extended (up to ${formatSpan(counts.maxHoldMs)}): ${sample.comparison ?? sample.reason}`,
          );
        }
        continue;
      }
      return { decision, samples };
    }
  }

  /**
   * Blue's window for tick k after 100 %: the k-th interval counted back from the switch (wrapping
   * within blue's window before the switch), so green's first interval meets blue's last one.
   */
  function mirrored(k: number, c: CountSignals): { from: number; to: number } {
    const span = Math.max(holdMs, c.baselineMs ?? 0);
    const j = (k - 1) % Math.max(1, Math.floor(span / interval));
    return { from: start - (j + 1) * interval, to: start - j * interval };
  }

  /**
   * This tick's latency bucket: each release's percentile over the tick's window, and the requests it
   * served then (the growth of its cumulative count; after 100 % blue's window before the switch
   * spread evenly over its intervals). A count or query error adds no bucket (the sample is an error).
   */
  function addBucket(c: CountObservation, green: QueryResult | undefined, blue: QueryResult): void {
    if (blue.kind === 'error') {
      c.latencyError = blue.error;
      return;
    }
    if (c.green.kind !== 'counts' || (c.blue && c.blue.kind !== 'counts')) return;
    const g = c.green.counts.requests;
    let blueRequests = 0;
    if (c.blue?.kind === 'counts') {
      if (c.basis === 'baseline') {
        const span = Math.max(1, (c.blueWindow?.toMs ?? 0) - (c.blueWindow?.fromMs ?? 0));
        blueRequests = Math.round((c.blue.counts.requests * interval) / span);
      } else {
        blueRequests = Math.max(0, c.blue.counts.requests - seen.blue);
        seen = { ...seen, blue: Math.max(seen.blue, c.blue.counts.requests) };
      }
    }
    const value = (r: QueryResult | undefined) => (r?.kind === 'value' && Number.isFinite(r.value) ? r.value : null);
    buckets.push({
      green: { valueMs: value(green), requests: Math.max(0, g - seen.green) },
      blue: { valueMs: value(blue), requests: blueRequests },
    });
    seen = { ...seen, green: Math.max(seen.green, g) };
    c.latency = [...buckets];
  }

  /** The count queries of tick `to`: cumulative since the switch, and blue's control. */
  async function countObservation(c: CountSignals, to: number): Promise<CountObservation> {
    const baselineFrom = start - Math.max(holdMs, c.baselineMs ?? 0);
    const [green, blue] = await Promise.all([
      readCounts(o.source, c.green, start, to, o.signal),
      !c.blue
        ? undefined
        : c.basis === 'baseline'
          ? // Blue's window before the switch ended long ago: read once, again only after an error.
            baseline?.kind === 'counts'
            ? baseline
            : readCounts(o.source, c.blue, baselineFrom, start, o.signal)
          : readCounts(o.source, c.blue, start, to, o.signal),
    ]);
    if (c.basis === 'baseline') baseline = blue;
    const obs: CountObservation = {
      basis: c.basis,
      fromMs: start,
      toMs: to,
      green,
      holdMs,
      maxHoldMs: Math.max(holdMs, c.maxHoldMs),
      requirePass: c.requirePass,
    };
    if (blue) obs.blue = blue;
    if (c.basis === 'baseline') obs.blueWindow = { fromMs: baselineFrom, toMs: start };
    return obs;
  }
}
