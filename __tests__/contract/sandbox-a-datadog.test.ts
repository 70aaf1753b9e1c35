/**
 * The Datadog miniature with plain fetch (as the action calls it): metric values computed from the
 * load balancer's hits per bucket, scripted series, monitors, events, DORA; keys checked; every
 * logged request/response validated against the Datadog v1/v2 spec excerpts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom } from '../../sandbox/core/scenario.ts';
import type { RunningService } from '../../sandbox/core/service.ts';
import type { LbHit } from '../../sandbox/core/world.ts';
import { makeWorld, validator } from '../../sandbox/contract/testing.ts';
import { formatProblems } from '../../sandbox/contract/validate.ts';
import { type DatadogState, startDatadog } from '../../sandbox/services/datadog.ts';
import { pointlist } from '../../sandbox/services/datadog-metrics.ts';

const scenario = scenarioFrom({});
const dd = scenario.datadog;
const errorQuery = dd.queries.find((q) => q.measure === 'error_rate')!.query;
const latencyQuery = dd.queries.find((q) => q.measure === 'latency_p95')!.query;
const world = makeWorld();
let svc: RunningService;
const keys = { 'DD-API-KEY': dd.apiKey, 'DD-APPLICATION-KEY': dd.appKey };

async function get(path: string, headers: Record<string, string> = keys) {
  const res = await fetch(svc.url + path, { headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}
async function post(path: string, body: unknown, headers: Record<string, string> = { 'DD-API-KEY': dd.apiKey }) {
  const res = await fetch(svc.url + path, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

// Two full buckets of real-looking traffic: second 0 all good (v1), second 1 half 5xx (v2).
const base = Math.floor(Date.now() / 1000) - 10;
const V1_SHA = '4c60a8b4d322696fd694f86492b603349eb97cca';
const V2_SHA = 'c063502a72638f829a159c1a27c08e9dc9ef1993';
function hit(sec: number, status: number, latencyMs: number, version: string): LbHit {
  return {
    time: (base + sec) * 1000 + 100,
    pool: version === 'v1' ? 'blue' : 'green',
    deploymentId: version === 'v1' ? 'dpl_blue' : 'dpl_green',
    status,
    latencyMs,
    path: '/',
    version,
  };
}
const requestsQuery = dd.queries.find((q) => q.measure === 'requests' && q.query.includes('{{version}}'))!.query;
const errorsQuery = dd.queries.find((q) => q.measure === 'errors' && q.query.includes('{{version}}'))!.query;

beforeAll(async () => {
  // The deployments behind the hits, as the Vercel miniature keeps them (commit in `meta`).
  world.state.vercel = {
    deployments: new Map([
      ['dpl_blue', { id: 'dpl_blue', meta: { githubCommitSha: V1_SHA } }],
      ['dpl_green', { id: 'dpl_green', meta: { githubCommitSha: V2_SHA } }],
    ]),
  };
  svc = await startDatadog(world, dd);
  world.hits.push(...Array.from({ length: 20 }, (_, i) => hit(0, 200, 10 + i, 'v1')));
  world.hits.push(...Array.from({ length: 10 }, (_, i) => hit(1, i % 2 ? 500 : 200, 100 + i * 10, 'v2')));
});
afterAll(async () => {
  await svc.close();
  world.cleanup();
});

describe('Datadog miniature', () => {
  it('validates keys and sends rate-limit headers', async () => {
    const ok = await get('/api/v1/validate', { 'DD-API-KEY': dd.apiKey });
    expect(ok).toMatchObject({ status: 200, body: { valid: true } });
    expect(ok.headers.get('x-ratelimit-limit')).toBe('1000');
    expect((await get('/api/v1/validate', { 'DD-API-KEY': 'nope' })).status).toBe(403);
    // Metric queries need the application key too.
    const noApp = await get(`/api/v1/query?from=${base}&to=${base + 3}&query=${encodeURIComponent(errorQuery)}`, {
      'DD-API-KEY': dd.apiKey,
    });
    expect(noApp).toMatchObject({ status: 403, body: { errors: ['Forbidden'] } });
  });

  it('computes the error ratio and p95 latency per bucket from real hits, null where empty', async () => {
    const q = (query: string) => get(`/api/v1/query?from=${base}&to=${base + 3}&query=${encodeURIComponent(query)}`);
    const err = await q(errorQuery);
    const series = (err.body.series as Array<{ pointlist: Array<[number, number | null]>; interval: number }>)[0]!;
    expect(series.interval).toBe(1);
    expect(series.pointlist).toEqual([
      [base * 1000, 0],
      [(base + 1) * 1000, 0.5],
      [(base + 2) * 1000, null],
    ]);
    const lat = await q(latencyQuery);
    const points = (lat.body.series as Array<{ pointlist: Array<[number, number | null]> }>)[0]!.pointlist;
    expect(points[0]![1]).toBe(28); // nearest-rank p95 of 10..29: the 19th value
    expect(points[1]![1]).toBe(190); // p95 of 100..190
    // An unknown metric, or a window with no traffic: no series (Datadog's answer for no data).
    expect((await q('avg:unknown.metric{*}')).body.series).toEqual([]);
    const empty = await get(`/api/v1/query?from=${base - 100}&to=${base - 50}&query=${encodeURIComponent(errorQuery)}`);
    expect(empty.body.series).toEqual([]);
    expect((await get(`/api/v1/query?from=${base}&query=x`)).status).toBe(400);
  });

  it('answers v2 timeseries queries with formulas', async () => {
    const r = await post(
      '/api/v2/query/timeseries',
      {
        data: {
          type: 'timeseries_request',
          attributes: {
            from: base * 1000,
            to: (base + 2) * 1000,
            queries: [{ data_source: 'metrics', query: errorQuery, name: 'a' }],
            formulas: [{ formula: 'a' }],
          },
        },
      },
      keys,
    );
    expect(r.status).toBe(200);
    expect((r.body.data as { attributes: { values: unknown } }).attributes.values).toEqual([[0, 0.5]]);
  });

  it('plays scripted series call by call', async () => {
    const w = makeWorld();
    const sc = scenarioFrom({
      datadog: {
        metrics: 'scripted',
        queries: [{ query: 'avg:x{*}', measure: 'error_rate', scripted: [0.01, 0.3, null] }],
      },
    });
    const s = await startDatadog(w, sc.datadog);
    try {
      const values: unknown[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${s.url}/api/v1/query?from=${base}&to=${base + 2}&query=avg:x{*}`, { headers: keys });
        const series = ((await res.json()) as { series: Array<{ pointlist: Array<[number, number]> }> }).series;
        values.push(series.length ? series[0]!.pointlist[0]![1] : 'no data');
      }
      expect(values).toEqual([0.01, 0.3, 'no data', 'no data']);
    } finally {
      await s.close();
      w.cleanup();
    }
  });

  it('lists monitors filtered by monitor_tags, with group states', async () => {
    const all = await get('/api/v1/monitor?monitor_tags=service:shop&group_states=all');
    const list = all.body as unknown as Array<{
      name: string;
      overall_state: string;
      state: { groups: Record<string, { status: string }> };
    }>;
    expect(list.map((m) => m.name)).toEqual(['shop: 5xx error budget', 'shop: capacity']);
    expect(list[0]!.state.groups['*']!.status).toBe('OK');
    const search = await get('/api/v1/monitor?monitor_tags=service:search');
    expect((search.body as unknown as Array<{ overall_state: string }>)[0]!.overall_state).toBe('Warn');
  });

  it('records events (202) and DORA deployments (200)', async () => {
    const e = await post('/api/v1/events', {
      title: 'Deployed v2',
      text: 'blue-green to production',
      tags: ['service:shop'],
      alert_type: 'success',
    });
    expect(e).toMatchObject({ status: 202, body: { status: 'ok', event: { title: 'Deployed v2' } } });
    expect((await post('/api/v1/events', { text: 'no title' })).status).toBe(400);
    const now = Date.now();
    const d = await post('/api/v2/dora/deployment', {
      data: {
        attributes: {
          service: 'shop',
          env: 'production',
          started_at: now - 5000,
          finished_at: now,
          version: 'v2',
          git: { commit_sha: scenario.run.sha, repository_url: 'https://github.com/acme/shop' },
        },
      },
    });
    expect(d).toMatchObject({ status: 200, body: { data: { type: 'dora_deployment' } } });
    const st = world.state.datadog as DatadogState;
    expect(st.events.map((x) => x.title)).toEqual(['Deployed v2']);
    expect(st.doraDeployments.map((x) => x.service)).toEqual(['shop']);
  });

  it('a {{version}} query counts only the requests the release with that version served', async () => {
    const q = (template: string, version: string) =>
      get(
        `/api/v1/query?from=${base}&to=${base + 3}&query=${encodeURIComponent(template.replace('{{version}}', version))}`,
      );
    const total = (body: Record<string, unknown>) =>
      (body.series as Array<{ pointlist: Array<[number, number | null]> }>)
        .flatMap((s) => s.pointlist)
        .reduce((a, [, v]) => a + (v ?? 0), 0);
    expect(total((await q(requestsQuery, V1_SHA)).body)).toBe(20);
    expect(total((await q(errorsQuery, V1_SHA)).body)).toBe(0);
    expect(total((await q(requestsQuery, V2_SHA)).body)).toBe(10);
    expect(total((await q(errorsQuery, V2_SHA)).body)).toBe(5);
    // The short SHA and the deployment id name the same release; a version nobody served has no series.
    expect(total((await q(requestsQuery, V2_SHA.slice(0, 7))).body)).toBe(10);
    expect(total((await q(requestsQuery, 'dpl_green')).body)).toBe(10);
    expect((await q(requestsQuery, 'deadbee')).body.series).toEqual([]);
    // Sparse buckets are null, not 0: green served nothing in second 0.
    const green = (await q(requestsQuery, V2_SHA)).body.series as Array<{ pointlist: Array<[number, number | null]> }>;
    expect(green[0]!.pointlist[0]).toEqual([base * 1000, null]);
  });

  it('hides requests younger than the ingestion delay, and widens buckets on .rollup()', () => {
    const late = { ...dd, ingestionDelayMs: 60_000 };
    const releaseOf = (h: LbHit) =>
      h.deploymentId === 'dpl_green' ? { id: 'dpl_green', sha: V2_SHA } : { id: 'dpl_blue', sha: V1_SHA };
    const green = requestsQuery.replace('{{version}}', V2_SHA);
    const servedAt = (base + 2) * 1000;
    // Right after the requests were served: nothing visible yet (no series at all).
    expect(pointlist(late, {}, world.hits, green, base, base + 3, releaseOf, servedAt + 1000)).toBeUndefined();
    // Once the delay has passed, all of them.
    const seen = pointlist(late, {}, world.hits, green, base, base + 3, releaseOf, servedAt + 61_000);
    expect(seen?.points.reduce((a, [, v]) => a + (v ?? 0), 0)).toBe(10);
    // `.rollup(sum, 5)`: 5-second buckets aligned as Datadog aligns them; empty ones are null.
    const rolled = { ...dd, queries: [{ query: `${requestsQuery}.rollup(sum, 5)`, measure: 'requests' as const }] };
    const r = pointlist(rolled, {}, world.hits, `${green}.rollup(sum, 5)`, base, base + 10, releaseOf, servedAt + 1000);
    expect(r?.interval).toBe(5);
    expect(r?.points.every(([t]) => t % 5000 === 0)).toBe(true);
    expect(r?.points.reduce((a, [, v]) => a + (v ?? 0), 0)).toBe(10);
    expect(r?.points.some(([, v]) => v === null)).toBe(true);
  });

  it('every request and response matches the Datadog specs', async () => {
    const v = await validator(['datadog-v1', 'datadog-v2']);
    const results = v.validateAll(world.traffic.requests);
    expect(results.length).toBeGreaterThanOrEqual(14);
    // The one deliberately incomplete request (no `from`) is caught by the validator.
    const deliberate = results.filter((r) => r.status === 400 && r.path === '/api/v1/query');
    expect(deliberate.flatMap((r) => r.errors)).toEqual([expect.stringContaining('"to"')]);
    const eventNoTitle = results.filter((r) => r.status === 400 && r.path === '/api/v1/events');
    expect(eventNoTitle.flatMap((r) => r.errors)).toEqual([expect.stringContaining('title')]);
    expect(formatProblems(results.filter((r) => !deliberate.includes(r) && !eventNoTitle.includes(r)))).toBe('');
  });
});
