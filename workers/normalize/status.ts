import type { Store } from '../../infra/store/client.js';

/** Stored raw events of one source and type. */
export interface StoredEvents {
  source: string;
  type: string;
  events: number;
  entities: number;
  /** The latest event time, ISO 8601 UTC, or '' when none. */
  latest: string;
}

/**
 * What raw_events holds per source and type. With `asOf`, only what had been ingested by then: the
 * store as it stood at that instant.
 */
export async function storedEvents(store: Store, options: { asOf?: Date } = {}): Promise<StoredEvents[]> {
  const rs = await store.client.query({
    query: `SELECT source, type, count() AS events, uniqExact(subject) AS entities, toString(max(time)) AS latest
            FROM raw_events FINAL
            WHERE {as_of:Nullable(DateTime64(3, 'UTC'))} IS NULL OR ingest_time <= {as_of:Nullable(DateTime64(3, 'UTC'))}
            GROUP BY source, type ORDER BY source, type`,
    query_params: { as_of: options.asOf === undefined ? null : options.asOf.getTime() / 1000 },
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ source: string; type: string; events: string; entities: string; latest: string }>();
  return rows.map((r) => ({ source: r.source, type: r.type, events: Number(r.events), entities: Number(r.entities), latest: r.latest }));
}

/** The connector the demo organisation's events are published under (raw_events.connector). */
export const DEMO_CONNECTOR = 'demo';

/** Stored raw events counted by the connector that produced them (the demo's under DEMO_CONNECTOR), now or as of `asOf`. */
export async function eventsByConnector(
  store: Store,
  options: { asOf?: Date } = {},
): Promise<Array<{ connector: string; events: number }>> {
  const rs = await store.client.query({
    query: `SELECT connector, count() AS events FROM raw_events FINAL
            WHERE {as_of:Nullable(DateTime64(3, 'UTC'))} IS NULL OR ingest_time <= {as_of:Nullable(DateTime64(3, 'UTC'))}
            GROUP BY connector ORDER BY connector`,
    query_params: { as_of: options.asOf === undefined ? null : options.asOf.getTime() / 1000 },
    format: 'JSONEachRow',
  });
  return (await rs.json<{ connector: string; events: string }>()).map((r) => ({ connector: r.connector, events: Number(r.events) }));
}

/** Dead letters counted by reason code, most frequent first. */
export async function deadLetterCounts(store: Store, options: { asOf?: Date } = {}): Promise<Array<{ code: string; count: number }>> {
  const rs = await store.client.query({
    query: `SELECT reason_code, count() AS n FROM dead_letters FINAL
            WHERE {as_of:Nullable(DateTime64(3, 'UTC'))} IS NULL OR failed_at <= {as_of:Nullable(DateTime64(3, 'UTC'))}
            GROUP BY reason_code ORDER BY n DESC, reason_code`,
    query_params: { as_of: options.asOf === undefined ? null : options.asOf.getTime() / 1000 },
    format: 'JSONEachRow',
  });
  return (await rs.json<{ reason_code: string; n: string }>()).map((r) => ({ code: r.reason_code, count: Number(r.n) }));
}

export interface DeadLetter {
  failedAt: string;
  topic: string;
  partition: number;
  offset: string;
  code: string;
  reason: string;
}

/** The latest dead letters, newest first. */
export async function latestDeadLetters(store: Store, limit: number): Promise<DeadLetter[]> {
  const rs = await store.client.query({
    query: `SELECT toString(failed_at) AS failed_at, topic, bus_partition, toString(bus_offset) AS bus_offset, reason_code, reason
            FROM dead_letters FINAL ORDER BY failed_at DESC LIMIT {limit:UInt32}`,
    query_params: { limit },
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{
    failed_at: string;
    topic: string;
    bus_partition: number | string;
    bus_offset: string;
    reason_code: string;
    reason: string;
  }>();
  return rows.map((r) => ({
    failedAt: r.failed_at,
    topic: r.topic,
    partition: Number(r.bus_partition),
    offset: r.bus_offset,
    code: r.reason_code,
    reason: r.reason,
  }));
}
