/**
 * Slack, where the run is announced: one message per run, edited in place; thread replies.
 *
 * `@slack/web-api`'s WebClient with a short timeout and `rejectRateLimitedCalls` (its default retry policy
 * is ten retries over half an hour, and a rate-limited call would pause the whole queue). `chat.update` is
 * retried once (same ts, same content: repeating it is harmless); `chat.postMessage` is not retried after a
 * timeout or a 5xx — Slack has no idempotency key and finding our message again needs a history scope —
 * only when nothing was sent (connection refused) or Slack asked for a short wait.
 *
 * A re-run (attempt ≥ 2) finds the run's earlier message by its message metadata (`findRunMessage`:
 * `users.conversations` to turn a channel name into an id, then `conversations.history` with
 * `include_all_metadata`); both are reads, retried like `chat.update`. They need the `channels:read` /
 * `channels:history` scopes (`groups:*` for a private channel) that posting does not: without them the
 * lookup fails and the caller posts a new message instead.
 *
 * A notification failure must never fail a deploy or delay a rollback: steps use `SafeNotifier`.
 */
import {
  LogLevel,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
} from '@slack/web-api';
import type { Logger } from '../pipeline/types.js';
import {
  isChannelId,
  pickRunMessage,
  scopeList,
  toHistoryMessage,
  type HistoryMessage,
  type RunMessage,
  type RunMessageLookup,
  type RunMessageQuery,
  type SlackMetadata,
} from './slack-history.js';
import { ProviderError, classifyNetworkError, formatWait, providerMessage, PROVIDER_TEXT_MAX } from './http.js';
import { oneLine, redact, sleep } from '../text.js';

export interface SlackOptions {
  token: string;
  /** `SLACK_API_URL`, default https://slack.com/api (a trailing slash is added). */
  apiUrl: string;
  /** Per attempt. */
  timeoutMs: number;
  /** Retries of `chat.update` (the WebClient's retry policy). */
  retries: number;
  /** A rate-limit wait up to this long is waited for once; longer fails at once. */
  maxRetryAfterMs: number;
  signal?: AbortSignal;
  secrets?: string[];
  log?: Pick<Logger, 'debug'>;
}

/** Block Kit blocks, as Slack takes them. */
export type SlackBlock = Record<string, unknown>;

export type { HistoryMessage, RunMessage, RunMessageLookup, RunMessageQuery, SlackMetadata };

export interface SlackMessage {
  channel: string;
  /** Fallback text (notifications, screen readers); always send it alongside blocks. */
  text: string;
  blocks?: SlackBlock[];
  /** Reply in this message's thread. */
  thread_ts?: string;
  metadata?: SlackMetadata;
}

/** Where a message lives: what `update` and thread replies need. `ts` is a string and must stay one. */
export interface SlackRef {
  channel: string;
  ts: string;
}

/** Messages per `conversations.history` page (Slack's default; internal apps may ask up to 999). */
const HISTORY_PAGE = 100;
/** `users.conversations` pages of 200 read at most to turn a channel name into its id. */
const CHANNEL_PAGES = 5;

/** The Slack client of one run (one bot token). Steps go through SafeNotifier, which never throws. */
export class Slack {
  private readonly o: SlackOptions;
  private readonly poster: WebClient;
  private readonly updater: WebClient;

  constructor(o: SlackOptions) {
    this.o = o;
    const run = o.signal;
    const make = (retries: number) =>
      new WebClient(o.token, {
        slackApiUrl: o.apiUrl.endsWith('/') ? o.apiUrl : `${o.apiUrl}/`,
        retryConfig: { retries, factor: 1, minTimeout: 200, maxTimeout: 500 },
        timeout: o.timeoutMs,
        rejectRateLimitedCalls: true,
        // The WebClient's own timeout signal, joined with the run's: cancelling the run stops a call.
        fetch: (url, init) => fetch(url, { ...init, signal: joinSignals(init?.signal ?? undefined, run) }),
        logger: quietLogger((m) => o.log?.debug(redact(`Slack client: ${m}`, this.secrets()))),
      });
    this.poster = make(0);
    this.updater = make(o.retries);
  }

  private secrets(): string[] {
    return [this.o.token, ...(this.o.secrets ?? [])];
  }

  /** `chat.postMessage`; `{channel, ts}` of the new message. */
  async postMessage(m: SlackMessage): Promise<SlackRef> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.poster.chat.postMessage({
          channel: m.channel,
          text: m.text,
          blocks: m.blocks as never,
          thread_ts: m.thread_ts,
          ...(m.metadata ? { metadata: m.metadata } : {}),
        });
        return { channel: String(res.channel ?? m.channel), ts: String(res.ts ?? '') };
      } catch (err) {
        if (this.o.signal?.aborted) throw err;
        const e = this.toError('postMessage', err, attempt);
        const wait = err instanceof WebAPIRateLimitedError ? err.retryAfter * 1000 : 0;
        const again = attempt === 1 && e.retryable && !e.outcomeUnknown && wait <= this.o.maxRetryAfterMs;
        if (!again) throw e;
        await sleep(wait || 200, this.o.signal);
      }
    }
  }

  /** `chat.update` of an earlier message, in place (its metadata re-sent when given). */
  async update(m: SlackRef & { text: string; blocks?: SlackBlock[]; metadata?: SlackMetadata }): Promise<SlackRef> {
    try {
      const res = await this.updater.chat.update({
        channel: m.channel,
        ts: m.ts,
        text: m.text,
        blocks: m.blocks as never,
        ...(m.metadata ? { metadata: m.metadata } : {}),
      });
      return { channel: String(res.channel ?? m.channel), ts: String(res.ts ?? m.ts) };
    } catch (err) {
      if (this.o.signal?.aborted) throw err;
      throw this.toError('update', err, 1);
    }
  }

  /**
   * The conversation id of a configured channel: an id as is; a name through `users.conversations`
   * (the channels the bot is in — it can only read those — at most 5 pages of 200). Undefined when the
   * bot is in no channel of that name.
   */
  async channelId(channel: string): Promise<string | undefined> {
    if (isChannelId(channel)) return channel;
    const name = channel.replace(/^#/, '').toLowerCase();
    let cursor: string | undefined;
    for (let page = 0; page < CHANNEL_PAGES; page++) {
      const res = await this.read('listChannels', () =>
        this.updater.users.conversations({
          types: 'public_channel,private_channel',
          exclude_archived: true,
          limit: 200,
          ...(cursor ? { cursor } : {}),
        }),
      );
      const hit = (res.channels ?? []).find((c) => c.name === name || c.name_normalized === name);
      if (hit?.id) return hit.id;
      cursor = res.response_metadata?.next_cursor || undefined;
      if (!cursor) return undefined;
    }
    return undefined;
  }

  /** One page of `conversations.history` (newest first, with metadata), from `oldest` (Unix seconds). */
  async history(q: {
    channel: string;
    oldest?: number;
    limit?: number;
    cursor?: string;
  }): Promise<{ messages: HistoryMessage[]; nextCursor?: string }> {
    const res = await this.read('history', () =>
      this.updater.conversations.history({
        channel: q.channel,
        limit: q.limit ?? HISTORY_PAGE,
        include_all_metadata: true,
        ...(q.oldest !== undefined ? { oldest: q.oldest.toFixed(6) } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      }),
    );
    const messages = (res.messages ?? []).flatMap((m) => {
      const h = toHistoryMessage(m);
      return h ? [h] : [];
    });
    const next = res.has_more ? res.response_metadata?.next_cursor || undefined : undefined;
    return { messages, ...(next ? { nextCursor: next } : {}) };
  }

  /**
   * The earlier top-level message whose metadata has `eventType` and every `match` field, read newest
   * first over at most `maxPages` pages. Of several, the one posted by the lowest attempt (the thread
   * re-runs gather under). Undefined when none is found; errors (missing scope…) throw.
   */
  async findRunMessage(q: RunMessageQuery): Promise<RunMessage | undefined> {
    const channel = await this.channelId(q.channel);
    if (!channel) return undefined;
    let cursor: string | undefined;
    for (let page = 0; page < (q.maxPages ?? 3); page++) {
      const { messages, nextCursor } = await this.history({ channel, oldest: q.oldest, cursor });
      const hit = pickRunMessage(messages, q);
      if (hit) return { channel, ts: hit.ts, metadata: hit.metadata! };
      if (!nextCursor) return undefined;
      cursor = nextCursor;
    }
    return undefined;
  }

  /** A read: the WebClient retries network errors and 5xx; a short rate-limit wait is waited for once. */
  private async read<R>(operation: string, call: () => Promise<R>): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        if (this.o.signal?.aborted) throw err;
        const e = this.toError(operation, err, attempt);
        const wait = err instanceof WebAPIRateLimitedError ? err.retryAfter * 1000 : -1;
        if (attempt > 1 || wait < 0 || wait > this.o.maxRetryAfterMs) throw e;
        await sleep(wait || 200, this.o.signal);
      }
    }
  }

  private toError(operation: string, err: unknown, attempts: number): ProviderError {
    let detail: string;
    let status: number | undefined;
    let code: string | undefined;
    let retryable = false;
    let unknown = false;
    let needed: string | undefined;
    if (err instanceof WebAPIPlatformError) {
      code = String(err.data.error);
      status = 200;
      detail = `ok:false ${code}`;
      // missing_scope names the scope the method needs (Slack: `needed`, `provided`).
      needed = scopeList((err.data as { needed?: unknown }).needed);
      if (needed) detail += ` (needed: ${needed})`;
    } else if (err instanceof WebAPIRateLimitedError) {
      code = 'rate_limited';
      status = 429;
      retryable = true;
      detail = `HTTP 429: Slack asked to wait ${err.retryAfter} s`;
    } else if (err instanceof WebAPIHTTPError) {
      status = err.statusCode;
      retryable = status >= 500;
      unknown = operation === 'postMessage' && status >= 500;
      detail = `HTTP ${status}${err.body ? `: ${oneLine(String(err.body), PROVIDER_TEXT_MAX).slice(0, 200)}` : ''}`;
    } else {
      const n = classifyNetworkError(err instanceof WebAPIRequestError ? err.original : err);
      code = n.code;
      retryable = true;
      unknown = operation === 'postMessage' && n.maybeSent;
      detail = n.code === 'timeout' ? `no answer within ${formatWait(this.o.timeoutMs)}` : `network error ${n.code}`;
    }
    if (unknown) detail += '; the message may have been posted: it was not posted again';
    return new ProviderError({
      provider: 'slack',
      operation,
      status,
      code,
      retryable,
      attempts,
      outcomeUnknown: unknown,
      // The scope that would have allowed the call, as Slack names it.
      ...(needed ? { permission: needed } : {}),
      message: redact(providerMessage('slack', operation, detail), this.secrets()),
    });
  }
}

/**
 * The notifier steps use: never throws. A failure becomes one warning through `warn` (and the call
 * resolves to undefined); a call slower than `deadlineMs` is given up on, so a rollback never waits on Slack.
 */
export class SafeNotifier {
  private readonly slack: Slack | undefined;
  private readonly warn: (message: string) => void;
  private readonly deadlineMs: number;

  constructor(slack: Slack | undefined, warn: (message: string) => void, opts: { deadlineMs?: number } = {}) {
    this.slack = slack;
    this.warn = warn;
    this.deadlineMs = opts.deadlineMs ?? 15_000;
  }

  /** False when Slack is not configured (every call then resolves to undefined at once). */
  get enabled(): boolean {
    return this.slack !== undefined;
  }

  postMessage(m: SlackMessage): Promise<SlackRef | undefined> {
    return this.safe('post the Slack message', (s) => s.postMessage(m));
  }

  update(
    m: SlackRef & { text: string; blocks?: SlackBlock[]; metadata?: SlackMetadata },
  ): Promise<SlackRef | undefined> {
    return this.safe('update the Slack message', (s) => s.update(m));
  }

  /**
   * `Slack.findRunMessage` within the deadline. Never throws and never warns: a failure comes back as
   * `problem` for the caller to word as one warning (it knows which scope to name).
   */
  async findRunMessage(q: RunMessageQuery): Promise<RunMessageLookup> {
    if (!this.slack) return { found: undefined, problem: { message: 'Slack is not configured' } };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), this.deadlineMs);
    });
    try {
      const r = await Promise.race([this.slack.findRunMessage(q), deadline]);
      if (r === 'deadline')
        return {
          found: undefined,
          problem: { message: `no answer within ${formatWait(this.deadlineMs)}`, code: 'timeout' },
        };
      return { found: r };
    } catch (err) {
      const e = err instanceof ProviderError ? err : undefined;
      const needed = e?.permission;
      return {
        found: undefined,
        problem: {
          message: err instanceof Error ? err.message : String(err),
          ...(e?.code ? { code: e.code } : {}),
          ...(e?.operation ? { operation: e.operation } : {}),
          ...(needed ? { needed } : {}),
        },
      };
    } finally {
      clearTimeout(timer);
    }
  }

  private async safe<R>(what: string, fn: (s: Slack) => Promise<R>): Promise<R | undefined> {
    if (!this.slack) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), this.deadlineMs);
    });
    try {
      const r = await Promise.race([fn(this.slack), deadline]);
      if (r === 'deadline') {
        this.warn(`Could not ${what}: no answer within ${formatWait(this.deadlineMs)} (the run goes on)`);
        return undefined;
      }
      return r;
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      this.warn(`Could not ${what}: ${msg} (the run goes on)`);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

function joinSignals(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  if (a && b) return AbortSignal.any([a, b]);
  return a ?? b;
}

/** The WebClient's logger, reduced to warnings and errors sent to one sink. */
function quietLogger(sink: (message: string) => void) {
  let level = LogLevel.WARN;
  const text = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  return {
    debug: () => {},
    info: () => {},
    warn: (...msg: unknown[]) => sink(text(msg)),
    error: (...msg: unknown[]) => sink(text(msg)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
