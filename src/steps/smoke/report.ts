/**
 * The smoke report: one table row per check (samples, p50/p95 against the budget, verdict with its
 * reason), rendered as Markdown for the job summary and the PR comment, and as CheckResults for the
 * run's JSON report.
 */
import type { CheckResult } from '../../pipeline/types.js';
import { codeSpan, escapeCell, table } from '../../surfaces/markdown.js';
import type { SmokeResult } from './checks.js';
import { formatMs } from '../../text.js';

/** Markdown for the summary and the PR comment. Names, paths and reasons are escaped. */
export function renderSmokeReport(results: readonly SmokeResult[], target?: string): string {
  if (results.length === 0) return '_No smoke checks ran._';
  const passed = results.filter((r) => r.passed).length;
  const heading = `**Smoke tests: ${passed}/${results.length} checks passed**${target ? ` against ${codeSpan(target)}` : ''}`;
  const rows = results.map((r) => [
    r.passed ? '✅' : '❌',
    escapeCell(r.name),
    codeSpan(`${r.method} ${r.path}`),
    `${r.samples.filter((s) => s.ok).length}/${r.samples.length}`,
    formatMs(r.p50),
    `${formatMs(r.p95)} / ${formatMs(r.budgetMs)}`,
    escapeCell(r.reason),
  ]);
  return `${heading}\n\n${table(['', 'Check', 'Request', 'Samples OK', 'p50', 'p95 / budget', 'Result'], rows)}`;
}

/** The checks of the step's result (the report keeps every sample in `details`). */
export function smokeChecks(results: readonly SmokeResult[]): CheckResult[] {
  return results.map((r) => ({
    name: r.name,
    status: r.passed ? 'pass' : 'fail',
    reason: r.reason,
    details: {
      method: r.method,
      path: r.path,
      p50Ms: round(r.p50),
      p95Ms: round(r.p95),
      budgetMs: r.budgetMs,
      samples: r.samples.map((s) => ({
        ms: round(s.ms),
        status: s.status,
        ok: s.ok,
        ...(s.reason ? { reason: s.reason } : {}),
      })),
    },
  }));
}

function round(ms: number): number {
  return Number.isFinite(ms) ? Math.round(ms * 10) / 10 : ms;
}
