/**
 * The action's main entry (dist/index.js): runs `run()` and nothing else. One top-level handler
 * fails the step with a message a user can act on, for errors thrown and for promises nobody awaited.
 */
import { failUnexpected, run } from './main.js';

process.on('unhandledRejection', failUnexpected);

run()
  .catch(failUnexpected)
  .finally(() => {
    // The work is done and every file written; a provider's keep-alive socket must not hold the job.
    setTimeout(() => process.exit(), 5_000).unref();
  });
