/**
 * Prepare check: every `required-env` name exists in the Vercel project for the production target.
 * Pure: the project's variables (names and targets only, never values) come in as data.
 */
import type { CheckResult } from '../../pipeline/types.js';
import type { Lookup } from '../checks.js';

export const ENV_CHECK = 'Environment variables';

/** The required-env check over the production variables of the project. */
export function evaluateRequiredEnv(
  required: readonly string[],
  production: Lookup<readonly { key: string }[]>,
): CheckResult {
  const name = ENV_CHECK;
  if (required.length === 0) return { name, status: 'skipped', reason: 'no required-env' };
  if (!production.ok) {
    const hint =
      production.status === 403 || production.status === 401
        ? " (the vercel-token may not read the project's environment variables)"
        : '';
    return {
      name,
      status: 'not-checked',
      reason: `could not list the Vercel project's environment variables${production.status ? ` (HTTP ${production.status})` : ''}: ${production.error}${hint}`,
    };
  }
  const present = new Set(production.value.map((v) => v.key));
  const missing = required.filter((k) => !present.has(k));
  const details = { required: [...required], missing };
  if (missing.length > 0) {
    return {
      name,
      status: 'fail',
      reason: `missing from the Vercel project for production: ${missing.join(', ')} (${missing.length} of ${required.length} required)`,
      details,
    };
  }
  const which =
    required.length === 1 ? 'the required variable exists' : `all ${required.length} required variables exist`;
  return { name, status: 'pass', reason: `${which} for production (${required.join(', ')})`, details };
}
