import { describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/types.ts';
import type { Logger } from '../../../src/pipeline/types.ts';
import { CloudflareLb } from '../../../src/providers/cloudflare.ts';
import { Datadog } from '../../../src/providers/datadog.ts';
import { GitHub } from '../../../src/providers/github.ts';
import { POLICIES, createProviders, tickTimeoutMs } from '../../../src/providers/index.ts';
import { Slack } from '../../../src/providers/slack.ts';
import { VercelApi } from '../../../src/providers/vercel-api.ts';
import { startApi } from './helpers.ts';

const log: Logger = { info: () => {}, warning: () => {}, error: () => {}, debug: () => {}, untrusted: () => {} };

/** A config with only GitHub and Vercel; `extra` adds the optional providers. */
function config(
  extra: Partial<Pick<Config, 'traffic' | 'validation' | 'cleanup' | 'prepare'>> = {},
  url = 'http://192.0.2.1',
): Config {
  const base = {
    mode: 'deploy',
    strategy: 'blue-green',
    environment: 'production',
    branch: 'main',
    githubToken: 'ghs_test_token_0001',
    run: { apiUrl: url, owner: 'acme', repo: 'shop' },
    vercel: { token: 'vercel_test_token', projectId: 'prj', apiUrl: url },
    traffic: { manager: 'vercel', steps: [100], stepDurationMs: 0 },
    validation: {},
    cleanup: { keepDeployments: 0, prComment: true },
    prepare: { requiredEnv: [], configFiles: [], dependencyUrls: [], datadogMonitorTags: [] },
    secrets: ['ghs_test_token_0001', 'vercel_test_token'],
  };
  return { ...base, ...extra } as unknown as Config;
}

describe('createProviders', () => {
  it('builds GitHub and Vercel, and leaves unconfigured providers undefined', () => {
    const p = createProviders(config(), log, new AbortController().signal);
    expect(p.github).toBeInstanceOf(GitHub);
    expect(p.vercel).toBeInstanceOf(VercelApi);
    expect(p.cloudflare).toBeUndefined();
    expect(p.datadog).toBeUndefined();
    expect(p.slack).toBeUndefined();
    expect(p.backup).toBeUndefined();
  });

  it('builds every configured provider without any network call', async () => {
    const api = await startApi(async () => ({ status: 500 }));
    const url = api.url;
    const p = createProviders(
      config(
        {
          traffic: {
            manager: 'cloudflare',
            steps: [10, 100],
            stepDurationMs: 1,
            cloudflare: {
              apiToken: 'cf',
              accountId: 'a',
              zoneId: 'z',
              loadBalancerId: 'l',
              pools: ['p1', 'p2'],
              allowSessionAffinity: false,
              baseUrl: url,
            },
          },
          validation: { datadog: { apiKey: 'k', appKey: 'a', baseUrl: url } } as Config['validation'],
          cleanup: {
            keepDeployments: 0,
            prComment: true,
            slack: { token: 'xoxb-t', channel: 'C1', apiUrl: `${url}/api` },
          },
          prepare: {
            requiredEnv: [],
            configFiles: [],
            dependencyUrls: [],
            datadogMonitorTags: [],
            backup: { bucket: 'b', prefix: 'p/', region: 'us-east-1', endpoint: url },
          },
        },
        url,
      ),
      log,
      new AbortController().signal,
    );
    expect(p.cloudflare).toBeInstanceOf(CloudflareLb);
    expect(p.datadog).toBeInstanceOf(Datadog);
    expect(p.slack).toBeInstanceOf(Slack);
    // The S3 adapter (and the AWS SDK) loads on the backup store's first call, not here.
    expect(Object.keys(p.backup ?? {}).sort()).toEqual(['deleteObject', 'exists', 'newest', 'streamUpload', 'verify']);
    await new Promise((r) => setTimeout(r, 100));
    expect(api.requests()).toEqual([]);
  });

  it('gives every provider a timeout and a bounded retry policy', () => {
    expect(POLICIES.github.timeoutMs).toBeGreaterThan(0);
    for (const name of ['vercel', 'cloudflare', 'datadog'] as const) {
      const p = POLICIES[name];
      expect(p.timeoutMs).toBeGreaterThan(0);
      expect(p.retry.retries).toBeGreaterThan(0);
      expect(p.retry.maxRetryAfterMs).toBeLessThanOrEqual(60_000);
    }
    expect(POLICIES.cloudflare.retry.maxRetryAfterMs).toBe(30_000);
    // A lost create is looked up, then repeated a bounded number of times.
    expect(POLICIES.vercelCreate.retries).toBeGreaterThan(0);
    expect(POLICIES.vercelCreate.retries).toBeLessThanOrEqual(2);
    expect(POLICIES.slack.timeoutMs).toBeLessThanOrEqual(5_000);
    expect(POLICIES.s3.requestTimeoutMs).toBeGreaterThan(0);
  });

  it('a validation sample times out below the interval, within 2–10 s, retries once and never waits long', () => {
    expect(tickTimeoutMs(500)).toBe(2000);
    expect(tickTimeoutMs(30_000)).toBe(10_000);
    expect(tickTimeoutMs(5000)).toBe(4000);
    expect(POLICIES.datadog.sample(30_000)).toEqual({
      timeoutMs: 10_000,
      retry: { retries: 1, baseDelayMs: 500, maxDelayMs: 1_000, maxRetryAfterMs: 2_000 },
    });
    expect(POLICIES.datadog.sample(100)).toEqual({
      timeoutMs: 2_000,
      retry: { retries: 1, baseDelayMs: 50, maxDelayMs: 1_000, maxRetryAfterMs: 100 },
    });
    expect(POLICIES.datadog.sample(2_000).retry.baseDelayMs).toBe(200);
  });
});
