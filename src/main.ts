/**
 * `run()`: inputs → config → steps → providers → the pipeline → report, outputs, summary, verdict.
 * Importing this file runs nothing (src/index.ts runs it), so tests and local tools can call it.
 */
import * as core from '@actions/core';
import { fromActions, InputError, parseConfig } from './config/index.js';
import type { Config } from './config/types.js';
import { createLogger } from './log.js';
import { createRunContext } from './pipeline/context.js';
import { closingSignal, finishRun } from './pipeline/close-run.js';
import { commentsSettled } from './surfaces/pr-comment.js';
import { buildReport, reportPath, setOutputs, writeReport } from './pipeline/report.js';
import { runPipeline, type PipelineResult } from './pipeline/runner.js';
import { RunStateStore, saveRunState } from './pipeline/state-store.js';
import type { Logger, Report, RunState } from './pipeline/types.js';
import { failureMessage } from './pipeline/verdict.js';
import { createProviders, SafeNotifier, type Providers } from './providers/index.js';
import { restoreFor, stepsFor } from './steps/index.js';
import { escapeInline } from './surfaces/markdown.js';
import { createSlackNotifier } from './surfaces/slack-message.js';
import { writeSummary } from './surfaces/summary.js';
import { createRedactor, errorMessage } from './text.js';

/** The secrets of the current run, for the top-level error handler (src/index.ts). */
let runSecrets: readonly string[] = [];

/** Runs the action's main step. Fails the step (non-zero exit) on no-go, failed and rolled-back. */
export async function run(): Promise<void> {
  const startedAt = new Date().toISOString();
  let config: Config;
  try {
    // Reads every input, registers every secret with core.setSecret, validates: no network yet.
    config = parseConfig(fromActions());
  } catch (err) {
    if (err instanceof InputError) return failOnInputs(err);
    throw err;
  }
  runSecrets = config.secrets;
  const log = createLogger(config.secrets);
  // Valid but probably unintended input combinations (e.g. a bucket without a backup command).
  for (const warning of config.warnings ?? []) log.warning(warning);
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) return;
    log.warning(`Received ${signal}: stopping after the current step; the post step restores blue if traffic moved.`);
    controller.abort(new Error(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const store = new RunStateStore(
      { phase: 'started', mode: config.mode, environment: config.environment, sha: config.run.sha },
      (state) => saveRunState(state, config.secrets),
    );
    let result: PipelineResult;
    try {
      result = await execute(config, store, log, controller.signal);
    } catch (err) {
      // A bug, not a step failure (those never throw out of the runner): still report what is known.
      result = stopped(store, `production-deploy stopped on an unexpected error: ${errorMessage(err)}`);
    }
    await publish(config, result, store.state, startedAt, log);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The top-level handler for anything thrown out of `run()` or never awaited: fail, redacted. */
export function failUnexpected(err: unknown): void {
  const message =
    `production-deploy stopped on an unexpected error: ${errorMessage(err)}. ` +
    'If traffic had moved, the post step restores blue from the saved state. Please report this with the log.';
  core.setFailed(createRedactor(runSecrets)(message));
}

async function execute(
  config: Config,
  store: RunStateStore,
  log: Logger,
  signal: AbortSignal,
): Promise<PipelineResult> {
  let providers: Providers;
  try {
    providers = await createProviders(config, log, signal);
  } catch (err) {
    return stopped(store, `could not set up the services: ${errorMessage(err)}; nothing was changed`);
  }
  // One Slack message per run: posted now, edited at every step boundary (queued, never awaited by
  // the pipeline, so Slack cannot delay a rollback), finished with the verdict below.
  const slack = createSlackNotifier(
    config,
    providers.slack ? new SafeNotifier(providers.slack, (m) => log.warning(m), { deadlineMs: 8_000 }) : undefined,
    log,
  );
  slack?.start(store.state);
  // Made before the run: after SIGINT it still allows the records a few seconds to be closed.
  const closing = closingSignal(signal);
  const result = await runPipeline({
    steps: stepsFor(config.mode),
    // The run's one context: the providers above, the traffic manager and the analysis of this run.
    ctx: createRunContext({ config, log, signal, store, providers }),
    restore: restoreFor({ config, providers, log }),
    onStepDone: (_result, results) => {
      // Each step (and the restore, restoreFor) waits out rate limits on a budget of its own.
      providers.rateLimits?.startStep();
      return slack?.stepDone(store.state, results);
    },
    group: (title, fn) => core.group(title, fn),
  });
  // Records the steps could not close (a rollback or failure never reaches cleanup), then Slack.
  // With providers of their own: after SIGINT the run's are bound to an aborted signal and would
  // fail at once, leaving the record open (it would hold the environment's lock until stale).
  const final = { status: result.status, reason: result.reason, cancelled: result.cancelled };
  // The PR comment's reports and a status the run's client still holds (steps that pass do not wait
  // for them) land before the closers write; bounded by the closing's deadline.
  await untilSettledOr(
    commentsSettled(providers.github).then(() => providers.github.writesSettled()),
    closing,
  );
  let closers: Providers = providers;
  try {
    closers = createProviders(config, log, closing);
  } catch (err) {
    log.warning(`Could not set up providers of its own to close the run (${errorMessage(err)}); using the run's`);
  }
  await finishRun({ config, providers: closers, state: store.state, final, log, signal: closing });
  slack?.finish(store.state, result.results, final);
  await slack?.flush(10_000);
  return result;
}

/** Waits for `settled`, or until `deadline` aborts, whichever comes first. */
function untilSettledOr(settled: Promise<void>, deadline: AbortSignal): Promise<void> {
  if (deadline.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      deadline.removeEventListener('abort', done);
      resolve();
    };
    deadline.addEventListener('abort', done, { once: true });
    settled.then(done, done);
  });
}

/** A run that ends before (or outside) the pipeline: failed, with the phase moved to `failed` when allowed. */
function stopped(store: RunStateStore, reason: string): PipelineResult {
  const decisions: PipelineResult['decisions'] = [];
  try {
    if (store.state.phase === 'started') store.update({ phase: 'failed' });
  } catch (err) {
    decisions.push({ at: new Date().toISOString(), decision: `could not save the run state: ${errorMessage(err)}` });
  }
  decisions.push({ at: new Date().toISOString(), decision: `run ends failed: ${reason}` });
  return { status: 'failed', reason, results: [], decisions, cancelled: false };
}

/**
 * Report JSON, outputs, summary, verdict — each attempted even if an earlier one failed, since a
 * user reading a failed run needs whichever of them could be written.
 */
async function publish(config: Config, result: PipelineResult, state: RunState, startedAt: string, log: Logger) {
  const path = reportPath(config);
  const report: Report = buildReport({ config, result, state, startedAt, finishedAt: new Date().toISOString(), path });
  const problems: string[] = [];
  try {
    writeReport(report, path);
  } catch (err) {
    problems.push(`the report could not be written to ${path}: ${errorMessage(err)}`);
    report.outputs.report = '';
  }
  try {
    setOutputs(report);
  } catch (err) {
    problems.push(`the outputs could not be set: ${errorMessage(err)}`);
  }
  await writeSummary(report, log);
  const redact = createRedactor(config.secrets);
  const verdict = failureMessage(report, result.restoreFailed && redact(result.restoreFailed));
  if (verdict) {
    core.setFailed(redact(verdict));
  } else if (problems.length > 0) {
    core.setFailed(redact(`The ${config.mode} finished (${report.status}), but ${problems.join('; ')}.`));
  } else {
    log.info(`production-deploy: ${report.status}: ${report.reason}`);
  }
  for (const problem of problems) log.error(problem);
}

/** Invalid inputs: one message naming each bad input and what it accepts; nothing contacted. */
async function failOnInputs(err: InputError): Promise<void> {
  core.setFailed(err.message);
  try {
    core.setOutput('status', 'failed');
  } catch {
    // No output file: the failure message above is what matters.
  }
  const lines = err.message.split('\n').map((line) => `> ${escapeInline(line, 1000)}`);
  try {
    await core.summary
      .addRaw(`## ❌ Invalid inputs\n\n${lines.join('\n')}\n\nNothing was contacted or changed.\n`, true)
      .write();
  } catch {
    core.summary.emptyBuffer();
  }
}
