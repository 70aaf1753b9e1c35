/**
 * Secrets (docs/safety.md, invariant clause 6): random tokens with the characters that break naive
 * redaction (`"\/%+=&?#`) and a multi-line value never appear — raw, URL-encoded, JSON-escaped or
 * base64 — in stdout, stderr, outputs, GITHUB_ENV, GITHUB_STATE, the summary, the report, the PR
 * comment, Slack, Datadog events, GitHub deployments or Vercel's deployment meta.
 *
 * 1. Every service accepts the run's random tokens: a whole deploy handles them.
 * 2. Each service in turn is given a wrong random token while the sandbox echoes the credential it
 *    received into its error body (`/_sandbox/echo-credentials`), so the action's error path holds
 *    the secret in hand; GitHub's is checked too with a multi-line token, which cannot even be sent.
 * After each run the whole invariant must hold (a refused token leaves production on blue).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startSandbox } from '../../../sandbox/index.ts';
import { inputEnvName, runAction } from '../harness.ts';
import { checkInvariant, describeViolations, secretsOf, takeBaseline } from './invariant.ts';
import { DIST, matrixScenario } from './matrix.ts';

/** A random token with every character that URL-encoding, JSON-escaping or a shell would change. */
function token(prefix: string): string {
  return `${prefix}${randomBytes(9).toString('base64url')}"\\/%+=&?#${randomBytes(6).toString('hex')}`;
}

const ACCEPTED = {
  github: { token: token('ghs_') },
  vercel: { token: token('vc_'), project: { bypassSecret: token('byp_') } },
  cloudflare: { token: token('cf_') },
  datadog: { apiKey: token('ddapi_'), appKey: token('ddapp_') },
  slack: { token: token('xoxb-') },
};

interface Refusal {
  name: string;
  input: string;
  value: string;
  /** The service that must have echoed it back (none: the value cannot even be sent). */
  echoedBy?: string;
}

const REFUSALS: Refusal[] = [
  { name: 'GitHub refuses the token', input: 'github-token', value: token('ghp_'), echoedBy: 'github' },
  {
    name: 'GitHub token is multi-line',
    input: 'github-token',
    value: `${token('line1_')}\n${token('line2_')}\n${token('line3_')}`,
  },
  { name: 'Vercel refuses the token', input: 'vercel-token', value: token('vc_'), echoedBy: 'vercel' },
  { name: 'Cloudflare refuses the token', input: 'cloudflare-api-token', value: token('cf_'), echoedBy: 'cloudflare' },
  { name: 'Datadog refuses the key', input: 'datadog-api-key', value: token('dd_'), echoedBy: 'datadog' },
  { name: 'Slack refuses the token', input: 'slack-token', value: token('xoxb-'), echoedBy: 'slack' },
];

let running = 0;
const waiting: (() => void)[] = [];
async function slot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= 2) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

describe.concurrent('secrets never appear anywhere', () => {
  it('a whole deploy with random tokens of awkward characters', () =>
    slot(async () => {
      const sb = await startSandbox({ scenario: matrixScenario([], 'secrets', ACCEPTED) });
      try {
        const base = await takeBaseline(sb);
        expect(base.secrets).toEqual(
          expect.arrayContaining([
            ACCEPTED.github.token,
            ACCEPTED.datadog.appKey,
            ACCEPTED.vercel.project.bypassSecret,
          ]),
        );
        const main = await runAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 180_000 });
        const post = await runAction({ entry: join(DIST, 'post.js'), env: sb.env, stateFrom: main, timeoutMs: 60_000 });
        const inv = await checkInvariant(sb, base, { main, posts: [post] });
        expect(inv.holds, `${describeViolations(inv)}\n${main.stdout.slice(-2000)}`).toBe(true);
        expect(main.outputs.status, main.stdout.slice(-3000)).toBe('success');
        // Every secret was registered with the runner (workflow-command escaped, as @actions/core writes it).
        const escaped = (v: string) => v.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
        for (const s of base.secrets) expect(main.stdout).toContain(`::add-mask::${escaped(s)}`);
      } finally {
        await sb.stop();
      }
    }));

  it.each(REFUSALS.map((r) => [r.name, r] as const))('%s, echoing it back', (_name, r) =>
    slot(async () => {
      const sb = await startSandbox({ scenario: matrixScenario([], `secrets ${r.name}`) });
      try {
        await fetch(`${sb.urls.sandbox}/_sandbox/echo-credentials`, {
          method: 'POST',
          body: JSON.stringify({ enabled: true }),
        });
        const env = { ...sb.env, [inputEnvName(r.input)]: r.value };
        const base = { ...(await takeBaseline(sb)), secrets: secretsOf(env) };
        expect(base.secrets).toContain(r.value);
        const main = await runAction({ entry: join(DIST, 'index.js'), env, timeoutMs: 180_000 });
        const post = await runAction({ entry: join(DIST, 'post.js'), env, stateFrom: main, timeoutMs: 60_000 });
        if (r.echoedBy) {
          // The test means something only if the service really put the secret in the action's hands.
          const echoed = sb.world.traffic.requests.filter(
            (q) =>
              q.service === r.echoedBy &&
              JSON.stringify(q.response ?? '').includes(JSON.stringify(r.value).slice(1, -1)),
          );
          expect(echoed.length, `${r.echoedBy} never echoed the token`).toBeGreaterThan(0);
        } else {
          // A value that cannot be sent is refused with the inputs, before any network call.
          expect(main.stdout).toMatch(new RegExp(`^::error::Invalid input \`${r.input}\``, 'm'));
          expect(sb.world.traffic.requests.filter((q) => q.service !== 'sandbox')).toEqual([]);
        }
        const inv = await checkInvariant(sb, base, { main, posts: [post] });
        expect(inv.holds, `${describeViolations(inv)}\n${main.stdout.slice(-2000)}`).toBe(true);
      } finally {
        await sb.stop();
      }
    }),
  );
});
