/**
 * Pre-flight check 4: no open code-scanning or Dependabot alerts at `security-block-severity`. Pure.
 *
 * An alert API that answers 403/404 (feature off, or a token that may not read alerts — the
 * workflow's GITHUB_TOKEN can never read Dependabot alerts) makes the check "not checked", with
 * the permission it needs: never a pass. It is advisory (details.advisory): it does not by itself
 * stop a deploy, because for many repositories the alerts simply cannot be read with the default
 * token, and a gate that always blocks would be switched off rather than fixed.
 */
import type { Severity } from '../../config/types.js';
import type { CheckResult } from '../../pipeline/types.js';
import type { AlertList } from './types.js';
import type { Lookup } from '../checks.js';

export const SECURITY_CHECK = 'Security alerts';

export interface SecurityData {
  codeScanning: Lookup<AlertList>;
  dependabot: Lookup<AlertList>;
}

type Part = { status: 'pass' | 'fail' | 'not-checked'; text: string; blocking?: number };

const HINTS = {
  codeScanning: {
    label: 'code scanning',
    403: 'not available to this token or repository: grant the job "security-events: read", or enable GitHub code scanning (Advanced Security on private repositories)',
    404: 'no code scanning analysis found: set up code scanning, or grant "security-events: read"',
  },
  dependabot: {
    label: 'Dependabot',
    403: 'alerts cannot be read: the workflow GITHUB_TOKEN never can; pass a GitHub App or fine-grained token with "Dependabot alerts: read" as github-token, and check that Dependabot alerts are enabled',
    404: 'Dependabot alerts are not enabled for this repository, or the token may not read them ("Dependabot alerts: read")',
  },
} as const;

function judge(kind: keyof typeof HINTS, lookup: Lookup<AlertList>, severities: readonly Severity[]): Part {
  const hint = HINTS[kind];
  if (!lookup.ok) {
    const known = lookup.status === 403 || lookup.status === 404 ? hint[lookup.status] : undefined;
    return {
      status: 'not-checked',
      text: `${hint.label} not checked${lookup.status ? ` (HTTP ${lookup.status})` : ''}: ${known ?? lookup.error}`,
    };
  }
  const wanted = new Set<string>(severities);
  const blocking = lookup.value.alerts.filter((a) => a.severity !== null && wanted.has(a.severity.toLowerCase()));
  if (blocking.length === 0) {
    const more = lookup.value.truncated ? ' among the alerts read (more exist than were read)' : '';
    return { status: 'pass', text: `${hint.label}: no open ${severities.join('/')} alerts${more}` };
  }
  const shown = blocking.slice(0, 5).map((a) => `#${a.number} ${a.severity} '${a.title}'`);
  if (blocking.length > 5) shown.push(`and ${blocking.length - 5} more`);
  const count = `${blocking.length}${lookup.value.truncated ? '+' : ''}`;
  return {
    status: 'fail',
    blocking: blocking.length,
    text: `${hint.label}: ${count} open ${severities.join('/')} ${blocking.length === 1 ? 'alert' : 'alerts'} (${shown.join(', ')})`,
  };
}

/** Security check over both alert sources; `severities` empty means `security-block-severity: none`. */
export function evaluateSecurity(data: SecurityData, severities: readonly Severity[]): CheckResult {
  const name = SECURITY_CHECK;
  if (severities.length === 0) {
    return { name, status: 'skipped', reason: 'security-block-severity is none' };
  }
  const parts = [
    judge('codeScanning', data.codeScanning, severities),
    judge('dependabot', data.dependabot, severities),
  ];
  const reason = parts.map((p) => p.text).join('; ');
  const details = {
    codeScanning: parts[0]!.status,
    dependabot: parts[1]!.status,
    // Not-checked is reported, never passed, but does not stop the deploy by itself (see header).
    advisory: true,
  };
  if (parts.some((p) => p.status === 'fail')) return { name, status: 'fail', reason, details };
  if (parts.some((p) => p.status === 'not-checked')) return { name, status: 'not-checked', reason, details };
  return { name, status: 'pass', reason, details };
}
