/**
 * Benchmark 6, time back to safety: a `blue-green` deploy of the sandbox's `default` world (v2 live),
 * then at once a second run with `mode: rollback` (`rollback-to: previous`), with a latency injected
 * on every API call. Measured from the rollback's spawn: when the load balancer first served blue
 * again after green's last request (the sandbox's traffic stream, not the action's log), and when the
 * action exited (its final records written). The rollback's `validation-window` is 0: watching the
 * restored release is a choice of the workflow, not time spent getting back.
 *
 * The bound is what no rollback can avoid: Node's start, one traffic change (one API round trip) and
 * one confirmed health read. With Datadog configured, the read that confirms the target healthy is a
 * sample of its own traffic after the change: one `validation-interval` of data, asked for
 * `evaluation-delay` later (Datadog's data arrives late), one round trip. Both bounds are reported:
 * with that wait (the goal's figure) and with a health read of one round trip (what the traffic plane
 * alone would allow).
 */
import type { LbHit } from '../sandbox/core/world.ts';
import { runTimed } from './lib/action.ts';
import { apiRtt, benchSandbox, clearRequests, requests, type Sandbox } from './lib/sandbox.ts';
import { median, medianIndex } from './lib/stats.ts';
import { type Call, toCalls } from './lib/timeline.ts';
import { EVALUATION_DELAY_MS, nodeStart, pipelineScenario } from './pipeline.ts';

/** The scenario's `validation-interval`: the rollback's one health sample covers this much traffic. */
const ROLLBACK_INTERVAL_MS = 1000;

export interface RollbackOptions {
  dist: string;
  runs: number;
  latencyMs: number;
  /** Requests per second of the traffic stream: its resolution is 1000 / rate ms. */
  trafficRate: number;
}

export interface RollbackRun {
  rttMs: number;
  /** Rollback spawn → exit. */
  wallMs: number;
  /** Rollback spawn → the first request the load balancer sent to blue after green's last one. */
  servedMs: number;
  /** The rollback's API calls, on its clock (ms after the spawn). */
  calls: Call[];
  /** Spawn → the rollback step's start, from its report (bundle load, config, providers). */
  stepStartMs?: number;
}

export interface RollbackResult {
  options: RollbackOptions;
  runs: RollbackRun[];
  shown: number;
  nodeStartMs: number;
  rttMs: number;
  /** Node start + 1 round trip + the confirmed health read (interval + evaluation-delay + 1 round trip). */
  boundMs: number;
  /** The health sample's wait in the bound: one `validation-interval` + `evaluation-delay`. */
  healthWaitMs: number;
  /** Node start + 2 round trips: the bound without the health sample's wait. */
  trafficBoundMs: number;
  /** spawn → exit against `trafficBoundMs`. */
  trafficRatio: number;
  wallMs: number;
  servedMs: number;
  ratio: number;
  servedRatio: number;
}

async function oneRun(o: RollbackOptions): Promise<RollbackRun> {
  let sb: Sandbox | undefined;
  try {
    const scenario = {
      ...pipelineScenario({ buildMs: 1000, windowMs: 2000, intervalMs: ROLLBACK_INTERVAL_MS, smokeSamples: 1 }),
      description: 'benchmark 6: rollback right after a deploy',
      // The deploy is only the set-up: on a loaded machine its latency check must not roll it back.
      inputs: {
        ...pipelineScenario({ buildMs: 1000, windowMs: 2000, intervalMs: ROLLBACK_INTERVAL_MS, smokeSamples: 1 })
          .inputs,
        'performance-threshold-ms': '5000',
      },
      traffic: { rate: o.trafficRate },
    };
    sb = await benchSandbox(scenario, { latencyMs: o.latencyMs });
    const deploy = await runTimed(o.dist, sb.env, { status: 'success' });
    const green = deploy.run.outputs['deployment-id'];
    const blue = deploy.run.outputs['previous-deployment-id'];
    const rttMs = await apiRtt(sb);
    await clearRequests(sb);
    const env = { ...sb.env, GITHUB_RUN_ID: String(Number(sb.env.GITHUB_RUN_ID) + 1) };
    const t = await runTimed(
      o.dist,
      env,
      { status: 'success' },
      {
        mode: 'rollback',
        'rollback-to': 'previous',
        reason: 'benchmark 6',
        'validation-window': '0s',
      },
    );
    if (t.run.outputs['deployment-id'] !== blue) {
      throw new Error(`the rollback went to ${t.run.outputs['deployment-id']}, not blue ${blue}`);
    }
    const hits = (sb.world.hits as LbHit[])
      .filter((h) => h.synthetic)
      .map((h) => ({ start: h.time - h.latencyMs, id: h.deploymentId }));
    const greenHits = hits.filter((h) => h.id === green && h.start >= t.spawnedAt).map((h) => h.start);
    const lastGreen = greenHits.length ? Math.max(...greenHits) : t.spawnedAt;
    const back = hits.filter((h) => h.id === blue && h.start > lastGreen).map((h) => h.start);
    if (back.length === 0) throw new Error('the traffic stream never saw blue again after the rollback');
    const step = t.report.steps.find((s) => s.name === 'rollback');
    return {
      rttMs,
      wallMs: t.wallMs,
      servedMs: Math.min(...back) - t.spawnedAt,
      calls: toCalls(await requests(sb), t.spawnedAt),
      stepStartMs: step ? Date.parse(step.startedAt) - t.spawnedAt : undefined,
    };
  } finally {
    await sb?.stop();
  }
}

/** Runs benchmark 6; `log` receives one line per run and the shown run's calls. */
export async function benchRollback(o: RollbackOptions, log: (line: string) => void): Promise<RollbackResult> {
  const nodeStartMs = await nodeStart();
  const runs: RollbackRun[] = [];
  for (let i = 0; i < o.runs; i++) {
    const r = await oneRun(o);
    log(
      `  run ${i + 1}/${o.runs}: blue serving after ${Math.round(r.servedMs)} ms, exit after ${Math.round(r.wallMs)} ms, ` +
        `${r.calls.length} API calls (step started at ${Math.round(r.stepStartMs ?? NaN)} ms)`,
    );
    runs.push(r);
  }
  const walls = runs.map((r) => r.wallMs);
  const shown = medianIndex(walls);
  for (const c of runs[shown]!.calls) {
    log(`    ${Math.round(c.start)}–${Math.round(c.end)} ms ${c.service} ${c.method} ${c.op} ${c.status ?? ''}`);
  }
  const rttMs = median(runs.map((r) => r.rttMs));
  const healthWaitMs = ROLLBACK_INTERVAL_MS + EVALUATION_DELAY_MS;
  const trafficBoundMs = nodeStartMs + 2 * rttMs;
  const boundMs = trafficBoundMs + healthWaitMs;
  const wallMs = median(walls);
  const servedMs = median(runs.map((r) => r.servedMs));
  return {
    options: o,
    runs,
    shown,
    nodeStartMs,
    rttMs,
    boundMs,
    healthWaitMs,
    trafficBoundMs,
    trafficRatio: wallMs / trafficBoundMs,
    wallMs,
    servedMs,
    ratio: wallMs / boundMs,
    servedRatio: servedMs / trafficBoundMs,
  };
}
