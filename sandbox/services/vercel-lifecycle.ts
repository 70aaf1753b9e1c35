/**
 * The Vercel miniature's asynchronous behaviour: a deployment walks QUEUED → BUILDING → READY (or
 * ERROR) over the build delay; production deployments take the production domains when READY
 * unless staged; promote and rollback go through `lastAliasRequest` pending → in-progress →
 * succeeded; aliases move a hostname from one deployment to another.
 */
import type { World } from '../core/world.ts';
import { openDeploymentPort } from './vercel-edge.ts';
import { startReleaseOnPromote } from './vercel-rolling.ts';
import {
  newId,
  later,
  outputRoot,
  parseKnobs,
  servingProduction,
  storeAppDir,
  vercelState,
  type Deployment,
  type DeploymentFile,
  type Project,
  type VercelDeploymentScenario,
  type VercelState,
} from './vercel-state.ts';
import fs from 'node:fs';
import path from 'node:path';

function changed(world: World): void {
  world.events.emit('change', 'vercel');
}

/** Everything needed to create a deployment (from the API body or the scenario). */
export interface NewDeployment {
  project: Project;
  name: string;
  files: DeploymentFile[];
  target: 'production' | null;
  autoAssignCustomDomains: boolean;
  meta: Record<string, string>;
  source: string;
  id?: string;
  createdAt?: number;
}

/** Create a deployment record with its own loopback port, QUEUED (the build is scheduled by the caller). */
export async function createDeploymentRecord(world: World, nd: NewDeployment): Promise<Deployment> {
  const state = vercelState(world);
  const files = new Map(nd.files.map((f) => [f.file, f]));
  const root = outputRoot(files.keys());
  const knobsFile = files.get('sandbox.json') ?? files.get(`${root}sandbox.json`);
  const knobsText = knobsFile ? fs.readFileSync(path.join(state.fileDir, knobsFile.sha), 'utf8') : undefined;
  const logFile = files.get('build-log.txt');
  const buildLog = logFile
    ? fs.readFileSync(path.join(state.fileDir, logFile.sha), 'utf8').split(/\r?\n/).filter(Boolean)
    : [];
  const d: Deployment = {
    id: nd.id ?? newId('dpl_'),
    name: nd.name,
    projectId: nd.project.id,
    port: 0,
    url: '',
    createdAt: nd.createdAt ?? Date.now(),
    readyState: 'QUEUED',
    target: nd.target,
    autoAssignCustomDomains: nd.autoAssignCustomDomains,
    meta: nd.meta,
    source: nd.source,
    files,
    root,
    knobs: parseKnobs(knobsText),
    buildLog,
  };
  const server = await openDeploymentPort(world, d);
  d.port = server.port;
  d.url = `127.0.0.1:${server.port}`;
  state.servers.set(d.id, server);
  state.deployments.set(d.id, d);
  changed(world);
  return d;
}

/** Walk the build: a quarter of the delay QUEUED, the rest BUILDING, then READY or ERROR. */
export function scheduleBuild(world: World, d: Deployment): void {
  const state = vercelState(world);
  later(state, Math.round(state.buildDelayMs / 4), () => {
    if (d.readyState !== 'QUEUED' || d.deletedAt) return;
    d.readyState = 'BUILDING';
    d.buildingAt = Date.now();
    changed(world);
    later(state, state.buildDelayMs - Math.round(state.buildDelayMs / 4), () => finishBuild(world, d));
  });
}

/** End the build now: ERROR for an app that marks its build broken, else READY (+ production domains). */
export function finishBuild(world: World, d: Deployment): void {
  const state = vercelState(world);
  if (d.readyState !== 'BUILDING' || d.deletedAt) return;
  const now = Date.now();
  d.buildingAt ??= now;
  if (d.knobs.buildError) {
    d.readyState = 'ERROR';
    d.errorCode = 'BUILD_FAILED';
    d.errorMessage = d.knobs.buildError;
    changed(world);
    return;
  }
  d.readyState = 'READY';
  d.readyAt = now;
  const project = state.projects.get(d.projectId);
  if (d.target === 'production' && project) {
    // Vercel: a production deployment takes the production domains unless the deploy said
    // `autoAssignCustomDomains: false` (`--skip-domain`) or the project has auto-assignment off
    // (it does after an instant rollback).
    if (d.autoAssignCustomDomains && project.autoAssignCustomDomains) {
      moveProductionDomains(world, project, d);
      d.readySubstate = 'PROMOTED';
    } else {
      d.readySubstate = 'STAGED';
    }
  }
  // The automatic aliases exist now: `@vercel/client` needs this to finish, staged or not.
  d.aliasAssignedAt = now;
  changed(world);
}

/** Point `host` at deployment `d`; returns the deployment it was taken from, if any. */
export function assignAlias(world: World, host: string, d: Deployment): { uid: string; oldDeploymentId?: string } {
  const state = vercelState(world);
  const prev = state.aliases.get(host);
  const uid = prev?.uid ?? newId('').slice(0, 24);
  state.aliases.set(host, { uid, alias: host, deploymentId: d.id, projectId: d.projectId, created: Date.now() });
  changed(world);
  return { uid, oldDeploymentId: prev && prev.deploymentId !== d.id ? prev.deploymentId : undefined };
}

/** Move every production domain of the project to `d` and make it `targets.production`. */
export function moveProductionDomains(world: World, project: Project, d: Deployment): void {
  for (const domain of project.productionDomains) assignAlias(world, domain, d);
  project.productionDeploymentId = d.id;
  project.updatedAt = Date.now();
}

/**
 * Promote or instant-rollback: answer now, then run the alias job like Vercel does —
 * `lastAliasRequest` pending → in-progress → succeeded, production domains moved at the end.
 */
export function startAliasJob(
  world: World,
  project: Project,
  d: Deployment,
  type: 'promote' | 'rollback',
  description?: string,
): void {
  const state = vercelState(world);
  const from = servingProduction(state, project)?.id ?? project.productionDeploymentId ?? '';
  const request = {
    fromDeploymentId: from,
    toDeploymentId: d.id,
    jobStatus: 'pending' as const,
    requestedAt: Date.now(),
    type,
  };
  project.lastAliasRequest = { ...request };
  project.aliasJob = project.productionDomains.map((alias) => ({
    alias,
    status: 'pending',
    id: newId('').slice(0, 24),
  }));
  if (type === 'rollback' && description) project.rollbackDescription = description;
  changed(world);
  const half = Math.round(state.aliasDelayMs / 2);
  later(state, half, () => {
    if (project.lastAliasRequest?.requestedAt !== request.requestedAt) return;
    project.lastAliasRequest.jobStatus = 'in-progress';
    for (const a of project.aliasJob) a.status = 'in-progress';
    changed(world);
    later(state, state.aliasDelayMs - half, () => completeAliasJob(world, project, d, request.requestedAt));
  });
}

function completeAliasJob(world: World, project: Project, d: Deployment, requestedAt: number): void {
  const req = project.lastAliasRequest;
  if (!req || req.requestedAt !== requestedAt) return;
  if (d.deletedAt || d.readyState !== 'READY') {
    req.jobStatus = 'failed';
    for (const a of project.aliasJob) a.status = 'failed';
    changed(world);
    return;
  }
  if (req.type === 'promote' && startReleaseOnPromote(world, project, d)) {
    // The promote started a rolling release: production domains stay on the current deployment.
    req.jobStatus = 'succeeded';
    for (const a of project.aliasJob) a.status = 'completed';
    changed(world);
    return;
  }
  moveProductionDomains(world, project, d);
  d.readySubstate = 'PROMOTED';
  // Instant rollback pins production: later production deployments stay staged until a promote.
  project.autoAssignCustomDomains = req.type === 'promote';
  req.jobStatus = 'succeeded';
  for (const a of project.aliasJob) a.status = 'completed';
  changed(world);
}

/** Delete: the deployment stops serving, its aliases go, its port closes. */
export async function deleteDeployment(world: World, d: Deployment): Promise<void> {
  const state = vercelState(world);
  d.deletedAt = Date.now();
  for (const [host, a] of state.aliases) if (a.deploymentId === d.id) state.aliases.delete(host);
  const server = state.servers.get(d.id);
  state.servers.delete(d.id);
  changed(world);
  await server?.close();
}

/** The deployments a scenario starts with: built from the sample apps, READY at once. */
export async function deployScenario(world: World, list: VercelDeploymentScenario[]): Promise<void> {
  const state = vercelState(world);
  const project = [...state.projects.values()][0];
  const now = Date.now();
  const flagged = list.findIndex((d) => d.production);
  let live = flagged;
  if (live < 0) for (let i = list.length - 1; i >= 0 && live < 0; i--) if (list[i].target !== 'preview') live = i;
  for (const [i, spec] of list.entries()) {
    const age = spec.ageSeconds ?? (list.length - i) * 3600;
    const target = spec.target === 'preview' ? null : 'production';
    const d = await createDeploymentRecord(world, {
      id: spec.id ?? newId('dpl_', `${project.id}:${spec.app}:${i}`),
      project,
      name: project.name,
      files: storeAppDir(state, spec.app),
      target,
      autoAssignCustomDomains: true,
      meta: spec.meta ?? {},
      source: 'cli',
      createdAt: now - age * 1000,
    });
    d.buildingAt = d.createdAt + 1000;
    d.readyAt = d.createdAt + 20_000;
    if (d.knobs.buildError) {
      Object.assign(d, { readyState: 'ERROR', errorCode: 'BUILD_FAILED', errorMessage: d.knobs.buildError });
      continue;
    }
    d.readyState = 'READY';
    d.aliasAssignedAt = d.readyAt;
    if (target === 'production') d.readySubstate = i <= live ? 'PROMOTED' : 'STAGED';
    if (i === live) moveProductionDomains(world, project, d);
    for (const host of spec.aliases ?? []) assignAlias(world, host, d);
  }
}

/** Build-log events (`GET /v3/deployments/{id}/events`) as far as the build has got. */
export function buildEvents(state: VercelState, d: Deployment): Array<Record<string, unknown>> {
  const lines: Array<{ type: string; text: string; level?: string }> = [];
  if (d.readyState !== 'QUEUED') {
    lines.push({ type: 'stdout', text: 'Running build in Sandbox (127.0.0.1) – iad1' });
    lines.push({ type: 'stdout', text: 'Retrieving list of deployment files...' });
    lines.push({ type: 'stdout', text: `Downloading ${d.files.size} deployment files...` });
    lines.push({ type: 'command', text: 'Running "vercel build"' });
    for (const text of d.buildLog) lines.push({ type: 'stdout', text });
  }
  if (d.readyState === 'ERROR') {
    lines.push({ type: 'stderr', text: `Error: ${d.errorMessage ?? 'build failed'}`, level: 'error' });
    lines.push({ type: 'exit', text: 'Build failed' });
  } else if (d.readyState === 'READY') {
    lines.push({ type: 'stdout', text: `Build Completed in /vercel/output [${state.buildDelayMs}ms]` });
    lines.push({ type: 'stdout', text: 'Deploying outputs...' });
    lines.push({ type: 'stdout', text: 'Deployment completed' });
  } else if (d.readyState === 'CANCELED') {
    lines.push({ type: 'stderr', text: 'The build was canceled', level: 'error' });
  }
  const start = d.buildingAt ?? d.createdAt;
  const end = d.readyAt ?? Math.max(start, Date.now());
  const info = { type: 'build', name: `bld_${d.id.slice(4, 16)}`, entrypoint: '.' };
  return lines.map((l, i) => {
    const date = Math.round(start + ((end - start) * i) / Math.max(1, lines.length - 1));
    const payload = { deploymentId: d.id, id: `${d.id}-${i}`, date, serial: `${date}-${i}`, text: l.text, info };
    return { type: l.type, created: date, ...payload, ...(l.level ? { level: l.level } : {}), payload };
  });
}
