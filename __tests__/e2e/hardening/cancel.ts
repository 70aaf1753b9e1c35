/**
 * Cancelling the action the way the runner does (workflow cancellation reference): SIGINT, then
 * SIGTERM 7.5 s later if the step is still running, then SIGKILL 2.5 s after that. Then the post
 * step, which the runner runs after a cancelled main step, and a second post run that must change
 * nothing. Shared by the cancellation and concurrency tests.
 */
import { join } from 'node:path';
import type { LoggedRequest } from '../../../sandbox/core/service.ts';
import type { Sandbox } from '../../../sandbox/index.ts';
import { startAction, type ActionRun } from '../harness.ts';
import { postTwice } from './invariant.ts';
import { DIST } from './matrix.ts';

/** The runner's grace: SIGTERM this long after SIGINT, SIGKILL this long after SIGTERM. */
export const SIGTERM_AFTER_MS = 7_500;
export const SIGKILL_AFTER_MS = 2_500;

/** When to cancel: at a log line, or when the n-th API request matching `request` arrives (plus `delayMs`). */
export type Trigger =
  { line: RegExp; delayMs?: number } | { request: (r: LoggedRequest) => boolean; nth?: number; delayMs?: number };

export interface CancelledRun {
  main: ActionRun;
  /** ms from SIGINT to the main step's exit; undefined when the run ended before the trigger. */
  exitMs?: number;
  /** Signals sent, in order. */
  signals: string[];
  posts: ActionRun[];
  firstPostRequests?: LoggedRequest[];
  lastPostRequests?: LoggedRequest[];
}

function waitForRequest(
  sb: Sandbox,
  match: (r: LoggedRequest) => boolean,
  nth: number,
  until: Promise<unknown>,
): Promise<boolean> {
  return new Promise((resolve) => {
    let over = false;
    void until.then(() => (over = true));
    const tick = () => {
      if (sb.world.traffic.requests.filter(match).length >= nth) return resolve(true);
      if (over) return resolve(false);
      setTimeout(tick, 10);
    };
    tick();
  });
}

/** Runs the main step, cancels it at `trigger` as the runner would, then runs the post step twice. */
export async function cancelAt(
  sb: Sandbox,
  trigger: Trigger,
  env: Record<string, string> = sb.env,
): Promise<CancelledRun> {
  const running = startAction({ entry: join(DIST, 'index.js'), env, timeoutMs: 180_000 });
  const exited = new Promise<number>((resolve) => running.child.once('exit', () => resolve(Date.now())));
  const signals: string[] = [];
  const reached =
    'line' in trigger
      ? await running.waitForLine(trigger.line, 120_000).then(
          () => true,
          () => false,
        )
      : await waitForRequest(sb, trigger.request, trigger.nth ?? 1, exited);
  let exitMs: number | undefined;
  if (reached) {
    if (trigger.delayMs) await new Promise((r) => setTimeout(r, trigger.delayMs));
    const sent = Date.now();
    const stillRunning = () => running.child.exitCode === null && running.child.signalCode === null;
    if (stillRunning()) {
      running.kill('SIGINT');
      signals.push('SIGINT');
      const term = setTimeout(() => {
        if (stillRunning()) {
          running.kill('SIGTERM');
          signals.push('SIGTERM');
        }
      }, SIGTERM_AFTER_MS);
      const kill = setTimeout(() => {
        if (stillRunning()) {
          running.kill('SIGKILL');
          signals.push('SIGKILL');
        }
      }, SIGTERM_AFTER_MS + SIGKILL_AFTER_MS);
      exitMs = (await exited) - sent;
      clearTimeout(term);
      clearTimeout(kill);
    }
  }
  const main = await running.result;
  return { main, exitMs, signals, ...(await postTwice(sb, env, main, DIST)) };
}
