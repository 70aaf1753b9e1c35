import { describe, expect, it } from 'vitest';
import { buildReport, reportPath } from '../../../src/pipeline/report.ts';
import { runPipeline } from '../../../src/pipeline/runner.ts';
import type { Report } from '../../../src/pipeline/types.ts';
import { renderSummaryMarkdown } from '../../../src/surfaces/summary.ts';
import { deploySteps, harness, SECRET, testConfig } from '../pipeline/fixtures.ts';

async function report(override: Parameters<typeof deploySteps>[0] = {}, take = 7): Promise<Report> {
  const config = testConfig('deploy');
  const h = harness(config);
  const result = await runPipeline({
    steps: deploySteps(override).slice(0, take),
    ctx: h.ctx,
    restore: async () => {},
  });
  const at = '2025-01-01T00:00:00.000Z';
  return buildReport({ config, result, state: h.store.state, startedAt: at, finishedAt: at, path: reportPath(config) });
}

/** The rows of the steps table: [step, status, duration, reason]. */
function stepRows(md: string): string[][] {
  const section = md.split('### Steps')[1]!.split('\n\n')[1]!;
  return section
    .split('\n')
    .slice(2)
    .map((line) =>
      line
        .slice(2, -2)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim()),
    );
}

describe('renderSummaryMarkdown', () => {
  it('puts the verdict first, then the seven steps in order with status, duration and reason', async () => {
    const md = renderSummaryMarkdown(await report());
    expect(md.startsWith('## ✅ Success: Deploy to production\n\n**dpl\\_green is live in production**')).toBe(true);
    const rows = stepRows(md);
    expect(rows.map((r) => r[0])).toEqual([
      'step preflight',
      'step prepare',
      'step deploy',
      'step smoke',
      'step traffic',
      'step validate',
      'step cleanup',
    ]);
    expect(rows.every((r) => r[1] === '✅ passed' && /^\d+ms$|s$/.test(r[2]!))).toBe(true);
    expect(rows[0]![3]).toBe('all checks passed');
    expect(md.indexOf('## ')).toBeLessThan(md.indexOf('### Steps'));
  });

  it('shows steps that never ran as "not run", and the verdict of a rollback', async () => {
    const md = renderSummaryMarkdown(
      await report({ validate: async () => ({ status: 'failed', reason: 'error rate 0.05 > 0.01' }) }),
    );
    expect(md.startsWith('## ↩️ Rolled back: Deploy to production')).toBe(true);
    const rows = stepRows(md);
    expect(rows[5]).toEqual(['step validate', '❌ failed', expect.any(String), 'error rate 0.05 &gt; 0.01']);
    expect(rows[6]).toEqual(['Cleanup and notification', '⚪ not run', '—', '—']);
    expect(md).toContain('<details><summary>Decisions');
    expect(md).toContain('restore finished');
  });

  it("lists the mode's steps even when the run stopped before any (e.g. no steps in this build)", async () => {
    const md = renderSummaryMarkdown(await report({}, 0));
    const rows = stepRows(md);
    expect(rows).toHaveLength(7);
    expect(rows.every((r) => r[1] === '⚪ not run')).toBe(true);
    expect(md.startsWith('## ❌ Failed')).toBe(true);
  });

  it("renders each step's checks and its own Markdown section in the details", async () => {
    const chart = '```mermaid\nxychart-beta\n  line [1, 2, 3]\n```';
    const md = renderSummaryMarkdown(
      await report({
        preflight: async (c) => {
          c.update({ phase: 'preflight-passed' });
          return {
            status: 'passed',
            reason: 'ok',
            checks: [
              { name: 'branch', status: 'pass', reason: 'main is allowed' },
              { name: 'alerts', status: 'not-checked', reason: '403: needs security-events: read' },
            ],
          };
        },
        validate: async (c) => (c.update({ phase: 'validated' }), { status: 'passed', reason: 'ok', markdown: chart }),
      }),
    );
    expect(md).toContain('### ✅ step preflight\n\n| Check | Result | Reason |');
    expect(md).toContain('| alerts | ❔ not checked | 403: needs security-events: read |');
    expect(md).toContain(`### ✅ step validate\n\n${chart}`);
  });

  it('escapes remote text so it can neither break the table nor inject HTML or links', async () => {
    const evil = 'a|b\n## heading <img src=x onerror=alert(1)> [click](https://evil) `code` *bold*';
    const md = renderSummaryMarkdown(
      await report({
        smoke: async () => ({
          status: 'failed',
          reason: evil,
          checks: [{ name: evil, status: 'fail', reason: evil }],
        }),
      }),
    );
    expect(md).not.toContain('<img');
    expect(md).not.toContain('](https://evil)');
    expect(md).not.toContain('\n## heading');
    const rows = stepRows(md);
    expect(rows.every((r) => r.length === 4)).toBe(true);
    expect(rows[3]![3]).toContain('a\\|b \\#\\# heading &lt;img');
  });

  it('contains no secret', async () => {
    const md = renderSummaryMarkdown(
      await report({ smoke: async () => ({ status: 'failed', reason: `echoed ${SECRET}` }) }),
    );
    expect(md).not.toContain(SECRET);
  });
});
