import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../../../src/pipeline/types.ts';
import { isGo, renderPreflightSection, verdictReason } from '../../../../src/steps/preflight/report.ts';
import { isBlocking } from '../../../../src/steps/checks.ts';

const ctx = {
  environment: 'production',
  mode: 'deploy',
  sha: 'c063502a72638f829a159c1a27c08e9dc9ef1993',
  runUrl: 'https://github.com/acme/shop/actions/runs/1',
  repoUrl: 'https://github.com/acme/shop',
  at: '2026-01-02T03:04:05.000Z',
};
const pass = (name: string): CheckResult => ({ name, status: 'pass', reason: 'ok' });

describe('the verdict', () => {
  it('blocks on a failure and on a check that could not be made, unless it is advisory', () => {
    expect(isBlocking({ name: 'a', status: 'fail', reason: '' })).toBe(true);
    expect(isBlocking({ name: 'a', status: 'not-checked', reason: '' })).toBe(true);
    expect(isBlocking({ name: 'a', status: 'not-checked', reason: '', details: { advisory: true } })).toBe(false);
    expect(isBlocking({ name: 'a', status: 'warn', reason: '' })).toBe(false);
    expect(isBlocking({ name: 'a', status: 'skipped', reason: '' })).toBe(false);
  });

  it('names every blocking check with its reason in the step reason', () => {
    const checks: CheckResult[] = [
      pass('Branch'),
      { name: 'Code review', status: 'fail', reason: 'changes requested by dave' },
      { name: 'CI checks', status: 'not-checked', reason: 'HTTP 502' },
    ];
    expect(isGo(checks)).toBe(false);
    expect(verdictReason(checks)).toBe(
      'no-go: Code review failed (changes requested by dave); CI checks not checked (HTTP 502)',
    );
    expect(
      verdictReason([
        pass('Branch'),
        { name: 'Security alerts', status: 'not-checked', reason: 'x', details: { advisory: true } },
      ]),
    ).toBe('go: 1 of 2 checks passed; see Security alerts');
  });
});

describe('renderPreflightSection', () => {
  it('renders a no-go with a row per check, escaping remote text', () => {
    const md = renderPreflightSection(
      [pass('Branch'), { name: 'CI checks', status: 'fail', reason: "failed: '<img src=x>|evil' (failure)" }],
      ctx,
    );
    expect(md).toContain('### ⛔ No-go for production');
    expect(md).toContain('[`c063502`](https://github.com/acme/shop/commit/c063502a72638f829a159c1a27c08e9dc9ef1993)');
    expect(md).toContain("| CI checks | ❌ fail | failed: '&lt;img src=x&gt;\\|evil' \\(failure\\) |");
    expect(md).toContain('1 check blocks the deploy.');
    expect(md).toContain('checked 2026-01-02 03:04 UTC');
  });

  it('renders a go, and says when it is a plan', () => {
    const md = renderPreflightSection([pass('Branch')], { ...ctx, mode: 'plan' });
    expect(md.split('\n')[0]).toBe('### ✅ Go for production (plan: nothing was changed)');
    expect(md).not.toContain('block the deploy');
  });
});
