/**
 * The action's post entry (dist/post.js; action.yml `post`, which runs even when the job failed or
 * was cancelled). If the main step stopped while production was mid-switch, it restores blue from
 * the saved RunState (src/pipeline/post-step.ts); otherwise it closes what the main step left open
 * (the GitHub deployment record, an upload that never became a verified backup), or says why there
 * is nothing to do.
 */
import * as core from '@actions/core';
import { fromActions, parseConfig } from './config/index.js';
import { createLogger } from './log.js';
import { tidyAfterRun } from './pipeline/close-run.js';
import { createRunServices } from './pipeline/context.js';
import { runPost } from './pipeline/post-step.js';
import { createProviders } from './providers/index.js';
import { reconcile } from './steps/index.js';
import { loadRunState, saveRunState } from './pipeline/state-store.js';
import { createRedactor, errorMessage } from './text.js';

const controller = new AbortController();
const onSignal = (signal: NodeJS.Signals): void => controller.abort(new Error(signal));
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

/** The secrets of the run once its config is read, so the last-resort message is redacted too. */
let knownSecrets: readonly string[] = [];

const failUnexpected = (err: unknown): void => {
  const message =
    `production-deploy post stopped on an unexpected error: ${errorMessage(err)}. ` +
    'Check which deployment serves production; re-run with mode: rollback if it is not the intended one.';
  core.setFailed(createRedactor(knownSecrets)(message));
};
process.on('unhandledRejection', failUnexpected);

runPost({
  loadState: loadRunState,
  saveState: saveRunState,
  loadConfig: () => parseConfig(fromActions()),
  createServices: (config, log, signal) => {
    const providers = createProviders(config, log, signal);
    // The post step restores (or closes records): rate limits are waited out up to its own deadline.
    providers.rateLimits?.startRestore(config.validation.rollbackTimeoutMs);
    return createRunServices(config, providers, log, signal);
  },
  reconcile,
  tidy: tidyAfterRun,
  logger: (secrets) => {
    if (secrets.length > 0) knownSecrets = secrets;
    return createLogger(secrets);
  },
  signal: controller.signal,
  fail: (message) => core.setFailed(message),
  appendSummary: async (markdown) => {
    await core.summary.addRaw(markdown, true).write();
  },
})
  .catch(failUnexpected)
  .finally(() => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    setTimeout(() => process.exit(), 5_000).unref();
  });
