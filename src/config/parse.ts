/**
 * `parseConfig`: every input and the runner's environment → one typed, validated `Config`, before any
 * network call. Secrets are registered first; then every input is read and every problem collected,
 * and one `InputError` lists them all.
 */
import type { Config, Mode, Strategy } from './types.js';
import { checkTrustedTrigger, readEventPayload, readWorkflowRun, resolveBranch } from './workflow-run.js';
import { describeValue, InputError } from './errors.js';
import { MODES, SELECTORS, STRATEGIES } from './fields.js';
import { parseEnum, parseUrl } from './scalars.js';
import { registerSecrets } from './secrets.js';
import { readCleanup, readRollback, readValidation } from './sections-post.js';
import { readSmoke, readTraffic, readVercel } from './sections-deploy.js';
import { readPrepare, readPreflight, type SectionContext } from './sections-pre.js';
import { Reader, SECRET_ENV, SECRET_INPUTS, type InputSource } from './source.js';
import { parseEnvironmentName } from './values.js';

/**
 * Registers every secret (inputs, the `GITHUB_TOKEN` fallback, AWS credentials from the environment)
 * and its derived forms with `source.setSecret`, before anything else is validated.
 */
function registerAll(source: InputSource): string[] {
  const values = SECRET_INPUTS.map((name) => (source.getInput(name) ?? '').trim());
  const env = [...SECRET_ENV, 'GITHUB_TOKEN'].map((name) => (source.env[name] ?? '').trim());
  return registerSecrets([...values, ...env], (value) => source.setSecret?.(value));
}

function checkSelectors(r: Reader): void {
  for (const [name, supported] of Object.entries(SELECTORS)) {
    const value = r.env(name);
    if (value !== '' && value.toLowerCase() !== supported) {
      r.problem(
        name,
        describeValue(value),
        `${supported} (the only ${name.toLowerCase().replace(/_/g, ' ')} supported), or unset`,
      );
    }
  }
}

/**
 * Reads and validates every input. Throws one `InputError` listing every problem (its `input` is the
 * first bad input); never echoes a secret.
 */
export function parseConfig(source: InputSource): Config {
  const secrets = registerAll(source);
  const r = new Reader(source);

  const mode = r.value<Mode>('mode', (raw, i) => parseEnum(raw, i, MODES), 'deploy');
  const modeKnown = !r.failed('mode');
  const event = r.attempt(() => readEventPayload(source.env, (file) => r.readFile(file))) ?? {};
  const eventName = r.env('GITHUB_EVENT_NAME');
  if (modeKnown) r.attempt(() => checkTrustedTrigger(mode, eventName, event));
  const strategy = r.value<Strategy>('strategy', (raw, i) => parseEnum(raw, i, STRATEGIES), 'blue-green');
  const environment = r.value('environment', parseEnvironmentName, 'production');
  const run = r.attempt(() => readWorkflowRun(source.env, event, parseUrl));
  checkSelectors(r);
  const branch =
    r.attempt(() => resolveBranch(r.input('branch'), modeKnown && mode !== 'rollback', source.env, eventName, event)) ??
    '';

  const githubToken = r.secret('github-token') || r.env('GITHUB_TOKEN');
  if (githubToken === '') r.require('github-token', 'a GitHub token (the default, ${{ github.token }}, works)');
  const productionUrl = r.optional('production-url', parseUrl);
  if (modeKnown && mode !== 'plan') {
    r.require('production-url', `the public production URL (https://…); required with mode: ${mode}`);
  }

  const ctx: SectionContext = { mode: modeKnown ? mode : undefined, strategy, environment, run };
  const preflight = readPreflight(r);
  const prepare = readPrepare(r, ctx);
  const vercel = readVercel(r, ctx);
  const smoke = readSmoke(r, vercel);
  const traffic = readTraffic(r, ctx);
  const validation = readValidation(r, ctx, smoke.performanceThresholdMs);
  const cleanup = readCleanup(r);
  const rollback = readRollback(r);

  if (r.problems.length > 0 || run === undefined) throw new InputError(r.problems, secrets);

  const config: Config = {
    mode,
    strategy,
    environment,
    branch,
    githubToken,
    run,
    preflight,
    prepare,
    vercel,
    smoke,
    traffic,
    validation,
    cleanup,
    rollback,
    secrets,
  };
  if (productionUrl !== undefined) config.productionUrl = productionUrl;
  if (r.warnings.length > 0) config.warnings = [...r.warnings];
  return config;
}
