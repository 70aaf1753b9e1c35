/**
 * More GitHub REST shapes (continued from github-shapes.ts): security alerts, deployments and
 * their statuses, issue comments, branch protection and rules.
 */
import type { ProtectionScenario, RuleScenario } from '../core/scenario.ts';
import { type Ctx, iso, repository, stableId, user } from './github-shapes.ts';
import type { EnvironmentRecord } from './github-state.ts';

function nodeId(kind: string, id: number): string {
  return Buffer.from(`0${kind.length}:${kind}${id}`).toString('base64');
}

export interface CodeScanningInfo {
  number: number;
  ruleId: string;
  description: string;
  severity: string;
  state: string;
  tool: string;
  path: string;
  sha: string;
  ref: string;
  createdAt: string;
}

/** code-scanning-alert-items */
export function codeScanningAlert(c: Ctx, a: CodeScanningInfo) {
  const r = `${c.api}/repos/${c.owner}/${c.repo}`;
  const ruleSeverity = a.severity === 'critical' || a.severity === 'high' ? 'error' : 'warning';
  return {
    number: a.number,
    created_at: a.createdAt,
    updated_at: a.createdAt,
    url: `${r}/code-scanning/alerts/${a.number}`,
    html_url: `${c.web}/${c.owner}/${c.repo}/security/code-scanning/${a.number}`,
    instances_url: `${r}/code-scanning/alerts/${a.number}/instances`,
    state: a.state,
    fixed_at: a.state === 'fixed' ? a.createdAt : null,
    dismissed_by: a.state === 'dismissed' ? user(c, c.owner) : null,
    dismissed_at: a.state === 'dismissed' ? a.createdAt : null,
    dismissed_reason: a.state === 'dismissed' ? "won't fix" : null,
    dismissed_comment: null,
    rule: {
      id: a.ruleId,
      severity: ruleSeverity,
      security_severity_level: a.severity,
      description: a.description,
      name: a.ruleId,
      tags: ['security'],
    },
    tool: { name: a.tool, guid: null, version: '2.20.0' },
    most_recent_instance: {
      ref: a.ref,
      analysis_key: '.github/workflows/codeql.yml:analyze',
      environment: '{"language":"javascript-typescript"}',
      category: '.github/workflows/codeql.yml:analyze/language:javascript-typescript',
      state: a.state,
      commit_sha: a.sha,
      message: { text: a.description },
      location: { path: a.path, start_line: 12, end_line: 12, start_column: 5, end_column: 40 },
      classifications: [],
    },
  };
}

export interface DependabotInfo {
  number: number;
  package: string;
  ecosystem: string;
  severity: string;
  state: string;
  summary: string;
  ghsaId: string;
  cveId: string | null;
  manifest: string;
  createdAt: string;
}

/** dependabot-alert */
export function dependabotAlert(c: Ctx, a: DependabotInfo) {
  const r = `${c.api}/repos/${c.owner}/${c.repo}`;
  const pkg = { ecosystem: a.ecosystem, name: a.package };
  const vuln = {
    package: pkg,
    severity: a.severity,
    vulnerable_version_range: '< 4.17.21',
    first_patched_version: { identifier: '4.17.21' },
  };
  const score = { critical: 9.8, high: 7.5, medium: 5.3, low: 2.1 }[a.severity] ?? 5;
  return {
    number: a.number,
    state: a.state,
    dependency: { package: pkg, manifest_path: a.manifest, scope: 'runtime', relationship: 'direct' },
    security_advisory: {
      ghsa_id: a.ghsaId,
      cve_id: a.cveId,
      summary: a.summary,
      description: `${a.summary} (sandbox advisory).`,
      vulnerabilities: [vuln],
      severity: a.severity,
      cvss: { score, vector_string: null },
      cvss_severities: { cvss_v3: { score, vector_string: null }, cvss_v4: { score: 0, vector_string: null } },
      epss: { percentage: 0.05, percentile: 12.5 },
      cwes: [{ cwe_id: 'CWE-1321', name: 'Prototype Pollution' }],
      identifiers: [{ value: a.ghsaId, type: 'GHSA' }, ...(a.cveId ? [{ value: a.cveId, type: 'CVE' }] : [])],
      references: [{ url: `https://github.com/advisories/${a.ghsaId}` }],
      published_at: a.createdAt,
      updated_at: a.createdAt,
      withdrawn_at: null,
    },
    security_vulnerability: vuln,
    url: `${r}/dependabot/alerts/${a.number}`,
    html_url: `${c.web}/${c.owner}/${c.repo}/security/dependabot/${a.number}`,
    created_at: a.createdAt,
    updated_at: a.createdAt,
    dismissed_at: a.state === 'dismissed' ? a.createdAt : null,
    dismissed_by: a.state === 'dismissed' ? user(c, c.owner) : null,
    dismissed_reason: a.state === 'dismissed' ? 'tolerable_risk' : null,
    dismissed_comment: null,
    fixed_at: a.state === 'fixed' ? a.createdAt : null,
    auto_dismissed_at: a.state === 'auto_dismissed' ? a.createdAt : null,
  };
}

export interface DeploymentStatusRecord {
  id: number;
  state: string;
  description: string;
  environment: string;
  targetUrl: string;
  logUrl: string;
  environmentUrl: string;
  creator: string;
  createdAt: string;
}

export interface DeploymentRecord {
  id: number;
  sha: string;
  ref: string;
  task: string;
  environment: string;
  originalEnvironment: string;
  description: string | null;
  creator: string;
  payload: Record<string, unknown> | string;
  transient: boolean;
  production: boolean;
  createdAt: string;
  updatedAt: string;
  /** Oldest first. */
  statuses: DeploymentStatusRecord[];
}

/** deployment */
export function deployment(c: Ctx, d: DeploymentRecord) {
  const r = `${c.api}/repos/${c.owner}/${c.repo}`;
  return {
    url: `${r}/deployments/${d.id}`,
    id: d.id,
    node_id: nodeId('Deployment', d.id),
    sha: d.sha,
    ref: d.ref,
    task: d.task,
    payload: d.payload,
    original_environment: d.originalEnvironment,
    environment: d.environment,
    description: d.description,
    creator: user(c, d.creator),
    created_at: d.createdAt,
    updated_at: d.updatedAt,
    statuses_url: `${r}/deployments/${d.id}/statuses`,
    repository_url: r,
    transient_environment: d.transient,
    production_environment: d.production,
  };
}

/** deployment-status */
export function deploymentStatus(c: Ctx, d: DeploymentRecord, s: DeploymentStatusRecord) {
  const r = `${c.api}/repos/${c.owner}/${c.repo}`;
  return {
    url: `${r}/deployments/${d.id}/statuses/${s.id}`,
    id: s.id,
    node_id: nodeId('DeploymentStatus', s.id),
    state: s.state,
    creator: user(c, s.creator),
    description: s.description,
    environment: s.environment,
    target_url: s.targetUrl,
    log_url: s.logUrl,
    environment_url: s.environmentUrl,
    created_at: s.createdAt,
    updated_at: s.createdAt,
    deployment_url: `${r}/deployments/${d.id}`,
    repository_url: r,
  };
}

export interface CommentRecord {
  id: number;
  issue: number;
  body: string;
  user: string;
  createdAt: string;
  updatedAt: string;
}

/** issue-comment */
export function issueComment(c: Ctx, cm: CommentRecord) {
  const r = `${c.api}/repos/${c.owner}/${c.repo}`;
  return {
    id: cm.id,
    node_id: nodeId('IssueComment', cm.id),
    url: `${r}/issues/comments/${cm.id}`,
    html_url: `${c.web}/${c.owner}/${c.repo}/pull/${cm.issue}#issuecomment-${cm.id}`,
    body: cm.body,
    user: user(c, cm.user),
    created_at: cm.createdAt,
    updated_at: cm.updatedAt,
    issue_url: `${r}/issues/${cm.issue}`,
    author_association: cm.user.endsWith('[bot]') ? 'NONE' : 'MEMBER',
    reactions: {
      url: `${r}/issues/comments/${cm.id}/reactions`,
      total_count: 0,
      '+1': 0,
      '-1': 0,
      laugh: 0,
      confused: 0,
      heart: 0,
      hooray: 0,
      eyes: 0,
      rocket: 0,
    },
  };
}

/** branch-protection (GET …/branches/{branch}/protection). */
export function branchProtection(c: Ctx, branch: string, p: ProtectionScenario) {
  const base = `${c.api}/repos/${c.owner}/${c.repo}/branches/${encodeURIComponent(branch)}/protection`;
  const flag = (enabled: boolean | undefined) => ({ enabled: Boolean(enabled) });
  const out: Record<string, unknown> = {
    url: base,
    enforce_admins: { url: `${base}/enforce_admins`, enabled: Boolean(p.enforceAdmins) },
    required_linear_history: flag(p.requiredLinearHistory),
    allow_force_pushes: flag(p.allowForcePushes),
    allow_deletions: flag(p.allowDeletions),
    block_creations: flag(false),
    required_conversation_resolution: flag(false),
    lock_branch: flag(false),
    allow_fork_syncing: flag(false),
    required_signatures: { url: `${base}/required_signatures`, enabled: false },
  };
  if (p.requiredStatusChecks) {
    out.required_status_checks = {
      url: `${base}/required_status_checks`,
      strict: Boolean(p.strict),
      contexts: p.requiredStatusChecks,
      contexts_url: `${base}/required_status_checks/contexts`,
      checks: p.requiredStatusChecks.map((context) => ({ context, app_id: null })),
    };
  }
  if (p.requiredApprovingReviewCount !== undefined) {
    out.required_pull_request_reviews = {
      url: `${base}/required_pull_request_reviews`,
      dismiss_stale_reviews: Boolean(p.dismissStaleReviews),
      require_code_owner_reviews: Boolean(p.requireCodeOwnerReviews),
      required_approving_review_count: p.requiredApprovingReviewCount,
      require_last_push_approval: false,
    };
  }
  return out;
}

/** Parameters GitHub always returns for these rule types; a scenario states only what differs. */
const RULE_DEFAULTS: Record<string, Record<string, unknown>> = {
  pull_request: {
    allowed_merge_methods: ['merge', 'squash', 'rebase'],
    dismiss_stale_reviews_on_push: false,
    require_code_owner_review: false,
    require_last_push_approval: false,
    required_approving_review_count: 1,
    required_review_thread_resolution: false,
  },
  required_status_checks: {
    do_not_enforce_on_create: false,
    required_status_checks: [],
    strict_required_status_checks_policy: false,
  },
};

/** repository-rule-detailed items (GET …/rules/branches/{branch}). */
export function branchRules(c: Ctx, rules: RuleScenario[]) {
  return rules.map((rule, i) => ({
    type: rule.type,
    ...(rule.parameters || RULE_DEFAULTS[rule.type]
      ? { parameters: { ...RULE_DEFAULTS[rule.type], ...rule.parameters } }
      : {}),
    ruleset_source_type: rule.rulesetSourceType ?? 'Repository',
    ruleset_source: rule.rulesetSourceType === 'Organization' ? c.owner : `${c.owner}/${c.repo}`,
    ruleset_id: rule.rulesetId ?? stableId(`ruleset:${c.repo}:${i}`, 900_000),
  }));
}

/** The `repository` object of webhook payloads (event payload file). */
export function payloadRepository(c: Ctx) {
  return repository(c);
}

export { iso };

/** environment (`repos/get-environment`): its built-in protection rules and branch policy. */
export function environmentShape(c: Ctx, e: EnvironmentRecord) {
  const r = `${c.api}/repos/${c.owner}/${c.repo}`;
  return {
    id: e.id,
    node_id: nodeId('Environment', e.id),
    name: e.name,
    url: `${r}/environments/${encodeURIComponent(e.name)}`,
    html_url: `${c.web}/${c.owner}/${c.repo}/deployments/activity_log?environments_filter=${encodeURIComponent(e.name)}`,
    created_at: e.createdAt,
    updated_at: e.createdAt,
    protection_rules: e.rules.map((type, i) => ({
      id: e.id * 10 + i,
      node_id: nodeId('Gate', e.id * 10 + i),
      type,
      ...(type === 'wait_timer' ? { wait_timer: 5 } : {}),
      ...(type === 'required_reviewers' ? { prevent_self_review: false, reviewers: [] } : {}),
    })),
    deployment_branch_policy: e.branchPolicy,
  };
}
