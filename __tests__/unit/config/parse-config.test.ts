import { describe, expect, it } from 'vitest';
import { InputError, parseConfig } from '../../../src/config/index.ts';
import { SECRETS, SHA, source } from './fixtures.ts';

type Overrides = Record<string, string | undefined>;
type Opts = Parameters<typeof source>[1];

function parse(overrides: Overrides = {}, opts: Opts = {}) {
  return parseConfig(source(overrides, opts));
}

/** The InputError of an invalid configuration. */
function errorOf(overrides: Overrides, opts: Opts = {}): InputError {
  try {
    parse(overrides, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected an InputError');
}

/** The names of the bad inputs, in the order reported. */
function bad(overrides: Overrides, opts: Opts = {}): string[] {
  return errorOf(overrides, opts).problems.map((p) => p.input);
}

describe('a complete deploy', () => {
  it("gets every default of README.md's inputs table", () => {
    const c = parse();
    expect(c).toMatchObject({
      mode: 'deploy',
      strategy: 'blue-green',
      environment: 'production',
      branch: 'main',
      githubToken: SECRETS['github-token'],
      productionUrl: 'https://shop.example.com',
      preflight: {
        allowedBranches: ['main'],
        requireBranchProtection: true,
        requiredApprovals: 1,
        requiredChecks: 'all',
        checksTimeoutMs: 600_000,
        securityBlockSeverities: ['critical', 'high'],
        benchmarkThresholds: [],
      },
      prepare: { requiredEnv: [], configFiles: [], dependencyUrls: [], datadogMonitorTags: [] },
      vercel: {
        token: SECRETS['vercel-token'],
        projectId: 'prj_shop',
        workingDirectory: '/work/repo',
        prebuilt: false,
        healthCheckPath: '/',
        healthCheckTimeoutMs: 300_000,
        apiUrl: 'https://api.vercel.com',
      },
      smoke: {
        checks: [{ name: 'GET /', path: '/', method: 'GET', status: 200 }],
        samples: 5,
        performanceThresholdMs: 500,
      },
      traffic: {
        manager: 'cloudflare',
        cloudflare: {
          apiToken: SECRETS['cloudflare-api-token'],
          accountId: 'acc123',
          zoneId: 'zone123',
          loadBalancerId: 'lb123',
          pools: ['pool-blue', 'pool-green'],
          baseUrl: 'https://api.cloudflare.com/client/v4',
        },
        steps: [100],
        stepDurationMs: 120_000,
      },
      validation: {
        errorRateThreshold: 0.01,
        performanceThresholdMs: 500,
        windowMs: 300_000,
        intervalMs: 30_000,
        failureLimit: 0,
        noData: 'inconclusive',
        versionIdentity: 'sha',
        comparisonMargin: 0.02,
        relativeMargin: 0.25,
        minRequests: 200,
        insufficientData: 'rollback',
        evaluationDelayMs: 60_000,
        rollbackWindowMs: 300_000,
        rollbackTimeoutMs: 600_000,
      },
      cleanup: { keepDeployments: 0, prComment: true },
      rollback: { to: 'previous' },
    });
    expect(c.prepare.backup).toBeUndefined();
    expect(c.validation.datadog).toBeUndefined();
    expect(c.cleanup.slack).toBeUndefined();
    expect(c.warnings).toBeUndefined();
  });

  it('reads the run context', () => {
    expect(parse().run).toEqual({
      apiUrl: 'https://api.github.com',
      serverUrl: 'https://github.com',
      owner: 'acme',
      repo: 'shop',
      sha: SHA,
      reviewSha: SHA,
      ref: 'refs/heads/main',
      eventName: 'push',
      event: {},
      runId: '1234',
      runAttempt: 2,
      job: 'deploy',
      actor: 'octocat',
      workflow: 'Deploy',
      runUrl: 'https://github.com/acme/shop/actions/runs/1234',
      runnerTemp: '/runner/temp',
    });
  });

  it('reads every provider when configured', () => {
    const c = parse({
      'datadog-api-key': SECRETS['datadog-api-key'],
      'datadog-app-key': SECRETS['datadog-app-key'],
      'datadog-site': 'datadoghq.eu',
      'error-rate-query': 'sum:errors{service:shop}.as_count()',
      'latency-query': 'p95:latency{service:shop}',
      'slack-token': SECRETS['slack-token'],
      'slack-channel': '#deploys',
      'backup-command': 'pg_dump --format=custom "$DATABASE_URL"',
      'backup-bucket': 'acme-backups',
      'backup-endpoint': 'http://127.0.0.1:9000',
      'vercel-team-id': 'team_acme',
      'vercel-protection-bypass': SECRETS['vercel-protection-bypass'],
      'working-directory': 'web',
    });
    expect(c.validation.datadog).toEqual({
      apiKey: SECRETS['datadog-api-key'],
      appKey: SECRETS['datadog-app-key'],
      baseUrl: 'https://api.datadoghq.eu',
    });
    expect(c.validation.errorRateQuery).toBe('sum:errors{service:shop}.as_count()');
    expect(c.cleanup.slack).toEqual({
      token: SECRETS['slack-token'],
      channel: '#deploys',
      apiUrl: 'https://slack.com/api',
    });
    expect(c.prepare.backup).toEqual({
      command: 'pg_dump --format=custom "$DATABASE_URL"',
      bucket: 'acme-backups',
      prefix: 'production-deploy/acme/shop/production/',
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
    });
    expect(c.vercel).toMatchObject({ teamId: 'team_acme', protectionBypass: SECRETS['vercel-protection-bypass'] });
    expect(c.vercel.workingDirectory).toBe('/work/repo/web');
  });

  it('honours the endpoint variables', () => {
    const c = parse(
      { 'slack-token': SECRETS['slack-token'], 'slack-channel': 'C01' },
      {
        env: {
          GITHUB_API_URL: 'http://127.0.0.1:3000/api/v3/',
          GITHUB_SERVER_URL: 'http://127.0.0.1:3000',
          VERCEL_API_URL: 'http://127.0.0.1:3001',
          CLOUDFLARE_BASE_URL: 'http://127.0.0.1:3002/client/v4',
          SLACK_API_URL: 'http://127.0.0.1:3003/api/',
          AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:3004',
          AWS_REGION: 'eu-west-1',
        },
      },
    );
    expect(c.run.apiUrl).toBe('http://127.0.0.1:3000/api/v3');
    expect(c.vercel.apiUrl).toBe('http://127.0.0.1:3001');
    expect(c.traffic.cloudflare?.baseUrl).toBe('http://127.0.0.1:3002/client/v4');
    expect(c.cleanup.slack?.apiUrl).toBe('http://127.0.0.1:3003/api');
    const backup = parse(
      { 'backup-bucket': 'b-1', 'backup-max-age': '24h' },
      { env: { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:3004', AWS_REGION: 'eu-west-1' } },
    ).prepare.backup;
    expect(backup).toEqual({
      bucket: 'b-1',
      prefix: 'production-deploy/acme/shop/production/',
      endpoint: 'http://127.0.0.1:3004',
      region: 'eu-west-1',
      maxAgeMs: 86_400_000,
    });
  });

  it('names a bad endpoint variable', () => {
    expect(bad({}, { env: { VERCEL_API_URL: 'not a url', GITHUB_API_URL: 'ftp://x' } })).toEqual([
      'GITHUB_API_URL',
      'VERCEL_API_URL',
    ]);
  });
});

describe('mode', () => {
  it('INPUT_MODE=bogus names mode and lists the modes', () => {
    const err = errorOf({ mode: 'bogus' });
    expect(err.input).toBe('mode');
    expect(err.message).toContain('`mode`');
    expect(err.message).toContain('deploy, rollback, plan');
  });

  it('skips mode-dependent requirements when the mode itself is bad', () => {
    expect(bad({ mode: 'bogus', 'vercel-token': undefined, 'production-url': undefined })).toEqual(['mode']);
  });

  it.each(['deploy', 'rollback', 'plan'])('%s needs vercel-token and vercel-project-id', (mode) => {
    expect(bad({ mode, 'vercel-token': undefined, 'vercel-project-id': undefined })).toEqual([
      'vercel-token',
      'vercel-project-id',
    ]);
  });

  it.each(['deploy', 'rollback'])('%s needs production-url', (mode) => {
    const err = errorOf({ mode, 'production-url': undefined });
    expect(err.input).toBe('production-url');
    expect(err.message).toContain(`mode: ${mode}`);
  });

  it('plan does not need production-url', () => {
    expect(parse({ mode: 'plan', 'production-url': undefined }).productionUrl).toBeUndefined();
  });

  it('rollback needs no branch; deploy and plan need one', () => {
    const tag = { env: { GITHUB_REF: 'refs/tags/v1.0.0' } };
    expect(parse({ mode: 'rollback', 'rollback-to': 'dpl_abc', reason: 'bad release' }, tag)).toMatchObject({
      branch: '',
      rollback: { to: 'dpl_abc', reason: 'bad release' },
    });
    const err = errorOf({}, tag);
    expect(err.input).toBe('branch');
    expect(err.message).toContain('refs/tags/v1.0.0');
    expect(parse({ mode: 'plan', branch: 'release/1.0' }, tag).branch).toBe('release/1.0');
  });

  it('needs a GitHub token', () => {
    expect(bad({ 'github-token': undefined })).toEqual(['github-token']);
  });
});

describe('branch', () => {
  it('trims ASCII whitespace only', () => {
    expect(parse({ branch: ' \thotfix/x\n' }).branch).toBe('hotfix/x');
    // A no-break space is legal in a git branch name: it is kept, not trimmed.
    expect(parse({ branch: '\u00a0main' }).branch).toBe('\u00a0main');
    expect(bad({ branch: 'a..b' })).toEqual(['branch']);
  });
  it('comes from a pull request payload when the ref is not a branch', () => {
    const files = { '/ev.json': JSON.stringify({ pull_request: { head: { ref: 'feature/login' } } }) };
    const c = parse(
      { mode: 'plan' },
      {
        env: { GITHUB_EVENT_NAME: 'pull_request', GITHUB_REF: 'refs/pull/7/merge', GITHUB_EVENT_PATH: '/ev.json' },
        files,
      },
    );
    expect(c.branch).toBe('feature/login');
    expect(c.run.event).toEqual(JSON.parse(files['/ev.json']));
  });
  it('reviews and checks the PR head commit on pull_request events, not the test-merge commit', () => {
    const head = 'b'.repeat(40);
    const files = { '/ev.json': JSON.stringify({ pull_request: { head: { ref: 'feature/login', sha: head } } }) };
    const env = { GITHUB_EVENT_NAME: 'pull_request', GITHUB_REF: 'refs/pull/7/merge', GITHUB_EVENT_PATH: '/ev.json' };
    const c = parse({ mode: 'plan' }, { env, files });
    expect(c.run.reviewSha).toBe(head);
    expect(c.run.sha).not.toBe(head);
    // A push has no separate head commit: the pushed commit is the one reviewed.
    expect(parse({}).run.reviewSha).toBe(parse({}).run.sha);
  });
  it('comes from GITHUB_HEAD_REF as a last resort, validated', () => {
    const env = { GITHUB_EVENT_NAME: 'pull_request', GITHUB_REF: 'refs/pull/7/merge', GITHUB_HEAD_REF: 'fix/a' };
    expect(parse({ mode: 'plan' }, { env }).branch).toBe('fix/a');
    expect(bad({ mode: 'plan' }, { env: { ...env, GITHUB_HEAD_REF: '-x --upload-pack=evil' } })).toEqual(['branch']);
  });
});

describe('event payload and triggers', () => {
  it('treats a missing event file as {} and refuses one that is not a JSON object', () => {
    expect(parse({}, { env: { GITHUB_EVENT_PATH: '/missing.json' } }).run.event).toEqual({});
    expect(bad({}, { env: { GITHUB_EVENT_PATH: '/e.json' }, files: { '/e.json': '{not json' } })).toEqual([
      'GITHUB_EVENT_PATH',
    ]);
    expect(bad({}, { env: { GITHUB_EVENT_PATH: '/e.json' }, files: { '/e.json': '[1]' } })).toEqual([
      'GITHUB_EVENT_PATH',
    ]);
  });

  it.each(['deploy', 'rollback'])('refuses pull_request_target in %s', (mode) => {
    const err = errorOf({ mode, branch: 'main' }, { env: { GITHUB_EVENT_NAME: 'pull_request_target' } });
    expect(err.input).toBe('mode');
    expect(err.message).toContain('pull_request_target');
  });

  it('allows plan on pull_request_target', () => {
    expect(parse({ mode: 'plan' }, { env: { GITHUB_EVENT_NAME: 'pull_request_target' } }).mode).toBe('plan');
  });

  const workflowRun = (head: unknown, event = 'pull_request') => ({
    env: { GITHUB_EVENT_NAME: 'workflow_run', GITHUB_EVENT_PATH: '/ev.json' },
    files: {
      '/ev.json': JSON.stringify({
        workflow_run: { event, head_branch: 'main', head_repository: head },
        repository: { full_name: 'acme/shop' },
      }),
    },
  });

  it('refuses a workflow_run started by a fork pull request (or an unknown head repository)', () => {
    expect(errorOf({}, workflowRun({ full_name: 'mallory/shop', fork: true })).input).toBe('mode');
    expect(errorOf({}, workflowRun(null)).message).toContain('fork');
  });

  it('refuses a workflow_run whose payload cannot be read', () => {
    const err = errorOf({}, { env: { GITHUB_EVENT_NAME: 'workflow_run', GITHUB_EVENT_PATH: '/missing.json' } });
    expect(err.input).toBe('mode');
    expect(err.message).toContain('names no triggering event');
  });

  it('allows a workflow_run from the same repository or from a push', () => {
    expect(parse({}, workflowRun({ full_name: 'ACME/shop' })).mode).toBe('deploy');
    expect(parse({}, workflowRun({ full_name: 'mallory/shop' }, 'push')).mode).toBe('deploy');
  });

  it('requires the runner context', () => {
    expect(bad({}, { env: { GITHUB_REPOSITORY: '', GITHUB_SHA: 'HEAD', GITHUB_RUN_ATTEMPT: 'x' } })).toEqual([
      'GITHUB_REPOSITORY',
      'GITHUB_SHA',
      'GITHUB_RUN_ATTEMPT',
    ]);
  });
});

describe('seed environment variables', () => {
  const env = {
    HEALTH_CHECK_TIMEOUT: '120',
    PERFORMANCE_THRESHOLD_MS: '250',
    ERROR_RATE_THRESHOLD: '0.05',
    ROLLBACK_TIMEOUT: '5m',
    TRAFFIC_MANAGER: 'vercel',
  };

  it('are used when the input is empty', () => {
    const c = parse({}, { env });
    expect(c.vercel.healthCheckTimeoutMs).toBe(120_000);
    expect(c.smoke.performanceThresholdMs).toBe(250);
    expect(c.validation.performanceThresholdMs).toBe(250);
    expect(c.validation.errorRateThreshold).toBe(0.05);
    expect(c.validation.rollbackTimeoutMs).toBe(300_000);
    expect(c.traffic.manager).toBe('vercel');
    expect(c.warnings).toEqual(['The cloudflare-* inputs are ignored with traffic-manager: vercel.']);
  });

  it('lose to the input', () => {
    const c = parse(
      {
        'health-check-timeout': '30s',
        'performance-threshold-ms': '900',
        'error-rate-threshold': '2%',
        'rollback-timeout': '60',
        'traffic-manager': 'cloudflare',
      },
      { env },
    );
    expect(c.vercel.healthCheckTimeoutMs).toBe(30_000);
    expect(c.smoke.performanceThresholdMs).toBe(900);
    expect(c.validation.errorRateThreshold).toBe(0.02);
    expect(c.validation.rollbackTimeoutMs).toBe(60_000);
    expect(c.traffic.manager).toBe('cloudflare');
  });

  it('are reported under the input, saying where the value came from', () => {
    const err = errorOf(
      {},
      { env: { HEALTH_CHECK_TIMEOUT: 'soon', ERROR_RATE_THRESHOLD: '5', TRAFFIC_MANAGER: 'nginx' } },
    );
    expect(err.problems.map((p) => p.input)).toEqual([
      'health-check-timeout',
      'traffic-manager',
      'error-rate-threshold',
    ]);
    expect(err.message).toContain('from the environment variable HEALTH_CHECK_TIMEOUT');
    expect(err.message).toContain('cloudflare, vercel');
  });
});

describe('service selectors', () => {
  it('accept the supported services', () => {
    expect(() =>
      parse(
        {},
        {
          env: {
            DEPLOY_PLATFORM: 'vercel',
            MONITORING_SERVICE: 'Datadog',
            BACKUP_SERVICE: 'aws-s3',
            NOTIFICATION_SERVICE: 'slack',
          },
        },
      ),
    ).not.toThrow();
  });
  it('name what is supported otherwise', () => {
    const err = errorOf(
      {},
      {
        env: {
          DEPLOY_PLATFORM: 'netlify',
          MONITORING_SERVICE: 'newrelic',
          BACKUP_SERVICE: 'gcs',
          NOTIFICATION_SERVICE: 'teams',
        },
      },
    );
    expect(err.problems.map((p) => p.input)).toEqual([
      'DEPLOY_PLATFORM',
      'MONITORING_SERVICE',
      'BACKUP_SERVICE',
      'NOTIFICATION_SERVICE',
    ]);
    for (const s of ['"netlify"', 'vercel', 'datadog', 'aws-s3', 'slack']) expect(err.message).toContain(s);
  });
});

describe('traffic requirements', () => {
  it('cloudflare needs all five inputs', () => {
    const err = errorOf({
      'cloudflare-api-token': undefined,
      'cloudflare-account-id': undefined,
      'cloudflare-zone-id': undefined,
      'cloudflare-load-balancer-id': undefined,
      'cloudflare-pools': undefined,
    });
    expect(err.problems.map((p) => p.input)).toEqual([
      'cloudflare-api-token',
      'cloudflare-account-id',
      'cloudflare-zone-id',
      'cloudflare-load-balancer-id',
      'cloudflare-pools',
    ]);
    expect(err.message).toContain('traffic-manager: vercel');
  });

  it('canary defaults to 10,50,100; with vercel it is a rolling release and needs a step below 100', () => {
    expect(parse({ strategy: 'canary' }).traffic.steps).toEqual([10, 50, 100]);
    const rolling = parse({ strategy: 'canary', 'traffic-manager': 'vercel' });
    expect(rolling.traffic).toMatchObject({ manager: 'vercel', steps: [10, 50, 100] });
    expect(bad({ strategy: 'canary', 'traffic-manager': 'vercel', 'traffic-steps': '100' })).toEqual(['traffic-steps']);
  });

  it('steps other than 100 need cloudflare and are refused with immediate', () => {
    expect(parse({ 'traffic-steps': '25,100' }).traffic.steps).toEqual([25, 100]);
    expect(bad({ 'traffic-steps': '25,100', 'traffic-manager': 'vercel' })).toEqual(['traffic-steps']);
    expect(bad({ 'traffic-steps': '25,100', strategy: 'immediate' })).toEqual(['traffic-steps']);
    expect(parse({ 'traffic-steps': '100', strategy: 'immediate', 'traffic-manager': 'vercel' }).traffic.steps).toEqual(
      [100],
    );
  });
});

describe('backup requirements', () => {
  it('a bucket is required with backup-command or backup-max-age', () => {
    expect(bad({ 'backup-command': 'pg_dump' })).toEqual(['backup-bucket']);
    expect(bad({ 'backup-max-age': '1d' })).toEqual(['backup-max-age', 'backup-bucket']);
    expect(bad({ 'backup-max-age': '24h' })).toEqual(['backup-bucket']);
  });
  it('the command wins over backup-max-age, with a warning', () => {
    const c = parse({ 'backup-command': 'pg_dump', 'backup-max-age': '24h', 'backup-bucket': 'b-1' });
    expect(c.prepare.backup).toMatchObject({ command: 'pg_dump' });
    expect(c.prepare.backup?.maxAgeMs).toBeUndefined();
    expect(c.warnings).toEqual(['backup-max-age is ignored: backup-command takes a fresh backup on every deploy.']);
  });
  it('a bucket alone takes nothing and says so', () => {
    const c = parse({ 'backup-bucket': 'b-1' });
    expect(c.prepare.backup).toBeUndefined();
    expect(c.warnings?.[0]).toContain('no backup is taken');
  });
  it('substitutes the prefix and validates the bucket', () => {
    const c = parse({
      'backup-command': 'x',
      'backup-bucket': 'b-1',
      'backup-prefix': 'db/{repo}/{environment}',
      environment: 'staging',
    });
    expect(c.prepare.backup?.prefix).toBe('db/acme/shop/staging/');
    expect(bad({ 'backup-command': 'x', 'backup-bucket': 'Bad_Bucket' })).toEqual(['backup-bucket']);
  });
});

describe('Datadog and Slack pairs', () => {
  it.each(['error-rate-query', 'latency-query', 'datadog-monitor-tags'])('%s needs both keys', (input) => {
    const err = errorOf({ [input]: 'service:web' });
    expect(err.problems.map((p) => p.input)).toEqual(['datadog-api-key', 'datadog-app-key']);
    expect(err.message).toContain(input);
  });
  it('an API key alone records events; an app key alone is refused', () => {
    expect(parse({ 'datadog-api-key': SECRETS['datadog-api-key'] }).validation.datadog).toEqual({
      apiKey: SECRETS['datadog-api-key'],
      baseUrl: 'https://api.datadoghq.com',
    });
    expect(bad({ 'datadog-app-key': SECRETS['datadog-app-key'] })).toEqual(['datadog-api-key']);
  });
  it('slack-token and slack-channel go together', () => {
    expect(bad({ 'slack-token': SECRETS['slack-token'] })).toEqual(['slack-channel']);
    expect(bad({ 'slack-channel': '#deploys' })).toEqual(['slack-token']);
  });
});

describe('release-scoped count queries', () => {
  const keys = { 'datadog-api-key': SECRETS['datadog-api-key'], 'datadog-app-key': SECRETS['datadog-app-key'] };
  const requests = 'sum:trace.http.request.hits{service:shop,version:{{version}}}.as_count()';
  const errors = 'sum:trace.http.request.errors{service:shop,version:{{version}}}.as_count()';
  it('reads both count queries with their placeholder as given', () => {
    const v = parse({ ...keys, 'request-count-query': requests, 'error-count-query': errors }).validation;
    expect(v.requestCountQuery).toBe(requests);
    expect(v.errorCountQuery).toBe(errors);
  });
  it('the two count queries go together', () => {
    expect(bad({ ...keys, 'request-count-query': requests })).toEqual(['error-count-query']);
    expect(bad({ ...keys, 'error-count-query': errors })).toEqual(['request-count-query']);
  });
  it('both are scoped to the release, or neither', () => {
    const unscoped = errors.replace(',version:{{version}}', '');
    const err = errorOf({ ...keys, 'request-count-query': requests, 'error-count-query': unscoped });
    expect(err.problems.map((p) => p.input)).toEqual(['error-count-query']);
    expect(err.message).toContain('{{version}}');
  });
  it('refuses a misspelt placeholder before anything moves', () => {
    const err = errorOf({ ...keys, 'error-rate-query': 'avg:errors{version:{{ Version }}}' });
    expect(err.problems.map((p) => p.input)).toEqual(['error-rate-query']);
    expect(err.message).toContain('{{ Version }}');
  });
  it.each([
    ['version-identity', 'tag'],
    ['comparison-margin', '2'],
    ['min-requests', '0'],
    ['insufficient-data', 'pass'],
    ['evaluation-delay', 'soon'],
  ])('%s=%s is refused', (input, value) => {
    expect(bad({ [input]: value })).toEqual([input]);
  });
  it('a margin may be a percentage; a delay of 0 asks up to now', () => {
    const v = parse({ 'comparison-margin': '1%', 'evaluation-delay': '0' }).validation;
    expect(v.comparisonMargin).toBe(0.01);
    expect(v.evaluationDelayMs).toBe(0);
  });
});

describe('the Deployment Gate', () => {
  const dd = { 'datadog-api-key': SECRETS['datadog-api-key'], 'datadog-app-key': SECRETS['datadog-app-key'] };
  it('is off by default; deployment-gate turns it on, fail-closed, with a 30 min budget', () => {
    expect(parse().validation.gate).toBeUndefined();
    const v = parse({ ...dd, 'deployment-gate': 'post-deploy' }).validation;
    expect(v.gate).toEqual({ identifier: 'post-deploy', onError: 'fail', timeoutMs: 1_800_000 });
    const open = parse({
      ...dd,
      'deployment-gate': 'default',
      'deployment-gate-on-error': 'pass',
      'deployment-gate-timeout': '20m',
    });
    expect(open.validation.gate).toEqual({ identifier: 'default', onError: 'pass', timeoutMs: 1_200_000 });
  });
  it('needs both Datadog keys, before anything moves', () => {
    const err = errorOf({ ...dd, 'deployment-gate': 'default', 'datadog-app-key': '' });
    expect(err.problems.map((p) => p.input)).toEqual(['datadog-app-key']);
    expect(err.message).toContain('deployment-gate');
  });
  it.each([
    ['deployment-gate', 'a gate!'],
    ['deployment-gate-on-error', 'ignore'],
    ['deployment-gate-timeout', '500ms'],
    ['datadog-service', 'my service'],
  ])('%s=%s is refused', (input, value) => {
    expect(bad({ ...dd, 'deployment-gate': 'default', [input]: value })).toEqual([input]);
  });
  it('datadog-service names the service; without it a service: monitor tag, else the repository', () => {
    expect(parse({ 'datadog-service': 'shop-web' }).validation.datadogService).toBe('shop-web');
    expect(parse().validation.datadogService).toBeUndefined();
  });
});

describe('validation timing and bounds', () => {
  it('rollback-window defaults to validation-window', () => {
    expect(parse({ 'validation-window': '90s' }).validation.rollbackWindowMs).toBe(90_000);
    expect(parse({ 'validation-window': '90s', 'rollback-window': '10m' }).validation.rollbackWindowMs).toBe(600_000);
  });
  it('validation-interval must not exceed validation-window', () => {
    expect(bad({ 'validation-window': '1m', 'validation-interval': '2m' })).toEqual(['validation-interval']);
    expect(parse({ 'validation-window': '1s', 'validation-interval': '500ms' }).validation.intervalMs).toBe(500);
    expect(parse({ 'validation-window': '0', 'validation-interval': '2m' }).validation.windowMs).toBe(0);
    expect(bad({ 'validation-interval': '0' })).toEqual(['validation-interval']);
  });
  it('with immediate, rollback-window must cover one interval', () => {
    expect(bad({ strategy: 'immediate', 'rollback-window': '10s', 'validation-interval': '30s' })).toEqual([
      'rollback-window',
    ]);
  });
  it.each([
    ['failure-limit', '-1'],
    ['smoke-samples', '0'],
    ['smoke-samples', '101'],
    ['required-approvals', '11'],
    ['keep-deployments', '-2'],
    ['error-rate-threshold', '1.5'],
    ['no-data', 'ignore'],
    ['rollback-timeout', '0'],
    ['health-check-timeout', '0s'],
    ['performance-threshold-ms', '0'],
    ['health-check-path', 'health'],
    ['environment', 'bad\u0007name'],
    ['required-env', 'GOOD, 1BAD'],
    ['dependency-urls', 'https://ok.example, nope'],
    ['datadog-monitor-tags', 'team: web'],
    ['benchmark-thresholds', 'x<5'],
    ['rollback-to', 'yesterday'],
    ['reason', 'x'.repeat(1001)],
    ['vercel-project-id', 'my project'],
    ['slack-channel', 'two words'],
    ['allowed-branches', ' , '],
    ['config-files', 'conf/[x'],
    ['prebuilt', 'maybe'],
    ['pr-comment', 'sometimes'],
    ['require-branch-protection', 'nah'],
    ['step-duration', '2 minutes'],
    ['datadog-site', 'nowhere'],
    ['security-block-severity', 'urgent'],
  ])('refuses %s=%j', (input, value) => {
    // The bad input comes first; a pair (slack, datadog) may add its partner's requirement after it.
    expect(bad({ [input]: value })[0]).toBe(input);
  });
  it('required-checks takes all, none or names', () => {
    expect(parse({ 'required-checks': 'ALL' }).preflight.requiredChecks).toBe('all');
    expect(parse({ 'required-checks': 'none' }).preflight.requiredChecks).toEqual([]);
    expect(parse({ 'required-checks': 'build, test' }).preflight.requiredChecks).toEqual(['build', 'test']);
  });
  it('benchmark-thresholds need benchmark-results', () => {
    expect(bad({ 'benchmark-thresholds': 'x<=5' })).toEqual(['benchmark-results']);
    expect(parse({ 'benchmark-thresholds': 'x<=5', 'benchmark-results': 'out/bench.json' }).preflight).toMatchObject({
      benchmarkResults: '/work/repo/out/bench.json',
      benchmarkThresholds: [{ name: 'x', op: '<=', value: 5 }],
    });
  });
});

describe('every problem at once', () => {
  it('lists each bad input on its own line, the first in .input', () => {
    const err = errorOf({
      strategy: 'yolo',
      'checks-timeout': '5x',
      'smoke-samples': 'many',
      'traffic-steps': '50',
      'failure-limit': '-1',
    });
    expect(err.input).toBe('strategy');
    const lines = err.message.split('\n');
    expect(lines[0]).toBe('5 inputs are invalid:');
    expect(lines.slice(1).map((l) => /^- `([^`]+)`: got /.exec(l)?.[1])).toEqual([
      'strategy',
      'checks-timeout',
      'smoke-samples',
      'traffic-steps',
      'failure-limit',
    ]);
    expect(lines.every((l) => l.includes('accepts') || l === lines[0])).toBe(true);
  });
});
