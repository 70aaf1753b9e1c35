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

  it('every request and response matches the Slack spec', async () => {
    const v = await validator(['slack']);
    const results = v.validateAll(world.traffic.requests);
    expect(results.length).toBeGreaterThanOrEqual(9);
    // auth.test is POSTed by the SDK: allow-listed with its source, validated against GET /auth.test.
    expect(results.find((r) => r.path === '/api/auth.test')?.allowListed?.sameAs).toBe('GET /auth.test');
    expect(formatProblems(results)).toBe('');
  });
});
