import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, Traffic, type RunningService } from '../../../../sandbox/core/service.ts';
import { displayUrl, evaluateDependencies, probeDependency } from '../../../../src/steps/prepare/deps.ts';

describe('dependency checks against a real HTTP server', () => {
  let svc: RunningService;
  const traffic = new Traffic();
  let flaky = 0;
  beforeAll(async () => {
    svc = await startService({
      name: 'deps',
      traffic,
      handler: async (req) => {
        if (req.path === '/ok') return { status: 200, body: { ok: true } };
        if (req.path === '/down') return { status: 503, body: 'maintenance' };
        // Fails twice, then recovers: a dependency restarting for a moment.
        if (req.path === '/flaky') return ++flaky <= 2 ? { status: 502 } : { status: 204 };
        return { status: 404 };
      },
    });
    traffic.faults.push({ service: 'deps', path: '/hang', hang: true });
  });
  afterAll(() => svc.close());

  it('passes when every URL answers 2xx, retrying one that recovers within the timeout', async () => {
    const results = await Promise.all([
      probeDependency(`${svc.url}/ok`, 3000),
      probeDependency(`${svc.url}/flaky`, 5000),
    ]);
    const r = evaluateDependencies(results, 5000);
    expect(r.status).toBe('pass');
    expect(results[1]).toMatchObject({ ok: true, status: 204, attempts: 3 });
  });

  it('fails naming each URL that did not answer 2xx in time, with its last status or error', async () => {
    const results = await Promise.all([
      probeDependency(`${svc.url}/down`, 600),
      probeDependency(`${svc.url}/hang?token=secret`, 500),
      probeDependency(`${svc.url}/ok`, 500),
    ]);
    const r = evaluateDependencies(results, 600);
    expect(r.status).toBe('fail');
    expect(r.reason).toContain(
      `2 of 3 did not answer 2xx within 1 s (health-check-timeout): ${svc.url}/down answered HTTP 503`,
    );
    expect(r.reason).toContain(`${svc.url}/hang?… failed (timeout after`);
    expect(r.reason).not.toContain('secret');
  });

  it('is not-checked for a URL that cannot be asked over HTTP', async () => {
    const r = evaluateDependencies([await probeDependency('postgres://app:pw@db:5432/app', 1000)], 1000);
    expect(r.status).toBe('not-checked');
    expect(r.reason).toBe(
      'cannot check postgres://***@db:5432/app (only http and https URLs can be checked, not postgres:)',
    );
  });

  it('hides credentials and queries when showing a URL', () => {
    expect(displayUrl('https://u:p@api.example.com/health?key=abc')).toBe('https://***@api.example.com/health?…');
  });
});
