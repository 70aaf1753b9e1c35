/**
 * The Slack miniature against the official client (@slack/web-api, no retries), and every logged
 * request/response against the Slack spec excerpt.
 */
import { ErrorCode, WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom } from '../../sandbox/core/scenario.ts';
import type { RunningService } from '../../sandbox/core/service.ts';
import { makeWorld, validator } from '../../sandbox/contract/testing.ts';
import { formatProblems } from '../../sandbox/contract/validate.ts';
import { type SlackState, startSlack } from '../../sandbox/services/slack.ts';

const scenario = scenarioFrom({});
const world = makeWorld();
let svc: RunningService;
let slack: WebClient;
const blocks = [
  { type: 'header', text: { type: 'plain_text', text: 'Deploying v2 → production' } },
  { type: 'section', text: { type: 'mrkdwn', text: '*Status:* shifting traffic 10%' } },
];

beforeAll(async () => {
  svc = await startSlack(world, scenario.slack);
  slack = new WebClient(scenario.slack.token, {
    slackApiUrl: `${svc.url}/api/`,
    retryConfig: { retries: 0 },
    timeout: 5000,
  });
});
afterAll(async () => {
  await svc.close();
  world.cleanup();
});

describe('Slack miniature with @slack/web-api', () => {
  it('answers auth.test', async () => {
    const r = await slack.auth.test();
    expect(r).toMatchObject({ ok: true, team_id: scenario.slack.teamId, user_id: scenario.slack.botUserId });
  });

  it('posts, threads and edits one message in place', async () => {
    const post = await slack.chat.postMessage({ channel: scenario.slack.channel, text: 'Deploying v2', blocks });
    expect(post).toMatchObject({ ok: true, channel: scenario.slack.channelId });
    expect(post.ts).toMatch(/^\d+\.\d{6}$/);
    const reply = await slack.chat.postMessage({
      channel: scenario.slack.channelId,
      text: 'smoke passed',
      thread_ts: post.ts!,
    });
    expect(reply.message?.thread_ts).toBe(post.ts);
    const upd = await slack.chat.update({ channel: post.channel!, ts: post.ts!, text: 'Deployed v2' });
    expect(upd).toMatchObject({ ok: true, text: 'Deployed v2' });
    const st = world.state.slack as SlackState;
    const top = st.messages.find((m) => m.ts === post.ts)!;
    // Omitting blocks in chat.update keeps the old ones (Slack docs).
    expect(top).toMatchObject({ text: 'Deployed v2', edits: ['Deploying v2'], blocks });
    expect(st.messages.filter((m) => m.threadTs === post.ts).map((m) => m.text)).toEqual(['smoke passed']);
  });

  it('JSON bodies work as well as forms', async () => {
    const res = await fetch(`${svc.url}/api/chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${scenario.slack.token}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: scenario.slack.channelId, text: 'json body' }),
    });
    expect(await res.json()).toMatchObject({ ok: true });
  });

  it('returns platform errors as HTTP 200 with ok:false', async () => {
    const err = await slack.chat.postMessage({ channel: '#nope', text: 'x' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.PlatformError, data: { ok: false, error: 'channel_not_found' } });
    const miss = await slack.chat
      .update({ channel: scenario.slack.channelId, ts: '1.000001', text: 'x' })
      .catch((e: unknown) => e);
    expect(miss).toMatchObject({ data: { error: 'message_not_found' } });
    const empty = await slack.chat
      .postMessage({ channel: scenario.slack.channelId, text: '' })
      .catch((e: unknown) => e);
    expect(empty).toMatchObject({ data: { error: 'no_text' } });
    const bad = new WebClient('xoxb-wrong', { slackApiUrl: `${svc.url}/api/`, retryConfig: { retries: 0 } });
    await expect(bad.auth.test()).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
  });

  it('keeps message metadata and returns it from conversations.history only with include_all_metadata', async () => {
    const metadata = {
      event_type: 'production_deploy_run',
      event_payload: { repository: 'acme/shop', run_id: '77', environment: 'production', attempt: 1 },
    };
    const post = await slack.chat.postMessage({ channel: scenario.slack.channel, text: 'run 77', metadata });
    await slack.chat.postMessage({ channel: scenario.slack.channelId, text: 'reply', thread_ts: post.ts! });
    await slack.chat.update({ channel: post.channel!, ts: post.ts!, text: 'run 77, edited' });
    const st = world.state.slack as SlackState;
    // chat.update without metadata keeps it.
    expect(st.messages.find((m) => m.ts === post.ts)!.metadata).toEqual(metadata);

    const h = await slack.conversations.history({ channel: scenario.slack.channelId, include_all_metadata: true });
    expect(h).toMatchObject({ ok: true, has_more: false });
    const ts = h.messages!.map((m) => m.ts!);
    expect(ts).toEqual([...ts].sort((a, b) => Number(b) - Number(a))); // newest first
    const top = h.messages!.find((m) => m.ts === post.ts)!;
    expect(top).toMatchObject({ text: 'run 77, edited', bot_id: scenario.slack.botId, metadata, reply_count: 1 });
    expect(top.edited).toBeDefined();
    // Thread replies are not channel history.
    expect(h.messages!.some((m) => m.text === 'reply')).toBe(false);

    const plain = await slack.conversations.history({ channel: scenario.slack.channelId });
    expect(plain.messages!.find((m) => m.ts === post.ts)!.metadata).toBeUndefined();
  });

  it('pages conversations.history with cursors, bounds it by oldest, and finds the channel id by name', async () => {
    const all = await slack.conversations.history({ channel: scenario.slack.channelId });
    const n = all.messages!.length;
    expect(n).toBeGreaterThanOrEqual(3);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < n; i++) {
      const page = await slack.conversations.history({ channel: scenario.slack.channelId, limit: 2, cursor });
      seen.push(...page.messages!.map((m) => m.ts!));
      cursor = page.response_metadata?.next_cursor;
      expect(Boolean(cursor)).toBe(page.has_more);
      if (!page.has_more) break;
    }
    expect(seen).toEqual(all.messages!.map((m) => m.ts));
    const newest = all.messages![0]!.ts!;
    const after = await slack.conversations.history({ channel: scenario.slack.channelId, oldest: newest });
    expect(after.messages).toEqual([]);
    const incl = await slack.conversations.history({
      channel: scenario.slack.channelId,
      oldest: newest,
      inclusive: true,
    });
    expect(incl.messages!.map((m) => m.ts)).toEqual([newest]);

    const mine = await slack.users.conversations({ types: 'public_channel,private_channel', exclude_archived: true });
    expect(mine.channels).toEqual([
      expect.objectContaining({ id: scenario.slack.channelId, name: 'deploys', is_member: true }),
    ]);
  });

  it('conversations.history takes an id, not a name; missing_scope comes from a fault rule, as a bot without the scope gets it', async () => {
    const byName = await slack.conversations.history({ channel: scenario.slack.channel }).catch((e: unknown) => e);
    expect(byName).toMatchObject({ data: { ok: false, error: 'channel_not_found' } });
    const badCursor = await slack.conversations
      .history({ channel: scenario.slack.channelId, cursor: 'bm9wZQ==' })
      .catch((e: unknown) => e);
    expect(badCursor).toMatchObject({ data: { error: 'invalid_cursor' } });

    world.traffic.faults = [
      {
        service: 'slack',
        path: '/api/conversations.history',
        status: 200,
        times: 1,
        body: { ok: false, error: 'missing_scope', needed: 'channels:history', provided: 'chat:write' },
      },
    ];
    const noScope = await slack.conversations.history({ channel: scenario.slack.channelId }).catch((e: unknown) => e);
    expect(noScope).toMatchObject({ data: { error: 'missing_scope', needed: 'channels:history' } });
    world.traffic.faults = [];
  });

  it('every request and response matches the Slack spec', async () => {
    const v = await validator(['slack']);
    const results = v.validateAll(world.traffic.requests);
    expect(results.length).toBeGreaterThanOrEqual(9);
    // auth.test is POSTed by the SDK: allow-listed with its source, validated against GET /auth.test.
    expect(results.find((r) => r.path === '/api/auth.test')?.allowListed?.sameAs).toBe('GET /auth.test');
    // conversations.history and users.conversations are not in the 2020 excerpt: allow-listed with their docs.
    for (const path of ['/api/conversations.history', '/api/users.conversations'])
      expect(results.find((r) => r.path === path)?.allowListed?.source).toMatch(
        /^docs\.slack\.dev\/reference\/methods\//,
      );
    expect(formatProblems(results)).toBe('');
  });
});
