/**
 * What `mode: plan` reads of production: who blue is when Vercel and the live slot agree or not,
 * and what is reported when a provider is not configured (no request is made then).
 */
import { describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/types.ts';
import type { Logger } from '../../../src/pipeline/types.ts';
import { productionView } from '../../../src/traffic/describe.ts';
import { createTrafficManager, describeProduction } from '../../../src/traffic/index.ts';
import type { VercelApi } from '../../../src/providers/vercel-api.ts';
import type { SlotsView } from '../../../src/traffic/types.ts';

const quiet: Logger = { info: () => {}, warning: () => {}, error: () => {}, debug: () => {}, untrusted: () => {} };

function slots(deployments: Record<string, string | undefined>): SlotsView {
  return {
    livePool: 'pool-a',
    idlePool: 'pool-b',
    hostnames: { 'pool-a': 'blue.example.com', 'pool-b': 'green.example.com' },
    shares: { 'pool-a': 100, 'pool-b': 0 },
    deployments,
    notes: [],
  };
}

const vercelRead = {
  state: 'read' as const,
  value: { project: 'shop', deployment: { id: 'dpl_prod', url: 'shop-prod.vercel.app' } },
};

describe('productionView', () => {
  it('Vercel alone: blue is the production deployment', () => {
    expect(productionView('vercel', vercelRead)).toEqual({
      kind: 'vercel',
      vercel: vercelRead,
      blue: { id: 'dpl_prod', url: 'shop-prod.vercel.app' },
    });
  });

  it('the live slot agrees with Vercel: blue keeps its URL, nothing to warn about', () => {
    const view = productionView('cloudflare', vercelRead, { state: 'read', value: slots({ 'pool-a': 'dpl_prod' }) });
    expect(view.blue).toEqual({ id: 'dpl_prod', url: 'shop-prod.vercel.app' });
    expect(view.slotMismatch).toBeUndefined();
  });

  it('the live slot serves another deployment: that one is blue, and the mismatch is named', () => {
    const view = productionView('cloudflare', vercelRead, { state: 'read', value: slots({ 'pool-a': 'dpl_slot' }) });
    expect(view.blue).toEqual({ id: 'dpl_slot' });
    expect(view.slotMismatch).toBe(
      "the live slot blue.example.com serves dpl_slot, but Vercel's production deployment is dpl_prod",
    );
  });

  it("the live slot's deployment is unknown: blue is Vercel's production deployment", () => {
    const view = productionView('cloudflare', vercelRead, { state: 'read', value: slots({}) });
    expect(view.blue?.id).toBe('dpl_prod');
    expect(view.slotMismatch).toBeUndefined();
  });

  it('Vercel unreadable: blue comes from the live slot alone, with no mismatch to judge', () => {
    const view = productionView(
      'cloudflare',
      { state: 'failed', reason: 'HTTP 500' },
      {
        state: 'read',
        value: slots({ 'pool-a': 'dpl_slot' }),
      },
    );
    expect(view.blue).toEqual({ id: 'dpl_slot' });
    expect(view.slotMismatch).toBeUndefined();
  });
});

describe('describeProduction without the providers', () => {
  const config = (manager: 'cloudflare' | 'vercel') =>
    ({ traffic: { manager }, vercel: { projectId: 'prj_x', healthCheckPath: '/' } }) as unknown as Config;

  it('cloudflare mode, nothing configured: each part says which provider is missing', async () => {
    expect(
      await describeProduction(config('cloudflare'), {}, () => createTrafficManager(config('cloudflare'), {}, quiet)),
    ).toEqual({
      kind: 'cloudflare',
      vercel: { state: 'not-configured', reason: 'vercel-token is not set' },
      slots: { state: 'not-configured', reason: 'Cloudflare is not configured' },
    });
  });

  it('vercel mode: no slots part at all', async () => {
    expect(
      await describeProduction(config('vercel'), {}, () => createTrafficManager(config('vercel'), {}, quiet)),
    ).toEqual({
      kind: 'vercel',
      vercel: { state: 'not-configured', reason: 'vercel-token is not set' },
    });
  });
});

describe('a manager without production-url (allowed in mode: plan)', () => {
  it('is built, and only a routing verification fails, naming the input', async () => {
    const config = {
      traffic: { manager: 'vercel' },
      vercel: { projectId: 'prj_x', healthCheckPath: '/', healthCheckTimeoutMs: 1000 },
    } as unknown as Config;
    const manager = createTrafficManager(config, { vercel: {} as VercelApi }, quiet);
    await expect(manager.verify({ deployment: { id: 'dpl_x', url: 'x' } })).rejects.toThrow(
      'production-url is required to verify routing',
    );
  });
});
