/**
 * The go/no-go verdict and its report: which check results block a deploy, the step's one-line
 * reason, and the Markdown section the PR comment shows (the job summary renders the same checks
 * from the step result). Pure.
 */
import type { CheckResult } from '../../pipeline/types.js';
import { codeSpan, escapeCell, escapeInline, table } from '../../surfaces/markdown.js';
import { isBlocking } from '../checks.js';

/** True when no check blocks. */
export function isGo(checks: readonly CheckResult[]): boolean {
  return !checks.some(isBlocking);
}

/** The step's reason: the verdict and every blocking check with its reason, on one line. */
export function verdictReason(checks: readonly CheckResult[]): string {
  const blocking = checks.filter(isBlocking);
  if (blocking.length === 0) {
    const notes = checks.filter((c) => c.status === 'warn' || c.status === 'not-checked').map((c) => c.name);
    const passed = checks.filter((c) => c.status === 'pass').length;
    return `go: ${passed} of ${checks.length} checks passed${notes.length ? `; see ${notes.join(', ')}` : ''}`;
  }
  const listed = blocking.map((c) => `${c.name} ${c.status === 'fail' ? 'failed' : 'not checked'} (${c.reason})`);
  return `no-go: ${listed.join('; ')}`;
}

const ICON: Record<CheckResult['status'], string> = {
  pass: '✅ pass',
  fail: '❌ fail',
  warn: '⚠️ warn',
  'not-checked': '❔ not checked',
  skipped: '⏭️ skipped',
};

export interface SectionContext {
  environment: string;
  mode: string;
  sha: string;
  runUrl: string;
  /** `${serverUrl}/${owner}/${repo}` for the commit link. */
  repoUrl: string;
  /** ISO time of the verdict. */
  at: string;
}

/** The go/no-go section of the PR comment: verdict line, run facts, and the table of every check. */
export function renderPreflightSection(checks: readonly CheckResult[], ctx: SectionContext): string {
  const go = isGo(checks);
  const plan = ctx.mode === 'plan' ? ' (plan: nothing was changed)' : '';
  const head = go
    ? `### ✅ Go for ${escapeInline(ctx.environment, 80)}${plan}`
    : `### ⛔ No-go for ${escapeInline(ctx.environment, 80)}${plan}`;
  const sha = ctx.sha.slice(0, 7);
  const facts = [
    `Commit [${codeSpan(sha)}](${ctx.repoUrl}/commit/${encodeURIComponent(ctx.sha)})`,
    `[workflow run](${ctx.runUrl})`,
    `checked ${escapeInline(ctx.at.replace('T', ' ').slice(0, 16), 20)} UTC`,
  ].join(' · ');
  const rows = checks.map((c) => [escapeCell(c.name, 80), ICON[c.status], escapeCell(c.reason, 1000)]);
  const blocking = checks.filter(isBlocking).length;
  const tail = go
    ? ''
    : `\n\n${blocking} ${blocking === 1 ? 'check blocks' : 'checks block'} the deploy. Fix ${blocking === 1 ? 'it' : 'them'} and re-run the workflow; this comment is updated in place.`;
  return `${head}\n\n${facts}\n\n${table(['Check', 'Result', 'Reason'], rows)}${tail}`;
}
