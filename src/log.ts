/**
 * The Logger of src/pipeline/types.ts over @actions/core. Every message is redacted of the run's
 * secrets (the runner masks registered secrets too; this is defence in depth), and text that came
 * from outside is printed between `::stop-commands::<token>` and `::<token>::` so that a line in a
 * build log or a commit message can never act as a workflow command.
 */
import { randomBytes } from 'node:crypto';
import * as core from '@actions/core';
import type { Logger } from './pipeline/types.js';
import { createRedactor } from './text.js';

/** What the logger writes to; @actions/core by default, a recorder in tests. */
export interface LogSink {
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  debug(message: string): void;
}

/** A fresh, unguessable stop-commands token (128 bits), one per untrusted block. */
export function stopToken(): string {
  return randomBytes(16).toString('hex');
}

/** Creates the run's logger; `secrets` are removed from every message. */
export function createLogger(secrets: readonly string[] = [], sink: LogSink = core): Logger {
  const redact = createRedactor(secrets);
  return {
    info: (message) => sink.info(redact(message)),
    warning: (message) => sink.warning(redact(message)),
    error: (message) => sink.error(redact(message)),
    debug: (message) => sink.debug(redact(message)),
    untrusted: (text) => {
      // The token is drawn after the text exists, so the text cannot contain the resume command.
      const token = stopToken();
      sink.info(`::stop-commands::${token}`);
      sink.info(redact(text));
      sink.info(`::${token}::`);
    },
  };
}
