import { describe, expect, it } from 'vitest';
import {
  buildSnapshot,
  effectiveWeights,
  matchesSnapshot,
  readSlots,
  restorePatch,
  sharePatch,
  slotHostname,
  type LbView,
  type PoolView,
} from '../../../src/traffic/cloudflare-model.ts';

const POOLS: [string, string] = ['pool-a', 'pool-b'];
const pools: PoolView[] = [
  { id: 'pool-a', origins: [{ address: 'cname.vercel-dns.com', header: { Host: ['blue.example.com'] } }] },
  { id: 'pool-b', origins: [{ address: 'green.example.com' }] },
];
const lb = (over: Partial<LbView> = {}): LbView => ({
  id: 'lb1',
  default_pools: ['pool-a', 'pool-b'],
  fallback_pool: 'pool-a',
  steering_policy: 'random',
  random_steering: { pool_weights: { 'pool-a': 1, 'pool-b': 0 }, default_weight: 1 },
  ...over,
});

describe('slot hostnames', () => {
  it('come from the Host header, else the address, and must agree within a pool', () => {
    expect(slotHostname(pools[0]!)).toBe('blue.example.com');
    expect(slotHostname(pools[1]!)).toBe('green.example.com');
    expect(() => slotHostname({ id: 'x', origins: [{ address: 'a.example' }, { address: 'b.example' }] })).toThrow(
      /several hostnames/,
    );
    expect(() => slotHostname({ id: 'x', origins: [] })).toThrow(/has no origin/);
    expect(
      slotHostname({ id: 'x', origins: [{ address: 'off.example', enabled: false }, { address: 'on.example' }] }),
    ).toBe('on.example');
  });
});

describe('which slot is live', () => {
  it('is the pool with weight, whichever it is', () => {
    expect(readSlots(lb(), pools, POOLS)).toMatchObject({ livePool: 'pool-a', idlePool: 'pool-b', notes: [] });
    const flipped = lb({ random_steering: { pool_weights: { 'pool-a': 0, 'pool-b': 1 } }, fallback_pool: 'pool-b' });
    expect(readSlots(flipped, pools, POOLS)).toMatchObject({ livePool: 'pool-b', idlePool: 'pool-a' });
  });
  it('gives unlisted pools the default weight and pools outside default_pools nothing', () => {
    expect(
      effectiveWeights(lb({ random_steering: { pool_weights: { 'pool-a': 0 }, default_weight: 0.5 } }), POOLS),
    ).toEqual({ 'pool-a': 0, 'pool-b': 0.5 });
    expect(effectiveWeights(lb({ default_pools: ['pool-b'] }), POOLS)).toEqual({ 'pool-a': 0, 'pool-b': 0 });
  });
  it('without random steering, follows the failover order', () => {
    expect(readSlots(lb({ steering_policy: 'off', default_pools: ['pool-b', 'pool-a'] }), pools, POOLS).livePool).toBe(
      'pool-b',
    );
  });
  it('mid-switch, takes the fallback pool as blue and says so', () => {
    const mid = lb({ random_steering: { pool_weights: { 'pool-a': 0.5, 'pool-b': 0.5 } }, fallback_pool: 'pool-b' });
    const r = readSlots(mid, pools, POOLS);
    expect(r.livePool).toBe('pool-b');
    expect(r.shares).toEqual({ 'pool-a': 50, 'pool-b': 50 });
    expect(r.notes[0]).toMatch(/both pools receive traffic .* taking pool-b \(the fallback pool\) as blue/);
  });
  it('refuses a load balancer where neither slot has traffic, or both slots share a hostname', () => {
    expect(() =>
      readSlots(lb({ random_steering: { pool_weights: { 'pool-a': 0, 'pool-b': 0 } } }), pools, POOLS),
    ).toThrow(/neither Cloudflare pool/);
    const same = [pools[0]!, { id: 'pool-b', origins: [{ address: 'BLUE.example.com' }] }];
    expect(() => readSlots(lb(), same, POOLS)).toThrow(/both Cloudflare pools reach blue.example.com/);
    expect(() => readSlots(lb(), [pools[0]!], POOLS)).toThrow(/pool-b was not found/);
  });
});

describe('weights for a step and for restore', () => {
  const snap = buildSnapshot(lb(), readSlots(lb(), pools, POOLS), { 'pool-a': 'dpl_blue' });
  it('records the exact state with each slot behind its hostname', () => {
    expect(snap).toEqual({
      kind: 'cloudflare',
      loadBalancerId: 'lb1',
      poolWeights: { 'pool-a': 1, 'pool-b': 0 },
      defaultPools: ['pool-a', 'pool-b'],
      fallbackPool: 'pool-a',
      livePool: 'pool-a',
      slots: {
        'pool-a': { hostname: 'blue.example.com', deploymentId: 'dpl_blue' },
        'pool-b': { hostname: 'green.example.com' },
      },
      steeringPolicy: 'random',
      defaultWeight: 1,
    });
  });
  it('moves green to its share with random steering; green becomes the fallback only at 100 %', () => {
    expect(sharePatch(snap, 'pool-b', 10)).toEqual({
      steering_policy: 'random',
      default_pools: ['pool-a', 'pool-b'],
      random_steering: { pool_weights: { 'pool-a': 0.9, 'pool-b': 0.1 }, default_weight: 1 },
      fallback_pool: 'pool-a',
    });
    expect(sharePatch(snap, 'pool-b', 100)).toMatchObject({
      random_steering: { pool_weights: { 'pool-a': 0, 'pool-b': 1 } },
      fallback_pool: 'pool-b',
    });
  });
  it('adds green to default_pools after blue when it was not listed, keeping other pools', () => {
    const only = { ...snap, defaultPools: ['pool-x', 'pool-a'], poolWeights: { 'pool-x': 0 } };
    expect(sharePatch(only, 'pool-b', 50)).toMatchObject({
      default_pools: ['pool-x', 'pool-a', 'pool-b'],
      random_steering: { pool_weights: { 'pool-x': 0, 'pool-a': 0.5, 'pool-b': 0.5 } },
    });
  });
  it('restores exactly what was recorded, and recognises it', () => {
    const patch = restorePatch(snap);
    expect(patch).toEqual({
      default_pools: ['pool-a', 'pool-b'],
      fallback_pool: 'pool-a',
      steering_policy: 'random',
      random_steering: { pool_weights: { 'pool-a': 1, 'pool-b': 0 }, default_weight: 1 },
    });
    const after = { ...lb(), ...(patch as Partial<LbView>) };
    expect(matchesSnapshot(after, snap)).toBe(true);
    expect(matchesSnapshot(lb({ random_steering: { pool_weights: { 'pool-a': 0.5, 'pool-b': 0.5 } } }), snap)).toBe(
      false,
    );
  });
});
