import { describe, expect, it } from 'vitest';
import { serviceName } from '../../../../src/config/service.ts';
import {
  doraId,
  planDeletions,
  pullNumbers,
  successDescription,
  type DeploymentItem,
} from '../../../../src/steps/cleanup/release.ts';

const d = (id: string, createdAt: number, state = 'READY'): DeploymentItem => ({ id, createdAt, state });

describe('planDeletions (keep-deployments)', () => {
  const list = [d('green', 100), d('blue', 90), d('c', 80), d('d', 70), d('e', 60), d('f', 50)];

  it('keep-deployments 0 deletes nothing', () => {
    expect(planDeletions(list, { keep: 0, greenId: 'green', protectedIds: new Map() })).toEqual({
      keep: [],
      remove: [],
    });
  });

  it('keeps the newest N earlier deployments and deletes older ones, never green', () => {
    const plan = planDeletions(list, { keep: 2, greenId: 'green', greenCreatedAt: 100, protectedIds: new Map() });
    expect(plan.keep.map((k) => k.id)).toEqual(['blue', 'c']);
    expect(plan.remove.map((r) => r.id)).toEqual(['d', 'e', 'f']);
  });

  it('never deletes the rollback target or a deployment a GitHub record points to, and they do not use up N', () => {
    const protectedIds = new Map([
      ['blue', 'the rollback target'],
      ['e', 'GitHub deployment 12 still points to it'],
    ]);
    const plan = planDeletions(list, { keep: 1, greenId: 'green', greenCreatedAt: 100, protectedIds });
    expect(plan.keep).toEqual([
      { id: 'blue', why: 'the rollback target' },
      { id: 'c', why: 'one of the 1 kept (keep-deployments)' },
      { id: 'e', why: 'GitHub deployment 12 still points to it' },
    ]);
    expect(plan.remove.map((r) => r.id)).toEqual(['d', 'f']);
  });

  it('never touches deployments newer than green or still building, and caps deletions per run', () => {
    const more = [d('newer', 200), d('building', 40, 'BUILDING'), ...list];
    const plan = planDeletions(more, {
      keep: 1,
      greenId: 'green',
      greenCreatedAt: 100,
      protectedIds: new Map(),
      maxDeletes: 2,
    });
    expect(plan.remove.map((r) => r.id)).toEqual(['c', 'd']);
    expect(plan.keep.map((k) => k.id)).toEqual(['blue']);
  });
});

describe('what shipped', () => {
  it('finds PR numbers from squash and merge subjects, the pre-flight PR first, without duplicates', () => {
    expect(
      pullNumbers(
        ['Add cart (#11)\n\nbody (#99)', 'Merge pull request #12 from acme/x', 'fix typo', 'Again (#11)'],
        13,
      ),
    ).toEqual([13, 11, 12]);
  });

  it('describes the release within 140 characters', () => {
    const shipped = {
      commits: [],
      pulls: Array.from({ length: 40 }, (_, i) => ({ number: 1000 + i })),
      total: 40,
      compareUrl: '',
      base: 'a',
      head: 'b',
    };
    const text = successDescription('abcdef0123', shipped);
    expect(text.startsWith('Live: abcdef0, 40 new commits; PRs #1000 #1001')).toBe(true);
    expect(text.length).toBeLessThanOrEqual(140);
    expect(text.endsWith('…')).toBe(true);
    expect(successDescription('abcdef0123', undefined)).toBe('Live: abcdef0');
  });
});

describe('Datadog names', () => {
  it('DORA ids are 16–128 allowed characters and stable per run attempt', () => {
    const id = doraId({ owner: 'acme', repo: 'shop web', environment: 'production', runId: '42', runAttempt: 2 });
    expect(id).toBe('production-deploy:acme.shop-web:production:42.2');
    expect(id).toMatch(/^[A-Za-z0-9\-_.:]{16,128}$/);
  });
  it('the service is the monitor tags service, else the repository', () => {
    expect(serviceName(['env:prod', 'service:web'], 'shop')).toBe('web');
    expect(serviceName([], 'shop')).toBe('shop');
  });
});
