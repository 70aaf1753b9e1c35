/**
 * The grid of the decision benchmark, the runs of each cell under both judges, and the per-cell
 * figures: false rollbacks, misses, inconclusive ends, time to detection and blast radius against
 * the least any judge needs.
 */
import { marginAt } from '../../src/analysis/compare.ts';
import { type Outcome, type Plan, type Scenario, runSequential, runThreshold } from './judges.ts';
import { BUCKET_MS, Rng, seedOf } from './model.ts';

export const RATES = [0.2, 2, 20, 200];
export const BASE_RATES = [0.001, 0.01, 0.05];
export const ERROR_FACTORS = [1, 1.5, 2, 5];
export const LATENCY_FACTORS = [1, 1.5, 2];
export const LATENCY_RATES = [2, 20, 200];
/**
 * The step-advance cells: a canary at 30 req/s over a 1 % baseline, a good release and one 8× worse.
 * Does the bad one meet its verdict at the first step (10 %), or pass early steps on the minimum sample?
 */
export const STEP_CELLS = { rate: 30, baseRate: 0.01, errorFactors: [1, 8] } as const;

export interface Cell extends Scenario {
  id: number;
  /** What the release is: good, worse (errors), slower (latency). */
  kind: 'good' | 'worse' | 'slower';
  runs: number;
}

/** The grid: every error cell, and latency cells over a 1 % baseline with good error rates. */
export function grid(runsGood: number, runsBad: number): Cell[] {
  const cells: Cell[] = [];
  let id = 0;
  for (const strategy of ['canary', 'blue-green'] as const) {
    for (const baseRate of BASE_RATES) {
      for (const rate of RATES) {
        for (const errorFactor of ERROR_FACTORS) {
          cells.push({
            id: id++,
            strategy,
            rate,
            baseRate,
            errorFactor,
            latencyFactor: 1,
            latency: false,
            kind: errorFactor === 1 ? 'good' : 'worse',
            runs: errorFactor === 1 ? runsGood : runsBad,
          });
        }
      }
    }
    if (strategy === 'canary') {
      for (const errorFactor of STEP_CELLS.errorFactors) {
        cells.push({
          id: id++,
          strategy,
          rate: STEP_CELLS.rate,
          baseRate: STEP_CELLS.baseRate,
          errorFactor,
          latencyFactor: 1,
          latency: false,
          kind: errorFactor === 1 ? 'good' : 'worse',
          runs: errorFactor === 1 ? runsGood : runsBad,
        });
      }
    }
    for (const rate of LATENCY_RATES) {
      for (const latencyFactor of LATENCY_FACTORS) {
        if (latencyFactor === 1) continue; // the good latency cell is the good error cell with latency on
        cells.push({
          id: id++,
          strategy,
          rate,
          baseRate: 0.01,
          errorFactor: 1,
          latencyFactor,
          latency: true,
          kind: 'slower',
          runs: runsBad,
        });
      }
      cells.push({
        id: id++,
        strategy,
        rate,
        baseRate: 0.01,
        errorFactor: 1,
        latencyFactor: 1,
        latency: true,
        kind: 'good',
        runs: runsGood,
      });
    }
  }
  return cells;
}

export interface JudgeFigures {
  runs: number;
  rollbacks: number;
  passed: number;
  inconclusive: number;
  /** Of the inconclusive runs, those that ended with green at 100 % (held there under `hold`). */
  inconclusiveAtFull: number;
  /** Median ms from the switch to a rollback (bad releases only), NaN when none. */
  medianDetectMs: number;
  /** Mean excess failures over the rolled-back runs (bad error releases only). */
  meanBlast: number;
  /** Rolled-back runs by green's share (percent) when the rollback was decided. */
  rollbackShares: Record<number, number>;
}

export interface CellResult {
  cell: Cell;
  seed: number;
  sequential: JudgeFigures;
  threshold: JudgeFigures;
  /** The least excess failures any judge needs (NaN when the release is within the margin). */
  blastMin: number;
}

function figures(outcomes: Outcome[], bad: boolean): JudgeFigures {
  const rolled = outcomes.filter((o) => o.result === 'rollback');
  const times = rolled.map((o) => o.atMs).sort((a, b) => a - b);
  const mid = times.length ? times[Math.floor((times.length - 1) / 2)]! : NaN;
  return {
    runs: outcomes.length,
    rollbacks: rolled.length,
    passed: outcomes.filter((o) => o.result === 'passed').length,
    inconclusive: outcomes.filter((o) => o.result === 'inconclusive').length,
    inconclusiveAtFull: outcomes.filter((o) => o.result === 'inconclusive' && o.share === 100).length,
    medianDetectMs: bad ? mid : NaN,
    meanBlast: bad && rolled.length ? rolled.reduce((a, o) => a + o.excessFailures, 0) / rolled.length : NaN,
    rollbackShares: rolled.reduce<Record<number, number>>((a, o) => ({ ...a, [o.share]: (a[o.share] ?? 0) + 1 }), {}),
  };
}

/** Bernoulli Kullback–Leibler divergence KL(p ‖ q). */
export function klBernoulli(p: number, q: number): number {
  const term = (x: number, y: number) => (x === 0 ? 0 : x * Math.log(x / y));
  return term(p, q) + term(1 - p, 1 - q);
}

/**
 * The least expected excess failures any judge needs before it can roll back a worse release with
 * these error probabilities: Wald's bound on the expected sample size of a sequential test
 * (E[N] ≥ ((1−β)·ln((1−β)/α) + β·ln(β/(1−α))) / KL(p_g ‖ p_b + m)), even knowing blue's rate exactly,
 * plus green's requests served while the first data is still on its way to Datadog (mean lag), at the
 * first step's share. NaN when green is within the margin.
 */
export function leastBlast(cell: Scenario, plan: Plan): number {
  const pb = cell.baseRate;
  const pg = Math.min(1, pb * cell.errorFactor);
  const h = pb + marginAt(pb, plan.policy.margin, plan.policy.relativeMargin);
  if (!(pg > h)) return NaN;
  const a = plan.policy.alpha;
  const b = plan.policy.beta;
  const wald = ((1 - b) * Math.log((1 - b) / a) + b * Math.log(b / (1 - a))) / klBernoulli(pg, h);
  const share = cell.strategy === 'canary' ? plan.steps[0]! / 100 : 1;
  const lagS = (plan.datadog.lagBaseMs + plan.datadog.lagMeanMs + BUCKET_MS / 2) / 1000;
  return (pg - pb) * (wald + cell.rate * share * lagS);
}

/** Run one cell under both judges (independent streams from the cell's seed). */
export function runCell(cell: Cell, plan: Plan, baseSeed: number): CellResult {
  const seed = seedOf(baseSeed, cell.id);
  const seq: Outcome[] = [];
  const thr: Outcome[] = [];
  for (let i = 0; i < cell.runs; i++) {
    seq.push(runSequential(cell, plan, new Rng(seedOf(seed, i, 1))));
    thr.push(runThreshold(cell, plan, new Rng(seedOf(seed, i, 2))));
  }
  const bad = cell.kind !== 'good';
  return {
    cell,
    seed,
    sequential: figures(seq, bad),
    threshold: figures(thr, bad),
    blastMin: cell.kind === 'worse' ? leastBlast(cell, plan) : NaN,
  };
}
