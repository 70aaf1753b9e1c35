#!/usr/bin/env node
// Bundles the action with ncc: src/index.ts → dist/index.js (main) and src/post.ts → dist/post.js
// (post), both ESM, with dist/package.json {"type":"module"} and one licenses.txt. ncc builds one
// entry at a time and always names it index.js, so each entry is built into its own temp dir and the
// results are merged; chunk files of both land in dist/. Not minified, no source maps: reviewers
// read dist/ in check-dist diffs. Then the bundle is run once, as the runner would, to prove it loads.
//
// TypeScript is compiled once by tsc into lib/ (a fixed path: ncc writes module paths into comments,
// so the bundle is only reproducible from the same path), then ncc bundles the JavaScript of both
// entries in parallel. This is several times faster than letting ncc type-check each entry itself.
//
// Usage: node scripts/bundle.mjs [--out DIR]   (default: dist)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRIES = [
  { name: 'index.js', source: 'src/index.ts', compiled: 'lib/index.js' },
  { name: 'post.js', source: 'src/post.ts', compiled: 'lib/post.js' },
];
const LIB = join(root, 'lib');
const LOCK = join(root, '.tmp', 'bundle.lock');

function parseArgs(argv) {
  const i = argv.indexOf('--out');
  return { out: resolve(root, i >= 0 ? argv[i + 1] : 'dist') };
}

/** Node 24 from node_modules when present (the machine's own node may be older). */
export function node24() {
  const local = join(root, 'node_modules', '.bin', 'node');
  return existsSync(local) ? local : process.execPath;
}

function run(args, what) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(node24(), args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`${what} exited ${code}`))));
  });
}

/** src/ → lib/ (ESM JavaScript, NodeNext, as tsconfig.json says). Fails on any type error. */
function compile() {
  rmSync(LIB, { recursive: true, force: true });
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  return run([tsc, '-p', 'tsconfig.json', '--outDir', LIB], 'tsc -p tsconfig.json');
}

function ncc(input, outDir) {
  const cli = join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');
  return run([cli, 'build', input, '-o', outDir, '--license', 'licenses.txt', '--quiet'], `ncc build ${input}`);
}

/** One bundle at a time in this checkout: lib/ is shared. Waits up to 3 minutes for another one. */
async function withLock(fn) {
  mkdirSync(dirname(LOCK), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      if (Date.now() > deadline) throw new Error(`another bundle holds ${LOCK}; remove it if no bundle is running`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** Every paragraph of `extra` already present in `base`: the post bundle's licenses are covered. */
function mergeLicenses(base, extra) {
  const have = new Set(base.split('\n\n'));
  if (extra.split('\n\n').every((p) => have.has(p))) return base;
  return `${base.trimEnd()}\n\n${extra}`;
}

export function bundle(out) {
  return withLock(() => bundleLocked(out));
}

async function bundleLocked(out) {
  const temp = mkdtempSync(join(tmpdir(), 'production-deploy-bundle-'));
  try {
    await compile();
    await Promise.all(ENTRIES.map((e) => ncc(e.compiled, join(temp, e.name.replace('.js', '')))));
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    let licenses = '';
    for (const entry of ENTRIES) {
      const dir = join(temp, entry.name.replace('.js', ''));
      for (const file of readdirSync(dir)) {
        const text = readFileSync(join(dir, file), 'utf8');
        if (file === 'licenses.txt') {
          licenses = licenses ? mergeLicenses(licenses, text) : text;
          continue;
        }
        if (file === 'package.json') continue;
        const target = file === 'index.js' ? entry.name : file;
        if (existsSync(join(out, target)) && readFileSync(join(out, target), 'utf8') !== text) {
          throw new Error(`chunk ${file} differs between the builds of ${ENTRIES.map((e) => e.source).join(' and ')}`);
        }
        writeFileSync(join(out, target), text);
      }
    }
    writeFileSync(join(out, 'licenses.txt'), licenses);
    writeFileSync(join(out, 'package.json'), '{\n  "type": "module"\n}\n');
  } finally {
    rmSync(temp, { recursive: true, force: true });
    rmSync(LIB, { recursive: true, force: true });
  }
}

/**
 * Runs the bundle as the runner would, with an invalid `mode`: it must load, fail cleanly (exit 1,
 * an `::error::` naming `mode`), and not crash. Then the post entry with no saved state: exit 0.
 */
export function smoke(out) {
  const temp = mkdtempSync(join(tmpdir(), 'production-deploy-smoke-'));
  try {
    // A clean environment: never inherit an outer job's GITHUB_OUTPUT and friends.
    const env = { PATH: process.env.PATH ?? '', HOME: temp, RUNNER_TEMP: temp, INPUT_MODE: 'bogus' };
    const main = spawnSync(node24(), [join(out, 'index.js')], { env, encoding: 'utf8', timeout: 60_000 });
    const crashed = /^\s+at /m.test(main.stderr) || /ERR_[A-Z_]+/.test(main.stderr);
    if (main.status !== 1 || !/^::error::.*mode/m.test(main.stdout) || crashed) {
      throw new Error(
        `dist/index.js did not fail cleanly on INPUT_MODE=bogus (exit ${main.status}):\n${main.stdout}\n${main.stderr}`,
      );
    }
    const post = spawnSync(node24(), [join(out, 'post.js')], { env, encoding: 'utf8', timeout: 60_000 });
    if (post.status !== 0 || !/nothing to reconcile/.test(post.stdout)) {
      throw new Error(
        `dist/post.js did not run cleanly without state (exit ${post.status}):\n${post.stdout}\n${post.stderr}`,
      );
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { out } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  try {
    await bundle(out);
    smoke(out);
    console.log(
      `bundled ${ENTRIES.map((e) => e.source).join(', ')} → ${out} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  } catch (err) {
    console.error(`bundle failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
