/**
 * Operations an official client uses that the spec excerpts lack (sandbox/README.md: "nothing else
 * is exempt"). Each entry names the source that documents it. `sameAs` names the spec operation
 * whose parameters and schemas apply when only the method or version differs.
 */
import type { ServiceName } from '../core/service.ts';

export interface AllowEntry {
  service: ServiceName;
  method: string;
  /** Path template as the service writes it (Cloudflare without /client/v4, Slack without /api). */
  path: string;
  /** Where the operation is documented. */
  source: string;
  /** `METHOD template` of the spec operation to validate against instead. */
  sameAs?: string;
}

export const ALLOW_LIST: AllowEntry[] = [
  {
    service: 'datadog',
    method: 'POST',
    path: '/api/v2/deployments/gates/evaluation',
    source:
      'Datadog Deployment Gates (preview) `TriggerDeploymentGatesEvaluation`: DataDog/datadog-api-client-typescript @ a6d174205 DeploymentGatesApi; newer than the datadog-v2 excerpt (2026-04-14). Checked against recorded answers instead: __tests__/contract/sandbox-a-datadog-gates.test.ts',
  },
  {
    service: 'datadog',
    method: 'GET',
    path: '/api/v2/deployments/gates/evaluation/{id}',
    source:
      'Datadog Deployment Gates (preview) `GetDeploymentGatesEvaluationResult`: as above; checked against recorded answers in __tests__/contract/sandbox-a-datadog-gates.test.ts',
  },
  {
    service: 'cloudflare',
    method: 'GET',
    path: '/accounts/{account_id}/load_balancers/monitors/{monitor_id}',
    source:
      'Cloudflare API operation `account-load-balancer-monitors-monitor-details` (cloudflare SDK `loadBalancers.monitors.get`); cut from the spec excerpt (the action reads the monitor `interval`)',
  },
  {
    service: 'vercel',
    method: 'POST',
    path: '/v1/projects/{projectId}/rollback/{deploymentId}',
    source:
      '@vercel/sdk `projects.requestRollback` (Instant Rollback); docs: vercel.com/docs/rest-api/projects/points-all-production-domains-for-a-project-to-the-given-deploy; not in vercel-spec.json 2024-11..2025-10 (shared/specs/README.md)',
  },
  {
    service: 'vercel',
    method: 'GET',
    path: '/v7/deployments',
    source:
      '@vercel/sdk `deployments.getDeployments` since 2026-06 (vercel/sdk 6b5886d25) lists deployments on /v7; same query and response as GET /v6/deployments',
    sameAs: 'GET /v6/deployments',
  },
  {
    service: 'vercel',
    method: 'PATCH',
    path: '/v12/deployments/{id}/cancel',
    source:
      '@vercel/sdk `deployments.cancelDeployment` (PATCH /v12/deployments/{id}/cancel, 200 with the deployment); in the full openapi.vercel.sh spec, cut from the excerpt (shared/research/vercel.md §3.3, §9)',
  },
  {
    service: 'vercel',
    method: 'GET',
    path: '/v3/deployments/{idOrUrl}/events',
    source:
      '@vercel/sdk `deployments.getDeploymentEvents` (build log events); in the full openapi.vercel.sh spec, cut from the excerpt (shared/research/vercel.md §10 row 8)',
  },
  {
    service: 'vercel',
    method: 'PATCH',
    path: '/v1/projects/{idOrName}/protection-bypass',
    source:
      '@vercel/sdk `projects.updateProjectProtectionBypass`; docs: vercel.com/docs/deployment-protection/methods-to-bypass-deployment-protection/protection-bypass-automation (shared/research/vercel.md §5)',
  },
  {
    service: 'slack',
    method: 'POST',
    path: '/auth.test',
    source:
      'Slack Web API accepts POST for every method (docs.slack.dev/apis/web-api: "POST or GET"); @slack/web-api WebClient.apiCall always POSTs. The spec lists auth.test as GET only',
    sameAs: 'GET /auth.test',
  },
  {
    service: 'slack',
    method: 'POST',
    path: '/conversations.history',
    source:
      'docs.slack.dev/reference/methods/conversations.history (channel, cursor, include_all_metadata, inclusive, latest, limit, oldest; messages newest first, has_more, response_metadata.next_cursor; scopes channels:history, groups:history); @slack/web-api `conversations.history` POSTs a form. Not in slack_web_openapi_v2.json 2020 excerpt (3 operations). A re-run finds the run message by its metadata (docs.slack.dev/messaging/message-metadata)',
  },
  {
    service: 'slack',
    method: 'POST',
    path: '/users.conversations',
    source:
      'docs.slack.dev/reference/methods/users.conversations (types, exclude_archived, limit, cursor; channels the bot is a member of; scopes channels:read, groups:read); @slack/web-api `users.conversations` POSTs a form. Not in the 2020 excerpt. Turns a configured channel name into the id conversations.history needs',
  },
];

/**
 * Request fields an official client sends that the spec excerpt's body schema forbids. The
 * validator removes exactly these (and notes it as a warning) before checking the body; anything
 * else the client adds still fails.
 */
export interface ClientField {
  service: ServiceName;
  /** `METHOD template` of the spec operation. */
  operation: string;
  /** Top-level body fields. */
  fields?: string[];
  /** Fields of every item of a top-level array field: `{files: ['mode']}`. */
  itemFields?: Record<string, string[]>;
  source: string;
}

export const CLIENT_FIELDS: ClientField[] = [
  {
    service: 'vercel',
    operation: 'POST /v13/deployments',
    fields: ['version', 'autoAssignCustomDomains'],
    itemFields: { files: ['mode'] },
    source:
      '@vercel/client 18 createDeployment: `version` is forced to 2, `autoAssignCustomDomains: false` is the staged production deploy of `vercel --prod --skip-domain` (CLI unit test body), and files go by `{file, sha, size, mode}` (upload.ts, utils/hashes.ts); shared/research/vercel.md §1.3–1.4',
  },
];

/** The body without the documented extra fields its official client sends, and what was removed. */
export function stripClientFields(
  service: ServiceName,
  operation: string | undefined,
  body: unknown,
): { body: unknown; dropped: string[] } {
  const quirk = CLIENT_FIELDS.find((q) => q.service === service && q.operation === operation);
  if (!quirk || !body || typeof body !== 'object' || Array.isArray(body)) return { body, dropped: [] };
  const copy: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  const dropped: string[] = [];
  for (const f of quirk.fields ?? [])
    if (f in copy) {
      delete copy[f];
      dropped.push(f);
    }
  for (const [arr, fields] of Object.entries(quirk.itemFields ?? {})) {
    const items = copy[arr];
    if (!Array.isArray(items)) continue;
    copy[arr] = items.map((it: unknown) => {
      if (!it || typeof it !== 'object') return it;
      const c = { ...(it as Record<string, unknown>) };
      for (const f of fields)
        if (f in c) {
          delete c[f];
          if (!dropped.includes(`${arr}[].${f}`)) dropped.push(`${arr}[].${f}`);
        }
      return c;
    });
  }
  return { body: copy, dropped };
}
