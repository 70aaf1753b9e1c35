/**
 * `.env.example`, the file of the documented local run
 * (`npx --yes @github/local-action . src/main.ts .env.example`): every input it sets is an input of
 * action.yml, no sandbox port is written into it, and — against a running `default` sandbox, with
 * the sandbox's endpoints from its environment as the README's steps give them — its inputs are the
 * sandbox's own values and the bundled action completes a plan with them. (local-action itself is
 * fetched by npx on demand, not installed, so the bundle stands in for it here.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../../sandbox/index.ts';
import { runAction, type ActionRun } from '../../e2e/harness.ts';
import { actionYml, read } from './files.ts';

/** dotenv's reading of the file: `KEY=value` lines, comments and blank lines skipped. */
function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_.-]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

const env = parseDotenv(read('.env.example'));
const inputs = Object.keys(actionYml().inputs);

describe('.env.example', () => {
  it('sets only inputs of action.yml, the runner debug switch, and a plan', () => {
    for (const key of Object.keys(env)) {
      if (key === 'ACTIONS_STEP_DEBUG') continue;
      expect(key, 'an INPUT_ variable').toMatch(/^INPUT_/);
      expect(inputs.map((i) => `INPUT_${i.toUpperCase()}`)).toContain(key);
    }
    expect(env.INPUT_MODE).toBe('plan');
  });

  it('holds no sandbox port, which changes on every start', () => {
    expect(Object.values(env).join('\n')).not.toMatch(/127\.0\.0\.1|localhost/);
  });
});

describe('.env.example against a running sandbox', () => {
  let sb: Sandbox;
  let run: ActionRun;

  beforeAll(async () => {
    sb = await startSandbox({ scenario: 'default', traffic: false });
    // Step 2 of the file: everything but the inputs comes from the sandbox's environment.
    const fromShell = Object.fromEntries(Object.entries(sb.env).filter(([k]) => !k.startsWith('INPUT_')));
    run = await runAction({ entry: 'dist/index.js', env: { ...fromShell, ...env }, timeoutMs: 60_000 });
  }, 90_000);
  afterAll(async () => sb?.stop());

  it('gives the inputs the values the scenario fixes', () => {
    for (const [key, value] of Object.entries(env)) {
      if (key.startsWith('INPUT_') && key !== 'INPUT_MODE') expect(value, key).toBe(sb.env[key]);
    }
  });

  it('completes a plan', () => {
    expect(run.code, `${run.stdout.slice(-3000)}\n${run.stderr}`).toBe(0);
    expect(run.outputs.status).toBe('planned');
    expect(run.outputs.go).toBe('true');
  });
});
