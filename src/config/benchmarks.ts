/** `benchmark-thresholds`: one `NAME<=VALUE` or `NAME>=VALUE` per line. */
import type { BenchmarkThreshold } from './types.js';
import { fail } from './errors.js';
import { parseLines } from './list.js';

export const BENCHMARK_THRESHOLDS_ACCEPTS =
  "one bound per line, 'NAME<=VALUE' or 'NAME>=VALUE' with a number VALUE (e.g. 'render p95<=120')";

// The name is everything up to the last operator, so names may contain spaces, commas and '<' or '>'.
const LINE = /^(.*\S)\s*(<=|>=)\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)$/;

/** Parses every line; a name may carry one upper and one lower bound, not two of the same kind. */
export function parseBenchmarkThresholds(raw: string, input = 'benchmark-thresholds'): BenchmarkThreshold[] {
  const seen = new Set<string>();
  return parseLines(raw).map((line) => {
    const m = LINE.exec(line);
    if (!m) return fail(input, line, BENCHMARK_THRESHOLDS_ACCEPTS);
    const value = Number(m[3]);
    if (!Number.isFinite(value)) fail(input, line, BENCHMARK_THRESHOLDS_ACCEPTS);
    const op = m[2] as BenchmarkThreshold['op'];
    const key = `${m[1]}\u0000${op}`;
    if (seen.has(key)) fail(input, line, `${BENCHMARK_THRESHOLDS_ACCEPTS}; each name at most once per operator`);
    seen.add(key);
    return { name: m[1]!, op, value };
  });
}
