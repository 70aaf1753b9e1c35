import { describe, expect, it } from 'vitest';
import { evaluateSecurity } from '../../../../src/steps/preflight/security.ts';
import { type AlertInfo } from '../../../../src/steps/preflight/types.ts';
import { found, lookupFailed } from '../../../../src/steps/checks.ts';

const alert = (number: number, severity: string | null, title = 'rule'): AlertInfo => ({ number, severity, title });
const none = found({ alerts: [], truncated: false });

describe('evaluateSecurity', () => {
  it('passes when no open alert is at a blocking severity', () => {
    const r = evaluateSecurity(
      { codeScanning: found({ alerts: [alert(1, 'medium'), alert(2, null)], truncated: false }), dependabot: none },
      ['critical', 'high'],
    );
    expect(r.status).toBe('pass');
    expect(r.reason).toBe('code scanning: no open critical/high alerts; Dependabot: no open critical/high alerts');
  });

  it('fails on blocking alerts from either source, listing them', () => {
    const r = evaluateSecurity(
      {
        codeScanning: found({ alerts: [alert(3, 'high', 'js/sql-injection')], truncated: false }),
        dependabot: found({
          alerts: [alert(9, 'critical', 'lodash: prototype pollution'), alert(10, 'low')],
          truncated: false,
        }),
      },
      ['critical', 'high'],
    );
    expect(r.status).toBe('fail');
    expect(r.reason).toBe(
      "code scanning: 1 open critical/high alert (#3 high 'js/sql-injection'); Dependabot: 1 open critical/high alert (#9 critical 'lodash: prototype pollution')",
    );
  });

  it('reports 403/404 as not checked with the permission needed, never as a pass', () => {
    const r = evaluateSecurity(
      {
        codeScanning: lookupFailed('no analysis found', 404),
        dependabot: lookupFailed('Resource not accessible by integration', 403),
      },
      ['critical'],
    );
    expect(r.status).toBe('not-checked');
    expect(r.reason).toContain('code scanning not checked (HTTP 404)');
    expect(r.reason).toContain('Dependabot alerts: read');
    expect(r.details).toMatchObject({ advisory: true });
  });

  it('a failure on one source outranks not-checked on the other', () => {
    const r = evaluateSecurity(
      { codeScanning: found({ alerts: [alert(1, 'critical')], truncated: true }), dependabot: lookupFailed('x', 403) },
      ['critical'],
    );
    expect(r.status).toBe('fail');
    expect(r.reason).toContain('1+ open critical alert');
  });

  it('is skipped when security-block-severity is none', () => {
    expect(evaluateSecurity({ codeScanning: none, dependabot: none }, []).status).toBe('skipped');
  });
});
