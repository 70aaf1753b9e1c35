/**
 * Property (docs/safety.md, "Fuzzed input"): on invalid inputs the action fails with one input error and
 * makes no network call — not one connection, to any host. `config.fuzz.test.ts` proves the parser
 * returns a Config or an InputError on any text; this file proves what the action *does* with the
 * InputError, around the parser:
 *
 * 1. In process, `run()` (src/main.ts, what dist/index.js runs) on random invalid inputs, with every
 *    endpoint pointed at a counting server and every socket connection counted: zero connections,
 *    one `::error::` naming an input, `status=failed`, a non-zero exit code.
 * 2. The bundle itself (`PD_DIST_DIR` or dist/) on a sample of the same inputs, as the runner runs it.
 *
 * `FUZZ_RUNS` sets the number of cases (default 150 in process and 4 bundle runs; `npm run test:fuzz`
 * uses 10,000 and 40). Cases come from a fixed seed, so a failure replays.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INPUT_NAMES, parseConfig } from '../../../src/config/index.ts';
import { fromEnv, trimAscii } from '../../../src/config/source.ts';
import { run } from '../../../src/main.ts';
import { INPUTS, RUNNER_ENV } from '../config/fixtures.ts';

const FUZZ = Number(process.env.FUZZ_RUNS) > 0 ? Number(process.env.FUZZ_RUNS) : 0;
const RUNS = FUZZ || 150;
const BUNDLE_RUNS = FUZZ ? 40 : 4;
const SEED = 7_000_007;
const ROOT = resolve(import.meta.dirname, '..', '..', '..');

const inputEnv = (name: string) => `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;

/** Fragments that reach into the parsers (units, separators, URLs, YAML, control characters). */
const TOKENS = [
  ...'0 1 -1 5 300 1e309 . - % h m s ms , / * { } [ ] : :: # " \' true no none all <= >= https:// http://127.0.0.1:1'.split(
    ' ',
  ),
  ...' |\n|\r\n|\t|- path: /|status: x|\u00a0|\ud800|🚀|dpl_|refs/heads/|@{|..'.split('|'),
];
// An environment variable cannot hold a NUL byte (the runner cannot pass one, and Node truncates or refuses
// it), so NUL is left to config.fuzz.test.ts, which feeds the parser directly.
const text = fc
  .oneof(
    fc.string({ maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.array(fc.constantFrom(...TOKENS), { maxLength: 8 }).map((p) => p.join('')),
  )
  .map((s) => s.split('\u0000').join(''));
/** One to three inputs (any of the action's) replaced by arbitrary text, over a complete deploy. */
const overrides = fc.dictionary(fc.constantFrom(...INPUT_NAMES), text, { minKeys: 1, maxKeys: 3 });

let server: net.Server;
let connections = 0;
let endpoint = '';

/** Where every outside system is, for this test: the counting server. */
function environment(over: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {
    ...RUNNER_ENV,
    GITHUB_API_URL: endpoint,
    VERCEL_API_URL: endpoint,
    CLOUDFLARE_BASE_URL: `${endpoint}/client/v4`,
    SLACK_API_URL: `${endpoint}/api`,
    AWS_ENDPOINT_URL_S3: endpoint,
  };
  const inputs = {
    ...INPUTS,
    'production-url': endpoint,
    'datadog-site': endpoint,
    'dependency-urls': `${endpoint}/health`,
    ...over,
  };
  for (const [name, value] of Object.entries(inputs)) env[inputEnv(name)] = value;
  return env;
}

/** What the runner's `core.getInput` hands the parser: trimmed (ASCII only for `branch`). */
function invalid(env: Record<string, string>): boolean {
  const source = fromEnv(env, { cwd: ROOT, readFile: (f) => readFileSync(f, 'utf8'), setSecret: () => undefined });
  const get = source.getInput;
  try {
    parseConfig({ ...source, getInput: (n) => (n === 'branch' ? trimAscii(get(n)) : get(n).trim()) });
    return false;
  } catch {
    return true;
  }
}

beforeAll(async () => {
  server = net.createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('invalid inputs: one input error, no network call', () => {
  it(`run() in process (${RUNS} cases)`, async () => {
    const temp = mkdtempSync(join(tmpdir(), 'pd-fuzz-net-'));
    const saved = { ...process.env };
    const write = process.stdout.write.bind(process.stdout);
    const connect = net.Socket.prototype.connect;
    let socketConnects = 0;
    // Every TCP connection the process opens (fetch, http, the AWS SDK) goes through here.
    net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
      socketConnects++;
      return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
    } as typeof connect;
    try {
      await fc.assert(
        fc.asyncProperty(overrides, async (over) => {
          const env = environment(over);
          fc.pre(invalid(env));
          for (const k of Object.keys(process.env))
            if (k.startsWith('INPUT_') || k.startsWith('GITHUB_')) delete process.env[k];
          const files = { GITHUB_OUTPUT: join(temp, 'output'), GITHUB_STEP_SUMMARY: join(temp, 'summary') };
          for (const f of Object.values(files)) writeFileSync(f, '');
          Object.assign(process.env, env, files);
          let out = '';
          process.stdout.write = ((chunk: string | Uint8Array) => {
            out += String(chunk);
            return true;
          }) as typeof process.stdout.write;
          const before = { socketConnects, connections };
          try {
            await run();
          } finally {
            process.stdout.write = write;
          }
          const exitCode = process.exitCode;
          process.exitCode = undefined;
          expect(socketConnects - before.socketConnects, 'a socket was opened').toBe(0);
          expect(connections - before.connections, 'the counting server was reached').toBe(0);
          expect(exitCode).toBe(1);
          // A fuzzed secret may be one character, and redaction then rightly blanks it everywhere: the exact
          // wording is config.fuzz.test.ts's to check; here, one error line and status=failed.
          expect(out).toMatch(/^::error::\S/m);
          expect(readFileSync(files.GITHUB_OUTPUT, 'utf8')).toMatch(/^status<<.+\nfailed\n/m);
        }),
        { numRuns: RUNS, seed: SEED, maxSkipsPerRun: 1000 },
      );
    } finally {
      net.Socket.prototype.connect = connect;
      process.stdout.write = write;
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
      process.exitCode = undefined;
      rmSync(temp, { recursive: true, force: true });
    }
  }, 600_000);

  it(`the bundle, as the runner runs it (${BUNDLE_RUNS} cases)`, () => {
    const dist = resolve(ROOT, process.env.PD_DIST_DIR ?? 'dist');
    const node = join(ROOT, 'node_modules', '.bin', 'node');
    const samples = fc
      .sample(overrides.map(environment), { numRuns: BUNDLE_RUNS * 20, seed: SEED })
      .filter(invalid)
      .slice(0, BUNDLE_RUNS);
    expect(samples).toHaveLength(BUNDLE_RUNS);
    for (const env of samples) {
      const temp = mkdtempSync(join(tmpdir(), 'pd-fuzz-net-'));
      try {
        const files = {
          GITHUB_OUTPUT: join(temp, 'output'),
          GITHUB_STEP_SUMMARY: join(temp, 'summary'),
          GITHUB_STATE: join(temp, 'state'),
        };
        for (const f of Object.values(files)) writeFileSync(f, '');
        const before = connections;
        const child = spawnSync(node, [join(dist, 'index.js')], {
          env: { PATH: process.env.PATH ?? '', HOME: temp, RUNNER_TEMP: temp, ...env, ...files },
          encoding: 'utf8',
          timeout: 60_000,
        });
        expect(child.status, child.stdout + child.stderr).toBe(1);
        expect(child.stdout).toMatch(/^::error::(Invalid input `[a-z-]+`|\d+ inputs are invalid)/m);
        expect(child.stderr).not.toMatch(/^\s+at /m);
        expect(connections - before, 'the bundle reached the counting server').toBe(0);
      } finally {
        rmSync(temp, { recursive: true, force: true });
      }
    }
  }, 600_000);
});
