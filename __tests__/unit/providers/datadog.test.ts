import { describe, expect, it } from 'vitest';
import type { SandboxRequest, SandboxResponse } from '../../../sandbox/core/service.ts';
import { Datadog } from '../../../src/providers/datadog.ts';
import { fastRetry, rejection, startApi } from './helpers.ts';

const API_KEY = 'ddapi_Secret0123456789';
const APP_KEY = 'ddapp_Secret9876543210';

async function datadog(routes: Record<string, (req: SandboxRequest) => SandboxResponse>) {
  const api = await startApi(async (req) => {
    const route = routes[`${req.method} ${req.path}`];
    return route ? route(req) : { status: 404, body: { errors: ['Not found'] } };
  }, 'datadog');
  const dd = new Datadog({
    apiKey: API_KEY,
    appKey: APP_KEY,
    baseUrl: api.url,
    timeoutMs: 1_000,
    retry: fastRetry(2, 5_000),
    sample: () => ({ timeoutMs: 500, retry: fastRetry(1, 100) }),
  });
  return { api, dd };
}

describe('Datadog', () => {
  it("queries metrics over whole, finished seconds and takes the worst series' newest point", async () => {
    const { api, dd } = await datadog({
      'GET /api/v1/query': () => ({
        status: 200,
        body: {
          status: 'ok',
          res_type: 'time_series',
          series: [
            {
              scope: 'host:a',
              pointlist: [
                [1700000000000, 0.01],
                [1700000010000, null],
                [1700000020000, 0.02],
              ],
            },
            { scope: 'host:b', pointlist: [[1700000010000, 0.3]] },
          ],
        },
      }),
    });
    const r = await dd.queryValue('sum:errors{service:web} by {host}.as_count()', 1700000000400, 1700000060200);
    expect(r).toEqual({ kind: 'value', value: 0.3, pointAt: 1700000010000 });
    const q = api.requests()[0]!;
    expect(q.query).toEqual({
      from: '1700000000',
      to: '1700000060',
      query: 'sum:errors{service:web} by {host}.as_count()',
    });
    expect(q.headers['dd-api-key']).toBe('[redacted]');
    expect(q.headers['dd-application-key']).toBe('[redacted]');
  });

  it('a query error answered with 200 is an error result, not a throw', async () => {
    const { dd } = await datadog({
      'GET /api/v1/query': () => ({
        status: 200,
        body: { status: 'error', error: 'Error parsing query: unknown function', series: [] },
      }),
    });
    expect(await dd.queryValue('bad(', 0, 1000)).toEqual({
      kind: 'error',
      error: 'Datadog could not run the query: Error parsing query: unknown function',
    });
  });

  it('a provider failure is an error result without the keys; only an aborted call rejects', async () => {
    const { api, dd } = await datadog({
      'GET /api/v1/query': (req) => ({
        status: 403,
        body: { errors: [`Forbidden: ${String(req.headers['dd-api-key'])}`] },
      }),
    });
    const r = await dd.queryValue('q', 0, 1000);
    expect(r.kind).toBe('error');
    expect(JSON.stringify(r)).toContain('HTTP 403');
    expect(JSON.stringify(r)).not.toContain(API_KEY);
    const ac = new AbortController();
    ac.abort(new Error('cancelled by test'));
    await expect(dd.queryValue('q', 0, 1000, { signal: ac.signal })).rejects.toThrow();
    await expect(dd.sampler(1000).alerting(['a'], ac.signal)).rejects.toThrow();
    expect(api.requests('GET', '/api/v1/monitor')).toHaveLength(0);
  });

  it('the sampler calls at the sample policy: one retry, not the client’s two', async () => {
    const { api, dd } = await datadog({ 'GET /api/v1/query': () => ({ status: 200, body: { series: [] } }) });
    api.fault({ status: 500, body: { errors: ['Internal error'] } });
    const r = await dd.sampler(1000).query('q', 0, 1000, new AbortController().signal);
    expect(r.kind).toBe('error');
    expect(api.requests()).toHaveLength(2);
    await dd.queryValue('q', 0, 1000);
    expect(api.requests()).toHaveLength(5);
  });

  it('the sampler lists monitors in Alert that carry every tag', async () => {
    const { api, dd } = await datadog({
      'GET /api/v1/monitor': () => ({
        status: 200,
        body: [
          { id: 1, name: 'web 5xx', overall_state: 'Alert', tags: ['service:web'] },
          { id: 2, name: 'web p95', overall_state: 'OK', tags: ['service:web'] },
        ],
      }),
    });
    expect(await dd.sampler(1000).alerting(['service:web'], new AbortController().signal)).toEqual({
      kind: 'ok',
      alerting: [{ id: 1, name: 'web 5xx', state: 'Alert' }],
    });
    expect(api.requests()[0]!.query).toEqual({ monitor_tags: 'service:web', page: '0', page_size: '1000' });
  });

  it('honours X-RateLimit-Reset on a 429', async () => {
    const { api, dd } = await datadog({ 'GET /api/v1/validate': () => ({ status: 200, body: { valid: true } }) });
    api.fault({
      status: 429,
      headers: {
        'x-ratelimit-limit': '100',
        'x-ratelimit-period': '60',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': '1',
        'x-ratelimit-name': 'validate',
      },
      body: { errors: ['Rate limit exceeded'] },
      times: 1,
    });
    const t0 = Date.now();
    expect(await dd.validate()).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(api.requests()).toHaveLength(2);
    // validate needs the API key only
    expect(api.requests()[1]!.headers['dd-application-key']).toBeUndefined();
  });

  it('lists monitors by monitor tags and maps their state', async () => {
    const { api, dd } = await datadog({
      'GET /api/v1/monitor': () => ({
        status: 200,
        body: [
          {
            id: 1,
            name: 'High error rate',
            overall_state: 'Alert',
            tags: ['service:web'],
            type: 'metric alert',
            query: 'q',
          },
        ],
      }),
    });
    expect(await dd.listMonitors({ monitorTags: ['service:web', 'env:prod'], groupStates: ['alert'] })).toEqual([
      { id: 1, name: 'High error rate', overallState: 'Alert', tags: ['service:web'], type: 'metric alert' },
    ]);
    expect(api.requests()[0]!.query).toMatchObject({
      monitor_tags: 'service:web,env:prod',
      group_states: 'alert',
      page: '0',
    });
  });

  it('posts an event (202) and a DORA deployment with ms timestamps and snake_case git info', async () => {
    const { api, dd } = await datadog({
      'POST /api/v1/events': () => ({
        status: 202,
        body: { status: 'ok', event: { id: 9, url: '/event/event?id=9' } },
      }),
      'POST /api/v2/dora/deployment': () => ({
        status: 202,
        body: { data: { id: '4242fcdd31586083', type: 'dora_deployment' } },
      }),
    });
    expect(
      await dd.createEvent({ title: 'Deployed', text: 'x'.repeat(5000), tags: ['env:prod'], alert_type: 'success' }),
    ).toEqual({ id: 9, url: '/event/event?id=9' });
    expect((api.requests('POST', '/api/v1/events')[0]!.body as { text: string }).text).toHaveLength(4000);
    expect(
      await dd.createDoraDeployment({
        service: 'web',
        env: 'prod',
        startedAt: 1700000000000,
        finishedAt: 1700000100000,
        git: { commitSha: 'abc', repositoryUrl: 'https://github.com/acme/shop' },
      }),
    ).toEqual({ id: '4242fcdd31586083' });
    expect(api.requests('POST', '/api/v2/dora/deployment')[0]!.body).toEqual({
      data: {
        attributes: {
          service: 'web',
          env: 'prod',
          started_at: 1700000000000,
          finished_at: 1700000100000,
          git: { commit_sha: 'abc', repository_url: 'https://github.com/acme/shop' },
        },
      },
    });
  });

  it('an event whose outcome is unknown (5xx) is not posted twice', async () => {
    const { api, dd } = await datadog({ 'POST /api/v1/events': () => ({ status: 202, body: {} }) });
    api.fault({ method: 'POST', status: 500, body: { errors: ['Internal error'] } });
    const err = await rejection(dd.createEvent({ title: 't', text: 'x' }));
    expect(err.outcomeUnknown).toBe(true);
    expect(api.requests('POST')).toHaveLength(1);
  });

  it('reads {errors:[…]} and keeps both keys out of the message', async () => {
    const { dd } = await datadog({
      'GET /api/v1/monitor': (req) => ({
        status: 403,
        body: {
          errors: [`Forbidden: ${String(req.headers['dd-api-key'])} ${String(req.headers['dd-application-key'])}`],
        },
      }),
    });
    const err = await rejection(dd.listMonitors({ monitorTags: ['a'] }));
    expect(err.message).toContain('HTTP 403: Forbidden');
    expect(err.message).not.toContain(API_KEY);
    expect(err.message).not.toContain(APP_KEY);
  });
});
