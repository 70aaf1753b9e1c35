/**
 * The workflow run: who triggered what, where, read once from the runner's environment and the event
 * payload; the branch being deployed; and the refusal of untrusted triggers (SECURITY.md).
 */
import os from 'node:os';
import type { Mode, WorkflowRun } from './types.js';
import { describeValue, fail, InputError } from './errors.js';
import { parseBranchName } from './values.js';

type Env = Record<string, string | undefined>;

function envText(env: Env, name: string): string {
  return (env[name] ?? '').trim();
}

/** Reads `GITHUB_EVENT_PATH`: a missing file (or no path) is `{}`, a file that is not a JSON object is an error. */
export function readEventPayload(env: Env, readFile: (file: string) => string): Record<string, unknown> {
  const file = envText(env, 'GITHUB_EVENT_PATH');
  if (file === '') return {};
  let text: string;
  try {
    text = readFile(file);
  } catch {
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail('GITHUB_EVENT_PATH', file, 'the path of a JSON event payload (the file does not parse as JSON)');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    fail('GITHUB_EVENT_PATH', file, 'the path of a JSON object (the event payload)');
  }
  return parsed as Record<string, unknown>;
}

function urlFromEnv(env: Env, name: string, fallback: string, parse: (raw: string, input: string) => string): string {
  const raw = envText(env, name);
  return raw === '' ? fallback : parse(raw, name);
}

/**
 * Builds the `WorkflowRun`. `GITHUB_REPOSITORY` and `GITHUB_SHA` are required (the runner always sets
 * them); every problem is thrown as one `InputError` naming the environment variables.
 */
export function readWorkflowRun(
  env: Env,
  event: Record<string, unknown>,
  parseUrl: (raw: string, input: string) => string,
): WorkflowRun {
  const problems: InputError[] = [];
  const attempt = <T>(fn: () => T, fallback: T): T => {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      problems.push(err);
      return fallback;
    }
  };
  const repository = envText(env, 'GITHUB_REPOSITORY');
  const [owner, repo] = attempt((): [string, string] => {
    const m = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,99})\/([A-Za-z0-9._-]{1,100})$/.exec(repository);
    if (!m) fail('GITHUB_REPOSITORY', repository, 'owner/name (set by the runner)');
    return [m[1]!, m[2]!];
  }, ['', '']);
  const sha = attempt(() => {
    const value = envText(env, 'GITHUB_SHA');
    if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i.test(value)) {
      fail('GITHUB_SHA', value, 'a full commit SHA (set by the runner)');
    }
    return value.toLowerCase();
  }, '');
  const apiUrl = attempt(() => urlFromEnv(env, 'GITHUB_API_URL', 'https://api.github.com', parseUrl), '');
  const serverUrl = attempt(() => urlFromEnv(env, 'GITHUB_SERVER_URL', 'https://github.com', parseUrl), '');
  const runAttempt = attempt(() => {
    const raw = envText(env, 'GITHUB_RUN_ATTEMPT');
    if (raw === '') return 1;
    if (!/^[1-9]\d{0,5}$/.test(raw)) fail('GITHUB_RUN_ATTEMPT', raw, 'a whole number from 1 (set by the runner)');
    return Number(raw);
  }, 1);
  if (problems.length > 0) throw new InputError(problems.flatMap((p) => p.problems));
  const runId = envText(env, 'GITHUB_RUN_ID');
  return {
    apiUrl,
    serverUrl,
    owner,
    repo,
    sha,
    reviewSha: pullRequestHeadSha(envText(env, 'GITHUB_EVENT_NAME'), event) ?? sha,
    ref: envText(env, 'GITHUB_REF'),
    eventName: envText(env, 'GITHUB_EVENT_NAME'),
    event,
    runId,
    runAttempt,
    job: envText(env, 'GITHUB_JOB'),
    actor: envText(env, 'GITHUB_ACTOR'),
    workflow: envText(env, 'GITHUB_WORKFLOW'),
    runUrl: runId ? `${serverUrl}/${owner}/${repo}/actions/runs/${runId}` : `${serverUrl}/${owner}/${repo}/actions`,
    runnerTemp: envText(env, 'RUNNER_TEMP') || os.tmpdir(),
  };
}

/** A pull request event's head commit, when the payload names a well-formed one. */
function pullRequestHeadSha(eventName: string, event: unknown): string | undefined {
  if (eventName !== 'pull_request' && eventName !== 'pull_request_target') return undefined;
  const head = get(event, 'pull_request', 'head', 'sha');
  return typeof head === 'string' && /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i.test(head) ? head.toLowerCase() : undefined;
}

function get(obj: unknown, ...keys: string[]): unknown {
  let cur = obj;
  for (const key of keys) {
    if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/**
 * The branch being deployed, when no `branch` input is given: the branch of `GITHUB_REF`
 * (`refs/heads/x`), else the head branch the event names (pull request, workflow_run), else
 * `GITHUB_HEAD_REF`. `undefined` when the trigger names no branch (a tag push, for instance).
 */
export function branchFromContext(env: Env, eventName: string, event: Record<string, unknown>): string | undefined {
  const ref = envText(env, 'GITHUB_REF');
  if (ref.startsWith('refs/heads/')) return ref.slice('refs/heads/'.length);
  const candidates = [
    eventName.startsWith('pull_request') ? get(event, 'pull_request', 'head', 'ref') : undefined,
    eventName === 'workflow_run' ? get(event, 'workflow_run', 'head_branch') : undefined,
    envText(env, 'GITHUB_HEAD_REF'),
  ];
  return candidates.find((c): c is string => typeof c === 'string' && c.trim() !== '');
}

/** Resolves and validates the branch; `required` for deploy and plan (pre-flight checks it). */
export function resolveBranch(
  input: string,
  required: boolean,
  env: Env,
  eventName: string,
  event: Record<string, unknown>,
): string {
  if (input !== '') return parseBranchName(input, 'branch');
  const found = branchFromContext(env, eventName, event);
  if (found !== undefined) return parseBranchName(found, 'branch');
  if (!required) return '';
  throw new InputError({
    input: 'branch',
    got: `nothing, and the trigger names no branch (GITHUB_REF=${describeValue(envText(env, 'GITHUB_REF'))})`,
    accepts: 'a branch name; set `branch` when the workflow is triggered by a tag or another ref',
  });
}

/**
 * Refuses triggers that run with this repository's secrets on code or data from a fork: all of
 * `pull_request_target`, and `workflow_run` started by a pull request from another repository.
 */
export function checkTrustedTrigger(mode: Mode, eventName: string, event: Record<string, unknown>): void {
  if (mode !== 'deploy' && mode !== 'rollback') return;
  const accepts =
    'deploy and rollback from trusted triggers only (push, workflow_dispatch, release, schedule, or a workflow_run ' +
    'of a same-repository event); use mode: plan to report on a pull request';
  if (eventName === 'pull_request_target') {
    throw new InputError({ input: 'mode', got: `${describeValue(mode)} on a pull_request_target event`, accepts });
  }
  if (eventName !== 'workflow_run') return;
  const trigger = get(event, 'workflow_run', 'event');
  // Without the payload the origin cannot be checked: refuse rather than assume it is trusted.
  if (typeof trigger !== 'string') {
    throw new InputError({
      input: 'mode',
      got: `${describeValue(mode)} on a workflow_run whose event payload (GITHUB_EVENT_PATH) names no triggering event`,
      accepts,
    });
  }
  if (!trigger.startsWith('pull_request')) return;
  const head = get(event, 'workflow_run', 'head_repository', 'full_name');
  const base = get(event, 'repository', 'full_name') ?? get(event, 'workflow_run', 'repository', 'full_name');
  // A deleted fork has no head repository: unknown origin counts as a fork.
  const fromFork = typeof head !== 'string' || typeof base !== 'string' || head.toLowerCase() !== base.toLowerCase();
  if (fromFork) {
    throw new InputError({
      input: 'mode',
      got: `${describeValue(mode)} on a workflow_run started by a pull request from a fork`,
      accepts,
    });
  }
}
