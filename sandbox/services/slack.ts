/**
 * Slack Web API miniature: `auth.test`, `chat.postMessage`, `chat.update`, `conversations.history`
 * and `users.conversations` under `/api/`, as `@slack/web-api` calls them (POST, form-encoded with
 * JSON strings for blocks and metadata, or JSON bodies). Like Slack, it answers HTTP 200 with
 * `{ok:false, error}` for platform errors (`not_authed`, `invalid_auth`, `channel_not_found`,
 * `message_not_found`, `no_text`, `msg_too_long`, `invalid_metadata_format`, `invalid_cursor`…).
 * Messages (with their message metadata) and thread replies are kept in `world.state.slack`.
 * `missing_scope` comes from a fault rule with its body, as a bot without a scope gets it.
 */
import type { SlackScenario } from '../core/scenario.ts';
import { type RunningService, type SandboxRequest, type SandboxResponse, startService } from '../core/service.ts';
import type { World } from '../core/world.ts';

export interface SlackMessage {
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  threadTs?: string;
  /** Message metadata (`{event_type, event_payload}`), as posted or last updated. */
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  /** Every edit, oldest first (text only), for inspection. */
  edits: string[];
  postedAt: string;
  updatedAt?: string;
}

export interface SlackState {
  channel: string;
  channelId: string;
  messages: SlackMessage[];
}

const MAX_TEXT = 40_000;
/** conversations.history and users.conversations: Slack's maximum `limit`. */
const MAX_LIMIT = 999;

type Metadata = NonNullable<SlackMessage['metadata']>;

/** Slack's message metadata: `event_type` a string, `event_payload` an object (docs.slack.dev/messaging/message-metadata). */
function metadataOf(v: unknown): Metadata | 'invalid' | undefined {
  if (v === undefined || v === '') return undefined;
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'invalid';
  const m = v as Record<string, unknown>;
  const payload = m.event_payload;
  if (typeof m.event_type !== 'string' || !m.event_type) return 'invalid';
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return 'invalid';
  return { event_type: m.event_type, event_payload: payload as Record<string, unknown> };
}

/** Slack's opaque cursors look like base64 of `next_ts:<ts without dot>`; so do these. */
function cursorFor(ts: string): string {
  return Buffer.from(`next_ts:${ts.replace('.', '')}`).toString('base64');
}
function tsOfCursor(cursor: string): string | undefined {
  const m = /^next_ts:(\d{7,})$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
  return m ? `${m[1]!.slice(0, -6)}.${m[1]!.slice(-6)}` : undefined;
}

const truthy = (v: unknown) => v === true || v === 'true' || v === '1' || v === 1;

/** Parse a Slack request body: form (values that look like JSON are parsed) or JSON. */
function params(req: SandboxRequest): Record<string, unknown> {
  const ct = String(req.headers['content-type'] ?? '');
  const out: Record<string, unknown> = {};
  if (ct.includes('application/json')) return (req.json as Record<string, unknown>) ?? {};
  for (const [k, v] of new URLSearchParams(req.raw.toString('utf8'))) {
    if ((v.startsWith('[') || v.startsWith('{')) && ['blocks', 'attachments', 'metadata'].includes(k)) {
      try {
        out[k] = JSON.parse(v);
        continue;
      } catch {
        /* keep the string: Slack answers invalid_blocks below */
      }
    }
    out[k] = v;
  }
  for (const [k, v] of req.url.searchParams) if (!(k in out)) out[k] = v;
  return out;
}

/** Start the Slack miniature; state in `world.state.slack`. */
export async function startSlack(world: World, sc: SlackScenario): Promise<RunningService> {
  const st: SlackState = { channel: sc.channel, channelId: sc.channelId, messages: [] };
  world.state.slack = st;
  let lastTs = Math.floor(Date.now() / 1000) * 1_000_000;
  const nextTs = () => {
    lastTs = Math.max(lastTs + 100, Math.floor(Date.now() * 1000));
    const s = String(lastTs);
    return `${s.slice(0, -6)}.${s.slice(-6)}`;
  };
  const channelOf = (c: unknown) => {
    const s = String(c ?? '').replace(/^#/, '');
    return s === sc.channelId || s === sc.channel.replace(/^#/, '') ? sc.channelId : undefined;
  };
  // conversations.* take a conversation id only: a name is channel_not_found there (Slack docs).
  const channelById = (c: unknown) => (String(c ?? '') === sc.channelId ? sc.channelId : undefined);
  const limitOf = (v: unknown, dflt: number) => {
    const n = Number(v ?? dflt);
    return Number.isInteger(n) && n > 0 ? Math.min(n, MAX_LIMIT) : dflt;
  };
  const fail = (error: string, extra: Record<string, unknown> = {}): SandboxResponse => ({
    status: 200,
    body: { ok: false, error, ...extra },
  });
  const botProfile = {
    id: sc.botId,
    app_id: 'A0SANDBOX1',
    name: 'production-deploy',
    icons: {
      image_36: 'https://a.slack-edge.com/80588/img/plugins/app/bot_36.png',
      image_48: 'https://a.slack-edge.com/80588/img/plugins/app/bot_48.png',
      image_72: 'https://a.slack-edge.com/80588/img/plugins/app/service_72.png',
    },
    deleted: false,
    updated: 1700000000,
    team_id: sc.teamId,
  };
  const messageJson = (m: SlackMessage) => ({
    type: 'message',
    text: m.text,
    user: sc.botUserId,
    bot_id: sc.botId,
    ts: m.ts,
    team: sc.teamId,
    bot_profile: botProfile,
    ...(m.blocks ? { blocks: m.blocks } : {}),
    ...(m.attachments ? { attachments: m.attachments } : {}),
    ...(m.threadTs ? { thread_ts: m.threadTs, parent_user_id: sc.botUserId } : {}),
  });

  const content = (
    p: Record<string, unknown>,
  ): { error?: string; text: string; blocks?: unknown[]; attachments?: unknown[] } => {
    const text = typeof p.text === 'string' ? p.text : '';
    const blocks = p.blocks;
    const attachments = p.attachments;
    if (blocks !== undefined && !Array.isArray(blocks)) return { error: 'invalid_blocks', text };
    if (attachments !== undefined && !Array.isArray(attachments)) return { error: 'invalid_attachments', text };
    if (!text && !(Array.isArray(blocks) && blocks.length) && !(Array.isArray(attachments) && attachments.length))
      return { error: 'no_text', text };
    if (text.length > MAX_TEXT) return { error: 'msg_too_long', text };
    if (Array.isArray(blocks) && blocks.length > 50) return { error: 'invalid_blocks', text };
    return { text, blocks: blocks as unknown[] | undefined, attachments: attachments as unknown[] | undefined };
  };

  const methods: Record<string, (p: Record<string, unknown>) => SandboxResponse> = {
    'auth.test': () => ({
      status: 200,
      body: {
        ok: true,
        url: `https://${sc.team.toLowerCase().replace(/\W+/g, '-')}.slack.com/`,
        team: sc.team,
        user: 'production-deploy',
        team_id: sc.teamId,
        user_id: sc.botUserId,
        bot_id: sc.botId,
        is_enterprise_install: false,
      },
    }),
    'chat.postMessage': (p) => {
      const channel = channelOf(p.channel);
      if (!p.channel) return fail('channel_not_found');
      if (!channel) return fail('channel_not_found');
      const c = content(p);
      if (c.error) return fail(c.error);
      const threadTs = typeof p.thread_ts === 'string' && p.thread_ts ? p.thread_ts : undefined;
      const metadata = metadataOf(p.metadata);
      if (metadata === 'invalid') return fail('invalid_metadata_format');
      const m: SlackMessage = {
        channel,
        ts: nextTs(),
        text: c.text,
        blocks: c.blocks,
        attachments: c.attachments,
        threadTs,
        ...(metadata ? { metadata } : {}),
        edits: [],
        postedAt: new Date().toISOString(),
      };
      st.messages.push(m);
      world.events.emit('change', 'slack');
      return {
        status: 200,
        body: { ok: true, channel, ts: m.ts, message: messageJson(m) },
      };
    },
    'chat.update': (p) => {
      const channel = channelOf(p.channel);
      if (!channel) return fail('channel_not_found');
      const m = st.messages.find((x) => x.ts === p.ts && x.channel === channel);
      if (!m) return fail('message_not_found');
      const c = content({ text: p.text ?? '', blocks: p.blocks ?? m.blocks, attachments: p.attachments });
      if (c.error) return fail(c.error);
      const metadata = metadataOf(p.metadata);
      if (metadata === 'invalid') return fail('invalid_metadata_format');
      // Omitting metadata keeps it, like blocks.
      if (metadata) m.metadata = metadata;
      m.edits.push(m.text);
      m.text = c.text;
      // Omitting blocks keeps the old ones; `[]` removes them (Slack docs, chat.update).
      if (p.blocks !== undefined) m.blocks = Array.isArray(c.blocks) && c.blocks.length ? c.blocks : undefined;
      if (p.attachments !== undefined) m.attachments = c.attachments;
      m.updatedAt = new Date().toISOString();
      world.events.emit('change', 'slack');
      // The 2020 spec types chat.update's `message.blocks` as an object (Slack sends an array):
      // the echo leaves blocks out so the answer stays valid against the spec.
      const { blocks: _blocks, ...echo } = messageJson(m);
      return { status: 200, body: { ok: true, channel, ts: m.ts, text: m.text, message: echo } };
    },
    // docs.slack.dev/reference/methods/conversations.history: the channel's top-level messages, newest
    // first, between `oldest` and `latest` (exclusive unless `inclusive`); a thread's parent carries its
    // reply summary; `metadata` only with `include_all_metadata`; cursor pagination.
    'conversations.history': (p) => {
      const channel = channelById(p.channel);
      if (!channel) return fail('channel_not_found');
      const inclusive = truthy(p.inclusive);
      const oldest = p.oldest === undefined || p.oldest === '' ? undefined : Number(p.oldest);
      const latest = p.latest === undefined || p.latest === '' ? undefined : Number(p.latest);
      if ((oldest !== undefined && !Number.isFinite(oldest)) || (latest !== undefined && !Number.isFinite(latest)))
        return fail('invalid_ts_oldest');
      let from: string | undefined;
      if (typeof p.cursor === 'string' && p.cursor) {
        from = tsOfCursor(p.cursor);
        if (!from) return fail('invalid_cursor');
      }
      const after = (ts: number) => oldest === undefined || (inclusive ? ts >= oldest : ts > oldest);
      const before = (ts: number) => latest === undefined || (inclusive ? ts <= latest : ts < latest);
      const top = st.messages
        .filter((m) => m.channel === channel && (!m.threadTs || m.threadTs === m.ts))
        .filter((m) => after(Number(m.ts)) && before(Number(m.ts)))
        .sort((a, b) => Number(b.ts) - Number(a.ts))
        .filter((m) => from === undefined || Number(m.ts) <= Number(from));
      const limit = limitOf(p.limit, 100);
      const page = top.slice(0, limit);
      const more = top.length > limit;
      const withMetadata = truthy(p.include_all_metadata);
      const messages = page.map((m) => {
        const replies = st.messages.filter((r) => r.threadTs === m.ts && r.ts !== m.ts);
        return {
          ...messageJson(m),
          ...(m.updatedAt ? { edited: { user: sc.botUserId, ts: (Date.parse(m.updatedAt) / 1000).toFixed(6) } } : {}),
          ...(replies.length
            ? {
                thread_ts: m.ts,
                reply_count: replies.length,
                reply_users_count: 1,
                latest_reply: replies.at(-1)!.ts,
                reply_users: [sc.botUserId],
              }
            : {}),
          ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}),
        };
      });
      return {
        status: 200,
        body: {
          ok: true,
          messages,
          has_more: more,
          pin_count: 0,
          channel_actions_ts: null,
          channel_actions_count: 0,
          ...(more ? { response_metadata: { next_cursor: cursorFor(top[limit]!.ts) } } : {}),
        },
      };
    },
    // docs.slack.dev/reference/methods/users.conversations: the conversations the bot is a member of
    // (the scenario's channel, public), filtered by `types` (default public_channel).
    'users.conversations': (p) => {
      const types = String(p.types || 'public_channel')
        .split(',')
        .map((t) => t.trim());
      const known = ['public_channel', 'private_channel', 'mpim', 'im'];
      if (types.some((t) => !known.includes(t))) return fail('invalid_types');
      const name = sc.channel.replace(/^#/, '');
      const channels = types.includes('public_channel')
        ? [
            {
              id: sc.channelId,
              name,
              is_channel: true,
              is_group: false,
              is_im: false,
              is_mpim: false,
              is_private: false,
              created: 1700000000,
              is_archived: false,
              is_general: false,
              unlinked: 0,
              name_normalized: name,
              is_shared: false,
              is_org_shared: false,
              is_pending_ext_shared: false,
              pending_shared: [],
              context_team_id: sc.teamId,
              creator: sc.botUserId,
              is_ext_shared: false,
              shared_team_ids: [sc.teamId],
              is_member: true,
              topic: { value: '', creator: '', last_set: 0 },
              purpose: { value: 'Deployments', creator: sc.botUserId, last_set: 1700000000 },
            },
          ]
        : [];
      if (typeof p.cursor === 'string' && p.cursor) return fail('invalid_cursor');
      return { status: 200, body: { ok: true, channels, response_metadata: { next_cursor: '' } } };
    },
  };

  return startService({
    name: 'slack',
    traffic: world.traffic,
    handler: async (req) => {
      const method = req.path.replace(/^\/api\//, '');
      const fn = methods[method];
      if (!req.path.startsWith('/api/') || !fn) return { status: 404, body: { ok: false, error: 'unknown_method' } };
      const p = params(req);
      const auth = String(req.headers.authorization ?? '');
      const token = /^Bearer\s+(.+)$/i.exec(auth)?.[1] ?? (typeof p.token === 'string' ? p.token : undefined);
      if (!token) return fail('not_authed');
      if (token !== sc.token) return fail('invalid_auth', world.traffic.echoCredentials ? { received: token } : {});
      return fn(p);
    },
  });
}
