/**
 * The run's Slack message through the real Slack adapter (@slack/web-api) against a local Slack-like
 * server: one message, edited in place, a thread reply for a rollback; Slack failures are warnings.
 * Re-runs (GITHUB_RUN_ATTEMPT=2) against the sandbox's Slack miniature: the run's message is found by
 * its metadata and reused; without the history scope a labelled new message and one warning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom } from '../../../sandbox/core/scenario.ts';
import { startService, Traffic, type RunningService } from '../../../sandbox/core/service.ts';
import { makeWorld } from '../../../sandbox/contract/testing.ts';
import { type SlackState, startSlack } from '../../../sandbox/services/slack.ts';
import { SafeNotifier, Slack } from '../../../src/providers/slack.ts';
import { createSlackNotifier } from '../../../src/surfaces/slack-message.ts';
import type { Config } from '../../../src/config/types.ts';
import type { Logger, RunState, StepResult } from '../../../src/pipeline/types.ts';

const TOKEN = 'xoxb-test-token-0000000001';
const traffic = new Traffic();
let slack: RunningService;
let messages: { ts: string; channel: string; text: string; blocks?: unknown; thread_ts?: string; edits: number }[] = [];
let seq = 0;

beforeAll(async () => {
  slack = await startService({
    name: 'slack',
    traffic,
    handler: async (req) => {
      if (req.headers.authorization !== `Bearer ${TOKEN}`)
        return { status: 200, body: { ok: false, error: 'invalid_auth' } };
      const form = Object.fromEntries(new URLSearchParams(req.raw.toString('utf8')));
      const blocks = form.blocks ? JSON.parse(form.blocks) : undefined;
      if (req.path === '/api/chat.postMessage') {
        const ts = `1700000000.${String(++seq).padStart(6, '0')}`;
        messages.push({ ts, channel: 'C123', text: form.text!, blocks, thread_ts: form.thread_ts, edits: 0 });
        return { status: 200, body: { ok: true, channel: 'C123', ts, message: { text: form.text, ts } } };
      }
      if (req.path === '/api/chat.update') {
        const m = messages.find((x) => x.ts === form.ts && x.channel === form.channel);
        if (!m) return { status: 200, body: { ok: false, error: 'message_not_found' } };
        m.text = form.text!;
        m.blocks = blocks;
        m.edits += 1;
        return { status: 200, body: { ok: true, channel: m.channel, ts: m.ts, text: m.text } };
      }
      return { status: 200, body: { ok: false, error: 'unknown_method' } };
    },
  });
});
afterAll(async () => slack.close());

function logger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const noop = () => {};
  return { warnings, info: noop, debug: noop, error: noop, untrusted: noop, warning: (m: string) => warnings.push(m) };
}

function config(): Config {
  return {
    mode: 'deploy',
    strategy: 'blue-green',
    environment: 'production',
    productionUrl: 'https://shop.example.com',
    run: {
      owner: 'acme',
      repo: 'shop',
      sha: 'abcdef0123456789abcdef0123456789abcdef01',
      serverUrl: 'https://github.com',
      runUrl: 'https://github.com/acme/shop/actions/runs/7',
      actor: 'alice',
    },
    cleanup: {
      keepDeployments: 0,
      prComment: true,
      slack: { token: TOKEN, channel: '#deploys', apiUrl: `${slack.url}/api` },
    },
  } as unknown as Config;
}

const state: RunState = {
  phase: 'started',
  mode: 'deploy',
  environment: 'production',
  sha: 'abcdef0123456789abcdef0123456789abcdef01',
  pullNumber: 12,
};

function result(name: StepResult['name'], status: StepResult['status'], reason = 'ok'): StepResult {
  return {
    name,
    title: name,
    status,
    reason,
    checks: [],
    details: {},
    startedAt: '2025-01-01T00:00:00Z',
    durationMs: 10,
  };
}

function client(log: Logger, timeoutMs = 2000, deadlineMs = 3000) {
  const s = new Slack({ token: TOKEN, apiUrl: `${slack.url}/api`, timeoutMs, retries: 1, maxRetryAfterMs: 1000 });
  return new SafeNotifier(s, (m) => log.warning(m), { deadlineMs });
}

describe('SlackNotifier', () => {
  it('posts one message, edits it at each step boundary, and replies in its thread on rollback', async () => {
    messages = [];
    traffic.faults = [];
    const log = logger();
    const n = createSlackNotifier(config(), client(log), log)!;
    n.start(state);
    const results: StepResult[] = [];
    for (const name of ['preflight', 'prepare', 'deploy', 'smoke', 'traffic'] as const) {
      results.push(result(name, 'passed'));
      n.stepDone(state, results);
    }
    results.push(result('validate', 'failed', 'error rate 0.3 > 0.01 at 12:03:30'));
    n.stepDone(state, results);
    n.finish(state, results, {
      status: 'rolled-back',
      reason: 'Post-deployment validation failed: error rate 0.3 > 0.01 at 12:03:30',
    });
    await n.flush(5000);
    expect(log.warnings).toEqual([]);
    const top = messages.filter((m) => !m.thread_ts);
    expect(top).toHaveLength(1);
    expect(top[0]!.edits).toBeGreaterThanOrEqual(2);
    expect(top[0]!.text).toContain('Rolled back');
    const steps = JSON.stringify(top[0]!.blocks);
    expect(steps).toContain(':x: 6. *validate*');
    expect(steps).toContain(':white_small_square: 7. *Cleanup and notification*');
    const replies = messages.filter((m) => m.thread_ts === top[0]!.ts);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toContain('error rate 0.3 &gt; 0.01 at 12:03:30');
  });

  it('a successful run gets no thread reply', async () => {
    messages = [];
    traffic.faults = [];
    const log = logger();
    const n = createSlackNotifier(config(), client(log), log)!;
    n.start(state);
    n.finish(state, [result('preflight', 'passed')], { status: 'success', reason: 'live' });
    await n.flush(5000);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.text).toContain('Success');
  });

  it('Slack failing is only a warning, and a hanging Slack never holds the run past the flush bound', async () => {
    messages = [];
    traffic.faults = [{ service: 'slack', hang: true }];
    const log = logger();
    const n = createSlackNotifier(config(), client(log, 300, 500), log)!;
    const t0 = Date.now();
    n.start(state);
    n.stepDone(state, [result('preflight', 'passed')]);
    n.finish(state, [result('preflight', 'failed', 'no approvals')], { status: 'no-go', reason: 'no approvals' });
    // Everything above returned at once.
    expect(Date.now() - t0).toBeLessThan(50);
    await n.flush(3000);
    expect(Date.now() - t0).toBeLessThan(3500);
    expect(log.warnings.length).toBeGreaterThanOrEqual(1);
    expect(log.warnings.join('\n')).not.toContain(TOKEN);
    traffic.faults = [];
  });

  it('is absent when Slack is not configured', () => {
    const c = config();
    c.cleanup.slack = undefined;
    expect(createSlackNotifier(c, undefined, logger())).toBeUndefined();
  });

  it('is absent in plan mode, which changes nothing but the summary and the PR comment', () => {
    const log = logger();
    expect(createSlackNotifier({ ...config(), mode: 'plan' }, client(log), log)).toBeUndefined();
  });
});

// ---------------------------------------------------------------- re-runs, against the Slack miniature

describe('SlackNotifier on a re-run of the same workflow run', () => {
  const sc = scenarioFrom({}).slack;
  const world = makeWorld();
  let mini: RunningService;
  beforeAll(async () => {
    mini = await startSlack(world, sc);
  });
  afterAll(async () => {
    await mini.close();
    world.cleanup();
  });
  const st = () => world.state.slack as SlackState;
  const topLevel = () => st().messages.filter((m) => !m.threadTs);
  const reset = () => {
    st().messages.length = 0;
    world.traffic.faults = [];
    world.traffic.requests.length = 0;
  };

  function runConfig(attempt: number, over: { runId?: string; channel?: string } = {}): Config {
    const c = config();
    return {
      ...c,
      run: { ...c.run, runId: over.runId ?? '9001', runAttempt: attempt },
      cleanup: {
        ...c.cleanup,
        slack: { token: sc.token, channel: over.channel ?? sc.channel, apiUrl: `${mini.url}/api` },
      },
    } as Config;
  }
  function miniClient(log: Logger, deadlineMs = 3000) {
    const s = new Slack({
      token: sc.token,
      apiUrl: `${mini.url}/api`,
      timeoutMs: 1000,
      retries: 1,
      maxRetryAfterMs: 500,
    });
    return new SafeNotifier(s, (m) => log.warning(m), { deadlineMs });
  }
  async function attempt(n: number, over: { runId?: string; channel?: string } = {}, deadlineMs = 3000) {
    const log = logger();
    const notifier = createSlackNotifier(runConfig(n, over), miniClient(log, deadlineMs), log)!;
    notifier.start(state);
    notifier.stepDone(state, [result('preflight', 'passed')]);
    notifier.finish(state, [result('preflight', 'passed'), result('prepare', 'failed', 'backup failed')], {
      status: 'failed',
      reason: 'backup failed',
    });
    await notifier.flush(5000);
    return log;
  }

  it('attempt 1 posts with the run metadata; attempt 2 finds that message, edits it and replies in its thread', async () => {
    reset();
    expect((await attempt(1)).warnings).toEqual([]);
    const [first] = topLevel();
    expect(first!.metadata).toEqual({
      event_type: 'production_deploy_run',
      event_payload: { repository: 'acme/shop', run_id: '9001', environment: 'production', attempt: 1 },
    });
    expect(first!.text).not.toMatch(/attempt/);

    const log = await attempt(2);
    expect(log.warnings).toEqual([]);
    expect(topLevel()).toHaveLength(1);
    expect(topLevel()[0]!.ts).toBe(first!.ts);
    expect(topLevel()[0]!.text).toContain('(attempt 2)');
    expect(JSON.stringify(topLevel()[0]!.blocks)).toContain('workflow run, attempt 2');
    // Still findable by a third attempt: the metadata is that of attempt 1's post.
    expect(topLevel()[0]!.metadata?.event_payload.attempt).toBe(1);
    const thread = st()
      .messages.filter((m) => m.threadTs === first!.ts)
      .map((m) => m.text);
    expect(thread).toEqual([
      ':x: *Failed*: backup failed',
      ':repeat: Re-run: attempt 2 started (by alice)',
      ':x: *Failed*: backup failed',
    ]);
    // The name was turned into the id once, and history was read with metadata.
    const calls = world.traffic.requests.map((r) => r.path);
    expect(calls.filter((p) => p === '/api/users.conversations')).toHaveLength(1);
    const h = world.traffic.requests.find((r) => r.path === '/api/conversations.history')!;
    expect(h.body).toMatchObject({ channel: sc.channelId, include_all_metadata: 'true' });

    // Attempt 3, configured with the channel id: no name lookup, the same message again.
    world.traffic.requests.length = 0;
    expect((await attempt(3, { channel: sc.channelId })).warnings).toEqual([]);
    expect(topLevel()).toHaveLength(1);
    expect(topLevel()[0]!.text).toContain('(attempt 3)');
    expect(world.traffic.requests.some((r) => r.path === '/api/users.conversations')).toBe(false);
  });

  it('without the history scope: a new message labelled as a re-run, and one warning naming the scope', async () => {
    reset();
    await attempt(1);
    world.traffic.faults = [
      {
        service: 'slack',
        path: '/api/conversations.history',
        status: 200,
        body: { ok: false, error: 'missing_scope', needed: 'channels:history', provided: 'chat:write,channels:read' },
      },
    ];
    const log = await attempt(2);
    expect(topLevel()).toHaveLength(2);
    const second = topLevel()[1]!;
    expect(second.text).toContain('(re-run, attempt 2)');
    expect(JSON.stringify(second.blocks)).toContain('(re-run, attempt 2)');
    expect(second.metadata?.event_payload.attempt).toBe(2);
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]).toMatch(/^Slack: attempt 2 was posted as a new message labelled "re-run, attempt 2"/);
    expect(log.warnings[0]).toContain('missing_scope (needed: channels:history)');
    expect(log.warnings[0]).toContain('channels:history scope (groups:history for a private channel)');
    expect(log.warnings[0]).toContain('or set slack-channel to the channel id');
    expect(log.warnings[0]).not.toContain(sc.token);
  });

  it('nothing of this run in the channel: a labelled new message, and the warning says so', async () => {
    reset();
    await attempt(1, { runId: '1111' });
    const log = await attempt(2, { runId: '2222' });
    expect(topLevel().map((m) => m.text.includes('(re-run, attempt 2)'))).toEqual([false, true]);
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]).toContain('no message of run 2222 was found in #deploys');
  });

  it('a hanging history read is given up at the deadline; the run is never held past the flush bound', async () => {
    reset();
    await attempt(1);
    world.traffic.faults = [{ service: 'slack', path: '/api/conversations.history', hang: true }];
    const t0 = Date.now();
    const log = await attempt(2, {}, 600);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(topLevel()).toHaveLength(2);
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]).toContain('no answer within 600 ms');
  });
});
