/** Secrets removal lives in src/text.ts; kept here for the modules that import it from the pipeline. */
export { createRedactor, REDACTED, redactDeep } from '../text.js';
