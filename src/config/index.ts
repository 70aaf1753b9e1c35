/**
 * Inputs → one typed, validated `Config` (src/config/types.ts). The only module that reads inputs and
 * `process.env`. Parsers are exported one by one so steps and surfaces reuse them.
 */
export { parseConfig } from './parse.js';
export { InputError, describeValue, type InputProblem } from './errors.js';
export { redact } from '../text.js';
export {
  fromActions,
  fromEnv,
  inputEnvName,
  trimAscii,
  SECRET_INPUTS,
  SECRET_ENV,
  type InputSource,
} from './source.js';
export { registerSecrets, secretForms, MIN_FRAGMENT } from './secrets.js';
export { parseDuration, formatDuration, MAX_DURATION_MS, DURATION_ACCEPTS } from './duration.js';
export { parseList, parseLines, formatList } from './list.js';
export { parseBoolean, parseInteger, parseNumber, parseRatio, parseEnum, parseUrl, type Bounds } from './scalars.js';
export { parseGlobs, splitGlobList, validateGlob } from './globs.js';
export { parseTrafficSteps, parseCloudflarePools } from './traffic.js';
export { parseBenchmarkThresholds } from './benchmarks.js';
export { parseSmokeTests, defaultSmokeChecks, isJsonPointer, type SmokeSource } from './smoke.js';
export {
  parseSeverities,
  parseDatadogSite,
  parseBackupPrefix,
  parseRollbackTo,
  parseBranchName,
  parseEnvironmentName,
  SEVERITIES,
} from './values.js';
export { branchFromContext, checkTrustedTrigger, readEventPayload, readWorkflowRun } from './workflow-run.js';
export { INPUT_NAMES, SEED_ENV, SELECTORS, ENDPOINTS, MODES, STRATEGIES, type InputName } from './fields.js';
export type * from './types.js';
