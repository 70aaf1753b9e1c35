/**
 * Benchmark 2, breach to restored: `bad-release` (a v2 that answers 30 % of requests with 500) deployed
 * blue-green with a latency injected on every API call. The clock starts at the first breaching
 * validation sample's timestamp (the action's report) and stops when production serves blue again —
 * read from the sandbox's traffic stream through the load balancer, not from the action's log: the
 * start of the first request blue answered after the last one green answered. The limit is one
 * `validation-interval` plus one API round trip.
 */
import type { LbHit } from '../sandbox/core/world.ts';
import { runTimed } from './lib/action.ts';
import { apiRtt, benchSandbox, requests, type Sandbox } from './lib/sandbox.ts';
import { median, medianIndex } from './lib/stats.ts';
import { toCalls } from './lib/timeline.ts';
import { EVALUATION_DELAY_MS } from './pipeline.ts';

export interface BreachOptions {
  dist: string;
  runs: number;
  latencyMs: number;
  intervalMs: number;
  windowMs: number;
  /** Requests per second of the traffic stream: its resolution is 1000 / rate ms. */
  trafficRate: number;
}

export interface BreachRun {
  rttMs: number;
  /** Epoch ms. */
  breachAt: number;
  /** When the breaching sample's query was answered (the sandbox's Datadog log). */
  breachAnsweredAt?: number;
  decisionAt?: number;
  /** The weight change that restored blue: when the Cloudflare call started. */
  restoreCallAt?: number;
  firstGreenAt: number;
  lastGreenAt: number;
  restoredAt: number;
  breachToRestoredMs: number;
  /** Production first served green → blue again: how long users saw the bad release. */
  exposureMs: number;
  samplesBeforeBreach: number;
  /** How far before the switch to green the first sample's query window began (ms; ≤ 0: it did not). */
  firstWindowBeforeSwitchMs?: number;
}

export interface BreachResult {
  options: BreachOptions;
  runs: BreachRun[];
  shown: number;
  breachToRestoredMs: number;
  limitMs: number;
  ratio: number;
  exposureMs: number;
}

function breachScenario(o: BreachOptions) {
  return {
    extends: 'bad-release',
    description: 'benchmark 2: breach to restored',
    postgres: { enabled: false },
    traffic: { rate: o.trafficRate },
    inputs: {
      'validation-interval': `${o.intervalMs}ms`,
      'validation-window': `${o.windowMs}ms`,
      'evaluation-delay': `${EVALUATION_DELAY_MS}ms`,
    },
  };
}

interface Sample {
  at: string;
  breach: boolean;
}

async function oneRun(o: BreachOptions): Promise<BreachRun> {
  let sb: Sandbox | undefined;
  try {
    sb = await benchSandbox(breachScenario(o), { latencyMs: o.latencyMs });
    const rttMs = await apiRtt(sb);
    const t = await runTimed(o.dist, sb.env, { status: 'rolled-back' });
    const green = t.run.outputs['deployment-id'];
    const blue = t.run.outputs['previous-deployment-id'];
    const validate = t.report.steps.find((s) => s.name === 'validate');
    const samples = ((validate?.details.samples ?? []) as Sample[]).filter((s) => s.at);
    const first = samples.findIndex((s) => s.breach);
    if (first < 0) throw new Error('the run rolled back without a breaching validation sample');
    const breachAt = Date.parse(samples[first]!.at);
    // The stream's requests, by when the load balancer routed them (response end − latency).
    const hits = (sb.world.hits as LbHit[])
      .filter((h) => h.synthetic)
      .map((h) => ({ start: h.time - h.latencyMs, id: h.deploymentId }));
    const greenHits = hits.filter((h) => h.id === green).map((h) => h.start);
    if (greenHits.length === 0) throw new Error('the traffic stream never reached green');
    const lastGreenAt = Math.max(...greenHits);
    const restored = hits.filter((h) => h.id === blue && h.start > lastGreenAt).map((h) => h.start);
    if (restored.length === 0) throw new Error('the traffic stream never saw blue again after green');
    const restoredAt = Math.min(...restored);
    const log = await requests(sb);
    const calls = toCalls(log, 0);
    const answered = calls.find((c) => c.service === 'datadog' && c.op.endsWith('/query') && c.end >= breachAt);
    const restoreCall = calls.find((c) => c.service === 'cloudflare' && c.method !== 'GET' && c.start >= breachAt);
    const decision = t.report.decisions.find((d) => d.step === 'validate' && /restored|roll/i.test(d.decision));
    const firstGreenAt = Math.min(...greenHits);
    // The first metrics query of the validation: where its window (`from`, seconds) began.
    const validateStart = validate ? Date.parse(validate.startedAt) : Infinity;
    const firstQuery = log.find(
      (r) => r.service === 'datadog' && r.path === '/api/v1/query' && Date.parse(r.time) >= validateStart,
    );
    const from = Number(firstQuery?.query.from);
    return {
      rttMs,
      breachAt,
      breachAnsweredAt: answered?.end,
      decisionAt: decision ? Date.parse(decision.at) : undefined,
      restoreCallAt: restoreCall?.start,
      firstGreenAt,
      lastGreenAt,
      restoredAt,
      breachToRestoredMs: restoredAt - breachAt,
      exposureMs: restoredAt - firstGreenAt,
      samplesBeforeBreach: first,
      firstWindowBeforeSwitchMs: Number.isFinite(from) ? firstGreenAt - from * 1000 : undefined,
    };
  } finally {
    await sb?.stop();
  }
}

/** Runs benchmark 2; `log` receives one line per run. */
export async function benchBreach(o: BreachOptions, log: (line: string) => void): Promise<BreachResult> {
  const runs: BreachRun[] = [];
  for (let i = 0; i < o.runs; i++) {
    const r = await oneRun(o);
    log(
      `  run ${i + 1}/${o.runs}: breach → blue ${Math.round(r.breachToRestoredMs)} ms, green served ${Math.round(r.exposureMs)} ms`,
    );
    runs.push(r);
  }
  const values = runs.map((r) => r.breachToRestoredMs);
  const breachToRestoredMs = median(values);
  const limitMs = o.intervalMs + median(runs.map((r) => r.rttMs));
  return {
    options: o,
    runs,
    shown: medianIndex(values),
    breachToRestoredMs,
    limitMs,
    ratio: breachToRestoredMs / limitMs,
    exposureMs: median(runs.map((r) => r.exposureMs)),
  };
}
