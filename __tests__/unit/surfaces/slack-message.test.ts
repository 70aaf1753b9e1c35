import { describe, expect, it } from 'vitest';
import {
  buildSlackMessage,
  escapeMrkdwn,
  shippedText,
  stepViews,
  threadReply,
  type SlackView,
} from '../../../src/surfaces/slack-message.ts';
import type { StepResult } from '../../../src/pipeline/types.ts';

function result(name: StepResult['name'], status: StepResult['status'], reason = 'ok'): StepResult {
  return {
    name,
    title: name,
    status,
    reason,
    checks: [],
    details: {},
    startedAt: '2025-01-01T00:00:00.000Z',
    durationMs: 1500,
  };
}

function view(over: Partial<SlackView> = {}): SlackView {
  return {
    mode: 'deploy',
    strategy: 'blue-green',
    environment: 'production',
    repository: 'acme/shop',
    serverUrl: 'https://github.com',
    sha: 'abcdef0123456789abcdef0123456789abcdef01',
    actor: 'alice',
    runUrl: 'https://github.com/acme/shop/actions/runs/7',
    pullNumber: 12,
    productionUrl: 'https://shop.example.com',
    status: 'running',
    steps: stepViews('deploy', [result('preflight', 'passed'), result('prepare', 'passed')], false),
    ...over,
  };
}

describe('stepViews', () => {
  it('lists the seven deploy steps: finished ones with results, the next running, the rest pending', () => {
    const steps = stepViews('deploy', [result('preflight', 'passed'), result('prepare', 'warned')], false);
    expect(steps.map((s) => s.status)).toEqual([
      'passed',
      'warned',
      'running',
      'pending',
      'pending',
      'pending',
      'pending',
    ]);
    expect(steps[2]!.title).toBe('Blue-green deployment');
  });
  it('after the run ended, steps that never ran are pending with "did not run"', () => {
    const steps = stepViews('deploy', [result('preflight', 'failed')], true);
    expect(steps[1]).toMatchObject({ status: 'pending', reason: 'did not run' });
    expect(steps.some((s) => s.status === 'running')).toBe(false);
  });
  it('rollback mode has one step', () => {
    expect(stepViews('rollback', [], false).map((s) => s.name)).toEqual(['rollback']);
  });
});

describe('buildSlackMessage', () => {
  it('shows status, commit, actor, run, PR and every step', () => {
    const m = buildSlackMessage(view());
    const json = JSON.stringify(m.blocks);
    expect(m.text).toBe('acme/shop@abcdef0 deploy → production: Running — Blue-green deployment');
    expect(json).toContain('<https://github.com/acme/shop/commit/abcdef0123456789abcdef0123456789abcdef01|abcdef0>');
    expect(json).toContain('alice');
    expect(json).toContain('<https://github.com/acme/shop/actions/runs/7|workflow run>');
    expect(json).toContain('<https://github.com/acme/shop/pull/12|#12>');
    expect(json).toContain(':white_small_square: 7. *Cleanup and notification*');
    const steps = m.blocks[3] as { text: { text: string } };
    expect(steps.text.text.split('\n')).toHaveLength(7);
    expect(steps.text.text).toContain(':hourglass_flowing_sand: 3. *Blue-green deployment*');
    expect(steps.text.text).toContain(':white_check_mark: 1. *preflight* · 1.5 s — ok');
    expect(m.blocks.length).toBeLessThanOrEqual(50);
  });

  it('escapes remote text so it cannot mention the channel or forge links', () => {
    const m = buildSlackMessage(
      view({ status: 'failed', reason: 'boom <!channel> & <https://evil|click>', actor: '<@U123>' }),
    );
    const json = JSON.stringify(m.blocks);
    expect(json).not.toContain('<!channel>');
    expect(json).toContain('&lt;!channel&gt; &amp; &lt;https://evil|click&gt;');
    expect(json).toContain('&lt;@U123&gt;');
  });

  it('keeps every block within Block Kit limits for huge reasons', () => {
    const long = 'x'.repeat(10_000);
    const m = buildSlackMessage(
      view({
        status: 'rolled-back',
        reason: long,
        steps: stepViews('deploy', [result('preflight', 'failed', long)], true),
      }),
    );
    for (const b of m.blocks) {
      const t = (b as { text?: { text: string } }).text?.text;
      if (t) expect(t.length).toBeLessThanOrEqual(3000);
    }
    expect((m.blocks[0] as { text: { text: string } }).text.text.length).toBeLessThanOrEqual(150);
  });

  it('lists what shipped', () => {
    const m = buildSlackMessage(
      view({
        status: 'success',
        shipped: {
          commits: [{ sha: '1111111aaaa', message: 'Add cart (#11)\n\nbody' }],
          pulls: [{ number: 11, title: 'Add cart' }],
          total: 1,
        },
      }),
    );
    const json = JSON.stringify(m.blocks);
    expect(json).toContain('What shipped* (1 commit)');
    expect(json).toContain('<https://github.com/acme/shop/pull/11|#11> Add cart');
    expect(json).toContain('<https://github.com/acme/shop/commit/1111111aaaa|1111111> Add cart (#11)');
    expect(m.text).toContain('Success');
  });
});

describe('shippedText and threadReply', () => {
  it('links to the comparison when more commits shipped than are listed', () => {
    const commits = Array.from({ length: 12 }, (_, i) => ({ sha: `${i}`.padStart(40, 'a'), message: `c${i}` }));
    const text = shippedText({ commits, pulls: [], total: 30, compareUrl: 'https://x/compare/a...b' }, 'https://x');
    expect(text).toContain('<https://x/compare/a...b|all changes>');
    expect(text.split('\n').filter((l) => l.startsWith('•'))).toHaveLength(10);
  });
  it('replies only for no-go, failure and rollback, with the reason', () => {
    expect(threadReply('success', 'fine')).toBeUndefined();
    expect(threadReply('rolled-back', 'error rate 0.034 > 0.01 at 12:03:30')).toBe(
      ':rewind: *Rolled back*: error rate 0.034 &gt; 0.01 at 12:03:30',
    );
    expect(threadReply('no-go', 'a')).toContain('No-go');
    expect(threadReply('failed', 'a')).toContain('Failed');
    expect(escapeMrkdwn('a<b>&')).toBe('a&lt;b&gt;&amp;');
  });
});

describe('a re-run in the message', () => {
  const header = (v: SlackView) => (buildSlackMessage(v).blocks[0]!.text as { text: string }).text;
  it('says which attempt it shows, and labels a re-run that could not reuse the first message', () => {
    expect(header(view())).toBe('acme/shop deploy → production');
    expect(header(view({ attempt: 2 }))).toBe('acme/shop deploy → production (attempt 2)');
    expect(header(view({ attempt: 2, separateRerun: true }))).toBe('acme/shop deploy → production (re-run, attempt 2)');
    const m = buildSlackMessage(view({ attempt: 3 }));
    expect(m.text).toMatch(/^acme\/shop@abcdef0 deploy → production \(attempt 3\): Running/);
    expect(JSON.stringify(m.blocks)).toContain('workflow run, attempt 3>');
  });
  it('keeps the label whole within the 150-character header when the repository name is long', () => {
    const h = header(view({ repository: `acme/${'x'.repeat(200)}`, attempt: 12, separateRerun: true }));
    expect(h.length).toBeLessThanOrEqual(150);
    expect(h.endsWith('… (re-run, attempt 12)')).toBe(true);
  });
});
