/**
 * Property-based tests of input parsing (docs/safety.md, "Fuzzed input"): on any input text the parser returns a
 * Config or throws an InputError — never anything else — and never echoes a secret. `FUZZ_RUNS` sets the
 * number of runs per property (default 300; `npm run test:fuzz` uses 10,000).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  INPUT_NAMES,
  InputError,
  MAX_DURATION_MS,
  SEED_ENV,
  SELECTORS,
  formatDuration,
  formatList,
  parseConfig,
  parseDuration,
  parseList,
  parseSmokeTests,
  registerSecrets,
  secretForms,
  SECRET_INPUTS,
  type Config,
} from '../../../src/config/index.ts';
import { SECRETS, source } from '../config/fixtures.ts';

const RUNS = Number(process.env.FUZZ_RUNS) > 0 ? Number(process.env.FUZZ_RUNS) : 300;
/** The 61 one-input properties share the runs, so `test:fuzz` takes minutes, not hours; the rest get all of them. */
const PER_INPUT_RUNS = Math.max(50, Math.ceil(RUNS / 10));

/** Fragments that reach deep into the parsers: units, separators, placeholders, operators, YAML. */
const TOKENS = [
  ...'0 1 5 10 50 100 999999999999 . - + e % h m s ms , / * { } [ ] ( ) \\ ~ ~1 : :: #'.split(' '),
  ...'" \' {repo} {environment} <= >= true no none all critical high https:// http://127.0.0.1:1'.split(' '),
  ...'user:pw@ dpl_ refs/heads/ main .. @{ .lock null __proto__ é 🚀'.split(' '),
  ...' |\n|\r\n|\t|: |- path: /|  status: |json: {"/a": 1}|max-ms: |\u0000|\u00a0|\ud800'.split('|'),
];

// Inputs are short in practice; bounded lengths keep 10,000 runs of every property within minutes.
const text: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.array(fc.constantFrom(...TOKENS), { maxLength: 12 }).map((parts) => parts.join('')),
);

/**
 * Runs parseConfig; anything thrown must be an InputError that never shows a secret. `secrets` are the
 * secret values in play: a fuzzed secret may be as short as one character, and then redaction rightly
 * blanks it everywhere (even in input names), so only the forms no redaction can produce are checked,
 * and the input is required to be named only while the secrets are the fixtures' long ones.
 */
function parsesOrInputError(
  src: Parameters<typeof parseConfig>[0],
  secrets: string[] = Object.values(SECRETS),
): Config | InputError {
  try {
    return parseConfig(src);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    expect(err.problems.length).toBeGreaterThan(0);
    const forms = registerSecrets(secrets, () => undefined);
    for (const form of forms) {
      if (form.length >= 4 && !form.includes('*')) expect(err.message).not.toContain(form);
    }
    if (forms.every((f) => f.length >= 8 && !/[`*]/.test(f))) expect(err.message).toContain(`\`${err.input}\``);
    return err;
  }
}

/** The secret values among `inputs` (what parseConfig registers). */
function secretsOf(inputs: Record<string, string | undefined>): string[] {
  return SECRET_INPUTS.map((n) => (inputs[n] ?? '').trim()).filter((v) => v !== '');
}

const withSecrets = { ...SECRETS, 'slack-channel': '#deploys' };

describe('parseConfig on arbitrary text', () => {
  it.each([...INPUT_NAMES])('input %s: a Config or an InputError, nothing else', (name) => {
    fc.assert(
      fc.property(text, (value) => {
        const inputs = { ...withSecrets, [name]: value };
        parsesOrInputError(source(inputs), secretsOf(inputs));
      }),
      { numRuns: PER_INPUT_RUNS },
    );
  });

  it('every input at once', () => {
    const inputs = fc.record(
      Object.fromEntries(INPUT_NAMES.map((n) => [n, text])) as Record<string, fc.Arbitrary<string>>,
      {
        requiredKeys: [],
      },
    );
    fc.assert(
      fc.property(inputs, (values) => {
        const all = { ...withSecrets, ...values };
        parsesOrInputError(source(all), secretsOf(all));
      }),
      { numRuns: RUNS },
    );
  });

  it('the environment: seed variables, selectors, endpoints and the run context', () => {
    const names = [
      ...Object.values(SEED_ENV),
      ...Object.keys(SELECTORS),
      'GITHUB_API_URL',
      'GITHUB_SERVER_URL',
      'GITHUB_REPOSITORY',
      'GITHUB_SHA',
      'GITHUB_REF',
      'GITHUB_EVENT_NAME',
      'GITHUB_RUN_ATTEMPT',
      'GITHUB_HEAD_REF',
      'VERCEL_API_URL',
      'CLOUDFLARE_BASE_URL',
      'SLACK_API_URL',
      'AWS_ENDPOINT_URL_S3',
      'AWS_REGION',
    ];
    const env = fc.record(Object.fromEntries(names.map((n) => [n, text])) as Record<string, fc.Arbitrary<string>>, {
      requiredKeys: [],
    });
    fc.assert(
      fc.property(env, fc.constantFrom('deploy', 'rollback', 'plan'), (vars, mode) => {
        parsesOrInputError(
          source(
            { ...withSecrets, mode, 'backup-bucket': 'b-1', 'backup-max-age': '1h' },
            { env: vars as Record<string, string> },
          ),
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('the event payload: any JSON, or any text', () => {
    const payload = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      text,
    );
    const eventName = fc.constantFrom('push', 'pull_request', 'pull_request_target', 'workflow_run', 'release', '');
    fc.assert(
      fc.property(payload, eventName, fc.constantFrom('deploy', 'rollback', 'plan'), (body, name, mode) => {
        const opts = {
          env: { GITHUB_EVENT_PATH: '/ev.json', GITHUB_EVENT_NAME: name, GITHUB_REF: 'refs/pull/1/merge' },
          files: { '/ev.json': body },
        };
        parsesOrInputError(source({ ...withSecrets, mode }, opts));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('smoke-tests documents', () => {
  const noFile = {
    dirs: ['/w'],
    readFile: (): string => {
      throw new Error('ENOENT');
    },
  };
  const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), text);
  const checkLike = fc.record(
    {
      name: anyValue,
      path: fc.oneof(fc.constant('/'), fc.constant('/api/x?y=1'), anyValue),
      method: fc.oneof(fc.constantFrom('GET', 'post', 'HEAD', 'PUT'), anyValue),
      headers: fc.oneof(fc.dictionary(fc.string(), anyValue), anyValue),
      body: anyValue,
      status: fc.oneof(fc.integer({ min: 0, max: 1000 }), anyValue),
      contains: anyValue,
      json: fc.oneof(
        fc.dictionary(
          fc.oneof(
            fc.string(),
            fc.string().map((s) => `/${s}`),
          ),
          anyValue,
        ),
        anyValue,
      ),
      'max-ms': fc.oneof(fc.double(), anyValue),
    },
    { requiredKeys: [] },
  );

  const accept = (raw: string, src = noFile): void => {
    try {
      const checks = parseSmokeTests(raw, src);
      expect(checks.length).toBeGreaterThan(0);
      for (const c of checks) expect(c.path.startsWith('/')).toBe(true);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
    }
  };

  it('check-shaped YAML: valid checks or an InputError', () => {
    fc.assert(
      fc.property(fc.array(checkLike, { maxLength: 4 }), (checks) => accept(YAML.stringify(checks))),
      { numRuns: RUNS },
    );
  });

  it('any text inline or in a file', () => {
    fc.assert(
      fc.property(text, (content) => {
        accept(content);
        accept('smoke.yml', { dirs: ['/w'], readFile: () => content });
      }),
      { numRuns: RUNS },
    );
  });
});

describe('round trips', () => {
  it('durations: parseDuration(formatDuration(ms)) === ms', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_DURATION_MS }), (ms) => parseDuration(formatDuration(ms)) === ms),
      { numRuns: RUNS },
    );
  });

  it('durations: built from components, parsed to their sum', () => {
    const part = (max: number) => fc.option(fc.integer({ min: 0, max }), { nil: undefined });
    fc.assert(
      fc.property(part(500), part(59), part(59), part(999), (h, m, s, ms) => {
        const raw = `${h !== undefined ? `${h}h` : ''}${m !== undefined ? `${m}m` : ''}${s !== undefined ? `${s}s` : ''}${ms !== undefined ? `${ms}ms` : ''}`;
        fc.pre(raw !== '');
        const expected = (h ?? 0) * 3_600_000 + (m ?? 0) * 60_000 + (s ?? 0) * 1000 + (ms ?? 0);
        return parseDuration(raw) === expected;
      }),
      { numRuns: RUNS },
    );
  });

  it('durations: any text gives whole milliseconds in range, or an InputError', () => {
    fc.assert(
      fc.property(text, (raw) => {
        try {
          const ms = parseDuration(raw, 'step-duration');
          return Number.isInteger(ms) && ms >= 0 && ms <= MAX_DURATION_MS;
        } catch (err) {
          return err instanceof InputError && err.input === 'step-duration';
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('lists: parseList(formatList(items)) equals items', () => {
    const item = fc
      .string({
        minLength: 1,
        unit: fc.oneof(
          fc.constantFrom('a', 'Z', '0', '/', '*', '-', ' ', '{', 'é', '\t'),
          fc.string({ minLength: 1, maxLength: 1 }),
        ),
      })
      .map((s) => s.replace(/[,\r\n]/g, '').trim())
      .filter((s) => s !== '');
    fc.assert(
      fc.property(fc.array(item, { maxLength: 8 }), (items) => {
        expect(parseList(formatList(items))).toEqual(items);
        expect(parseList(items.join('\n'))).toEqual(items);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('secret forms', () => {
  it('include every encoded form worth masking', () => {
    const token = fc.string({
      minLength: 1,
      maxLength: 64,
      unit: fc.oneof(
        fc.constantFrom('"', '\\', '/', '%', '+', '=', '&', '?', '#', ' '),
        fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }),
      ),
    });
    fc.assert(
      fc.property(token, (t) => {
        fc.pre(!/[\r\n]/.test(t));
        const forms = secretForms(t);
        expect(forms[0]).toBe(t);
        const uri = (() => {
          try {
            return encodeURIComponent(t);
          } catch {
            return t; // a lone surrogate has no URL-encoded form
          }
        })();
        for (const variant of [uri, JSON.stringify(t).slice(1, -1), Buffer.from(t).toString('base64')]) {
          if (variant.length >= 4) expect(forms).toContain(variant);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
