/**
 * A re-run of the same workflow run (`GITHUB_RUN_ATTEMPT` ≥ 2) keeps the run's one Slack message: the
 * message carries Slack message metadata naming the run (repository, run id, environment, attempt),
 * and a later attempt finds it in the channel's history and edits it in place, with a thread reply
 * saying the re-run started. When it cannot be found (the bot lacks a history scope, is not in the
 * channel, Slack is slow, nothing matches), the attempt posts a new message labelled as a re-run and
 * says once, in a warning, which scope would have let it thread.
 *
 * Everything here is pure; `SlackNotifier` (slack-message.ts) does the calls.
 */
import type { Config } from '../config/types.js';
import {
  isChannelId,
  type RunMessageLookup,
  type RunMessageQuery,
  type SlackMetadata,
} from '../providers/slack-history.js';
import { clip, escapeMrkdwn } from './slack-text.js';

/** The metadata event type of the run's message (Slack: "a human readable alphanumeric string"). */
export const RUN_EVENT_TYPE = 'production_deploy_run';

/** GitHub lets a workflow run be re-run for up to 30 days after it started: look back that far. */
export const LOOKBACK_SECONDS = 30 * 24 * 60 * 60;

/** History pages of 100 read at most: a busy channel's older messages are not worth more calls. */
export const LOOKUP_PAGES = 3;

/** The metadata the run's message carries: what a later attempt finds it by. */
export function runMetadata(config: Config): SlackMetadata {
  const run = config.run;
  return {
    event_type: RUN_EVENT_TYPE,
    event_payload: {
      repository: `${run.owner}/${run.repo}`,
      run_id: run.runId,
      environment: config.environment,
      attempt: run.runAttempt,
    },
  };
}

/** The lookup of the run's earlier message in `channel`, `nowMs` being the current time. */
export function runMessageQuery(config: Config, channel: string, nowMs: number): RunMessageQuery {
  const { event_payload: p } = runMetadata(config);
  return {
    channel,
    eventType: RUN_EVENT_TYPE,
    // The attempt is left out: any earlier attempt's message is the run's.
    match: { repository: String(p.repository), run_id: String(p.run_id), environment: String(p.environment) },
    oldest: Math.floor(nowMs / 1000) - LOOKBACK_SECONDS,
    maxPages: LOOKUP_PAGES,
  };
}

/** The thread reply under the run's message when a re-run of the run starts. */
export function rerunStartedReply(attempt: number, actor: string): string {
  const by = actor ? ` (by ${escapeMrkdwn(clip(actor, 80))})` : '';
  return `:repeat: Re-run: attempt ${attempt} started${by}`;
}

/**
 * The one warning of a re-run posted as a new message: why the earlier message was not reused, and
 * the Slack scopes that would let re-runs thread under it.
 */
export function rerunLookupWarning(opts: {
  attempt: number;
  channel: string;
  runId: string;
  problem?: Extract<RunMessageLookup, { found: undefined }>['problem'];
}): string {
  const { attempt, channel, problem } = opts;
  const byName = !isChannelId(channel);
  let why: string;
  if (!opts.runId) why = 'GITHUB_RUN_ID is not set, so the run cannot be recognised';
  else if (!problem)
    why = `no message of run ${opts.runId} was found in ${channel} (the last ${LOOKUP_PAGES * 100} messages of 30 days)`;
  // A ProviderError's message: one line, bounded, never a secret.
  else why = `the run's earlier message could not be looked up: ${problem.message.slice(0, 300)}`;
  let scopes =
    'To thread re-runs under the run’s first message, give the Slack bot the channels:history scope ' +
    '(groups:history for a private channel)';
  if (byName)
    scopes += ` and channels:read (groups:read) to find ${channel} by name, or set slack-channel to the channel id`;
  if (problem?.code === 'not_in_channel' || problem?.code === 'channel_not_found')
    scopes += ', and invite the bot to the channel';
  if (problem?.needed) scopes += ` (Slack says this call needs: ${problem.needed})`;
  return `Slack: attempt ${attempt} was posted as a new message labelled "re-run, attempt ${attempt}": ${why}. ${scopes}.`;
}
