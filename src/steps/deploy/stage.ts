/**
 * What the deploy step asks the Vercel adapter to stage as green, and how it reports the upload: the
 * project and files from the config, the meta by which a re-run (or the lookup of a create whose outcome
 * was lost) finds green again. The upload and create themselves are the adapter's
 * (`VercelApi.createStagedDeployment`).
 */
import type { Config } from '../../config/types.js';
import type { Logger } from '../../pipeline/types.js';
import type { StagedDeploymentRequest, UploadProgress } from '../../providers/vercel-api.js';

/** The meta every green carries: how a re-run and an unknown-outcome lookup find it again. */
export function greenMeta(config: Config): Record<string, string> {
  const r = config.run;
  return {
    githubCommitSha: r.sha,
    githubRunId: r.runId,
    githubRunAttempt: String(r.runAttempt),
    githubRunUrl: r.runUrl,
    githubRepo: `${r.owner}/${r.repo}`,
    githubCommitRef: config.branch,
    environment: config.environment,
    productionDeploy: 'true',
  };
}

/**
 * The meta that identifies this run's green: made by this run for this commit and, when `attempt` is
 * given, by that attempt (pure).
 */
export function runMeta(config: Config, attempt?: number): Record<string, string> {
  return {
    githubRunId: config.run.runId,
    githubCommitSha: config.run.sha,
    ...(attempt === undefined ? {} : { githubRunAttempt: String(attempt) }),
  };
}

/** What is staged: this commit of the project, from `working-directory` (pure; exported for tests). */
export function stagedRequest(config: Config, projectName: string): StagedDeploymentRequest {
  const r = config.run;
  const commitMessage = headCommitMessage(r.event);
  return {
    projectId: config.vercel.projectId,
    projectName,
    directory: config.vercel.workingDirectory,
    prebuilt: config.vercel.prebuilt,
    meta: greenMeta(config),
    git: {
      commitSha: r.sha,
      commitRef: config.branch,
      remoteUrl: `${r.serverUrl}/${r.owner}/${r.repo}`,
      ...(commitMessage ? { commitMessage } : {}),
      ...(r.actor ? { commitAuthorName: r.actor } : {}),
    },
  };
}

function headCommitMessage(event: Record<string, unknown>): string | undefined {
  const head = event.head_commit as { message?: unknown } | undefined;
  return typeof head?.message === 'string' ? head.message.slice(0, 1000) : undefined;
}

/** One log line per step of the upload; Vercel's own notices are remote text. */
export function logUpload(config: Config, log: Logger, p: UploadProgress): void {
  switch (p.type) {
    case 'files-collected':
      log.info(
        `Collected ${p.count} files from ${config.vercel.prebuilt ? '.vercel/output' : 'the working directory'}`,
      );
      break;
    case 'uploading':
      log.info(`Uploading ${p.missing} new file(s) of ${p.total}`);
      break;
    case 'uploaded':
      log.info('All files uploaded; creating the deployment');
      break;
    case 'notice':
      log.untrusted(`Vercel ${p.kind}: ${p.text}`);
      break;
  }
}
