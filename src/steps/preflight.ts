/**
 * Step 1 — pre-flight validation: one go/no-go verdict with every reason, never the first failure
 * only. Looks everything up at once (fetch.ts), judges each check with a pure evaluator, records the
 * PR in the run state, and posts the verdict to the PR comment. A no-go is this step failing: the
 * runner's policy turns it into the run's `no-go` without touching anything.
 */
import type { RunContext, RunStep } from '../pipeline/context.js';
import type { Config } from '../config/types.js';
import { STEP_TITLES } from '../pipeline/modes.js';
import type { CheckResult, Logger, StepOutcome } from '../pipeline/types.js';
import { prCommentMarker, upsertPrComment, type CommentApi } from '../surfaces/pr-comment.js';
import { evaluateBenchmarks } from './preflight/benchmarks.js';
import { evaluateBranch } from './preflight/branch.js';
import { evaluateChecks, type ChecksPolicy } from './preflight/checks.js';
import { evaluateEnvironment } from './preflight/environment.js';
import { gatherPreflight, readProtection, type PreflightFacts, type PreflightGitHub } from './preflight/fetch.js';
import { isGo, renderPreflightSection, verdictReason } from './preflight/report.js';
import { evaluateReviews, isApproved, tallyReviews } from './preflight/reviews.js';
import { evaluateSecurity } from './preflight/security.js';
import { checkWorld } from '../traffic/world.js';
import { CloudflareTrafficManager } from '../traffic/cloudflare.js';
import { errorMessage } from '../text.js';

/** The policy for the CI check: the named checks, minus this job's own run. */
export function checksPolicy(config: Config): ChecksPolicy {
  return { required: config.preflight.requiredChecks, job: config.run.job, runId: config.run.runId };
}

/** Every pre-flight check, judged from what was looked up. Pure. */
export function evaluatePreflight(facts: PreflightFacts, config: Config): CheckResult[] {
  const pf = config.preflight;
  const pull = facts.pull.ok ? facts.pull.value : null;
  const approved =
    pull !== null &&
    facts.reviews.ok &&
    isApproved(tallyReviews(facts.reviews.value, pull.author), pf.requiredApprovals);
  return [
    evaluateBranch(
      {
        branch: config.branch,
        defaultBranch: facts.defaultBranch,
        protection: facts.protection,
        pull: facts.pull,
        baseProtection: facts.baseProtection,
        pullApproved: approved,
      },
      { allowedBranches: pf.allowedBranches, requireBranchProtection: pf.requireBranchProtection },
    ),
    evaluateReviews({ pull: facts.pull, reviews: facts.reviews }, pf.requiredApprovals),
    evaluateChecks(facts.checks, checksPolicy(config), facts.checksWaitedMs),
    evaluateSecurity(facts.security, pf.securityBlockSeverities),
    evaluateBenchmarks(facts.benchmarks, pf.benchmarkThresholds),
    evaluateEnvironment(facts.environment, config.environment),
  ];
}

/**
 * Only for an unprotected branch that is not the default one (a hotfix branch): the protection of
 * the branch its PR targets. Read after the first round, because it depends on two of its answers.
 */
async function addBaseProtection(
  gh: PreflightGitHub,
  facts: PreflightFacts,
  config: Config,
  signal: AbortSignal,
): Promise<void> {
  const pull = facts.pull.ok ? facts.pull.value : null;
  const unprotected =
    facts.protection.ok && !facts.protection.value.classic && facts.protection.value.rulesets.length === 0;
  const notDefault = facts.defaultBranch.ok && facts.defaultBranch.value !== config.branch;
  if (config.preflight.requireBranchProtection && unprotected && notDefault && pull && pull.baseRef !== config.branch) {
    facts.baseProtection = await readProtection(gh, pull.baseRef, signal);
  }
}

/**
 * Posts (or edits) the go/no-go section of the PR comment. A failure is a warning: the comment is a
 * courtesy, the verdict stands on its own. Returns the comment URL when it was written.
 */
export async function postVerdict(
  github: CommentApi,
  checks: readonly CheckResult[],
  pull: number,
  config: Config,
  log: Logger,
  found?: Promise<Awaited<ReturnType<CommentApi['findComment']>>>,
): Promise<string | undefined> {
  const section = renderPreflightSection(checks, {
    environment: config.environment,
    mode: config.mode,
    sha: config.run.sha,
    runUrl: config.run.runUrl,
    repoUrl: `${config.run.serverUrl}/${config.run.owner}/${config.run.repo}`,
    at: new Date().toISOString(),
  });
  try {
    const res = await upsertPrComment(github, {
      pull,
      environment: config.environment,
      sections: { preflight: section },
      ...(found ? { found } : {}),
    });
    log.info(`${res.created ? 'Posted' : 'Updated'} the go/no-go report on PR #${pull}: ${res.url}`);
    return res.url;
  } catch (err) {
    log.warning(`Could not write the go/no-go report to PR #${pull}: ${(err as Error).message}`);
    return undefined;
  }
}

async function run(ctx: RunContext): Promise<StepOutcome> {
  const { config, log, signal } = ctx;
  const gh = ctx.providers.github;
  // Read alongside GitHub's facts; through the run's traffic manager, which keeps the pools it reads.
  const world = config.mode === 'deploy' ? checkWorld(config, ctx.providers, worldReads(ctx)) : Promise.resolve([]);
  // The PR's comment is looked up as soon as the PR is known, beside its reviews and the other gates,
  // so writing the verdict is one round trip after them instead of two.
  let comment: Promise<Awaited<ReturnType<CommentApi['findComment']>>> | undefined;
  const facts = await gatherPreflight(gh, config, {
    signal,
    checksPolicy: checksPolicy(config),
    onPull: (p) => {
      if (!config.cleanup.prComment) return;
      comment = gh.findComment(p.number, prCommentMarker(config.environment));
      comment.catch(() => undefined); // awaited, and its failure reported, by postVerdict
    },
    onGraphFailed: (err) =>
      log.info(`GitHub's GraphQL read of the gates failed (${errorMessage(err)}): reading each gate over REST`),
    onWait: (w) =>
      log.info(
        `Waiting ${(w.delayMs / 1000).toFixed(1)} s for ${w.pending.length} pending ${w.pending.length === 1 ? 'check' : 'checks'} ` +
          `(${Math.round(w.elapsedMs / 1000)} s of ${Math.round(config.preflight.checksTimeoutMs / 1000)} s checks-timeout)`,
      ),
  });
  await addBaseProtection(gh, facts, config, signal);
  const checks = evaluatePreflight(facts, config);
  // The traffic set-up (load balancer, pools, slot domains) is judged before anything moves; `mode:
  // plan` shows the same rows in its own step, so a plan still reads production when they fail.
  if (config.mode === 'deploy') checks.push(...(await world));
  const pull = facts.pull.ok ? facts.pull.value : null;
  if (pull) ctx.update({ pullNumber: pull.number });

  const go = isGo(checks);
  const details: Record<string, unknown> = { go };
  if (pull) details.pull = { number: pull.number, url: pull.url, merged: pull.merged };
  if (config.cleanup.prComment && pull) {
    // A deploy that goes on does not wait for its report (the comment's writes go in order, and the
    // run waits for them before it ends: main.ts); a no-go or a plan ends here, so it waits.
    const posted = postVerdict(gh, checks, pull.number, config, log, comment);
    if (!go || config.mode !== 'deploy') {
      const url = await posted;
      if (url) details.prComment = url;
    }
  } else if (config.cleanup.prComment) {
    log.info('No pull request brought this commit: the go/no-go report is in the job summary only.');
  }
  if (!go) return { status: 'failed', reason: verdictReason(checks), checks, details };
  ctx.update({ phase: 'preflight-passed' });
  // A go with a check that warned or could not be made (advisory) says so in the step's status.
  const noted = checks.some((c) => c.status === 'warn' || c.status === 'not-checked');
  return { status: noted ? 'warned' : 'passed', reason: verdictReason(checks), checks, details };
}

/** Step 1: pre-flight validation. */
export const preflightStep: RunStep = {
  name: 'preflight',
  title: STEP_TITLES.preflight,
  run,
};

/** The run's Cloudflare traffic manager's reads for the world check, when it is one (else the providers'). */
function worldReads(ctx: RunContext): ReturnType<CloudflareTrafficManager['worldReads']> | undefined {
  try {
    const manager = ctx.traffic();
    return manager instanceof CloudflareTrafficManager ? manager.worldReads() : undefined;
  } catch {
    return undefined; // a provider is missing: checkWorld says so in its own row
  }
}
