/**
 * Slack Web API miniature: `auth.test`, `chat.postMessage`, `chat.update` under `/api/`, as
 * `@slack/web-api` calls them (POST, form-encoded with JSON strings for blocks, or JSON bodies).
 * Like Slack, it answers HTTP 200 with `{ok:false, error}` for platform errors (`not_authed`,
 * `invalid_auth`, `channel_not_found`, `message_not_found`, `no_text`, `msg_too_long`…). Messages and
 * thread replies are kept in `world.state.slack` for inspection.
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
      const m: SlackMessage = {
        channel,
        ts: nextTs(),
        text: c.text,
        blocks: c.blocks,
        attachments: c.attachments,
        threadTs,
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
