import type { Store } from '../../infra/store/client.js';
import { entityOfType } from '../../mapping/registry.js';
import { toIso } from './stored-raw.js';

/** One kind of field the normalizer could not read, summed over every event that had it. */
export interface DataQualityRow {
  source: string;
  /** The entity type, as its event type names it ('issue', 'incident', 'merge_request', ...). */
  entity: string;
  /** The field's path in the entity, array positions written `[]`. */
  field: string;
  problem: string;
  /**
   * How many times it was noted (a replay that meets it again notes it again); on field
   * COLLISION_FIELD, how many event ids arrived with differing payloads.
   */
  notes: number;
  /** When it was last noted, ISO 8601 UTC. */
  lastSeen: string;
  /** One raw event that shows it (raw_events.id). */
  exampleEventId: string;
}

/** The field and problem a collision is listed under among the data-quality notes. */
export const COLLISION_FIELD = '(payload)';
export const COLLISION_PROBLEM =
  'event ids that arrived with differing payloads; the one ranking highest (row version, then digest) was kept';

/**
 * The data-quality notes the normalizer counted: per source, entity type, field and problem, the most
 * noted first. Every note stands for a row that was written with that one column left empty, except
 * the notes on field COLLISION_FIELD: they count event ids under which different payloads arrived
 * (rawEventCollisions), once per id however often either payload came again.
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
  const fields: DataQualityRow[] = rows.map((r) => ({
    source: r.source,
    entity: r.entity,
    field: r.field,
    problem: r.problem,
    notes: Number(r.n),
    lastSeen: new Date(toIso(r.last_seen)).toISOString(),
    exampleEventId: r.example,
  }));
  const collisions = await collisionNotes(store, options.source);
  return [...fields, ...collisions]
    .sort(
      (a, b) =>
        b.notes - a.notes ||
        textOrder(a.source, b.source) ||
        textOrder(a.entity, b.entity) ||
        textOrder(a.field, b.field) ||
        textOrder(a.problem, b.problem),
    )
    .slice(0, options.limit ?? 1000);
}

const textOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** One event id under which payloads with different digests arrived. */
export interface RawEventCollision {
  source: string;
  type: string;
  subject: string;
  id: string;
  /** The digests of every payload seen under the id, sorted. */
  digests: string[];
  /** The digest of the payload raw_events holds for the id: the one kept. */
  kept: string;
  firstSeen: string;
  lastSeen: string;
}

/** The event ids that arrived with differing payloads (raw_event_collisions), by key, with the payload kept. */
export async function rawEventCollisions(
  store: Store,
  options: { source?: string | undefined; limit?: number } = {},
): Promise<RawEventCollision[]> {
  const rs = await store.client.query({
    query: `WITH collided AS (
              SELECT source, type, subject, id, arraySort(groupUniqArrayArray(digests)) AS digests,
                     toString(min(first_seen)) AS first_seen, toString(max(last_seen)) AS last_seen
              FROM raw_event_collisions
              WHERE {source:Nullable(String)} IS NULL OR source = {source:Nullable(String)}
              GROUP BY source, type, subject, id
              HAVING length(digests) > 1
              ORDER BY source, type, subject, id
              LIMIT {limit:UInt32})
            SELECT c.source AS source, c.type AS type, c.subject AS subject, c.id AS id, c.digests AS digests,
                   c.first_seen AS first_seen, c.last_seen AS last_seen, r.digest AS kept
            FROM collided AS c
            LEFT JOIN (SELECT source, type, subject, id, digest FROM raw_events FINAL
                       WHERE id IN (SELECT id FROM collided)) AS r
              ON r.source = c.source AND r.type = c.type AND r.subject = c.subject AND r.id = c.id
            ORDER BY source, type, subject, id`,
    query_params: { source: options.source ?? null, limit: options.limit ?? 1000 },
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{
    source: string;
    type: string;
    subject: string;
    id: string;
    digests: string[];
    first_seen: string;
    last_seen: string;
    kept: string;
  }>();
  return rows.map((r) => ({
    source: r.source,
    type: r.type,
    subject: r.subject,
    id: r.id,
    digests: r.digests,
    kept: r.kept,
    firstSeen: new Date(toIso(r.first_seen)).toISOString(),
    lastSeen: new Date(toIso(r.last_seen)).toISOString(),
  }));
}

/** Collisions as data-quality notes: per source and entity type, the number of ids, the latest noticed as example. */
async function collisionNotes(store: Store, source: string | undefined): Promise<DataQualityRow[]> {
  const rs = await store.client.query({
    query: `SELECT source, type, count() AS ids, toString(max(last)) AS last_seen, argMax(id, (last, id)) AS example
            FROM (SELECT source, type, id, max(last_seen) AS last
                  FROM raw_event_collisions
                  WHERE {source:Nullable(String)} IS NULL OR source = {source:Nullable(String)}
                  GROUP BY source, type, subject, id
                  HAVING length(groupUniqArrayArray(digests)) > 1)
            GROUP BY source, type`,
    query_params: { source: source ?? null },
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ source: string; type: string; ids: string; last_seen: string; example: string }>();
  return rows.map((r) => ({
    source: r.source,
    entity: entityOfType(r.type),
    field: COLLISION_FIELD,
    problem: COLLISION_PROBLEM,
    notes: Number(r.ids),
    lastSeen: new Date(toIso(r.last_seen)).toISOString(),
    exampleEventId: r.example,
  }));
}
