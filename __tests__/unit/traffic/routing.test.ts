import { describe, expect, it } from 'vitest';
import { attribute, judgeShare, shareTolerance, type Served } from '../../../src/traffic/routing.ts';

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
  const answer = (headers: Record<string, string>, body = '') => ({ headers: new Headers(headers), body });
  it('by a version header: green, blue, or neither (a missing header is neither, never blue)', () => {
    const fp = { source: 'header' as const, name: 'x-app-version', green: 'v2', blue: 'v1' };
    expect(attribute(answer({ 'x-app-version': 'v1' }), fp)).toBe('blue');
    expect(attribute(answer({ 'x-app-version': 'v2' }), fp)).toBe('green');
    expect(attribute(answer({ 'x-app-version': 'v0' }), fp)).toBe('other');
    expect(attribute(answer({}), fp)).toBe('other');
  });
  it('by a version body, trimmed', () => {
    const fp = { source: 'body' as const, name: '/api/version', green: '{"v":2}', blue: '{"v":1}' };
    expect(attribute(answer({}, '{"v":1}\n'), fp)).toBe('blue');
    expect(attribute(answer({}, '{"v":2}'), fp)).toBe('green');
    expect(attribute(answer({}, ''), fp)).toBe('other');
  });
  it('without blue, anything but green is neither', () => {
    const fp = { source: 'header' as const, name: 'x-app-version', green: 'v2' };
    expect(attribute(answer({ 'x-app-version': 'v1' }), fp)).toBe('other');
  });
  it('judges failed requests first and on their own: production that does not answer', () => {
    const v = judgeShare(Array(10).fill('error'), 100, 'green', { 'HTTP 503': 10 });
    expect(v.ok).toBe(false);
    expect(v.reason).toBe('production does not answer: 10/10 requests failed (HTTP 503 ×10)');
    const some = judgeShare(['green', 'error'], 100, 'green', { ECONNREFUSED: 1 });
    expect(some.reason).toMatch(/^1\/2 production requests failed \(ECONNREFUSED ×1\); green served 1\/2/);
  });
});
