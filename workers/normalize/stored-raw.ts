import type { BusMessage } from '../../infra/bus/types.js';
import type { Store } from '../../infra/store/client.js';
import type { RawEvent } from '../../schemas/raw-event.js';

/** What raw_events keeps one row under (after merges): source, type, subject and id. */
export interface RawKey {
  source: string;
  type: string;
  subject: string;
  id: string;
}

/** A raw key as one string, for maps. */
export const rawKey = (k: RawKey): string => `${k.source}\u0000${k.type}\u0000${k.subject}\u0000${k.id}`;

/** A raw_events row as a query returns it. */
export interface RawRow {
  id: string;
  source: string;
  type: string;
  subject: string;
  entity_version: string;
  time: string;
  partition_key: string;
  connector: string;
  ingest_time: string;
  data: string;
  topic: string;
  bus_partition: number;
  bus_offset: string;
}

/** The raw_events columns a RawRow holds, for SELECT lists. */
export const RAW_COLUMNS =
  'id, source, type, subject, entity_version, time, partition_key, connector, ingest_time, data, topic, bus_partition, bus_offset';

/** ClickHouse prints DateTime64 as 'YYYY-MM-DD hh:mm:ss.sss' in UTC. */
export function toIso(chTime: string): string {
  return chTime.includes('T') ? chTime : `${chTime.replace(' ', 'T')}Z`;
}

/** A stored event as the bus message it arrived in (same topic, partition and offset). */
export function rawRowMessage(row: RawRow): BusMessage {
  const event: RawEvent = {
    specversion: '1.0',
    id: row.id,
    source: row.source as RawEvent['source'],
    type: row.type,
    subject: row.subject,
    time: toIso(row.time),
    datacontenttype: 'application/json',
    entityversion: row.entity_version,
    partitionkey: row.partition_key,
    connector: row.connector,
    ingesttime: toIso(row.ingest_time),
    data: JSON.parse(row.data) as RawEvent['data'],
  };
  return {
    topic: row.topic,
    partition: Number(row.bus_partition),
    offset: String(row.bus_offset),
    key: Buffer.from(row.partition_key),
    value: Buffer.from(JSON.stringify(event)),
    headers: {},
    timestamp: Date.parse(toIso(row.ingest_time)),
  };
}

/** The filter on raw_events' key columns that covers `keys` (each column by itself; rows are matched exactly afterwards). */
function keyFilter(keys: readonly RawKey[]): { where: string; params: Record<string, unknown> } {
  const distinct = (f: (k: RawKey) => string): string[] => [...new Set(keys.map(f))];
  return {
    // Column by column, so the primary key (source, type, subject, id) narrows what is read.
    where: `source IN {k_sources:Array(String)} AND type IN {k_types:Array(String)}
            AND subject IN {k_subjects:Array(String)} AND id IN {k_ids:Array(String)}`,
    params: {
      k_sources: distinct((k) => k.source),
      k_types: distinct((k) => k.type),
      k_subjects: distinct((k) => k.subject),
      k_ids: distinct((k) => k.id),
    },
  };
}

/**
 * The digests of every payload raw_events physically holds under each of `keys` (unmerged rows
 * included, FINAL not applied), by rawKey. Keys with nothing stored are absent.
 */
export async function storedDigests(store: Store, keys: readonly RawKey[]): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  if (keys.length === 0) return out;
  const wanted = new Set(keys.map(rawKey));
  const { where, params } = keyFilter(keys);
  const rs = await store.client.query({
    query: `SELECT source, type, subject, id, groupUniqArray(digest) AS digests
            FROM raw_events WHERE ${where}
            GROUP BY source, type, subject, id`,
    query_params: params,
    format: 'JSONEachRow',
  });
  for (const r of await rs.json<RawKey & { digests: string[] }>()) {
    const k = rawKey(r);
    if (wanted.has(k)) out.set(k, new Set(r.digests));
  }
  return out;
}

/** The stored raw events with the given payload digests, one row per key and digest (in any order). */
export async function storedPayloads(
  store: Store,
  wanted: ReadonlyArray<RawKey & { digest: string }>,
): Promise<Array<RawRow & { digest: string }>> {
  if (wanted.length === 0) return [];
  const exact = new Set(wanted.map((w) => `${rawKey(w)}\u0000${w.digest}`));
  const { where, params } = keyFilter(wanted);
  const rs = await store.client.query({
    query: `SELECT ${RAW_COLUMNS}, digest FROM raw_events
            WHERE ${where} AND digest IN {k_digests:Array(String)}
            LIMIT 1 BY source, type, subject, id, digest`,
    query_params: { ...params, k_digests: [...new Set(wanted.map((w) => w.digest))] },
    format: 'JSONEachRow',
  });
  const rows = await rs.json<RawRow & { digest: string }>();
  return rows.filter((r) => exact.has(`${rawKey(r)}\u0000${r.digest}`));
}
