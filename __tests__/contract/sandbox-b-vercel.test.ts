/**
 * The Vercel miniature against the official client: `@vercel/client` uploads sample apps through
 * the missing_files flow and waits for `ready` + `alias-assigned`; the edge serves what was
 * deployed; promote and instant rollback complete through `lastAliasRequest`; staged production
 * deployments take no production domain; protection bypass; a broken build ends in ERROR.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createDeployment } from '@vercel/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Traffic, type RunningService } from '../../sandbox/core/service.ts';
import type { World } from '../../sandbox/core/world.ts';
import { startEdge } from '../../sandbox/services/vercel-edge.ts';
import { APP_DIR } from '../../sandbox/services/vercel-state.ts';
import { startVercel, vercelSnapshot, VERCEL_DEFAULTS } from '../../sandbox/services/vercel.ts';

const TOKEN = 'test-vercel-token';
const TEAM = 'team_test';
const PROJECT = VERCEL_DEFAULTS.project.id;
const BYPASS = 'testbypasssecret00000000000000aa';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let world: World;
let services: RunningService[] = [];
let api = '';
let edge = '';

function newWorld(): World {
  return {
    traffic: new Traffic(),
    urls: {},
    hits: [],
    state: {},
    events: new EventEmitter(),
    dir: fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-b-vercel-')),
  };
}

async function call(method: string, p: string, body?: unknown, token = TOKEN): Promise<{ status: number; json: Json }> {
  const sep = p.includes('?') ? '&' : '?';
  const res = await fetch(`${api}${p}${sep}teamId=${TEAM}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Json) : {} };
}

/** GET through the shared edge with a Host header (fetch does not let a caller set Host). */
function viaHost(host: string, p = '/'): Promise<{ status: number; version?: string; text: string; headers: Json }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${edge}${p}`, { headers: { host }, timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          version: res.headers['x-app-version'] as string,
          text,
          headers: res.headers,
        }),
      );
    });
    req.on('error', reject);
  });
}

/** Deploy a directory with the official client; returns every event it yielded. */
async function deploy(dir: string, options: Json = {}): Promise<Json[]> {
  const events: Json[] = [];
  const gen = createDeployment({ token: TOKEN, teamId: TEAM, apiUrl: api, path: dir, isDirectory: true }, {
    name: 'sandbox-shop',
    project: PROJECT,
    target: 'production',
    ...options,
  } as never);
  for await (const e of gen) {
    events.push(e as Json);
    if (e.type === 'alias-assigned' || e.type === 'error' || e.type === 'canceled') break;
  }
  return events;
}

function last(events: Json[]): Json {
  return events[events.length - 1];
}

async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function aliasRequestDone(): Promise<Json> {
  return waitFor(async () => {
    const { json } = await call('GET', `/v9/projects/${PROJECT}`);
    const s = json.lastAliasRequest?.jobStatus;
    return s === 'succeeded' || s === 'failed' ? json : undefined;
  }, 'lastAliasRequest to settle');
}

beforeAll(async () => {
  world = newWorld();
  services.push(
    await startVercel(world, {
      token: TOKEN,
      teamId: TEAM,
      buildDelayMs: 300,
      aliasDelayMs: 300,
      project: { bypassSecret: BYPASS },
      deployments: [
        { id: 'dpl_v1live', app: 'v1', production: true, aliases: ['blue.example.com'] },
        { id: 'dpl_healthbad', app: 'bad-health', target: 'preview' },
        { id: 'dpl_journeybad', app: 'bad-journey', target: 'preview' },
        { id: 'dpl_errorsbad', app: 'bad-errors', target: 'preview' },
        { id: 'dpl_slowbad', app: 'bad-slow', target: 'preview' },
        { id: 'dpl_noversion', app: 'v2-no-version-header', target: 'preview' },
      ],
    }),
  );
  services.push(await startEdge(world));
  api = world.urls.vercel!;
  edge = world.urls['vercel-edge']!;
});

afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
  services = [];
  fs.rmSync(world.dir, { recursive: true, force: true });
});

describe('@vercel/client against the miniature', () => {
  let staged: Json;

  it('uploads through missing_files, builds, and ends with alias-assigned for a staged production deployment', async () => {
    const events = await deploy(path.join(APP_DIR, 'v2'), { autoAssignCustomDomains: false });
    const types = events.map((e) => e.type);
    expect(types).toContain('file-count');
    const count = events.find((e) => e.type === 'file-count')!.payload;
    expect(count.missing.length).toBeGreaterThan(0);
    expect(types.filter((t) => t === 'file-uploaded').length).toBe(count.missing.length);
    expect(types).toEqual(expect.arrayContaining(['all-files-uploaded', 'created', 'ready']));
    expect(last(events).type).toBe('alias-assigned');
    staged = last(events).payload;
    expect(staged.readyState).toBe('READY');
    expect(staged.readySubstate).toBe('STAGED');
    expect(staged.url).toMatch(/^127\.0\.0\.1:\d+$/);

    // The wire: create → 400 missing_files, uploads → exactly 200 with x-now-digest, create again → 200.
    const log = world.traffic.requests.filter((r) => r.service === 'vercel');
    const creates = log.filter((r) => r.method === 'POST' && r.path === '/v13/deployments');
    expect(creates.map((r) => r.status)).toEqual([400, 200]);
    expect((creates[0].response as Json).error).toMatchObject({ code: 'missing_files' });
    const uploads = log.filter((r) => r.path === '/v2/files');
    expect(uploads.length).toBe(count.missing.length);
    for (const u of uploads) {
      expect(u.status).toBe(200);
      expect(u.headers['x-now-digest']).toMatch(/^[0-9a-f]{40}$/);
    }
  });

  it('walks QUEUED → BUILDING → READY over the build delay (polled faster than the client does)', async () => {
    const files = (await call('GET', `/v13/deployments/${staged.id}`)).json;
    expect(files.readyState).toBe('READY');
    const created = await call('POST', '/v13/deployments', {
      name: 'sandbox-shop',
      project: PROJECT,
      deploymentId: staged.id,
    });
    expect(created.status).toBe(200);
    expect(created.json.readyState).toBe('QUEUED');
    expect(created.json.aliasAssigned).toBe(false);
    const seen: string[] = [];
    const t0 = Date.now();
    await waitFor(async () => {
      const s = (await call('GET', `/v13/deployments/${created.json.id}`)).json.readyState as string;
      if (seen[seen.length - 1] !== s) seen.push(s);
      return s === 'READY' ? s : undefined;
    }, 'READY');
    expect(seen).toEqual(['QUEUED', 'BUILDING', 'READY']);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    const ready = (await call('GET', `/v13/deployments/${created.json.id}`)).json;
    expect(ready).toMatchObject({ aliasAssigned: true, target: null });
    expect(ready.readySubstate).toBeUndefined(); // preview deployments have no production substate
  });

  it('serves the staged deployment at its own URL while production stays on v1', async () => {
    const own = await fetch(`http://${staged.url}/`);
    expect(own.status).toBe(200);
    expect(own.headers.get('x-app-version')).toBe('v2');
    expect(own.headers.get('x-vercel-deployment-id')).toBeNull();
    expect(await own.text()).toContain('v2');
    const prod = await viaHost('www.example.com');
    expect(prod.version).toBe('v1');
    const { json } = await call('GET', `/v2/deployments/${staged.id}/aliases`);
    expect(json.aliases).toEqual([]);
    const project = (await call('GET', `/v9/projects/${PROJECT}`)).json;
    expect(project.targets.production.id).toBe('dpl_v1live');
  });

  it('moves a slot hostname with an alias', async () => {
    const { status, json } = await call('POST', `/v2/deployments/${staged.id}/aliases`, { alias: 'green.example.com' });
    expect(status).toBe(200);
    expect(json).toMatchObject({ alias: 'green.example.com', uid: expect.any(String), created: expect.any(String) });
    expect((await viaHost('green.example.com')).version).toBe('v2');
    const again = await call('GET', '/v4/aliases/green.example.com');
    expect(again.json[0]).toMatchObject({ alias: 'green.example.com', deploymentId: staged.id });
    // Moving blue's hostname would take it off v1: check oldDeploymentId names the previous holder.
    const moved = await call('POST', `/v2/deployments/${staged.id}/aliases`, { alias: 'blue.example.com' });
    expect(moved.json.oldDeploymentId).toBe('dpl_v1live');
    await call('POST', '/v2/deployments/dpl_v1live/aliases', { alias: 'blue.example.com' });
    expect((await viaHost('blue.example.com')).version).toBe('v1');
  });

  it('promotes through lastAliasRequest: 201, pending, then succeeded with production moved', async () => {
    const res = await fetch(`${api}/v10/projects/${PROJECT}/promote/${staged.id}?teamId=${TEAM}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(201);
    const pending = (await call('GET', `/v9/projects/${PROJECT}`)).json.lastAliasRequest;
    expect(pending).toMatchObject({ type: 'promote', toDeploymentId: staged.id, fromDeploymentId: 'dpl_v1live' });
    expect(['pending', 'in-progress']).toContain(pending.jobStatus);
    expect((await viaHost('www.example.com')).version).toBe('v1');
    const project = await aliasRequestDone();
    expect(project.lastAliasRequest.jobStatus).toBe('succeeded');
    expect(project.targets.production.id).toBe(staged.id);
    expect(project.autoAssignCustomDomains).toBe(true);
    expect((await viaHost('www.example.com')).version).toBe('v2');
    expect((await call('GET', `/v13/deployments/${staged.id}`)).json.readySubstate).toBe('PROMOTED');
    const aliases = (await call('GET', `/v1/projects/${PROJECT}/promote/aliases`)).json;
    expect(aliases.aliases).toEqual([expect.objectContaining({ alias: 'www.example.com', status: 'completed' })]);
  });

  it('rolls back instantly (v1 path) and pins production: the next production deploy stays staged', async () => {
    const res = await call('POST', `/v1/projects/${PROJECT}/rollback/dpl_v1live?description=bad`);
    expect(res.status).toBe(201);
    const project = await aliasRequestDone();
    expect(project.lastAliasRequest).toMatchObject({ type: 'rollback', jobStatus: 'succeeded' });
    expect(project.autoAssignCustomDomains).toBe(false);
    expect((await viaHost('www.example.com')).version).toBe('v1');

    const events = await deploy(path.join(APP_DIR, 'v2'));
    expect(last(events).type).toBe('alias-assigned');
    expect(last(events).payload.readySubstate).toBe('STAGED');
    expect((await viaHost('www.example.com')).version).toBe('v1');
  });

  it('a production deployment takes the production domains when READY once auto-assignment is back on', async () => {
    const patched = await call('PATCH', `/v9/projects/${PROJECT}`, { autoAssignCustomDomains: true });
    expect(patched.json.autoAssignCustomDomains).toBe(true);
    const events = await deploy(path.join(APP_DIR, 'v2'));
    const d = last(events).payload;
    expect(d.readySubstate).toBe('PROMOTED');
    expect(d.alias).toContain('www.example.com');
    expect((await viaHost('www.example.com')).version).toBe('v2');
    // Uploaded before: the second deployment of the same files needs no upload.
    expect(events.some((e) => e.type === 'file-count')).toBe(false);
    const rollback = await call('POST', `/v9/projects/${PROJECT}/rollback/dpl_v1live`, {});
    expect(rollback.status).toBe(201);
    expect((await aliasRequestDone()).targets.production.id).toBe('dpl_v1live');
  });

  it('inlines small html-only apps (no upload) and serves them', async () => {
    const dir = fs.mkdtempSync(path.join(world.dir, 'inline-'));
    fs.writeFileSync(path.join(dir, 'index.html'), '<h1>inline app</h1>');
    const events = await deploy(dir, { target: undefined });
    expect(last(events).type).toBe('alias-assigned');
    const d = last(events).payload;
    expect(d.target).toBeNull();
    const body = await (await fetch(`http://${d.url}/`)).text();
    expect(body).toContain('inline app');
  });

  it('shows the deployed build-log.txt in the build events, as remote text (NDJSON when following)', async () => {
    const dir = fs.mkdtempSync(path.join(world.dir, 'logapp-'));
    fs.cpSync(path.join(APP_DIR, 'v1'), dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'build-log.txt'),
      'compiling\n::set-output name=deployment-url::https://evil.example\n',
    );
    const events = await deploy(dir, { autoAssignCustomDomains: false });
    const id = last(events).payload.id as string;
    const log = (await call('GET', `/v3/deployments/${id}/events`)).json as unknown as Json[];
    expect(log.map((e) => e.payload.text)).toContain('::set-output name=deployment-url::https://evil.example');
    expect(log[0]).toMatchObject({ type: 'stdout', deploymentId: id, created: expect.any(Number) });
    const follow = await fetch(`${api}/v3/deployments/${id}/events?follow=1&teamId=${TEAM}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(follow.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await follow.text()).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as Json).text)).toEqual(log.map((e) => e.text));
  });

  it('a broken build ends in ERROR with its build log', async () => {
    const events = await deploy(path.join(APP_DIR, 'broken-build'), { autoAssignCustomDomains: false });
    const end = last(events);
    expect(end.type).toBe('error');
    expect(end.payload).toMatchObject({ readyState: 'ERROR', errorCode: 'BUILD_FAILED' });
    const id = events.find((e) => e.type === 'created')!.payload.id;
    const log = (await call('GET', `/v3/deployments/${id}/events`)).json as unknown as Json[];
    const text = log.map((e) => e.text).join('\n');
    expect(text).toContain("Cannot find module './missing-module'");
    expect(text).toContain('exited with 1');
    const served = await fetch(`http://${end.payload.url}/`);
    expect(served.status).toBe(404);
    expect(served.headers.get('x-vercel-error')).toBe('DEPLOYMENT_NOT_FOUND');
  });
});

describe('the edge serves what was deployed', () => {
  const url = (id: string) => `http://${(vercelSnapshot(world).deployments as Json[]).find((d) => d.id === id)!.url}`;

  it('answers health with the status of the deployed sandbox.json', async () => {
    const good = await fetch(`${url('dpl_v1live')}/api/health`);
    expect(good.status).toBe(200);
    const bad = await fetch(`${url('dpl_healthbad')}/api/health`);
    expect(bad.status).toBe(503);
    expect(bad.headers.get('x-app-version')).toBe('bad-health');
  });

  it('fails only the journey path of bad-journey', async () => {
    expect((await fetch(`${url('dpl_journeybad')}/api/checkout`, { method: 'POST' })).status).toBe(500);
    const products = await fetch(`${url('dpl_journeybad')}/api/products`);
    expect(products.status).toBe(200);
    expect(((await products.json()) as Json).products).toHaveLength(2);
    expect((await fetch(`${url('dpl_v1live')}/api/checkout`, { method: 'POST' })).status).toBe(200);
  });

  it('answers about 30% 500s for bad-errors and adds ~1.5 s for bad-slow', async () => {
    let errors = 0;
    for (let i = 0; i < 200; i += 20) {
      const batch = await Promise.all(Array.from({ length: 20 }, () => fetch(`${url('dpl_errorsbad')}/`)));
      for (const r of batch) {
        await r.arrayBuffer();
        if (r.status === 500) errors++;
      }
    }
    expect(errors / 200).toBeGreaterThan(0.18);
    expect(errors / 200).toBeLessThan(0.42);
    const t0 = performance.now();
    const slow = await fetch(`${url('dpl_slowbad')}/`);
    expect(slow.status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThan(1400);
  });

  it('404s unknown paths with the app 404 page and unknown hosts as DEPLOYMENT_NOT_FOUND', async () => {
    const missing = await fetch(`${url('dpl_v1live')}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-app-version')).toBe('v1');
    const unknown = await viaHost('nobody.example.com');
    expect(unknown.status).toBe(404);
    expect(unknown.headers['x-vercel-error']).toBe('DEPLOYMENT_NOT_FOUND');
  });

  // https://vercel.com/docs/headers/response-headers: cache-control, content-length, content-type,
  // date, server, strict-transport-security, x-robots-tag, x-vercel-cache, x-vercel-id — nothing
  // naming the deployment. Anything else comes from the app's own code (sandbox.json `headers`).
  it("answers with Vercel's documented headers and only the headers the app's code sends", async () => {
    const VERCEL = new Set([
      'cache-control',
      'content-length',
      'content-type',
      'date',
      'server',
      'strict-transport-security',
      'x-robots-tag',
      'x-vercel-cache',
      'x-vercel-id',
    ]);
    const HTTP = new Set(['connection', 'keep-alive', 'transfer-encoding']);
    const names = (r: Response) => [...r.headers.keys()].filter((k) => !VERCEL.has(k) && !HTTP.has(k));
    const v1 = await fetch(`${url('dpl_v1live')}/`);
    expect(names(v1)).toEqual(['x-app-version']);
    expect(v1.headers.get('server')).toBe('Vercel');
    const bare = await fetch(`${url('dpl_noversion')}/api/health`);
    expect(bare.status).toBe(200);
    expect(names(bare)).toEqual([]);
    expect(bare.headers.get('x-vercel-deployment-id')).toBeNull();
    // The app's version endpoint (its code) still names the release in its body.
    expect(((await (await fetch(`${url('dpl_noversion')}/api/version`)).json()) as Json).version).toBe(
      'v2-no-version-header',
    );
  });

  // https://vercel.com/docs/headers/request-headers: host is the domain as accessed;
  // x-forwarded-host is identical to it (whatever a client or proxy sent).
  it('gives the app host = the domain as accessed and x-forwarded-host identical to it', async () => {
    const viaSlot = await new Promise<Json>((resolve, reject) => {
      http
        .get(
          `${edge}/api/request`,
          { headers: { host: 'blue.example.com', 'x-forwarded-host': 'www.example.com' }, timeout: 5000 },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => resolve(JSON.parse(text) as Json));
          },
        )
        .on('error', reject);
    });
    expect(viaSlot).toEqual({
      host: 'blue.example.com',
      'x-forwarded-host': 'blue.example.com',
      absoluteUrl: 'https://blue.example.com/api/request',
    });
    const own = (await (await fetch(`${url('dpl_v1live')}/api/request`)).json()) as Json;
    expect(own.host).toBe(new URL(url('dpl_v1live')).host);
    expect(own['x-forwarded-host']).toBe(own.host);
  });

  it('enforces deployment protection unless the bypass secret is sent', async () => {
    await call('PATCH', `/v9/projects/${PROJECT}`, {
      ssoProtection: { deploymentType: 'prod_deployment_urls_and_all_previews' },
    });
    try {
      expect((await fetch(`${url('dpl_v1live')}/`)).status).toBe(401);
      expect(
        (await fetch(`${url('dpl_v1live')}/`, { headers: { 'x-vercel-protection-bypass': 'wrong' } })).status,
      ).toBe(401);
      const ok = await fetch(`${url('dpl_v1live')}/`, { headers: { 'x-vercel-protection-bypass': BYPASS } });
      expect(ok.status).toBe(200);
      const withCookie = await fetch(
        `${url('dpl_v1live')}/?x-vercel-protection-bypass=${BYPASS}&x-vercel-set-bypass-cookie=true`,
      );
      expect(withCookie.status).toBe(200);
      const cookie = withCookie.headers.get('set-cookie')!.split(';')[0];
      expect(cookie).not.toContain(BYPASS);
      expect((await fetch(`${url('dpl_v1live')}/products`, { headers: { cookie } })).status).toBe(200);
      // The project's own domains stay public under standard protection.
      expect((await viaHost('www.example.com')).status).toBe(200);
      expect((await call('GET', `/v9/projects/${PROJECT}`)).json.protectionBypass[BYPASS].scope).toBe(
        'automation-bypass',
      );
    } finally {
      await call('PATCH', `/v9/projects/${PROJECT}`, { ssoProtection: null });
    }
  });
});

describe('the rest of the API', () => {
  it('checks the bearer token and the team', async () => {
    const none = await fetch(`${api}/v9/projects/${PROJECT}`);
    expect(none.status).toBe(403);
    expect(((await none.json()) as Json).error).toMatchObject({ code: 'forbidden', missingToken: true });
    expect((await call('GET', `/v9/projects/${PROJECT}`, undefined, 'nope')).json.error.invalidToken).toBe(true);
    const otherTeam = await fetch(`${api}/v9/projects/${PROJECT}?teamId=team_other`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(otherTeam.status).toBe(403);
  });

  it('lists deployments newest first with filters and until-pagination (v6 and v7)', async () => {
    const all = (await call('GET', `/v6/deployments?projectId=${PROJECT}&limit=100`)).json;
    expect(all.deployments.length).toBeGreaterThan(5);
    const created = all.deployments.map((d: Json) => d.created);
    expect([...created].sort((a, b) => b - a)).toEqual(created);
    expect(all.deployments[0].uid).toMatch(/^dpl_/);
    const page1 = (await call('GET', `/v7/deployments?projectId=${PROJECT}&limit=2`)).json;
    expect(page1.deployments).toHaveLength(2);
    const page2 = (await call('GET', `/v7/deployments?projectId=${PROJECT}&limit=2&until=${page1.pagination.next}`))
      .json;
    expect(page2.deployments[0].uid).toBe(all.deployments[2].uid);
    const errored = (await call('GET', `/v6/deployments?projectId=${PROJECT}&state=ERROR`)).json;
    expect(errored.deployments.every((d: Json) => d.state === 'ERROR')).toBe(true);
    expect(errored.deployments.length).toBe(1);
    const prod = (await call('GET', `/v6/deployments?projectId=${PROJECT}&target=production&state=READY,BUILDING`))
      .json;
    expect(prod.deployments.every((d: Json) => d.target === 'production')).toBe(true);
  });

  it('filters env by target and keeps encrypted values encrypted unless decrypt=true', async () => {
    const prod = (await call('GET', `/v10/projects/${PROJECT}/env?target=production`)).json.envs as Json[];
    expect(prod.map((e) => e.key).sort()).toEqual(['API_BASE', 'DATABASE_URL']);
    const db = prod.find((e) => e.key === 'DATABASE_URL')!;
    expect(db.value).not.toContain('postgres://');
    const clear = (await call('GET', `/v10/projects/${PROJECT}/env?target=production&decrypt=true`)).json
      .envs as Json[];
    expect(clear.find((e) => e.key === 'DATABASE_URL')!.value).toContain('postgres://');
    const dev = (await call('GET', `/v10/projects/${PROJECT}/env?target=development`)).json.envs as Json[];
    expect(dev.map((e) => e.key)).toEqual(['API_BASE']);
  });

  it('lists project domains', async () => {
    const { json } = await call('GET', `/v9/projects/${PROJECT}/domains`);
    expect(json.domains.map((d: Json) => d.name)).toEqual(['www.example.com', 'blue.example.com', 'green.example.com']);
  });

  it('deletes a deployment: 200 DELETED, 404 afterwards, its port closed', async () => {
    const d = (vercelSnapshot(world).deployments as Json[]).find((x) => x.id === 'dpl_slowbad')!;
    const del = await call('DELETE', '/v13/deployments/dpl_slowbad');
    expect(del).toEqual({ status: 200, json: { uid: 'dpl_slowbad', state: 'DELETED' } });
    expect((await call('GET', '/v13/deployments/dpl_slowbad')).status).toBe(404);
    await expect(fetch(`http://${d.url}/`)).rejects.toThrow();
  });

  it('refuses to promote a deployment that is not READY and a second alias job in flight', async () => {
    const broken = (vercelSnapshot(world).deployments as Json[]).find((d) => d.readyState === 'ERROR')!;
    expect((await call('POST', `/v10/projects/${PROJECT}/promote/${broken.id}`, {})).status).toBe(400);
    const v1 = await call('POST', `/v10/projects/${PROJECT}/promote/dpl_v1live`, {});
    expect(v1.status).toBe(201);
    const second = await call('POST', `/v10/projects/${PROJECT}/promote/dpl_v1live`, {});
    expect(second.status).toBe(409);
    await aliasRequestDone();
  });

  it('reports state for /_sandbox/state with traffic per deployment', () => {
    world.hits.push({
      time: Date.now(),
      pool: 'p',
      deploymentId: 'dpl_v1live',
      version: 'v1',
      status: 500,
      latencyMs: 3,
      path: '/',
    });
    const snap = vercelSnapshot(world) as Json;
    expect(snap.projects[0].servingProduction).toBe('dpl_v1live');
    expect(snap.aliases['www.example.com']).toBe('dpl_v1live');
    expect(snap.traffic.dpl_v1live).toEqual({ requests: 1, errors: 1, version: 'v1' });
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
  });
});
