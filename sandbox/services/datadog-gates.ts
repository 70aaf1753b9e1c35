/**
 * Datadog Deployment Gates (preview) in the Datadog miniature: `POST /api/v2/deployments/gates/evaluation`
 * and `GET /api/v2/deployments/gates/evaluation/{id}`, and the read side of the gates
 * (`GET /api/v2/deployment_gates`, `GET /api/v2/deployment_gates/{id}/rules`; shapes from the client's
 * DeploymentGatesListResponse / DeploymentGateRulesResponse and its recorded gate and rule answers), all needing `DD-API-KEY` and
 * `DD-APPLICATION-KEY`. Gates come from the scenario (`datadog.gates`). Sources, in sandbox/README.md:
 * - shapes and statuses: DataDog/datadog-api-client-typescript @ a6d174205 (DeploymentGatesApi,
 *   DeploymentGatesEvaluation*Response models) and its recorded answers
 *   (cassettes/v2/Deployment-Gates_4242274226/*): 202 `{data:{id, type:'deployment_gates_evaluation_response',
 *   attributes:{evaluation_id}}}`; 404 "no gate found for service X, env Y, and identifier Z"; 400
 *   "required env field is missing"; 200 `{data:{id, type:'deployment_gates_evaluation_result_response',
 *   attributes:{dry_run, evaluation_id, evaluation_url, gate_id, gate_status, rules:[{name, status,
 *   reason?, dry_run}]}}}`; 404 "gate evaluation with id … not found" for an unknown id;
 * - the API doc: the result "may return a 404 if called too soon after triggering" (modelled: the first
 *   `notFoundPolls` reads, default 1 — harsher than the recording, whose first read was in_progress);
 *   a gate without rules is "not found"; a dry-run gate "always responds with a pass status";
 *   faulty-deployment-detection rules need `version` (docs.datadoghq.com/deployment_gates; the 400's
 *   wording is the sandbox's own).
 */
import { randomUUID } from 'node:crypto';
import type { DatadogScenario, GateScenario } from '../core/scenario.ts';
import type { SandboxRequest, SandboxResponse } from '../core/service.ts';
import type { World } from '../core/world.ts';

/** One evaluation the sandbox holds; `reads` counts the GETs it answered. */
export interface GateEvaluation {
  id: string;
  gateId: string;
  identifier: string;
  service: string;
  env: string;
  version?: string;
  reads: number;
  startedAt: string;
}

const jsonError = (status: number, title: string, detail: string): SandboxResponse => ({
  status,
  body: { errors: [{ status: String(status), title, detail }] },
});

/** The gate routes, or undefined for any other path. */
export function gateRoutes(
  world: World,
  dd: DatadogScenario,
  evaluations: GateEvaluation[],
): (req: SandboxRequest) => SandboxResponse | undefined {
  const gates = dd.gates ?? [];
  const gateOf = (e: Pick<GateEvaluation, 'identifier' | 'service' | 'env'>): GateScenario | undefined =>
    gates.find((g) => (g.identifier ?? 'default') === e.identifier && g.service === e.service && g.env === e.env);
  const gateId = (g: GateScenario) =>
    g.id ?? `0000${gates.indexOf(g)}-${(g.identifier ?? 'default').replace(/[^a-z0-9]/gi, '').slice(0, 20)}-gate`;

  const start = (req: SandboxRequest): SandboxResponse => {
    const data = (req.json as { data?: { type?: unknown; attributes?: Record<string, unknown> } })?.data;
    const a = data?.attributes;
    if (!data || data.type !== 'deployment_gates_evaluation_request' || !a)
      return jsonError(400, 'Bad Request', 'invalid request body');
    for (const k of ['service', 'env'])
      if (typeof a[k] !== 'string' || a[k] === '')
        return jsonError(400, 'Bad Request', `required ${k} field is missing`);
    const e = {
      service: String(a.service),
      env: String(a.env),
      identifier: typeof a.identifier === 'string' && a.identifier ? a.identifier : 'default',
    };
    const g = gateOf(e);
    // A gate without rules cannot be evaluated: Datadog answers as for a missing gate.
    if (!g || g.rules.length === 0)
      return jsonError(
        404,
        'Not Found',
        `no gate found for service ${e.service}, env ${e.env}, and identifier ${e.identifier}`,
      );
    const version = typeof a.version === 'string' && a.version ? a.version : undefined;
    if (!version && g.rules.some((r) => r.type === 'faulty_deployment_detection'))
      return jsonError(400, 'Bad Request', 'version is required to evaluate faulty_deployment_detection rules');
    const id = randomUUID();
    evaluations.push({
      id,
      gateId: gateId(g),
      ...e,
      ...(version ? { version } : {}),
      reads: 0,
      startedAt: new Date().toISOString(),
    });
    world.events.emit('change', 'datadog');
    return {
      status: 202,
      body: { data: { id, type: 'deployment_gates_evaluation_response', attributes: { evaluation_id: id } } },
    };
  };

  const read = (id: string): SandboxResponse => {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return jsonError(400, 'Bad Request', 'attribute "id" Invalid id');
    const e = evaluations.find((x) => x.id === id);
    if (!e) return jsonError(404, 'Not Found', `gate evaluation with id ${id} not found`);
    const g = gateOf(e)!;
    e.reads++;
    const early = g.notFoundPolls ?? 1;
    if (e.reads <= early) return jsonError(404, 'Not Found', `gate evaluation with id ${id} not found`);
    const running = e.reads <= early + (g.inProgressPolls ?? 2);
    // A version listed in `failVersions` fails its failing rules; otherwise each rule's own result.
    const ruleStatus = (r: GateScenario['rules'][number]) =>
      running
        ? 'in_progress'
        : r.failVersions && e.version
          ? r.failVersions.includes(e.version)
            ? 'fail'
            : 'pass'
          : r.status;
    const rules = g.rules.map((r) => {
      const status = ruleStatus(r);
      return {
        name: r.name,
        status,
        ...(status === 'fail' && r.reason ? { reason: r.reason } : {}),
        dry_run: r.dryRun ?? false,
      };
    });
    const failed = rules.some((r) => r.status === 'fail' && !r.dry_run);
    const gateStatus = running ? 'in_progress' : g.dryRun || !failed ? 'pass' : 'fail';
    const base = world.urls.datadog ?? 'https://app.datadoghq.com';
    return {
      status: 200,
      body: {
        data: {
          id,
          type: 'deployment_gates_evaluation_result_response',
          attributes: {
            dry_run: g.dryRun ?? false,
            evaluation_id: id,
            evaluation_url: `${base}/ci/deployment-gates/evaluations?query=level%3Agate+%40evaluation_id%3A${id}`,
            gate_id: e.gateId,
            gate_status: gateStatus,
            rules,
          },
        },
      },
    };
  };

  const user = { id: '9919ec9b-ebc7-49ee-8dc8-03626e717cca', name: 'CI Account', handle: 'ci@example.com' };
  const created = '2026-11-01T10:00:00.000000Z';
  const gateJson = (g: GateScenario) => ({
    id: gateId(g),
    type: 'deployment_gate',
    attributes: {
      created_at: created,
      created_by: user,
      dry_run: g.dryRun ?? false,
      env: g.env,
      identifier: g.identifier ?? 'default',
      service: g.service,
      updated_at: created,
      updated_by: user,
    },
  });
  // Pages of two gates (the API's page size is not documented: a small page makes the client follow
  // `meta.page.next_cursor`, the harsher case).
  const PAGE = 2;
  const list = (req: SandboxRequest): SandboxResponse => {
    const cursor = req.url.searchParams.get('page[cursor]');
    const from = cursor ? Number.parseInt(cursor, 10) : 0;
    if (!Number.isInteger(from) || from < 0) return jsonError(400, 'Bad Request', 'invalid page[cursor]');
    const size = Math.max(1, Math.min(PAGE, Number(req.url.searchParams.get('page[size]') ?? PAGE) || PAGE));
    const next = from + size < gates.length ? String(from + size) : undefined;
    return {
      status: 200,
      body: {
        data: gates.slice(from, from + size).map(gateJson),
        meta: { page: { ...(cursor ? { cursor } : {}), ...(next ? { next_cursor: next } : {}), size } },
      },
    };
  };
  const rulesOf = (id: string): SandboxResponse => {
    const g = gates.find((x) => gateId(x) === id);
    if (!g) return jsonError(404, 'Not Found', `deployment gate ${id} not found`);
    return {
      status: 200,
      body: {
        data: {
          id,
          type: 'list_deployment_rules',
          attributes: {
            rules: g.rules.map((r) => ({
              created_at: created,
              created_by: user,
              dry_run: r.dryRun ?? false,
              gate_id: id,
              name: r.name,
              options:
                r.type === 'monitor' ? { query: `service:${g.service} env:${g.env}` } : { excluded_resources: [] },
              type: r.type,
              updated_at: created,
              updated_by: user,
            })),
          },
        },
      },
    };
  };

  return (req) => {
    if (req.method === 'GET' && req.path === '/api/v2/deployment_gates') return list(req);
    const rules = /^\/api\/v2\/deployment_gates\/([^/]+)\/rules$/.exec(req.path);
    if (req.method === 'GET' && rules) return rulesOf(decodeURIComponent(rules[1]!));
    if (req.method === 'POST' && req.path === '/api/v2/deployments/gates/evaluation') return start(req);
    const m = /^\/api\/v2\/deployments\/gates\/evaluation\/([^/]+)$/.exec(req.path);
    if (req.method === 'GET' && m) return read(decodeURIComponent(m[1]!));
    return undefined;
  };
}
