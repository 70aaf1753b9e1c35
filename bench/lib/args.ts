/**
 * `npm run bench -- [flags]`. The defaults are the full run the doc is written from (about ten
 * minutes on a quiet 2-core machine); `--quick` is a fast pass with small sizes and short windows.
 */
import { parseSize } from './stats.ts';

export const USAGE = `Usage: npm run bench -- [flags]

  --quick              fast pass: one run each, small backups, short windows, no bundle build
  --only 1,3,5         run only these benchmarks (1 pipeline, 2 breach, 3 backup, 4 API calls, 5 start-up,
                       6 rollback)
  --runs N             runs of the deploy benchmarks 1 and 2 (medians are reported)
  --startup-runs N     runs of each start-up measurement
  --latency MS         latency injected on every API call (benchmarks 1 and 2)
  --sizes LIST         backup sizes, e.g. 256M,1G,4G
  --backup-budget S    skip a backup size predicted to end after S seconds of benchmark 3
                       (default 1200: 1 GiB and 4 GiB for both uploaders fit on a quiet 2-core machine)
  --dist DIR           bundle under test (default: PD_DIST_DIR, else dist/)
  --no-contributors    skip the one-off build that lists what the bundle is made of
  --write-doc          write docs/benchmarks.md from this run's figures
  --doc-only           write docs/benchmarks.md from saved results, run nothing
  --from FILE          the results --doc-only reads (default bench/results/latest.json)
  --help`;

export interface BenchArgs {
  quick: boolean;
  only: Set<number>;
  runs: number;
  startupRuns: number;
  latencyMs: number;
  sizes: number[];
  backupBudgetMs: number;
  dist?: string;
  contributors: boolean;
  writeDoc: boolean;
  docOnly: boolean;
  from?: string;
  help: boolean;
}

function num(flag: string, v: string | undefined, min: number): number {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || n < min) throw new Error(`${flag} needs a number ≥ ${min}`);
  return n;
}

/** Parses the flags; throws with the flag's name on a bad value. */
export function parseArgs(argv: readonly string[]): BenchArgs {
  const quick = argv.includes('--quick');
  const a: BenchArgs = {
    quick,
    only: new Set([1, 2, 3, 4, 5, 6]),
    runs: quick ? 1 : 3,
    startupRuns: quick ? 3 : 10,
    latencyMs: 50,
    sizes: (quick ? ['64M', '128M'] : ['256M', '1G', '4G']).map(parseSize),
    backupBudgetMs: quick ? 180_000 : 1_200_000,
    contributors: !quick,
    writeDoc: false,
    docOnly: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => argv[++i];
    switch (flag) {
      case '--quick':
        break;
      case '--only': {
        const ids = (value() ?? '').split(',').map((x) => Number(x.trim()));
        if (ids.length === 0 || ids.some((x) => ![1, 2, 3, 4, 5, 6].includes(x)))
          throw new Error('--only takes numbers 1–6, e.g. 1,3');
        a.only = new Set(ids);
        break;
      }
      case '--runs':
        a.runs = num(flag, value(), 1);
        break;
      case '--startup-runs':
        a.startupRuns = num(flag, value(), 1);
        break;
      case '--latency':
        a.latencyMs = num(flag, value(), 0);
        break;
      case '--sizes':
        a.sizes = (value() ?? '').split(',').map(parseSize);
        break;
      case '--backup-budget':
        a.backupBudgetMs = num(flag, value(), 1) * 1000;
        break;
      case '--dist':
        a.dist = value();
        if (!a.dist) throw new Error('--dist needs a directory');
        break;
      case '--no-contributors':
        a.contributors = false;
        break;
      case '--write-doc':
        a.writeDoc = true;
        break;
      case '--doc-only':
        a.docOnly = true;
        break;
      case '--from':
        a.from = value();
        if (!a.from) throw new Error('--from needs a results file');
        break;
      case '--help':
      case '-h':
        a.help = true;
        break;
      default:
        throw new Error(`unknown flag ${flag}\n\n${USAGE}`);
    }
  }
  return a;
}
