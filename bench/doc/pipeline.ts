/**
 * docs/benchmarks.md, section 1: pipeline overhead. The "what limits it" list is derived from the
 * timeline of the run with the median wall time: a finding is written only when its evidence is in
 * the measurements (a gap of the right length between the right calls), so a fixed cause disappears
 * from the page on the next `--write-doc`.
 */
import type { PipelineResult } from '../pipeline.ts';
import { blocks, bullets, code, table } from '../lib/md.ts';
import { fmtMs, fmtRatio, median } from '../lib/stats.ts';
import type { Call, Gap, StepTimeline } from '../lib/timeline.ts';

/** A gap whose neighbours match: `after` ends with `a`, `before` ends with `b`. */
function gapsBetween(steps: StepTimeline[], a: RegExp, b: RegExp, minMs: number): (Gap & { step: string })[] {
  return steps.flatMap((s) =>
    s.gaps.filter((g) => g.ms >= minMs && a.test(g.after) && b.test(g.before)).map((g) => ({ ...g, step: s.name })),
  );
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * Why each step takes longer than its bound: the waits the implementation adds on purpose or has not
 * removed. Written for steps whose median is at least OVER_MS over their bound.
 */
const OVER_CAUSES: Record<string, string> = {
  preflight:
    'the answers of the look-ups sent at once are handled on one thread (the GitHub GraphQL answer mapped, the pools and ' +
    'monitors judged); a deploy that goes on does not wait for the go/no-go comment (it is written in the background, ' +
    'in order with the smoke report, and the run waits for both before it ends)',
  prepare:
    'the AWS SDK is evaluated on the backup’s first call (loaded during pre-flight instead, it slowed pre-flight as much: ' +
    'tried and reverted), ' +
    'and the named pipe is made (`mkfifo`) before the command starts; the bound counts the three S3 round trips only',
  deploy:
    '`@vercel/client` hashes the files, and Vercel answers its first create with the files it lacks, uploaded before a second ' +
    'create (a round trip more than the bound’s)',
  smoke:
    'the checks’ requests and their report are prepared on one thread; a smoke step that passes does not wait for its PR ' +
    'report (written in the background, after the go/no-go one)',
  traffic:
    'the read that arms the restore (load balancer and pools, then the slot aliases: two round trips the bound leaves out, as ' +
    'nothing older may arm it); pool health read 250 ms, 250 ms, 500 ms … apart while the sandbox’s monitor probes every ' +
    '200 ms; and the routing check’s batch of requests. The record’s in-progress status once traffic moved is not waited ' +
    'for: the run’s GitHub writes go in order, and its closing waits for them before another client writes the final status',
  cleanup:
    'GitHub’s writes one at a time: the success, then the earlier record’s inactive status (the earlier records are read ' +
    'in one GraphQL query while the success is written; the compare that says what shipped was started while production ' +
    'was watched)',
  exit: 'the last step’s Slack edit and the final one go one after the other (one queue, so edits land in order), then the process ends',
};
const OVER_MS = 50;

/** Findings with their evidence, each with what would close it. */
export function pipelineFindings(p: PipelineResult, startupFirstLineMs?: number): string[] {
  const run = p.runs[p.shown]!;
  const steps = run.steps;
  const calls: Call[] = run.calls;
  const out: string[] = [];
  const startup = p.stepMedians.find((s) => s.step === 'startup');
  if (startup && startup.ms > 2 * p.nodeStartMs) {
    out.push(
      `**Start-up: ${fmtMs(startup.ms)} from spawn to the first step**, against ${fmtMs(p.nodeStartMs)} for an empty script. ` +
        `The whole bundle is parsed and evaluated before the first line${startupFirstLineMs ? ` (${fmtMs(startupFirstLineMs)} to the first log line, benchmark 5)` : ''}; ` +
        'benchmark 5 lists what it is made of and what a lazy import of the SDKs would save.',
    );
  }
  const over = p.stepMedians
    .filter((m) => OVER_CAUSES[m.step] && m.ms - m.boundMs >= OVER_MS)
    .map((m) => `${m.step} +${fmtMs(m.ms - m.boundMs)}: ${OVER_CAUSES[m.step]}`);
  if (over.length > 0) {
    out.push(
      `**Over the bound, step by step** (medians; ${fmtMs(sum(p.stepMedians.map((m) => Math.max(0, m.ms - m.boundMs))))} in all): ` +
        `${over.join('; ')}.`,
    );
  }
  const held = p.heldWrites;
  if (held.length >= 1) {
    out.push(
      `**GitHub writes wait for each other**: ${held.length} of the ${p.githubWrites} mutating GitHub calls started about a second ` +
        `(${held.map((h) => fmtMs(h.sincePrevious)).join(', ')}) after the previous write started, after ${fmtMs(sum(held.map((h) => h.idleBefore)))} ` +
        `in all with nothing in flight (${[...new Set(held.map((h) => code(h.op)))].join(', ')}). This is \`@octokit/plugin-throttling\`’s ` +
        '`write` group (`maxConcurrent: 1, minTime: 1000`; its `notifications` group adds `minTime: 3000` for new comments), made for ' +
        'clients that write in bulk; a deploy makes a handful of writes. To close it: give the throttling options a `write` group ' +
        'without the pause in `src/providers/github-core.ts` (`throttle: { write: new Bottleneck.Group({ id: "octokit-write", ' +
        'maxConcurrent: 1, minTime: 0 }), … }`, `Bottleneck` from `bottleneck/light.js`, a dependency of the plugin), keeping writes ' +
        'one at a time; or send the report surfaces (PR comment, deployment statuses) in the background so only the deployment record waits.',
    );
  }
  const exit = p.stepMedians.find((s) => s.step === 'exit');
  if (exit && exit.ms >= 150) {
    out.push(
      `**${fmtMs(exit.ms)} from the end of the last step to the process’s exit**, with no API call in flight: the report, the job summary ` +
        'and the outputs are written, and the process ends only when nothing keeps its event loop alive (an open keep-alive socket or a timer ' +
        'delays it).',
    );
  }
  const lag = p.readySeenAfterMs;
  if (lag !== undefined && Number.isFinite(lag) && lag >= 300) {
    const polls = gapsBetween(steps, /vercel .*\/events$/, /vercel GET \/v13\/deployments\/\{id\}$/, 300);
    out.push(
      `**Green’s readiness is polled once a second**: the action read green as READY ${fmtMs(lag)} (median) after the sandbox made it ` +
        `READY, against one round trip (${fmtMs(median(p.runs.map((r) => r.rttMs)))}); ${polls.length} pause(s) of about a second between ` +
        'reading the build events and reading the deployment again. `pollDelay` in `src/steps/deploy/readiness.ts` waits 1 s ' +
        '(2 s after 15 s), so READY is seen up to a poll late. To close it: poll faster once the build is expected to end, or follow ' +
        'the build-event stream (`GET /v3/deployments/{id}/events?follow=1`), which ends when the build does.',
    );
  }
  const health = gapsBetween(steps, /cloudflare .*\/health$/, /cloudflare .*\/health$/, 500);
  if (health.length > 0) {
    out.push(
      `**The wait for a fresh pool-health result**: ${fmtMs(sum(health.map((g) => g.ms)))} between pool-health reads in the ` +
        `${[...new Set(health.map((g) => g.step))].join(' and ')} step. After the idle slot is re-pointed, a data center’s result ` +
        'counts only once it has changed twice (the first change may come from a probe sent before the alias moved), so at least two ' +
        'monitor probes pass (the bound counts them); the action reads health 250 ms, 250 ms, 500 ms, 1 s … up to 2 s apart ' +
        '(`src/traffic/cloudflare.ts`), while the sandbox’s Cloudflare probes every 200 ms. Reading faster would see the result a ' +
        'little sooner here, but on Cloudflare the monitor probes every 60 s by default (15 s Business, 10 s Enterprise): a fixed fast ' +
        'cadence would spend the 1,200-requests-per-5-minutes budget for nothing (benchmark 4), so the back-off stays.',
    );
  }
  const lbReads = calls.filter((c) => c.service === 'cloudflare' && /GET .*\/load_balancers\/\{id\}$/.test(c.op));
  const aliasReads = calls.filter((c) => c.service === 'vercel' && c.op.startsWith('GET /v4/aliases/'));
  if (lbReads.length >= 3) {
    const perStep = steps
      .map((st) => ({
        step: st.name,
        n: lbReads.filter((c) => c.start >= st.start && c.start < st.start + st.durationMs).length,
      }))
      .filter((x) => x.n > 0)
      .map((x) => `${x.step} ${x.n}`)
      .join(', ');
    out.push(
      `**The traffic state is read ${lbReads.length} times** (load balancer reads by step: ${perStep}; ${aliasReads.length} alias reads in all). ` +
        'Each reading of who is live (`readLive` in `src/traffic/cloudflare.ts`) reads the load balancer and both pools together, then ' +
        'the two slot aliases together, then blue’s deployment: 3 round trips in sequence. The load balancer is never taken from an ' +
        'earlier read (benchmark 4 says why each read is there): the reading that names blue runs beside the lock, the one the record ' +
        'is made from runs while green builds, so neither is on the critical path; the one that arms the restore, right before the ' +
        'switch, is (3 round trips the bound does not count).',
    );
  }
  const cleanup = steps.find((s) => s.name === 'cleanup');
  if (cleanup && cleanup.calls >= 4 && cleanup.maxConcurrency <= 1) {
    out.push(
      `**Cleanup makes its ${cleanup.calls} calls one after another** (${fmtMs(cleanup.durationMs)}, ${fmtMs(cleanup.apiBusyMs)} of it waiting on an API). ` +
        'The final records (GitHub status, Datadog event and DORA deployment, retiring old deployments, what shipped) do not depend on each other: ' +
        'started together they cost one round trip plus the slowest call.',
    );
  }
  const pre = steps.find((s) => s.name === 'preflight');
  const preMedian = p.stepMedians.find((s) => s.step === 'preflight');
  const preBound = p.bound.terms.find((t) => t.step === 'preflight')?.ms ?? Infinity;
  if (pre && preMedian && preMedian.ms > 3 * preBound) {
    const comment = calls.filter(
      (c) =>
        c.service === 'github' &&
        /issues\/\d+\/comments|issues\/comments/.test(c.op) &&
        c.start >= pre.start &&
        c.start < pre.start + pre.durationMs,
    );
    const gap = pre.gaps[0];
    out.push(
      `**Pre-flight takes ${fmtMs(preMedian.ms)}** (median) for ${preMedian.calls} calls, up to ${preMedian.maxConcurrency} at once: ` +
        'the independent look-ups do run together, but ' +
        `${comment.length ? `the go/no-go comment adds ${comment.length} more round trips in sequence (find, then post or edit)` : 'more calls follow in sequence'}` +
        `${gap ? `, and the longest pause with nothing in flight is ${fmtMs(gap.ms)} (${gap.after} → ${gap.before})` : ''}. ` +
        'Posting the comment without waiting for it would leave two round trips.',
    );
  }
  return out;
}

/** Section 1 of the doc. */
export function pipelineSection(p: PipelineResult, startupFirstLineMs?: number): string {
  const o = p.options;
  const run = p.runs[p.shown]!;
  const rtt = median(p.runs.map((r) => r.rttMs));
  const edge = median(p.runs.map((r) => r.edgeMs));
  const stepRows = p.stepMedians.map((s) => [
    s.step,
    fmtMs(s.ms),
    s.step === 'exit' ? '—' : fmtMs(s.boundMs),
    s.step === 'exit' ? fmtMs(s.ms) : fmtMs(s.ms - s.boundMs),
    fmtMs(s.apiBusyMs),
    s.calls,
    s.maxConcurrency,
  ]);
  const gaps = run.steps
    .filter((s) => s.name !== 'validate')
    .flatMap((s) => s.gaps.map((g) => ({ ...g, step: s.name })))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 10);
  const findings = pipelineFindings(p, startupFirstLineMs);
  return blocks(
    '## 1. Pipeline overhead',
    `A full ${code('blue-green')} deploy of the sandbox’s ${code('default')} world (v1 live on blue; v2 staged on Vercel, smoke-tested, ` +
      `switched by Cloudflare weights, watched, cleaned up), with **${o.latencyMs} ms injected on every API call** ` +
      `(${code('POST /_sandbox/latency')}; the data plane — Vercel edge, load balancer — gets none), a build of ${fmtMs(o.buildMs)}, ` +
      `a validation window of ${fmtMs(o.windowMs)} sampled every ${fmtMs(o.intervalMs)}, ${o.smokeSamples} smoke samples and a 1 MiB generated backup. ` +
      `${p.runs.length} run(s), each on a fresh sandbox; the median is reported. Wall time is spawn → exit of ${code('node dist/index.js')}, ` +
      'as the runner waits for it (the post step is a separate process and not included).',
    `**Wall time ${fmtMs(p.wallMs)}** (runs: ${p.runs.map((r) => fmtMs(r.wallMs)).join(', ')}) against a **lower bound of ${fmtMs(p.bound.totalMs)}**: ` +
      `ratio **${fmtRatio(p.ratio)}** (goal ≤ 1.10), ${fmtMs(p.wallMs - p.bound.totalMs)} of overhead. ` +
      `The overhead does not grow with the build or the window: on a deploy with a 60 s build and the default 5-minute ` +
      `${code('validation-window')}, the same ${fmtMs(p.wallMs - p.bound.totalMs)} would be a ratio of ` +
      `${fmtRatio(1 + (p.wallMs - p.bound.totalMs) / (p.bound.totalMs - o.buildMs - o.windowMs + 60_000 + 300_000))}; ` +
      'the benchmark keeps both short so that the overhead shows.',
    '### The lower bound',
    `The critical path of waits no implementation can avoid. The steps run in the order the interface fixes; inside a step, ` +
      `only calls whose answer the next call needs count, one round trip each (${fmtMs(rtt)} measured with the injected latency); ` +
      `a call that can overlap a longer wait of its step costs nothing; reports and notifications that can be sent in the background ` +
      `are off the path. A request through the data plane costs ${fmtMs(edge)}; Node 24 prints the first line of an empty script in ${fmtMs(p.nodeStartMs)}. ` +
      `${p.bound.roundTrips} round trips in all.`,
    table(
      ['step', 'bound', 'formula', 'why'],
      p.bound.terms.map((t) => [t.step, fmtMs(t.ms), t.formula, t.why]),
    ),
    '### Per step (medians)',
    'Measured is the step’s duration in the report (`startup` is spawn → first step; `exit` is the last step → exit). ' +
      '“API busy” is the time some API call was in flight; the rest is waiting on something else: builds, windows, requests to the ' +
      'deployments themselves, and the action’s own pauses.',
    table(['step', 'measured', 'lower bound', 'over', 'API busy', 'API calls', 'at most at once'], stepRows),
    p.zeroLatency &&
      `Without injected latency the same deploy took ${fmtMs(p.zeroLatency.wallMs)}: the ${o.latencyMs} ms per call cost ` +
        `${fmtMs(p.wallMs - p.zeroLatency.wallMs)}, i.e. the action waits for about **${Math.round(p.zeroLatency.sequentialRoundTrips)} round trips ` +
        `one after another**, where the bound has ${p.bound.roundTrips}. (One run each: a noisy figure on a busy machine.)`,
    '### Where the time goes',
    `The longest pauses with no API call in flight, outside the validation window, in the run with the median wall time (${fmtMs(run.wallMs)}):`,
    table(
      ['step', 'pause', 'after', 'before'],
      gaps.map((g) => [g.step, fmtMs(g.ms), g.after, g.before]),
    ),
    '### What limits it, and what would close it',
    findings.length
      ? bullets(findings)
      : 'No pause in the timeline stands out: the overhead is spread over the calls themselves.',
  );
}
