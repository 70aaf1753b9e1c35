/**
 * What the bundle is made of: a one-off ncc build of the current sources with webpack stats
 * (`--stats-out`), compiled first by tsc without type checking (`--noCheck`, so another helper's
 * work in progress cannot stop it) into .tmp/bench (inside the checkout, so node_modules resolves).
 * Each module's size is attributed to the dependency of ours that first imported it (its issuer
 * path), so the list names what a lazy import would move out of the start-up bundle.
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NODE, ROOT, TMP_DIR } from './paths.ts';

const run = promisify(execFile);

export interface StatsModule {
  name: string;
  size: number;
  chunks: (number | string)[];
  modules?: StatsModule[];
  issuerPath?: { name: string }[] | null;
}

export interface Stats {
  modules: StatsModule[];
  chunks: { id: number | string; initial: boolean; files: string[] }[];
}

export interface Contributor {
  name: string;
  /** Bytes of source in the start-up chunk (index.js) and in chunks loaded later. */
  startBytes: number;
  lazyBytes: number;
}

export interface Contributors {
  /** By our direct dependency (what `import` in src/ pulls in), biggest first. */
  byDependency: Contributor[];
  /** By package (the innermost node_modules package), biggest first. */
  byPackage: Contributor[];
  /** index.js of this build: comparable with dist/index.js when dist is current. */
  builtIndexBytes: number;
  buildMs: number;
}

export const OURS = '(our code: src/)';

/** The package a module path is in: the first (outermost) or last (innermost) `node_modules/<name>`. */
export function packageAt(name: string, which: 'first' | 'last'): string | undefined {
  const marker = 'node_modules/';
  const i = which === 'first' ? name.indexOf(marker) : name.lastIndexOf(marker);
  if (i < 0) return undefined;
  const [a, b] = name.slice(i + marker.length).split('/');
  return a?.startsWith('@') ? `${a}/${b}` : a;
}

/** The leaf modules with the chunks they are emitted in (concatenated modules inherit their parent's). */
function leaves(stats: Stats): StatsModule[] {
  const out: StatsModule[] = [];
  for (const m of stats.modules) {
    if (m.modules) for (const n of m.modules) out.push({ ...n, chunks: m.chunks });
    else if (m.chunks.length > 0) out.push(m);
  }
  return out;
}

/** The dependency of ours that first imported the module (from its issuer path), or our own code. */
export function directDependency(m: StatsModule): string {
  if (!m.name.includes('node_modules/')) return OURS;
  for (const p of m.issuerPath ?? []) {
    const dep = packageAt(p.name.replace(/ \+ \d+ modules$/, ''), 'first');
    if (dep) return dep;
  }
  return packageAt(m.name, 'first') ?? OURS;
}

/** Sums module sizes by `key`, split into start-up and lazy chunks, biggest first. */
export function attribute(stats: Stats, key: (m: StatsModule) => string): Contributor[] {
  const initial = new Set(stats.chunks.filter((c) => c.initial).map((c) => c.id));
  const acc = new Map<string, Contributor>();
  for (const m of leaves(stats)) {
    const k = key(m);
    const c = acc.get(k) ?? { name: k, startBytes: 0, lazyBytes: 0 };
    if (m.chunks.some((id) => initial.has(id))) c.startBytes += m.size;
    else c.lazyBytes += m.size;
    acc.set(k, c);
  }
  return [...acc.values()].sort((a, b) => b.startBytes + b.lazyBytes - (a.startBytes + a.lazyBytes));
}

/** Builds src/index.ts once with stats and attributes its modules. Takes ~15 s on a quiet machine. */
export async function contributors(): Promise<Contributors> {
  const t0 = performance.now();
  const lib = join(TMP_DIR, 'lib');
  const out = join(TMP_DIR, 'ncc');
  rmSync(lib, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
  try {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    await run(NODE, [tsc, '-p', 'tsconfig.json', '--outDir', lib, '--noCheck'], { cwd: ROOT, timeout: 300_000 });
    const ncc = join(ROOT, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');
    const statsFile = join(out, 'stats.json');
    await run(NODE, [ncc, 'build', join(lib, 'index.js'), '-o', out, '--stats-out', statsFile, '-q'], {
      cwd: ROOT,
      timeout: 300_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const stats = JSON.parse(readFileSync(statsFile, 'utf8')) as Stats;
    return {
      byDependency: attribute(stats, directDependency),
      byPackage: attribute(stats, (m) => packageAt(m.name, 'last') ?? OURS),
      builtIndexBytes: statSync(join(out, 'index.js')).size,
      buildMs: performance.now() - t0,
    };
  } finally {
    rmSync(lib, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
}
