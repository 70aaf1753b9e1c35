/**
 * The decision benchmark's headline figures from its cells, and the goals they are held to:
 * false rollbacks ≤ 1 % in every cell; misses ≤ 5 % for releases ≥ 2× worse at ≥ 2 requests/s; a
 * bad release never passes where the traffic is too low for a verdict.
 */
import type { CellResult, JudgeFigures } from './cells.ts';

export type Judge = 'sequential' | 'threshold';

export interface Summary {
  /** Highest false-rollback rate over the good cells. */
  falseRollbacks: Record<Judge, number>;
  /** Highest miss rate over the cells ≥ 2× worse (or slower) at ≥ 2 requests/s. */
  misses: Record<Judge, number>;
  /** Highest pass rate of a release ≥ 2× worse at any traffic. */
  anyBadPass: Record<Judge, number>;
  /** Median over the detected error cells ≥ 2× worse at ≥ 2 requests/s of blast / least blast. */
  blast: Record<Judge, number>;
  goals: { falseRollbacks: boolean; misses: boolean; neverPassedBelow: boolean };
}

export const rate = (n: number, of: number) => (of > 0 ? n / of : NaN);

/** Upper end of the 95 % Wilson interval of k successes in n: the most the true rate may be. */
export function wilsonUpper(k: number, n: number, z = 1.96): number {
  if (n === 0) return 1;
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = p + (z * z) / (2 * n);
  const w = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return Math.min(1, (c + w) / d);
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The factor by which a cell's release is worse (errors) or slower (latency). */
export function badness(r: CellResult): number {
  return r.cell.kind === 'slower' ? r.cell.latencyFactor : r.cell.errorFactor;
}

export function summarize(results: CellResult[]): Summary {
  const judges: Judge[] = ['sequential', 'threshold'];
  const max = (xs: number[]) => (xs.length ? Math.max(...xs) : 0);
  const of = (j: Judge, pick: (f: JudgeFigures) => number, cells: CellResult[]) =>
    max(cells.map((r) => rate(pick(r[j]), r[j].runs)));
  const good = results.filter((r) => r.cell.kind === 'good');
  const bad2 = results.filter((r) => r.cell.kind !== 'good' && badness(r) >= 2);
  const goalCells = bad2.filter((r) => r.cell.rate >= 2);
  const blastCells = goalCells.filter((r) => r.cell.kind === 'worse' && Number.isFinite(r.blastMin));
  const out = {} as Omit<Summary, 'goals'>;
  out.falseRollbacks = { sequential: 0, threshold: 0 };
  out.misses = { sequential: 0, threshold: 0 };
  out.anyBadPass = { sequential: 0, threshold: 0 };
  out.blast = { sequential: NaN, threshold: NaN };
  for (const j of judges) {
    out.falseRollbacks[j] = of(j, (f) => f.rollbacks, good);
    out.misses[j] = of(j, (f) => f.passed, goalCells);
    out.anyBadPass[j] = of(j, (f) => f.passed, bad2);
    out.blast[j] = median(blastCells.filter((r) => r[j].rollbacks > 0).map((r) => r[j].meanBlast / r.blastMin));
  }
  return {
    ...out,
    goals: {
      falseRollbacks: out.falseRollbacks.sequential <= 0.01,
      misses: out.misses.sequential <= 0.05,
      neverPassedBelow: out.anyBadPass.sequential <= 0.05,
    },
  };
}

/** `0.0 %`, `12.5 %` */
export function pct(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : 'n/a';
}

/** The last line `npm run bench:decisions` prints (of the sequential judge, the action's). */
export function lastLine(s: Summary): string {
  const blast = Number.isFinite(s.blast.sequential) ? s.blast.sequential.toFixed(1) : 'n/a';
  return (
    `decision quality: false rollbacks ≤ ${pct(s.falseRollbacks.sequential)}, ` +
    `misses ≤ ${pct(s.misses.sequential)} (≥ 2× worse, ≥ 2 req/s), blast radius ${blast}×`
  );
}
