/** Shared fixtures for the config tests: a valid run's environment and a recording input source. */
import { fromEnv, inputEnvName, type InputSource } from '../../../src/config/index.ts';

export const SHA = '0123456789abcdef0123456789abcdef01234567';

/** Secrets used by the fixtures: long and distinctive, so a leak is unmistakable in a message. */
export const SECRETS = {
  'github-token': 'ghs_FixtureGithubToken0001',
  'vercel-token': 'vercel_FixtureToken_0002',
  'cloudflare-api-token': 'cf_FixtureApiToken_0003',
  'datadog-api-key': 'dd_FixtureApiKey_0004',
  'datadog-app-key': 'dd_FixtureAppKey_0005',
  'slack-token': 'xoxb-Fixture-Slack-0006',
  'vercel-protection-bypass': 'bypass_Fixture_0007',
} as const;

/** The runner's context for a push to main. */
export const RUNNER_ENV: Record<string, string> = {
  GITHUB_REPOSITORY: 'acme/shop',
  GITHUB_SHA: SHA,
  GITHUB_REF: 'refs/heads/main',
  GITHUB_EVENT_NAME: 'push',
  GITHUB_RUN_ID: '1234',
  GITHUB_RUN_ATTEMPT: '2',
  GITHUB_JOB: 'deploy',
  GITHUB_ACTOR: 'octocat',
  GITHUB_WORKFLOW: 'Deploy',
  RUNNER_TEMP: '/runner/temp',
};

/** Inputs of a complete deploy with every provider configured. */
export const INPUTS: Record<string, string> = {
  'github-token': SECRETS['github-token'],
  'production-url': 'https://shop.example.com',
  'vercel-token': SECRETS['vercel-token'],
  'vercel-project-id': 'prj_shop',
  'cloudflare-api-token': SECRETS['cloudflare-api-token'],
  'cloudflare-account-id': 'acc123',
  'cloudflare-zone-id': 'zone123',
  'cloudflare-load-balancer-id': 'lb123',
  'cloudflare-pools': 'pool-blue,pool-green',
};

/** An environment with `INPUT_*` variables as the runner sets them. */
export function envWith(
  inputs: Record<string, string | undefined>,
  extraEnv: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = { ...RUNNER_ENV, ...extraEnv };
  for (const [name, value] of Object.entries(inputs)) {
    if (value !== undefined) env[inputEnvName(name)] = value;
  }
  return env;
}

/**
 * A source for `INPUTS` with `overrides` (undefined removes an input), plus extra environment, files
 * (path → content; others are missing) and a cwd. `setSecret` calls are recorded in `masked`.
 */
export function source(
  overrides: Record<string, string | undefined> = {},
  opts: { env?: Record<string, string>; files?: Record<string, string>; cwd?: string } = {},
): InputSource & { masked: string[] } {
  const inputs: Record<string, string | undefined> = { ...INPUTS, ...overrides };
  const masked: string[] = [];
  const files = opts.files ?? {};
  return {
    ...fromEnv(envWith(inputs, opts.env)),
    cwd: opts.cwd ?? '/work/repo',
    readFile: (file: string) => {
      if (!Object.hasOwn(files, file)) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
      return files[file]!;
    },
    setSecret: (value: string) => masked.push(value),
    masked,
  };
}
