/**
 * Faithfulness of the Vercel and Cloudflare miniatures: drive every operation they serve from the
 * official specs (through the official clients where one exists), then validate each logged
 * request and response with the sandbox's spec validator (`sandbox/contract/validate.ts`).
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createDeployment } from '@vercel/client';
import Cloudflare from 'cloudflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatProblems, SpecValidator } from '../../sandbox/contract/validate.ts';
import { Traffic, type RunningService } from '../../sandbox/core/service.ts';
import type { World } from '../../sandbox/core/world.ts';
import { cloudflareInputs, cloudflareSnapshot, startCloudflare, startLb } from '../../sandbox/services/cloudflare.ts';
import { startEdge } from '../../sandbox/services/vercel-edge.ts';
import { APP_DIR } from '../../sandbox/services/vercel-state.ts';
import { startVercel, vercelInputs } from '../../sandbox/services/vercel.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let world: World;
const services: RunningService[] = [];

async function call(
  method: string,
  p: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; json: Json }> {
  const v = vercelInputs(world);
  const res = await fetch(`${world.urls.vercel}${p}${p.includes('?') ? '&' : '?'}teamId=${v.teamId}`, {
    method,
    headers: { authorization: `Bearer ${token ?? v.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Json) : {} };
}

beforeAll(async () => {
  world = {
    traffic: new Traffic(),
    urls: {},
    hits: [],
    state: {},
    events: new EventEmitter(),
    dir: fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-b-spec-')),
  };
  services.push(await startVercel(world, { buildDelayMs: 200, aliasDelayMs: 200 }));
  services.push(await startEdge(world));
  services.push(await startCloudflare(world, { healthIntervalMs: 200 }));
  services.push(await startLb(world, {}));
});

afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
  fs.rmSync(world.dir, { recursive: true, force: true });
});

describe('spec conformance of the Vercel and Cloudflare miniatures', () => {
  it('drives the Vercel operations with @vercel/client and plain REST', async () => {
    const v = vercelInputs(world);
    let deployment: Json = {};
    for await (const e of createDeployment(
      {
        token: v.token,
        teamId: v.teamId,
        apiUrl: world.urls.vercel,
        path: path.join(APP_DIR, 'v2'),
        isDirectory: true,
      },
      { name: 'sandbox-shop', project: v.projectId, target: 'production', autoAssignCustomDomains: false } as never,
    )) {
      if (e.type === 'alias-assigned') deployment = e.payload as Json;
      if (e.type === 'error') throw new Error(JSON.stringify(e.payload));
    }
    const id = deployment.id as string;
    expect((await call('GET', `/v13/deployments/${id}`)).status).toBe(200);
    expect((await call('GET', `/v13/deployments/${deployment.url}`)).status).toBe(200);
    expect((await call('GET', '/v13/deployments/dpl_missing')).status).toBe(404);
    expect((await call('GET', `/v6/deployments?projectId=${v.projectId}&limit=5&target=production`)).status).toBe(200);
    expect((await call('GET', `/v7/deployments?projectId=${v.projectId}&state=READY`)).status).toBe(200);
    expect((await call('POST', `/v2/deployments/${id}/aliases`, { alias: 'green.example.com' })).status).toBe(200);
    expect((await call('GET', `/v2/deployments/${id}/aliases`)).status).toBe(200);
    expect((await call('GET', '/v4/aliases/green.example.com')).status).toBe(200);
    expect((await call('GET', `/v9/projects/${v.projectId}`)).status).toBe(200);
    expect((await call('GET', `/v9/projects/${v.projectId}`, undefined, 'bad-token')).status).toBe(403);
    expect((await call('PATCH', `/v9/projects/${v.projectId}`, { autoAssignCustomDomains: true })).status).toBe(200);
    expect((await call('GET', `/v9/projects/${v.projectId}/domains`)).status).toBe(200);
    expect((await call('GET', `/v10/projects/${v.projectId}/env`)).status).toBe(200);
    expect((await call('GET', `/v1/projects/${v.projectId}/promote/aliases`)).status).toBe(200);
    expect((await call('POST', `/v10/projects/${v.projectId}/promote/${id}`)).status).toBe(201);
    for (
      let i = 0;
      i < 40 && (await call('GET', `/v9/projects/${v.projectId}`)).json.lastAliasRequest.jobStatus !== 'succeeded';
      i++
    )
      await new Promise((r) => setTimeout(r, 25));
    expect((await call('GET', `/v1/projects/${v.projectId}/promote/aliases?limit=20`)).status).toBe(200);
    const before = (await call('GET', `/v6/deployments?projectId=${v.projectId}&rollbackCandidate=true`)).json;
    const previous = (before.deployments as Json[]).find((d) => d.uid !== id)!.uid as string;
    expect((await call('POST', `/v1/projects/${v.projectId}/rollback/${previous}?description=spec`)).status).toBe(201);
    expect((await call('GET', `/v1/projects/${v.projectId}/rolling-release`)).status).toBe(200);
    expect((await call('GET', `/v1/projects/${v.projectId}/rolling-release/config`)).status).toBe(200);
    expect((await call('DELETE', `/v13/deployments/${id}`)).status).toBe(200);
  });

  it('drives the Rolling Releases operations: config, a release started by promote, stages, complete, abort', async () => {
    const v = vercelInputs(world);
    const rr = `/v1/projects/${v.projectId}/rolling-release`;
    const stage = async (app: string) => {
      for await (const e of createDeployment(
        {
          token: v.token,
          teamId: v.teamId,
          apiUrl: world.urls.vercel,
          path: path.join(APP_DIR, app),
          isDirectory: true,
        },
        { name: 'sandbox-shop', project: v.projectId, target: 'production', autoAssignCustomDomains: false } as never,
      ))
        if (e.type === 'alias-assigned') return (e.payload as Json).id as string;
      throw new Error('no deployment');
    };
    const settle = async () => {
      for (
        let i = 0;
        i < 40 && (await call('GET', `/v9/projects/${v.projectId}`)).json.lastAliasRequest?.jobStatus !== 'succeeded';
        i++
      )
        await new Promise((r) => setTimeout(r, 25));
    };
    // The edge under the production domain (node's fetch would not send our Host header).
    const edge = (cookie?: string) =>
      new Promise<{ version: string; cookie?: string }>((resolve, reject) => {
        const url = new URL(world.urls['vercel-edge']!);
        const req = http.request(
          {
            host: '127.0.0.1',
            port: url.port,
            path: '/api/version',
            headers: { host: 'www.example.com', ...(cookie ? { cookie } : {}) },
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () =>
              resolve({
                version: (JSON.parse(text) as Json).version as string,
                cookie: res.headers['set-cookie']?.[0],
              }),
            );
          },
        );
        req.on('error', reject);
        req.end();
      });
    // A production deployment of our own, once the test before has settled.
    await settle();
    const production = await stage('v1');
    expect((await call('POST', `/v10/projects/${v.projectId}/promote/${production}`)).status).toBe(201);
    await settle();
    expect((await call('GET', `${rr}/billing`)).json.reason).toBe('available_slots');
    expect(
      (
        await call('PATCH', `${rr}/config`, {
          enabled: true,
          advancementType: 'manual-approval',
          stages: [{ targetPercentage: 50 }, { targetPercentage: 90 }],
        })
      ).status,
    ).toBe(400);
    const cfg = {
      enabled: true,
      advancementType: 'manual-approval',
      stages: [{ targetPercentage: 50 }, { targetPercentage: 80 }, { targetPercentage: 100 }],
    };
    expect((await call('PATCH', `${rr}/config`, cfg)).status).toBe(200);
    expect((await call('GET', `${rr}/config`)).json.rollingRelease.stages[0]).toEqual({
      targetPercentage: 50,
      requireApproval: true,
    });
    const canary = await stage('v2');
    expect((await call('POST', `/v10/projects/${v.projectId}/promote/${canary}`)).status).toBe(201);
    await settle();
    const active = (await call('GET', `${rr}?state=ACTIVE`)).json.rollingRelease;
    expect(active).toMatchObject({ state: 'ACTIVE', activeStage: { index: 0, targetPercentage: 50 } });
    expect(active.currentDeployment.id).toBe(production);
    expect(active.canaryDeployment.id).toBe(canary);
    // Production domains stay on the current deployment; visitors are split and kept on their side.
    expect((await call('GET', `/v9/projects/${v.projectId}`)).json.targets.production.id).toBe(production);
    const first = await Promise.all(Array.from({ length: 60 }, () => edge()));
    const onCanary = first.filter((a) => a.version === 'v2').length;
    expect(onCanary).toBeGreaterThan(10);
    expect(onCanary).toBeLessThan(50);
    const visitor = first.find((a) => a.version === 'v1')!;
    const back = await Promise.all(Array.from({ length: 10 }, () => edge(visitor.cookie!.split(';')[0])));
    expect(back.every((a) => a.version === 'v1')).toBe(true);
    expect((await call('POST', `${rr}/approve-stage`, { nextStageIndex: 2, canaryDeploymentId: canary })).status).toBe(
      400,
    );
    expect(
      (await call('POST', `${rr}/approve-stage`, { nextStageIndex: 1, canaryDeploymentId: canary })).json.rollingRelease
        .activeStage.targetPercentage,
    ).toBe(80);
    expect((await call('POST', `${rr}/complete`, { canaryDeploymentId: canary })).json.rollingRelease.state).toBe(
      'COMPLETE',
    );
    expect((await call('GET', `/v9/projects/${v.projectId}`)).json.targets.production.id).toBe(canary);
    expect((await edge()).version).toBe('v2');
    // A second release, aborted by a rollback to its current deployment (the CLI's `rr abort`).
    const bad = await stage('v1');
    expect((await call('POST', `/v10/projects/${v.projectId}/promote/${bad}`)).status).toBe(201);
    await settle();
    expect((await call('POST', `/v10/projects/${v.projectId}/promote/${production}`)).status).toBe(202);
    expect((await call('POST', `/v1/projects/${v.projectId}/rollback/${canary}`)).status).toBe(201);
    await settle();
    expect((await call('GET', `${rr}?state=ABORTED`)).json.rollingRelease.canaryDeployment.id).toBe(bad);
    expect((await call('GET', `${rr}?state=ACTIVE`)).json.rollingRelease).toBeNull();
    expect((await call('POST', `${rr}/complete`, { canaryDeploymentId: bad })).status).toBe(404);
    const after = await Promise.all(Array.from({ length: 10 }, () => edge()));
    expect(after.every((a) => a.version === 'v2')).toBe(true);
    // Skew Protection pins a client naming the aborted canary until the boundary passes it.
    expect((await edge(`__vdpl=${bad}`)).version).toBe('v1');
    expect((await call('PATCH', `/v9/projects/${v.projectId}`, { skewProtectionBoundaryAt: Date.now() })).status).toBe(
      200,
    );
    expect((await edge(`__vdpl=${bad}`)).version).toBe('v2');
    expect((await call('DELETE', `${rr}/config`)).json).toEqual({ rollingRelease: null });
    expect((await call('GET', `${rr}/config`)).json).toEqual({ rollingRelease: null });
    expect((await call('PATCH', `/v9/projects/${v.projectId}`, { autoAssignCustomDomains: true })).status).toBe(200);
  });

  it('drives the Cloudflare operations with the cloudflare SDK (full client)', async () => {
    const ids = cloudflareInputs(world);
    const cf = new Cloudflare({ apiToken: ids.token, baseURL: `${world.urls.cloudflare}/client/v4`, maxRetries: 0 });
    const [blue, green] = ids.pools;
    for await (const p of cf.loadBalancers.pools.list({ account_id: ids.accountId })) expect(p.id).toBeTruthy();
    const pool = await cf.loadBalancers.pools.get(green, { account_id: ids.accountId });
    await cf.loadBalancers.pools.edit(green, { account_id: ids.accountId, enabled: true });
    await cf.loadBalancers.pools.update(green, {
      account_id: ids.accountId,
      name: pool.name!,
      origins: pool.origins!,
      monitor: pool.monitor,
    });
    await cf.loadBalancers.pools.health.get(blue, { account_id: ids.accountId });
    for await (const lb of cf.loadBalancers.list({ zone_id: ids.zoneId })) expect(lb.id).toBe(ids.loadBalancerId);
    const lb = await cf.loadBalancers.get(ids.loadBalancerId, { zone_id: ids.zoneId });
    await cf.loadBalancers.edit(ids.loadBalancerId, {
      zone_id: ids.zoneId,
      random_steering: { pool_weights: { [blue]: 0.5, [green]: 0.5 }, default_weight: 0 },
    });
    await cf.loadBalancers.update(ids.loadBalancerId, {
      zone_id: ids.zoneId,
      name: lb.name!,
      default_pools: lb.default_pools!,
      fallback_pool: lb.fallback_pool!,
      steering_policy: 'random',
      random_steering: { pool_weights: { [blue]: 1, [green]: 0 }, default_weight: 0 },
    });
    await expect(cf.loadBalancers.get('f'.repeat(32), { zone_id: ids.zoneId })).rejects.toMatchObject({ status: 404 });
    const zone = { zone_id: ids.zoneId };
    const rec = (cloudflareSnapshot(world).dnsRecords as Json[])[0];
    await cf.dns.records.get(rec.id, zone);
    await cf.dns.records.edit(rec.id, {
      ...zone,
      type: 'CNAME',
      name: rec.name,
      content: 'cname.vercel-dns.com',
      ttl: 1,
    });
  });

  it('every response the miniatures gave matches the official spec', async () => {
    const validator = await SpecValidator.load(['vercel', 'cloudflare']);
    const log = world.traffic.requests.filter((r) => r.service === 'vercel' || r.service === 'cloudflare');
    const results = validator.validateAll(log);
    expect(results.filter((r) => r.operation).length).toBeGreaterThan(30);
    expect(results.filter((r) => r.errors.some((e) => e.startsWith('operation not in'))).map((r) => r.path)).toEqual(
      [],
    );
    // Known flaws of the spec excerpts themselves, which no response can satisfy:
    // - Vercel `oneOf`s whose alternatives overlap (the "public" deployment variant is a subset of the
    //   "full" one; the two domain-list variants are alike; promote/aliases allows `{}`): a correct
    //   response matches several, and JSON Schema's oneOf then fails. Speakeasy's SDK reads them as unions.
    // - Cloudflare 4XX schemas are allOf(success-envelope with `success: true`, failure with `success: false`).
    const ambiguous =
      /^response \d+: (\S+ must match exactly one schema in oneOf \{"passingSchemas":\[\d+(,\d+)+\]\}(; )?)+$/;
    const impossible = (r: (typeof results)[number], e: string) =>
      r.service === 'cloudflare' && (r.status ?? 0) >= 400 && e.includes('"allowedValues":[true]');
    const responseProblems = results
      .map((r) => ({
        ...r,
        errors: r.errors.filter((e) => e.startsWith('response') && !ambiguous.test(e) && !impossible(r, e)),
      }))
      .filter((r) => r.errors.length > 0);
    expect(formatProblems(responseProblems)).toBe('');
  });

  it('request-side mismatches come only from the official clients where the spec excerpt is stricter than they are', async () => {
    const validator = await SpecValidator.load(['vercel', 'cloudflare']);
    const log = world.traffic.requests.filter((r) => r.service === 'vercel' || r.service === 'cloudflare');
    const requestProblems = validator
      .validateAll(log)
      .filter((r) => r.errors.some((e) => e.startsWith('request') || e.startsWith('missing')))
      .map((r) => r.operation);
    // @vercel/client sends `version`, `autoAssignCustomDomains` and files with `mode` (the spec forbids
    // extra properties); the Cloudflare DNS record schema marks read-only fields as required in the PATCH body.
    for (const op of requestProblems)
      expect(['POST /v13/deployments', 'PATCH /zones/{zone_id}/dns_records/{dns_record_id}']).toContain(op);
  });
});
