import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom } from '../../../sandbox/core/scenario.ts';
import { Traffic, type RunningService } from '../../../sandbox/core/service.ts';
import type { World } from '../../../sandbox/core/world.ts';
import { startGithub } from '../../../sandbox/services/github.ts';
import type { GithubState } from '../../../sandbox/services/github-state.ts';
import { GitHub } from '../../../src/providers/github.ts';
import { parseSections, prCommentMarker, renderComment, upsertPrComment } from '../../../src/surfaces/pr-comment.ts';
import { POLICIES } from '../../../src/providers/index.ts';

describe('prCommentMarker and sections', () => {
  it('keeps environment markers distinct and unable to close the HTML comment', () => {
    expect(prCommentMarker('production')).toBe('<!-- production-deploy:production -->');
    expect(prCommentMarker('prod --> <b>')).not.toMatch(/-->.*-->/);
    expect(prCommentMarker('production')).not.toBe(prCommentMarker('production-eu'));
  });

  it('round-trips sections, and a section cannot forge another section or mention anyone', () => {
    const body = renderComment('production', {
      preflight: 'go <!-- production-deploy:section:smoke:end --> cc @octocat',
      smoke: 'smoke ok',
    });
    const parsed = parseSections(body);
    expect(parsed.smoke).toBe('smoke ok');
    expect(parsed.preflight).toContain('&#64;octocat');
    expect(parsed.preflight).not.toContain('<!-- production-deploy:section');
  });
});

describe('upsertPrComment against the GitHub miniature', () => {
  let svc: RunningService;
  let gh: GitHub;
  let world: World;
  const comments = () => (world.state.github as GithubState).comments;

  beforeAll(async () => {
    const s = scenarioFrom({});
    world = { traffic: new Traffic(), urls: {}, hits: [], state: {}, events: new EventEmitter(), dir: '/tmp' };
    svc = await startGithub(world, s);
    gh = new GitHub({
      token: s.github.token,
      baseUrl: svc.url,
      owner: s.repo.owner,
      repo: s.repo.name,
      timeoutMs: 5000,
      retries: 1,
      maxRateLimitWaitMs: 1000,
      createBackoff: POLICIES.github.createBackoff,
      retryBaseMs: 10,
    });
  });
  afterAll(() => svc.close());

  it('creates one comment per PR and environment, then edits it in place keeping the other sections', async () => {
    const first = await upsertPrComment(gh, {
      pull: 42,
      environment: 'production',
      sections: { preflight: '### ⛔ No-go' },
    });
    expect(first.created).toBe(true);
    const smoke = await upsertPrComment(gh, {
      pull: 42,
      environment: 'production',
      sections: { smoke: 'smoke: 3/3 passed' },
    });
    expect(smoke).toMatchObject({ id: first.id, created: false });
    const again = await upsertPrComment(gh, {
      pull: 42,
      environment: 'production',
      sections: { preflight: '### ✅ Go' },
    });
    expect(again).toMatchObject({ id: first.id, created: false });
    const staging = await upsertPrComment(gh, {
      pull: 42,
      environment: 'staging',
      sections: { preflight: '### ✅ Go' },
    });
    expect(staging.id).not.toBe(first.id);

    const ours = comments().filter((c) => c.issue === 42);
    expect(ours).toHaveLength(2);
    const prod = ours.find((c) => c.id === first.id)!;
    expect(parseSections(prod.body)).toEqual({ preflight: '### ✅ Go', smoke: 'smoke: 3/3 passed' });
  });

  it('does not write when nothing changed', async () => {
    const before = world.traffic.requests.filter((r) => r.method === 'PATCH').length;
    await upsertPrComment(gh, { pull: 42, environment: 'production', sections: { preflight: '### ✅ Go' } });
    expect(world.traffic.requests.filter((r) => r.method === 'PATCH').length).toBe(before);
  });
});
