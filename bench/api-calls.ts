/**
 * Benchmark 4, API calls per deploy: from the sandbox's request log, per provider, for `blue-green`
 * (benchmark 1's runs, when it ran) and `canary`; the calls per minute while production is watched,
 * and per sample so the figure scales to any `validation-interval`. Against the providers' published
 * limits, how many deploys an hour an organisation sharing one token could run.
 */
import { runTimed } from './lib/action.ts';
import { benchSandbox, requests, type Sandbox } from './lib/sandbox.ts';
import { median } from './lib/stats.ts';
import { type Call, countCalls, isGithubWrite, isGraphqlCall, toCalls } from './lib/timeline.ts';
import type { Report, StepResult } from '../src/pipeline/types.ts';
import { pipelineScenario } from './pipeline.ts';

/** Published limits the figures are compared with (the providers' own documentation). */
export const LIMITS = {
  github: { requests: 1000, perMs: 3_600_000, text: '1,000 requests/hour per repository for GITHUB_TOKEN' },
  'github-graphql': {
    requests: 1000,
    perMs: 3_600_000,
    text: "1,000 points/hour per repository for GITHUB_TOKEN (GraphQL's own budget; each of these queries costs 1 point)",
  },
  cloudflare: { requests: 1200, perMs: 300_000, text: '1,200 requests/5 minutes per user or token' },
} as const;

/** Defaults of the interface the per-sample figures are scaled to. */
export const INTERFACE_DEFAULTS = { validationIntervalMs: 30_000 };

export interface DeployCalls {
  strategy: 'blue-green' | 'canary';
  runs: number;
  /** Median per provider over the runs. */
  byService: Record<string, number>;
  total: number;
  /** The shown run's calls per operation, most first. */
  byOp: [string, number][];
  /** Calls while production was watched (validate step; for canary, the weight steps too). */
  watch: {
    calls: number;
    ms: number;
    samples: number;
    perMinute: number;
    perSample: number;
    byService: Record<string, number>;
  };
  githubWrites: number;
  /** GitHub GraphQL queries (in `byService.github` too): they count against GraphQL's own budget. */
  githubGraphql: number;
}

/** A call's GitHub budget: GraphQL's points or REST's requests. */
const isGraphql = (c: Call) => c.service === 'github' && isGraphqlCall(c);

/** The calls of a deploy that count against one limit (median over the runs). */
export function limitedCalls(d: DeployCalls, provider: keyof typeof LIMITS): number {
  if (provider === 'github-graphql') return d.githubGraphql;
  if (provider === 'github') return (d.byService.github ?? 0) - d.githubGraphql;
  return d.byService[provider] ?? 0;
}

export interface ApiCallsResult {
  deploys: DeployCalls[];
  /** Deploys an hour one token allows, per limited provider and strategy. */
  perHour: { provider: keyof typeof LIMITS; strategy: string; calls: number; deploys: number }[];
  /** The provider that bounds it first, per strategy. */
  binding: { strategy: string; provider: string; deploys: number }[];
}

export interface RunCalls {
  calls: Call[];
  report: Report;
}

function watchWindow(r: RunCalls, strategy: DeployCalls['strategy']): { from: number; to: number; samples: number } {
  const steps = r.report.steps;
  const validate = steps.find((s) => s.name === 'validate');
  const traffic = steps.find((s) => s.name === 'traffic');
  const first = strategy === 'canary' ? traffic : validate;
  if (!first || !validate) throw new Error('the run has no traffic/validate step to measure');
  const from = Date.parse(first.startedAt);
  const to = Date.parse(validate.startedAt) + validate.durationMs;
  const count = (s: StepResult | undefined) => ((s?.details.samples as unknown[] | undefined) ?? []).length;
  const stepSamples = strategy === 'canary' ? count(traffic) : 0;
  return { from, to, samples: count(validate) + stepSamples };
}

/** Summarises runs of one strategy (calls on the epoch clock: `toCalls(log, 0)`). */
export function summarise(strategy: DeployCalls['strategy'], runs: RunCalls[]): DeployCalls {
  const counts = runs.map((r) => countCalls(r.calls));
  const services = [...new Set(counts.flatMap((c) => Object.keys(c.byService)))].sort();
  const byService = Object.fromEntries(services.map((s) => [s, median(counts.map((c) => c.byService[s] ?? 0))]));
  const shown = runs[0]!;
  const w = watchWindow(shown, strategy);
  const watched = shown.calls.filter((c) => c.start >= w.from && c.start < w.to);
  const inWatch = watched.length;
  const ms = w.to - w.from;
  return {
    strategy,
    runs: runs.length,
    byService,
    total: Object.values(byService).reduce((a, b) => a + b, 0),
    byOp: Object.entries(countCalls(shown.calls).byOp).sort((a, b) => b[1] - a[1]),
    watch: {
      calls: inWatch,
      ms,
      samples: w.samples,
      perMinute: inWatch / (ms / 60_000),
      perSample: w.samples ? inWatch / w.samples : NaN,
      byService: countCalls(watched).byService,
    },
    githubWrites: shown.calls.filter(isGithubWrite).length,
    githubGraphql: median(runs.map((r) => r.calls.filter(isGraphql).length)),
  };
}

async function runOnce(dist: string, override: Record<string, unknown>): Promise<RunCalls> {
  let sb: Sandbox | undefined;
  try {
    sb = await benchSandbox(override);
    const t = await runTimed(dist, sb.env, { status: 'success' });
    return { calls: toCalls(await requests(sb), 0), report: t.report };
  } finally {
    await sb?.stop();
  }
}

/** The canary scenario of the sandbox, with benchmark 1's timings. */
function canaryScenario() {
  const base = pipelineScenario({ buildMs: 1000, windowMs: 3000, intervalMs: 1000, smokeSamples: 3 });
  return {
    ...base,
    extends: 'canary',
    description: 'benchmark 4: canary 10/50/100',
    inputs: { ...base.inputs, 'step-duration': '2s' },
  };
}

/**
 * Runs benchmark 4. `blueGreen`: benchmark 1's runs (calls on the epoch clock); without them one
 * blue-green deploy is run here.
 */
export async function benchApiCalls(
  o: { dist: string; blueGreen?: RunCalls[] },
  log: (line: string) => void,
): Promise<ApiCallsResult> {
  const bg =
    o.blueGreen && o.blueGreen.length > 0
      ? o.blueGreen
      : [await runOnce(o.dist, pipelineScenario({ buildMs: 1000, windowMs: 3000, intervalMs: 1000, smokeSamples: 3 }))];
  const canary = [await runOnce(o.dist, canaryScenario())];
  const deploys = [summarise('blue-green', bg), summarise('canary', canary)];
  for (const d of deploys)
    log(
      `  ${d.strategy}: ${d.total} API calls (${Object.entries(d.byService)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`,
    );
  for (const d of deploys) {
    log(`  ${d.strategy}, calls of the first run by operation:`);
    for (const [op, n] of d.byOp) log(`    ${String(n).padStart(3)}  ${op}`);
  }
  const perHour: ApiCallsResult['perHour'] = [];
  for (const d of deploys) {
    for (const provider of Object.keys(LIMITS) as (keyof typeof LIMITS)[]) {
      const calls = limitedCalls(d, provider);
      const perHourLimit = LIMITS[provider].requests * (3_600_000 / LIMITS[provider].perMs);
      perHour.push({
        provider,
        strategy: d.strategy,
        calls,
        deploys: calls ? Math.floor(perHourLimit / calls) : Infinity,
      });
    }
  }
  const binding = deploys.map((d) => {
    const rows = perHour.filter((p) => p.strategy === d.strategy).sort((a, b) => a.deploys - b.deploys);
    return { strategy: d.strategy, provider: rows[0]!.provider, deploys: rows[0]!.deploys };
  });
  return { deploys, perHour, binding };
}
