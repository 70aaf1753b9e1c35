/**
 * `mode: plan`, the last step: what `deploy` would do, read without changing anything. Reads who is
 * live on the load balancer (or, with `traffic-manager: vercel`, which deployment is production),
 * which deployment blue is and so what a rollback would return to, where green would be staged, the
 * weight schedule with its times and thresholds, and evaluates the Datadog queries once. Only GET
 * requests leave this step; the e2e test compares the sandbox's state before and after a plan.
 */
import type { RunContext, RunStep } from '../pipeline/context.js';
import { formatDuration } from '../config/duration.js';
import type { Config } from '../config/types.js';
import { STEP_TITLES } from '../pipeline/modes.js';
import type { CheckResult, StepOutcome } from '../pipeline/types.js';
import { codeSpan, escapeCell, table } from '../surfaces/markdown.js';
import { describeProduction, type SlotsView } from '../traffic/index.js';
import { checkWorld } from '../traffic/world.js';
import { formatRatio } from '../analysis/format.js';
import { formatMs } from '../text.js';
import { errorMessage } from '../text.js';

/** One row of the weight schedule, relative to T = the moment the first switch starts. */
export interface ScheduleRow {
  /** Offset from T in ms. */
  atMs: number;
  /** Green's share from then on, percent. */
  share: number;
  /** How long the share is held and analysed before the next row (or the end). */
  holdMs: number;
  what: string;
}

/**
 * The weight schedule `deploy` would follow. Each step but the last is held for `step-duration`
 * with analysis; the last (100 %) is then watched for `validation-window` (`rollback-window` for
 * `immediate`, which goes to 100 % at once). Pure.
 */
export function weightSchedule(config: Pick<Config, 'strategy' | 'traffic' | 'validation'>): ScheduleRow[] {
  const { strategy, traffic, validation } = config;
  const steps = strategy === 'immediate' ? [100] : traffic.steps.length > 0 ? traffic.steps : [100];
  const watch = strategy === 'immediate' ? validation.rollbackWindowMs : validation.windowMs;
  // traffic-manager: vercel + canary: each step is a stage of a Vercel rolling release.
  const rolling = strategy === 'canary' && traffic.manager === 'vercel';
  return steps.map((share, i) => {
    const last = i === steps.length - 1;
    const stage = rolling
      ? i === 0
        ? 'rolling release stage 0 (promote starts it); '
        : last
          ? 'rolling release completed; '
          : `rolling release stage ${i} approved after the analysis before passed; `
      : '';
    return {
      atMs: i * traffic.stepDurationMs,
      share,
      holdMs: last ? watch : traffic.stepDurationMs,
      what:
        stage +
        (last
          ? strategy === 'immediate'
            ? `100 % at once; watched for rollback-window, blue kept ready`
            : `final switch; watched for validation-window`
          : `held for step-duration with analysis`),
    };
  });
}

/** The thresholds the deploy would judge by, one line each. Pure. */
export function thresholdLines(config: Config): string[] {
  const v = config.validation;
  return [
    `error rate above ${formatRatio(v.errorRateThreshold)} is a breach`,
    `latency above ${formatMs(v.performanceThresholdMs)} is a breach (smoke p95 over ${config.smoke.samples} samples too)`,
    `${v.failureLimit} breaching ${v.failureLimit === 1 ? 'sample' : 'samples'} tolerated; sampled every ${formatDuration(v.intervalMs)}`,
    `no data: ${v.noData}`,
    `a rollback must finish within ${formatDuration(v.rollbackTimeoutMs)}`,
  ];
}

/** What was read about production. */
interface Production {
  rows: CheckResult[];
  blue?: { id: string; url?: string };
  slots?: SlotsView;
}

async function readProduction(ctx: RunContext): Promise<Production> {
  const { config } = ctx;
  const view = await describeProduction(config, ctx.providers, ctx.traffic);
  const rows: CheckResult[] = [];
  const out: Production = { rows, ...(view.blue ? { blue: view.blue } : {}) };

  const v = view.vercel;
  if (v.state !== 'read') rows.push({ name: 'Production deployment', status: 'not-checked', reason: v.reason });
  else if (!v.value.deployment) {
    rows.push({
      name: 'Production deployment',
      status: 'warn',
      reason: `project ${v.value.project} has no production deployment yet: there is no blue to roll back to`,
    });
  } else {
    const prod = v.value.deployment;
    rows.push({
      name: 'Production deployment',
      status: 'pass',
      reason: `${prod.id}${prod.url ? ` (${prod.url})` : ''} serves production on Vercel`,
    });
  }

  const lb = view.slots;
  if (lb?.state === 'not-configured') rows.push({ name: 'Load balancer', status: 'not-checked', reason: lb.reason });
  else if (lb?.state === 'failed')
    rows.push({ name: 'Load balancer', status: 'fail', reason: `cannot read the live slot: ${lb.reason}` });
  else if (lb?.state === 'read') {
    const r = lb.value;
    out.slots = r;
    const live = `pool ${r.livePool} (${r.hostnames[r.livePool]}) is live with ${Math.round(r.shares[r.livePool] ?? 0)} % of the traffic`;
    const notes = r.notes.length ? `; ${r.notes.join('; ')}` : '';
    rows.push({
      name: 'Load balancer',
      status: r.notes.length ? 'warn' : 'pass',
      reason: `${live}; pool ${r.idlePool} (${r.hostnames[r.idlePool]}) is idle${notes}`,
    });
    if (view.slotMismatch) rows.push({ name: 'Slot consistency', status: 'warn', reason: view.slotMismatch });
  }
  return out;
}

/** Each configured Datadog query evaluated once over the recent past, against its threshold. */
async function readQueries(ctx: RunContext): Promise<CheckResult[]> {
  const { config } = ctx;
  const v = config.validation;
  const queries = [
    { name: 'Error rate now', query: v.errorRateQuery, limit: v.errorRateThreshold, show: formatRatio },
    { name: 'Latency now', query: v.latencyQuery, limit: v.performanceThresholdMs, show: formatMs },
  ].filter((q) => q.query);
  if (queries.length === 0) return [];
  const dd = ctx.providers.datadog;
  if (!dd)
    return queries.map((q) => ({ name: q.name, status: 'not-checked' as const, reason: 'Datadog is not configured' }));
  const toMs = Date.now();
  // A window of at least a minute: one sampling interval alone may hold no point yet.
  const fromMs = toMs - Math.max(60_000, v.intervalMs);
  return Promise.all(
    queries.map(async (q): Promise<CheckResult> => {
      // A release-scoped query has no release to ask about before a deploy: not read, said so.
      if (q.query!.includes('{{version}}')) {
        return {
          name: q.name,
          status: 'not-checked',
          reason: 'the query is scoped with {{version}}: a deploy asks it of green and of blue',
        };
      }
      try {
        // The same call and judgement as a validation sample: the worst series of a grouped query.
        const result = await dd.queryValue(q.query!, fromMs, toMs);
        if (result.kind === 'error') return { name: q.name, status: 'not-checked', reason: result.error };
        if (result.kind === 'no-data')
          return {
            name: q.name,
            status: 'warn',
            reason: `no data in the last ${formatDuration(toMs - fromMs)} (no-data: ${v.noData})`,
          };
        const { value } = result;
        const over = value > q.limit;
        return {
          name: q.name,
          status: over ? 'warn' : 'pass',
          reason: `${q.show(value)} ${over ? '>' : '<='} ${q.show(q.limit)} on production now${over ? ': a deploy would start from a breach' : ''}`,
          details: { value, threshold: q.limit },
        };
      } catch (err) {
        // Only a cancelled run gets here (queryValue answers provider failures with kind 'error').
        return { name: q.name, status: 'not-checked', reason: errorMessage(err) };
      }
    }),
  );
}

/** The plan as Markdown for the job summary (remote text escaped). */
export function planMarkdown(config: Config, p: { blue?: { id: string }; slots?: SlotsView }): string {
  const lines: string[] = ['#### What deploy would do', ''];
  const green = p.slots
    ? `pool ${codeSpan(p.slots.idlePool)}, hostname ${codeSpan(p.slots.hostnames[p.slots.idlePool] ?? '?')}`
    : config.strategy === 'canary'
      ? "Vercel (the canary of a rolling release: manual-approval stages from traffic-steps; the project's own rolling-release config is put back after the run)"
      : 'Vercel (promoted when it passes)';
  lines.push(
    `- Stage a production deployment of ${codeSpan(config.vercel.workingDirectory)}${config.vercel.prebuilt ? ' (prebuilt)' : ''} at commit ${codeSpan(config.run.sha.slice(0, 7))}, with no production domain, as green on ${green}.`,
    `- Smoke-test it (${config.smoke.checks.length} ${config.smoke.checks.length === 1 ? 'check' : 'checks'}, ${config.smoke.samples} samples each), then switch traffic (${escapeCell(config.strategy)}, ${escapeCell(config.traffic.manager)}).`,
    `- Rollback target: ${p.blue ? codeSpan(p.blue.id) : 'none (no production deployment)'}${p.slots ? ` on ${codeSpan(p.slots.livePool)}` : ''}.`,
    '',
  );
  const rows = weightSchedule(config).map((r) => [
    r.atMs === 0 ? 'T' : `T+${formatDuration(r.atMs)}`,
    `${r.share} %`,
    `${100 - r.share} %`,
    formatDuration(r.holdMs),
    escapeCell(r.what),
  ]);
  lines.push(
    table(['When', 'Green', 'Blue', 'Held', 'What'], rows),
    '',
    'T is when the first switch starts, after staging and smoke tests.',
    '',
  );
  lines.push('Thresholds:', '', ...thresholdLines(config).map((l) => `- ${escapeCell(l)}`));
  return lines.join('\n');
}

async function run(ctx: RunContext): Promise<StepOutcome> {
  const { config } = ctx;
  const [prod, world, queries] = await Promise.all([
    readProduction(ctx),
    checkWorld(config, ctx.providers),
    readQueries(ctx),
  ]);
  const schedule = weightSchedule(config);
  const last = schedule.at(-1)!;
  const checks = [...prod.rows, ...world, ...queries];
  const total = last.atMs + last.holdMs;
  const greenWhere = prod.slots ? ` on ${prod.slots.hostnames[prod.slots.idlePool]}` : '';
  const reason =
    `deploy would stage ${config.run.sha.slice(0, 7)}${greenWhere}, move traffic ${schedule.map((r) => `${r.share} %`).join(' → ')} ` +
    `over ${formatDuration(total)}, rollback target ${prod.blue?.id ?? 'none'}`;
  const markdown = planMarkdown(config, prod);
  const details = {
    plan: {
      strategy: config.strategy,
      trafficManager: config.traffic.manager,
      blue: prod.blue,
      livePool: prod.slots?.livePool,
      idlePool: prod.slots?.idlePool,
      hostnames: prod.slots?.hostnames,
      slotDeployments: prod.slots?.deployments ?? {},
      schedule,
      thresholds: thresholdLines(config),
    },
  };
  if (checks.some((c) => c.status === 'fail')) {
    return {
      status: 'failed',
      reason: `the plan cannot be made: ${checks
        .filter((c) => c.status === 'fail')
        .map((c) => c.reason)
        .join('; ')}`,
      checks,
      details,
      markdown,
    };
  }
  const warned = checks.some((c) => c.status === 'warn' || c.status === 'not-checked');
  return { status: warned ? 'warned' : 'passed', reason, checks, details, markdown };
}

/** The plan step of `mode: plan` (mutates nothing). */
export const planStep: RunStep = {
  name: 'plan',
  title: STEP_TITLES.plan,
  run,
};
