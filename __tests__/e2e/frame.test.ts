/**
 * The frame, end to end: dist/index.js and dist/post.js run as the runner runs them. The outcomes
 * that need no sandbox are covered: invalid inputs (no network at all), a run whose services cannot
 * be reached (a full report of a failed run), and the post step for each kind of saved state. In
 * every one, a secret input never appears anywhere but in the runner's own `::add-mask::` command.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunState } from '../../src/pipeline/types.ts';
import { ROOT, runAction, startAction, type ActionRun } from './harness.ts';

/** A random token with characters that JSON, URLs, shells and Markdown all treat specially. */
const SECRET = `tok_${randomBytes(16).toString('base64url')}"\\%|<>&$\`'`;
const forms = [
  SECRET,
  JSON.stringify(SECRET).slice(1, -1),
  encodeURIComponent(SECRET),
  Buffer.from(SECRET).toString('base64'),
];

/** Counts TCP connections: every service URL points here, and the frame must make none. */
let server: Server;
let connections = 0;
let baseUrl = '';

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist', 'index.js')) || !existsSync(join(ROOT, 'dist', 'post.js'))) {
    throw new Error('dist/ is missing: run `npm run bundle` first');
  }
  server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  baseUrl = `http://127.0.0.1:${address.port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

function runnerEnv(): Record<string, string> {
  const workspace = mkdtempSync(join(tmpdir(), 'pd-frame-ws-'));
  const event = join(workspace, 'event.json');
  writeFileSync(event, JSON.stringify({ ref: 'refs/heads/main' }));
  return {
    GITHUB_API_URL: baseUrl,
    GITHUB_SERVER_URL: baseUrl,
    VERCEL_API_URL: baseUrl,
    CLOUDFLARE_BASE_URL: baseUrl,
    SLACK_API_URL: baseUrl,
    AWS_ENDPOINT_URL_S3: baseUrl,
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_EVENT_PATH: event,
    GITHUB_RUN_ID: '4711',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_JOB: 'deploy',
    GITHUB_WORKSPACE: workspace,
  };
}

/** A complete, valid set of deploy inputs; the secret is every token. */
const INPUTS: Record<string, string> = {
  'github-token': SECRET,
  'production-url': 'https://shop.example.com',
  'vercel-token': SECRET,
  'vercel-project-id': 'prj_shop',
  'cloudflare-api-token': SECRET,
  'cloudflare-account-id': 'acc1',
  'cloudflare-zone-id': 'zone1',
  'cloudflare-load-balancer-id': 'lb1',
  'cloudflare-pools': 'pool-a,pool-b',
  'slack-token': SECRET,
  'slack-channel': 'C123',
  'rollback-timeout': '5s',
};

/**
 * The secret (in any encoding) appears nowhere except in the runner's own mask commands; when the
 * run read its inputs (`registered`), it told the runner to mask it (escaped as workflow commands
 * escape data: `%` → `%25`).
 */
function expectNoSecret(run: ActionRun, registered = true): void {
  const places: Record<string, string> = {
    stdout: run.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n'),
    stderr: run.stderr,
    summary: run.files.summary,
    outputs: run.files.output,
    state: run.files.state,
    env: run.files.env,
    report: run.reportText ?? '',
  };
  for (const [where, text] of Object.entries(places)) {
    for (const form of forms) expect(text.includes(form), `secret found in ${where}`).toBe(false);
  }
  if (registered) expect(run.stdout).toContain(`::add-mask::${SECRET.replace(/%/g, '%25')}`);
}

describe('dist/index.js', () => {
  it('fails cleanly on an invalid mode: names the input and what it accepts, contacts nothing', async () => {
    const before = connections;
    const run = await runAction({ entry: 'dist/index.js', env: runnerEnv(), inputs: { ...INPUTS, mode: 'bogus' } });
    expect(run.code).toBe(1);
    const error = run.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '';
    expect(error).toContain('mode');
    expect(error).toContain('deploy, rollback, plan');
    expect(run.stderr).toBe('');
    expect(run.outputs.status).toBe('failed');
    expect(run.summary).toContain('Invalid inputs');
    expect(connections - before).toBe(0);
    expectNoSecret(run);
  });

  it('fails with a full report when the services cannot be reached, and leaks no secret on that path', async () => {
    const before = connections;
    const run = await runAction({ entry: 'dist/index.js', env: runnerEnv(), inputs: INPUTS });
    expect(run.code).toBe(1);
    // Every service URL points at the counting server, which drops each connection: pre-flight
    // cannot read GitHub, so the verdict is no-go (or failed) — never success.
    expect(connections - before).toBeGreaterThan(0);
    expect(['no-go', 'failed']).toContain(run.outputs.status);
    expect(run.outputs.report).toMatch(/production-deploy-production-4711-1\.json$/);
    expect(run.report).toMatchObject({ status: run.outputs.status, mode: 'deploy', outputs: run.outputs });
    expect(run.summary).toMatch(/^## (⛔ No-go|❌ Failed): Deploy to production/);
    const stepsTable = run.summary.split('### Steps')[1]!.split(/\n\n(?=###|<details>)/)[0]!;
    expect(stepsTable.match(/^\| [^|]+ \| (✅|❌|⚠️|⏭️|⚪) /gm)).toHaveLength(7);
    expect(run.stdout).toMatch(/^::group::Pre-flight validation$/m);
    expect(JSON.parse(run.state.run!)).toMatchObject({
      mode: 'deploy',
      phase: run.outputs.status === 'no-go' ? 'no-go' : 'failed',
    });
    expectNoSecret(run);

    // Its post step has nothing to reconcile, says so, and contacts nothing.
    const beforePost = connections;
    const post = await runAction({ entry: 'dist/post.js', env: runnerEnv(), inputs: INPUTS, stateFrom: run });
    expect(post.code).toBe(0);
    expect(post.stdout).toContain('nothing to reconcile: the run ended in phase');
    expect(connections - beforePost).toBe(0);
    expectNoSecret(post, false);
  });
});

describe('dist/post.js', () => {
  const midSwitch: RunState = {
    phase: 'switched',
    mode: 'deploy',
    environment: 'production',
    sha: '0123456789abcdef0123456789abcdef01234567',
    green: { id: 'dpl_green', url: 'green.example.vercel.app' },
    blue: { id: 'dpl_blue', url: 'blue.example.vercel.app' },
    trafficBefore: { kind: 'vercel', productionDeploymentId: 'dpl_blue' },
    greenShare: 100,
  };

  it('does nothing, and says so, when the main step saved no state', async () => {
    const run = await runAction({ entry: 'dist/post.js', env: runnerEnv(), inputs: INPUTS });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('nothing to reconcile: no run state was saved');
  });

  it('does nothing for a state already reconciled (a second post run acts no more)', async () => {
    const before = connections;
    const run = await runAction({
      entry: 'dist/post.js',
      env: runnerEnv(),
      inputs: INPUTS,
      stateFrom: { run: JSON.stringify({ ...midSwitch, reconciled: true, restored: true, phase: 'rolled-back' }) },
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('nothing to reconcile: an earlier post step already reconciled this run');
    expect(connections - before).toBe(0);
  });

  it('fails loudly for a run left mid-switch that it cannot restore, never pretending', async () => {
    const run = await runAction({
      entry: 'dist/post.js',
      env: runnerEnv(),
      inputs: INPUTS,
      stateFrom: { run: JSON.stringify(midSwitch) },
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^::error::production-deploy post: PRODUCTION MAY BE ON THE NEW RELEASE/m);
    expect(run.stdout).toContain('rollback-to: dpl_blue');
    expect(run.state.run === undefined || !JSON.parse(run.state.run).reconciled).toBe(true);
    expectNoSecret(run);
  });
});

describe('harness', () => {
  it('sends a signal when a log line appears, and still collects what the process wrote', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pd-harness-'));
    const script = join(dir, 'waits.mjs');
    writeFileSync(
      script,
      [
        "import { appendFileSync } from 'node:fs';",
        "process.on('SIGINT', () => {",
        "  appendFileSync(process.env.GITHUB_OUTPUT, 'stopped<<EOF\\nby SIGINT\\nEOF\\n');",
        '  process.exit(130);',
        '});',
        "console.log('waiting for a signal');",
        'setInterval(() => {}, 1000);',
      ].join('\n'),
    );
    const running = startAction({ entry: script, kill: { signal: 'SIGINT', whenLine: /^waiting/ }, timeoutMs: 20_000 });
    const run = await running.result;
    expect(run.code).toBe(130);
    expect(run.killedAt).toBeGreaterThanOrEqual(0);
    expect(run.outputs).toEqual({ stopped: 'by SIGINT' });
  });
});
