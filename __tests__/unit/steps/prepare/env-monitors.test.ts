import { describe, expect, it } from 'vitest';
import { evaluateRequiredEnv } from '../../../../src/steps/prepare/env.ts';
import { evaluateMonitors } from '../../../../src/steps/prepare/monitors.ts';
import { found, lookupFailed } from '../../../../src/steps/checks.ts';

describe('evaluateRequiredEnv', () => {
  const vars = found([{ key: 'DATABASE_URL' }, { key: 'STRIPE_KEY' }]);

  it('passes when every required name exists for production', () => {
    const r = evaluateRequiredEnv(['DATABASE_URL', 'STRIPE_KEY'], vars);
    expect(r.status).toBe('pass');
    expect(r.reason).toBe('all 2 required variables exist for production (DATABASE_URL, STRIPE_KEY)');
  });

  it('fails naming every missing variable', () => {
    const r = evaluateRequiredEnv(['DATABASE_URL', 'REDIS_URL', 'SENTRY_DSN'], vars);
    expect(r.status).toBe('fail');
    expect(r.reason).toBe('missing from the Vercel project for production: REDIS_URL, SENTRY_DSN (2 of 3 required)');
  });

  it('is not-checked when the project env cannot be listed', () => {
    const r = evaluateRequiredEnv(['A'], lookupFailed('Vercel listProjectEnv failed: HTTP 403 forbidden', 403));
    expect(r.status).toBe('not-checked');
    expect(r.reason).toContain("vercel-token may not read the project's environment variables");
  });

  it('is skipped without required-env', () => {
    expect(evaluateRequiredEnv([], vars).status).toBe('skipped');
  });
});

describe('evaluateMonitors', () => {
  const tags = ['service:web', 'env:prod'];

  it('passes when no tagged monitor is in Alert, noting Warn', () => {
    const r = evaluateMonitors(
      tags,
      found([
        { id: 1, name: 'CPU', overallState: 'OK' },
        { id: 2, name: 'Disk', overallState: 'Warn' },
      ]),
    );
    expect(r.status).toBe('pass');
    expect(r.reason).toBe('none of the 2 monitors tagged service:web, env:prod is in Alert (1 in Warn)');
  });

  it('fails listing the monitors in Alert', () => {
    const r = evaluateMonitors(
      tags,
      found([
        { id: 1, name: 'CPU', overallState: 'Alert' },
        { id: 2, name: 'Disk', overallState: 'OK' },
      ]),
    );
    expect(r.status).toBe('fail');
    expect(r.reason).toBe("1 of 2 monitors tagged service:web, env:prod is in Alert: #1 'CPU'");
  });

  it('is not-checked when Datadog cannot be asked or is not configured', () => {
    expect(evaluateMonitors(tags, lookupFailed('Datadog listMonitors failed: HTTP 403', 403)).reason).toContain(
      'monitors_read',
    );
    expect(evaluateMonitors(tags, lookupFailed('boom', 500)).status).toBe('not-checked');
    expect(evaluateMonitors(tags, undefined).status).toBe('not-checked');
  });

  it('warns when the tags match no monitor, and skips without tags', () => {
    expect(evaluateMonitors(tags, found([])).status).toBe('warn');
    expect(evaluateMonitors([], undefined).status).toBe('skipped');
  });
});
