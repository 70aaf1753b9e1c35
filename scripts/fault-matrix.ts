/**
 * `npm run test:faults`: the whole fault matrix (docs/safety.md). A clean deploy against the sandbox records
 * every provider call, and so does a clean `mode: rollback` right after a deploy; then each
 * (call site × fault kind) runs in a fresh sandbox with that one fault,
 * followed by the post step twice, and the invariant (`__tests__/e2e/hardening/invariant.ts`) is
 * checked. Prints the table (operations × fault kinds, cases that held / cases run), every case that
 * did not hold with why, the size and the time; exits non-zero when any case did not hold.
 *
 * Options: `--concurrency N` (sandboxes at once, default 3), `--slice` (the default test run's
 * representative slice only), `--filter REGEX` (cases whose id matches), `--kinds 500,hang,…`,
 * `--reruns all|503|none` (which failed runs get a second attempt once the fault is gone; default all),
 * `--paths deploy,rollback` (the runs under test: a deploy, and `mode: rollback` after one; default both;
 * `rolling`, asked for by name: a canary through Vercel Rolling Releases, its own Vercel calls only),
 * `--json FILE` (every result); `MATRIX_DEBUG=FILE` appends every main step's output to FILE. Bundle: `PD_DIST_DIR` (e.g. a private `node scripts/bundle.mjs --out DIR`), else dist/.
 */
import { writeFileSync } from 'node:fs';
import {
  allCases,
  cleanRun,
  FAULT_KINDS,
  formatFailures,
  formatTable,
  liveSandboxes,
  ALL_PATHS,
  PATHS,
  type MatrixPath,
  runCases,
  sliceCases,
  type FaultCase,
  type FaultKind,
} from '../__tests__/e2e/hardening/matrix.ts';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const concurrency = Math.max(1, Number(option('concurrency') ?? 3));
const filter = option('filter') ? new RegExp(option('filter')!) : undefined;
const kinds = (option('kinds')?.split(',') ?? [...FAULT_KINDS]) as FaultKind[];
for (const k of kinds)
  if (!FAULT_KINDS.includes(k)) throw new Error(`unknown fault kind ${k}; known: ${FAULT_KINDS.join(', ')}`);

// Stopped (Ctrl-C, CI timeout): stop every sandbox in flight, with its PostgreSQL, before exiting.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`${signal}: stopping ${liveSandboxes.size} sandbox(es)`);
    void Promise.all([...liveSandboxes].map((sb) => sb.stop())).finally(() => process.exit(130));
  });
}

const paths = (option('paths')?.split(',') ?? [...PATHS]) as MatrixPath[];
for (const p of paths) if (!ALL_PATHS.includes(p)) throw new Error(`unknown path ${p}; known: ${ALL_PATHS.join(', ')}`);

const started = Date.now();
let cases: FaultCase[] = [];
for (const path of paths) {
  const clean = await cleanRun(path);
  console.log(
    `clean ${path} run: ${clean.requests.length} requests, ${clean.sites.length} provider call sites, ${(clean.durationMs / 1000).toFixed(1)} s`,
  );
  cases.push(...(process.argv.includes('--slice') ? sliceCases(clean.sites) : allCases(clean.sites, kinds)));
}
cases = cases.filter((c) => kinds.includes(c.kind) && (!filter || filter.test(c.id)));
console.log(`${cases.length} cases, ${concurrency} at a time`);

// Re-runs (docs/safety.md, "Re-runs": every failure point of the matrix): by default every case whose run did not
// succeed is attempted a second time once its fault is gone; `--reruns 503` keeps that to each call
// site's 503 case (a quicker pass), `--reruns none` skips them.
const reruns = option('reruns') ?? 'all';
if (!['all', '503', 'none'].includes(reruns)) throw new Error(`--reruns takes all, 503 or none, not ${reruns}`);
const rerun = (c: FaultCase): boolean => reruns === 'all' || (reruns === '503' && c.kind === '503');
const results = await runCases(
  cases,
  concurrency,
  (r, done) => {
    const mark = r.invariant.holds ? '✓' : '✗';
    const where = r.faulted ? `faulted ${r.faulted}× in ${r.faultedIn}` : 'fault never reached';
    const again = r.rerun ? `; attempt 2: ${r.rerun.status ?? '—'}` : '';
    console.log(
      `${mark} [${done}/${cases.length}] ${r.case.id}: ${r.invariant.status ?? '—'}, production on ${r.invariant.live}, ${where}${again}, ${(r.durationMs / 1000).toFixed(1)} s`,
    );
  },
  rerun,
);

const seconds = (Date.now() - started) / 1000;
const held = results.filter((r) => r.invariant.holds).length;
console.log(`\n${formatTable(results)}\n`);
const failures = formatFailures(results);
if (failures) console.log(`Cases that did not hold:\n${failures}\n`);
const unreached = results.filter((r) => r.faulted === 0).length;
const rerunResults = results.filter((r) => r.rerun);
console.log(
  `Re-runs: ${rerunResults.length} failed runs attempted again, ${rerunResults.filter((r) => r.rerun!.violations.length === 0).length} completed or refused cleanly without duplicates.`,
);
console.log(
  `${results.length} cases run, ${held} held the invariant, ${results.length - held} did not; ` +
    `${unreached} never reached their faulted call; ${(seconds / 60).toFixed(1)} min with ${concurrency} sandboxes at a time.`,
);
const json = option('json');
if (json) writeFileSync(json, JSON.stringify({ seconds, results }, null, 1));
// Plain closing line that CI tooling reads as the result.
console.log(`${held} passed, ${results.length - held} failed`);
process.exitCode = held === results.length ? 0 : 1;
