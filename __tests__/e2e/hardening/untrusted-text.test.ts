/**
 * Untrusted text (docs/safety.md, "How it is tested"): commit messages, the PR title and Vercel build log
 * lines carrying workflow commands (`::set-output`, `::add-mask::`, `::error::`, `::stop-commands::`)
 * and Markdown/HTML/Slack injection are shown inert: in the log only inside `::stop-commands::<token>`
 * blocks whose token is unguessable, never as a command; escaped in the job summary, the PR comment
 * and Slack; and they set no output and export nothing.
 *
 * 1. A successful deploy whose commits, PR title and build log all carry the payloads.
 * 2. A build that fails with the payloads in its error, so they reach the failure reason, the summary
 *    and the job's error line.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { APP_ROOT, startSandbox } from '../../../sandbox/index.ts';
import { inputEnvName, runAction, type ActionRun } from '../harness.ts';
import { checkInvariant, describeViolations, sandboxState, takeBaseline } from './invariant.ts';
import { DIST, matrixScenario } from './matrix.ts';

/** Workflow commands a remote text may try; the runner acts on a line that starts with one. */
const COMMANDS = [
  '::set-output name=status::pwned',
  '::add-mask::PWNEDMASK',
  '::error title=PWNED::pwned annotation',
  '::warning::PWNEDWARN',
  '::stop-commands::PWNEDSTOP',
  '::PWNEDSTOP::',
  '::set-env name=NODE_OPTIONS::--require=/tmp/pwned.js',
  '::add-path::/tmp/pwned',
  '::save-state name=run::{"phase":"validated"}',
];
/** Markup that would render as HTML, a link, a mention or a broken table if not escaped. */
const MARKUP = [
  '<img src=x onerror=alert(1)>',
  '<script>alert(1)</script>',
  '</details><h1>PWNEDHTML</h1>',
  '[click](javascript:alert(1))',
  '| pwned | cell |',
  '<!channel>',
  '<https://evil.example|click me>',
  '@here',
];
/** The raw forms that must never reach a rendered surface: GitHub Markdown (HTML, links) and Slack mrkdwn (`<…>`). */
const RAW_MARKDOWN = ['<img', '<script', '</details><h1>', '](javascript:', '<!channel>'];
const RAW_SLACK = ['<img', '<script', '<!channel>', '<https://evil.example|'];

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

/** A copy of a sample app whose build log (and optionally build error) carries the payloads. */
function appWithPayloads(version: string, buildError?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pd-untrusted-app-'));
  temps.push(dir);
  cpSync(join(APP_ROOT, version), dir, { recursive: true });
  const log = readFileSync(join(dir, 'build-log.txt'), 'utf8');
  writeFileSync(join(dir, 'build-log.txt'), `${[...COMMANDS, ...MARKUP].join('\n')}\n${log}`);
  if (buildError) {
    const knobs = JSON.parse(readFileSync(join(dir, 'sandbox.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'sandbox.json'), JSON.stringify({ ...knobs, buildError }));
  }
  return dir;
}

const payload = [...COMMANDS, ...MARKUP].join('\n');
const scenarioExtra = {
  repo: {
    commits: [
      { sha: '897d52c9c7492353ba487995ff78a02572dd981c', message: 'Release v0', author: 'carol' },
      { sha: '4c60a8b4d322696fd694f86492b603349eb97cca', message: 'Release v1: product pages', author: 'carol' },
      { sha: 'e42680a3dda789e107a0a3ccb9f45835445f4166', message: `${COMMANDS[0]}\n\n${payload}`, author: 'mallory' },
      {
        sha: 'c063502a72638f829a159c1a27c08e9dc9ef1993',
        message: `Merge pull request #42 ${MARKUP[0]} ${COMMANDS[2]}\n\n${payload}`,
        author: 'bob',
      },
    ],
  },
  github: {
    pulls: [
      {
        number: 42,
        title: `${COMMANDS[1]} ${MARKUP.join(' ')}`,
        author: 'bob',
        state: 'closed',
        merged: true,
        base: 'main',
        head: 'checkout-v2',
        headSha: '306866b74e6f89e55c09f8847253419dfdbd318b',
        mergeCommitSha: 'c063502a72638f829a159c1a27c08e9dc9ef1993',
        body: payload,
        reviews: [{ user: 'carol', state: 'APPROVED' }],
      },
    ],
  },
};

/** Lines of stdout outside every `::stop-commands::` block, and the tokens of the blocks. */
function outsideStopBlocks(stdout: string): { lines: string[]; tokens: string[] } {
  const lines: string[] = [];
  const tokens: string[] = [];
  let open: string | undefined;
  for (const line of stdout.split('\n')) {
    if (open) {
      if (line === `::${open}::`) open = undefined;
      continue;
    }
    const m = /^::stop-commands::(.*)$/.exec(line);
    if (m) {
      open = m[1]!;
      tokens.push(open);
      continue;
    }
    lines.push(line);
  }
  return { lines, tokens };
}

/** `printsRemote`: the run printed remote text, so it must have opened stop-commands blocks. */
function expectInertLog(run: ActionRun, printsRemote = true): void {
  const { lines, tokens } = outsideStopBlocks(run.stdout);
  for (const line of lines) {
    const t = line.trimStart();
    for (const c of COMMANDS) expect(t.startsWith(c), `a remote workflow command reached the log: ${line}`).toBe(false);
    if (t.startsWith('::add-mask::')) expect(t).not.toContain('PWNED');
    expect(
      t.startsWith('::set-output') ||
        t.startsWith('::set-env') ||
        t.startsWith('::add-path') ||
        t.startsWith('::save-state'),
    ).toBe(false);
  }
  if (printsRemote) expect(tokens.length, 'remote text was printed without stop-commands').toBeGreaterThan(0);
  for (const token of tokens) {
    // Unguessable: 128 bits or more of hex, never one the remote text chose, never reused.
    expect(token).toMatch(/^[0-9a-f]{32,}$/);
    expect(payload).not.toContain(token);
  }
  expect(new Set(tokens).size).toBe(tokens.length);
  // Nothing remote became an output, an exported variable or saved state.
  expect(run.outputs.status).not.toBe('pwned');
  expect(run.files.env).toBe('');
  expect(run.files.output + run.files.state).not.toContain('PWNED');
  expect(run.files.state).not.toContain('pwned');
}

function expectEscaped(where: string, text: string, raws = RAW_MARKDOWN): void {
  for (const raw of raws) expect(text.includes(raw), `${where} holds raw ${raw}`).toBe(false);
}

describe('untrusted text is shown inert', () => {
  it('in a deploy whose commits, PR title and build log carry commands and markup', async () => {
    const sb = await startSandbox({ scenario: matrixScenario([], 'untrusted', scenarioExtra) });
    try {
      const base = await takeBaseline(sb);
      const env = { ...sb.env, [inputEnvName('working-directory')]: appWithPayloads('v2') };
      const main = await runAction({ entry: join(DIST, 'index.js'), env, timeoutMs: 180_000 });
      const post = await runAction({ entry: join(DIST, 'post.js'), env, stateFrom: main, timeoutMs: 60_000 });
      expect(main.outputs.status, main.stdout.slice(-3000)).toBe('success');
      // The build log really was streamed (inside a block), so the check below means something.
      expect(main.stdout).toContain('::error title=PWNED::pwned annotation');
      expectInertLog(main);
      expectInertLog(post, false);
      const st = await sandboxState(sb);
      expectEscaped('the job summary', main.summary);
      for (const c of st.github.comments as { body: string }[]) expectEscaped('the PR comment', c.body);
      expectEscaped('Slack', JSON.stringify(st.slack.messages), RAW_SLACK);
      const inv = await checkInvariant(sb, base, { main, posts: [post] });
      expect(inv.holds, describeViolations(inv)).toBe(true);
    } finally {
      await sb.stop();
    }
  });

  it('in a failed build whose error carries them into the failure reason and the summary', async () => {
    const error = `${COMMANDS[2]} ${MARKUP.join(' ')}`;
    const sb = await startSandbox({ scenario: matrixScenario([], 'untrusted-build', scenarioExtra) });
    try {
      const base = await takeBaseline(sb);
      const env = { ...sb.env, [inputEnvName('working-directory')]: appWithPayloads('broken-build', error) };
      const main = await runAction({ entry: join(DIST, 'index.js'), env, timeoutMs: 180_000 });
      const post = await runAction({ entry: join(DIST, 'post.js'), env, stateFrom: main, timeoutMs: 60_000 });
      expect(main.outputs.status, main.stdout.slice(-3000)).toBe('failed');
      // The build error reached the summary, escaped (so the check below is not vacuous).
      expect(main.summary).toContain('onerror=alert');
      expectInertLog(main);
      expectEscaped('the job summary', main.summary);
      const st = await sandboxState(sb);
      for (const c of st.github.comments as { body: string }[]) expectEscaped('the PR comment', c.body);
      expectEscaped('Slack', JSON.stringify(st.slack.messages), RAW_SLACK);
      const inv = await checkInvariant(sb, base, { main, posts: [post] });
      expect(inv.holds, describeViolations(inv)).toBe(true);
    } finally {
      await sb.stop();
    }
  });
});
