/**
 * The words of a run's verdict: one-line reasons for the report and the messages a user reads when
 * the job fails — what happened, where production is now, and what to do next.
 */
import type { Mode } from '../config/types.js';
import { MID_SWITCH_PHASES } from './phase.js';
import type { Report, RunState, StepResult } from './types.js';

/** Why a run that met no failure succeeded, with its warnings named. */
export function successReason(mode: Mode, results: readonly StepResult[], state: RunState): string {
  const warned = results.filter((r) => r.status === 'warned').map((r) => r.title);
  const tail = warned.length ? `, with warnings from ${warned.join(', ')}` : '';
  if (mode === 'plan') return `plan complete: nothing was changed${tail}`;
  if (mode === 'rollback') return `production was rolled back${state.green ? ` to ${state.green.id}` : ''}${tail}`;
  return `${state.green ? `${state.green.id} is` : 'the release is'} live in ${state.environment}${tail}`;
}

/**
 * The loud message when blue had to be restored and could not be: production may be serving green,
 * and the user must act. Names both deployments and the ways back.
 */
export function restoreFailedMessage(error: string, state: RunState): string {
  const green = state.green ? ` (green: ${state.green.id} ${state.green.url})` : '';
  const back = state.blue
    ? `re-run this action with mode: rollback and rollback-to: ${state.blue.id}`
    : 're-run this action with mode: rollback';
  const again = MID_SWITCH_PHASES.includes(state.phase)
    ? ' The post step of this job tries the restore once more.'
    : '';
  return (
    `ROLLBACK FAILED: ${error}. Production may still be serving the new release${green}. ` +
    `To recover now: ${back}, or put back by hand the traffic state recorded in the report ` +
    `(state.trafficBefore).${again}`
  );
}

/** The job's failure message for `core.setFailed`: the verdict and what the user can do about it. */
export function failureMessage(report: Report, restoreFailed?: string): string | undefined {
  if (report.status === 'success' || report.status === 'planned') return undefined;
  if (restoreFailed) return restoreFailed;
  const blue = report.state.blue ? ` (${report.state.blue.id})` : '';
  const green = report.state.green ? ` Green ${report.state.green.id} is left staged for inspection.` : '';
  switch (report.status) {
    case 'no-go':
      return `No-go for ${report.environment}: ${report.reason}. Fix the failed pre-flight checks listed in the job summary, then re-run.`;
    case 'rolled-back':
      return `Rolled back: ${report.reason}. Production is back on blue${blue}.${green} See the job summary for the samples that decided it.`;
    default:
      return `production-deploy failed: ${report.reason}. See the job summary and the report (${report.outputs.report ?? 'not written'}) for every step.`;
  }
}
