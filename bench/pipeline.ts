/**
 * Benchmark 1, pipeline overhead: full `blue-green` deploys against the sandbox with a latency injected
 * on every API call and a fixed build time and validation window. Wall time (spawn → exit) against the
 * lower bound of lib/lower-bound.ts; per step, the time against the step's bound, the time some API call
 * was in flight, and the longest idle gaps — where the overhead sits. One run without injected latency
 * (full mode) counts how many round trips the action actually waits for one after another.
 */
import { CLOUDFLARE_DEFAULTS } from '../sandbox/services/cloudflare.ts';
import { runTimed } from './lib/action.ts';
import { type BoundTerm, lowerBound } from './lib/lower-bound.ts';
import { NODE } from './lib/paths.ts';
import { apiRtt, benchSandbox, probeRtt, requests, sandboxState, type Sandbox } from './lib/sandbox.ts';
import { timeToFirstLine } from './lib/spawn.ts';
import { median, medianIndex, medianOfFinite } from './lib/stats.ts';
import {
  type Call,
  type HeldWrite,
  type StepTimeline,
  heldGithubWrites,
  isGithubWrite,
  stepTimelines,
  toCalls,
} from './lib/timeline.ts';
import type { Report } from '../src/pipeline/types.ts';

export interface PipelineOptions {
  dist: string;
  runs: number;
  latencyMs: number;
  buildMs: number;
  windowMs: number;
  intervalMs: number;
  smokeSamples: number;
  /** Also run once without injected latency, to count the round trips waited for in sequence. */
  zeroLatencyRun: boolean;
}

export interface PipelineRun {
  /** Epoch ms of the spawn: `calls` and `steps` are on the run's clock (ms after it). */
  spawnedAt: number;
  wallMs: number;
  rttMs: number;
  edgeMs: number;
  calls: Call[];
  steps: StepTimeline[];
  report: Report;
  /** Green's build as the sandbox ran it (creation → READY), and how long after READY the action saw it. */
  build?: { ms: number; readySeenAfterMs: number };
}

export interface PipelineResult {
  options: PipelineOptions;
  runs: PipelineRun[];
  /** Index of the run with the median wall time (its timeline is the one shown). */
  shown: number;
  nodeStartMs: number;
  bound: { totalMs: number; roundTrips: number; terms: BoundTerm[] };
  wallMs: number;
  ratio: number;
  /** Wall time of the run without injected latency, and the round trips waited for in sequence. */
  zeroLatency?: { wallMs: number; sequentialRoundTrips: number };
  /** Median per step over the runs: measured duration and its bound. */
  stepMedians: {
    step: string;
    ms: number;
    boundMs: number;
    apiBusyMs: number;
    calls: number;
    maxConcurrency: number;
  }[];
  /** Median over the runs: how long after green was READY the action read it as READY. */
  readySeenAfterMs?: number;
  /** GitHub writes held back by the client's spacing, in the shown run. */
  heldWrites: HeldWrite[];
  /** GitHub writes in the shown run. */
  githubWrites: number;
}

/** The scenario: `default` (v1 live on blue, v2 deployed blue-green through Cloudflare) with fixed timings. */
export function pipelineScenario(o: Pick<PipelineOptions, 'buildMs' | 'windowMs' | 'intervalMs' | 'smokeSamples'>) {
  // Each sample asks about a window that ended this long ago (Datadog's data arrives late): set here, not
  // inherited, because the bound counts it. The input's default is 60 s; 1 s keeps the benchmark short.
  return {
    extends: 'default',
    description: 'benchmark 1: blue-green with a fixed build time and validation window',
    // A 1 MiB backup of one part, generated: the S3 path is exercised without PostgreSQL's own time.
    postgres: { enabled: false },
    timings: { buildMs: o.buildMs },
    inputs: {
      'backup-command': BACKUP_1MIB,
      'validation-window': `${o.windowMs}ms`,
      'validation-interval': `${o.intervalMs}ms`,
      'smoke-samples': String(o.smokeSamples),
      'evaluation-delay': `${EVALUATION_DELAY_MS}ms`,
    },
  };
}

/** The benchmarks' `evaluation-delay`. */
export const EVALUATION_DELAY_MS = 1000;

/** 1 MiB of AES-CTR keystream: deterministic, incompressible, generated in a few ms. */
export const BACKUP_1MIB =
  'head -c 1048576 /dev/zero | openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f -iv 00000000000000000000000000000000';

/** Median time to the first line of an empty script on Node 24 (the floor of any action's start). */
export async function nodeStart(runs = 5): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    times.push((await timeToFirstLine(NODE, ['-e', 'console.log(1)'], { env: { PATH: process.env.PATH ?? '' } })).ms);
  }
  return median(times);
}

/** When the sandbox made green READY, and the first read of green that saw it (run's clock). */
async function greenBuild(sb: Sandbox, greenId: string | undefined, calls: Call[], t0: number) {
  const state = (await sandboxState(sb)) as {
    vercel?: { deployments?: { id: string; createdAt: string; readyAt: string | null }[] };
  };
  const green = state.vercel?.deployments?.find((d) => d.id === greenId);
  if (!green?.readyAt) return undefined;
  const readyAt = Date.parse(green.readyAt) - t0;
  const seen = calls.filter((c) => c.path === `/v13/deployments/${green.id}` && c.method === 'GET' && c.end >= readyAt);
  if (seen.length === 0) return undefined;
  return {
    ms: readyAt - (Date.parse(green.createdAt) - t0),
    readySeenAfterMs: Math.min(...seen.map((c) => c.end)) - readyAt,
  };
}

async function oneRun(o: PipelineOptions, latencyMs: number): Promise<PipelineRun> {
  let sb: Sandbox | undefined;
  try {
    sb = await benchSandbox(pipelineScenario(o), { latencyMs });
    const rttMs = await apiRtt(sb);
    const edgeMs = await probeRtt(`${sb.urls.production}/api/health`);
    const t = await runTimed(o.dist, sb.env, { status: 'success' });
    const calls = toCalls(await requests(sb), t.spawnedAt);
    const build = await greenBuild(sb, t.run.outputs['deployment-id'], calls, t.spawnedAt);
    return {
      spawnedAt: t.spawnedAt,
      wallMs: t.wallMs,
      rttMs,
      edgeMs,
      calls,
      steps: stepTimelines(calls, t.report.steps, t.spawnedAt),
      report: t.report,
      build,
    };
  } finally {
    await sb?.stop();
  }
}

/** Runs benchmark 1; `log` receives one line per run. */
export async function benchPipeline(o: PipelineOptions, log: (line: string) => void): Promise<PipelineResult> {
  const nodeStartMs = await nodeStart();
  const runs: PipelineRun[] = [];
  for (let i = 0; i < o.runs; i++) {
    const r = await oneRun(o, o.latencyMs);
    log(`  run ${i + 1}/${o.runs}: ${(r.wallMs / 1000).toFixed(2)} s, ${r.calls.length} API calls`);
    runs.push(r);
  }
  const walls = runs.map((r) => r.wallMs);
  const shown = medianIndex(walls);
  const bound = lowerBound({
    rttMs: median(runs.map((r) => r.rttMs)),
    edgeMs: median(runs.map((r) => r.edgeMs)),
    nodeStartMs,
    buildMs: o.buildMs,
    windowMs: o.windowMs,
    evaluationDelayMs: EVALUATION_DELAY_MS,
    smokeSamples: o.smokeSamples,
    // The sandbox's Cloudflare probes every origin this often (the pipeline scenario keeps its default).
    healthProbeMs: CLOUDFLARE_DEFAULTS.healthIntervalMs,
  });
  const wallMs = median(walls);
  const stepNames = runs[shown]!.steps.map((s) => s.name);
  const stepMedians = stepNames.map((step) => {
    const rows = runs.map((r) => r.steps.find((s) => s.name === step)).filter((s) => s !== undefined);
    const boundMs = bound.terms.filter((t) => t.step === step).reduce((a, t) => a + t.ms, 0);
    return {
      step,
      ms: median(rows.map((s) => s.durationMs)),
      boundMs,
      apiBusyMs: median(rows.map((s) => s.apiBusyMs)),
      calls: Math.round(median(rows.map((s) => s.calls))),
      maxConcurrency: Math.round(median(rows.map((s) => s.maxConcurrency))),
    };
  });
  // What follows the last step (report, outputs, exit) has no bound of its own: it belongs to no step.
  const lastEnd = (r: PipelineRun) => Math.max(...r.steps.map((s) => s.start + s.durationMs));
  stepMedians.push({
    step: 'exit',
    ms: median(runs.map((r) => r.wallMs - lastEnd(r))),
    boundMs: 0,
    apiBusyMs: 0,
    calls: 0,
    maxConcurrency: 0,
  });
  let zeroLatency: PipelineResult['zeroLatency'];
  if (o.zeroLatencyRun && o.latencyMs > 0) {
    const z = await oneRun(o, 0);
    log(`  run without injected latency: ${(z.wallMs / 1000).toFixed(2)} s`);
    zeroLatency = { wallMs: z.wallMs, sequentialRoundTrips: (wallMs - z.wallMs) / o.latencyMs };
  }
  return {
    options: o,
    runs,
    shown,
    nodeStartMs,
    bound,
    wallMs,
    ratio: wallMs / bound.totalMs,
    zeroLatency,
    stepMedians,
    readySeenAfterMs: medianOfFinite(runs.map((r) => r.build?.readySeenAfterMs)),
    heldWrites: heldGithubWrites(runs[shown]!.calls),
    githubWrites: runs[shown]!.calls.filter(isGithubWrite).length,
  };
}
