/**
 * `mode: plan` and post-deploy validation judge a Datadog query alike: for a query grouped `by {host}`
 * whose second series breaches, both read the breaching value (the worst series), so plan cannot say
 * "pass" where a deploy would roll back. The same answer of a local Datadog API feeds both paths.
 */
import { describe, expect, it } from 'vitest';
import { createRunServices, type RunContext } from '../../../../src/pipeline/context.ts';
import type { RunState } from '../../../../src/pipeline/types.ts';
import { createProviders, type Providers } from '../../../../src/providers/index.ts';
import { planStep } from '../../../../src/steps/plan.ts';
import { monitoringOf } from '../../../../src/watch/production.ts';
import { recordingLogger, testConfig } from '../../pipeline/fixtures.ts';
import { startApi } from '../../providers/helpers.ts';

const QUERY = 'sum:trace.http.request.errors{service:web} by {host}.as_count()';

describe('plan and validation judge a grouped query the same way', () => {
  it('both take the worst series: one breaching host makes both see the breach', async () => {
    const api = await startApi(async (req) => {
      if (req.path !== '/api/v1/query') return { status: 404, body: { errors: ['Not found'] } };
      const to = Number(req.url.searchParams.get('to')) * 1000;
      return {
        status: 200,
        body: {
          status: 'ok',
          res_type: 'time_series',
          series: [
            { scope: 'host:a', pointlist: [[to - 10_000, 0.001]] },
            { scope: 'host:b', pointlist: [[to - 10_000, 0.2]] },
            { scope: 'host:c', pointlist: [[to - 10_000, 0.002]] },
          ],
        },
      };
    }, 'datadog');
    const config = testConfig('plan', {
      'datadog-api-key': 'ddapi_judgementTestKey01',
      'datadog-app-key': 'ddapp_judgementTestKey02',
      'datadog-site': api.url,
      'error-rate-query': QUERY,
      'error-rate-threshold': '0.01',
    });
    const log = recordingLogger();
    const signal = new AbortController().signal;

    // Plan, with only the run's Datadog client (no other provider is asked anything).
    const { datadog } = createProviders(config, log, signal);
    const state: RunState = { phase: 'started', mode: 'plan', environment: 'production', sha: config.run.sha };
    const ctx: RunContext = {
      config,
      state,
      log,
      signal,
      update: () => {},
      results: [],
      ...createRunServices(config, { datadog } as Providers, log, signal),
    };
    const planned = (await planStep.run(ctx)).checks?.find((c) => c.name === 'Error rate now');

    // Validation: one sample of the same query through the validation step's source.
    const monitoring = monitoringOf(config, datadog);
    if ('skip' in monitoring) throw new Error(monitoring.skip);
    const now = Date.now();
    const sampled = await monitoring.source.query(QUERY, now - 30_000, now, signal);

    expect(sampled).toMatchObject({ kind: 'value', value: 0.2 });
    expect(planned).toMatchObject({ status: 'warn', details: { value: 0.2, threshold: 0.01 } });
    expect(planned?.reason).toContain('a deploy would start from a breach');
    expect(api.requests('GET', '/api/v1/query')).toHaveLength(2);
  });
});
