/**
 * Prepare check: capacity and incidents. No Datadog monitor with `datadog-monitor-tags` may be in
 * `Alert`. Pure: the monitors come in as data.
 */
import type { CheckResult } from '../../pipeline/types.js';
import type { Lookup } from '../checks.js';

export const MONITOR_CHECK = 'Capacity and incidents';

export interface MonitorInfo {
  id: number | string;
  name: string;
  /** Alert, Warn, No Data, OK, Ignored, Skipped, Unknown */
  overallState: string;
}

/**
 * The monitor gate. `monitors` is undefined when Datadog is not configured. A tag list that matches
 * no monitor at all is a warning: most likely a typo, and then the gate guards nothing.
 */
export function evaluateMonitors(
  tags: readonly string[],
  monitors: Lookup<readonly MonitorInfo[]> | undefined,
): CheckResult {
  const name = MONITOR_CHECK;
  if (tags.length === 0) return { name, status: 'skipped', reason: 'no datadog-monitor-tags' };
  const scope = tags.join(', ');
  if (!monitors) {
    return {
      name,
      status: 'not-checked',
      reason: 'datadog-monitor-tags is set but Datadog is not configured (datadog-api-key, datadog-app-key)',
    };
  }
  if (!monitors.ok) {
    const hint = monitors.status === 403 ? ' (the application key needs the monitors_read scope)' : '';
    return {
      name,
      status: 'not-checked',
      reason: `could not list the Datadog monitors tagged ${scope}${monitors.status ? ` (HTTP ${monitors.status})` : ''}: ${monitors.error}${hint}`,
    };
  }
  const list = monitors.value;
  const alerting = list.filter((m) => m.overallState === 'Alert');
  const details = {
    tags: [...tags],
    monitors: list.length,
    alerting: alerting.map((m) => ({ id: m.id, name: m.name })),
    warn: list.filter((m) => m.overallState === 'Warn').length,
  };
  if (alerting.length > 0) {
    const shown = alerting.slice(0, 5).map((m) => `#${m.id} '${m.name}'`);
    if (alerting.length > 5) shown.push(`and ${alerting.length - 5} more`);
    return {
      name,
      status: 'fail',
      reason: `${alerting.length} of ${list.length} monitors tagged ${scope} ${alerting.length === 1 ? 'is' : 'are'} in Alert: ${shown.join(', ')}`,
      details,
    };
  }
  if (list.length === 0) {
    return {
      name,
      status: 'warn',
      reason: `no Datadog monitor has the tags ${scope}: the gate checks nothing`,
      details,
    };
  }
  const warn = details.warn > 0 ? ` (${details.warn} in Warn)` : '';
  return {
    name,
    status: 'pass',
    reason: `none of the ${list.length} monitors tagged ${scope} is in Alert${warn}`,
    details,
  };
}
