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

/** A message of `conversations.history` with run metadata. */
function runMsg(ts: string, payload: Record<string, string | number>, extra: Record<string, unknown> = {}) {
  return {
    type: 'message',
    ts,
    text: `run ${payload.run_id}`,
    bot_id: 'B1',
    metadata: { event_type: 'production_deploy_run', event_payload: payload },
    ...extra,
  };
}
const RUN = { repository: 'acme/shop', run_id: '42', environment: 'production' };
const query = (channel: string) => ({
  channel,
  eventType: 'production_deploy_run',
  match: RUN,
  oldest: 1_700_000_000,
  maxPages: 2,
});

describe('Slack: finding the run message of an earlier attempt', () => {
  it('sends metadata with chat.postMessage and chat.update', async () => {
    const { api, client } = await slack(okPost);
    const metadata = { event_type: 'production_deploy_run', event_payload: { ...RUN, attempt: 1 } };
    await client.postMessage({ channel: 'C1', text: 'x', metadata });
    await client.update({ channel: 'C1', ts: '1.2', text: 'y', metadata });
    // The form carries it as a JSON string (the request log parses it back).
    for (const path of ['/api/chat.postMessage', '/api/chat.update'])
      expect((api.requests('POST', path)[0]!.body as Record<string, unknown>).metadata).toEqual(metadata);
  });

  it('turns a channel name into its id, reads history with metadata, and finds the run (attempt 1 first)', async () => {
    const { api, client } = await slack((method, form) => {
      if (method === 'users.conversations')
        return form.get('cursor')
          ? { ok: true, channels: [{ id: 'C0DEPLOYS1', name: 'deploys' }], response_metadata: { next_cursor: '' } }
          : { ok: true, channels: [{ id: 'C0OTHER001', name: 'general' }], response_metadata: { next_cursor: 'p2' } };
      if (method === 'conversations.history')
        return {
          ok: true,
          has_more: false,
          messages: [
            runMsg('1700000300.000100', { ...RUN, attempt: 2 }), // a re-run that had to post its own
            runMsg('1700000250.000100', { ...RUN, run_id: '41', attempt: 1 }), // another run
            runMsg('1700000200.000100', { ...RUN, environment: 'staging', attempt: 1 }),
            runMsg('1700000150.000100', { ...RUN, attempt: 1 }, { thread_ts: '1700000100.000100' }), // a reply
            runMsg('1700000100.000100', { ...RUN, attempt: 1 }),
            { type: 'message', ts: '1700000050.000100', text: 'hello', user: 'U1' },
          ],
        };
      return { ok: false, error: 'unknown_method' };
    });
    const found = await client.findRunMessage(query('#deploys'));
    expect(found).toEqual({
      channel: 'C0DEPLOYS1',
      ts: '1700000100.000100',
      metadata: { event_type: 'production_deploy_run', event_payload: { ...RUN, attempt: 1 } },
    });
    expect(api.requests('POST', '/api/users.conversations')).toHaveLength(2);
    const history = api.requests('POST', '/api/conversations.history')[0]!.body as Record<string, unknown>;
    expect(history).toMatchObject({
      channel: 'C0DEPLOYS1',
      include_all_metadata: 'true',
      limit: '100',
      oldest: '1700000000.000000',
    });
  });

  it('uses a configured id as is, follows the history cursor up to maxPages, and finds nothing past it', async () => {
    const pages: Record<string, unknown> = {
      '': { ok: true, has_more: true, messages: [{ ts: '3.0', text: 'a' }], response_metadata: { next_cursor: 'c2' } },
      c2: { ok: true, has_more: true, messages: [{ ts: '2.0', text: 'b' }], response_metadata: { next_cursor: 'c3' } },
      c3: { ok: true, has_more: false, messages: [runMsg('1.0', { ...RUN, attempt: 1 })] },
    };
    const { api, client } = await slack((method, form) =>
      method === 'conversations.history' ? pages[form.get('cursor') ?? ''] : { ok: false, error: 'unknown_method' },
    );
    expect(await client.findRunMessage(query('C0DEPLOYS1'))).toBeUndefined();
    expect(api.requests('POST', '/api/users.conversations')).toHaveLength(0);
    expect(api.requests('POST', '/api/conversations.history')).toHaveLength(2);
    expect(await client.findRunMessage({ ...query('C0DEPLOYS1'), maxPages: 3 })).toMatchObject({ ts: '1.0' });
  });

  it('a bot not in a channel of that name finds nothing; missing_scope names the scope', async () => {
    const { client: none } = await slack(() => ({ ok: true, channels: [], response_metadata: { next_cursor: '' } }));
    expect(await none.findRunMessage(query('#deploys'))).toBeUndefined();

    const { client } = await slack(() => ({
      ok: false,
      error: 'missing_scope',
      needed: 'channels:history',
      provided: 'chat:write,channels:read',
    }));
    const err = await rejection(client.findRunMessage(query('C0DEPLOYS1')));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe('Slack history failed: ok:false missing_scope (needed: channels:history)');
    expect(err).toMatchObject({ code: 'missing_scope', permission: 'channels:history' });
  });

  it('history is a read: a 5xx is retried, a short rate limit waited for once', async () => {
    const { api, client } = await slack(() => ({ ok: true, has_more: false, messages: [] }));
    api.fault({ path: '/api/conversations.history', status: 503, times: 1 });
    expect(await client.history({ channel: 'C0DEPLOYS1' })).toEqual({ messages: [] });
    expect(api.requests('POST', '/api/conversations.history')).toHaveLength(2);
    api.fault({
      path: '/api/users.conversations',
      status: 429,
      headers: { 'retry-after': '1' },
      body: { ok: false, error: 'ratelimited' },
      times: 1,
    });
    expect(await client.channelId('#deploys')).toBeUndefined();
    expect(api.requests('POST', '/api/users.conversations')).toHaveLength(2);
  });

  it('SafeNotifier.findRunMessage returns the problem without warning, and gives up at its deadline', async () => {
    const { api, client } = await slack(() => ({ ok: false, error: 'missing_scope', needed: 'groups:history' }));
    const warnings: string[] = [];
    const n = new SafeNotifier(client, (m) => warnings.push(m), { deadlineMs: 300 });
    expect(await n.findRunMessage(query('G0PRIVATE1'))).toEqual({
      found: undefined,
      problem: {
        message: 'Slack history failed: ok:false missing_scope (needed: groups:history)',
        code: 'missing_scope',
        operation: 'history',
        needed: 'groups:history',
      },
    });
    api.fault({ path: '/api/conversations.history', hang: true });
    const t0 = Date.now();
    const slow = await n.findRunMessage(query('G0PRIVATE1'));
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(slow).toEqual({ found: undefined, problem: { message: 'no answer within 300 ms', code: 'timeout' } });
    expect(warnings).toEqual([]);
  });
});
