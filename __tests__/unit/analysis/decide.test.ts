import { describe, expect, it } from 'vitest';
import { DECISION_DEFAULTS, decideStep, rollbackTests, type StepInput } from '../../../src/analysis/decide.js';

const policy = { ...DECISION_DEFAULTS, errorRateThreshold: 0.03 };
const step = (over: Partial<StepInput>): StepInput => ({
  green: { requests: 0, errors: 0 },
  blue: { requests: 0, errors: 0 },
  elapsedMs: 0,
  holdMs: 120_000,
  maxHoldMs: 360_000,
  requirePass: false,
  ...over,
});

describe('decideStep', () => {
  it('rolls back on the hard limit before the minimum sample: all of 40 requests failing', () => {
    const d = decideStep(step({ green: { requests: 40, errors: 40 }, blue: { requests: 400, errors: 4 } }), policy);
    expect(d.action).toBe('rollback');
    expect(d.reason).toMatch(/above the 3\.0 % limit/);
  });

  it('rolls back a release clearly worse than blue, with the plain sentence', () => {
    const d = decideStep(
      step({ green: { requests: 2410, errors: 195 }, blue: { requests: 21_700, errors: 217 }, elapsedMs: 30_000 }),
      { ...policy, errorRateThreshold: 0.2 },
    );
    expect(d.action).toBe('rollback');
    expect(d.reason).toMatch(/^green 8\.1 % errors \(2,410 requests\) vs blue 1\.0 % \(21,700\): worse by more than/);
  });

  it('holds until the hold ends, then advances once both releases have the minimum sample', () => {
    const counts = { green: { requests: 300, errors: 3 }, blue: { requests: 2700, errors: 27 } };
    expect(decideStep(step({ ...counts, elapsedMs: 60_000 }), policy).action).toBe('continue');
    const d = decideStep(step({ ...counts, elapsedMs: 120_000 }), policy);
    expect(d.action).toBe('advance');
  });

  it('extends a step short of the minimum sample, then ends inconclusive by the policy, never passed', () => {
    const counts = { green: { requests: 50, errors: 0 }, blue: { requests: 450, errors: 4 } };
    const ext = decideStep(step({ ...counts, elapsedMs: 200_000 }), policy);
    expect(ext).toMatchObject({ action: 'continue', extended: true });
    expect(ext.reason).toMatch(/green has 50 of the 200 requests needed/);
    const end = decideStep(step({ ...counts, elapsedMs: 360_000 }), policy);
    expect(end).toMatchObject({ action: 'inconclusive', policy: 'hold' });
    const rb = decideStep(step({ ...counts, elapsedMs: 360_000 }), { ...policy, onInconclusive: 'rollback' });
    expect(rb).toMatchObject({ action: 'inconclusive', policy: 'rollback' });
  });

  it('needs positive evidence to pass a step that requires it', () => {
    const thin = { green: { requests: 400, errors: 4 }, blue: { requests: 4000, errors: 40 } };
    const d = decideStep(step({ ...thin, elapsedMs: 120_000, requirePass: true }), policy);
    expect(d).toMatchObject({ action: 'continue', extended: true });
    expect(d.reason).toMatch(/no verdict yet/);
    const rich = { green: { requests: 30_000, errors: 300 }, blue: { requests: 300_000, errors: 3000 } };
    const ok = decideStep(step({ ...rich, elapsedMs: 120_000, requirePass: true }), policy);
    expect(ok.action).toBe('advance');
    expect(ok.reason).toMatch(/not worse/);
  });

  it('after 100 % without a concurrent control, compares with blue before the switch', () => {
    const d = decideStep(
      {
        green: { requests: 3000, errors: 300 },
        baseline: { requests: 100_000, errors: 1000 },
        elapsedMs: 60_000,
        holdMs: 300_000,
        maxHoldMs: 900_000,
        requirePass: true,
      },
      { ...policy, errorRateThreshold: 0.5 },
    );
    expect(d.action).toBe('rollback');
    expect(d.reason).toMatch(/vs blue before the switch/);
  });

  it("pools blue's concurrent counts with its window before the switch when both are given", () => {
    const input = step({
      green: { requests: 9000, errors: 90 },
      blue: { requests: 7500, errors: 75 },
      elapsedMs: 300_000,
      holdMs: 300_000,
      maxHoldMs: 900_000,
      requirePass: true,
    });
    expect(decideStep(input, policy).action).toBe('continue');
    const pooled = decideStep({ ...input, baseline: { requests: 36_000, errors: 360 } }, policy);
    expect(pooled.action).toBe('advance');
    expect(pooled.reason).toMatch(/vs blue \(alongside green and before the switch\) 1\.0 % \(43,500\)/);
  });

  it('splits alpha over the tests that can roll back', () => {
    expect(rollbackTests(policy, { blue: { requests: 1, errors: 0 } })).toBe(2);
    expect(
      rollbackTests({ ...policy, latencyThresholdMs: 500 }, { blue: { requests: 1, errors: 0 }, latency: [] }),
    ).toBe(4);
    expect(rollbackTests({ ...DECISION_DEFAULTS }, {})).toBe(1);
  });

  it('extends an earlier step whose evidence leans towards worse, and advances it at the longest extension', () => {
    // 2.0 % vs 1.0 %: above blue + the 0.25-point margin, but 300 requests are no verdict yet.
    const counts = { green: { requests: 300, errors: 6 }, blue: { requests: 2700, errors: 27 } };
    const held = decideStep(step({ ...counts, elapsedMs: 120_000 }), policy);
    expect(held).toMatchObject({ action: 'continue', extended: true });
    expect(held.reason).toMatch(/^step extended while the evidence leans towards worse: green 2\.0 % errors/);
    expect(decideStep(step({ ...counts, elapsedMs: 360_000 }), policy).action).toBe('advance');
    // Not leaning: green's observed rate within blue's plus the margin advances at the hold.
    const even = { green: { requests: 300, errors: 3 }, blue: { requests: 2700, errors: 27 } };
    expect(decideStep(step({ ...even, elapsedMs: 120_000 }), policy).action).toBe('advance');
    // Latency leaning: green's percentile above blue's by the margin in most buckets.
    const latency = [600, 600, 600, 600, 200, 200].map((g) => ({
      green: { valueMs: g, requests: 100 },
      blue: { valueMs: 300, requests: 900 },
    }));
    const slow = decideStep(step({ ...even, latency, elapsedMs: 120_000 }), policy);
    expect(slow).toMatchObject({ action: 'continue', extended: true });
    expect(slow.reason).toMatch(/leans towards worse: green latency \d+ ms vs blue 300 ms over 6 buckets/);
  });

  it('judges latency against blue and rolls back a release twice as slow', () => {
    const latency = Array.from({ length: 12 }, () => ({
      green: { valueMs: 600, requests: 100 },
      blue: { valueMs: 300, requests: 900 },
    }));
    const d = decideStep(
      step({
        green: { requests: 1200, errors: 12 },
        blue: { requests: 10_800, errors: 108 },
        latency,
        elapsedMs: 60_000,
      }),
      policy,
    );
    expect(d.action).toBe('rollback');
    expect(d.reason).toMatch(
      /green latency 600 ms vs blue 300 ms over 12 buckets .*slower by more than the 25 % margin/,
    );
  });
});
