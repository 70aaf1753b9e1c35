/**
 * Routing verification over real HTTP (Vercel names no deployment in its answers): the fingerprint
 * is learned from green's and blue's own URLs (`x-app-version`, or a version body), then production's
 * answers are counted; a check that cannot attribute, or a production that does not answer, fails.
 * Also the pure snapshot comparison the traffic step switches by.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrafficSnapshot } from '../../../src/pipeline/types.ts';
import { describeSnapshot, sameTraffic } from '../../../src/traffic/snapshot.ts';
import { checkAttribution, verifyRouting } from '../../../src/traffic/verify.ts';

const servers: http.Server[] = [];
let greenShare = 0.5;
let seen = 0;
const bypassSeen: (string | undefined)[] = [];

async function serve(handler: http.RequestListener): Promise<string> {
  const s = http.createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `127.0.0.1:${(s.address() as AddressInfo).port}`;
}

let prod = '';
let green = '';
let blue = '';
let mute = '';

beforeAll(async () => {
  green = await serve((req, res) => {
    bypassSeen.push(req.headers['x-vercel-protection-bypass'] as string | undefined);
    res.writeHead(200, { 'x-app-version': 'v2' }).end('ok');
  });
  blue = await serve((_req, res) => res.writeHead(200, { 'x-app-version': 'v1' }).end('ok'));
  mute = await serve((_req, res) => res.writeHead(200).end('ok'));
  // Deterministic split: every request is green while the running share is below the target.
  prod = await serve((_req, res) => {
    seen++;
    const version = (seen * greenShare) % 1 < greenShare ? 'v2' : 'v1';
    res.writeHead(200, { 'x-app-version': version }).end('ok');
  });
});
afterAll(async () => {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

const opts = (url: string) => ({
  url,
  samples: 20,
  deadlineMs: 1000,
  intervalMs: 100,
  baseUrlOf: (u: string) => `http://${u}`,
  bypass: 'bypass-secret',
  attribution: { source: 'header' as const, name: 'x-app-version' },
});

describe('verifyRouting by a learned fingerprint', () => {
  it('learns x-app-version from green and blue (with the bypass) and measures the share', async () => {
    greenShare = 0.5;
    const check = await verifyRouting(
      { share: 50, green: { id: 'dpl_g', url: green }, blue: { id: 'dpl_b', url: blue } },
      opts(`http://${prod}/api/health`),
    );
    expect(check).toMatchObject({
      kind: 'share',
      ok: true,
      measured: 50,
      counts: { green: 10, blue: 10, other: 0, error: 0 },
    });
    expect(bypassSeen).toEqual(['bypass-secret']);
  });

  it('fails when production does not follow, after retrying until the deadline', async () => {
    greenShare = 0;
    const started = Date.now();
    const check = await verifyRouting(
      { deployment: { id: 'dpl_g', url: green }, other: { id: 'dpl_b', url: blue } },
      opts(`http://${prod}/`),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    expect(check.ok).toBe(false);
    expect(check.reason).toMatch(/^dpl_g served 0\/20 \(0 %\), expected 100 % \(batch \d+\)$/);
  });

  it('fails closed, naming the fix, when green and blue cannot be told apart', async () => {
    const check = await verifyRouting(
      { share: 100, green: { id: 'dpl_g', url: mute }, blue: { id: 'dpl_b', url: mute } },
      opts(`http://${prod}/`),
    );
    expect(check.ok).toBe(false);
    expect(check.reason).toContain('green (dpl_g) sends no x-app-version header');
    expect(check.reason).toContain('version-header');
    const same = await checkAttribution(
      { id: 'dpl_g', url: blue },
      { id: 'dpl_b', url: blue },
      opts(`http://${prod}/`),
    );
    expect(same.ok).toBe(false);
    expect(same.reason).toContain('both answer x-app-version: "v1"');
    const fine = await checkAttribution(
      { id: 'dpl_g', url: green },
      { id: 'dpl_b', url: blue },
      opts(`http://${prod}/`),
    );
    expect(fine).toEqual({ ok: true, reason: 'x-app-version: green "v2", blue "v1"' });
  });

  it('fails when production answers 503 although green and blue answer', async () => {
    const down = await serve((_req, res) => res.writeHead(503, { 'x-app-version': 'v2' }).end('down'));
    const check = await verifyRouting(
      { share: 100, green: { id: 'dpl_g', url: green }, blue: { id: 'dpl_b', url: blue } },
      { ...opts(`http://${down}/`), deadlineMs: 0 },
    );
    expect(check.ok).toBe(false);
    expect(check.reason).toBe('production does not answer: 20/20 requests failed (HTTP 503 ×20)');
  });

  it('attributes by the body of a version endpoint when version-path is used', async () => {
    const g = await serve((_req, res) => res.writeHead(200).end('{"release":"abc"}'));
    const b = await serve((_req, res) => res.writeHead(200).end('{"release":"def"}'));
    const p = await serve((_req, res) => res.writeHead(200).end('{"release":"abc"}'));
    const check = await verifyRouting(
      { share: 100, green: { id: 'dpl_g', url: g }, blue: { id: 'dpl_b', url: b } },
      { ...opts(`http://${p}/api/version`), attribution: { source: 'body', name: '/api/version' } },
    );
    expect(check).toMatchObject({ ok: true, counts: { green: 20, blue: 0, other: 0, error: 0 } });
  });

  it('counts refused connections as failed requests', async () => {
    const s = http.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    const check = await verifyRouting(
      { share: 100, green: { id: 'dpl_g', url: green }, blue: { id: 'dpl_b', url: blue } },
      { ...opts(`http://127.0.0.1:${port}/`), deadlineMs: 0 },
    );
    expect(check.ok).toBe(false);
  });
});

describe('comparing traffic states', () => {
  const cf: TrafficSnapshot = {
    kind: 'cloudflare',
    loadBalancerId: 'lb',
    poolWeights: { a: 1, b: 0 },
    defaultPools: ['a', 'b'],
    fallbackPool: 'a',
    livePool: 'a',
    slots: { a: { hostname: 'blue.example.com', deploymentId: 'dpl_1' }, b: { hostname: 'green.example.com' } },
    steeringPolicy: 'random',
  };
  it('is the same when the live deployment and the routing are', () => {
    expect(sameTraffic(cf, structuredClone(cf))).toBe(true);
    // The idle slot's deployment is not part of the traffic.
    expect(
      sameTraffic(cf, { ...cf, slots: { ...cf.slots, b: { hostname: 'green.example.com', deploymentId: 'dpl_9' } } }),
    ).toBe(true);
  });
  it('differs on weights, live slot, fallback, or what the live hostname serves', () => {
    expect(sameTraffic(cf, { ...cf, poolWeights: { a: 0.9, b: 0.1 } })).toBe(false);
    expect(sameTraffic(cf, { ...cf, fallbackPool: 'b' })).toBe(false);
    expect(
      sameTraffic(cf, { ...cf, slots: { ...cf.slots, a: { hostname: 'blue.example.com', deploymentId: 'dpl_2' } } }),
    ).toBe(false);
    expect(sameTraffic(cf, { kind: 'vercel', productionDeploymentId: 'dpl_1' })).toBe(false);
    expect(
      sameTraffic(
        { kind: 'vercel', productionDeploymentId: 'dpl_1' },
        { kind: 'vercel', productionDeploymentId: 'dpl_1' },
      ),
    ).toBe(true);
  });
  it('describes a state in one line', () => {
    expect(describeSnapshot(cf)).toBe('live pool a (→ dpl_1), weights a=1, b=0, fallback a');
    expect(describeSnapshot({ kind: 'vercel', productionDeploymentId: 'dpl_1' })).toBe('production → dpl_1');
  });
});
