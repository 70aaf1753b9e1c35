import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom } from '../../../sandbox/core/scenario.ts';
import { Traffic, type RunningService } from '../../../sandbox/core/service.ts';
import type { World } from '../../../sandbox/core/world.ts';
import { startGithub } from '../../../sandbox/services/github.ts';
import type { GithubState } from '../../../sandbox/services/github-state.ts';
import { GitHub } from '../../../src/providers/github.ts';
import {
  commentsSettled,
  parseSections,
  prCommentMarker,
  renderComment,
  upsertPrComment,
  type CommentApi,
} from '../../../src/surfaces/pr-comment.ts';
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

describe('upsertPrComment: writes of one comment go one after another', () => {
  it('a report started before the last one finished edits the comment that one posted, never a second', async () => {
    const log: string[] = [];
    const posted: { id: number; body: string; htmlUrl: string }[] = [];
    const fake: CommentApi = {
      // Like the adapter: a comment this client wrote is found without a read.
      findComment: async () => {
        log.push(`find (${posted.length} posted)`);
        return posted[0] ? { ...posted[0] } : null;
      },
      createComment: async (_pull, body) => {
        await new Promise((r) => setTimeout(r, 30));
        log.push('create');
        const c = { id: 1, body, htmlUrl: 'https://github.test/acme/shop/pull/7#issuecomment-1' };
        posted.push(c);
        return c;
      },
      updateComment: async (id, body) => {
        log.push(`update ${id}`);
        posted[0] = { ...posted[0]!, body };
        return posted[0];
      },
    };
    const first = upsertPrComment(fake, { pull: 7, environment: 'production', sections: { preflight: 'go' } });
    const second = upsertPrComment(fake, { pull: 7, environment: 'production', sections: { smoke: 'ok' } });
    const settled = commentsSettled(fake);
    expect((await first).created).toBe(true);
    expect((await second).created).toBe(false);
    await settled;
    expect(log).toEqual(['find (0 posted)', 'create', 'find (1 posted)', 'update 1']);
    expect(parseSections(posted[0]!.body)).toEqual({ preflight: 'go', smoke: 'ok' });
  });

  it('a failed write does not stop the next one', async () => {
    let calls = 0;
    const fake: CommentApi = {
      findComment: async () => null,
      createComment: async (_pull, body) => {
        calls++;
        if (calls === 1) throw new Error('HTTP 502');
        return { id: 2, body, htmlUrl: 'u' };
      },
      updateComment: async () => {
        throw new Error('not used');
      },
    };
    const first = upsertPrComment(fake, { pull: 8, environment: 'production', sections: { preflight: 'go' } });
    const second = upsertPrComment(fake, { pull: 8, environment: 'production', sections: { preflight: 'go' } });
    await expect(first).rejects.toThrow('HTTP 502');
    expect((await second).id).toBe(2);
  });
});
