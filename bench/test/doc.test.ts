import { describe, expect, it } from 'vitest';
import { pipelineFindings } from '../doc/pipeline.ts';
import { renderDoc } from '../doc/index.ts';
import { lowerBound } from '../lib/lower-bound.ts';
import { type Call, type StepTimeline, heldGithubWrites, operation, stepTimelines } from '../lib/timeline.ts';
import type { PipelineResult } from '../pipeline.ts';
import type { SavedRun } from '../run.ts';
import type { Report, StepResult } from '../../src/pipeline/types.ts';

const call = (service: string, method: string, path: string, start: number, end: number): Call => ({
  service,
  method,
  op: operation(method, path),
  start,
  end,
});

/** A run whose timeline carries the evidence given by `calls`, with one step `deploy` around it. */
function pipeline(
  calls: Call[],
  opts: { stepStart?: number; stepMs?: number; startupMs?: number; readySeenAfterMs?: number } = {},
): PipelineResult {
  const t0 = Date.parse('2026-01-01T00:00:00.000Z');
  const stepStart = opts.stepStart ?? 100;
  const steps = [
    {
      name: 'deploy',
      startedAt: new Date(t0 + stepStart).toISOString(),
      durationMs: opts.stepMs ?? 5000,
    } as StepResult,
  ];
  const timelines: StepTimeline[] = stepTimelines(calls, steps, t0);
  const bound = lowerBound({ rttMs: 50, edgeMs: 2, nodeStartMs: 40, buildMs: 1000, windowMs: 3000, smokeSamples: 5 });
  const run = {
    spawnedAt: t0,
    wallMs: 9000,
    rttMs: 50,
    edgeMs: 2,
    calls,
    steps: timelines,
    report: { steps, decisions: [] } as unknown as Report,
  };
  return {
    options: {
      dist: 'dist',
      runs: 1,
      latencyMs: 50,
      buildMs: 1000,
      windowMs: 3000,
      intervalMs: 1000,
      smokeSamples: 5,
      zeroLatencyRun: false,
    },
    runs: [run],
    shown: 0,
    nodeStartMs: 40,
    bound,
    wallMs: 9000,
    ratio: 9000 / bound.totalMs,
    stepMedians: [
      { step: 'startup', ms: opts.startupMs ?? 60, boundMs: 40, apiBusyMs: 0, calls: 0, maxConcurrency: 0 },
      { step: 'exit', ms: 20, boundMs: 0, apiBusyMs: 0, calls: 0, maxConcurrency: 0 },
    ],
    readySeenAfterMs: opts.readySeenAfterMs,
    heldWrites: heldGithubWrites(calls),
    githubWrites: calls.filter((c) => c.service === 'github' && c.method !== 'GET').length,
  };
}

describe('pipeline findings', () => {
  it('names only the causes whose evidence is in the timeline', () => {
    const quiet = pipeline([call('vercel', 'GET', '/v13/deployments/dpl_a', 200, 260)]);
    expect(pipelineFindings(quiet)).toEqual([]);
  });

  it('finds held GitHub writes, a slow readiness poll and a slow pool-health poll', () => {
    const p = pipeline(
      [
        call('vercel', 'GET', '/v3/deployments/dpl_a/events', 200, 250),
        call('vercel', 'GET', '/v13/deployments/dpl_a', 1250, 1300),
        call('github', 'POST', '/repos/o/r/deployments', 1300, 1360),
        call('github', 'POST', '/repos/o/r/deployments/123456/statuses', 2310, 2370),
        call(
          'cloudflare',
          'GET',
          '/client/v4/accounts/abcdef0123456789abcdef0123456789/load_balancers/pools/abcdef0123456789abcdef0123456789/health',
          2400,
          2450,
        ),
        call(
          'cloudflare',
          'GET',
          '/client/v4/accounts/abcdef0123456789abcdef0123456789/load_balancers/pools/abcdef0123456789abcdef0123456789/health',
          4450,
          4500,
        ),
      ],
      { readySeenAfterMs: 950 },
    );
    const text = pipelineFindings(p).join('\n');
    expect(text).toMatch(/GitHub writes wait for each other\*\*: 1 of the 2/);
    expect(text).toMatch(
      /readiness is polled once a second\*\*: the action read green as READY 950 ms \(median\) after/,
    );
    expect(text).toMatch(/1 pause\(s\) of about a second/);
    expect(text).toMatch(
      /wait for a fresh pool-health result\*\*: 2.00 s between pool-health reads in the deploy step/,
    );
    expect(text).not.toMatch(/Start-up/);
  });

  it('blames start-up only when it is well above an empty script', () => {
    expect(pipelineFindings(pipeline([], { startupMs: 700 })).join('\n')).toMatch(/Start-up: 700 ms/);
  });
});

describe('renderDoc', () => {
  it('writes the machine, the summary and a section per benchmark that ran, and the ones that did not', () => {
    const saved: SavedRun = {
      machine: {
        date: '2026-01-01T00:00:00.000Z',
        cpu: 'Test CPU',
        cores: 2,
        memoryGiB: 8,
        os: 'Linux',
        node: 'v24.0.0',
        loadAtStart: 0.5,
      },
      args: { dist: 'dist', quick: true },
      results: { pipeline: pipeline([]) },
      errors: { '3': 'Error: no backup size fits in /tmp\n    at …' },
      durationMs: 60_000,
      loadAtEnd: 0.7,
    };
    const md = renderDoc(saved);
    expect(md).toMatch(/^# Benchmarks/);
    expect(md).toContain('| machine | Test CPU, 2 cores, 8 GiB, Linux |');
    expect(md).toContain('## 1. Pipeline overhead');
    expect(md).toContain('| 1 | blue-green wall time');
    expect(md).not.toContain('## 3. Backup streaming');
    expect(md).toContain('Not measured in this run: 3 (backup streaming: Error: no backup size fits in /tmp)');
    expect(md).not.toContain('load average was above');
  });
});
