/**
 * Runs the bundled action the way the runner does (through the e2e harness: a child process with an
 * env object, fresh runner files), timing it from spawn to exit and keeping the child's pid for /proc.
 */
import { join } from 'node:path';
import { type ActionRun, type RunningAction, startAction } from '../../__tests__/e2e/harness.ts';
import type { Report } from '../../src/pipeline/types.ts';

export type { ActionRun, RunningAction };

export interface TimedStart {
  action: RunningAction;
  /** Epoch ms just before the spawn. */
  spawnedAt: number;
  /** performance.now() just before the spawn (for precise intervals). */
  spawnedPerf: number;
  pid: number;
}

/** Starts `DIST/index.js` with `env` and extra inputs (`{'backup-command': …}`). */
export function startTimed(
  dist: string,
  env: Record<string, string>,
  inputs: Record<string, string> = {},
  timeoutMs = 300_000,
): TimedStart {
  const spawnedAt = Date.now();
  const spawnedPerf = performance.now();
  const action = startAction({ entry: join(dist, 'index.js'), env, inputs, timeoutMs });
  const pid = action.child.pid;
  if (pid === undefined) throw new Error(`could not start node ${join(dist, 'index.js')}`);
  return { action, spawnedAt, spawnedPerf, pid };
}

export interface TimedRun {
  run: ActionRun;
  report: Report;
  /** Epoch ms of the spawn and of the exit. */
  spawnedAt: number;
  exitedAt: number;
  wallMs: number;
}

/** Runs the action to its end; fails with the log tail when it wrote no report or ended unexpectedly. */
export async function runTimed(
  dist: string,
  env: Record<string, string>,
  expect: { status: string },
  inputs: Record<string, string> = {},
): Promise<TimedRun> {
  const t = startTimed(dist, env, inputs);
  const run = await t.action.result;
  const exitedAt = Date.now();
  const wallMs = performance.now() - t.spawnedPerf;
  if (!run.report || run.outputs.status !== expect.status) {
    throw new Error(
      `the action ended with status ${run.outputs.status ?? '(none)'} (exit ${run.code}), expected ${expect.status}:\n` +
        `${run.stdout.slice(-3000)}\n${run.stderr.slice(-1500)}`,
    );
  }
  return { run, report: run.report, spawnedAt: t.spawnedAt, exitedAt, wallMs };
}
