/**
 * The Datadog Deployment Gate signal (`deployment-gate`, preview): one evaluation of the user's gate,
 * keyed by (service, env, identifier), with green's `version`, started when green serves all traffic
 * and polled while production is watched. Its `fail` is a breach (the release is rolled back); a gate
 * that cannot answer — not found, no rules, refused, Datadog down, `deployment-gate-timeout` — fails
 * closed unless the user chose `deployment-gate-on-error: pass` (datadog-ci's own default is to pass).
 *
 * How Datadog behaves (DataDog/datadog-api-client-typescript, DeploymentGatesApi and its recorded
 * answers in cassettes/v2/Deployment-Gates_4242274226; docs.datadoghq.com/deployment_gates):
 * - the start answers 202 `{data:{attributes:{evaluation_id}}}`, or 404 "no gate found for service …,
 *   env …, and identifier …" (also a gate without rules);
 * - the result may answer 404 when polled too soon after the start ("retry after a few seconds"), then
 *   `gate_status` in_progress until every rule has decided, then pass or fail; "polling every 10-20
 *   seconds is recommended";
 * - a rule or gate in dry run reports its real result but a dry-run gate "always responds with a pass
 *   status": those results are reported, never acted on.
 */
import type { Config, GateErrorPolicy } from '../config/types.js';
import { serviceName } from '../config/service.js';
import type { CheckResult, DeploymentRef, Logger } from '../pipeline/types.js';
import type { Datadog } from '../providers/index.js';
import type { GateEvaluationRequest, GateEvaluationResult, GateRuleResult } from '../providers/datadog.js';
import { ProviderError } from '../providers/http.js';
import { errorMessage, formatMs, oneLine, sleep } from '../text.js';
import type { AnalysisState, Decision } from '../analysis/types.js';
import { versionOf, type Watch } from './production.js';

/** Datadog recommends polling every 10–20 s; a shorter `validation-interval` polls as often as it samples. */
export const GATE_POLL_MAX_MS = 15_000;
/** Poll errors in a row (each after the client's own retries) before the gate counts as unable to answer. */
export const GATE_POLL_ERROR_LIMIT = 3;

/** What one evaluation concluded. `error`: the gate could not answer (never a pass by itself). */
export interface GateOutcome {
  result: 'pass' | 'fail' | 'error';
  /** One line: the gate, the version, the failing rules (or why it could not answer). */
  reason: string;
  rules: GateRuleResult[];
  /** Rules in dry run (or every rule of a dry-run gate) that failed: reported, not acted on. */
  dryRunFailures: GateRuleResult[];
  evaluationId?: string;
  url?: string;
  polls: number;
}

/** How the gate's outcome weighs in the watch's decision. */
export interface GateVerdict {
  /** False: roll back, as for a breach. */
  ok: boolean;
  reason: string;
  check: CheckResult;
}

type GateClient = Pick<Datadog, 'startGateEvaluation' | 'gateEvaluation'>;

/** The request of the run's gate: the service and environment the action reports, green's version. */
export function gateRequest(
  config: Pick<Config, 'validation' | 'prepare' | 'environment' | 'run'>,
  green: DeploymentRef | undefined,
): GateEvaluationRequest | undefined {
  const gate = config.validation.gate;
  if (!gate) return undefined;
  const version = versionOf(config, green);
  return {
    service: serviceName(config.prepare.datadogMonitorTags, config.run.repo, config.validation.datadogService),
    env: config.environment,
    identifier: gate.identifier,
    ...(version ? { version } : {}),
  };
}

/** How often the evaluation is polled: every `validation-interval`, at most every 15 s, at least every 1 s. */
export function gatePollMs(intervalMs: number): number {
  return Math.min(GATE_POLL_MAX_MS, Math.max(1_000, intervalMs));
}

function describe(req: GateEvaluationRequest): string {
  const version = req.version ? ` for version ${req.version.slice(0, 12)}` : '';
  return `Deployment Gate "${req.identifier}" (service ${req.service}, env ${req.env})${version}`;
}

function ruleLine(r: GateRuleResult): string {
  return `"${r.name}" ${r.status}${r.reason ? ` (${r.reason})` : ''}`;
}

/** Why a start or a poll failed, in words that name the setting to change. */
function failureText(err: unknown): string {
  if (err instanceof ProviderError && (err.status === 401 || err.status === 403)) {
    return (
      `Datadog refused it (${err.status}): datadog-app-key needs the deployment_gates_evaluate permission ` +
      `and the organisation access to the Deployment Gates preview (${errorMessage(err)})`
    );
  }
  if (err instanceof ProviderError && err.status === 400) return `Datadog rejected the request: ${errorMessage(err)}`;
  return errorMessage(err);
}

/** The outcome of a finished evaluation (`pass` or `fail`), dry-run results set apart. */
export function outcomeOf(req: GateEvaluationRequest, r: GateEvaluationResult, polls: number): GateOutcome {
  const what = describe(req);
  // A dry-run gate answers pass whatever its rules found: every rule of it is reported only.
  const reportedOnly = (rule: GateRuleResult) => r.dryRun || rule.dryRun;
  const failing = r.rules.filter((x) => !reportedOnly(x) && x.status === 'fail');
  const dryRunFailures = r.rules.filter((x) => reportedOnly(x) && x.status === 'fail');
  const common = {
    rules: r.rules,
    dryRunFailures,
    evaluationId: r.evaluationId,
    ...(r.url ? { url: r.url } : {}),
    polls,
  };
  const dry = dryRunFailures.length ? `; in dry run, not acted on: ${dryRunFailures.map(ruleLine).join(', ')}` : '';
  if (r.status === 'fail' || failing.length > 0) {
    // A pass with a failing active rule is not believed: the harsher reading wins.
    const rules = failing.length ? failing.map(ruleLine).join(', ') : 'no rule named';
    return { result: 'fail', reason: oneLine(`${what} failed: ${rules}${dry}`), ...common };
  }
  if (r.status === 'pass') {
    const n = r.rules.length;
    const mode = r.dryRun ? ' (the gate is in dry run: Datadog answers pass whatever its rules find)' : '';
    return { result: 'pass', reason: oneLine(`${what} passed, ${n} rule(s)${mode}${dry}`), ...common };
  }
  return { result: 'error', reason: oneLine(`${what} answered gate_status "${r.status}"`), ...common };
}

/**
 * Start the evaluation and poll it until it decides, `timeoutMs` passes or `signal` aborts (then it
 * rejects). Never throws for a provider failure: that is `{result: 'error'}` with its reason.
 */
export async function evaluateGate(
  datadog: GateClient,
  req: GateEvaluationRequest,
  opts: {
    timeoutMs: number;
    pollMs: number;
    signal: AbortSignal;
    log: Pick<Logger, 'info' | 'warning' | 'debug'>;
    now?: () => number;
  },
): Promise<GateOutcome> {
  const now = opts.now ?? Date.now;
  const what = describe(req);
  const error = (reason: string, polls: number, extra: Partial<GateOutcome> = {}): GateOutcome => ({
    result: 'error',
    reason: oneLine(`${what}: ${reason}`),
    rules: [],
    dryRunFailures: [],
    polls,
    ...extra,
  });
  const deadline = now() + opts.timeoutMs;
  let started: Awaited<ReturnType<GateClient['startGateEvaluation']>>;
  try {
    started = await datadog.startGateEvaluation(req, { signal: opts.signal });
  } catch (err) {
    if (opts.signal.aborted) throw err;
    return error(`could not be started: ${failureText(err)}`, 0);
  }
  if ('notFound' in started) {
    return error(
      `Datadog has no such gate, or it has no rules (${started.notFound}): create the gate and its rules in ` +
        `Datadog, or set deployment-gate, datadog-service or environment to the gate's`,
      0,
    );
  }
  const evaluationId = started.evaluationId;
  opts.log.info(`${what}: evaluation ${evaluationId} started, polled every ${formatMs(opts.pollMs)}`);
  let polls = 0;
  let errorsInRow = 0;
  let last = 'not polled yet';
  let lastRules: GateRuleResult[] = [];
  for (;;) {
    const left = deadline - now();
    if (left <= 0) {
      return error(
        `no verdict within deployment-gate-timeout (${formatMs(opts.timeoutMs)}); last answer: ${last}`,
        polls,
        { evaluationId, rules: lastRules },
      );
    }
    await sleep(Math.min(opts.pollMs, left), opts.signal);
    polls++;
    let answer: Awaited<ReturnType<GateClient['gateEvaluation']>>;
    try {
      answer = await datadog.gateEvaluation(evaluationId, { signal: opts.signal });
    } catch (err) {
      if (opts.signal.aborted) throw err;
      errorsInRow++;
      last = failureText(err);
      opts.log.warning(`${what}: poll ${polls} failed (${errorsInRow} in a row): ${last}`);
      if (errorsInRow >= GATE_POLL_ERROR_LIMIT) {
        return error(`${errorsInRow} polls in a row failed: ${last}`, polls, { evaluationId, rules: lastRules });
      }
      continue;
    }
    errorsInRow = 0;
    if ('notYet' in answer) {
      // Datadog answers 404 when polled too soon after the start: not a verdict, poll again.
      last = `404 (${answer.notYet})`;
      opts.log.debug(`${what}: evaluation ${evaluationId} not readable yet (${answer.notYet})`);
      continue;
    }
    if (answer.status === 'in_progress') {
      last = 'in_progress';
      lastRules = answer.rules;
      opts.log.debug(`${what}: in progress (${answer.rules.map(ruleLine).join(', ') || 'no rule listed'})`);
      continue;
    }
    return outcomeOf(req, answer, polls);
  }
}

/** The gate's weight in the decision: `fail` rolls back; `error` fails closed unless `on-error: pass`. */
export function gateVerdict(outcome: GateOutcome, onError: GateErrorPolicy): GateVerdict {
  const name = 'deployment gate';
  if (outcome.result === 'pass') {
    const status = outcome.dryRunFailures.length ? 'warn' : 'pass';
    return { ok: true, reason: outcome.reason, check: { name, status, reason: outcome.reason } };
  }
  if (outcome.result === 'fail') {
    return { ok: false, reason: outcome.reason, check: { name, status: 'fail', reason: outcome.reason } };
  }
  if (onError === 'pass') {
    const reason = `${outcome.reason}; counted as passed (deployment-gate-on-error: pass)`;
    return { ok: true, reason, check: { name, status: 'warn', reason } };
  }
  const reason = `${outcome.reason}; a gate that cannot answer fails closed (deployment-gate-on-error: fail)`;
  return { ok: false, reason, check: { name, status: 'fail', reason } };
}

/** The report's record of an evaluation. */
export function gateDetails(outcome: GateOutcome): Record<string, unknown> {
  return {
    result: outcome.result,
    reason: outcome.reason,
    rules: outcome.rules,
    dryRunFailures: outcome.dryRunFailures,
    polls: outcome.polls,
    ...(outcome.evaluationId ? { evaluationId: outcome.evaluationId } : {}),
    ...(outcome.url ? { url: outcome.url } : {}),
  };
}

/** A gate evaluation running beside the watch: `stop()` abandons it (the watch already decided). */
export interface RunningGate {
  outcome: Promise<GateOutcome>;
  stop(): void;
}

/**
 * Start the run's gate when green serves all traffic, to be awaited once the watch has passed. Without
 * Datadog the gate cannot answer: an `error` outcome, weighed by `deployment-gate-on-error`.
 */
export function startGate(
  run: { config: Config; log: Logger; signal: AbortSignal; providers: { datadog?: Datadog | undefined } },
  green: DeploymentRef | undefined,
): RunningGate | undefined {
  const { config, log } = run;
  const req = gateRequest(config, green);
  const gate = config.validation.gate;
  if (!req || !gate) return undefined;
  const stop = new AbortController();
  const signal = AbortSignal.any([run.signal, stop.signal]);
  const datadog = run.providers.datadog;
  if (!req.version) {
    log.warning(
      `${describe(req)}: green's version (version-identity: ${config.validation.versionIdentity}) is not known; ` +
        'a faulty-deployment-detection rule needs it and Datadog will refuse the evaluation',
    );
  }
  const outcome = datadog
    ? evaluateGate(datadog, req, {
        timeoutMs: gate.timeoutMs,
        pollMs: gatePollMs(config.validation.intervalMs),
        signal,
        log,
      })
    : Promise.resolve<GateOutcome>({
        result: 'error',
        reason: `${describe(req)}: Datadog is not configured (datadog-api-key, datadog-app-key)`,
        rules: [],
        dryRunFailures: [],
        polls: 0,
      });
  // Abandoned when the watch decides first: its rejection is expected and not reported.
  outcome.catch(() => undefined);
  return { outcome, stop: () => stop.abort(new Error('the watch decided before the gate')) };
}

/** A watch with the gate's verdict joined in (`gate` absent when no gate is configured). */
export type GatedWatch = Watch & { gate?: GateVerdict };

/**
 * The watch's conclusion with the gate's joined in. A watch that ended in rollback or inconclusive
 * decides alone (the gate is abandoned, said in a check); a watch that passed, or had nothing to
 * watch, waits for the gate: its failure becomes the run's rollback decision (cause `breach`).
 */
export async function awaitGate(
  run: { config: Config; analysis: AnalysisState; log: Logger },
  watched: Promise<Watch>,
  gate: RunningGate | undefined,
): Promise<GatedWatch> {
  if (!gate) return watched;
  let watch: Watch;
  try {
    watch = await watched;
  } catch (err) {
    gate.stop();
    throw err;
  }
  const name = 'deployment gate';
  if (watch.watched && watch.decision.kind !== 'continue') {
    gate.stop();
    const check: CheckResult = { name, status: 'skipped', reason: 'not awaited: the watch decided first' };
    return { ...watch, checks: [...watch.checks, check] };
  }
  run.log.info('Waiting for the Deployment Gate verdict');
  const outcome = await gate.outcome;
  const verdict = gateVerdict(outcome, run.config.validation.gate!.onError);
  if (verdict.ok) run.log.info(verdict.reason);
  else run.log.error(verdict.reason);
  for (const r of outcome.dryRunFailures)
    run.log.warning(`Deployment Gate rule in dry run failed (not acted on): ${ruleLine(r)}`);
  const decision: Decision = verdict.ok
    ? { kind: 'continue' }
    : { kind: 'rollback', cause: 'breach', reason: verdict.reason };
  if (decision.kind === 'rollback') run.analysis.decision ??= decision;
  const base = watch.watched
    ? watch
    : { watched: true as const, samples: [], details: { skipped: watch.skip }, checks: [], markdown: '' };
  return {
    ...base,
    decision: run.analysis.decision ?? decision,
    details: { ...base.details, gate: gateDetails(outcome) },
    checks: [...base.checks, verdict.check],
    gate: verdict,
  };
}
