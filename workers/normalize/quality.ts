import type { Store } from '../../infra/store/client.js';
import { toIso } from './replay.js';

/** One kind of field the normalizer could not read, summed over every event that had it. */
export interface DataQualityRow {
  source: string;
  /** The entity type, as its event type names it ('issue', 'incident', 'merge_request', ...). */
  entity: string;
  /** The field's path in the entity, array positions written `[]`. */
  field: string;
  problem: string;
  /** How many times it was noted (a replay that meets it again notes it again). */
  notes: number;
  /** When it was last noted, ISO 8601 UTC. */
  lastSeen: string;
  /** One raw event that shows it (raw_events.id). */
  exampleEventId: string;
}

/**
 * The data-quality notes the normalizer counted: per source, entity type, field and problem, the most
 * noted first. Every note stands for a row that was written with that one column left empty.
 */
export async function dataQualitySummary(store: Store, options: { source?: string; limit?: number } = {}): Promise<DataQualityRow[]> {
  const rs = await store.client.query({
    query: `SELECT source, entity, field, problem, sum(notes) AS n,
                   toString(max(last_seen)) AS last_seen,
                   anyLast(example_event_id) AS example
            FROM data_quality_notes
            WHERE {source:Nullable(String)} IS NULL OR source = {source:Nullable(String)}
            GROUP BY source, entity, field, problem
            ORDER BY n DESC, source, entity, field, problem
            LIMIT {limit:UInt32}`,
    query_params: { source: options.source ?? null, limit: options.limit ?? 1000 },
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{
    source: string;
    entity: string;
    field: string;
    problem: string;
    n: string;
    last_seen: string;
    example: string;
  }>();
  return rows.map((r) => ({
    source: r.source,
    entity: r.entity,
    field: r.field,
    problem: r.problem,
    notes: Number(r.n),
    lastSeen: new Date(toIso(r.last_seen)).toISOString(),
    exampleEventId: r.example,
  }));
}
