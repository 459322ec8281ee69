import type { Runtime } from '../infra/runtime.js';

/** Entities per domain table, and each kind of link by how it was made. */
const ENTITIES: Array<[string, string]> = [
  ['repositories', 'repositories'],
  ['pull_requests', 'pull requests'],
  ['commits', 'commits'],
  ['deployments', 'deployments'],
  ['pipeline_runs', 'pipeline runs'],
  ['incidents', 'incidents'],
  ['work_items', 'work items'],
  ['work_item_links', 'work item links'],
  ['milestones', 'milestones'],
  ['releases', 'releases'],
];

const LINKS: Array<[string, string, string]> = [
  ['commit_pull_requests', 'commits -> pull requests', 'method'],
  ['deployment_commits', 'deployments -> commits', 'method'],
  ['incident_deployments', 'incidents -> deployments', 'method'],
  ['deployment_incident_fixes', 'hotfixes -> incidents', 'method'],
  ['work_item_production', 'bugs found in production', 'found_in_production'],
];

/** Prints what the domain model holds after a run: a line of entity counts and one per kind of link. */
export async function printModelSummary(rt: Runtime, out: NodeJS.WritableStream): Promise<void> {
  const counts = await rt.store.client.query({
    query: ENTITIES.map(([t]) => `SELECT '${t}' AS t, count() AS n FROM ${t} FINAL`).join(' UNION ALL '),
    format: 'JSONEachRow',
  });
  const n = new Map((await counts.json<{ t: string; n: string }>()).map((r) => [r.t, Number(r.n)]));
  out.write(`model: ${ENTITIES.map(([t, label]) => `${n.get(t) ?? 0} ${label}`).join(', ')}\n`);
  for (const [table, label, column] of LINKS) {
    const rs = await rt.store.client.query({
      query: `SELECT toString(${column}) AS k, count() AS n FROM ${table} FINAL GROUP BY k ORDER BY k`,
      format: 'JSONEachRow',
    });
    const rows = await rs.json<{ k: string; n: string }>();
    const parts = rows.map((r) => `${column === 'found_in_production' ? (r.k === '1' ? 'yes' : 'no') : r.k} ${r.n}`);
    out.write(`links: ${label}: ${parts.length > 0 ? parts.join(', ') : 'none'}\n`);
  }
}
