/**
 * Finding the run's earlier Slack message (a re-run): the shapes `conversations.history` answers with,
 * and the pure choice of the run's message among them. The calls are in slack.ts.
 */

/**
 * Slack message metadata (docs.slack.dev/messaging/message-metadata): an app-defined event type and a
 * flat payload, stored with the message and returned by `conversations.history` with `include_all_metadata`.
 */
export interface SlackMetadata {
  event_type: string;
  event_payload: Record<string, string | number | boolean>;
}

/** A top-level message of a channel, as `conversations.history` returns it (the fields used here). */
export interface HistoryMessage {
  ts: string;
  text: string;
  threadTs?: string;
  botId?: string;
  metadata?: SlackMetadata;
}

/** Which earlier message `findRunMessage` looks for. */
export interface RunMessageQuery {
  /** The configured channel: an id (`C…`, `G…`) or a name (`#deploys`). */
  channel: string;
  eventType: string;
  /** Payload fields that must all be equal (compared as strings). */
  match: Record<string, string>;
  /** Unix seconds: messages older than this are not read. */
  oldest: number;
  /** Pages of 100 messages read at most (default 3). */
  maxPages?: number;
}

/** The message found: where it is and the metadata it carries. */
export interface RunMessage {
  channel: string;
  ts: string;
  metadata: SlackMetadata;
}

/** A run message lookup's outcome; `SafeNotifier.findRunMessage` never throws but returns this. */
export type RunMessageLookup =
  | { found: RunMessage }
  | { found: undefined; problem?: { message: string; code?: string; operation?: string; needed?: string } };

/** A Slack conversation id (public `C…`, private `G…` or `C…`, direct `D…`); names are lower case. */
const CHANNEL_ID = /^[CGD][A-Z0-9]{6,}$/;

/** True for a conversation id, false for a channel name (`#deploys`, `deploys`). */
export function isChannelId(channel: string): boolean {
  return CHANNEL_ID.test(channel);
}

/** One `conversations.history` message as used here; undefined for one without a string `ts`. */
export function toHistoryMessage(m: {
  ts?: string;
  text?: string;
  thread_ts?: string;
  bot_id?: string;
  metadata?: { event_type?: string; event_payload?: unknown };
}): HistoryMessage | undefined {
  if (typeof m.ts !== 'string') return undefined;
  const md = m.metadata;
  const payload = md?.event_payload;
  return {
    ts: m.ts,
    text: m.text ?? '',
    ...(m.thread_ts ? { threadTs: m.thread_ts } : {}),
    ...(m.bot_id ? { botId: m.bot_id } : {}),
    ...(md && typeof md.event_type === 'string' && payload && typeof payload === 'object' && !Array.isArray(payload)
      ? { metadata: { event_type: md.event_type, event_payload: payload as SlackMetadata['event_payload'] } }
      : {}),
  };
}

/** The earliest-attempt message among `messages` that is this run's (top-level, metadata matching). */
export function pickRunMessage(
  messages: readonly HistoryMessage[],
  q: Pick<RunMessageQuery, 'eventType' | 'match'>,
): HistoryMessage | undefined {
  const ours = messages.filter(
    (m) =>
      (!m.threadTs || m.threadTs === m.ts) &&
      m.metadata?.event_type === q.eventType &&
      Object.entries(q.match).every(([k, v]) => String(m.metadata!.event_payload[k] ?? '') === v),
  );
  const attempt = (m: HistoryMessage) => Number(m.metadata!.event_payload.attempt) || Number.MAX_SAFE_INTEGER;
  // Lowest attempt first; then the oldest (Slack ts compare as decimals of equal shape).
  return ours.sort((a, b) => attempt(a) - attempt(b) || Number(a.ts) - Number(b.ts))[0];
}

/** Slack's `needed` scopes, kept only if they look like scope names (it is remote text). */
export function scopeList(v: unknown): string | undefined {
  return typeof v === 'string' && /^[a-z.:_,-]{1,200}$/.test(v) ? v : undefined;
}
