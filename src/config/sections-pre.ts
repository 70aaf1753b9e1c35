/** Sections 1–2 of the inputs: pre-flight validation and environment preparation. */
import path from 'node:path';
import type { BackupConfig, Config, WorkflowRun } from './types.js';
import { parseBenchmarkThresholds } from './benchmarks.js';
import { fail } from './errors.js';
import { durationAtLeast, parseBucket, parseRequiredChecks, parseText, parseUrlList } from './fields.js';
import { parseGlobs } from './globs.js';
import { parseList } from './list.js';
import { parseBoolean, parseInteger, parseUrl } from './scalars.js';
import type { Reader } from './source.js';
import { parseBackupPrefix, parseEnvNames, parseRegion, parseSeverities } from './values.js';

/** What every section may need to know about the run. */
export interface SectionContext {
  /** Undefined when `mode` itself is invalid: mode-dependent requirements are then not checked. */
  mode: Config['mode'] | undefined;
  strategy: Config['strategy'];
  environment: string;
  run: WorkflowRun | undefined;
}

/** A path relative to the workspace; only NUL is refused, the step reports a missing file. */
function workspacePath(r: Reader): (raw: string, input: string) => string {
  return (raw, input) => {
    if (raw.includes('\0')) fail(input, raw, 'a file path');
    return path.resolve(r.cwd, raw);
  };
}

/** Section 1: pre-flight validation. */
export function readPreflight(r: Reader): Config['preflight'] {
  const allowedBranches = r.value(
    'allowed-branches',
    (raw, input) => {
      const globs = parseGlobs(raw, input);
      if (globs.length === 0) fail(input, raw, 'at least one branch name or glob pattern (e.g. main, hotfix/*)');
      return globs;
    },
    ['main'],
  );
  const preflight: Config['preflight'] = {
    allowedBranches,
    requireBranchProtection: r.value('require-branch-protection', (raw, i) => parseBoolean(raw, i, true), true),
    requiredApprovals: r.value('required-approvals', (raw, i) => parseInteger(raw, i, { min: 0, max: 10 }), 1),
    requiredChecks: r.value('required-checks', parseRequiredChecks, 'all'),
    checksTimeoutMs: r.value('checks-timeout', durationAtLeast(0), 600_000),
    securityBlockSeverities: r.value('security-block-severity', parseSeverities, ['critical', 'high']),
    benchmarkThresholds: [],
  };
  const results = r.optional('benchmark-results', workspacePath(r));
  if (results !== undefined) preflight.benchmarkResults = results;
  preflight.benchmarkThresholds = r.value('benchmark-thresholds', parseBenchmarkThresholds, []);
  if (preflight.benchmarkThresholds.length > 0 && results === undefined) {
    r.require('benchmark-results', 'the path of a benchmark results JSON file; required with benchmark-thresholds');
  }
  return preflight;
}

/** Section 2: environment preparation (backup, required env, config files, dependencies, monitors). */
export function readPrepare(r: Reader, ctx: SectionContext): Config['prepare'] {
  const command = r.optional('backup-command', parseText('a shell command whose stdout is the backup'));
  const bucket = r.optional('backup-bucket', parseBucket);
  const vars = { owner: ctx.run?.owner ?? '', repo: ctx.run?.repo ?? '', environment: ctx.environment };
  const defaultPrefix = `production-deploy/${vars.owner}/${vars.repo}/${vars.environment}/`;
  const prefix = r.value('backup-prefix', (raw, i) => parseBackupPrefix(raw, vars, i), defaultPrefix);
  const endpoint = r.optional('backup-endpoint', parseUrl, 'AWS_ENDPOINT_URL_S3');
  const region = r.value('aws-region', parseRegion, 'us-east-1', 'AWS_REGION');
  const maxAgeMs = r.optional('backup-max-age', durationAtLeast(1));

  let backup: BackupConfig | undefined;
  const wanted = r.has('backup-command') || r.has('backup-max-age');
  if (wanted && !r.has('backup-bucket')) {
    r.require('backup-bucket', 'an S3 bucket name; required with backup-command or backup-max-age');
  } else if (!wanted && bucket !== undefined) {
    r.warnings.push(
      'backup-bucket is set but neither backup-command nor backup-max-age: no backup is taken or checked.',
    );
  } else if (bucket !== undefined) {
    backup = { bucket, prefix, region };
    if (command !== undefined) backup.command = command;
    if (endpoint !== undefined) backup.endpoint = endpoint;
    // A fresh backup on every deploy makes an age check on older ones moot: the command wins.
    if (command !== undefined && maxAgeMs !== undefined) {
      r.warnings.push('backup-max-age is ignored: backup-command takes a fresh backup on every deploy.');
    } else if (maxAgeMs !== undefined) {
      backup.maxAgeMs = maxAgeMs;
    }
  }

  return {
    ...(backup ? { backup } : {}),
    requiredEnv: r.value('required-env', parseEnvNames, []),
    configFiles: r.value('config-files', parseGlobs, []),
    dependencyUrls: r.value('dependency-urls', parseUrlList, []),
    datadogMonitorTags: r.value(
      'datadog-monitor-tags',
      (raw, input) =>
        parseList(raw).map((tag) => {
          if (/\s/.test(tag)) fail(input, tag, 'Datadog tags such as service:web or team:payments (no spaces)');
          return tag;
        }),
      [],
    ),
  };
}
