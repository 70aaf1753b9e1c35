/** Sections 3–5 of the inputs: the Vercel deployment, smoke tests and the traffic switch. */
import path from 'node:path';
import type { CloudflareConfig, Config } from './types.js';
import { describeValue, fail } from './errors.js';
import { ENDPOINTS, TRAFFIC_MANAGERS, durationAtLeast } from './fields.js';
import { parseBoolean, parseEnum, parseInteger, parseNumber, parseUrl } from './scalars.js';
import { defaultSmokeChecks, parseSmokeTests } from './smoke.js';
import type { SectionContext } from './sections-pre.js';
import type { Reader } from './source.js';
import { parseCloudflarePools, parseTrafficSteps } from './traffic.js';
import { parseIdentifier, parsePath } from './values.js';

/** An endpoint from the environment (`VERCEL_API_URL`…), validated and named by its variable. */
export function endpoint(r: Reader, name: keyof typeof ENDPOINTS): string {
  const raw = r.env(name);
  if (raw === '') return ENDPOINTS[name];
  return r.attempt(() => parseUrl(raw, name)) ?? ENDPOINTS[name];
}

/** Section 3: the blue-green deployment on Vercel. */
export function readVercel(r: Reader, ctx: SectionContext): Config['vercel'] {
  const token = r.secret('vercel-token');
  if (ctx.mode) r.require('vercel-token', 'a Vercel access token; required in every mode');
  const projectId = r.optional('vercel-project-id', (raw, i) =>
    parseIdentifier(raw, i, 'a Vercel project id (prj_…) or name'),
  );
  if (ctx.mode) r.require('vercel-project-id', 'a Vercel project id (prj_…) or name; required in every mode');
  const teamId = r.optional('vercel-team-id', (raw, i) => parseIdentifier(raw, i, 'a Vercel team id (team_…) or slug'));
  const workingDirectory = r.value(
    'working-directory',
    (raw, input) => {
      if (raw.includes('\0')) fail(input, raw, 'a directory path');
      return path.resolve(r.cwd, raw);
    },
    path.resolve(r.cwd),
  );
  const vercel: Config['vercel'] = {
    token,
    projectId: projectId ?? '',
    workingDirectory,
    prebuilt: r.value('prebuilt', (raw, i) => parseBoolean(raw, i, false), false),
    healthCheckPath: '/',
    healthCheckTimeoutMs: 300_000,
    versionHeader: 'x-app-version',
    apiUrl: endpoint(r, 'VERCEL_API_URL'),
  };
  if (teamId !== undefined) vercel.teamId = teamId;
  const bypass = r.secret('vercel-protection-bypass');
  if (bypass !== '') vercel.protectionBypass = bypass;
  vercel.healthCheckPath = r.value('health-check-path', parsePath, '/');
  vercel.healthCheckTimeoutMs = r.value('health-check-timeout', durationAtLeast(1), 300_000, 'HEALTH_CHECK_TIMEOUT');
  vercel.versionHeader = r.value(
    'version-header',
    (raw, input) => {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/.test(raw))
        fail(input, raw, 'an HTTP header name such as x-app-version');
      return raw.toLowerCase();
    },
    'x-app-version',
  );
  const versionPath = r.optional('version-path', parsePath);
  if (versionPath !== undefined) vercel.versionPath = versionPath;
  return vercel;
}

/** Section 4: smoke tests, read from a file (relative to working-directory, then the workspace) or inline. */
export function readSmoke(r: Reader, vercel: Config['vercel']): Config['smoke'] {
  const source = { dirs: [vercel.workingDirectory, r.cwd], readFile: (f: string) => r.readFile(f) };
  return {
    checks: r.value(
      'smoke-tests',
      (raw, i) => parseSmokeTests(raw, source, i),
      defaultSmokeChecks(vercel.healthCheckPath),
    ),
    samples: r.value('smoke-samples', (raw, i) => parseInteger(raw, i, { min: 1, max: 100 }), 5),
    performanceThresholdMs: r.value(
      'performance-threshold-ms',
      (raw, i) => parseNumber(raw, i, { min: 1, max: 3_600_000 }),
      500,
      'PERFORMANCE_THRESHOLD_MS',
    ),
  };
}

/** The five inputs `traffic-manager: cloudflare` needs, with what each one is. */
const CLOUDFLARE_INPUTS = {
  'cloudflare-api-token': 'a Cloudflare API token',
  'cloudflare-account-id': 'a Cloudflare account id',
  'cloudflare-zone-id': 'a Cloudflare zone id',
  'cloudflare-load-balancer-id': 'a Cloudflare load balancer id',
  'cloudflare-pools': 'two Cloudflare pool ids',
} as const;

/** Section 5: the traffic switch (Cloudflare Load Balancer weights, or Vercel promote). */
export function readTraffic(r: Reader, ctx: SectionContext): Config['traffic'] {
  const manager = r.value(
    'traffic-manager',
    (raw, i) => parseEnum(raw, i, TRAFFIC_MANAGERS),
    'cloudflare',
    'TRAFFIC_MANAGER',
  );
  const apiToken = r.secret('cloudflare-api-token');
  const id = (name: keyof typeof CLOUDFLARE_INPUTS) =>
    r.optional(name, (raw, i) => parseIdentifier(raw, i, CLOUDFLARE_INPUTS[name])) ?? '';
  const accountId = id('cloudflare-account-id');
  const zoneId = id('cloudflare-zone-id');
  const loadBalancerId = id('cloudflare-load-balancer-id');
  const pools = r.optional('cloudflare-pools', parseCloudflarePools);
  const allowSessionAffinity = r.value('allow-session-affinity', (raw, i) => parseBoolean(raw, i, false), false);

  let cloudflare: CloudflareConfig | undefined;
  if (manager === 'cloudflare' && !r.failed('traffic-manager')) {
    const via = r.has('traffic-manager') || r.env('TRAFFIC_MANAGER') !== '' ? '' : ', the default';
    for (const [name, what] of Object.entries(CLOUDFLARE_INPUTS)) {
      r.require(name, `${what}; required with traffic-manager: cloudflare${via} (or set traffic-manager: vercel)`);
    }
    if (pools !== undefined && apiToken && accountId && zoneId && loadBalancerId) {
      cloudflare = {
        apiToken,
        accountId,
        zoneId,
        loadBalancerId,
        pools,
        baseUrl: endpoint(r, 'CLOUDFLARE_BASE_URL'),
        allowSessionAffinity,
      };
    }
  } else if (manager === 'vercel' && Object.keys(CLOUDFLARE_INPUTS).some((name) => r.has(name))) {
    r.warnings.push('The cloudflare-* inputs are ignored with traffic-manager: vercel.');
  }

  const canary = ctx.strategy === 'canary';
  const steps = r.value('traffic-steps', parseTrafficSteps, canary ? [10, 50, 100] : [100]);
  const gradual = steps.length > 1;
  if (!r.failed('traffic-manager', 'strategy', 'traffic-steps')) {
    const managerText = describeValue(manager);
    // With traffic-manager: vercel a canary is a Vercel Rolling Release whose stages are the steps.
    if (manager === 'vercel' && canary && !gradual) {
      r.problem(
        'traffic-steps',
        `${describeValue(r.input('traffic-steps'))} with strategy "canary" and traffic-manager ${managerText}`,
        'at least one step below 100 (the stages of the Vercel rolling release), e.g. 10,50,100',
      );
    } else if (manager === 'vercel' && gradual && !canary) {
      r.problem(
        'traffic-steps',
        `${describeValue(r.input('traffic-steps'))} with traffic-manager ${managerText}`,
        "'100' with traffic-manager: vercel; gradual steps need strategy: canary (Vercel Rolling Releases) or traffic-manager: cloudflare",
      );
    }
    if (ctx.strategy === 'immediate' && gradual) {
      r.problem(
        'traffic-steps',
        `${describeValue(r.input('traffic-steps'))} with strategy "immediate"`,
        "'100' with strategy: immediate (it switches at once); use blue-green or canary for steps",
      );
    }
  }
  return {
    manager,
    ...(cloudflare ? { cloudflare } : {}),
    steps,
    stepDurationMs: r.value('step-duration', durationAtLeast(0), 120_000),
  };
}
