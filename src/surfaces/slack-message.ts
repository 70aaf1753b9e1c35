/**
 * The run's Slack message: one Block Kit message per run, posted when the run starts and edited in
 * place (`chat.update`) at every step boundary; a no-go, a failure or a rollback also goes as a
 * thread reply with the reason. Slack is a courtesy: every Slack error becomes a warning, calls are
 * queued and never awaited by the pipeline, so a slow Slack cannot delay a rollback.
 *
 * A re-run of the same workflow run edits that same message (found by its metadata) and says so in
 * its thread; see slack-rerun.ts.
 *
 * The builder (`buildSlackMessage`) is pure; `SlackNotifier` does the posting.
 */
import { MODE_STEPS, STEP_TITLES } from '../pipeline/modes.js';
import type { Config } from '../config/types.js';
import type { RunMessageLookup, RunMessageQuery, SlackMetadata } from '../providers/slack-history.js';
import { rerunLookupWarning, rerunStartedReply, runMessageQuery, runMetadata } from './slack-rerun.js';
import { bound, clip, escapeMrkdwn, shippedText, threadReply, type ShippedView } from './slack-text.js';
import type { Logger, RunState, RunStatus, StepName, StepResult, StepStatus } from '../pipeline/types.js';

// The text helpers moved to slack-text.ts; this module stays the one place to import them from.
export { bound, clip, escapeMrkdwn, shippedText, threadReply, type ShippedView };

/** A step as the message shows it. */
export interface SlackStepView {
  name: StepName;
  title: string;
  status: StepStatus | 'running' | 'pending';
  reason?: string;
  durationMs?: number;
}

/** Everything the message shows. Build it with `slackView`. */
export interface SlackView {
  mode: Config['mode'];
  strategy: Config['strategy'];
  environment: string;
  repository: string;
  serverUrl: string;
  sha: string;
  actor: string;
  runUrl: string;
  pullNumber?: number;
  productionUrl?: string;
  /** `running` until the run ends. */
  status: RunStatus | 'running';
  reason?: string;
  steps: SlackStepView[];
  greenId?: string;
  blueId?: string;
  shipped?: ShippedView;
  /** `GITHUB_RUN_ATTEMPT` when above 1: the message says which attempt it shows. */
  attempt?: number;
  /** A re-run that could not find the run's first message: labelled "re-run, attempt N". */
  separateRerun?: boolean;
}

/** A Block Kit block (only the kinds this message uses). */
export type Block = Record<string, unknown>;

export interface SlackMessage {
  /** Notification fallback text (also what screen readers get). */
  text: string;
  blocks: Block[];
}

const STEP_ICON: Record<SlackStepView['status'], string> = {
  passed: ':white_check_mark:',
  warned: ':warning:',
  failed: ':x:',
  skipped: ':fast_forward:',
  running: ':hourglass_flowing_sand:',
  pending: ':white_small_square:',
};

const RUN_LABEL: Record<SlackView['status'], string> = {
  running: ':hourglass_flowing_sand: Running',
  success: ':white_check_mark: Success',
  'no-go': ':no_entry: No-go',
  failed: ':x: Failed',
  'rolled-back': ':rewind: Rolled back',
  planned: ':clipboard: Planned',
};

/**
 * The steps of the mode, each with its result if it ran; the first one without a result is
 * `running` while the run is, the rest `pending` (or `skipped` once the run has ended).
 */
export function stepViews(mode: Config['mode'], results: readonly StepResult[], ended: boolean): SlackStepView[] {
  const names = MODE_STEPS[mode];
  let runningShown = false;
  return names.map((name) => {
    const r = results.find((x) => x.name === name);
    if (r) return { name, title: r.title, status: r.status, reason: r.reason, durationMs: r.durationMs };
    const status: SlackStepView['status'] = ended ? 'pending' : runningShown ? 'pending' : 'running';
    runningShown = true;
    return { name, title: STEP_TITLES[name], status, ...(ended ? { reason: 'did not run' } : {}) };
  });
}

/** The view of a run from its config, state and step results (and the final status when it ended). */
export function slackView(
  config: Config,
  state: RunState,
  results: readonly StepResult[],
  final?: { status: RunStatus; reason: string },
): SlackView {
  const run = config.run;
  const shipped = results.find((r) => r.name === 'cleanup' || r.name === 'rollback')?.details?.shipped as
    ShippedView | undefined;
  return {
    mode: config.mode,
    strategy: config.strategy,
    environment: config.environment,
    repository: `${run.owner}/${run.repo}`,
    serverUrl: run.serverUrl,
    sha: state.sha || run.sha,
    actor: run.actor,
    runUrl: run.runUrl,
    ...(state.pullNumber !== undefined ? { pullNumber: state.pullNumber } : {}),
    ...(config.productionUrl ? { productionUrl: config.productionUrl } : {}),
    status: final?.status ?? 'running',
    ...(final ? { reason: final.reason } : {}),
    steps: stepViews(config.mode, results, final !== undefined),
    ...(state.green ? { greenId: state.green.id } : {}),
    ...(state.blue ? { blueId: state.blue.id } : {}),
    ...(shipped && Array.isArray(shipped.commits) ? { shipped } : {}),
    ...(run.runAttempt > 1 ? { attempt: run.runAttempt } : {}),
  };
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '' : ` · ${(ms / 1000).toFixed(1)} s`;
}

/** The Block Kit message for a view. Every remote or user text is escaped and bounded. */
export function buildSlackMessage(v: SlackView): SlackMessage {
  const repoUrl = `${v.serverUrl}/${v.repository}`;
  const short = v.sha.slice(0, 7);
  const verb = v.mode === 'rollback' ? 'rollback' : v.mode === 'plan' ? 'plan' : 'deploy';
  const running = v.steps.find((s) => s.status === 'running');
  const headline = v.status === 'running' && running ? `${RUN_LABEL.running} — ${running.title}` : RUN_LABEL[v.status];
  const attempt =
    v.attempt && v.attempt > 1 ? (v.separateRerun ? `re-run, attempt ${v.attempt}` : `attempt ${v.attempt}`) : '';
  const blocks: Block[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        // The attempt label is kept whole (a long repository name is clipped instead): 150 characters in all.
        text: attempt
          ? `${clip(`${v.repository} ${verb} → ${v.environment}`, 147 - attempt.length)} (${attempt})`
          : clip(`${v.repository} ${verb} → ${v.environment}`, 150),
        emoji: true,
      },
    },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: bound(`*${headline}*${v.reason ? `\n${escapeMrkdwn(clip(v.reason, 600))}` : ''}`, 3000),
      },
    },
  ];
  const fields = [
    `*Commit*\n<${repoUrl}/commit/${v.sha}|${short}>`,
    `*Triggered by*\n${escapeMrkdwn(clip(v.actor || 'unknown', 80))}`,
    attempt ? `*Run*\n<${v.runUrl}|workflow run, attempt ${v.attempt}>` : `*Run*\n<${v.runUrl}|workflow run>`,
    v.pullNumber !== undefined ? `*Pull request*\n<${repoUrl}/pull/${v.pullNumber}|#${v.pullNumber}>` : undefined,
    `*Strategy*\n${v.strategy}`,
    v.productionUrl ? `*Production*\n<${v.productionUrl}|${escapeMrkdwn(clip(v.productionUrl, 120))}>` : undefined,
  ].filter((f): f is string => f !== undefined);
  blocks.push({ type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) });
  const lines = v.steps.map((s, i) => {
    const n = v.mode === 'deploy' ? `${i + 1}. ` : '';
    const why = s.reason && s.status !== 'running' ? ` — ${escapeMrkdwn(clip(s.reason, 200))}` : '';
    return `${STEP_ICON[s.status]} ${n}*${escapeMrkdwn(s.title)}*${seconds(s.durationMs)}${why}`;
  });
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: bound(lines.join('\n'), 3000) } });
  if (v.shipped && (v.shipped.commits.length > 0 || v.shipped.pulls.length > 0)) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: shippedText(v.shipped, repoUrl) } });
  }
  const context: string[] = [];
  if (v.greenId) context.push(`green \`${escapeMrkdwn(v.greenId)}\``);
  if (v.blueId) context.push(`blue \`${escapeMrkdwn(v.blueId)}\``);
  if (context.length > 0) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: clip(context.join(' · '), 3000) }] });
  }
  const label = attempt ? ` (${attempt})` : '';
  const text = clip(
    `${v.repository}@${short} ${verb} → ${v.environment}${label}: ${headline.replace(/:[a-z_]+: /, '')}`,
    300,
  );
  return { text, blocks };
}

// ---------------------------------------------------------------- posting

/** What the notifier needs of Slack (the providers' `SafeNotifier` or `Slack`). */
export interface SlackClient {
  postMessage(m: {
    channel: string;
    text: string;
    blocks?: Block[];
    thread_ts?: string;
    metadata?: SlackMetadata;
  }): Promise<SlackRef | undefined>;
  update(m: SlackRef & { text: string; blocks?: Block[]; metadata?: SlackMetadata }): Promise<SlackRef | undefined>;
  /** The run's message from an earlier attempt (never throws; a failure comes back as `problem`). */
  findRunMessage?(q: RunMessageQuery): Promise<RunMessageLookup>;
}

/** Where the run's message lives (`ts` stays a string). */
export interface SlackRef {
  channel: string;
  ts: string;
}

/**
 * The run's Slack message, kept up to date. Every method returns at once: calls go through one
 * queue (so edits land in order), a burst of step boundaries collapses into one `chat.update` of the
 * newest view, and nothing the pipeline awaits ever waits on Slack. `flush` waits, boundedly, at the
 * end of the run. Errors become one warning each; a run never fails because of Slack.
 *
 * If the first post fails, edits are skipped (re-posting after an unknown outcome could make two
 * messages); the final status is then posted once as a new message so the outcome is still seen.
 *
 * A re-run (attempt ≥ 2) first looks for the run's message (its metadata names the run): found, it is
 * edited in place and told in its thread that attempt N started; not found, a new message labelled
 * "re-run, attempt N" is posted with one warning naming the Slack scopes that would have threaded it.
 * Messages are built when they are sent, so every edit knows which of the two happened.
 */
export class SlackNotifier {
  private readonly client: SlackClient;
  private readonly config: Config;
  private readonly log: Logger;
  private readonly channel: string;
  private ref: SlackRef | undefined;
  /** The metadata of the message being edited (re-sent with every edit, so it stays findable). */
  private metadata: SlackMetadata;
  private separateRerun = false;
  private started = false;
  private queue: Promise<void> = Promise.resolve();
  /** What the next edit shows (set by `start`). */
  private latest?: { state: RunState; results: readonly StepResult[]; final?: { status: RunStatus; reason: string } };
  private updateQueued = false;
  private readonly now: () => number;

  constructor(client: SlackClient, config: Config, log: Logger, channel: string, opts: { now?: () => number } = {}) {
    this.client = client;
    this.config = config;
    this.log = log;
    this.channel = channel;
    this.metadata = runMetadata(config);
    this.now = opts.now ?? Date.now;
  }

  private get attempt(): number {
    return this.config.run.runAttempt ?? 1;
  }

  /** Post the message (all steps pending, the first running), or reuse the run's. Call once, first. */
  start(state: RunState): void {
    if (this.started) return;
    this.started = true;
    this.latest = { state, results: [] };
    this.enqueue('post the Slack message', async () => {
      if (this.attempt > 1 && (await this.reuseRunMessage())) return;
      const m = this.build();
      this.ref = await this.client.postMessage({
        channel: this.channel,
        text: m.text,
        blocks: m.blocks,
        metadata: this.metadata,
      });
    });
  }

  /** The runner's `onStepDone`: edit the message to show the steps so far. Returns at once. */
  stepDone(state: RunState, results: readonly StepResult[]): void {
    this.latest = { state, results };
    if (this.updateQueued) return;
    this.updateQueued = true;
    this.enqueue('update the Slack message', async () => {
      this.updateQueued = false;
      if (!this.ref) return;
      const m = this.build();
      await this.client.update({ ...this.ref, text: m.text, blocks: m.blocks, metadata: this.metadata });
    });
  }

  /** The run ended: final edit, and a thread reply with the reason for a no-go, failure or rollback. */
  finish(state: RunState, results: readonly StepResult[], final: { status: RunStatus; reason: string }): void {
    this.latest = { state, results, final };
    const reply = threadReply(final.status, final.reason);
    this.enqueue('send the final Slack update', async () => {
      const message = this.build();
      if (this.ref)
        await this.client.update({ ...this.ref, text: message.text, blocks: message.blocks, metadata: this.metadata });
      else
        this.ref = await this.client.postMessage({
          channel: this.channel,
          text: message.text,
          blocks: message.blocks,
          metadata: this.metadata,
        });
      if (!reply) return;
      await this.client.postMessage({
        channel: this.ref?.channel ?? this.channel,
        text: reply,
        ...(this.ref ? { thread_ts: this.ref.ts } : {}),
      });
    });
  }

  /** Wait for queued calls, at most `timeoutMs`; never throws. */
  async flush(timeoutMs = 10_000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs);
    });
    const r = await Promise.race([this.queue.then(() => 'done' as const), late]);
    clearTimeout(timer);
    if (r === 'late')
      this.log.warning(`Slack did not finish within ${Math.round(timeoutMs / 1000)} s; not waiting for it`);
  }

  /** The message as it would be sent now (for tests and the report); undefined before `start`. */
  get current(): SlackMessage | undefined {
    return this.latest ? this.build() : undefined;
  }

  private build(): SlackMessage {
    const { state, results, final } = this.latest!;
    const view = slackView(this.config, state, results, final);
    return buildSlackMessage(this.separateRerun ? { ...view, separateRerun: true } : view);
  }

  /**
   * A re-run: find the run's message and take it over (edit, thread reply). True when it did; false
   * (after one warning) when a new message must be posted instead.
   */
  private async reuseRunMessage(): Promise<boolean> {
    const { runId } = this.config.run;
    let lookup: RunMessageLookup = { found: undefined };
    if (runId && this.client.findRunMessage)
      lookup = await this.client.findRunMessage(runMessageQuery(this.config, this.channel, this.now()));
    else if (runId) lookup = { found: undefined, problem: { message: 'this Slack client cannot read history' } };
    if (!lookup.found) {
      this.separateRerun = true;
      const problem = lookup.problem;
      this.log.warning(rerunLookupWarning({ attempt: this.attempt, channel: this.channel, runId, problem }));
      return false;
    }
    const { metadata, ...ref } = lookup.found;
    this.ref = ref;
    this.metadata = metadata;
    const m = this.build();
    await this.client.update({ ...ref, text: m.text, blocks: m.blocks, metadata });
    await this.client.postMessage({
      channel: ref.channel,
      thread_ts: ref.ts,
      text: rerunStartedReply(this.attempt, this.config.run.actor),
    });
    return true;
  }

  private enqueue(what: string, fn: () => Promise<void>): void {
    this.queue = this.queue.then(async () => {
      try {
        await fn();
      } catch (err) {
        this.log.warning(`Could not ${what}: ${err instanceof Error ? err.message : String(err)} (the run goes on)`);
      }
    });
  }
}

/** The run's notifier, or undefined when Slack is not configured. */
export function createSlackNotifier(
  config: Config,
  client: SlackClient | undefined,
  log: Logger,
): SlackNotifier | undefined {
  const slack = config.cleanup.slack;
  // Plan mode changes nothing anywhere but the job summary and the PR comment (SECURITY.md).
  if (!slack || !client || config.mode === 'plan') return undefined;
  return new SlackNotifier(client, config, log, slack.channel);
}
