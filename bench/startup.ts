/**
 * Benchmark 5, start-up and bundle: time from spawning `node dist/index.js` (Node 24, with a real run's
 * environment against the sandbox) to its first log line, beside an empty script and beside our
 * dependencies imported unbundled; what each dependency costs to import on its own; the bundle's size
 * and, from a one-off build with stats, what it is made of.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Contributors, contributors } from './lib/contributors.ts';
import { NODE, ROOT, TMP_DIR } from './lib/paths.ts';
import { benchSandbox } from './lib/sandbox.ts';
import { type FirstLine, timeToFirstLine } from './lib/spawn.ts';
import { median, medianOfFinite } from './lib/stats.ts';

export interface StartupOptions {
  dist: string;
  runs: number;
  /** Runs per dependency import (each in a fresh process). */
  depRuns: number;
  contributors: boolean;
}

export interface BundleSizes {
  indexBytes: number;
  /** Chunks index.js loads later (`import()`), by file. */
  lazyChunks: { file: string; bytes: number }[];
  postBytes: number;
  /** Every .js file of the bundle directory. */
  totalBytes: number;
}

export interface StartupResult {
  dist: string;
  sizes: BundleSizes;
  /** Medians, ms. */
  firstLineMs: number;
  firstLineRuns: number[];
  firstLine: string;
  /** Peak RSS when the first line arrived, bytes (median). */
  firstLineRss: number;
  postFirstLineMs: number;
  emptyMs: number;
  emptyRss: number;
  allDepsMs: number;
  /** Import time of each dependency alone, in a fresh process (median ms), biggest first. */
  depImports: { name: string; ms: number; error?: string }[];
  contributors?: Contributors;
  contributorsError?: string;
}

/** Sizes of dist/: index.js, the chunks it imports lazily, post.js, everything. */
export function bundleSizes(dist: string): BundleSizes {
  const size = (f: string) => statSync(join(dist, f)).size;
  const index = readFileSync(join(dist, 'index.js'), 'utf8');
  const ids = new Set([...index.matchAll(/__nccwpck_require__\.e\(\/\* import\(\) \*\/ (\d+)\)/g)].map((m) => m[1]));
  const files = readdirSync(dist).filter((f) => f.endsWith('.js'));
  return {
    indexBytes: size('index.js'),
    lazyChunks: [...ids]
      .map((id) => `${id}.index.js`)
      .filter((f) => files.includes(f))
      .map((file) => ({ file, bytes: size(file) })),
    postBytes: files.includes('post.js') ? size('post.js') : 0,
    totalBytes: files.reduce((a, f) => a + size(f), 0),
  };
}

async function repeat(n: number, fn: () => Promise<FirstLine>): Promise<FirstLine[]> {
  const out: FirstLine[] = [];
  for (let i = 0; i < n; i++) out.push(await fn());
  return out;
}

function dependencies(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return Object.keys(pkg.dependencies ?? {});
}

/** Import time of each dependency alone, measured inside a fresh Node 24 process. */
async function importTimes(deps: string[], runs: number): Promise<StartupResult['depImports']> {
  mkdirSync(TMP_DIR, { recursive: true });
  const script = join(TMP_DIR, 'import-one.mjs');
  writeFileSync(
    script,
    'const t0 = performance.now();\nawait import(process.argv[2]);\nconsole.log(String(performance.now() - t0));\n',
  );
  const out: StartupResult['depImports'] = [];
  for (const name of deps) {
    try {
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const r = await timeToFirstLine(NODE, [script, name], { env: { PATH: process.env.PATH ?? '' }, cwd: ROOT });
        times.push(Number(r.line));
      }
      out.push({ name, ms: median(times) });
    } catch (err) {
      out.push({ name, ms: NaN, error: (err as Error).message.split('\n')[0] });
    }
  }
  return out.sort((a, b) => (b.ms || 0) - (a.ms || 0));
}

/** Runs benchmark 5. */
export async function benchStartup(o: StartupOptions, log: (line: string) => void): Promise<StartupResult> {
  const sizes = bundleSizes(o.dist);
  const temp = mkdtempSync(join(tmpdir(), 'pd-bench-startup-'));
  const sb = await benchSandbox({ extends: 'default', postgres: { enabled: false } }, { traffic: false });
  try {
    const runner: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: temp,
      RUNNER_TEMP: temp,
      LANG: 'C.UTF-8',
    };
    for (const f of ['GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY', 'GITHUB_ENV']) {
      runner[f] = join(temp, f.toLowerCase());
      writeFileSync(runner[f], '');
    }
    const env = { ...runner, ...sb.env };
    const main = await repeat(o.runs, () =>
      timeToFirstLine(NODE, [join(o.dist, 'index.js')], { env, cwd: ROOT, killAfter: true }),
    );
    log(`  dist/index.js first line: ${main.map((r) => Math.round(r.ms)).join(', ')} ms`);
    const post = await repeat(o.runs, () =>
      timeToFirstLine(NODE, [join(o.dist, 'post.js')], { env: runner, cwd: ROOT, killAfter: true }),
    );
    const empty = await repeat(o.runs, () =>
      timeToFirstLine(NODE, ['-e', 'console.log(1)'], { env: { PATH: runner.PATH! } }),
    );
    const deps = dependencies();
    mkdirSync(TMP_DIR, { recursive: true });
    const allScript = join(TMP_DIR, 'import-all.mjs');
    writeFileSync(
      allScript,
      `${deps.map((d) => `await import(${JSON.stringify(d)});`).join('\n')}\nconsole.log('loaded');\n`,
    );
    const all = await repeat(Math.max(1, Math.ceil(o.runs / 2)), () =>
      timeToFirstLine(NODE, [allScript], { env: { PATH: runner.PATH! }, cwd: ROOT }),
    );
    log(
      `  empty script ${Math.round(median(empty.map((r) => r.ms)))} ms; dependencies unbundled ${Math.round(median(all.map((r) => r.ms)))} ms`,
    );
    const depImports = await importTimes(deps, o.depRuns);
    let contrib: Contributors | undefined;
    let contributorsError: string | undefined;
    if (o.contributors) {
      try {
        contrib = await contributors();
        log(`  contributors: one-off build with stats in ${(contrib.buildMs / 1000).toFixed(1)} s`);
      } catch (err) {
        contributorsError = (err as Error).message.split('\n').slice(0, 3).join(' ');
        log(`  contributors: the one-off build failed: ${contributorsError}`);
      }
    }
    return {
      dist: o.dist,
      sizes,
      firstLineMs: median(main.map((r) => r.ms)),
      firstLineRuns: main.map((r) => r.ms),
      firstLine: main[0]!.line.replace(/^(::add-mask::).*/, '$1***'),
      firstLineRss: medianOfFinite(main.map((r) => r.peakRss)),
      postFirstLineMs: median(post.map((r) => r.ms)),
      emptyMs: median(empty.map((r) => r.ms)),
      emptyRss: medianOfFinite(empty.map((r) => r.peakRss)),
      allDepsMs: median(all.map((r) => r.ms)),
      depImports,
      contributors: contrib,
      contributorsError,
    };
  } finally {
    await sb.stop();
    rmSync(temp, { recursive: true, force: true });
    for (const f of ['import-one.mjs', 'import-all.mjs']) rmSync(join(TMP_DIR, f), { force: true });
  }
}
