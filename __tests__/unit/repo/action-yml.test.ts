/**
 * action.yml against the interface users write their workflows against (the project's INTERFACE
 * contract, transcribed below because it lives outside the repository): the same inputs with the
 * same documented defaults, the same outputs, every one described, and the runtime GitHub runs.
 */
import { describe, expect, it } from 'vitest';
import { actionYml } from './files.ts';

/** Every input of the interface with its literal default; `null` where the default is not a literal. */
const INTERFACE_INPUTS: Record<string, string | null> = {
  mode: 'deploy',
  strategy: 'blue-green',
  environment: 'production',
  branch: null, // the triggering ref's branch
  'github-token': '${{ github.token }}',
  'production-url': null,
  'allowed-branches': 'main',
  'require-branch-protection': 'true',
  'required-approvals': '1',
  'required-checks': 'all',
  'checks-timeout': '10m',
  'security-block-severity': 'critical,high',
  'benchmark-results': null,
  'benchmark-thresholds': null,
  'backup-command': null,
  'backup-bucket': null,
  'backup-prefix': 'production-deploy/{repo}/{environment}/',
  'backup-endpoint': null, // AWS, or AWS_ENDPOINT_URL_S3
  'aws-region': null, // AWS_REGION, else us-east-1
  'backup-max-age': null,
  'required-env': null,
  'config-files': null,
  'dependency-urls': null,
  'datadog-monitor-tags': null,
  'vercel-token': null,
  'vercel-project-id': null,
  'vercel-team-id': null,
  'working-directory': '.',
  prebuilt: 'false',
  'vercel-protection-bypass': null,
  'health-check-path': '/',
  'health-check-timeout': null, // HEALTH_CHECK_TIMEOUT, else 300
  'version-header': 'x-app-version',
  'version-path': null,
  'smoke-tests': null, // GET health-check-path → 200
  'smoke-samples': '5',
  'performance-threshold-ms': null, // PERFORMANCE_THRESHOLD_MS, else 500
  'traffic-manager': null, // TRAFFIC_MANAGER, else cloudflare
  'cloudflare-api-token': null,
  'cloudflare-account-id': null,
  'cloudflare-zone-id': null,
  'cloudflare-load-balancer-id': null,
  'cloudflare-pools': null,
  'allow-session-affinity': 'false',
  'traffic-steps': null, // 100, or 10,50,100 for canary
  'step-duration': '2m',
  'datadog-api-key': null,
  'datadog-app-key': null,
  'datadog-site': 'datadoghq.com',
  'error-rate-query': null,
  'latency-query': null,
  'request-count-query': null,
  'error-count-query': null,
  'version-identity': 'sha',
  'comparison-margin': '0.02',
  'relative-margin': '0.25',
  'min-requests': '200',
  'insufficient-data': 'rollback',
  'evaluation-delay': '60s',
  'deployment-gate': null,
  'deployment-gate-on-error': 'fail',
  'deployment-gate-timeout': '30m',
  'datadog-service': null,
  'error-rate-threshold': null, // ERROR_RATE_THRESHOLD, else 0.01
  'validation-window': '5m',
  'validation-interval': '30s',
  'failure-limit': '0',
  'no-data': 'inconclusive',
  'rollback-window': null, // validation-window
  'rollback-timeout': null, // ROLLBACK_TIMEOUT, else 600
  'keep-deployments': '0',
  'slack-token': null,
  'slack-channel': null,
  'pr-comment': 'true',
  'rollback-to': 'previous',
  reason: null,
};

/** Defaults that come from an environment variable, then a literal: the description must say both. */
const SEEDED: Record<string, [string, string]> = {
  'health-check-timeout': ['HEALTH_CHECK_TIMEOUT', '300'],
  'performance-threshold-ms': ['PERFORMANCE_THRESHOLD_MS', '500'],
  'traffic-manager': ['TRAFFIC_MANAGER', 'cloudflare'],
  'error-rate-threshold': ['ERROR_RATE_THRESHOLD', '0.01'],
  'rollback-timeout': ['ROLLBACK_TIMEOUT', '600'],
  'aws-region': ['AWS_REGION', 'us-east-1'],
  'backup-endpoint': ['AWS_ENDPOINT_URL_S3', 'AWS'],
};

const INTERFACE_OUTPUTS = [
  'status',
  'go',
  'deployment-id',
  'deployment-url',
  'previous-deployment-id',
  'production-url',
  'github-deployment-id',
  'backup-key',
  'backup-sha256',
  'rolled-back',
  'report',
];

const action = actionYml();

describe('action.yml against the interface', () => {
  it('declares exactly the interface inputs', () => {
    expect(Object.keys(action.inputs).sort()).toEqual(Object.keys(INTERFACE_INPUTS).sort());
  });

  it.each(Object.entries(INTERFACE_INPUTS))('%s has the documented default', (name, documented) => {
    const input = action.inputs[name]!;
    if (documented === null) expect(input.default, `${name} has no literal default`).toBeUndefined();
    else expect(String(input.default)).toBe(documented);
  });

  it.each(Object.entries(SEEDED))(
    '%s names its environment variable and its fallback',
    (name, [variable, fallback]) => {
      expect(action.inputs[name]!.description).toContain(variable);
      expect(action.inputs[name]!.description).toContain(fallback);
    },
  );

  it('describes every input, with what it accepts or its default', () => {
    for (const [name, input] of Object.entries(action.inputs)) {
      expect(typeof input.description, name).toBe('string');
      expect(input.description!.trim().length, name).toBeGreaterThan(15);
      expect(input.description, name).toMatch(/Default|No default/);
      // The runner does not enforce `required:` (actions/runner#1070); the action checks per mode.
      expect(input.required ?? false, name).toBe(false);
      expect(name, 'inputs are kebab-case').toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    }
  });

  it('lists the accepted values of the enumerated inputs', () => {
    expect(action.inputs.mode!.description).toMatch(/deploy[\s\S]*rollback[\s\S]*plan/);
    expect(action.inputs.strategy!.description).toMatch(/blue-green[\s\S]*canary[\s\S]*immediate/);
    expect(action.inputs['no-data']!.description).toMatch(/warn[\s\S]*fail[\s\S]*inconclusive/);
    expect(action.inputs['traffic-manager']!.description).toMatch(/cloudflare[\s\S]*vercel/);
    expect(action.inputs['insufficient-data']!.description).toMatch(/rollback[\s\S]*fail/);
    expect(action.inputs['version-identity']!.description).toMatch(/sha[\s\S]*short-sha[\s\S]*deployment-id/);
  });

  it('declares exactly the interface outputs, each described', () => {
    expect(Object.keys(action.outputs)).toEqual(INTERFACE_OUTPUTS);
    for (const [name, output] of Object.entries(action.outputs)) {
      expect(output.description?.trim().length, name).toBeGreaterThan(5);
    }
    expect(action.outputs.status!.description).toMatch(
      /success[\s\S]*no-go[\s\S]*failed[\s\S]*rolled-back[\s\S]*planned/,
    );
  });

  it('runs on node24 with a main and an always-run post step', () => {
    expect(action.runs.using).toBe('node24');
    expect(action.runs.main).toBe('dist/index.js');
    expect(action.runs.post).toBe('dist/post.js');
    expect(action.runs['post-if']).toBe('always()');
  });
});
