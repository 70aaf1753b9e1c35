/**
 * The environment a runner would give the action for a scenario's run against the sandbox:
 * `GITHUB_*` context (with an event payload file), provider endpoints and credentials, and every
 * `INPUT_*` the scenario implies. Scenario `inputs` come last and win; `{{KEY}}` in them is
 * replaced by the value of KEY in this environment (e.g. `{{SANDBOX_URL}}`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Scenario } from './core/scenario.ts';
import type { World } from './core/world.ts';
import { type Ctx, pullRequest, user } from './services/github-shapes.ts';
import { payloadRepository } from './services/github-records.ts';
import type { GithubState } from './services/github-state.ts';

/**
 * Where sandbox files go: `SANDBOX_TMPDIR`, else a RAM disk (/dev/shm) with at least 1 GiB free —
 * the sandbox writes a copy of a PostgreSQL cluster and every upload, and on a busy disk that alone
 * can take seconds — else the OS temporary directory.
 */
export function scratchRoot(): string {
  if (process.env.SANDBOX_TMPDIR) return process.env.SANDBOX_TMPDIR;
  try {
    const st = fs.statfsSync('/dev/shm');
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    if (st.bavail * st.bsize > 1024 ** 3) return '/dev/shm';
  } catch {
    // no usable RAM disk
  }
  return os.tmpdir();
}

/** The runner's name for an input: `INPUT_` + upper case, spaces → `_` (hyphens stay). */
export function inputVar(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

function ctxOf(world: World, s: Scenario): Ctx {
  return {
    api: world.urls.github!,
    web: world.urls.github!,
    owner: s.repo.owner,
    repo: s.repo.name,
    repoId: s.repo.id,
    private: s.repo.private,
    defaultBranch: s.repo.defaultBranch,
    createdAt: '2024-01-15T10:00:00Z',
  };
}

/** Write the event payload of the scenario's run (GITHUB_EVENT_PATH) and return its path. */
export function writeEventPayload(world: World, s: Scenario, dir: string): string {
  const c = ctxOf(world, s);
  const gh = world.state.github as GithubState;
  const repository = payloadRepository(c);
  const sender = user(c, s.run.actor);
  let payload: Record<string, unknown>;
  if (s.run.eventName === 'push') {
    const head = gh.commits[s.run.sha];
    const headCommit = head && {
      id: head.sha,
      tree_id: head.sha,
      distinct: true,
      message: head.message,
      timestamp: head.date,
      url: `${c.web}/${c.owner}/${c.repo}/commit/${head.sha}`,
      author: { name: head.author, email: `${head.author}@users.noreply.sandbox`, username: head.author },
      committer: { name: 'GitHub', email: 'noreply@github.com', username: 'web-flow' },
      added: [],
      removed: [],
      modified: ['src/index.ts'],
    };
    payload = {
      ref: `refs/heads/${s.run.branch}`,
      before: head?.parents[0] ?? '0'.repeat(40),
      after: s.run.sha,
      base_ref: null,
      created: false,
      deleted: false,
      forced: false,
      compare: `${c.web}/${c.owner}/${c.repo}/compare/${(head?.parents[0] ?? s.run.sha).slice(0, 12)}...${s.run.sha.slice(0, 12)}`,
      commits: headCommit ? [headCommit] : [],
      head_commit: headCommit ?? null,
      pusher: { name: s.run.actor, email: `${s.run.actor}@users.noreply.sandbox` },
      repository,
      sender,
    };
  } else if (s.run.eventName === 'pull_request' || s.run.eventName === 'pull_request_target') {
    const pr = gh.pulls.find((p) => p.shas.includes(s.run.sha)) ?? gh.pulls[0];
    payload = {
      action: 'synchronize',
      number: pr?.number,
      pull_request: pr ? pullRequest(c, pr, true) : undefined,
      repository,
      sender,
    };
  } else if (s.run.eventName === 'workflow_dispatch') {
    payload = {
      inputs: s.run.dispatchInputs ?? {},
      ref: `refs/heads/${s.run.branch}`,
      repository,
      sender,
      workflow: `.github/workflows/${s.run.workflow.toLowerCase().replace(/\W+/g, '-')}.yml`,
    };
  } else payload = { repository, sender };
  const file = path.join(dir, 'event.json');
  fs.writeFileSync(file, JSON.stringify(payload, null, 2));
  return file;
}

/** The app's health path, from its `sandbox.json` (default `/api/health`). */
function healthPath(appDir: string): string {
  try {
    const knobs = JSON.parse(fs.readFileSync(path.join(appDir, 'sandbox.json'), 'utf8')) as { healthPath?: string };
    return knobs.healthPath ?? '/api/health';
  } catch {
    return '/api/health';
  }
}

export interface EnvInput {
  scenario: Scenario;
  world: World;
  eventPath: string;
  appDir: string;
  vercel: { token: string; teamId: string; projectId: string; bypassSecret?: string };
  cloudflare: { token: string; accountId: string; zoneId: string; loadBalancerId: string; pools: string[] };
  dependencyUrls: string[];
  databaseUrl?: string;
  /** When PostgreSQL could not start: the seed SQL the backup command prints instead. */
  seedFile?: string;
}

/** Build the full environment of the scenario's run. */
export function buildEnv(e: EnvInput): Record<string, string> {
  const { scenario: s, world } = e;
  const u = world.urls;
  const isPr = s.run.eventName.startsWith('pull_request');
  const pr = (world.state.github as GithubState).pulls.find((p) => p.shas.includes(s.run.sha));
  const env: Record<string, string> = {
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_API_URL: u.github!,
    GITHUB_SERVER_URL: u.github!,
    GITHUB_GRAPHQL_URL: `${u.github}/graphql`,
    GITHUB_REPOSITORY: `${s.repo.owner}/${s.repo.name}`,
    GITHUB_REPOSITORY_OWNER: s.repo.owner,
    GITHUB_REPOSITORY_ID: String(s.repo.id),
    GITHUB_SHA: s.run.sha,
    GITHUB_REF: isPr && pr ? `refs/pull/${pr.number}/merge` : `refs/heads/${s.run.branch}`,
    GITHUB_REF_NAME: isPr && pr ? `${pr.number}/merge` : s.run.branch,
    GITHUB_REF_TYPE: 'branch',
    GITHUB_HEAD_REF: isPr && pr ? pr.head : '',
    GITHUB_BASE_REF: isPr && pr ? pr.base : '',
    GITHUB_EVENT_NAME: s.run.eventName,
    GITHUB_EVENT_PATH: e.eventPath,
    GITHUB_RUN_ID: String(s.run.runId),
    GITHUB_RUN_NUMBER: String(s.run.runId % 1000),
    GITHUB_RUN_ATTEMPT: String(s.run.attempt),
    GITHUB_JOB: s.run.job,
    GITHUB_WORKFLOW: s.run.workflow,
    GITHUB_ACTOR: s.run.actor,
    GITHUB_TRIGGERING_ACTOR: s.run.actor,
    VERCEL_API_URL: u.vercel!,
    CLOUDFLARE_BASE_URL: `${u.cloudflare}/client/v4`,
    SLACK_API_URL: `${u.slack}/api`,
    AWS_ENDPOINT_URL_S3: u.s3!,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: s.s3.region,
    // s3rver stores aws-chunked bodies undecoded (it does not decode that encoding): ask the SDK for
    // plain payloads, as users of other S3-compatible stores (R2, MinIO) do.
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    SANDBOX_URL: u.sandbox!,
  };
  if (e.databaseUrl) env.DATABASE_URL = e.databaseUrl;
  const inputs: Record<string, string> = {
    'github-token': s.github.token,
    'production-url': u.lb!,
    'vercel-token': e.vercel.token,
    'vercel-project-id': e.vercel.projectId,
    'vercel-team-id': e.vercel.teamId,
    'working-directory': e.appDir,
    'health-check-path': healthPath(e.appDir),
    'traffic-manager': 'cloudflare',
    'cloudflare-api-token': e.cloudflare.token,
    'cloudflare-account-id': e.cloudflare.accountId,
    'cloudflare-zone-id': e.cloudflare.zoneId,
    'cloudflare-load-balancer-id': e.cloudflare.loadBalancerId,
    'cloudflare-pools': e.cloudflare.pools.join(','),
    'datadog-api-key': s.datadog.apiKey,
    'datadog-app-key': s.datadog.appKey,
    'datadog-site': u.datadog!,
    'slack-token': s.slack.token,
    'slack-channel': s.slack.channel,
    'backup-bucket': s.s3.bucket,
    'aws-region': s.s3.region,
  };
  if (e.vercel.bypassSecret) inputs['vercel-protection-bypass'] = e.vercel.bypassSecret;
  for (const q of s.datadog.queries) if (q.input) inputs[q.input] = q.query;
  if (s.datadog.monitorTags?.length) inputs['datadog-monitor-tags'] = s.datadog.monitorTags.join(',');
  if (e.dependencyUrls.length) inputs['dependency-urls'] = e.dependencyUrls.join(',');
  if (e.databaseUrl) inputs['backup-command'] = 'pg_dump --format=custom --no-owner "$DATABASE_URL"';
  else if (e.seedFile) inputs['backup-command'] = `cat '${e.seedFile.replace(/'/g, `'\\''`)}'`;
  for (const [k, v] of Object.entries(inputs)) env[inputVar(k)] = v;
  for (const [k, v] of Object.entries(s.inputs))
    env[inputVar(k)] = v.replace(/\{\{([A-Z0-9_-]+)\}\}/g, (m, key: string) => env[key] ?? m);
  return env;
}
