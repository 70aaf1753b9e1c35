/**
 * The step runner: runs a mode's steps in order, each in one collapsible log group, times each,
 * turns what it returned (or threw) into a StepResult, and applies the error policy
 * (src/pipeline/policy.ts) — the only place where a failure becomes no-go, stop, restore or warn.
 * Every decision it takes is recorded, in order, for the report.
 */
import { canTransition, MID_SWITCH_PHASES } from './phase.js';
import { policyFor, type ErrorPolicy, type PolicyRule } from './policy.js';
import { restoreWithin, type RestoreFn } from './restore.js';
import type {
  Logger,
  Phase,
  Report,
  RunCore,
  RunStatus,
  Step,
  StepContext,
  StepOutcome,
  StepResult,
  StepStatus,
} from './types.js';
import { restoreFailedMessage, successReason } from './verdict.js';
import { errorMessage, oneLine } from '../text.js';

export type { RestoreFn } from './restore.js';

/** One entry of `report.decisions`. */
export type Decision = Report['decisions'][number];

/**
 * What the runner needs of the run: everything a step gets except the results, which it keeps. The
 * runner itself uses only the core (config, log, signal, state); the services `S` pass through to the
 * steps. A cancellation (the signal) stops the run after the current step settles.
 */
export type PipelineContext<S = object> = RunCore & S;

export interface RunPipelineOptions<S> {
  steps: readonly Step<S>[];
  ctx: PipelineContext<S>;
  /** Default: the error policy of docs/architecture.md (`policyFor`). */
  policy?: ErrorPolicy;
  /** Puts the recorded traffic state back (main: the traffic manager). Absent: restoring fails loudly. */
  restore?: RestoreFn;
  /** Called after each step (surfaces that update as steps finish). Its errors are logged, never fatal. */
  onStepDone?: (result: StepResult, results: readonly StepResult[]) => void | Promise<void>;
  /** Log grouping; default is a plain call (main passes `core.group`). */
  group?: <T>(title: string, fn: () => Promise<T>) => Promise<T>;
  /** Milliseconds clock; tests pass a fake one. */
  clock?: () => number;
}

export interface PipelineResult {
  status: RunStatus;
  /** One line: why the run ended the way it did. */
  reason: string;
  /** The pre-flight verdict, when pre-flight ran. */
  go?: boolean;
  results: StepResult[];
  decisions: Decision[];
  /** True when the run stopped because of SIGINT/SIGTERM. */
  cancelled: boolean;
  /** Set when blue had to be restored and could not be: production may be on green. */
  restoreFailed?: string;
}

const STATUSES: readonly StepStatus[] = ['passed', 'failed', 'skipped', 'warned'];

/** Runs the steps and applies the error policy. Never throws for a step's failure. */
export async function runPipeline<S>(options: RunPipelineOptions<S>): Promise<PipelineResult> {
  const { steps, ctx } = options;
  const policy = options.policy ?? policyFor;
  const group = options.group ?? ((_title, fn) => fn());
  const clock = options.clock ?? Date.now;
  const mode = ctx.config.mode;
  const results: StepResult[] = [];
  const decisions: Decision[] = [];
  const decide = (decision: string, step?: Step<S>['name']): void => {
    decisions.push({ at: new Date(clock()).toISOString(), ...(step ? { step } : {}), decision });
  };
  const setPhase = (phase: Phase): void => {
    const from = ctx.state.phase;
    if (from === phase) return;
    if (canTransition(from, phase)) ctx.update({ phase });
    else decide(`phase stays ${from} (${phase} may not follow it)`);
  };
  // The run's context with the results added; its getters (the live state) keep working.
  const stepCtx = Object.create(ctx, {
    results: { value: results, enumerable: true },
  }) as StepContext<S>;
  let go: boolean | undefined;

  const finish = (status: RunStatus, reason: string, extra: Partial<PipelineResult> = {}): PipelineResult => {
    decide(`run ends ${status}: ${reason}`);
    return { status, reason, ...(go === undefined ? {} : { go }), results, decisions, cancelled: false, ...extra };
  };

  const cancel = (): PipelineResult => {
    const why = errorMessage(ctx.signal.reason ?? 'cancelled');
    const last = results.at(-1);
    const where = last ? `after ${last.title}` : 'before the first step';
    const phase = ctx.state.phase;
    // Green serves production and passed validation: only cleanup was cut short. `failed` would say
    // blue is untouched; the phase stays, so the record is closed as success (`finalStatus`, at the
    // end of the main step or by the post step).
    const validated = mode === 'deploy' && phase === 'validated';
    let tail = '';
    if (MID_SWITCH_PHASES.includes(phase) && !ctx.state.restored) {
      // Left as is: the post step restores blue (deploy), or warns that traffic may be split.
      const next = mode === 'deploy' && ctx.state.trafficBefore ? 'restores blue' : 'reports it';
      decide(`cancelled ${where}: phase ${phase} is left as is so the post step ${next}`);
    } else if (validated) {
      const green = ctx.state.green ? `green ${ctx.state.green.id}` : 'green';
      tail = `: ${green} is live and validated; only cleanup was cut short`;
      decide(`cancelled ${where}: phase validated is kept (${green} is live and validated)`);
    } else {
      setPhase('failed');
    }
    // Persist once more, even if nothing changed: the post step reads what is saved now.
    ctx.update({});
    return { ...finish('failed', `cancelled (${why}) ${where}${tail}`), cancelled: true };
  };

  if (steps.length === 0) {
    setPhase('failed');
    return finish('failed', `no steps to run for mode ${mode}`);
  }

  for (const step of steps) {
    if (ctx.signal.aborted) return cancel();
    const result = await runStep(step, stepCtx, group, clock);
    results.push(result);
    report(ctx.log, result);
    if (step.name === 'preflight' && result.status !== 'skipped') go = result.status !== 'failed';
    if (result.status === 'failed' && !ctx.signal.aborted) {
      const rule = policy(mode, step.name);
      if (rule.onFailure === 'warn') {
        result.status = 'warned';
        result.reason = `${result.reason} (${rule.consequence})`;
        decide(`${step.title} failed → ${rule.consequence}`, step.name);
        ctx.log.warning(`${step.title} failed: ${oneLine(result.reason)}`);
      } else {
        await notify(options.onStepDone, result, results, ctx.log);
        return await applyFailure(step, result, rule);
      }
    } else if (result.status === 'skipped' || result.status === 'warned') {
      decide(`${step.title} ${result.status}: ${oneLine(result.reason)} → continue`, step.name);
    }
    await notify(options.onStepDone, result, results, ctx.log);
    if (ctx.signal.aborted) return cancel();
  }

  const terminal: Phase = mode === 'deploy' ? 'cleaned' : mode === 'plan' ? 'planned' : 'rolled-back';
  setPhase(terminal);
  return finish(mode === 'plan' ? 'planned' : 'success', successReason(mode, results, ctx.state));

  async function applyFailure(step: Step<S>, result: StepResult, rule: PolicyRule): Promise<PipelineResult> {
    const failure = `${step.title} failed: ${oneLine(result.reason)}`;
    decide(`${step.title} failed → ${rule.consequence}`, step.name);
    if (rule.onFailure === 'no-go') {
      setPhase('no-go');
      return finish('no-go', failure);
    }
    // `no-data: inconclusive`: the step asks to stop and fail WITHOUT rolling back (README, `no-data`).
    // Honoured only when green serves all traffic: stopping mid-canary would leave a mix of two
    // versions behind, and production must always serve one complete, known version.
    const asked = result.stopWithoutRollback === true;
    const mixed = asked && ctx.state.trafficBefore !== undefined && (ctx.state.greenShare ?? 0) < 100;
    const noRollback = asked && !mixed;
    if (noRollback) {
      decide('the step asked to stop without rolling back (no-data: inconclusive): green keeps production', step.name);
    } else if (mixed) {
      decide(
        `the step asked to stop without rolling back, but green serves only ${ctx.state.greenShare ?? 0}%: ` +
          'restoring blue rather than leaving two versions in production',
        step.name,
      );
    }
    const wantsRestore = !noRollback && (rule.onFailure === 'restore' || rule.ensureBlue === true);
    if (!wantsRestore) {
      setPhase('failed');
      return finish('failed', `${failure}; ${rule.consequence}`);
    }
    const state = ctx.state;
    if (state.restored) {
      decide('blue was already restored; not restoring twice', step.name);
      setPhase(rule.onFailure === 'restore' ? 'rolled-back' : 'failed');
      return finish(rule.onFailure === 'restore' ? 'rolled-back' : 'failed', failure);
    }
    if (!state.trafficBefore) {
      decide('no traffic state was recorded, so no traffic had moved: nothing to restore', step.name);
      setPhase('failed');
      const where = rule.onFailure === 'stop' ? rule.consequence : 'no traffic had moved: production is still on blue';
      return finish('failed', `${failure}; ${where}`);
    }
    const outcome = await group('Restore blue', () =>
      restoreWithin({
        restore: options.restore,
        state,
        reason: failure,
        timeoutMs: ctx.config.validation.rollbackTimeoutMs,
        log: ctx.log,
        clock,
      }),
    );
    if (!outcome.ok) {
      decide(`restore failed after ${outcome.durationMs} ms: ${outcome.error}`, step.name);
      const loud = restoreFailedMessage(outcome.error, ctx.state);
      ctx.log.error(loud);
      // The phase stays mid-switch on purpose: the post step tries to restore again.
      ctx.update({});
      return finish('failed', `${failure}; ${loud}`, { restoreFailed: loud });
    }
    decide(`restore finished in ${outcome.durationMs} ms: recorded traffic state is back`, step.name);
    ctx.update({ restored: true, greenShare: 0 });
    if (rule.onFailure === 'restore') {
      setPhase('rolled-back');
      return finish('rolled-back', `${failure}; production was restored to blue`);
    }
    setPhase('failed');
    return finish('failed', `${failure}; production is on blue (ensured)`);
  }
}

/** Runs one step in its log group and turns its outcome or error into a StepResult. */
async function runStep<S>(
  step: Step<S>,
  ctx: StepContext<S>,
  group: <T>(title: string, fn: () => Promise<T>) => Promise<T>,
  clock: () => number,
): Promise<StepResult> {
  const started = clock();
  let outcome: StepOutcome;
  try {
    outcome = await group(step.title, () => step.run(ctx));
    if (!outcome || !STATUSES.includes(outcome.status) || typeof outcome.reason !== 'string') {
      outcome = { status: 'failed', reason: `${step.name} returned an invalid outcome (a bug in the step)` };
    }
  } catch (err) {
    outcome = { status: 'failed', reason: errorMessage(err) };
  }
  return {
    name: step.name,
    title: step.title,
    status: outcome.status,
    reason: outcome.reason,
    checks: outcome.checks ?? [],
    details: outcome.details ?? {},
    ...(outcome.markdown ? { markdown: outcome.markdown } : {}),
    ...(outcome.stopWithoutRollback ? { stopWithoutRollback: true } : {}),
    startedAt: new Date(started).toISOString(),
    durationMs: Math.max(0, clock() - started),
  };
}

/** One line per step in the log, after its group: status, reason, time. */
function report(log: Logger, r: StepResult): void {
  const line = `${r.title}: ${r.status} in ${(r.durationMs / 1000).toFixed(1)} s — ${oneLine(r.reason)}`;
  if (r.status === 'failed') log.error(line);
  else if (r.status === 'warned') log.warning(line);
  else log.info(line);
}

async function notify(
  onStepDone: RunPipelineOptions<unknown>['onStepDone'],
  result: StepResult,
  results: readonly StepResult[],
  log: Logger,
): Promise<void> {
  if (!onStepDone) return;
  try {
    await onStepDone(result, results);
  } catch (err) {
    log.warning(`could not update the run's surfaces after ${result.title}: ${errorMessage(err)}`);
  }
}
