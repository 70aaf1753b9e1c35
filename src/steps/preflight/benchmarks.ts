/**
 * Pre-flight check 5: performance benchmarks. `benchmark-results` (github-action-benchmark's
 * customSmallerIsBetter format, `[{"name","unit","value"}]`) judged against `benchmark-thresholds`
 * (`NAME<=VALUE` / `NAME>=VALUE`). A named benchmark missing from the results fails. Pure.
 */
import type { BenchmarkThreshold } from '../../config/types.js';
import type { CheckResult } from '../../pipeline/types.js';
import type { BenchmarkEntry } from './types.js';
import type { Lookup } from '../checks.js';

export const BENCHMARK_CHECK = 'Benchmarks';

export interface BenchmarkData {
  /** The `benchmark-results` path as given. */
  path?: string;
  /** The file's text; absent when no path is configured. */
  content?: Lookup<string>;
}

/** Parse the results file; throws an Error naming what is wrong. */
export function parseBenchmarkResults(text: string): BenchmarkEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (!Array.isArray(data)) throw new Error('is not a JSON array of {"name","unit","value"}');
  return data.map((item: unknown, i) => {
    const e = item as Partial<Record<'name' | 'unit' | 'value', unknown>> | null;
    if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || e.name === '') {
      throw new Error(`entry ${i} has no "name"`);
    }
    if (typeof e.value !== 'number' || !Number.isFinite(e.value)) {
      throw new Error(`entry ${i} ('${e.name}') has no numeric "value"`);
    }
    return { name: e.name, unit: typeof e.unit === 'string' ? e.unit : '', value: e.value };
  });
}

function show(value: number, unit: string): string {
  return unit ? `${value} ${unit}` : String(value);
}

/** Benchmark check: every threshold's benchmark is present and meets its bound. */
export function evaluateBenchmarks(data: BenchmarkData, thresholds: readonly BenchmarkThreshold[]): CheckResult {
  const name = BENCHMARK_CHECK;
  if (thresholds.length === 0) {
    return {
      name,
      status: 'skipped',
      reason: data.path
        ? 'benchmark-results is set but benchmark-thresholds is empty: nothing to judge'
        : 'no benchmark-thresholds',
    };
  }
  if (!data.path || !data.content) {
    return { name, status: 'not-checked', reason: 'benchmark-thresholds is set but benchmark-results is not' };
  }
  if (!data.content.ok) {
    return {
      name,
      status: 'not-checked',
      reason: `could not read benchmark-results '${data.path}': ${data.content.error}`,
    };
  }
  let entries: BenchmarkEntry[];
  try {
    entries = parseBenchmarkResults(data.content.value);
  } catch (err) {
    return { name, status: 'fail', reason: `benchmark-results '${data.path}' ${(err as Error).message}` };
  }
  const byName = new Map<string, BenchmarkEntry>();
  // The last entry of a name wins, as a later run appended to the same file would.
  for (const e of entries) byName.set(e.name, e);
  const failures: string[] = [];
  const passes: string[] = [];
  const measured: { name: string; value?: number; unit?: string; op: string; bound: number; ok: boolean }[] = [];
  for (const t of thresholds) {
    const e = byName.get(t.name);
    if (!e) {
      failures.push(`'${t.name}' is missing from the results`);
      measured.push({ name: t.name, op: t.op, bound: t.value, ok: false });
      continue;
    }
    const ok = t.op === '<=' ? e.value <= t.value : e.value >= t.value;
    const text = `'${t.name}' ${show(e.value, e.unit)} (bound ${t.op} ${t.value})`;
    (ok ? passes : failures).push(text);
    measured.push({ name: t.name, value: e.value, unit: e.unit, op: t.op, bound: t.value, ok });
  }
  const details = { path: data.path, benchmarks: measured };
  if (failures.length > 0) {
    return { name, status: 'fail', reason: `failed: ${failures.join(', ')}`, details };
  }
  return {
    name,
    status: 'pass',
    reason: `${passes.length} ${passes.length === 1 ? 'benchmark meets its bound' : 'benchmarks meet their bounds'}: ${passes.join(', ')}`,
    details,
  };
}
