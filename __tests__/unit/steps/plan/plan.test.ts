import { describe, expect, it } from 'vitest';
import type { Config } from '../../../../src/config/types.ts';
import { planMarkdown, thresholdLines, weightSchedule } from '../../../../src/steps/plan.ts';

function config(over: { strategy?: Config['strategy']; steps?: number[] } = {}): Config {
  return {
    strategy: over.strategy ?? 'blue-green',
    run: { sha: 'c063502a72638f829a159c1a27c08e9dc9ef1993' },
    vercel: { workingDirectory: '/work/app', prebuilt: false },
    smoke: { checks: [{ name: 'home' }], samples: 5 },
    traffic: { manager: 'cloudflare', steps: over.steps ?? [100], stepDurationMs: 120_000 },
    validation: {
      errorRateThreshold: 0.01,
      performanceThresholdMs: 500,
      failureLimit: 0,
      intervalMs: 30_000,
      noData: 'warn',
      windowMs: 300_000,
      rollbackWindowMs: 600_000,
      rollbackTimeoutMs: 600_000,
    },
  } as unknown as Config;
}

describe('weightSchedule', () => {
  it('blue-green: one switch at T+0, then the validation window', () => {
    expect(weightSchedule(config())).toEqual([
      { atMs: 0, share: 100, holdMs: 300_000, what: 'final switch; watched for validation-window' },
    ]);
  });

  it('canary: each step held for step-duration, the last watched for the validation window', () => {
    const s = weightSchedule(config({ strategy: 'canary', steps: [10, 50, 100] }));
    expect(s.map((r) => [r.atMs, r.share, r.holdMs])).toEqual([
      [0, 10, 120_000],
      [120_000, 50, 120_000],
      [240_000, 100, 300_000],
    ]);
  });

  it('canary through Vercel: each step is a stage of the rolling release', () => {
    const c = config({ strategy: 'canary', steps: [10, 50, 100] });
    const s = weightSchedule({ ...c, traffic: { ...c.traffic, manager: 'vercel' } });
    expect(s.map((r) => r.what)).toEqual([
      'rolling release stage 0 (promote starts it); held for step-duration with analysis',
      'rolling release stage 1 approved after the analysis before passed; held for step-duration with analysis',
      'rolling release completed; final switch; watched for validation-window',
    ]);
  });

  it('immediate: 100 % at once, watched for the rollback window', () => {
    expect(weightSchedule(config({ strategy: 'immediate', steps: [10, 100] }))).toEqual([
      { atMs: 0, share: 100, holdMs: 600_000, what: '100 % at once; watched for rollback-window, blue kept ready' },
    ]);
  });
});

describe('plan text', () => {
  it('lists the thresholds deploy would judge by', () => {
    expect(thresholdLines(config())).toEqual([
      'error rate above 0.01 is a breach',
      'latency above 500 ms is a breach (smoke p95 over 5 samples too)',
      '0 breaching samples tolerated; sampled every 30s',
      'no data: warn',
      'a rollback must finish within 10m',
    ]);
  });

  it("renders the schedule with times, the rollback target and green's slot", () => {
    const md = planMarkdown(config({ strategy: 'canary', steps: [10, 50, 100] }), {
      blue: { id: 'dpl_blue' },
      slots: {
        livePool: 'pool-a',
        idlePool: 'pool-b',
        hostnames: { 'pool-a': 'blue.example.com', 'pool-b': 'green.example.com' },
        shares: {},
        deployments: {},
        notes: [],
      },
    });
    expect(md).toContain('as green on pool `pool-b`, hostname `green.example.com`');
    expect(md).toContain('Rollback target: `dpl_blue` on `pool-a`');
    expect(md).toContain('| T+2m | 50 % | 50 % | 2m |');
    expect(md).toContain('| T+4m | 100 % | 0 % | 5m |');
  });
});
