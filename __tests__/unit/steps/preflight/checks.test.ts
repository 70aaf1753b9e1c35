import { describe, expect, it } from 'vitest';
import {
  classifyChecks,
  evaluateChecks,
  isOwnCheckRun,
  shouldKeepWaiting,
  type ChecksPolicy,
} from '../../../../src/steps/preflight/checks.ts';
import { type CheckRunInfo, type StatusInfo } from '../../../../src/steps/preflight/types.ts';
import { found, lookupFailed } from '../../../../src/steps/checks.ts';

const policy: ChecksPolicy = { required: 'all', job: 'deploy', runId: '555' };
let id = 100;
const run = (
  name: string,
  status: string,
  conclusion: string | null,
  over: Partial<CheckRunInfo> = {},
): CheckRunInfo => ({
  id: ++id,
  name,
  status,
  conclusion,
  ...over,
});
const status = (context: string, state: string): StatusInfo => ({ context, state });

describe('isOwnCheckRun', () => {
  it("recognises this job by name or by this run's link while it is still going", () => {
    expect(isOwnCheckRun(run('deploy', 'in_progress', null), policy)).toBe(true);
    expect(
      isOwnCheckRun(
        run('Deploy to prod', 'in_progress', null, { detailsUrl: 'https://github.com/o/r/actions/runs/555/job/9' }),
        policy,
      ),
    ).toBe(true);
    expect(isOwnCheckRun(run('deploy', 'completed', 'failure'), policy)).toBe(false);
    expect(
      isOwnCheckRun(
        run('build', 'in_progress', null, { detailsUrl: 'https://github.com/o/r/actions/runs/5550/job/9' }),
        policy,
      ),
    ).toBe(false);
  });
});

describe('classifyChecks', () => {
  it('takes the newest run of each name, so a re-run that passed replaces the failure', () => {
    const c = classifyChecks([run('test', 'completed', 'failure'), run('test', 'completed', 'success')], [], policy);
    expect(c.passed).toEqual(['test']);
    expect(c.failed).toEqual([]);
  });

  it('with named required-checks ignores the others and waits for missing ones', () => {
    const c = classifyChecks(
      [run('lint', 'completed', 'failure'), run('test', 'completed', 'success')],
      [status('ci/e2e', 'success')],
      {
        ...policy,
        required: ['test', 'ci/e2e', 'build'],
      },
    );
    expect(c).toMatchObject({ passed: ['test', 'ci/e2e'], failed: [], missing: ['build'] });
    expect(shouldKeepWaiting(c)).toBe(true);
  });

  it('stops waiting as soon as something failed', () => {
    const c = classifyChecks([run('a', 'completed', 'failure'), run('b', 'queued', null)], [], policy);
    expect(shouldKeepWaiting(c)).toBe(false);
  });
});

describe('evaluateChecks', () => {
  it('passes when every check run and status succeeded, neutral or skipped, excluding this job', () => {
    const r = evaluateChecks(
      {
        checkRuns: found([
          run('build', 'completed', 'success'),
          run('docs', 'completed', 'skipped'),
          run('lint', 'completed', 'neutral'),
          run('deploy', 'in_progress', null),
        ]),
        statuses: found([status('vercel', 'success')]),
      },
      policy,
      0,
    );
    expect(r.status).toBe('pass');
    expect(r.reason).toBe('all 4 checks succeeded');
    expect(r.details).toMatchObject({ excluded: ['deploy'] });
  });

  it('fails listing every failed, pending and missing check with its outcome', () => {
    const r = evaluateChecks(
      {
        checkRuns: found([
          run('build', 'completed', 'failure'),
          run('e2e', 'completed', 'timed_out'),
          run('slow', 'in_progress', null),
        ]),
        statuses: found([status('ci/legacy', 'error')]),
      },
      policy,
      0,
    );
    expect(r.status).toBe('fail');
    expect(r.reason).toBe("failed: 'build' (failure), 'e2e' (timed_out), 'ci/legacy' (error); not finished: 'slow'");
  });

  it('fails checks still pending after checks-timeout, saying how long it waited', () => {
    const r = evaluateChecks({ checkRuns: found([run('slow', 'queued', null)]), statuses: found([]) }, policy, 600_000);
    expect(r.status).toBe('fail');
    expect(r.reason).toBe("still pending after 10m (checks-timeout): 'slow'");
  });

  it('fails a named required check that never reported', () => {
    const r = evaluateChecks({ checkRuns: found([]), statuses: found([]) }, { ...policy, required: ['build'] }, 5000);
    expect(r.status).toBe('fail');
    expect(r.reason).toContain("never reported: 'build'");
  });

  it('warns when the commit has no checks at all', () => {
    const r = evaluateChecks(
      { checkRuns: found([run('deploy', 'in_progress', null)]), statuses: found([]) },
      policy,
      0,
    );
    expect(r.status).toBe('warn');
  });

  it('is not-checked when check runs or statuses cannot be read, naming the permission', () => {
    const r = evaluateChecks(
      { checkRuns: lookupFailed('Resource not accessible by integration', 403), statuses: found([]) },
      policy,
      0,
    );
    expect(r.status).toBe('not-checked');
    expect(r.reason).toContain('check runs (HTTP 403)');
    expect(r.reason).toContain('checks: read');
  });
});
