import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedactor, redactDeep, REDACTED } from '../../../src/text.ts';
import { buildReport, OUTPUT_NAMES, reportPath, setOutputs, writeReport } from '../../../src/pipeline/report.ts';
import { runPipeline } from '../../../src/pipeline/runner.ts';
import type { RunState } from '../../../src/pipeline/types.ts';
import { failureMessage } from '../../../src/pipeline/verdict.ts';
import { deploySteps, harness, SECRET, SHA, testConfig } from './fixtures.ts';

async function finishedRun(override: Parameters<typeof deploySteps>[0] = {}) {
  const config = testConfig('deploy', { environment: 'prod eu/1' });
  const h = harness(config);
  const result = await runPipeline({ steps: deploySteps(override), ctx: h.ctx, restore: async () => {} });
  const path = reportPath(config);
  const report = buildReport({
    config,
    result,
    state: h.store.state,
    startedAt: '2025-01-01T00:00:00.000Z',
    finishedAt: '2025-01-01T00:05:00.000Z',
    path,
  });
  return { config, report, path, state: h.store.state };
}

describe('buildReport and outputs', () => {
  it('names the report by environment (file-safe), run id and attempt, under RUNNER_TEMP', () => {
    const config = testConfig('deploy', { environment: 'prod eu/1' });
    expect(reportPath(config)).toBe(join(config.run.runnerTemp, 'production-deploy-prod_eu_1-77-1.json'));
  });

  it('fills every output of action.yml from a successful run', async () => {
    const { report, path } = await finishedRun();
    expect(Object.keys(report.outputs).sort()).toEqual([...OUTPUT_NAMES].sort());
    expect(report.outputs).toMatchObject({
      status: 'success',
      go: 'true',
      'deployment-id': 'dpl_green',
      'deployment-url': 'green.vercel.app',
      'previous-deployment-id': 'dpl_blue',
      'production-url': 'https://shop.example.com',
      'github-deployment-id': '',
      'backup-key': '',
      'rolled-back': 'false',
      report: path,
    });
    expect(report).toMatchObject({
      version: 1,
      action: 'production-deploy',
      mode: 'deploy',
      strategy: 'blue-green',
      repository: 'acme/shop',
      sha: SHA,
    });
    expect(report.steps).toHaveLength(7);
    expect(report.decisions.at(-1)?.decision).toContain('run ends success');
  });

  it('says rolled-back=true and status rolled-back after a validation breach', async () => {
    const { report } = await finishedRun({ validate: async () => ({ status: 'failed', reason: 'breach' }) });
    expect(report.outputs).toMatchObject({ status: 'rolled-back', 'rolled-back': 'true', go: 'true' });
    expect(failureMessage(report)).toMatch(/^Rolled back: .*Production is back on blue \(dpl_blue\)/);
  });

  it('carries backup and GitHub deployment ids into outputs', async () => {
    const { report } = await finishedRun({
      prepare: async (c) => {
        c.update({
          phase: 'prepared',
          githubDeploymentId: 4242,
          backup: { bucket: 'b', key: 'pd/acme/shop/x.dump', sha256: 'ab'.repeat(32), size: 10 },
        });
        return { status: 'passed', reason: 'backed up' };
      },
    });
    expect(report.outputs).toMatchObject({
      'github-deployment-id': '4242',
      'backup-key': 'pd/acme/shop/x.dump',
      'backup-sha256': 'ab'.repeat(32),
    });
  });

  it('redacts every secret from the whole report, including reasons, checks, details and decisions', async () => {
    const { report } = await finishedRun({
      smoke: async () => ({
        status: 'failed',
        reason: `401 with token ${SECRET}`,
        checks: [{ name: `check ${SECRET}`, status: 'fail', reason: SECRET }],
        details: { [SECRET]: [SECRET, { deep: `x${SECRET}y` }] },
      }),
    });
    const json = JSON.stringify(report);
    expect(json).not.toContain(SECRET);
    expect(json).not.toContain(JSON.stringify(SECRET).slice(1, -1));
    expect(report.steps.find((s) => s.name === 'smoke')?.reason).toBe(`401 with token ${REDACTED}`);
  });
});

describe('redaction', () => {
  it('replaces the longest secret first and leaves other text alone', () => {
    const redact = createRedactor(['abc', 'abcdef', '']);
    expect(redact('x abcdef y abc z')).toBe('x *** y *** z');
    expect(createRedactor([])('abc')).toBe('abc');
  });

  it('redacts keys and nested values without changing the input', () => {
    const input = { a: ['s3cr3t', 1, null, true], s3cr3t: { b: 'in s3cr3t' } };
    expect(redactDeep(input, ['s3cr3t'])).toEqual({ a: ['***', 1, null, true], '***': { b: 'in ***' } });
    expect(input.a[0]).toBe('s3cr3t');
  });
});

describe('writeReport and setOutputs', () => {
  const saved = process.env.GITHUB_OUTPUT;
  afterEach(() => {
    if (saved === undefined) delete process.env.GITHUB_OUTPUT;
    else process.env.GITHUB_OUTPUT = saved;
  });

  it('writes the JSON readable by its owner only, and every output in the runner format', async () => {
    const { report, path } = await finishedRun();
    writeReport(report, path);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(report);
    expect(statSync(path).mode & 0o777).toBe(0o600);

    const out = join(mkdtempSync(join(tmpdir(), 'pd-out-')), 'output');
    writeFileSync(out, '');
    process.env.GITHUB_OUTPUT = out;
    setOutputs(report);
    const text = readFileSync(out, 'utf8');
    for (const name of OUTPUT_NAMES) expect(text).toContain(`${name}<<ghadelimiter_`);
    expect(text).toContain(`report<<`);
    expect(text).toContain(path);
  });
});

describe('failureMessage', () => {
  it('says what to do for no-go and failed, nothing for success', async () => {
    const nogo = await finishedRun({ preflight: async () => ({ status: 'failed', reason: '1 approval missing' }) });
    expect(failureMessage(nogo.report)).toContain('No-go for prod eu/1');
    expect(failureMessage(nogo.report)).toContain('Fix the failed pre-flight checks');
    const ok = await finishedRun();
    expect(failureMessage(ok.report)).toBeUndefined();
    const failed = await finishedRun({ smoke: async () => ({ status: 'failed', reason: '500' }) });
    expect(failureMessage(failed.report)).toContain(failed.path);
    const state: RunState = failed.state;
    expect(state.phase).toBe('failed');
  });
});
