import { describe, expect, it } from 'vitest';
import type { LoggedRequest } from '../../sandbox/core/service.ts';
import type { StepResult } from '../../src/pipeline/types.ts';
import {
  type Call,
  busyIntervals,
  countCalls,
  heldGithubWrites,
  idleGaps,
  operation,
  stepTimelines,
  isGithubWrite,
  toCalls,
} from '../lib/timeline.ts';

const call = (service: string, method: string, path: string, start: number, end: number): Call => ({
  service,
  method,
  op: operation(method, path),
  start,
  end,
});

describe('operation', () => {
  it('replaces ids so equal operations group together', () => {
    expect(operation('GET', '/repos/acme/shop/deployments/1000014/statuses')).toBe(
      'GET /repos/acme/shop/deployments/{id}/statuses',
    );
    expect(operation('GET', '/v13/deployments/dpl_ynUfaqXw0WuZ50p5L68JRKukx6vs')).toBe('GET /v13/deployments/{id}');
    expect(
      operation(
        'PATCH',
        '/client/v4/zones/2ebc3b25e5b82662f032d2d540301afa/load_balancers/ab6fecffac05bf35ec96090c653f8029',
      ),
    ).toBe('PATCH /client/v4/zones/{id}/load_balancers/{id}');
    expect(operation('GET', '/repos/acme/shop/pulls/42/reviews')).toBe('GET /repos/acme/shop/pulls/42/reviews');
    // GitHub GraphQL: one path, told apart by the operation the body names.
    expect(operation('POST', '/graphql', 'PreflightFacts')).toBe('POST /graphql PreflightFacts');
  });

  it('counts a GraphQL query as a read, not a GitHub write', () => {
    expect(isGithubWrite({ service: 'github', method: 'POST', op: 'POST /graphql CommitChecks' })).toBe(false);
    expect(isGithubWrite({ service: 'github', method: 'POST', op: 'POST /repos/acme/shop/deployments' })).toBe(true);
    expect(isGithubWrite({ service: 'github', method: 'GET', op: 'GET /repos/acme/shop' })).toBe(false);
  });
});

describe('toCalls', () => {
  it('puts the log on the run’s clock, sorted by start', () => {
    const t0 = Date.parse('2026-01-01T00:00:00.000Z');
    const log = [
      {
        seq: 2,
        time: '2026-01-01T00:00:00.300Z',
        service: 'github',
        method: 'GET',
        path: '/b',
        query: {},
        headers: {},
        durationMs: 50,
        status: 200,
      },
      {
        seq: 1,
        time: '2026-01-01T00:00:00.100Z',
        service: 'vercel',
        method: 'GET',
        path: '/a',
        query: {},
        headers: {},
        durationMs: 20,
        status: 200,
      },
    ] as unknown as LoggedRequest[];
    expect(toCalls(log, t0).map((c) => [c.service, c.start, c.end])).toEqual([
      ['vercel', 100, 120],
      ['github', 300, 350],
    ]);
  });
});

describe('busy time and gaps', () => {
  const calls = [
    call('github', 'GET', '/a', 0, 100),
    call('github', 'GET', '/b', 50, 150),
    call('vercel', 'GET', '/c', 400, 450),
    call('vercel', 'GET', '/d', 1450, 1500),
  ];

  it('merges overlapping calls and clips to the window', () => {
    expect(busyIntervals(calls, 0, 1000)).toEqual([
      [0, 150],
      [400, 450],
    ]);
  });

  it('lists pauses with the calls on either side, longest first', () => {
    const gaps = idleGaps(calls, 0, 1500);
    expect(gaps.map((g) => [g.from, g.to])).toEqual([
      [450, 1450],
      [150, 400],
    ]);
    expect(gaps[0]).toMatchObject({ after: 'vercel GET /c', before: 'vercel GET /d' });
    expect(gaps[1]).toMatchObject({ after: 'github GET /b', before: 'vercel GET /c' });
  });

  it('labels a pause at the edges of a step', () => {
    const gaps = idleGaps([call('github', 'GET', '/a', 300, 350)], 0, 1000);
    expect(gaps.map((g) => [g.after, g.before])).toEqual([
      ['github GET /a', 'step end'],
      ['step start', 'github GET /a'],
    ]);
  });
});

describe('stepTimelines', () => {
  it('adds the start-up row and counts calls, busy time and concurrency per step', () => {
    const t0 = Date.parse('2026-01-01T00:00:00.000Z');
    const steps = [
      { name: 'preflight', startedAt: '2026-01-01T00:00:00.500Z', durationMs: 300 },
      { name: 'prepare', startedAt: '2026-01-01T00:00:00.800Z', durationMs: 200 },
    ] as StepResult[];
    const calls = [
      call('github', 'GET', '/a', 510, 560),
      call('github', 'GET', '/b', 520, 570),
      call('github', 'GET', '/c', 530, 580),
      call('s3', 'PUT', '/k', 850, 900),
    ];
    const rows = stepTimelines(calls, steps, t0);
    expect(rows.map((r) => [r.name, r.start, r.durationMs, r.calls, r.maxConcurrency])).toEqual([
      ['startup', 0, 500, 0, 0],
      ['preflight', 500, 300, 3, 3],
      ['prepare', 800, 200, 1, 1],
    ]);
    expect(rows[1]!.apiBusyMs).toBe(70);
  });
});

describe('heldGithubWrites', () => {
  it('finds a write started a second after the previous one, after a pause', () => {
    const calls = [
      call('github', 'POST', '/repos/o/r/deployments', 0, 60),
      call('github', 'POST', '/repos/o/r/deployments/123456/statuses', 1005, 1060),
    ];
    expect(heldGithubWrites(calls)).toEqual([
      { op: 'POST /repos/o/r/deployments/{id}/statuses', sincePrevious: 1005, idleBefore: 945 },
    ]);
  });

  it('ignores writes that came later for other reasons, or right after other calls', () => {
    const calls = [
      call('github', 'POST', '/repos/o/r/deployments', 0, 60),
      call('datadog', 'GET', '/api/v1/query', 60, 1000),
      call('github', 'POST', '/repos/o/r/deployments/123456/statuses', 1010, 1060),
      call('github', 'POST', '/repos/o/r/deployments/123456/statuses', 5000, 5060),
    ];
    expect(heldGithubWrites(calls)).toEqual([]);
  });
});

describe('countCalls', () => {
  it('counts per provider and per operation', () => {
    const c = countCalls([
      call('github', 'GET', '/a', 0, 1),
      call('github', 'GET', '/a', 2, 3),
      call('s3', 'PUT', '/k', 4, 5),
    ]);
    expect(c.byService).toEqual({ github: 2, s3: 1 });
    expect(c.byOp).toEqual({ 'github GET /a': 2, 's3 PUT /k': 1 });
  });
});
