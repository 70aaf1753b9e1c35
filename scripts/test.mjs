#!/usr/bin/env node
// The test command (`npm test`): lint, type-check, check that dist/ is what the source builds to,
// then every vitest project (unit, contract, e2e). Prints each stage with its time; the static
// stages run two at a time and the tests only once they all passed; exits non-zero on any failure.
// Tools run on the Node 24 of node_modules, never through a shell.
//
// Arguments are passed on to vitest: `npm test -- __tests__/unit/pipeline` runs every other stage in
// full and only those tests.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle, node24, smoke } from './bundle.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (path) => join(root, 'node_modules', path);

/**
 * Runs a Node tool; resolves with its exit code. The static stages run two at a time, so their
 * output is captured and printed whole when each finishes (never interleaved); vitest inherits stdio.
 */
function tool(script, args, { capture = true } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(node24(), [bin(script), ...args], {
      cwd: root,
      stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    });
    const out = [];
    child.stdout?.on('data', (c) => out.push(c));
    child.stderr?.on('data', (c) => out.push(c));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const text = Buffer.concat(out).toString('utf8').trim();
      if (text) console.log(text);
      resolvePromise(code ?? (signal ? 1 : 0));
    });
  });
}

/** Fails with the files in which two directories differ (missing, extra, or changed). */
function compareDirs(expected, actual) {
  const list = (dir) => (existsSync(dir) ? readdirSync(dir).sort() : []);
  const want = list(expected);
  const have = list(actual);
  const differs = [...new Set([...want, ...have])].filter(
    (f) =>
      !want.includes(f) || !have.includes(f) || !readFileSync(join(expected, f)).equals(readFileSync(join(actual, f))),
  );
  return differs;
}

async function checkDist() {
  const temp = mkdtempSync(join(tmpdir(), 'production-deploy-dist-'));
  try {
    await bundle(temp);
    const differs = compareDirs(temp, join(root, 'dist'));
    if (differs.length > 0) {
      throw new Error(
        `dist/ is stale: it is not what the source builds to (differs: ${differs.join(', ')}). ` +
          'Run `npm run bundle` and commit dist/ with the source that changed it.',
      );
    }
    smoke(join(root, 'dist'));
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

// Longest first, so the two lanes of static stages finish together; the tests come last.
const STAGES = [
  ['dist/ is up to date', checkDist],
  ['type-check: tests, sandbox, scripts', () => tool('typescript/bin/tsc', ['-p', 'tsconfig.test.json'])],
  ['lint: eslint', () => tool('eslint/bin/eslint.js', ['.'])],
  ['type-check: src', () => tool('typescript/bin/tsc', ['-p', 'tsconfig.json', '--noEmit'])],
  ['lint: prettier', () => tool('prettier/bin/prettier.cjs', ['--check', '.'])],
  ['vitest: unit, contract, e2e', vitest],
];

/**
 * Every vitest project, with a JSON report beside the console one so that the run can end with the
 * plain `N passed, N failed` line that CI reads (vitest's own closing lines are not in that form).
 */
async function vitest() {
  const dir = mkdtempSync(join(tmpdir(), 'production-deploy-vitest-'));
  const file = join(dir, 'results.json');
  try {
    const code = await tool(
      'vitest/vitest.mjs',
      ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${file}`, ...process.argv.slice(2)],
      { capture: false },
    );
    if (existsSync(file)) {
      const r = JSON.parse(readFileSync(file, 'utf8'));
      const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
      console.log(`\n${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
      if (code === 0 && r.numTotalTests === 0) return 'ran no test';
    }
    return code;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const started = Date.now();
const seconds = (from) => `${((Date.now() - from) / 1000).toFixed(1)} s`;

/** Runs one stage; returns its failure message, or undefined when it passed. */
async function stage(name, run) {
  const t0 = Date.now();
  let failure;
  try {
    const code = await run();
    if (typeof code === 'number' && code !== 0) failure = `exited ${code}`;
    if (typeof code === 'string') failure = code;
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
  }
  console.log(failure ? `✖ ${name} failed after ${seconds(t0)}: ${failure}` : `✔ ${name} (${seconds(t0)})`);
  return failure;
}

// The static stages (lint, type-checks, the dist/ check) are independent: two at a time on the
// two cores CI has. Then the tests, once everything static has passed.
const statics = STAGES.slice(0, -1);
const queue = [...statics];
const failed = [];
await Promise.all(
  [0, 1].map(async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [name, run] = next;
      console.log(`\n▶ ${name}`);
      if (await stage(name, run)) failed.push(name);
    }
  }),
);
if (failed.length === 0) {
  const [name, run] = STAGES.at(-1);
  console.log(`\n▶ ${name}`);
  if (await stage(name, run)) failed.push(name);
}
if (failed.length > 0) {
  console.error(`npm test failed at: ${failed.join(', ')} (total ${seconds(started)})`);
  process.exit(1);
}
console.log(`\nAll stages passed in ${seconds(started)}.`);
