/** docs/benchmarks.md, section 5: start-up and bundle. */
import type { StartupResult } from '../startup.ts';
import { blocks, bullets, code, table } from '../lib/md.ts';
import { MB, fmtBytes, fmtMB, fmtMs } from '../lib/stats.ts';

/** Dependencies a run needs only in one step, or only when a provider is configured. */
const ONLY_WHEN: Record<string, string> = {
  '@vercel/client': 'staging green (deploy step)',
  '@aws-sdk/client-s3': 'the backup (prepare step, with `backup-command` or `backup-max-age`)',
  '@smithy/node-http-handler': 'the backup',
  '@smithy/signature-v4': 'the backup’s parts',
  '@slack/web-api': 'Slack notifications (with `slack-token`)',
};

function findings(s: StartupResult): string[] {
  const out: string[] = [];
  const c = s.contributors;
  const lazyable = c ? c.byDependency.filter((d) => d.name in ONLY_WHEN && d.startBytes > 0) : [];
  const saved = lazyable.reduce((a, d) => a + d.startBytes, 0);
  const importMs = s.depImports.filter((d) => d.name in ONLY_WHEN && Number.isFinite(d.ms));
  out.push(
    `**First line ${fmtMs(s.firstLineMs)}** (${s.firstLineMs <= 300 ? 'within' : 'over'} the 300 ms goal) against ${fmtMs(s.emptyMs)} for an empty script: ` +
      `nothing is printed until the whole of ${code('index.js')} (${fmtMB(s.sizes.indexBytes)}) is parsed and every module in it evaluated, ` +
      `because ${code('src/index.ts')} → ${code('main.ts')} → ${code('providers/index.ts')} and the steps import every SDK statically. ` +
      `Imported alone, ${importMs.map((d) => `${code(d.name)} takes ${fmtMs(d.ms)}`).join(', ')}.`,
  );
  if (c && lazyable.length > 0) {
    out.push(
      `**What closes it**: load each SDK only when the step that needs it runs — ${lazyable
        .map((d) => `${code(d.name)} (${fmtBytes(d.startBytes)}, only for ${ONLY_WHEN[d.name]})`)
        .join(', ')}. In ${code('src/providers/index.ts')}, ${code('createProviders')} would become async and ` +
        `${code("await import('./s3.js')")} / ${code("await import('./slack.js')")} only when backup or Slack is configured (the adapters' types stay ` +
        `${code('import type')}); ${code('src/providers/vercel-deploy.ts')} would ${code("await import('@vercel/client')")} inside ${code('createStagedDeployment')}. ` +
        `ncc then emits them as chunks loaded on demand: about ${fmtMB(saved)} of module source leaves the start-up bundle and about ` +
        `${fmtMB(s.sizes.indexBytes - saved)} stays${s.sizes.indexBytes - saved <= 4 * MB ? ', under the 4 MB goal' : ''}. ` +
        'A deploy still loads them, but later, while it waits on the network; a run without a backup or Slack, and a rollback, never loads those.',
    );
  }
  const bundled = new Set(c?.byDependency.map((d) => d.name));
  const absent = c ? s.depImports.filter((d) => !bundled.has(d.name)).map((d) => d.name) : [];
  if (absent.length > 0) {
    out.push(
      `${absent.map(code).join(', ')} ${absent.length === 1 ? 'is a dependency' : 'are dependencies'} the bundle does not contain ` +
        '(no module of it is in the build): listed in `dependencies` but not imported by `src/`; if only tests use it, `devDependencies` is its place.',
    );
  }
  const undici = c?.byPackage.find((p) => p.name === 'undici');
  const buildUtils = c?.byPackage.find((p) => p.name === '@vercel/build-utils');
  if (undici || buildUtils) {
    out.push(
      `Two packages weigh most and are not ours to trim: ${[
        undici &&
          `${code('undici')} (${fmtMB(undici.startBytes)}, pulled in by ${code('@actions/http-client')} under ${code('@actions/core')} for proxy support)`,
        buildUtils &&
          `${code('@vercel/build-utils')} (${fmtMB(buildUtils.startBytes + buildUtils.lazyBytes)}, shipped pre-bundled inside ${code('@vercel/client')})`,
      ]
        .filter(Boolean)
        .join(
          ' and ',
        )}. The bundle is not minified on purpose (reviewers read ${code('dist/')} in check-dist diffs); ` +
        `${code('ncc -m')} would shrink it further at that cost.`,
    );
  }
  if (c && Math.abs(c.builtIndexBytes - s.sizes.indexBytes) > 0.02 * s.sizes.indexBytes) {
    out.push(
      `The one-off build’s ${code('index.js')} (${fmtMB(c.builtIndexBytes)}) differs from the measured bundle (${fmtMB(s.sizes.indexBytes)}) by more than 2 %: ` +
        `${code('dist/')} is not current with the sources; the contributors describe the sources.`,
    );
  }
  return out;
}

export function startupSection(s: StartupResult, node: string): string {
  const c = s.contributors;
  const runs = s.firstLineRuns.map((ms) => Math.round(ms)).join(', ');
  return blocks(
    '## 5. Start-up and bundle',
    `Time from spawning ${code('node dist/index.js')} (Node ${node.replace(/^v/, '')}, a real run’s environment against the sandbox) ` +
      `to its first line on stdout (${code(s.firstLine)}); the process is then stopped. Beside it: an empty script printing one line, ` +
      `and every ${code('dependencies')} entry of package.json imported unbundled from node_modules. ${s.firstLineRuns.length} runs each, median.`,
    table(
      ['what', 'first line', 'peak RSS then'],
      [
        [`${code('dist/index.js')} (runs: ${runs} ms)`, fmtMs(s.firstLineMs), fmtMB(s.firstLineRss)],
        [code('dist/post.js'), fmtMs(s.postFirstLineMs), '—'],
        ['empty script', fmtMs(s.emptyMs), Number.isFinite(s.emptyRss) ? fmtMB(s.emptyRss) : '—'],
        ['dependencies, unbundled', fmtMs(s.allDepsMs), '—'],
      ],
    ),
    `Each dependency imported alone in a fresh process (median ms): ${s.depImports
      .map((d) => `${code(d.name)} ${Number.isFinite(d.ms) ? Math.round(d.ms) : `failed (${d.error})`}`)
      .join(', ')}.`,
    `**Bundle**: ${code('dist/index.js')} ${fmtMB(s.sizes.indexBytes)} is loaded at start` +
      `${s.sizes.lazyChunks.length ? `; ${s.sizes.lazyChunks.map((ch) => `${code(ch.file)} ${fmtMB(ch.bytes)}`).join(', ')} later, on demand` : ''}; ` +
      `${code('dist/post.js')} ${fmtMB(s.sizes.postBytes)}; all of ${code('dist/')}’s JavaScript ${fmtMB(s.sizes.totalBytes)} (MB = 10⁶ bytes).`,
    c
      ? blocks(
          `What it is made of, from a one-off ncc build of the sources with webpack stats (${fmtMs(c.buildMs)}): module source sizes, ` +
            'attributed to the dependency of ours that first imports them.',
          table(
            ['our dependency', 'at start', 'on demand'],
            c.byDependency
              .slice(0, 12)
              .map((d) => [d.name, fmtBytes(d.startBytes), d.lazyBytes ? fmtBytes(d.lazyBytes) : '—']),
          ),
          `The biggest packages themselves: ${c.byPackage
            .slice(0, 12)
            .map((p) => `${code(p.name)} ${fmtMB(p.startBytes + p.lazyBytes)}`)
            .join(', ')}.`,
        )
      : s.contributorsError
        ? `The one-off build that lists the contributors failed: ${s.contributorsError}`
        : 'Contributors not listed in this run (`--no-contributors` or `--quick`).',
    '### What limits it',
    bullets(findings(s)),
  );
}
