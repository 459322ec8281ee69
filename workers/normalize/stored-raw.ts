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

/**
 * Most characters the values of one look-up's parameter may add up to. A ClickHouse server reads each
 * query parameter as a field of the request and refuses one over `http_max_field_value_size` (128 KiB
 * by default: "HTML Form Exception: Field value too long"); the in-process engine has no such limit.
 */
export const LOOKUP_PARAM_CHARS = 48_000;

/**
 * `keys` in consecutive parts whose values (subjects, ids, and `extra` of each, such as a digest) add up
 * to at most `limit` characters in any one parameter of a look-up, so that one look-up per part stays
 * within what a server takes, however large the batch.
 */
export function lookupParts<K extends RawKey>(keys: readonly K[], extra: (k: K) => string = () => '', limit = LOOKUP_PARAM_CHARS): K[][] {
  const parts: K[][] = [];
  let part: K[] = [];
  let size = { subject: 0, id: 0, extra: 0 };
  // Each value is written quoted and comma-separated in its parameter: a few characters more than its own.
  const cost = (v: string): number => v.length + 4;
  for (const k of keys) {
    const next = { subject: size.subject + cost(k.subject), id: size.id + cost(k.id), extra: size.extra + cost(extra(k)) };
    if (part.length > 0 && Math.max(next.subject, next.id, next.extra) > limit) {
      parts.push(part);
      part = [];
      size = { subject: cost(k.subject), id: cost(k.id), extra: cost(extra(k)) };
    } else {
      size = next;
    }
    part.push(k);
  }
  if (part.length > 0) parts.push(part);
  return parts;
}

/**
 * Most characters the parameters of one look-up may add up to. A server reads them from the request's
 * URI, which it refuses over `http_max_uri_size` (1 MiB by default) once quoted and escaped.
 */
export const LOOKUP_QUERY_CHARS = 8 * LOOKUP_PARAM_CHARS;

/**
 * `keys` grouped into look-ups: the parts of lookupParts (one parameter each, within what a server
 * takes), as many to a look-up as its ids and `extra` values stay within `limit` characters. A batch
 * of a few thousand keys is one look-up, so raw_events is read once instead of once per part.
 */
export function lookupGroups<K extends RawKey>(
  keys: readonly K[],
  extra: (k: K) => string = () => '',
  limit = LOOKUP_QUERY_CHARS,
): K[][][] {
  const groups: K[][][] = [];
  let group: K[][] = [];
  let size = 0;
  for (const part of lookupParts(keys, extra)) {
    const chars = part.reduce((n, k) => n + k.id.length + extra(k).length + 8, 0);
    if (group.length > 0 && size + chars > limit) {
      groups.push(group);
      group = [];
      size = 0;
    }
    group.push(part);
    size += chars;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/** A filter on `column` that holds each value of `parts`, one Array(String) parameter per part named `name`_i. */
function anyOf(column: string, name: string, parts: ReadonlyArray<readonly string[]>): { where: string; params: Record<string, string[]> } {
  const params: Record<string, string[]> = {};
  parts.forEach((values, i) => (params[`${name}_${i}`] = [...new Set(values)]));
  return {
    where: `(${Object.keys(params)
      .map((p) => `${column} IN {${p}:Array(String)}`)
      .join(' OR ')})`,
    params,
  };
}

/**
 * Most characters the subjects of one look-up may take in its request's URI, counted as if every
 * character were percent-encoded: beside the ids (LOOKUP_QUERY_CHARS, encoded), within the 1 MiB a
 * server takes.
 */
export const LOOKUP_SUBJECT_URI_CHARS = 320_000;

/**
 * The filter on raw_events that covers the keys of `parts` (rows are matched exactly afterwards): by
 * source, type and id, and by subject where the subjects fit beside the ids in one request
 * (LOOKUP_SUBJECT_URI_CHARS). The id is a digest of the whole key, so it alone narrows the rows
 * matched to the keys' own; but raw_events is ordered by source, type, subject and id, so only the
 * subjects let the primary key skip the granules that hold none of the keys: with them a look-up
 * reads about as many rows as its batch holds, without them raw_events' whole id column. Each part's
 * ids and subjects are one parameter each.
 */
function keyFilter(parts: ReadonlyArray<readonly RawKey[]>): { where: string; params: Record<string, unknown> } {
  const keys = parts.flat();
  const distinct = (f: (k: RawKey) => string): string[] => [...new Set(keys.map(f))];
  const ids = anyOf(
    'id',
    'k_ids',
    parts.map((part) => part.map((k) => k.id)),
  );
  const where = `source IN {k_sources:Array(String)} AND type IN {k_types:Array(String)} AND ${ids.where}`;
  const params = { k_sources: distinct((k) => k.source), k_types: distinct((k) => k.type), ...ids.params };
  const subjectChars = distinct((k) => k.subject).reduce((n, v) => n + 3 * v.length + 12, 0);
  if (subjectChars > LOOKUP_SUBJECT_URI_CHARS) return { where, params };
  const subjects = anyOf(
    'subject',
    'k_subjects',
    parts.map((part) => part.map((k) => k.subject)),
  );
  return { where: `${where} AND ${subjects.where}`, params: { ...params, ...subjects.params } };
}

/**
 * The digests of every payload raw_events physically holds under each of `keys` (unmerged rows
 * included, FINAL not applied), by rawKey. Keys with nothing stored are absent.
 *
 * Look-ups asked of one store in the same turn of the event loop (the batches of several partitions,
 * handled side by side, look up at about the same moment) share their queries: each query reads
 * raw_events' key columns whatever the number of keys, so one query for all of them costs about what
 * one of them did. Every query is sent after the calls it answers were made, so it sees every row
 * written before any of them; each caller gets the digests of its own keys only.
 */
export function storedDigests(store: Store, keys: readonly RawKey[]): Promise<Map<string, Set<string>>> {
  if (keys.length === 0) return Promise.resolve(new Map<string, Set<string>>());
  let queue = lookupQueues.get(store);
  if (queue === undefined) {
    const fresh: LookupQueue = { keys: new Map(), waiters: [] };
    lookupQueues.set(store, fresh);
    queue = fresh;
    setImmediate(() => {
      lookupQueues.delete(store);
      queryDigests(store, [...fresh.keys.values()]).then(
        (found) => {
          for (const w of fresh.waiters) w.resolve(found);
        },
        (err: unknown) => {
          for (const w of fresh.waiters) w.reject(err);
        },
      );
    });
  }
  for (const k of keys) queue.keys.set(rawKey(k), k);
  const shared = queue;
  return new Promise<Map<string, Set<string>>>((resolve, reject) => shared.waiters.push({ resolve, reject })).then((found) => {
    const out = new Map<string, Set<string>>();
    for (const k of keys) {
      const key = rawKey(k);
      const digests = found.get(key);
      if (digests !== undefined) out.set(key, new Set(digests));
    }
    return out;
  });
}

/** The keys asked of one store in the current turn of the event loop, and who waits for them. */
interface LookupQueue {
  keys: Map<string, RawKey>;
  waiters: Array<{ resolve: (found: Map<string, Set<string>>) => void; reject: (err: unknown) => void }>;
}

const lookupQueues = new WeakMap<Store, LookupQueue>();

/** storedDigests's queries: lookupGroups of the keys, one query each. */
async function queryDigests(store: Store, keys: readonly RawKey[]): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  const wanted = new Set(keys.map(rawKey));
  // A key's rows all come back in the look-up holding it: its digests are grouped in one row.
  for (const group of lookupGroups(keys)) {
    const { where, params } = keyFilter(group);
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
  }
  return out;
}

/** The stored raw events with the given payload digests, one row per key and digest (in any order). */
export async function storedPayloads(
  store: Store,
  wanted: ReadonlyArray<RawKey & { digest: string }>,
): Promise<Array<RawRow & { digest: string }>> {
  const exact = new Set(wanted.map((w) => `${rawKey(w)}\u0000${w.digest}`));
  const out: Array<RawRow & { digest: string }> = [];
  // One row per key and digest of each look-up (a pair listed in two look-ups comes back from each).
  for (const group of lookupGroups(wanted, (w) => w.digest)) {
    const { where, params } = keyFilter(group);
    const digests = anyOf(
      'digest',
      'k_digests',
      group.map((part) => part.map((w) => w.digest)),
    );
    const rs = await store.client.query({
      query: `SELECT ${RAW_COLUMNS}, digest FROM raw_events
              WHERE ${where} AND ${digests.where}
              LIMIT 1 BY source, type, subject, id, digest`,
      query_params: { ...params, ...digests.params },
      format: 'JSONEachRow',
    });
    for (const r of await rs.json<RawRow & { digest: string }>()) if (exact.has(`${rawKey(r)}\u0000${r.digest}`)) out.push(r);
  }
  return out;
}
