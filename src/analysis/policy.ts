/** The analysis policy of a run, read from its Config. */
import type { Config } from '../config/types.js';
import { DEFAULT_CONSECUTIVE_ERROR_LIMIT, type AnalysisPolicy } from './types.js';

/** Thresholds and tolerances from `validation` (the consecutive-error limit is Argo's default, 4). */
export function policyFromConfig(config: Pick<Config, 'validation'>): AnalysisPolicy {
  const v = config.validation;
  return {
    errorRateThreshold: v.errorRateThreshold,
    latencyThresholdMs: v.performanceThresholdMs,
    failureLimit: v.failureLimit,
    consecutiveErrorLimit: DEFAULT_CONSECUTIVE_ERROR_LIMIT,
    noData: v.noData,
    comparisonMargin: v.comparisonMargin,
    relativeMargin: v.relativeMargin,
    minRequests: v.minRequests,
    insufficientData: v.insufficientData,
  };
}
