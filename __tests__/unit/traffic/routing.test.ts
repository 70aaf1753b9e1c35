import { describe, expect, it } from 'vitest';
import { attribute, chooseFingerprint, judgeShare, shareTolerance, type Served } from '../../../src/traffic/routing.ts';

const batch = (green: number, blue: number, extra: Served[] = []): Served[] => [
  ...Array<Served>(green).fill('green'),
  ...Array<Served>(blue).fill('blue'),
  ...extra,
];

describe('share tolerance', () => {
  it('is exact at 0 % and 100 %', () => {
    expect(shareTolerance(0, 40)).toBe(0);
    expect(shareTolerance(100, 40)).toBe(0);
  });
  it('is at least 15 points, wider than 3σ for small batches', () => {
    expect(shareTolerance(10, 40)).toBe(15);
    expect(shareTolerance(50, 40)).toBeCloseTo(3 * Math.sqrt(0.25 / 40) * 100, 6);
    expect(shareTolerance(50, 10)).toBeGreaterThan(40);
  });
});

describe('judging a measured share', () => {
  it('accepts a 10 % step measured at 5 % or 20 % out of 40, rejects 0 % blue-only at 50 %', () => {
    expect(judgeShare(batch(2, 38), 10).ok).toBe(true);
    expect(judgeShare(batch(8, 32), 10).ok).toBe(true);
    const v = judgeShare(batch(0, 40), 50);
    expect(v.ok).toBe(false);
    expect(v.reason).toBe('green served 0/40 (0 %), expected 50 % ± 24');
  });
  it('requires every answer from green at 100 % and none at 0 %', () => {
    expect(judgeShare(batch(40, 0), 100).ok).toBe(true);
    expect(judgeShare(batch(39, 1), 100).ok).toBe(false);
    expect(judgeShare(batch(0, 40), 0).ok).toBe(true);
    expect(judgeShare(batch(1, 39), 0).ok).toBe(false);
  });
  it('fails on failed requests and on answers from a third deployment', () => {
    expect(judgeShare(batch(39, 0, ['error']), 100).reason).toMatch(/^1\/40 production requests failed/);
    expect(judgeShare(batch(39, 0, ['other']), 100).reason).toMatch(/^1\/40 answers came from neither green nor blue/);
    expect(judgeShare([], 100).ok).toBe(false);
  });
});

describe('attributing answers', () => {
  const green = { id: 'dpl_green' };
  const blue = { id: 'dpl_blue' };
  it('uses the deployment id header when the edge sends it', () => {
    const fp = chooseFingerprint(new Headers({ 'x-vercel-deployment-id': 'dpl_green' }), undefined, green, blue)!;
    expect(fp).toEqual({ header: 'x-vercel-deployment-id', green: 'dpl_green', blue: 'dpl_blue' });
    expect(attribute(new Headers({ 'x-vercel-deployment-id': 'dpl_blue' }), fp)).toBe('blue');
    expect(attribute(new Headers({ 'x-vercel-deployment-id': 'dpl_x' }), fp)).toBe('other');
    expect(attribute(new Headers(), fp)).toBe('other');
  });
  it('falls back to a header whose value differs between green and blue', () => {
    const fp = chooseFingerprint(
      new Headers({ 'x-app-version': 'v2' }),
      new Headers({ 'x-app-version': 'v1' }),
      green,
      blue,
    )!;
    expect(fp).toEqual({ header: 'x-app-version', green: 'v2', blue: 'v1' });
    expect(attribute(new Headers({ 'x-app-version': 'v1' }), fp)).toBe('blue');
    expect(attribute(new Headers({ 'x-app-version': 'v2' }), fp)).toBe('green');
  });
  it('cannot tell green from blue when the fingerprint is the same', () => {
    expect(
      chooseFingerprint(new Headers({ 'x-app-version': 'v1' }), new Headers({ 'x-app-version': 'v1' }), green, blue),
    ).toBeUndefined();
    expect(chooseFingerprint(new Headers(), new Headers(), green, blue)).toBeUndefined();
  });
  it('without blue, anything else than green counts as blue', () => {
    const fp = chooseFingerprint(new Headers({ 'x-app-version': 'v2' }), undefined, green, undefined)!;
    expect(attribute(new Headers({ 'x-app-version': 'v1' }), fp)).toBe('blue');
    expect(attribute(new Headers(), fp)).toBe('other');
  });
});
