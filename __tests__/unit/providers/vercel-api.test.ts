import { describe, expect, it } from 'vitest';
import type { SandboxRequest, SandboxResponse } from '../../../sandbox/core/service.ts';
import { VercelApi, type AliasRequest } from '../../../src/providers/vercel-api.ts';
import { fastRetry, rejection, startApi, TOKEN } from './helpers.ts';

type Route = (req: SandboxRequest, res: import('node:http').ServerResponse) => SandboxResponse | 'handled';

async function vercel(routes: Record<string, Route>, teamId: string | undefined = 'team_1') {
  const api = await startApi(async (req, res) => {
    const route = routes[`${req.method} ${req.path}`];
    if (route) return route(req, res);
    return { status: 404, body: { error: { code: 'not_found', message: 'The deployment was not found' } } };
  }, 'vercel');
  const v = new VercelApi({ token: TOKEN, teamId, apiUrl: api.url, timeoutMs: 1_000, retry: fastRetry(2, 5_000) });
  return { api, v };
}

const deployment = {
  id: 'dpl_green',
  url: 'shop-green.vercel.app',
  name: 'shop',
  projectId: 'prj_1',
  readyState: 'READY',
  readySubstate: 'STAGED',
  target: 'production',
  alias: [],
  aliasAssigned: true,
  aliasError: null,
  meta: { githubCommitSha: 'abc' },
  createdAt: 1700000000000,
};

describe('VercelApi', () => {
  it('sends teamId and the bearer token on every call, and maps the deployment', async () => {
    const { api, v } = await vercel({ 'GET /v13/deployments/dpl_green': () => ({ status: 200, body: deployment }) });
    const d = await v.getDeployment('dpl_green');
    expect(d).toMatchObject({
      id: 'dpl_green',
      url: 'shop-green.vercel.app',
      readyState: 'READY',
      readySubstate: 'STAGED',
      aliasAssigned: true,
    });
    const [r] = api.requests();
    expect(r!.query.teamId).toBe('team_1');
    expect(r!.headers.authorization).toBe('[redacted]');
  });

  it('lists deployments from /v6 with uid mapped to id and the filters in the query', async () => {
    const { api, v } = await vercel({
      'GET /v6/deployments': () => ({
        status: 200,
        body: {
          deployments: [
            { uid: 'dpl_a', url: 'a.vercel.app', state: 'READY', target: 'production', meta: {}, createdAt: 5 },
          ],
          pagination: { count: 1, next: 4, prev: null },
        },
      }),
    });
    const out = await v.listDeployments({
      projectId: 'prj_1',
      target: 'production',
      state: 'READY',
      limit: 10,
      sha: 'abc',
    });
    expect(out).toEqual({
      deployments: [
        {
          id: 'dpl_a',
          url: 'a.vercel.app',
          state: 'READY',
          target: 'production',
          meta: {},
          createdAt: 5,
          readySubstate: undefined,
          isRollbackCandidate: undefined,
        },
      ],
      next: 4,
    });
    expect(api.requests()[0]!.query).toMatchObject({
      projectId: 'prj_1',
      target: 'production',
      state: 'READY',
      limit: '10',
      sha: 'abc',
      teamId: 'team_1',
    });
  });

  it('parses the error envelope and keeps the token out of it', async () => {
    const { v } = await vercel({
      'GET /v9/projects/prj_1': (req) => ({
        status: 403,
        body: { error: { code: 'forbidden', message: `Not authorized: ${String(req.headers.authorization)}` } },
      }),
    });
    const err = await rejection(v.getProject('prj_1'));
    expect(err.message).toMatch(/^Vercel getProject failed: HTTP 403 forbidden: Not authorized: /);
    expect(err.message).not.toContain(TOKEN);
    expect(err.code).toBe('forbidden');
  });

  it('honours a 429 Retry-After up to the cap, and refuses a longer one', async () => {
    const project = { id: 'prj_1', name: 'shop', targets: { production: { id: 'dpl_blue', url: 'b.vercel.app' } } };
    const { api, v } = await vercel({ 'GET /v9/projects/prj_1': () => ({ status: 200, body: project }) });
    const limited = {
      error: { code: 'rate_limited', message: 'Rate limit exceeded', limit: { remaining: 0, reset: 1, total: 10 } },
    };
    api.fault({ status: 429, headers: { 'retry-after': '0' }, body: limited, times: 1 });
    expect((await v.getProject('prj_1')).productionDeployment?.id).toBe('dpl_blue');
    api.fault({ status: 429, headers: { 'retry-after': '3600' }, body: limited });
    const err = await rejection(v.getProject('prj_1'));
    expect(err.message).toContain('asked to wait 3600 s');
  });

  it('promote: 201 started, 202 queued', async () => {
    let status = 201;
    const { api, v } = await vercel({ 'POST /v10/projects/prj_1/promote/dpl_green': () => ({ status }) });
    expect(await v.promote('prj_1', 'dpl_green')).toEqual({ queued: false });
    status = 202;
    expect(await v.promote('prj_1', 'dpl_green')).toEqual({ queued: true });
    expect(api.requests('POST')).toHaveLength(2);
  });

  it('promote: an answer lost after Vercel took it is found in lastAliasRequest, not sent twice', async () => {
    let last: AliasRequest | null = null;
    const { api, v } = await vercel({
      'POST /v10/projects/prj_1/promote/dpl_green': (_req, res) => {
        last = {
          fromDeploymentId: 'dpl_blue',
          toDeploymentId: 'dpl_green',
          jobStatus: 'in-progress',
          requestedAt: Date.now(),
          type: 'promote',
        };
        res.socket?.resetAndDestroy();
        return 'handled';
      },
      'GET /v9/projects/prj_1': () => ({ status: 200, body: { id: 'prj_1', name: 'shop', lastAliasRequest: last } }),
    });
    expect(await v.promote('prj_1', 'dpl_green')).toEqual({ queued: false });
    expect(api.requests('POST')).toHaveLength(1);
  });

  it('rollback: POST /v1/…/rollback/{id} with the description; a 5xx without effect is repeated', async () => {
    const { api, v } = await vercel({
      'POST /v1/projects/prj_1/rollback/dpl_blue': () => ({ status: 201 }),
      'GET /v9/projects/prj_1': () => ({ status: 200, body: { id: 'prj_1', name: 'shop', lastAliasRequest: null } }),
    });
    api.fault({ method: 'POST', status: 500, times: 1 });
    expect(await v.rollback('prj_1', 'dpl_blue', 'error rate 5% > 1%')).toEqual({ queued: false });
    const posts = api.requests('POST');
    expect(posts).toHaveLength(2);
    expect(posts[1]!.query).toMatchObject({ description: 'error rate 5% > 1%', teamId: 'team_1' });
  });

  it('waitForAliasRequest follows pending → succeeded, and reports failure', async () => {
    let polls = 0;
    let outcome: AliasRequest['jobStatus'] = 'succeeded';
    const { v } = await vercel({
      'GET /v9/projects/prj_1': () => {
        polls++;
        const jobStatus = polls < 3 ? 'pending' : outcome;
        return {
          status: 200,
          body: {
            id: 'prj_1',
            name: 'shop',
            lastAliasRequest: {
              fromDeploymentId: 'a',
              toDeploymentId: 'dpl_green',
              jobStatus,
              requestedAt: 1,
              type: 'promote',
            },
          },
        };
      },
    });
    const r = await v.waitForAliasRequest('prj_1', 'dpl_green', { timeoutMs: 5_000, intervalMs: 20 });
    expect(r?.jobStatus).toBe('succeeded');
    expect(polls).toBe(3);
    polls = 0;
    outcome = 'failed';
    const err = await rejection(v.waitForAliasRequest('prj_1', 'dpl_green', { timeoutMs: 5_000, intervalMs: 20 }));
    expect(err.code).toBe('alias_request_failed');
    const slow = await rejection(v.waitForAliasRequest('prj_1', 'dpl_other', { timeoutMs: 100, intervalMs: 20 }));
    expect(slow.message).toContain('did not move to dpl_other within 100 ms');
  });

  it('assignAlias: POST /v2/deployments/{id}/aliases; a 409 already-assigned is success', async () => {
    const aliases: string[] = [];
    const { api, v } = await vercel({
      'POST /v2/deployments/dpl_green/aliases': (req) => {
        const alias = (req.json as { alias: string }).alias;
        if (aliases.includes(alias))
          return { status: 409, body: { error: { code: 'alias_in_use', message: 'already assigned' } } };
        aliases.push(alias);
        return { status: 200, body: { uid: 'a1', alias, created: 'now', oldDeploymentId: 'dpl_blue' } };
      },
      'GET /v2/deployments/dpl_green/aliases': () => ({
        status: 200,
        body: { aliases: aliases.map((a) => ({ uid: 'a1', alias: a })) },
      }),
    });
    expect(await v.assignAlias('dpl_green', 'green.example.com')).toEqual({
      alias: 'green.example.com',
      oldDeploymentId: 'dpl_blue',
    });
    expect(await v.assignAlias('dpl_green', 'green.example.com')).toEqual({ alias: 'green.example.com' });
    expect(api.requests('POST')[0]!.body).toEqual({ alias: 'green.example.com' });
  });

  it('getAlias → null on 404; deleteDeployment tolerates an already-deleted deployment', async () => {
    const { v } = await vercel({
      'GET /v4/aliases/green.example.com': () => ({
        status: 200,
        body: { uid: 'a1', alias: 'green.example.com', deploymentId: 'dpl_green', projectId: 'prj_1' },
      }),
      'DELETE /v13/deployments/dpl_old': () => ({ status: 200, body: { uid: 'dpl_old', state: 'DELETED' } }),
    });
    expect(await v.getAlias('green.example.com')).toEqual({
      uid: 'a1',
      alias: 'green.example.com',
      deploymentId: 'dpl_green',
      projectId: 'prj_1',
    });
    expect(await v.getAlias('nope.example.com')).toBeNull();
    expect(await v.deleteDeployment('dpl_old')).toEqual({ deleted: true });
    expect(await v.deleteDeployment('dpl_gone')).toEqual({ deleted: false });
  });

  it('listProjectEnv keeps names and targets only, never values', async () => {
    const { v } = await vercel({
      'GET /v10/projects/prj_1/env': () => ({
        status: 200,
        body: {
          envs: [
            { key: 'DATABASE_URL', value: 'postgres://secret', type: 'encrypted', target: ['production', 'preview'] },
            { key: 'PREVIEW_ONLY', value: 'x', type: 'plain', target: 'preview' },
          ],
        },
      }),
    });
    const envs = await v.listProjectEnv('prj_1', 'production');
    expect(envs).toEqual([{ key: 'DATABASE_URL', type: 'encrypted', target: ['production', 'preview'] }]);
    expect(JSON.stringify(envs)).not.toContain('secret');
  });

  it('getBuildEvents reads both event shapes', async () => {
    const { v } = await vercel(
      {
        'GET /v3/deployments/dpl_green/events': () => ({
          status: 200,
          body: [
            { type: 'command', created: 1, payload: { text: 'npm run build' } },
            { type: 'stderr', created: 2, text: 'warning' },
          ],
        }),
      },
      undefined,
    );
    expect(await v.getBuildEvents('dpl_green')).toEqual([
      { type: 'command', created: 1, text: 'npm run build' },
      { type: 'stderr', created: 2, text: 'warning' },
    ]);
  });
});
