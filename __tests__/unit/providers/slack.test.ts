import { describe, expect, it } from 'vitest';
import type { SandboxRequest, SandboxResponse } from '../../../sandbox/core/service.ts';
import { ProviderError } from '../../../src/providers/http.ts';
import { SafeNotifier, Slack } from '../../../src/providers/slack.ts';
import { rejection, startApi } from './helpers.ts';

const TOKEN = 'xoxb-1111-2222-SecretSlackToken';

/** A tiny Slack Web API: form-encoded POSTs, JSON answers (always HTTP 200 unless a fault says otherwise). */
async function slack(handle: (method: string, form: URLSearchParams, req: SandboxRequest) => SandboxResponse['body']) {
  const api = await startApi(async (req) => {
    const method = req.path.replace(/^\/api\//, '');
    return { status: 200, body: handle(method, new URLSearchParams(req.raw.toString('utf8')), req) };
  }, 'slack');
  const client = new Slack({
    token: TOKEN,
    apiUrl: `${api.url}/api`,
    timeoutMs: 500,
    retries: 1,
    maxRetryAfterMs: 2_000,
  });
  return { api, client };
}

const okPost = (method: string, form: URLSearchParams) =>
  method === 'chat.postMessage' || method === 'chat.update'
    ? {
        ok: true,
        channel: form.get('channel'),
        ts: form.get('ts') ?? '1700000000.000100',
        message: { text: form.get('text') },
      }
    : { ok: false, error: 'unknown_method' };

describe('Slack', () => {
  it('posts a message with blocks and returns channel and ts (as strings)', async () => {
    const { api, client } = await slack(okPost);
    const ref = await client.postMessage({
      channel: 'C1',
      text: 'Deploying abc',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*x*' } }],
    });
    expect(ref).toEqual({ channel: 'C1', ts: '1700000000.000100' });
    const body = api.requests('POST', '/api/chat.postMessage')[0]!.body as Record<string, unknown>;
    expect(body).toMatchObject({
      channel: 'C1',
      text: 'Deploying abc',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*x*' } }],
    });
  });

  it('updates in place, in a thread when asked', async () => {
    const { api, client } = await slack(okPost);
    expect(await client.update({ channel: 'C1', ts: '1.2', text: 'done' })).toEqual({ channel: 'C1', ts: '1.2' });
    await client.postMessage({ channel: 'C1', text: 'rolled back', thread_ts: '1.2' });
    expect((api.requests('POST', '/api/chat.postMessage')[0]!.body as Record<string, unknown>).thread_ts).toBe('1.2');
  });

  it("ok:false is a ProviderError with Slack's error code", async () => {
    const { client } = await slack(() => ({ ok: false, error: 'channel_not_found' }));
    const err = await rejection(client.postMessage({ channel: 'C404', text: 'x' }));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe('Slack postMessage failed: ok:false channel_not_found');
    expect(err.code).toBe('channel_not_found');
  });

  it('a 5xx on postMessage is not repeated (it may have posted); on update it is', async () => {
    const { api, client } = await slack(okPost);
    api.fault({ path: '/api/chat.postMessage', status: 503, body: 'upstream error', times: 1 });
    const err = await rejection(client.postMessage({ channel: 'C1', text: 'x' }));
    expect(err.outcomeUnknown).toBe(true);
    expect(api.requests('POST', '/api/chat.postMessage')).toHaveLength(1);

    api.fault({ path: '/api/chat.update', status: 503, times: 1 });
    expect(await client.update({ channel: 'C1', ts: '1.2', text: 'x' })).toEqual({ channel: 'C1', ts: '1.2' });
    expect(api.requests('POST', '/api/chat.update')).toHaveLength(2);
  });

  it('a short rate limit on postMessage is waited for once; a long one fails at once', async () => {
    const { api, client } = await slack(okPost);
    api.fault({
      path: '/api/chat.postMessage',
      status: 429,
      headers: { 'retry-after': '1' },
      body: { ok: false, error: 'ratelimited' },
      times: 1,
    });
    expect((await client.postMessage({ channel: 'C1', text: 'x' })).ts).toBe('1700000000.000100');
    expect(api.requests('POST', '/api/chat.postMessage')).toHaveLength(2);

    api.fault({
      path: '/api/chat.postMessage',
      status: 429,
      headers: { 'retry-after': '30' },
      body: { ok: false, error: 'ratelimited' },
    });
    const t0 = Date.now();
    const err = await rejection(client.postMessage({ channel: 'C1', text: 'x' }));
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(err.message).toContain('Slack asked to wait 30 s');
  });

  it('a hanging Slack times out and the token never appears in errors', async () => {
    const { api, client } = await slack(okPost);
    api.fault({ path: '/api/chat.update', hang: true });
    const err = await rejection(client.update({ channel: 'C1', ts: '1', text: 'x' }));
    expect(err.message).toMatch(/no answer within 500 ms/);

    api.fault({ path: '/api/chat.postMessage', status: 500, body: `bad token ${TOKEN}` });
    const err2 = await rejection(client.postMessage({ channel: 'C1', text: 'x' }));
    expect(err2.message).toContain('HTTP 500: bad token');
    expect(err2.message).not.toContain(TOKEN);
    expect(err2.message).not.toContain('SecretSlackToken');
  });
});

describe('SafeNotifier', () => {
  it('turns every failure into one warning and never throws', async () => {
    const { api, client } = await slack(() => ({ ok: false, error: 'not_in_channel' }));
    const warnings: string[] = [];
    const n = new SafeNotifier(client, (m) => warnings.push(m));
    expect(await n.postMessage({ channel: 'C1', text: 'x' })).toBeUndefined();
    expect(warnings).toEqual([
      'Could not post the Slack message: Slack postMessage failed: ok:false not_in_channel (the run goes on)',
    ]);

    api.fault({ path: '/api/chat.update', hang: true });
    const slow = new SafeNotifier(client, (m) => warnings.push(m), { deadlineMs: 100 });
    const t0 = Date.now();
    expect(await slow.update({ channel: 'C1', ts: '1', text: 'x' })).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(400);
    expect(warnings[1]).toMatch(/^Could not update the Slack message: no answer within 100 ms/);
  });

  it('does nothing when Slack is not configured, and passes results through when it works', async () => {
    const none = new SafeNotifier(undefined, () => {
      throw new Error('must not warn');
    });
    expect(none.enabled).toBe(false);
    expect(await none.postMessage({ channel: 'C1', text: 'x' })).toBeUndefined();
    const { client } = await slack(okPost);
    expect(await new SafeNotifier(client, () => {}).postMessage({ channel: 'C1', text: 'x' })).toEqual({
      channel: 'C1',
      ts: '1700000000.000100',
    });
  });
});
