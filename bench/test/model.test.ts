import { describe, expect, it } from 'vitest';
import { parseArgs } from '../lib/args.ts';
import { type Stats, OURS, attribute, directDependency, packageAt } from '../lib/contributors.ts';
import { type Figure, markdownTable, textTable } from '../lib/figures.ts';
import { lowerBound } from '../lib/lower-bound.ts';
import { GiB, MiB } from '../lib/stats.ts';

describe('lowerBound', () => {
  const base = { rttMs: 0, edgeMs: 0, nodeStartMs: 0, buildMs: 0, windowMs: 0, smokeSamples: 5 };

  it('counts the round trips it names', () => {
    const b = lowerBound({ ...base, rttMs: 1 });
    expect(b.totalMs).toBe(b.roundTrips);
  });

  it('adds the unavoidable waits once each', () => {
    const b = lowerBound({ ...base, buildMs: 3000, windowMs: 10_000, nodeStartMs: 40, edgeMs: 2 });
    // build + window + node + (health + 5 smoke samples + one routed request) × edge
    expect(b.totalMs).toBe(3000 + 10_000 + 40 + 7 * 2);
    expect(b.terms.map((t) => t.step)).toEqual([
      'startup',
      'preflight',
      'prepare',
      'deploy',
      'smoke',
      'traffic',
      'validate',
      'cleanup',
    ]);
    for (const t of b.terms) expect(t.why.length).toBeGreaterThan(20);
  });
});

describe('parseArgs', () => {
  it('defaults to the full run the doc is written from', () => {
    const a = parseArgs([]);
    expect(a).toMatchObject({ quick: false, runs: 3, latencyMs: 50, contributors: true, writeDoc: false });
    expect(a.sizes).toEqual([256 * MiB, GiB, 4 * GiB]);
    expect([...a.only]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('takes a quick pass and overrides', () => {
    const a = parseArgs([
      '--quick',
      '--only',
      '3,5',
      '--sizes',
      '32M,64M',
      '--runs',
      '2',
      '--dist',
      '/tmp/d',
      '--write-doc',
    ]);
    expect(a).toMatchObject({ quick: true, runs: 2, dist: '/tmp/d', contributors: false, writeDoc: true });
    expect([...a.only]).toEqual([3, 5]);
    expect(a.sizes).toEqual([32 * MiB, 64 * MiB]);
  });

  it('names the flag it cannot take', () => {
    expect(() => parseArgs(['--runs', '0'])).toThrow(/--runs/);
    expect(() => parseArgs(['--only', '7'])).toThrow(/--only/);
    expect(() => parseArgs(['--fast'])).toThrow(/unknown flag --fast/);
  });
});

describe('contributors', () => {
  it('finds the package a module lives in', () => {
    expect(packageAt('./node_modules/@aws-sdk/client-s3/dist-cjs/index.js', 'first')).toBe('@aws-sdk/client-s3');
    expect(packageAt('./node_modules/@actions/http-client/node_modules/undici/index.js', 'last')).toBe('undici');
    expect(packageAt('./node_modules/@actions/http-client/node_modules/undici/index.js', 'first')).toBe(
      '@actions/http-client',
    );
    expect(packageAt('./lib/main.js', 'first')).toBeUndefined();
  });

  it('attributes a module to the dependency of ours that first imported it', () => {
    const m = {
      name: './node_modules/undici/index.js',
      size: 10,
      chunks: [1],
      issuerPath: [{ name: './lib/index.js + 3 modules' }, { name: './node_modules/@actions/core/lib/core.js' }],
    };
    expect(directDependency(m)).toBe('@actions/core');
    expect(directDependency({ name: './lib/steps/smoke.js', size: 1, chunks: [1] })).toBe(OURS);
  });

  it('splits start-up from on-demand chunks; concatenated modules take their parent’s chunk', () => {
    const stats: Stats = {
      chunks: [
        { id: 1, initial: true, files: ['index.js'] },
        { id: 2, initial: false, files: ['2.index.js'] },
      ],
      modules: [
        {
          name: './lib/index.js + 1 modules',
          size: 150,
          chunks: [1],
          modules: [
            { name: './lib/index.js', size: 100, chunks: [] },
            { name: './node_modules/yaml/dist/index.js', size: 50, chunks: [] },
          ],
        },
        { name: './lib/index.js', size: 100, chunks: [] },
        { name: './node_modules/yaml/dist/compose.js', size: 30, chunks: [2] },
      ],
    };
    const rows = attribute(stats, (m) => packageAt(m.name, 'last') ?? OURS);
    expect(rows).toEqual([
      { name: OURS, startBytes: 100, lazyBytes: 0 },
      { name: 'yaml', startBytes: 50, lazyBytes: 30 },
    ]);
  });
});

describe('tables', () => {
  const figures: Figure[] = [
    { bench: 1, name: 'wall | time', measured: '21 s', against: 'bound 14 s', ratio: 1.5, goal: '≤ 1.10', met: false },
    { bench: 4, name: 'calls', measured: '80', against: '38 deploys/h', goal: 'informative' },
  ];

  it('aligns the text table and says which goals were missed', () => {
    const lines = textTable(figures).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toContain('MISSED');
    expect(lines[2]).toContain('1.50');
    expect(lines[3]).not.toMatch(/met|MISSED/);
  });

  it('escapes pipes in the Markdown table', () => {
    const md = markdownTable(figures);
    expect(md).toContain('wall \\| time');
    expect(md).toContain('❌ missed');
  });
});
