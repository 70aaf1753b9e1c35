import { describe, expect, it } from 'vitest';
import { evaluateBenchmarks, parseBenchmarkResults } from '../../../../src/steps/preflight/benchmarks.ts';
import { found, lookupFailed } from '../../../../src/steps/checks.ts';

const results = JSON.stringify([
  { name: 'p95 latency', unit: 'ms', value: 180 },
  { name: 'throughput', unit: 'req/s', value: 950 },
]);
const file = (text: string) => ({ path: 'bench.json', content: found(text) });

describe('parseBenchmarkResults', () => {
  it('reads the customSmallerIsBetter format and rejects malformed entries', () => {
    expect(parseBenchmarkResults(results)).toHaveLength(2);
    expect(() => parseBenchmarkResults('{')).toThrow(/not valid JSON/);
    expect(() => parseBenchmarkResults('{}')).toThrow(/not a JSON array/);
    expect(() => parseBenchmarkResults('[{"name":"a","value":"1"}]')).toThrow(/no numeric "value"/);
  });
});

describe('evaluateBenchmarks', () => {
  it('passes when every named benchmark meets its bound', () => {
    const r = evaluateBenchmarks(file(results), [
      { name: 'p95 latency', op: '<=', value: 200 },
      { name: 'throughput', op: '>=', value: 900 },
    ]);
    expect(r.status).toBe('pass');
    expect(r.reason).toContain("'p95 latency' 180 ms (bound <= 200)");
  });

  it('fails a benchmark over its bound and one missing from the results', () => {
    const r = evaluateBenchmarks(file(results), [
      { name: 'p95 latency', op: '<=', value: 150 },
      { name: 'cold start', op: '<=', value: 1000 },
    ]);
    expect(r.status).toBe('fail');
    expect(r.reason).toBe("failed: 'p95 latency' 180 ms (bound <= 150), 'cold start' is missing from the results");
  });

  it('fails malformed results', () => {
    expect(evaluateBenchmarks(file('not json'), [{ name: 'a', op: '<=', value: 1 }]).status).toBe('fail');
  });

  it('is not-checked when the results file cannot be read or is not configured', () => {
    const r = evaluateBenchmarks({ path: 'b.json', content: lookupFailed('ENOENT: no such file') }, [
      { name: 'a', op: '<=', value: 1 },
    ]);
    expect(r.status).toBe('not-checked');
    expect(r.reason).toContain("could not read benchmark-results 'b.json'");
    expect(evaluateBenchmarks({}, [{ name: 'a', op: '<=', value: 1 }]).status).toBe('not-checked');
  });

  it('is skipped without thresholds', () => {
    expect(evaluateBenchmarks(file(results), []).status).toBe('skipped');
  });
});
