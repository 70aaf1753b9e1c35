/**
 * The two judges of the decision benchmark, each run over one simulated deploy:
 * - **sequential**: the action's new procedure, `decideStep` of src/analysis/decide.ts, called after
 *   every sample with the cumulative, release-scoped counts Datadog has delivered up to the
 *   evaluation delay;
 * - **threshold** (today's): src/analysis `observe` — each sample judges the production-wide (blended)
 *   error rate and p95 of the newest point of the last interval against the thresholds, with
 *   `failure-limit` and the `no-data` policy, as Argo Rollouts and Flagger judge.
 * Neither is re-implemented here: both are imported from src/.
 */
import { createAnalysis, observe, summarize } from '../../src/analysis/analysis.ts';
import type { Counts, LatencyBucket } from '../../src/analysis/compare.ts';
import { DECISION_DEFAULTS, type DecisionPolicy, decideStep } from '../../src/analysis/decide.ts';
import type { AnalysisPolicy, Observation } from '../../src/analysis/types.ts';
import {
  BUCKET_MS,
  DATADOG,
  type Bucket,
  type DatadogModel,
  type Release,
  type Rng,
  blendedP95,
  makeBucket,
  sampleP95,
} from './model.ts';

/** One cell's deploy. */
export interface Scenario {
  strategy: 'canary' | 'blue-green';
  /** Requests per second to production. */
  rate: number;
  /** Blue's error rate. */
  baseRate: number;
  /** Green's error rate is this times blue's (1: a good release). */
  errorFactor: number;
  /** Green's latency is this times blue's. */
  latencyFactor: number;
  /** A latency query is configured (both judges watch latency). */
  latency: boolean;
}

/** How the deploy is run: the action's defaults unless said. */
export interface Plan {
  /** Canary weights (the last is 100). */
  steps: number[];
  /** `step-duration`: 2m. */
  holdMs: number;
  /** `validation-window` after 100 %: 5m. */
  finalMs: number;
  /** `validation-interval`: 30s. */
  intervalMs: number;
  /** The sequential judge extends a step up to this factor × its hold. */
  maxHoldFactor: number;
  /** The sequential judge's evaluation delay. */
  delayMs: number;
  /** Blue's window before the switch (the blue-green control). */
  baselineMs: number;
  /** Blue's p95 in ms, and the latency hard limit (`performance-threshold-ms`, default 500). */
  blueMedianMs: number;
  latencyThresholdMs: number;
  /** The hard limit `error-rate-threshold` as a multiple of blue's rate (as a user who knows it sets it). */
  thresholdFactor: number;
  datadog: DatadogModel;
  policy: DecisionPolicy;
}

export const PLAN: Plan = {
  steps: [10, 25, 50, 100],
  holdMs: 120_000,
  finalMs: 300_000,
  intervalMs: 30_000,
  maxHoldFactor: 3,
  delayMs: 60_000,
  baselineMs: 30 * 60_000,
  blueMedianMs: 150,
  latencyThresholdMs: 500,
  thresholdFactor: 3,
  datadog: DATADOG,
  policy: DECISION_DEFAULTS,
};

export interface Outcome {
  result: 'rollback' | 'passed' | 'inconclusive';
  /** ms from the switch to the decision. */
  atMs: number;
  /** Expected failed requests green served beyond blue's rate until the decision. */
  excessFailures: number;
  greenRequests: number;
  /** Green's share (percent) when the decision was taken: where an inconclusive run leaves traffic. */
  share: number;
  reason: string;
}

export function releases(s: Scenario, plan: Plan): { green: Release; blue: Release } {
  return {
    blue: { errorRate: s.baseRate, medianMs: plan.blueMedianMs },
    green: { errorRate: Math.min(1, s.baseRate * s.errorFactor), medianMs: plan.blueMedianMs * s.latencyFactor },
  };
}

/** The traffic of one deploy, generated as the judge's schedule asks for it. */
class Traffic {
  buckets: Bucket[] = [];
  private next = 0;
  excess = 0;
  greenRequests = 0;
  private readonly rng: Rng;
  private readonly s: Scenario;
  private readonly plan: Plan;
  private readonly green: Release;
  private readonly blue: Release;
  constructor(rng: Rng, s: Scenario, plan: Plan, green: Release, blue: Release) {
    this.rng = rng;
    this.s = s;
    this.plan = plan;
    this.green = green;
    this.blue = blue;
  }
  /** Serve traffic up to `t` at green's `share` (0–1). */
  until(t: number, share: number): void {
    while (this.next < t) {
      const b = makeBucket(this.rng, this.next, this.s.rate, share, this.green, this.blue, this.plan.datadog);
      this.buckets.push(b);
      this.excess += b.green.requests * (this.green.errorRate - this.blue.errorRate);
      this.greenRequests += b.green.requests;
      this.next += BUCKET_MS;
    }
  }
}

function sum(parts: { requests: number; errors: number }[]): Counts {
  let requests = 0;
  let errors = 0;
  for (const p of parts) {
    requests += p.requests;
    errors += p.errors;
  }
  return { requests, errors };
}

/** The new procedure over one deploy. */
export function runSequential(s: Scenario, plan: Plan, rng: Rng): Outcome {
  const { green, blue } = releases(s, plan);
  const policy: DecisionPolicy = {
    ...plan.policy,
    errorRateThreshold: Math.min(1, plan.thresholdFactor * s.baseRate),
    ...(s.latency ? { latencyThresholdMs: plan.latencyThresholdMs } : {}),
  };
  const traffic = new Traffic(rng, s, plan, green, blue);
  const canary = s.strategy === 'canary';
  // Blue at full traffic before the switch: the control of a blue-green deploy, pooled with the
  // concurrent blue counts in a canary's window after 100 %.
  let baseline: Counts | undefined;
  let baselineLatency: { requests: number; p95: number | null }[] = [];
  {
    const perBucket = (s.rate * BUCKET_MS) / 1000;
    const n = Math.round(plan.baselineMs / BUCKET_MS);
    const parts = Array.from({ length: n }, () => {
      const requests = rng.poisson(perBucket);
      return { requests, errors: rng.binomial(requests, blue.errorRate) };
    });
    baseline = sum(parts);
    if (s.latency)
      baselineLatency = parts.map((p) => ({ requests: p.requests, p95: sampleP95(rng, blue, p.requests) }));
  }
  const steps = canary ? plan.steps : [100];
  let step = 0;
  let stepStart = 0;
  // Latency as the watch feeds it (src/watch/sampler.ts): one bucket per sample, each release's newest
  // point of the sample's interval, requests cut from the growth of the cumulative counts; blue-green:
  // blue's intervals counted back from the switch, its requests spread evenly.
  const latencyBuckets: LatencyBucket[] = [];
  const cut = { green: 0, blue: 0 };
  const perInterval = Math.max(1, Math.round(plan.intervalMs / BUCKET_MS));
  const newest = (parts: { start: number; p95: number | null }[], from: number, to: number) => {
    let best: { start: number; p95: number | null } | undefined;
    for (const p of parts) {
      if (p.start < from || p.start + BUCKET_MS > to || p.p95 === null) continue;
      if (!best || p.start > best.start) best = p;
    }
    return best?.p95 ?? null;
  };
  let tick = 0;
  for (let t = plan.intervalMs; ; t += plan.intervalMs) {
    tick += 1;
    const share = steps[step]! / 100;
    traffic.until(t, share);
    const end = t - plan.delayMs;
    const seen = traffic.buckets.filter((b) => b.start + BUCKET_MS <= end && b.readableAt <= t);
    const g = sum(seen.map((b) => b.green));
    const input = {
      green: g,
      ...(canary ? { blue: sum(seen.map((b) => b.blue)) } : {}),
      ...(!canary || steps[step] === 100 ? { baseline: baseline! } : {}),
      elapsedMs: end - stepStart,
      holdMs: steps[step] === 100 ? plan.finalMs : plan.holdMs,
      maxHoldMs: (steps[step] === 100 ? plan.finalMs : plan.holdMs) * plan.maxHoldFactor,
      requirePass: step === steps.length - 1,
    };
    let latency: LatencyBucket[] | undefined;
    if (s.latency && end > 0) {
      const from = end - plan.intervalMs;
      const greenMs = newest(
        seen.map((b) => ({ start: b.start, p95: b.green.p95 })),
        from,
        end,
      );
      let blueMs: number | null;
      let blueRequests: number;
      if (canary) {
        blueMs = newest(
          seen.map((b) => ({ start: b.start, p95: b.blue.p95 })),
          from,
          end,
        );
        const cum = input.blue!.requests;
        blueRequests = Math.max(0, cum - cut.blue);
        cut.blue = Math.max(cut.blue, cum);
      } else {
        // The j-th interval before the switch: its newest 10-s bucket (index counted from the end).
        const intervals = Math.max(1, Math.floor(baselineLatency.length / perInterval));
        const j = (tick - 1) % intervals;
        blueMs = baselineLatency[baselineLatency.length - 1 - j * perInterval]!.p95;
        blueRequests = Math.round((baseline!.requests * plan.intervalMs) / plan.baselineMs);
      }
      latencyBuckets.push({
        green: { valueMs: greenMs, requests: Math.max(0, g.requests - cut.green) },
        blue: { valueMs: blueMs, requests: blueRequests },
      });
      cut.green = Math.max(cut.green, g.requests);
      latency = [...latencyBuckets];
    } else if (s.latency) {
      latency = [];
    }
    const d = decideStep(latency ? { ...input, latency } : input, policy);
    const done = (result: Outcome['result']): Outcome => ({
      result,
      atMs: t,
      excessFailures: traffic.excess,
      greenRequests: traffic.greenRequests,
      share: steps[step]!,
      reason: d.reason,
    });
    if (d.action === 'rollback') return done('rollback');
    if (d.action === 'inconclusive') return done(d.policy === 'rollback' ? 'rollback' : 'inconclusive');
    if (d.action === 'advance') {
      if (step === steps.length - 1) return done('passed');
      step += 1;
      stepStart = t;
    }
  }
}

/** Today's threshold judge over one deploy: fixed holds, blended production-wide values. */
export function runThreshold(s: Scenario, plan: Plan, rng: Rng): Outcome {
  const { green, blue } = releases(s, plan);
  const policy: AnalysisPolicy = {
    errorRateThreshold: Math.min(1, plan.thresholdFactor * s.baseRate),
    latencyThresholdMs: plan.latencyThresholdMs,
    failureLimit: 0,
    consecutiveErrorLimit: 4,
    noData: 'warn',
  };
  const traffic = new Traffic(rng, s, plan, green, blue);
  const state = createAnalysis();
  const steps = s.strategy === 'canary' ? plan.steps : [100];
  const p95s = new Map<Bucket, number | null>();
  let t = 0;
  for (const weight of steps) {
    const hold = weight === 100 ? plan.finalMs : plan.holdMs;
    const ticks = Math.max(1, Math.floor(hold / plan.intervalMs));
    for (let k = 0; k < ticks; k++) {
      t += plan.intervalMs;
      traffic.until(t, weight / 100);
      // The newest non-null point of [t − interval, t] that Datadog has by t.
      let newest: Bucket | undefined;
      for (const b of traffic.buckets) {
        if (b.start < t - plan.intervalMs || b.start + BUCKET_MS > t || b.readableAt > t) continue;
        if (b.green.requests + b.blue.requests === 0) continue;
        if (!newest || b.start > newest.start) newest = b;
      }
      const obs: Observation = { at: t, share: weight };
      obs.errorRate = newest
        ? {
            kind: 'value',
            value: (newest.green.errors + newest.blue.errors) / (newest.green.requests + newest.blue.requests),
          }
        : { kind: 'no-data' };
      if (s.latency) {
        let p95: number | null = null;
        if (newest) {
          if (!p95s.has(newest)) p95s.set(newest, blendedP95(rng, newest, green, blue));
          p95 = p95s.get(newest)!;
        }
        obs.latency = p95 === null ? { kind: 'no-data' } : { kind: 'value', value: p95 };
      }
      const { decision } = observe(state, obs, policy);
      if (decision.kind !== 'continue') {
        return {
          result: decision.kind === 'rollback' ? 'rollback' : 'inconclusive',
          atMs: t,
          excessFailures: traffic.excess,
          greenRequests: traffic.greenRequests,
          share: weight,
          reason: decision.reason,
        };
      }
    }
  }
  return {
    result: 'passed',
    atMs: t,
    excessFailures: traffic.excess,
    greenRequests: traffic.greenRequests,
    share: 100,
    reason: summarize(state, policy).reason,
  };
}
