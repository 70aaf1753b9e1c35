/**
 * The invariant of docs/safety.md, checked against a sandbox after a run (main step, then post step):
 *
 *   production serves exactly one complete, known version (blue or green, never a mix, never nothing);
 *   the GitHub deployment record says which; the rollback target still exists; the backup, if one was
 *   taken, is complete and verified or absent; the job's result says what happened; no secret appeared
 *   anywhere.
 *
 * Each clause is checked from what an outsider can see — the load balancer's configuration and real
 * requests through it, the sandbox's GitHub/Vercel/S3/Slack/Datadog state, the runner's files — never
 * from what the action says about itself. `checkInvariant` returns every violated clause with why.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { LoggedRequest } from '../../../sandbox/core/service.ts';
import type { Sandbox } from '../../../sandbox/index.ts';
import { inputEnvName, runAction, type ActionRun } from '../harness.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export type Clause = 'production' | 'record' | 'rollback-target' | 'backup' | 'result' | 'secrets' | 'post' | 'rerun';

export interface Violation {
  clause: Clause;
  detail: string;
}

/** What the world looked like before the run: who is blue, what existed, which values are secret. */
export interface Baseline {
  blueId: string;
  blueVersion: string;
  /** The commit blue's active GitHub deployment records. */
  blueSha: string;
  greenVersion: string;
  runSha: string;
  bluePool: string;
  greenPool: string;
  environment: string;
  s3Keys: Set<string>;
  /** Every secret value the run was given (tokens, keys, the S3 secret). */
  secrets: string[];
  /**
   * What the run under test does: a deploy (blue → green, the commit being deployed), or
   * `mode: rollback` after a deploy (the release that is live now is "blue", the earlier release it
   * goes back to is "green").
   */
  mode: 'deploy' | 'rollback';
  /** What existed before the run, so that a re-run's duplicates count only what the run made. */
  prior: Duplicates;
  /** A canary through Vercel Rolling Releases: the project's own rolling-release config before the run. */
  rolling?: { config: unknown };
}

/** The inputs and variables whose values are secrets. */
export const SECRET_INPUTS = [
  'github-token',
  'vercel-token',
  'vercel-protection-bypass',
  'cloudflare-api-token',
  'datadog-api-key',
  'datadog-app-key',
  'slack-token',
];

/** The secrets a run with `env` holds (inputs and the S3 secret key). */
export function secretsOf(env: Record<string, string | undefined>): string[] {
  const values = SECRET_INPUTS.map((n) => env[inputEnvName(n)]);
  values.push(env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN);
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v.length >= 4))];
}

/**
 * The forms a secret can take on the way out: itself (each line of a multi-line value), URL-encoded
 * (both flavours), JSON-escaped, base64 and base64url. Forms shorter than 6 characters are dropped:
 * they would match ordinary text by chance (the action itself does not mask fragments under 4).
 */
export function leakForms(secret: string): string[] {
  const lines = secret.split(/\r\n|\r|\n/).map((l) => l.trim());
  const raw = lines.length > 1 ? lines : [secret];
  const b = Buffer.from(secret, 'utf8');
  const forms = [
    ...raw,
    encodeURIComponent(secret),
    new URLSearchParams({ v: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
    b.toString('base64'),
    b.toString('base64url'),
  ];
  return [...new Set(forms.filter((f) => f.length >= 6))];
}

/** Where a secret (in any form) appears in `text`, as `name: form` lines; `::add-mask::` lines excepted. */
export function findLeaks(name: string, text: string, secrets: readonly string[]): string[] {
  const out: string[] = [];
  const body = text
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');
  for (const s of secrets) {
    for (const form of leakForms(s)) {
      if (body.includes(form))
        out.push(`${name} holds a form of a secret (${form.length} chars, starts ${JSON.stringify(form.slice(0, 3))})`);
    }
  }
  return out;
}

export async function sandboxState(sb: Sandbox): Promise<Json> {
  return (await fetch(`${sb.urls.sandbox}/_sandbox/state`)).json();
}

/** Reads blue, green and the starting world from a freshly started sandbox (before the run). */
export async function takeBaseline(sb: Sandbox): Promise<Baseline> {
  return baselineOf(sb, await sandboxState(sb));
}

function baselineOf(sb: Sandbox, st: Json): Baseline {
  const lb = st.cloudflare.loadBalancers[0];
  const weights = lb.pool_weights as Record<string, number>;
  const bluePool = Object.keys(weights).find((p) => weights[p]! > 0)!;
  const greenPool = Object.keys(weights).find((p) => p !== bluePool)!;
  const host = poolHost(st, bluePool);
  const blueId = st.vercel.aliases[host] as string;
  const blue = (st.vercel.deployments as Json[]).find((d) => d.id === blueId);
  const env = sb.env[inputEnvName('environment')] ?? 'production';
  const active = currentDeployment(st.github.deployments as Json[], env);
  const greenVersion = sb.scenario.deploy.version;
  return {
    blueId,
    blueVersion: blue.version,
    blueSha: active?.sha ?? '',
    greenVersion,
    runSha: sb.env.GITHUB_SHA!,
    bluePool,
    greenPool,
    environment: env,
    s3Keys: new Set((st.s3.objects as Json[]).map((o) => o.key as string)),
    secrets: secretsOf(sb.env),
    mode: 'deploy',
    prior: countsOf(st, greenVersion),
    ...(sb.env[inputEnvName('traffic-manager')] === 'vercel' && sb.env[inputEnvName('strategy')] === 'canary'
      ? { rolling: { config: st.vercel.projects[0].rollingReleaseConfig ?? null } }
      : {}),
  };
}

/**
 * The baseline of `mode: rollback` run after a deploy: `before` is the baseline taken before that
 * deploy. What serves now (the deploy's green) is blue; the release before it, the rollback's
 * target, is green, with the commit its record named.
 */
export async function takeRollbackBaseline(sb: Sandbox, before: Baseline): Promise<Baseline> {
  const st = await sandboxState(sb);
  const now = baselineOf(sb, st);
  return {
    ...now,
    greenVersion: before.blueVersion,
    runSha: before.blueSha,
    mode: 'rollback',
    prior: countsOf(st, before.blueVersion),
  };
}

function poolHost(st: Json, pool: string): string {
  const p = (st.cloudflare.pools as Json[]).find((x) => x.id === pool);
  return p?.origins?.[0]?.host ?? '';
}

const latest = (d: Json): string | undefined => (d.statuses as Json[]).at(-1)?.state;

/** GitHub's "active" deployment of an environment: the newest whose latest status is success. */
function currentDeployment(deployments: Json[], environment: string): Json | undefined {
  return deployments
    .filter((d) => d.environment === environment && latest(d) === 'success')
    .sort((a, b) => b.id - a.id)[0];
}

/** Which version answers `n` requests through the load balancer (`x-app-version`, else the status). */
export async function sampleProduction(sb: Sandbox, n = 12): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    let key: string;
    try {
      const res = await fetch(`${sb.urls.production}/api/health`, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      key = res.status === 200 ? (res.headers.get('x-app-version') ?? 'no version header') : `HTTP ${res.status}`;
    } catch (err) {
      key = `error ${(err as Error).message}`;
    }
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

export interface RunEvidence {
  main: ActionRun;
  /** The post step runs, in order (the first is the runner's; a second proves idempotence). */
  posts: ActionRun[];
  /** API requests the first post run made. */
  firstPostRequests?: LoggedRequest[];
  /** API requests the last post run made, when more than one post ran. */
  lastPostRequests?: LoggedRequest[];
  /** The main step was stopped by a signal (cancellation tests): outputs may be partial. */
  cancelled?: boolean;
}

export interface InvariantResult {
  holds: boolean;
  violations: Violation[];
  /** Which slot serves production after the run: blue, green, or what was seen instead. */
  live: 'blue' | 'green' | string;
  status?: string;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A GitHub GraphQL query: a POST, but a read (a mutation would count as a write). */
function isGraphqlQuery(r: LoggedRequest): boolean {
  const query = (r.body as { query?: unknown } | undefined)?.query;
  return r.path.endsWith('/graphql') && typeof query === 'string' && !/^\s*mutation\b/.test(query);
}

/**
 * The post step as the runner runs it after `main`, then once more: the repeat must change nothing.
 * Returns both runs and the API requests each made.
 */
export async function postTwice(
  sb: Sandbox,
  env: Record<string, string>,
  main: ActionRun,
  dist: string,
): Promise<Pick<RunEvidence, 'posts' | 'firstPostRequests' | 'lastPostRequests'>> {
  const since = (seq: number) => sb.world.traffic.requests.filter((r) => r.seq > seq);
  const lastSeq = () => sb.world.traffic.requests.at(-1)?.seq ?? 0;
  const seq0 = lastSeq();
  const post1 = await runAction({ entry: join(dist, 'post.js'), env, stateFrom: main, timeoutMs: 120_000 });
  const firstPostRequests = since(seq0);
  const seq1 = lastSeq();
  const post2 = await runAction({ entry: join(dist, 'post.js'), env, stateFrom: main, timeoutMs: 120_000 });
  return { posts: [post1, post2], firstPostRequests, lastPostRequests: since(seq1) };
}

/**
 * The mutating requests of the repeated post step that count as acting twice. A request the injected
 * fault answered changed nothing (a post step trying again to close a record the fault keeps refusing).
 * And when the first post step failed saying so (`::error::`: it could not finish, e.g. S3 still
 * claims the unverified upload is there), the repeat may try the same requests again — that is the
 * retry a person re-running the job would make — but nothing the first one did not.
 */
export function repeatedPostActions(ev: RunEvidence): LoggedRequest[] {
  const mutating = (r: LoggedRequest) =>
    MUTATING.has(r.method) && r.service !== 'sandbox' && !r.fault && !isGraphqlQuery(r);
  const muts = (ev.lastPostRequests ?? []).filter(mutating);
  const first = ev.posts[0];
  const unfinished = first !== undefined && first.code !== 0 && /^::error::/m.test(first.stdout);
  if (!unfinished) return muts;
  const tried = new Set(
    (ev.firstPostRequests ?? []).filter((r) => MUTATING.has(r.method)).map((r) => `${r.method} ${r.path}`),
  );
  return muts.filter((r) => !tried.has(`${r.method} ${r.path}`));
}

/**
 * Checks every clause. Fault rules are cleared first: the invariant is about the state the run left,
 * read through the sandbox, not about whether a faulted endpoint still answers.
 */
export async function checkInvariant(sb: Sandbox, base: Baseline, ev: RunEvidence): Promise<InvariantResult> {
  sb.world.traffic.faults = [];
  const v: Violation[] = [];
  const add = (clause: Clause, detail: string) => v.push({ clause, detail });
  const st = await sandboxState(sb);

  // Production: exactly one pool takes traffic, its slot host serves a known version, and real requests agree.
  const lb = st.cloudflare.loadBalancers[0];
  const weights = lb.pool_weights as Record<string, number>;
  const liveKeys = Object.keys(weights).filter((p) => weights[p]! > 0);
  let live: string = 'none';
  if (liveKeys.length !== 1)
    add('production', `${liveKeys.length} pools carry traffic (weights ${JSON.stringify(weights)})`);
  else {
    const pool = liveKeys[0]!;
    const dep = (st.vercel.deployments as Json[]).find((d) => d.id === st.vercel.aliases[poolHost(st, pool)]);
    const version = dep?.version as string | undefined;
    live =
      version === base.blueVersion
        ? 'blue'
        : version === base.greenVersion
          ? 'green'
          : `unknown (${version ?? 'no deployment'})`;
    if (!dep) add('production', `the live pool's hostname ${poolHost(st, pool)} points at no deployment`);
    else if ((dep.readyState ?? dep.state) !== 'READY')
      add('production', `the live deployment ${dep.id} is ${dep.readyState ?? dep.state}`);
    if (live.startsWith('unknown')) add('production', `production is on ${live}`);
    if (lb.fallback_pool !== pool)
      add('production', `fallback pool ${lb.fallback_pool} is not the live pool ${pool}: a mix is left behind`);
  }
  const seen = await sampleProduction(sb);
  const versions = Object.keys(seen);
  const expected = live === 'blue' ? base.blueVersion : live === 'green' ? base.greenVersion : undefined;
  if (versions.length !== 1 || versions[0] !== expected) {
    add(
      'production',
      `requests through the load balancer were answered by ${JSON.stringify(seen)}, expected only ${expected ?? 'one known version'}`,
    );
  }

  // Record: none of our records left open; the environment's active deployment is the live version's commit.
  const deployments = (st.github.deployments as Json[]).filter((d) => d.environment === base.environment);
  for (const d of deployments.filter((x) => x.payload?.tool === 'production-deploy')) {
    const s = latest(d);
    if (s === undefined || s === 'in_progress' || s === 'queued' || s === 'pending') {
      add('record', `GitHub deployment ${d.id} is left ${s ?? 'without a status'}`);
    }
  }
  const active = currentDeployment(deployments, base.environment);
  const liveSha = live === 'blue' ? base.blueSha : live === 'green' ? base.runSha : undefined;
  if (liveSha && active?.sha !== liveSha) {
    add(
      'record',
      `the active GitHub deployment is ${active ? `${active.id} (${String(active.sha).slice(0, 7)})` : 'none'}, but production serves ${live} (${liveSha.slice(0, 7)})`,
    );
  }

  // Rollback target: blue still exists and is ready; while green is live, blue keeps its slot hostname.
  const blue = (st.vercel.deployments as Json[]).find((d) => d.id === base.blueId);
  if (!blue) add('rollback-target', `blue ${base.blueId} no longer exists`);
  else if ((blue.readyState ?? blue.state) !== 'READY')
    add('rollback-target', `blue ${base.blueId} is ${blue.readyState ?? blue.state}`);
  // (A rolling release has no slots: both pools reach the production domain.)
  if (!base.rolling && live === 'green' && st.vercel.aliases[poolHost(st, base.bluePool)] !== base.blueId) {
    add('rollback-target', `blue's slot ${poolHost(st, base.bluePool)} no longer points at blue ${base.blueId}`);
  }
  // Rolling Releases: no release left running, and the project's own config as it was.
  if (base.rolling) {
    const project = st.vercel.projects[0];
    const rr = project.rollingRelease;
    if (rr?.state === 'ACTIVE')
      add('production', `a rolling release of ${rr.canaryDeploymentId} is left active at ${rr.activeStage}%`);
    if (JSON.stringify(project.rollingReleaseConfig ?? null) !== JSON.stringify(base.rolling.config))
      add(
        'production',
        `the project's rolling-release config is ${JSON.stringify(project.rollingReleaseConfig)}, not ${JSON.stringify(base.rolling.config)} as before the run`,
      );
  }

  // Backup: every new object is complete and marked verified (its sha256 metadata matches its bytes).
  const newKeys = (st.s3.objects as Json[]).map((o) => o.key as string).filter((k) => !base.s3Keys.has(k));
  if (newKeys.length > 0) await checkBackups(sb, newKeys, ev.main.outputs, add);
  if (ev.main.outputs['backup-key'] && !newKeys.includes(ev.main.outputs['backup-key'])) {
    add('backup', `the backup-key output names ${ev.main.outputs['backup-key']}, which does not exist`);
  }

  // Result: the status output, the exit code and where production is tell the same story.
  checkResult(ev, live, base.mode, add);

  // Post: a second post run changes nothing (repeatedPostActions says what may be repeated).
  const muts = repeatedPostActions(ev);
  if (ev.posts.length > 1 && muts.length > 0) {
    add(
      'post',
      `the repeated post step made ${muts.length} mutating request(s): ${muts.map((r) => `${r.method} ${r.path}`).join(', ')}`,
    );
  }

  // Secrets: nowhere the action writes, nor anything the services kept from it.
  const runs = [['main', ev.main], ...ev.posts.map((p, i) => [`post ${i + 1}`, p] as const)] as const;
  for (const [name, run] of runs) {
    for (const [where, text] of Object.entries({
      stdout: run.stdout,
      stderr: run.stderr,
      ...run.files,
      report: run.reportText ?? '',
    })) {
      for (const leak of findLeaks(`${name} ${where}`, text, base.secrets)) add('secrets', leak);
    }
  }
  const kept = {
    'PR comments': st.github.comments,
    'GitHub deployments': st.github.deployments,
    'Slack messages': st.slack.messages,
    'Datadog events': [st.datadog.events, st.datadog.doraDeployments],
    'Vercel deployments': (st.vercel.deployments as Json[]).map((d) => ({ meta: d.meta, name: d.name })),
  };
  for (const [where, value] of Object.entries(kept)) {
    for (const leak of findLeaks(where, JSON.stringify(value ?? null), base.secrets)) add('secrets', leak);
  }
  return { holds: v.length === 0, violations: v, live, status: ev.main.outputs.status };
}

function checkResult(ev: RunEvidence, live: string, mode: Baseline['mode'], add: (c: Clause, d: string) => void): void {
  const { main } = ev;
  const status = main.outputs.status;
  if (!status) {
    add('result', `no status output (exit ${main.code ?? main.signal})`);
    return;
  }
  if ((main.code === 0) !== (status === 'success'))
    add('result', `status ${status} but exit code ${main.code ?? main.signal}`);
  if (status === 'success' && live !== 'green') add('result', `status success but production is on ${live}`);
  if (status !== 'success' && live === 'green') {
    // Stopped after validation passed: green is live and validated, and the reason must say it was cancelled.
    const validated = ev.cancelled && main.report?.state.phase === 'validated' && /cancelled/.test(main.report.reason);
    // A rollback that reached its target but could not confirm it healthy stays there (going back to
    // the release it left is not the answer) and must say so.
    const stayed = mode === 'rollback' && /production is on \S+, but/.test(main.report?.reason ?? '');
    if (!validated && !stayed) add('result', `status ${status} but production is on green`);
  }
  if (status === 'rolled-back' && main.outputs['rolled-back'] !== 'true')
    add('result', 'status rolled-back but rolled-back output is not true');
  if (main.code !== 0 && !/^::error::/m.test(main.stdout)) add('result', `exit ${main.code} without an ::error:: line`);
  if (main.report && main.report.status !== status)
    add('result', `report says ${main.report.status}, output says ${status}`);
  // Invalid inputs end before the run begins: one error naming the input, no report (nothing ran).
  const inputError = /^::error::(Invalid input `|\d+ inputs are invalid)/m.test(main.stdout);
  if (!main.report && !ev.cancelled && !inputError) add('result', 'no report file');
  for (const [i, post] of ev.posts.entries()) {
    if (post.code !== 0 && live !== 'blue')
      add('result', `post step ${i + 1} failed (exit ${post.code}) with production on ${live}`);
  }
}

async function checkBackups(
  sb: Sandbox,
  keys: string[],
  outputs: Record<string, string>,
  add: (c: Clause, d: string) => void,
): Promise<void> {
  const s3 = new S3Client({
    region: sb.env.AWS_REGION ?? 'us-east-1',
    endpoint: sb.env.AWS_ENDPOINT_URL_S3,
    forcePathStyle: true,
    credentials: { accessKeyId: sb.env.AWS_ACCESS_KEY_ID!, secretAccessKey: sb.env.AWS_SECRET_ACCESS_KEY! },
  });
  const bucket = sb.scenario.s3.bucket;
  try {
    // A large backup's checksum lives in a `.sha256` file beside it (src/providers/s3.ts), not in its metadata.
    for (const key of keys.filter((k) => !k.endsWith('.sha256'))) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const bytes = Buffer.from(await obj.Body!.transformToByteArray());
      const actual = createHash('sha256').update(bytes).digest('hex');
      let marked = head.Metadata?.sha256;
      if (!marked && keys.includes(`${key}.sha256`)) {
        const side = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${key}.sha256` }));
        marked = /^[0-9a-f]{64}/.exec(((await side.Body?.transformToString()) ?? '').trim())?.[0];
      }
      if (!marked) add('backup', `backup ${key} (${bytes.length} bytes) was left without its verified checksum`);
      else if (marked !== actual)
        add('backup', `backup ${key}: its bytes hash to ${actual}, its metadata says ${marked}`);
      if (bytes.length === 0) add('backup', `backup ${key} is empty`);
      if (outputs['backup-key'] === key && outputs['backup-sha256'] && outputs['backup-sha256'] !== actual) {
        add('backup', `backup-sha256 output ${outputs['backup-sha256']} does not match the object (${actual})`);
      }
    }
  } finally {
    s3.destroy();
  }
}

/** One line per violation, for assertion messages. */
export function describeViolations(r: InvariantResult): string {
  return r.violations.map((x) => `[${x.clause}] ${x.detail}`).join('\n');
}

/** What a second attempt may not leave behind: counts that must not grow past one per run. */
export interface Duplicates {
  /** Vercel deployments of the version being deployed. */
  greens: number;
  /** GitHub deployments this action recorded. */
  records: number;
  /** PR comments this action wrote. */
  comments: number;
  /** Top-level Slack messages (thread replies are the run's updates, not new notifications). */
  slackMessages: number;
  /** Datadog events, by title. */
  eventTitles: Record<string, number>;
}

/** What the run made (everything in the sandbox now, less what was there before it). */
export async function countDuplicates(sb: Sandbox, base: Baseline): Promise<Duplicates> {
  const now = countsOf(await sandboxState(sb), base.greenVersion);
  const p = base.prior;
  const eventTitles: Record<string, number> = {};
  for (const [title, n] of Object.entries(now.eventTitles)) {
    if (n - (p.eventTitles[title] ?? 0) > 0) eventTitles[title] = n - (p.eventTitles[title] ?? 0);
  }
  return {
    greens: now.greens - p.greens,
    records: now.records - p.records,
    comments: now.comments - p.comments,
    slackMessages: now.slackMessages - p.slackMessages,
    eventTitles,
  };
}

function countsOf(st: Json, greenVersion: string): Duplicates {
  const eventTitles: Record<string, number> = {};
  for (const e of st.datadog.events as Json[]) eventTitles[e.title] = (eventTitles[e.title] ?? 0) + 1;
  return {
    greens: (st.vercel.deployments as Json[]).filter((d) => d.version === greenVersion).length,
    records: (st.github.deployments as Json[]).filter((d) => d.payload?.tool === 'production-deploy').length,
    comments: (st.github.comments as Json[]).filter((c) => String(c.body).includes('production-deploy')).length,
    slackMessages: (st.slack.messages as Json[]).filter(
      (m) => !(m.threadTs ?? m.thread_ts) || (m.threadTs ?? m.thread_ts) === m.ts,
    ).length,
    eventTitles,
  };
}

/**
 * A second attempt of the same run (GITHUB_RUN_ATTEMPT=2) completes or refuses cleanly, and the two
 * attempts together made at most one green, one GitHub deployment, one PR comment, one Slack message
 * and one event of each kind.
 */
export function checkRerun(second: ActionRun, dup: Duplicates, mode: Baseline['mode'] = 'deploy'): Violation[] {
  const v: Violation[] = [];
  const status = second.outputs.status;
  if (!status) v.push({ clause: 'result', detail: `attempt 2 wrote no status (exit ${second.code ?? second.signal})` });
  else if (status !== 'success' && (second.code === 0 || !/^::error::/m.test(second.stdout))) {
    v.push({ clause: 'result', detail: `attempt 2 ended ${status} without failing the job with a message` });
  }
  // A rollback goes back to a deployment that exists: it makes none.
  const greens = mode === 'rollback' ? 0 : 1;
  if (dup.greens > greens)
    v.push({
      clause: 'rerun',
      detail: `${dup.greens} new Vercel deployments of the release (${greens === 0 ? 'none' : 'one'} expected)`,
    });
  if (dup.records > 1) v.push({ clause: 'rerun', detail: `${dup.records} GitHub deployments for one run` });
  if (dup.comments > 1)
    v.push({ clause: 'rerun', detail: `${dup.comments} PR comments (one per environment, edited in place)` });
  if (dup.slackMessages > 1)
    v.push({ clause: 'rerun', detail: `${dup.slackMessages} top-level Slack messages for one run` });
  for (const [title, n] of Object.entries(dup.eventTitles)) {
    if (n > 1) v.push({ clause: 'rerun', detail: `Datadog event "${title}" sent ${n} times` });
  }
  return v;
}
