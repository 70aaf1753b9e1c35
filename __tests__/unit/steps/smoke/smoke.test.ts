import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SmokeCheck } from '../../../../src/config/types.ts';
import { deepEqual, resolvePointer } from '../../../../src/steps/smoke/json-pointer.ts';
import { renderSmokeReport, smokeChecks } from '../../../../src/steps/smoke/report.ts';
import { expectationProblem, joinUrl, judgeCheck, runSmoke } from '../../../../src/steps/smoke/checks.ts';
import { percentile } from '../../../../src/steps/smoke/stats.ts';

const check = (over: Partial<SmokeCheck> = {}): SmokeCheck => ({
  name: 'health',
  path: '/api/health',
  method: 'GET',
  headers: {},
  status: 200,
  contains: [],
  json: {},
  ...over,
});

describe('percentile (nearest rank)', () => {
  it('takes the slowest of five samples as p95 and the middle as p50', () => {
    expect(percentile([50, 10, 40, 20, 30], 95)).toBe(50);
    expect(percentile([50, 10, 40, 20, 30], 50)).toBe(30);
  });
  it('is NaN without samples and the value itself for one', () => {
    expect(percentile([], 95)).toBeNaN();
    expect(percentile([7], 50)).toBe(7);
  });
  it('p95 of 100 values is the 95th', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 95)).toBe(95);
  });
});

describe('JSON pointer', () => {
  const doc = { status: 'ok', items: [{ id: 1 }, { id: 2 }], 'a/b': { 'c~d': true } };
  it('walks objects and arrays with RFC 6901 escapes', () => {
    expect(resolvePointer(doc, '/status')).toEqual({ found: true, value: 'ok' });
    expect(resolvePointer(doc, '/items/1/id')).toEqual({ found: true, value: 2 });
    expect(resolvePointer(doc, '/a~1b/c~0d')).toEqual({ found: true, value: true });
    expect(resolvePointer(doc, '')).toEqual({ found: true, value: doc });
  });
  it('reports missing segments and rejects malformed pointers', () => {
    expect(resolvePointer(doc, '/items/5')).toEqual({ found: false });
    expect(resolvePointer(doc, '/items/01')).toEqual({ found: false });
    expect(resolvePointer(doc, '/status/x')).toEqual({ found: false });
    expect(() => resolvePointer(doc, 'status')).toThrow(/must start/);
  });
  it('compares values structurally', () => {
    expect(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(deepEqual({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true);
    expect(deepEqual({ a: 1 }, { a: '1' })).toBe(false);
    expect(deepEqual([1], { 0: 1 })).toBe(false);
    expect(deepEqual(null, {})).toBe(false);
  });
});

describe('expectations of one response', () => {
  it('checks status, then substrings, then JSON pointers, naming what failed', () => {
    const c = check({ contains: ['ok'], json: { '/status': 'ok', '/version': 'v2' } });
    expect(expectationProblem(c, 503, '')).toBe('expected status 200, got 503');
    expect(expectationProblem(c, 200, '{"status":"down"}')).toBe('body does not contain "ok"');
    expect(expectationProblem(c, 200, '{"status":"ok"}')).toBe('JSON /version is missing');
    expect(expectationProblem(c, 200, '{"status":"ok","version":"v1"}')).toBe('JSON /version is "v1", expected "v2"');
    expect(expectationProblem(c, 200, 'ok, not json')).toBe('body is not JSON');
    expect(expectationProblem(c, 200, '{"status":"ok","version":"v2"}')).toBeUndefined();
  });
});

describe('judging a check', () => {
  it('fails on any failed sample, naming how many and the first reason', () => {
    const r = judgeCheck(
      check(),
      [
        { ms: 10, status: 200, ok: true },
        { ms: 12, status: 500, ok: false, reason: 'expected status 200, got 500' },
      ],
      500,
    );
    expect(r.passed).toBe(false);
    expect(r.reason).toBe('1/2 samples failed: expected status 200, got 500');
  });
  it('fails when the p95 exceeds the budget, passes within it', () => {
    const samples = [10, 20, 30, 40, 600].map((ms) => ({ ms, status: 200, ok: true }));
    const over = judgeCheck(check(), samples, 500);
    expect(over.passed).toBe(false);
    expect(over.reason).toBe('p95 600 ms over the 500 ms budget (p50 30 ms)');
    const within = judgeCheck(check(), samples, 700);
    expect(within.passed).toBe(true);
    expect(within.p50).toBe(30);
    expect(within.reason).toBe('5/5 samples OK; p50 30 ms, p95 600 ms within 700 ms');
  });
});

describe('runSmoke against a real server', () => {
  let server: http.Server;
  let base: string;
  const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        if (req.url === '/api/health') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: 'ok', version: 'v2' }));
        } else if (req.url === '/slow') {
          setTimeout(() => res.end('late'), 120);
        } else if (req.url === '/hang') {
          // never answers
        } else if (req.url === '/old') {
          res.writeHead(301, { location: '/api/health' });
          res.end();
        } else if (req.url === '/api/echo') {
          res.writeHead(201, { 'content-type': 'application/json' });
          res.end(body);
        } else {
          res.writeHead(404);
          res.end('not found');
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('samples each check, sends headers and body, and judges every expectation', async () => {
    seen.length = 0;
    const results = await runSmoke(
      [
        check({ contains: ['"ok"'], json: { '/version': 'v2' } }),
        check({ name: 'post', path: 'api/echo', method: 'POST', body: '{"a":1}', status: 201, json: { '/a': 1 } }),
        check({ name: 'redirect', path: '/old', status: 301 }),
        check({ name: 'missing', path: '/nope' }),
      ],
      base,
      { samples: 3, defaultMaxMs: 1000, headers: { 'x-vercel-protection-bypass': 'bypass-secret' } },
    );
    expect(results.map((r) => [r.name, r.passed])).toEqual([
      ['health', true],
      ['post', true],
      ['redirect', true],
      ['missing', false],
    ]);
    expect(results[3]!.reason).toBe('3/3 samples failed: expected status 200, got 404');
    expect(seen).toHaveLength(12);
    expect(seen.every((s) => s.headers['x-vercel-protection-bypass'] === 'bypass-secret')).toBe(true);
    const post = seen.find((s) => s.method === 'POST')!;
    expect(post.body).toBe('{"a":1}');
    expect(post.headers['content-type']).toBe('application/json');
    // A redirect is judged as the status it is, never followed.
    expect(seen.filter((s) => s.url === '/old')).toHaveLength(3);
  });

  it('judges latency on the p95 against max-ms', async () => {
    const [slow] = await runSmoke([check({ name: 'slow', path: '/slow', maxMs: 50 })], base, {
      samples: 2,
      defaultMaxMs: 1000,
    });
    expect(slow!.passed).toBe(false);
    expect(slow!.p95).toBeGreaterThanOrEqual(100);
    expect(slow!.reason).toMatch(/^p95 \d+ ms over the 50 ms budget \(p50 \d+ ms\)$/);
  });

  it('fails a sample that gets no answer within its timeout', async () => {
    const started = Date.now();
    const [hang] = await runSmoke([check({ name: 'hang', path: '/hang' })], base, {
      samples: 1,
      defaultMaxMs: 100,
      timeoutMs: 200,
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(hang!.passed).toBe(false);
    expect(hang!.reason).toBe('1/1 samples failed: no answer within 200 ms');
  });

  it('stops at once when the run is aborted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('SIGINT')), 50);
    await expect(
      runSmoke([check({ path: '/hang' })], base, { samples: 3, defaultMaxMs: 100, timeoutMs: 5000, signal: ac.signal }),
    ).rejects.toThrow('SIGINT');
  });

  it('reports a refused connection as a failed request', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const [r] = await runSmoke([check()], `http://127.0.0.1:${port}`, { samples: 1, defaultMaxMs: 100 });
    expect(r!.passed).toBe(false);
    expect(r!.reason).toMatch(/request failed: .*ECONNREFUSED/);
  });
});

describe('the smoke report', () => {
  const results = [
    judgeCheck(check({ name: 'home | page' }), [{ ms: 12.34, status: 200, ok: true }], 500),
    judgeCheck(
      check({ name: 'api', path: '/api' }),
      [{ ms: 5, status: 500, ok: false, reason: 'expected status 200, got 500' }],
      500,
    ),
  ];
  it('renders one escaped row per check with p50/p95 and the reason', () => {
    const md = renderSmokeReport(results, 'https://green.example');
    expect(md).toContain('**Smoke tests: 1/2 checks passed** against `https://green.example`');
    expect(md).toContain(
      '| ✅ | home \\| page | `GET /api/health` | 1/1 | 12 ms | 12 ms / 500 ms | 1/1 samples OK; p50 12 ms, p95 12 ms within 500 ms |',
    );
    expect(md).toContain(
      '| ❌ | api | `GET /api` | 0/1 | 5 ms | 5 ms / 500 ms | 1/1 samples failed: expected status 200, got 500 |',
    );
  });
  it('keeps every sample in the checks of the report', () => {
    const checks = smokeChecks(results);
    expect(checks.map((c) => c.status)).toEqual(['pass', 'fail']);
    expect(checks[1]!.details).toMatchObject({ p95Ms: 5, budgetMs: 500, samples: [{ ms: 5, status: 500, ok: false }] });
  });
  it('joins base URLs and paths with one slash', () => {
    expect(joinUrl('http://a/', '/x')).toBe('http://a/x');
    expect(joinUrl('http://a', 'x')).toBe('http://a/x');
  });
});
