/**
 * Post-deployment analysis, pure: judge samples, fold them into a decision, format the messages.
 * The sampling loop that feeds it lives in src/steps/validate/.
 */
export * from './types.js';
export * from './format.js';
export { judgeSample } from './judge.js';
export { createAnalysis, needsEvidence, needsMoreSamples, observe, recordSample, summarize } from './analysis.js';
export type { AnalysisVerdict } from './analysis.js';
export { policyFromConfig } from './policy.js';
export * from './compare.js';
export * from './decide.js';
