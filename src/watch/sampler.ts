/**
 * The sampling loop: every interval, observe the configured signals over the last interval and
 * feed the analysis, until the window is over or the analysis decides. Shared by the validate step
 * (the window after the final switch) and each canary step (held for `step-duration`).
 *
 * Ticks are aligned to the start (start + k·interval) so a slow query does not stretch the window;
 * a tick that comes late is taken at once. A window that ends on query errors keeps sampling at the
 * interval until an observation succeeds or the consecutive-error limit is exceeded: production is
 * never passed without having been observed.
 */
import { observe, needsMoreSamples } from '../analysis/analysis.js';
import { formatSpan } from '../analysis/format.js';
import type {
  AnalysisPolicy,
  AnalysisState,
  Decision,
  MonitorResult,
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
  /** Monitors with all of `tags` that are in Alert. */
  alerting(tags: string[], signal: AbortSignal): Promise<MonitorResult>;
}

/** What to observe. An absent query (or empty tags) is not observed. */
export interface Signals {
  errorRateQuery?: string;
  latencyQuery?: string;
  monitorTags: string[];
}

export interface WindowOptions {
  source: MetricsSource;
  signals: Signals;
  policy: AnalysisPolicy;
  /** The run's analysis (shared across canary steps and the final window). */
  analysis: AnalysisState;
  durationMs: number;
  intervalMs: number;
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

/** Take one observation: every configured signal in parallel, over [at - interval, at]. */
export async function takeObservation(
  source: MetricsSource,
  signals: Signals,
  at: number,
  intervalMs: number,
  signal: AbortSignal,
  share?: number,
): Promise<Observation> {
  const from = at - intervalMs;
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

/**
 * Sample for `durationMs` (at least one sample), then for as long as the window ended on errors.
 * Returns the first terminal decision, or `continue` when the window passed.
 */
export async function sampleWindow(o: WindowOptions): Promise<WindowResult> {
  const now = o.now ?? Date.now;
  const pause = o.sleep ?? sleep;
  const interval = Math.max(1, o.intervalMs);
  const ticks = Math.max(1, Math.floor(o.durationMs / interval));
  const start = now();
  const samples: Sample[] = [];
  if (o.analysis.decision) return { decision: o.analysis.decision, samples };
  for (let k = 1; ; k++) {
    const due = start + k * interval;
    const wait = due - now();
    if (wait > 0) await pause(wait, o.signal);
    const at = now();
    const obs = await takeObservation(o.source, o.signals, at, interval, o.signal, o.share);
    const { sample, decision } = observe(o.analysis, obs, o.policy);
    samples.push(sample);
    o.onSample?.(sample, decision);
    if (decision.kind !== 'continue') return { decision, samples };
    if (k >= ticks) {
      if (!needsMoreSamples(o.analysis)) return { decision, samples };
      if (k === ticks) {
        o.log.warning(
          `the ${formatSpan(o.durationMs)} window ended on ${o.analysis.consecutiveErrors} query error(s): ` +
            `sampling on until production is observed (at most ${
              o.policy.consecutiveErrorLimit - o.analysis.consecutiveErrors + 1
            } more)`,
        );
      }
    }
  }
}
