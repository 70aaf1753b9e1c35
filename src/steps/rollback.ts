/**
 * `mode: rollback`: the fast path back to an earlier deployment. No pre-flight, no smoke gate:
 * resolve `rollback-to` and refuse a target that no longer exists or never reached READY (before
 * anything moves), move traffic through the traffic manager (Cloudflare: stage the target on the
 * idle slot if needed, wait for health, switch; Vercel: Instant Rollback with the reason), verify
 * that `production-url` serves the target, watch `validation-window` when monitoring is configured,
 * and record it all: a GitHub deployment for the target with the reason, a Datadog event. Slack is
 * the run's message (main's notifier). A re-run (attempt ≥ 2) carries on with attempt 1's target and
 * record: it never resolves `previous` again, which could pick the release attempt 1 moved away from.
 */
import { sendRollbackDora } from '../records/dora-rollback.js';
import type { RunStep } from '../pipeline/context.js';
import { formatSpan } from '../analysis/format.js';
import type { CheckResult, StepOutcome } from '../pipeline/types.js';
import { loadRecords } from '../records/github.js';
import type { RecordView } from '../records/lock.js';
import {
  closeRollbackRecord,
  openRollbackRecord,
  reopenRollbackRecord,
  rollbackEvent,
  rollbackPayload,
} from './rollback/record.js';
import { checkTarget, ownRollbackRecord, parseTargetSpec, resolveTarget, RollbackRefused } from './rollback/target.js';
import { watchProduction } from '../watch/production.js';
import { errorMessage } from '../text.js';

/** Whether `rollback-to` is resolved from the records (an input it cannot parse is refused later). */
function needsRecords(to: string): boolean {
  try {
    const kind = parseTargetSpec(to).kind;
    return kind === 'previous' || kind === 'github';
  } catch {
    return false;
  }
}

/** The rollback step (the only step of `mode: rollback`). */
export const rollbackStep: RunStep = {
  name: 'rollback',
  title: 'Rollback',
  async run(ctx): Promise<StepOutcome> {
    const { config, providers, log } = ctx;
    if (config.mode !== 'rollback') return { status: 'skipped', reason: `not part of mode ${config.mode}` };
    const startedAt = Date.now();
    const { vercel, github } = providers;
    if (!vercel) return { status: 'failed', reason: 'vercel-token is required to roll back' };
    const checks: CheckResult[] = [];

    // 1. Who is live, and where to go: all reads, nothing moves yet. The records do not depend on who
    // is live: when the target needs them (`previous`, a GitHub id, a re-run), they are read alongside.
    let records: Promise<RecordView[]> | undefined;
    const loadOwnRecords = () => (records ??= loadRecords(github, config.environment, { limit: 50 }));
    if (config.run.runAttempt > 1 || needsRecords(config.rollback.to)) {
      // Read now, awaited (and its error reported) where it is used.
      loadOwnRecords().catch(() => undefined);
    }
    const manager = ctx.traffic();
    const live = await manager.readLive();
    log.info(`Production now: ${live.description}`);
    for (const note of live.notes) log.warning(note);
    const deps = { vercel, projectId: config.vercel.projectId, liveId: live.blue.id, records: loadOwnRecords };
    // A re-run of this workflow run carries on with attempt 1's rollback: its target and its record.
    // Without GitHub it resolves rollback-to again (an explicit dpl_… still works; `previous` needs GitHub).
    let resumed: RecordView | undefined;
    if (config.run.runAttempt > 1) {
      try {
        resumed = ownRollbackRecord(await loadOwnRecords(), config.run.runId);
      } catch (err) {
        log.warning(`Could not read attempt 1's rollback record: ${errorMessage(err)}; resolving rollback-to again`);
      }
    }
    let resolved;
    try {
      resolved = resumed
        ? await checkTarget(
            deps,
            resumed.payload.green.id,
            `attempt ${resumed.payload.runAttempt}'s GitHub deployment ${resumed.id}`,
            resumed.payload.green,
          )
        : await resolveTarget(parseTargetSpec(config.rollback.to), deps);
    } catch (err) {
      if (err instanceof RollbackRefused) return { status: 'failed', reason: err.message, details: { refused: true } };
      throw err;
    }
    const { target } = resolved;
    const reason =
      config.rollback.reason?.trim() || `rollback to ${target.id} requested by ${config.run.actor || 'the workflow'}`;
    checks.push({
      name: 'target',
      status: 'pass',
      reason: `${target.id} (${target.url}) from ${resolved.from} is READY`,
    });
    // A re-run whose attempt 1 reached the target finds it live already: the release being left is
    // the one attempt 1 moved away from (its record's blue), and the target's answers are told from
    // that one, not from themselves. Asked to roll back to what already serves, there is no other
    // release: the target's answers must only name it.
    const alreadyLive = live.blue.id === target.id;
    const resumedFrom = resumed?.payload.blue;
    const from = !alreadyLive ? live.blue : resumedFrom && resumedFrom.id !== target.id ? resumedFrom : undefined;
    log.info(
      alreadyLive
        ? `${target.id} (${resolved.from}) already serves ${config.environment}${from ? ` (attempt 1 moved production from ${from.id})` : ''}: confirming and watching it: ${reason}`
        : `Rolling back ${config.environment} from ${live.blue.id} to ${target.id} (${resolved.from}): ${reason}`,
    );
    ctx.update({ blue: from ?? live.blue, green: target });

    // 2. Record it before moving (a crash leaves a trace); a GitHub failure must not block an emergency
    // rollback. A re-run reopens attempt 1's record rather than making a second one.
    let recordId: number | undefined;
    // The record's `in_progress` status: on its way while traffic moves; awaited before the final status.
    let inProgress: Promise<unknown> = Promise.resolve();
    // Opened while the target's answers are learned (both before anything moves; both awaited).
    const recording = (async (): Promise<void> => {
      try {
        const opened = resumed
          ? reopenRollbackRecord(github, config, resumed.id, target)
          : await openRollbackRecord(github, config, rollbackPayload(config, target, live.blue, live.snapshot, reason));
        recordId = opened.id;
        inProgress = opened.inProgress.catch((err: unknown) => {
          checks.push({
            name: 'GitHub deployment',
            status: 'warn',
            reason: `could not set the rollback record in progress: ${errorMessage(err)}`,
          });
          log.warning(`Could not set GitHub deployment ${opened.id} in progress: ${errorMessage(err)}`);
        });
        ctx.update({ githubDeploymentId: recordId });
      } catch (err) {
        checks.push({
          name: 'GitHub deployment',
          status: 'warn',
          reason: `could not record the rollback: ${errorMessage(err)}`,
        });
        log.warning(
          `Could not create the GitHub deployment for the rollback: ${errorMessage(err)} (rolling back anyway)`,
        );
      }
    })();
    const finish = async (ok: boolean, text: string): Promise<void> => {
      if (recordId === undefined) return;
      await inProgress;
      try {
        checks.push({
          name: 'GitHub deployment',
          status: 'pass',
          reason: await closeRollbackRecord(github, config, recordId, ok, text),
        });
      } catch (err) {
        checks.push({
          name: 'GitHub deployment',
          status: 'warn',
          reason: `could not finish the record: ${errorMessage(err)}`,
        });
      }
    };

    // 3. Move traffic and verify that production serves the target — only once its answers can be
    // told from the live release's: a rollback that cannot be confirmed is refused before it moves.
    const [attribution] = await Promise.all([manager.attributable(target, from), recording]);
    if (!attribution.ok) {
      checks.push({ name: 'attribution', status: 'fail', reason: attribution.reason });
      await finish(
        false,
        `Rollback to ${target.id} refused: its answers cannot be told from ${(from ?? live.blue).id}'s`,
      );
      return {
        status: 'failed',
        reason: `refused before anything moved: ${attribution.reason}`,
        checks,
        details: { refused: true },
      };
    }
    checks.push({ name: 'attribution', status: 'pass', reason: attribution.reason });
    ctx.update({ phase: 'switching' });
    let moved: string;
    try {
      moved = await manager.moveTo(target, live.snapshot, reason);
    } catch (err) {
      await finish(false, `Rollback to ${target.id} failed`);
      return { status: 'failed', reason: `moving production to ${target.id} failed: ${errorMessage(err)}`, checks };
    }
    ctx.update({ phase: 'switched', greenShare: 100 });
    checks.push({ name: 'traffic', status: 'pass', reason: moved });
    const routing = await manager.verify({ deployment: target, other: from });
    const routingReason = routing.reason;
    checks.push({
      name: 'production serves the target',
      status: routing.ok ? 'pass' : 'fail',
      reason: routingReason,
    });
    if (!routing.ok) {
      await finish(false, `Production does not serve ${target.id}`);
      return {
        status: 'failed',
        reason: `production-url does not serve ${target.id} after the rollback: ${routingReason}`,
        checks,
      };
    }

    // 4. Watch it, when monitoring is configured.
    const durationMs = config.validation.windowMs;
    const watch = await watchProduction(ctx, {
      durationMs,
      share: 100,
      heading: 'Samples after the rollback',
      // The target is judged on its own (the hard limits): the release it replaced is no control.
      releases: { green: target },
      control: 'none',
      requirePass: true,
      onStart: () => log.info(`Watching production on ${target.id} for ${formatSpan(durationMs)}`),
    });
    let details: Record<string, unknown> = {};
    let markdown: string | undefined;
    if (!watch.watched) {
      checks.push({ name: 'validation', status: 'skipped', reason: watch.skip });
    } else {
      details = watch.details;
      markdown = watch.markdown;
      checks.push(...watch.checks);
      const { decision } = watch;
      if (decision.kind !== 'continue') {
        // Production is on the target: the record says so (GitHub's active deployment is what serves),
        // and the failed job says it is not healthy either.
        await finish(true, `Live on ${target.id}, but it fails validation too: ${decision.reason}`);
        return {
          status: 'failed',
          reason: `production is on ${target.id}, but it does not pass validation either: ${decision.reason}`,
          checks,
          details,
          markdown,
        };
      }
    }
    ctx.update({ phase: 'validated' });

    // 5. Record and notify: the record's final status and the Datadog event and DORA record are
    // independent, so they are sent together; the report keeps their order.
    const datadog = providers.datadog;
    const told = async (name: string, fn: () => Promise<string>, failed: string): Promise<CheckResult> => {
      try {
        return { name, status: 'pass', reason: await fn() };
      } catch (err) {
        return { name, status: 'warn', reason: `${failed}: ${errorMessage(err)}` };
      }
    };
    const notified = datadog
      ? Promise.all([
          told(
            'Datadog event',
            () => rollbackEvent(datadog, config, target, from ?? live.blue, reason),
            'could not post the event',
          ),
          told(
            'Datadog DORA rollback',
            () => sendRollbackDora(datadog, config, target, startedAt),
            'could not send the DORA deployment',
          ),
        ])
      : Promise.resolve([]);
    await finish(true, `Rolled back to ${target.sha ? target.sha.slice(0, 7) : target.id}: ${reason}`);
    checks.push(...(await notified));
    const warned = checks.some((c) => c.status === 'warn');
    return {
      status: warned ? 'warned' : 'passed',
      reason: `production is back on ${target.id}${from ? ` (from ${from.id})` : ''}: ${reason}`,
      checks,
      details: { ...details, target, from: from ?? live.blue, source: resolved.from, reason },
      ...(markdown ? { markdown } : {}),
    };
  },
};
