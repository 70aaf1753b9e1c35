/**
 * Rate limits are waited out, not failed on: a 429 is retried as the provider asks for as long as
 * the step's rate-limit budget lasts (shared by the provider's calls), without using up the retries
 * a 5xx gets; a wait that does not fit fails at once, naming the budget.
 */
import { describe, expect, it } from 'vitest';
import { parseRetryAfter, RateLimitBudget, requestJson, type RequestOptions } from '../../../src/providers/http.ts';
import { POLICIES, RateLimitBudgets } from '../../../src/providers/index.ts';
import { fastRetry, rejection, startApi, TOKEN } from './helpers.ts';

function opts(url: string, budget?: RateLimitBudget, o: Partial<RequestOptions> = {}): RequestOptions {
  return {
    provider: 'cloudflare',
    operation: 'getLoadBalancer',
    method: 'GET',
    url,
    headers: { authorization: `Bearer ${TOKEN}` },
    timeoutMs: 2_000,
    retry: { ...fastRetry(3, 30_000), ...(budget ? { rateLimit: budget } : {}) },
    idempotent: true,
    ...o,
  };
}

describe('a 429 storm within the budget', () => {
  it('is waited out past the retry count: eight 429s then the answer', async () => {
    const api = await startApi(async () => ({ status: 200, body: { ok: true } }));
    api.fault({ status: 429, headers: { 'retry-after-ms': '20' }, times: 8 });
    const budget = new RateLimitBudget('cloudflare', 60_000);
    const res = await requestJson(opts(`${api.url}/lb`, budget));
    expect(res.body).toEqual({ ok: true });
    expect(api.requests()).toHaveLength(9);
    expect(budget.spentMs).toBe(8 * 20);
  });

  it('still gives 5xx their own retries after waiting out 429s', async () => {
    const api = await startApi(async () => ({ status: 200, body: { ok: true } }));
    api.fault({ status: 429, headers: { 'retry-after-ms': '10' }, times: 5 });
    api.fault({ status: 503, times: 3 });
    const res = await requestJson(opts(`${api.url}/lb`, new RateLimitBudget('cloudflare', 60_000)));
    expect(res.status).toBe(200);
    expect(api.requests()).toHaveLength(9);
  });

  it('backs off when the 429 says nothing (or 0), never hammering', async () => {
    const api = await startApi(async () => ({ status: 200, body: {} }));
    api.fault({ status: 429, headers: { 'retry-after': '0' }, times: 6 });
    const budget = new RateLimitBudget('cloudflare', 60_000);
    await requestJson(opts(`${api.url}/lb`, budget));
    expect(budget.spentMs).toBeGreaterThanOrEqual(6 * 5);
  });
});

describe('a rate limit longer than the budget', () => {
  it("fails at once on Cloudflare's 5-minute block, naming the budget and the wait", async () => {
    const api = await startApi(async () => ({ status: 200, body: {} }));
    api.fault({
      status: 429,
      headers: { 'retry-after': '300' },
      body: { success: false, errors: [{ code: 10000, message: 'Rate limited' }], messages: [], result: null },
    });
    const t0 = Date.now();
    const err = await rejection(requestJson(opts(`${api.url}/lb`, new RateLimitBudget('cloudflare', 60_000))));
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(err.message).toContain('HTTP 429');
    expect(err.message).toContain('asked to wait 300 s');
    expect(err.message).toMatch(/60 s this action waits for cloudflare's rate limit in this step/);
    expect(err.message).not.toContain(TOKEN);
    expect(api.requests()).toHaveLength(1);
  });

  it('is shared by the calls of a step: once spent, the next call fails on its first 429', async () => {
    const api = await startApi(async () => ({ status: 200, body: {} }));
    api.fault({ status: 429, headers: { 'retry-after-ms': '40' }, times: 2 });
    const budget = new RateLimitBudget('cloudflare', 100);
    await requestJson(opts(`${api.url}/a`, budget));
    expect(budget.remainingMs).toBe(20);
    api.fault({ status: 429, headers: { 'retry-after-ms': '40' }, times: 1 });
    const err = await rejection(requestJson(opts(`${api.url}/b`, budget)));
    expect(err.message).toContain('(80 ms already waited)');
    // A new step starts a new budget.
    budget.reset(100, 'this step');
    api.fault({ status: 429, headers: { 'retry-after-ms': '40' }, times: 1 });
    await requestJson(opts(`${api.url}/c`, budget));
  });

  it('without a budget, a 429 is one more retry capped by maxRetryAfterMs (as before)', async () => {
    const api = await startApi(async () => ({ status: 200, body: {} }));
    api.fault({ status: 429, headers: { 'retry-after-ms': '10' }, times: 8 });
    const err = await rejection(requestJson(opts(`${api.url}/lb`)));
    expect(err.message).toContain('after 4 attempts');
  });
});

describe('the budgets of a run', () => {
  it('states a per-step budget for each REST provider, and a restore gets rollback-timeout', () => {
    expect(POLICIES.cloudflare.rateLimitPerStepMs).toBe(60_000);
    expect(POLICIES.vercel.rateLimitPerStepMs).toBe(60_000);
    expect(POLICIES.datadog.rateLimitPerStepMs).toBe(30_000);
    const b = new RateLimitBudgets();
    expect(b.cloudflare.take(50_000)).toBe(true);
    expect(b.cloudflare.take(20_000)).toBe(false);
    b.startRestore(600_000);
    expect(b.cloudflare.take(300_000)).toBe(true);
    expect(b.cloudflare.refusal(400_000)).toContain('in the restore');
    b.startStep();
    expect(b.cloudflare.remainingMs).toBe(60_000);
  });

  it("reads Cloudflare's Ratelimit header (t = seconds to the reset) on a 429 without retry-after", () => {
    const h = new Headers({ ratelimit: '"default";r=0;t=30' });
    expect(parseRetryAfter(h, { rateLimitReset: true })).toBe(30_000);
    expect(parseRetryAfter(h)).toBeUndefined();
    expect(
      parseRetryAfter(new Headers({ ratelimit: '"default";r=0;t=30', 'retry-after': '7' }), { rateLimitReset: true }),
    ).toBe(7_000);
  });
});
