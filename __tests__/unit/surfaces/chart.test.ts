import { describe, expect, it } from 'vitest';
import { downsample, samplesMarkdown, xyChart } from '../../../src/surfaces/chart.ts';
import type { Sample } from '../../../src/analysis/index.ts';

const T0 = Date.UTC(2025, 0, 2, 12, 3, 0);

function sample(i: number, over: Partial<Sample> = {}): Sample {
  return {
    at: new Date(T0 + i * 30_000).toISOString(),
    errorRate: 0.002,
    latencyMs: 120,
    outcome: 'pass',
    breach: false,
    reason: 'ok',
    ...over,
  };
}

describe('xyChart', () => {
  it('draws the values and a flat threshold line with a y axis above both', () => {
    const chart = xyChart(
      'Error rate',
      'error ratio',
      [
        { label: '12:03:00', value: 0.002 },
        { label: '12:03:30', value: 0.034 },
      ],
      0.01,
    );
    expect(chart).toBe(
      [
        '```mermaid',
        'xychart-beta',
        '  title "Error rate"',
        '  x-axis ["12:03:00", "12:03:30"]',
        '  y-axis "error ratio" 0 --> 0.05',
        '  line [0.002, 0.034]',
        '  line [0.01, 0.01]',
        '```',
      ].join('\n'),
    );
  });

  it('draws nothing without points', () => {
    expect(xyChart('x', 'y', [], 1)).toBeUndefined();
  });

  it('downsampling keeps the worst value of each bucket', () => {
    const points = Array.from({ length: 120 }, (_, i) => ({ label: String(i), value: i === 77 ? 9 : 1 }));
    const out = downsample(points, 60);
    expect(out).toHaveLength(60);
    expect(out.filter((p) => p.value === 9)).toHaveLength(1);
    expect(out[0]!.label).toBe('0');
  });
});

describe('samplesMarkdown', () => {
  it('charts each measured signal and lists every sample', () => {
    const samples = [
      sample(0, { share: 10 }),
      sample(1, { errorRate: 0.034, outcome: 'breach', breach: true, reason: 'error rate 0.034 > 0.01 at 12:03:30' }),
      sample(2, { errorRate: null, latencyMs: null, outcome: 'error', reason: 'error rate query failed: HTTP 500' }),
    ];
    const md = samplesMarkdown(samples, { errorRate: 0.01, latencyMs: 500 }, 'Post-deploy validation');
    expect(md).toContain('#### Post-deploy validation');
    expect(md.match(/```mermaid/g)).toHaveLength(2);
    expect(md).toContain('line [0.002, 0.034]');
    expect(md).toContain('line [120, 120]');
    expect(md).toContain('3 samples: 1 pass, 1 breach, 1 error');
    expect(md).toContain('| 12:03:00 | 10% | 0.002 | 120 ms | ✅ pass | ok |');
    expect(md).toContain('| 12:04:00 |  | — | — | ⚠️ query error | error rate query failed: HTTP 500 |');
  });

  it('says so when nothing was sampled or measured', () => {
    expect(samplesMarkdown([], { errorRate: 0.01, latencyMs: 500 })).toContain('No sample was taken.');
    const md = samplesMarkdown([sample(0, { errorRate: null, latencyMs: null, outcome: 'no-data' })], {
      errorRate: 0.01,
      latencyMs: 500,
    });
    expect(md).toContain('No metric value was measured');
    expect(md).not.toContain('mermaid');
  });

  it('remote text (monitor names) cannot break the table or inject markup', () => {
    const md = samplesMarkdown([sample(0, { reason: 'monitor "a|b<img src=x>\n[x](y)" is in Alert' })], {
      errorRate: 0.01,
      latencyMs: 500,
    });
    const row = md.split('\n').find((l) => l.startsWith('| 12:03:00'))!;
    expect(row).toContain('a\\|b&lt;img src=x&gt; \\[x\\]\\(y\\)');
    expect(row.split(' | ')).toHaveLength(6);
  });
});
