/** Paths the benchmarks share: the repository, Node 24, the bundle under test. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
/** Node 24 from node_modules (the machine's own node may be older), as the runner's `node24`. */
export const NODE = join(ROOT, 'node_modules', '.bin', 'node');
/** Where results are kept (gitignored). */
export const RESULTS_DIR = join(ROOT, 'bench', 'results');
/** Scratch space inside the checkout (gitignored), for builds that must resolve node_modules. */
export const TMP_DIR = join(ROOT, '.tmp', 'bench');

/**
 * The bundle directory under test: `--dist DIR`, else `PD_DIST_DIR` (as the e2e tests), else `dist/`.
 * It must hold `index.js`.
 */
export function distDir(flag: string | undefined): string {
  const dir = resolve(ROOT, flag ?? process.env.PD_DIST_DIR ?? 'dist');
  if (!existsSync(join(dir, 'index.js'))) {
    throw new Error(`no bundle at ${join(dir, 'index.js')}: run \`npm run bundle\` or pass --dist DIR`);
  }
  return dir;
}
