/**
 * The run's one JSON report (types.ts `Report`): built from the pipeline's result, written under
 * RUNNER_TEMP, and the source of every output and of the job summary. Everything written is
 * redacted of `config.secrets` first.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as core from '@actions/core';
import type { Config } from '../config/types.js';
import type { PipelineResult } from './runner.js';
import type { Report, RunState } from './types.js';
import { redactDeep } from '../text.js';

/** Every output of action.yml (README.md, "Outputs"), in its order. */
export const OUTPUT_NAMES = [
  'status',
  'go',
  'deployment-id',
  'deployment-url',
  'previous-deployment-id',
  'production-url',
  'github-deployment-id',
  'backup-key',
  'backup-sha256',
  'rolled-back',
  'report',
] as const;

export type OutputName = (typeof OUTPUT_NAMES)[number];

/** `$RUNNER_TEMP/production-deploy-<environment>-<runId>-<attempt>.json` (environment made file-safe). */
export function reportPath(config: Config): string {
  const env = config.environment.replace(/[^A-Za-z0-9._-]+/g, '_');
  const runId = config.run.runId.replace(/[^A-Za-z0-9._-]+/g, '_') || 'local';
  return join(config.run.runnerTemp, `production-deploy-${env}-${runId}-${config.run.runAttempt}.json`);
}

/** The Report of a finished run, redacted of every secret, with its outputs filled in. */
export function buildReport(input: {
  config: Config;
  result: PipelineResult;
  state: RunState;
  startedAt: string;
  finishedAt: string;
  path: string;
}): Report {
  const { config, result, state } = input;
  const report: Report = {
    version: 1,
    action: 'production-deploy',
    mode: config.mode,
    strategy: config.strategy,
    environment: config.environment,
    status: result.status,
    ...(result.go === undefined ? {} : { go: result.go }),
    reason: result.reason,
    startedAt: input.startedAt,
    finishedAt: input.finishedAt,
    repository: `${config.run.owner}/${config.run.repo}`,
    sha: config.run.sha,
    runUrl: config.run.runUrl,
    ...(config.productionUrl ? { productionUrl: config.productionUrl } : {}),
    steps: result.results,
    decisions: result.decisions,
    state,
    outputs: {},
  };
  report.outputs = reportOutputs(report, input.path);
  return redactDeep(report, config.secrets);
}

/**
 * The action's outputs (README.md, "Outputs") from a report; every one is set (empty when unknown), so that a
 * workflow can test any of them without guarding for its absence. `rolled-back` is true when
 * traffic went back to blue (and for a `mode: rollback` run that succeeded).
 */
export function reportOutputs(report: Report, path: string): Record<OutputName, string> {
  const s = report.state;
  const rolledBack =
    report.status === 'rolled-back' ||
    s.restored === true ||
    (report.mode === 'rollback' && report.status === 'success');
  return {
    status: report.status,
    go: report.go === undefined ? '' : String(report.go),
    'deployment-id': s.green?.id ?? '',
    'deployment-url': s.green?.url ?? '',
    'previous-deployment-id': s.blue?.id ?? '',
    'production-url': report.productionUrl ?? '',
    'github-deployment-id': s.githubDeploymentId === undefined ? '' : String(s.githubDeploymentId),
    'backup-key': s.backup?.key ?? '',
    'backup-sha256': s.backup?.sha256 ?? '',
    'rolled-back': String(rolledBack),
    report: path,
  };
}

/** Writes the report as JSON (readable by the job's user only). Returns the path. */
export function writeReport(report: Report, path: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`, { encoding: 'utf8', mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/** Sets every output from the (already redacted) report. */
export function setOutputs(report: Report): void {
  for (const name of OUTPUT_NAMES) core.setOutput(name, report.outputs[name] ?? '');
}
