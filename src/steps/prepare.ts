/**
 * Step 2 — environment preparation: the database backup, configuration files, the production
 * environment variables on Vercel, service dependencies, and the capacity/incident gate, all at
 * once, each a row with its reason. Any blocking row fails the step; the runner's policy then stops
 * the run with nothing deployed.
 *
 * In `mode: plan` the step is read-only: no backup is taken (the newest existing one is reported,
 * and what `deploy` would upload where), everything else is checked as in a deploy.
 */
import type { RunContext, RunStep } from '../pipeline/context.js';
import { STEP_TITLES } from '../pipeline/modes.js';
import type { BackupRecord, CheckResult, StepOutcome } from '../pipeline/types.js';
import { BACKUP_CHECK, evaluateBackupAge, takeBackup } from './prepare/backup.js';
import { checkConfigFiles } from './prepare/config-files.js';
import { evaluateDependencies, probeDependency } from './prepare/deps.js';
import { evaluateRequiredEnv } from './prepare/env.js';
import { deploymentGateCheck } from './prepare/gate.js';
import { evaluateMonitors } from './prepare/monitors.js';
import { attempt, isBlocking, lookupFailed } from './checks.js';

/** The backup row: take one (deploy), or look at the newest (plan, backup-max-age). */
async function backupCheck(ctx: RunContext, readOnly: boolean): Promise<{ check: CheckResult; record?: BackupRecord }> {
  const { config, signal, log } = ctx;
  const b = config.prepare.backup;
  const store = ctx.providers.backup;
  if (!b) return { check: { name: BACKUP_CHECK, status: 'skipped', reason: 'no backup-command or backup-max-age' } };
  if (!store)
    return { check: { name: BACKUP_CHECK, status: 'not-checked', reason: 'the backup store is not configured' } };
  if (!b.command && b.maxAgeMs === undefined) {
    return {
      check: {
        name: BACKUP_CHECK,
        status: 'skipped',
        reason: 'backup-bucket is set without backup-command or backup-max-age',
      },
    };
  }
  if (b.command && !readOnly) {
    return takeBackup(store, {
      command: b.command,
      backup: b,
      sha: config.run.sha,
      runId: config.run.runId,
      runAttempt: config.run.runAttempt,
      signal,
      secrets: config.secrets,
      log,
      // Saved before the upload starts, cleared once verified: the post step removes what is left.
      track: (inFlight) => ctx.update({ backupInFlight: inFlight }),
    });
  }
  const newest = await attempt(() => store.newest({ bucket: b.bucket, prefix: b.prefix }), signal);
  const check = evaluateBackupAge(newest, b, b.command ? undefined : b.maxAgeMs, Date.now());
  if (b.command) {
    // Plan: say what deploy would do, and what exists now.
    check.reason = `deploy would stream backup-command to s3://${b.bucket}/${b.prefix}…; ${check.reason}`;
  }
  return { check };
}

/** The production variable names of the project (never values). */
async function envCheck(ctx: RunContext): Promise<CheckResult> {
  const { config } = ctx;
  const required = config.prepare.requiredEnv;
  const vercel = ctx.providers.vercel;
  if (required.length > 0 && !vercel) return evaluateRequiredEnv(required, lookupFailed('vercel-token is not set'));
  if (required.length === 0 || !vercel) return evaluateRequiredEnv([], lookupFailed('not needed'));
  const vars = await attempt(() => vercel.listProjectEnv(config.vercel.projectId, 'production'), ctx.signal);
  return evaluateRequiredEnv(required, vars);
}

async function depsCheck(ctx: RunContext): Promise<CheckResult> {
  const { config, signal } = ctx;
  const timeout = config.vercel.healthCheckTimeoutMs;
  const results = await Promise.all(config.prepare.dependencyUrls.map((u) => probeDependency(u, timeout, signal)));
  return evaluateDependencies(results, timeout);
}

async function monitorsCheck(ctx: RunContext): Promise<CheckResult> {
  const tags = ctx.config.prepare.datadogMonitorTags;
  const dd = ctx.providers.datadog;
  if (tags.length === 0 || !dd) return evaluateMonitors(tags, undefined);
  const monitors = await attempt(() => dd.listMonitors({ monitorTags: tags }), ctx.signal);
  return evaluateMonitors(tags, monitors);
}

/** The step's one-line reason. */
export function prepareReason(checks: readonly CheckResult[], readOnly: boolean): string {
  const blocking = checks.filter(isBlocking);
  if (blocking.length > 0) {
    return `not ready: ${blocking.map((c) => `${c.name} ${c.status === 'fail' ? 'failed' : 'not checked'} (${c.reason})`).join('; ')}`;
  }
  const count = (s: CheckResult['status']) => checks.filter((c) => c.status === s).length;
  const extra = [count('warn') && `${count('warn')} warned`, count('skipped') && `${count('skipped')} skipped`].filter(
    Boolean,
  );
  const tail = extra.length ? ` (${extra.join(', ')})` : '';
  return `${readOnly ? 'read-only checks' : 'ready'}: ${count('pass')} of ${checks.length} passed${tail}`;
}

/** Runs every preparation check (concurrently) and returns the rows in a fixed order. */
export async function runPrepareChecks(ctx: RunContext, readOnly: boolean) {
  const [backup, configFiles, env, deps, monitors, gate] = await Promise.all([
    backupCheck(ctx, readOnly),
    checkConfigFiles(ctx.config.prepare.configFiles, process.cwd()),
    envCheck(ctx),
    depsCheck(ctx),
    monitorsCheck(ctx),
    // A row only when deployment-gate is set.
    deploymentGateCheck(ctx.config, ctx.providers.datadog, ctx.signal),
  ]);
  const checks = [backup.check, configFiles, env, deps, monitors, ...(gate ? [gate] : [])];
  return { checks, record: backup.record };
}

async function run(ctx: RunContext): Promise<StepOutcome> {
  const readOnly = ctx.config.mode === 'plan';
  const { checks, record } = await runPrepareChecks(ctx, readOnly);
  const details: Record<string, unknown> = { readOnly };
  if (record) {
    // Recorded even when another check fails: the backup exists and its key is worth knowing.
    ctx.update({ backup: record });
    details.backup = record;
  }
  const reason = prepareReason(checks, readOnly);
  if (checks.some(isBlocking)) return { status: 'failed', reason, checks, details };
  ctx.update({ phase: 'prepared' });
  const warned = checks.some((c) => c.status === 'warn' || c.status === 'not-checked');
  return { status: warned ? 'warned' : 'passed', reason, checks, details };
}

/** Step 2: environment preparation (read-only in `mode: plan`). */
export const prepareStep: RunStep = {
  name: 'prepare',
  title: STEP_TITLES.prepare,
  run,
};
