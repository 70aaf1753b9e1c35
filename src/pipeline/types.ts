/**
 * The shapes every step and surface shares: a step's result, the run's state machine, the report.
 * Steps get a StepContext and return a StepOutcome; the runner (src/pipeline/runner.ts) turns
 * outcomes into StepResults, applies the error policy, and keeps RunState persisted for the post step.
 * The run's own services (providers, traffic manager, analysis) are typed in src/pipeline/context.ts.
 */
import type { RollingReleaseConfig } from '../providers/vercel-types.js';
import type { Config } from '../config/types.js';

export type StepName =
  'preflight' | 'prepare' | 'deploy' | 'smoke' | 'traffic' | 'validate' | 'cleanup' | 'rollback' | 'plan';

export type StepStatus = 'passed' | 'failed' | 'skipped' | 'warned';

/** One row of a step's table (a pre-flight check, a smoke check, a validation gate…). */
export interface CheckResult {
  name: string;
  /** `not-checked`: the check could not be performed (e.g. 403 on an alerts API) — never a pass. */
  status: 'pass' | 'fail' | 'warn' | 'not-checked' | 'skipped';
  /** One line a user can act on; measured value against threshold where there is one. */
  reason: string;
  details?: Record<string, unknown>;
}

/** What a step returns. Throwing is the same as `{status:'failed', reason: err.message}`. */
export interface StepOutcome {
  status: StepStatus;
  reason: string;
  checks?: CheckResult[];
  /** Data for the report (samples, weight history, what shipped…): read by people, not by the runner. */
  details?: Record<string, unknown>;
  /**
   * A section for the job summary, under the step's heading, appended verbatim: the step renders it
   * and escapes any remote text in it (src/surfaces/markdown.ts).
   */
  markdown?: string;
  /**
   * With `status: failed`: stop the run WITHOUT restoring blue (`no-data: inconclusive`). The runner
   * honours it only when green already serves all traffic (never leaves two versions live).
   */
  stopWithoutRollback?: boolean;
}

export interface StepResult extends StepOutcome {
  name: StepName;
  title: string;
  checks: CheckResult[];
  details: Record<string, unknown>;
  startedAt: string;
  durationMs: number;
}

/** The run's phase (docs/architecture.md, state machine). Terminal: no-go, failed, rolled-back, cleaned, planned. */
export type Phase =
  | 'started'
  | 'preflight-passed'
  | 'prepared'
  | 'staged'
  | 'smoke-passed'
  | 'switching'
  | 'switched'
  | 'validated'
  | 'cleaned'
  | 'planned'
  | 'no-go'
  | 'failed'
  | 'rolled-back';

/** Final status of a run, the `status` output. */
export type RunStatus = 'success' | 'no-go' | 'failed' | 'rolled-back' | 'planned';

/** A Vercel deployment as the records keep it. */
export interface DeploymentRef {
  id: string;
  url: string;
  /** Commit SHA from the deployment's meta, when known. */
  sha?: string;
}

/**
 * The exact traffic state before the first mutation, enough to restore it.
 * Cloudflare: the load balancer's pool weights/default/fallback pools, and which slot hostname
 * pointed at which deployment. Vercel: the deployment that was production.
 */
export type TrafficSnapshot =
  | {
      kind: 'cloudflare';
      loadBalancerId: string;
      poolWeights: Record<string, number>;
      defaultPools: string[];
      fallbackPool: string;
      /** The pool that served production (blue's slot). */
      livePool: string;
      /** slot pool id → { hostname, deploymentId it pointed at (if known) } */
      slots: Record<string, { hostname: string; deploymentId?: string }>;
      /** The load balancer's `steering_policy` before the switch (restored as it was). */
      steeringPolicy?: string;
      /** `random_steering.default_weight` before the switch, when set. */
      defaultWeight?: number;
    }
  | {
      kind: 'vercel';
      productionDeploymentId: string;
      /**
       * `traffic-manager: vercel` with `strategy: canary` only: the project's own rolling-release
       * config before the run (`null`: disabled), put back exactly after the run.
       */
      rollingReleaseConfig?: RollingReleaseConfig | null;
    };

export interface BackupRecord {
  bucket: string;
  key: string;
  sha256: string;
  size: number;
}

/**
 * A backup upload that has begun and is not verified yet. Saved before the first byte goes up, so
 * that whatever stops the run, the post step can remove an object that never became a verified
 * backup (docs/safety.md: the backup is complete and verified, or absent).
 */
export interface BackupInFlight {
  bucket: string;
  key: string;
  /**
   * When the run gave up on the upload (it failed, or was cancelled) — ISO 8601. A store may still
   * complete a request after the client gave up on it, so the post step watches the key for a while
   * after this moment.
   */
  abandonedAt?: string;
}

/**
 * Persisted with core.saveState('run', JSON) at every change, and (the rollback target part)
 * in the GitHub deployment payload. The post step reads it to reconcile an interrupted run.
 */
export interface RunState {
  phase: Phase;
  mode: Config['mode'];
  environment: string;
  sha: string;
  /** PR that brought the commit, when found in pre-flight. */
  pullNumber?: number;
  green?: DeploymentRef;
  blue?: DeploymentRef;
  /**
   * The traffic state recorded with the run's GitHub deployment, before any traffic moved: what the
   * switch starts from and what a rollback goes back to. Recording it arms nothing.
   */
  rollbackTarget?: TrafficSnapshot;
  /**
   * The armed restore: set right before the first traffic mutation (from `rollbackTarget`); its
   * presence means "traffic may have moved: restore this on failure" (runner and post step).
   */
  trafficBefore?: TrafficSnapshot;
  /** Green's current share in percent (0 before the switch). */
  greenShare?: number;
  githubDeploymentId?: number;
  backup?: BackupRecord;
  /** The backup being uploaded; cleared once it is verified (then it is `backup`). */
  backupInFlight?: BackupInFlight;
  /** Set once blue has been restored (post step and runner use it to act once). */
  restored?: boolean;
  /** Set by the post step after it has reconciled; a second post run does nothing. */
  reconciled?: boolean;
}

/** Anything a step wants in the report beyond its checks: samples, weight history, smoke stats. */
export interface Report {
  version: 1;
  action: 'production-deploy';
  mode: Config['mode'];
  strategy: Config['strategy'];
  environment: string;
  status: RunStatus;
  go?: boolean;
  reason: string;
  startedAt: string;
  finishedAt?: string;
  repository: string;
  sha: string;
  runUrl: string;
  productionUrl?: string;
  steps: StepResult[];
  /** Decisions the runner took (policy applied, rollback started/finished), in order. */
  decisions: { at: string; step?: StepName; decision: string }[];
  state: RunState;
  outputs: Record<string, string>;
}

/** Minimal logger the steps use; the real one wraps @actions/core and escapes remote text. */
export interface Logger {
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  debug(message: string): void;
  /** Print text that came from outside (build logs, commit messages) so it can never become a workflow command. */
  untrusted(text: string): void;
}

/** What every part of a run shares: its config, log, cancellation, and the live RunState. */
export interface RunCore {
  readonly config: Config;
  readonly log: Logger;
  /** Aborted on SIGINT/SIGTERM: every wait and request honours it. */
  readonly signal: AbortSignal;
  /** The current state (a fresh object after each update; treat it as read-only). */
  readonly state: RunState;
  /** Merge into the RunState and persist it (core.saveState) at once. */
  update(patch: Partial<RunState>): void;
}

/**
 * What a step gets: the run's core, the run's services `S` (for the real steps, `RunServices` of
 * src/pipeline/context.ts: providers, traffic manager, analysis), and the results so far.
 */
export type StepContext<S = object> = RunCore &
  S & {
    /** Read-only view of the results of the steps that already ran. */
    readonly results: readonly StepResult[];
  };

export interface Step<S = object> {
  name: StepName;
  title: string;
  run(ctx: StepContext<S>): Promise<StepOutcome>;
}
