/**
 * `startSandbox({scenario})`: the whole miniature of the outside world on 127.0.0.1 (sandbox/README.md).
 * Starts every service on an ephemeral port, real s3rver and (when enabled and installed) a real
 * PostgreSQL, the traffic stream and the control endpoints; writes the event payload file; and
 * returns the environment a runner would give the action (`GITHUB_*`, provider URLs, `INPUT_*`).
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Scenario, loadScenario } from './core/scenario.ts';
import { type RunningService, Traffic } from './core/service.ts';
import type { World } from './core/world.ts';
import { cloudflareInputs, cloudflareSnapshot, startCloudflare, startLb } from './services/cloudflare.ts';
import { startControl } from './services/control.ts';
import { startDatadog } from './services/datadog.ts';
import { dependencyUrl, startDeps } from './services/deps.ts';
import { startGithub } from './services/github.ts';
import { type RunningPostgres, seedSql, startPostgres } from './services/postgres.ts';
import { type RunningS3, startS3 } from './services/s3.ts';
import { startSlack } from './services/slack.ts';
import { type TrafficStream, startTrafficStream } from './services/traffic-stream.ts';
import { startEdge, startVercel, vercelInputs, vercelSnapshot } from './services/vercel.ts';
import { buildEnv, scratchRoot, writeEventPayload } from './env.ts';

export { loadScenario, scenarioFrom } from './core/scenario.ts';
export { scratchRoot } from './env.ts';
export type { Scenario } from './core/scenario.ts';

/** The sample apps (`sandbox/app/<version>`). */
export const APP_ROOT = fileURLToPath(new URL('./app/', import.meta.url));

export interface Sandbox {
  scenario: Scenario;
  world: World;
  /** Base URL of every service, plus `production` (the load balancer) and `postgres` when running. */
  urls: Record<string, string>;
  /** The environment of the scenario's run: provider URLs, credentials, `GITHUB_*`, `INPUT_*`. */
  env: Record<string, string>;
  /** Startup notes a user should see (e.g. PostgreSQL not installed, what replaced it). */
  notes: string[];
  /** Milliseconds startSandbox took, and when (ms after the start) each service was up. */
  startupMs: number;
  readyAtMs: Record<string, number>;
  /** Stop every server and child; idempotent. */
  stop(): Promise<void>;
}

export interface SandboxOptions {
  /** A scenario name (sandbox/scenarios/NAME.yaml), a path, or a loaded scenario. */
  scenario?: string | Scenario;
  /** Directory for this sandbox's files; default a new temporary directory, removed on stop. */
  dir?: string;
  /** Start the traffic stream (default: when the scenario's rate is above 0). */
  traffic?: boolean;
}

interface Stoppable {
  name: string;
  close(): Promise<void>;
}

/** Start the sandbox for a scenario (default `default`). Must be stopped with `stop()`. */
export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const started = Date.now();
  const scenario = typeof opts.scenario === 'object' ? opts.scenario : loadScenario(opts.scenario ?? 'default');
  const ownDir = !opts.dir;
  const dir = opts.dir ?? fs.mkdtempSync(path.join(scratchRoot(), 'pd-sandbox-'));
  fs.mkdirSync(dir, { recursive: true });
  const traffic = new Traffic();
  traffic.faults = scenario.faults.map((f) => ({ ...f, seen: 0 }));
  const world: World = { traffic, urls: {}, hits: [], state: {}, events: new EventEmitter(), dir };
  world.events.setMaxListeners(100);
  const running: Stoppable[] = [];
  const notes: string[] = [];
  let s3: RunningS3 | undefined;
  let pg: RunningPostgres | undefined;
  let stream: TrafficStream | undefined;
  const readyAtMs: Record<string, number> = {};
  const track = <T extends { close(): Promise<void> }>(name: string, s: T): T => {
    readyAtMs[name] = Date.now() - started;
    running.push({ name, close: () => s.close() });
    return s;
  };

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await stream?.stop();
      // Reverse start order: the proxy and health checks go before the servers they reach.
      for (const s of [...running].reverse()) await s.close().catch(() => undefined);
      if (ownDir) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    })());

  try {
    const vercelSection = {
      ...scenario.vercel,
      buildDelayMs: scenario.vercel.buildDelayMs ?? scenario.timings.buildMs,
      aliasDelayMs: scenario.vercel.aliasDelayMs ?? scenario.timings.aliasMs,
    };
    const cfSection = {
      ...scenario.cloudflare,
      healthIntervalMs: scenario.cloudflare.healthIntervalMs ?? scenario.timings.healthCheckIntervalMs,
    };
    // Vercel → edge → Cloudflare (its first health round goes through the edge) → load balancer.
    const chain = (async () => {
      track('vercel', await startVercel(world, vercelSection));
      track('vercel-edge', await startEdge(world));
      track('cloudflare', await startCloudflare(world, cfSection));
      track('lb', await startLb(world, cfSection));
    })();
    const named = async (name: 'github' | 'slack' | 'datadog' | 'deps', p: Promise<RunningService>) => {
      const svc = track(name, await p);
      world.urls[name] = svc.url;
      return svc;
    };
    // allSettled: a failure must not leave later-starting servers running after stop().
    const results = await Promise.allSettled([
      named('deps', startDeps(world, scenario.dependencies)),
      named('github', startGithub(world, scenario)),
      named('slack', startSlack(world, scenario.slack)),
      named('datadog', startDatadog(world, scenario.datadog)),
      (async () => {
        s3 = track('s3', await startS3(world, scenario.s3));
        world.urls.s3 = s3.service.url;
      })(),
      (async () => {
        if (!scenario.postgres.enabled) return;
        try {
          pg = track('postgres', await startPostgres(world, scenario.postgres));
        } catch (err) {
          const seedFile = path.join(dir, 'postgres-seed.sql');
          fs.writeFileSync(seedFile, seedSql(scenario.postgres.seed));
          world.state.postgres = { unavailable: (err as Error).message, seedFile };
          notes.push(`PostgreSQL not started (${(err as Error).message}); backup-command prints the seed SQL instead`);
        }
      })(),
      chain,
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const deps = (results[0] as PromiseFulfilledResult<RunningService>).value;
    const control = track(
      'sandbox',
      await startControl(world, {
        info: () => ({
          scenario: scenario.name,
          description: scenario.description,
          startedAt: new Date(started).toISOString(),
          urls: world.urls,
        }),
        snapshots: {
          vercel: () => vercelSnapshot(world),
          cloudflare: () => cloudflareSnapshot(world),
          s3: async () => ({ bucket: scenario.s3.bucket, objects: s3 ? await s3.list() : [] }),
        },
        setTrafficRate: (rate) => stream?.setRate(rate),
      }),
    );
    world.urls.sandbox = control.url;
    const production = world.urls.lb!;
    if (opts.traffic ?? scenario.traffic.rate > 0) stream = startTrafficStream(world, scenario.traffic, production);

    const eventPath = writeEventPayload(world, scenario, dir);
    const env = buildEnv({
      scenario,
      world,
      eventPath,
      appDir: path.join(APP_ROOT, scenario.deploy.version),
      vercel: vercelInputs(world),
      cloudflare: cloudflareInputs(world),
      dependencyUrls: scenario.dependencies.map((d) => dependencyUrl(deps, d.name)),
      databaseUrl: pg?.url,
      seedFile: (world.state.postgres as { seedFile?: string } | undefined)?.seedFile,
    });
    const urls: Record<string, string> = { ...(world.urls as Record<string, string>), production };
    if (pg) urls.postgres = pg.url;
    return { scenario, world, urls, env, notes, startupMs: Date.now() - started, readyAtMs, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
