/**
 * The Datadog service a run reports under, derived from the inputs: shared by the cleanup step, rollback
 * mode and the end of the main step, which tag their Datadog events and DORA deployments with it.
 */

/**
 * The Datadog service name: `datadog-service` when set (`explicit`), else a `service:` tag of
 * `datadog-monitor-tags`, else the repository name.
 */
export function serviceName(monitorTags: readonly string[], repo: string, explicit?: string): string {
  if (explicit) return explicit;
  const tag = monitorTags.find((t) => t.startsWith('service:'));
  return tag ? tag.slice('service:'.length) : repo;
}
