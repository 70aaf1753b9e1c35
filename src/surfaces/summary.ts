/**
 * The job summary, rendered from the Report and written once, at the end of the run (also when it
 * fails): the verdict first, then a table of the mode's steps in order (status, duration, one-line
 * reason; steps that never ran say "not run"), then each step's details.
 *
 * A step that wants more than its checks table returns a ready Markdown section in
 * `StepOutcome.markdown`. It is appended verbatim under the step's heading, after the checks — for
 * example the validate step's Mermaid `xychart-beta` of its samples. The step renders it itself and
 * must escape any remote text in it (src/surfaces/markdown.ts); headings in it should be level 4 or
 * below. `details` stay in the JSON report only.
 */
import * as core from '@actions/core';
import { formatDuration } from '../config/duration.js';
import { MODE_STEPS, STEP_TITLES } from '../pipeline/modes.js';
import type { CheckResult, Logger, Report, RunStatus, StepName, StepResult, StepStatus } from '../pipeline/types.js';
import { codeSpan, escapeCell, escapeInline, table } from './markdown.js';
import { errorMessage } from '../text.js';

const VERDICT: Record<RunStatus, string> = {
  success: '✅ Success',
  planned: '📝 Planned',
  'no-go': '⛔ No-go',
  failed: '❌ Failed',
  'rolled-back': '↩️ Rolled back',
};

const STEP_ICON: Record<StepStatus | 'not-run', string> = {
  passed: '✅ passed',
  failed: '❌ failed',
  warned: '⚠️ warned',
  skipped: '⏭️ skipped',
  'not-run': '⚪ not run',
};

const CHECK_ICON: Record<CheckResult['status'], string> = {
  pass: '✅ pass',
  fail: '❌ fail',
  warn: '⚠️ warn',
  'not-checked': '❔ not checked',
  skipped: '⏭️ skipped',
};

/** The whole summary as Markdown (pure: no I/O). */
export function renderSummaryMarkdown(report: Report): string {
  const parts = [verdict(report), stepsTable(report), ...report.steps.map(stepDetails), decisions(report)];
  return `${parts.filter((p) => p !== '').join('\n\n')}\n`;
}

/**
 * Writes the summary with `core.summary`, once. Without `GITHUB_STEP_SUMMARY` (a local run) the
 * Markdown goes to the log instead, wrapped so that none of it can act as a workflow command.
 */
export async function writeSummary(report: Report, log: Logger): Promise<void> {
  const markdown = renderSummaryMarkdown(report);
  try {
    await core.summary.addRaw(markdown, true).write();
  } catch (err) {
    core.summary.emptyBuffer();
    log.info(`The job summary could not be written (${errorMessage(err)}); here it is:`);
    log.untrusted(markdown);
  }
}

function verdict(r: Report): string {
  const mode = r.mode === 'deploy' ? `Deploy to ${r.environment}` : `${capitalize(r.mode)} of ${r.environment}`;
  const lines = [`## ${VERDICT[r.status]}: ${escapeInline(mode, 120)}`, '', `**${escapeInline(r.reason, 1000)}**`];
  const facts = [
    `mode ${codeSpan(r.mode)}`,
    `strategy ${codeSpan(r.strategy)}`,
    r.go === undefined ? '' : `go ${codeSpan(String(r.go))}`,
    `commit ${codeSpan(r.sha.slice(0, 12))}`,
    r.productionUrl ? `production ${codeSpan(r.productionUrl)}` : '',
    r.state.green ? `green ${codeSpan(r.state.green.id)}` : '',
    r.state.blue ? `blue ${codeSpan(r.state.blue.id)}` : '',
  ].filter(Boolean);
  lines.push('', facts.join(' · '));
  return lines.join('\n');
}

function stepsTable(r: Report): string {
  const planned: readonly StepName[] = MODE_STEPS[r.mode];
  // The mode's steps in order, then any step that ran without being in the list (never hide one).
  const names = [...planned, ...r.steps.map((s) => s.name).filter((n) => !planned.includes(n))];
  const rows = names.map((name) => {
    const result = r.steps.find((s) => s.name === name);
    if (!result) return [STEP_TITLES[name], STEP_ICON['not-run'], '—', '—'];
    return [
      escapeCell(result.title, 80),
      STEP_ICON[result.status],
      formatDuration(roundDuration(result.durationMs)),
      escapeCell(result.reason, 200),
    ];
  });
  return `### Steps\n\n${table(['Step', 'Status', 'Duration', 'Reason'], rows)}`;
}

function stepDetails(result: StepResult): string {
  const extra = result.markdown?.trim() ?? '';
  if (result.checks.length === 0 && extra === '') return '';
  const parts = [`### ${STEP_ICON[result.status].split(' ')[0]} ${escapeInline(result.title, 80)}`];
  if (result.checks.length > 0) {
    const rows = result.checks.map((c) => [escapeCell(c.name, 100), CHECK_ICON[c.status], escapeCell(c.reason)]);
    parts.push(table(['Check', 'Result', 'Reason'], rows));
  }
  if (extra !== '') parts.push(extra);
  return parts.join('\n\n');
}

function decisions(r: Report): string {
  const lines = r.decisions.map((d) => {
    const time = d.at.length >= 19 ? d.at.slice(11, 19) : d.at;
    const step = d.step ? ` ${codeSpan(d.step)}` : '';
    return `- ${codeSpan(time)}${step} ${escapeInline(d.decision, 500)}`;
  });
  const report = r.outputs.report ? `\n\nFull report: ${codeSpan(r.outputs.report, 400)}` : '';
  if (lines.length === 0) return report.trim();
  return `<details><summary>Decisions (${lines.length})</summary>\n\n${lines.join('\n')}\n\n</details>${report}`;
}

/** Durations as people read them: whole seconds from 10 s, tenths below, milliseconds under 1 s. */
function roundDuration(ms: number): number {
  if (ms >= 10_000) return Math.round(ms / 1000) * 1000;
  if (ms >= 1000) return Math.round(ms / 100) * 100;
  return Math.round(ms);
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
