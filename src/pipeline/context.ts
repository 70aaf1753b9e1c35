/**
 * The run context: built once by the main step (and once by the post step) and handed to every step.
 * Besides the run's core (config, log, signal, state), it carries the run's services: the provider
 * adapters, the traffic manager (built on first use, then the same one for the whole run), and the
 * analysis of this run (every sample of canary holds, validation and a rollback's watch, one set of
 * totals). Everything a step learns that another part needs goes into the RunState or a typed field
 * of the StepOutcome, never through a side channel.
 */
import { createAnalysis } from '../analysis/analysis.js';
import type { AnalysisState } from '../analysis/types.js';
import type { Providers } from '../providers/index.js';
import { createTrafficManager, type TrafficManager } from '../traffic/index.js';
import type { RunStateStore } from './state-store.js';
import type { Config } from '../config/types.js';
import type { Logger, RunCore, RunState, Step, StepContext } from './types.js';

/** The services of one run, next to its core in every step's context. */
export interface RunServices {
  /** The configured adapters (src/providers); absent ones are undefined. */
  readonly providers: Providers;
  /**
   * The traffic manager of `traffic-manager`, built on the first call and the same one after; throws
   * (naming the missing input) when it cannot be built, as a step that needs it must then fail.
   */
  traffic(): TrafficManager;
  /** The analysis of this run: samples and totals shared by canary holds, validation and rollback. */
  readonly analysis: AnalysisState;
}

/** A real step's context. */
export type RunContext = StepContext<RunServices>;

/** A real step. */
export type RunStep = Step<RunServices>;

/** The context of a run, less the results (the runner adds those). */
export type RunBase = RunCore & RunServices;

/** The services of a run over its providers. Makes no network call. */
export function createRunServices(config: Config, providers: Providers, log: Logger, signal: AbortSignal): RunServices {
  let manager: TrafficManager | undefined;
  return {
    providers,
    analysis: createAnalysis(),
    traffic: () => (manager ??= createTrafficManager(config, providers, log, signal)),
  };
}

/** Builds the run's context over its state store. Makes no network call. */
export function createRunContext(opts: {
  config: Config;
  log: Logger;
  signal: AbortSignal;
  store: RunStateStore;
  providers: Providers;
}): RunBase {
  const { config, log, signal, store, providers } = opts;
  // The services hold no getters, so copying them keeps the live `state` getter of the core.
  return Object.assign(runCore(config, log, signal, store), createRunServices(config, providers, log, signal));
}

/** A run's core over its state store: `state` is always the store's latest, `update` persists. */
export function runCore(config: Config, log: Logger, signal: AbortSignal, store: RunStateStore): RunCore {
  return {
    config,
    log,
    signal,
    get state() {
      return store.state;
    },
    update: (patch: Partial<RunState>) => store.update(patch),
  };
}
