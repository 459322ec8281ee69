import type { Store } from '../../infra/store/client.js';
import { LINK_TABLES } from './linker.js';

/** Domain tables counted in a summary, with their label. */
const ENTITIES: ReadonlyArray<readonly [table: string, label: string]> = [
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

/** Link tables, with the column their rows are counted by (how each link was made). */
const LINKS: ReadonlyArray<readonly [table: string, label: string, column: 'method' | 'found_in_production']> = [
  ['commit_pull_requests', 'commits -> pull requests', 'method'],
  ['deployment_commits', 'deployments -> commits', 'method'],
  ['incident_deployments', 'incidents -> deployments', 'method'],
  ['deployment_incident_fixes', 'hotfixes -> incidents', 'method'],
  ['work_item_production', 'bugs found in production', 'found_in_production'],
];

export interface ModelSummary {
  entities: Array<{ table: string; label: string; count: number }>;
  /** Per kind of link, its rows counted by how they were made (explicit, inferred, none; yes/no for bugs). */
  links: Array<{ table: string; label: string; counts: Array<{ key: string; count: number }> }>;
}

/** What the domain model holds: entities per table and each kind of link by how it was made. */
export async function modelSummary(store: Store): Promise<ModelSummary> {
  const counted = await store.client.query({
    query: ENTITIES.map(([t]) => `SELECT '${t}' AS t, count() AS n FROM ${t} FINAL`).join(' UNION ALL '),
    format: 'JSONEachRow',
  });
  const n = new Map((await counted.json<{ t: string; n: string }>()).map((r) => [r.t, Number(r.n)]));
  const links: ModelSummary['links'] = [];
  for (const [table, label, column] of LINKS) {
    const rs = await store.client.query({
      query: `SELECT toString(${column}) AS k, count() AS n FROM ${table} FINAL GROUP BY k ORDER BY k`,
      format: 'JSONEachRow',
    });
    const rows = await rs.json<{ k: string; n: string }>();
    links.push({
      table,
      label,
      counts: rows.map((r) => ({ key: column === 'found_in_production' ? (r.k === '1' ? 'yes' : 'no') : r.k, count: Number(r.n) })),
    });
  }
  return { entities: ENTITIES.map(([table, label]) => ({ table, label, count: n.get(table) ?? 0 })), links };
}

/**
 * The latest linked_at in the link tables (up to `asOf`): the instant of the latest linker run that
 * wrote a row, or undefined when none has. A run that found every link as it was writes rows only to
 * the tables it recomputes whole, so on a store without links it leaves no trace here.
 */
export async function lastLinkedAt(store: Store, asOf?: Date): Promise<Date | undefined> {
  const rs = await store.client.query({
    query: `SELECT toUnixTimestamp64Milli(max(t)) AS at, count() AS n FROM
            (${LINK_TABLES.map((t) => `SELECT linked_at AS t FROM ${t}`).join(' UNION ALL ')})
            WHERE {as_of:Nullable(DateTime64(3, 'UTC'))} IS NULL OR t <= {as_of:Nullable(DateTime64(3, 'UTC'))}`,
    query_params: { as_of: asOf === undefined ? null : asOf.getTime() / 1000 },
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ at: number | string; n: number | string }>();
  return row === undefined || Number(row.n) === 0 ? undefined : new Date(Number(row.at));
}
