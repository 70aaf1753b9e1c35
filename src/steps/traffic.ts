/**
 * Step 5, traffic switch: move production from blue to green along `traffic-steps`, one provider
 * call per step, verifying after each that real requests to `production-url` reach green in about
 * the expected share, and holding each step but the last for `step-duration` with analysis
 * (`analyzeStep`, the validate hook). Before the first mutation the exact prior state is in the
 * run state (and in the GitHub deployment's payload): any failure here makes the runner restore it
 * at once (`restoreFor`), and a run killed mid-switch is restored by the post step (`reconcile`).
 * Both go through the one restore, `restoreBlue` (src/traffic/restore.ts).
 */
import type { RunContext, RunStep } from '../pipeline/context.js';
import { STEP_TITLES } from '../pipeline/modes.js';
import type { RestoreFn } from '../pipeline/restore.js';
import type { DeploymentRef, Logger, StepOutcome, TrafficSnapshot } from '../pipeline/types.js';
import type { Providers } from '../providers/index.js';
import { formatSpan } from '../analysis/format.js';
import { startHeartbeat, writeHeartbeat } from '../records/heartbeat.js';
import { createTrafficManager, restoreBlue, type RoutingCheck, type TrafficManager } from '../traffic/index.js';
import { describeSnapshot, sameTraffic } from '../traffic/snapshot.js';
import type { Config } from '../config/types.js';
import { analyzeStep as defaultAnalyzeStep, type StepAnalysis } from './traffic/hold.js';
import { errorMessage } from '../text.js';

/** Holds one traffic step and analyses production meanwhile (the validate hook's `analyzeStep`). */
export type StepAnalyzer = (
  ctx: RunContext,
  opts: { share: number; durationMs: number; last?: boolean },
) => Promise<StepAnalysis>;

/** One entry of the weight history in the step's details (and the report). */
export interface WeightStep {
  at: string;
  share: number;
  routing: string;
  /** Green's measured share (percent) of the verification batch. */
  measured?: number;
  counts?: Record<string, number>;
  verified: 'ok' | 'failed';
  reason: string;
  /** What the hold's analysis said (non-final steps). */
  analysis?: string;
}

/** The traffic step; `analyzeStep` is injectable for tests. */
export function createTrafficStep(opts: { analyzeStep?: StepAnalyzer } = {}): RunStep {
  const analyze = opts.analyzeStep ?? defaultAnalyzeStep;
  return {
    name: 'traffic',
    title: STEP_TITLES.traffic,
    async run(ctx): Promise<StepOutcome> {
      const { config } = ctx;
      if (config.mode !== 'deploy') return { status: 'skipped', reason: `not part of mode ${config.mode}` };
      // The state recorded with the GitHub deployment; an armed one (a restored run state) as it is.
      const { green, blue } = ctx.state;
      const recorded = ctx.state.trafficBefore ?? ctx.state.rollbackTarget;
      if (!green || !blue || !recorded) {
        return {
          status: 'failed',
          reason: 'no staged green and recorded traffic state: the deploy step did not finish',
        };
      }
      const history: WeightStep[] = [];
      const details: Record<string, unknown> = { weightHistory: history, steps: config.traffic.steps };
      try {
        return await switchTraffic(ctx, analyze, { green, blue, snapshot: recorded }, history, details);
      } catch (err) {
        const at = ctx.state.greenShare ?? 0;
        return { status: 'failed', reason: `${errorMessage(err)} (green at ${at}%)`, details };
      }
    },
  };
}

export const trafficStep = createTrafficStep();

async function switchTraffic(
  ctx: RunContext,
  analyze: StepAnalyzer,
  run: { green: DeploymentRef; blue: DeploymentRef; snapshot: TrafficSnapshot },
  history: WeightStep[],
  details: Record<string, unknown>,
): Promise<StepOutcome> {
  const { config, log } = ctx;
  const { green, blue, snapshot } = run;
  const manager = ctx.traffic();

  // Switch only from the state the record holds: anything else would make the record's undo wrong.
  const live = await manager.readLive();
  if (live.blue.id === green.id && live.strayShare === 0) {
    return alreadyLive(ctx, manager, run, history);
  }
  if (!sameTraffic(live.snapshot, snapshot)) {
    return {
      status: 'failed',
      reason:
        `production changed since the rollback target was recorded (recorded: ${describeSnapshot(snapshot)}; now: ` +
        `${describeSnapshot(live.snapshot)}); no traffic was moved`,
      details,
    };
  }

  // Every step is verified by attributing production's answers to green or blue: refuse now, before
  // anything moves, when their own URLs cannot be told apart (a check that cannot see is no pass).
  const attribution = await manager.attributable(green, blue);
  details.attribution = attribution.reason;
  if (!attribution.ok) {
    return { status: 'failed', reason: `refused before any traffic moved: ${attribution.reason}`, details };
  }
  log.info(`Answers are attributed by ${attribution.reason}`);

  // The restore is armed before the first mutation (the state store persists synchronously).
  ctx.update({ phase: 'switching', greenShare: 0, trafficBefore: snapshot });
  details.prepared = await manager.prepareGreen(green, snapshot);

  const steps = config.traffic.steps;
  for (const [i, pct] of steps.entries()) {
    const routing = await manager.setGreenShare(pct, green, snapshot);
    ctx.update({ greenShare: pct });
    const entry = await verifyStep(manager, pct, green, blue, routing, log);
    history.push(entry);
    if (entry.verified === 'failed') {
      return { status: 'failed', reason: `routing check at ${pct}% failed: ${entry.reason}`, details };
    }
    // An `in_progress` status with the current share: progress in GitHub's UI, and the lock's heartbeat.
    // The last one is not waited for: the run's GitHub writes go in order, and the run's closing waits
    // for them (main.ts) before another client writes the record's final status.
    const beatWritten = writeHeartbeat(
      ctx,
      `Traffic: green at ${pct}%${entry.measured !== undefined ? ` (measured ${entry.measured.toFixed(0)}%)` : ''}`,
    );
    if (i === steps.length - 1) break;
    await beatWritten;
    const beat = startHeartbeat(
      ctx,
      (t) => `Traffic: green at ${pct}%, held ${t} of ${formatSpan(config.traffic.stepDurationMs)}`,
    );
    const held = await analyze(ctx, {
      share: pct,
      durationMs: config.traffic.stepDurationMs,
      last: i === steps.length - 2,
    }).finally(beat);
    entry.analysis = held.reason;
    if (!held.ok) {
      return {
        status: 'failed',
        reason: `analysis at ${pct}% stopped the rollout: ${held.reason}`,
        details: { ...details, analysis: held.details },
        ...(held.stopWithoutRollback ? { stopWithoutRollback: true } : {}),
      };
    }
    // Production may have drifted during the hold (another change to the load balancer): look again.
    const after = await manager.verify({ share: pct, green, blue });
    if (!after.ok)
      return { status: 'failed', reason: `routing at ${pct}% drifted during the hold: ${after.reason}`, details };
  }
  ctx.update({ phase: 'switched', greenShare: 100 });
  const shares = history
    .map((h) => `${h.share}%${h.measured !== undefined ? ` (measured ${h.measured.toFixed(0)}%)` : ''}`)
    .join(' → ');
  return {
    status: 'passed',
    reason: `green ${green.id} serves production: ${shares}`,
    checks: history.map((h) => ({
      name: `Green at ${h.share}%`,
      status: h.verified === 'ok' ? 'pass' : 'fail',
      reason: [h.reason, h.analysis].filter(Boolean).join('; '),
      details: { routing: h.routing, ...(h.counts ? { counts: h.counts } : {}) },
    })),
    details,
  };
}

async function verifyStep(
  manager: TrafficManager,
  pct: number,
  green: DeploymentRef,
  blue: DeploymentRef,
  routing: string,
  log: Logger,
): Promise<WeightStep> {
  const check: RoutingCheck = await manager.verify({ share: pct, green, blue });
  const base = { at: new Date().toISOString(), share: pct, routing, reason: check.reason };
  if (check.ok) log.info(`Routing at ${pct}%: ${check.reason}`);
  else log.error(`Routing at ${pct}%: ${check.reason}`);
  return { ...base, measured: check.measured, counts: check.counts, verified: check.ok ? 'ok' : 'failed' };
}

/** A re-run whose earlier attempt already switched: verify, and carry on to validation. */
async function alreadyLive(
  ctx: RunContext,
  manager: TrafficManager,
  run: { green: DeploymentRef; blue: DeploymentRef; snapshot: TrafficSnapshot },
  history: WeightStep[],
): Promise<StepOutcome> {
  ctx.update({ phase: 'switching', trafficBefore: run.snapshot });
  const entry = await verifyStep(manager, 100, run.green, run.blue, 'unchanged (already live)', ctx.log);
  history.push(entry);
  if (entry.verified === 'failed')
    return {
      status: 'failed',
      reason: `green is live but routing says otherwise: ${entry.reason}`,
      details: { weightHistory: history },
    };
  ctx.update({ phase: 'switched', greenShare: 100 });
  return {
    status: 'passed',
    reason: `green ${run.green.id} already serves production (an earlier attempt switched it); nothing moved`,
    details: { weightHistory: history },
  };
}

/**
 * The runner's restore (registry `restoreFor`): `restoreBlue` over a traffic manager bound to the
 * restore's own deadline (`rollback-timeout`), not to the run's signal: a restore must not be cut
 * short by the cancellation of the run it is making safe. Throws when it fails, so the runner
 * reports it loudly.
 */
export function restoreFor(run: { config: Config; providers: Providers; log: Logger }): RestoreFn | undefined {
  const { config, providers, log } = run;
  if (config.mode !== 'deploy') return undefined;
  return async (state, reason, signal) => {
    providers.rateLimits?.startRestore(config.validation.rollbackTimeoutMs);
    await restoreBlue(createTrafficManager(config, providers, log, signal), state, reason, log);
  };
}
