/**
 * Pre-flight check 3: CI. Every check run and commit status on the commit (or the named
 * `required-checks`) succeeded, was neutral or was skipped. This job's own check run is excluded.
 * Pure: classifyChecks says what is still pending, so the fetch layer knows whether to keep polling.
 */
import type { CheckResult } from '../../pipeline/types.js';
import type { CheckRunInfo, StatusInfo } from './types.js';
import type { Lookup } from '../checks.js';

export const CHECKS_CHECK = 'CI checks';

export interface ChecksData {
  checkRuns: Lookup<CheckRunInfo[]>;
  statuses: Lookup<StatusInfo[]>;
}

export interface ChecksPolicy {
  required: 'all' | string[];
  /** `GITHUB_JOB`: the id of the job running this action. */
  job: string;
  /** `GITHUB_RUN_ID`: check runs of this workflow run that are still going are this run's own. */
  runId: string;
}

export interface ChecksClassification {
  passed: string[];
  failed: { name: string; outcome: string }[];
  pending: string[];
  /** Required names that neither a check run nor a status reported (yet). */
  missing: string[];
  /** Check runs left out as this job's own. */
  excluded: string[];
}

const OK_CONCLUSIONS = new Set(['success', 'neutral', 'skipped']);

/**
 * Whether a check run is this job's own (or a sibling of this same workflow run that is still
 * going): it cannot have finished before this step, and waiting for it would wait for ourselves.
 * Jobs this one `needs` have completed before it started, so nothing a deploy depends on is lost.
 */
export function isOwnCheckRun(run: CheckRunInfo, policy: Pick<ChecksPolicy, 'job' | 'runId'>): boolean {
  if (run.status === 'completed') return false;
  if (policy.job && run.name === policy.job) return true;
  const link = run.detailsUrl ?? run.url ?? '';
  return policy.runId !== '' && link.includes(`/actions/runs/${policy.runId}/`);
}

/** The newest check run per name (re-runs leave older runs of the same name behind). */
function newestPerName(runs: readonly CheckRunInfo[]): CheckRunInfo[] {
  const byName = new Map<string, CheckRunInfo>();
  for (const run of runs) {
    const prev = byName.get(run.name);
    if (!prev || run.id > prev.id) byName.set(run.name, run);
  }
  return [...byName.values()];
}

/** Sort every check run and status into passed, failed and pending (lookups must have answered). */
export function classifyChecks(
  runs: readonly CheckRunInfo[],
  statuses: readonly StatusInfo[],
  policy: ChecksPolicy,
): ChecksClassification {
  const out: ChecksClassification = { passed: [], failed: [], pending: [], missing: [], excluded: [] };
  const seen = new Set<string>();
  const wanted = policy.required === 'all' ? undefined : new Set(policy.required);
  for (const run of newestPerName(runs)) {
    if (isOwnCheckRun(run, policy)) {
      out.excluded.push(run.name);
      continue;
    }
    if (wanted && !wanted.has(run.name)) continue;
    seen.add(run.name);
    if (run.status !== 'completed') out.pending.push(run.name);
    else if (run.conclusion && OK_CONCLUSIONS.has(run.conclusion)) out.passed.push(run.name);
    else out.failed.push({ name: run.name, outcome: run.conclusion ?? 'no conclusion' });
  }
  for (const s of statuses) {
    if (wanted && !wanted.has(s.context)) continue;
    seen.add(s.context);
    if (s.state === 'success') out.passed.push(s.context);
    else if (s.state === 'pending') out.pending.push(s.context);
    else out.failed.push({ name: s.context, outcome: s.state });
  }
  if (wanted) for (const n of wanted) if (!seen.has(n)) out.missing.push(n);
  return out;
}

/** True while waiting could still change the verdict: nothing failed, and something is pending or missing. */
export function shouldKeepWaiting(c: ChecksClassification): boolean {
  return c.failed.length === 0 && (c.pending.length > 0 || c.missing.length > 0);
}

/** "a, b, c and 4 more" */
export function listNames(names: readonly string[], max = 8): string {
  const shown = names.slice(0, max).map((n) => `'${n}'`);
  return names.length > max ? `${shown.join(', ')} and ${names.length - max} more` : shown.join(', ');
}

function formatWait(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s}s` : `${Math.round(s / 60)}m`;
}

/**
 * CI check. `waitedMs` is how long pending checks were waited for; anything still pending or
 * missing at this point has outlasted `checks-timeout`.
 */
export function evaluateChecks(data: ChecksData, policy: ChecksPolicy, waitedMs: number): CheckResult {
  const name = CHECKS_CHECK;
  if (!data.checkRuns.ok || !data.statuses.ok) {
    const failures: string[] = [];
    let denied = false;
    for (const [what, l] of [
      ['check runs', data.checkRuns],
      ['commit statuses', data.statuses],
    ] as const) {
      if (l.ok) continue;
      failures.push(`${what}${l.status ? ` (HTTP ${l.status})` : ''}: ${l.error}`);
      denied ||= l.status === 403 || l.status === 404;
    }
    const hint = denied ? ' (the token needs checks: read and statuses: read)' : '';
    return { name, status: 'not-checked', reason: `could not read ${failures.join('; ')}${hint}` };
  }
  const c = classifyChecks(data.checkRuns.value, data.statuses.value, policy);
  const details = { ...c, waitedMs };
  const problems: string[] = [];
  if (c.failed.length > 0) {
    const shown = c.failed.slice(0, 8).map((f) => `'${f.name}' (${f.outcome})`);
    if (c.failed.length > 8) shown.push(`and ${c.failed.length - 8} more`);
    problems.push(`failed: ${shown.join(', ')}`);
  }
  // Pending checks matter only when nothing failed: a failure already decides, so we stop waiting.
  if (c.pending.length > 0) {
    problems.push(
      c.failed.length > 0
        ? `not finished: ${listNames(c.pending)}`
        : `still pending after ${formatWait(waitedMs)} (checks-timeout): ${listNames(c.pending)}`,
    );
  }
  if (c.missing.length > 0) problems.push(`never reported: ${listNames(c.missing)}`);
  if (problems.length > 0) return { name, status: 'fail', reason: problems.join('; '), details };
  if (c.passed.length === 0) {
    return {
      name,
      status: 'warn',
      reason:
        c.excluded.length > 0
          ? 'no check runs or commit statuses on the commit besides this job'
          : 'no check runs or commit statuses on the commit',
      details,
    };
  }
  const scope = policy.required === 'all' ? 'all' : 'all required';
  return {
    name,
    status: 'pass',
    reason: `${scope} ${c.passed.length} ${c.passed.length === 1 ? 'check' : 'checks'} succeeded${waitedMs >= 1000 ? ` (waited ${formatWait(waitedMs)})` : ''}`,
    details,
  };
}
