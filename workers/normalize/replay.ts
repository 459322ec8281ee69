import type { BatchWriter } from '../../infra/store/batch-writer.js';
import type { Store } from '../../infra/store/client.js';
import { normalizeBatch } from './normalizer.js';
import type { MapContext, MapperRegistry } from '../../mapping/registry.js';
import { systemClock, type Clock } from '../../infra/clock.js';
import { RAW_COLUMNS, rawRowMessage, type RawRow } from './stored-raw.js';

export { toIso } from './stored-raw.js';

export interface ReplayFilter {
  source?: string | undefined;
  type?: string | undefined;
  /** Only events whose entity time is at or after this instant. */
  since?: Date | undefined;
}

export interface ReplayResult {
  events: number;
  outcomes: Record<string, number>;
  rows: Record<string, number>;
}

/**
 * Re-normalizes stored RawEvents after a mapping change, with no source and no bus involved: pages
 * through raw_events in key order (bounded memory), maps each event with today's mappers and writes
 * the domain rows. Domain tables replace by key and version, so a replay converges to the same rows
 * live normalization would have written. Where payloads differed under one event id, raw_events keeps
 * the one with the greatest digest, the one live normalization mapped, and that is the one replayed.
 */
export async function replay(options: {
  store: Store;
  writer: BatchWriter;
  registry: MapperRegistry;
  context: MapContext;
  filter?: ReplayFilter;
  pageSize?: number;
  onProgress?: (done: number) => void;
  /** When dead letters failed and data-quality notes were seen; the system clock unless given. */
  clock?: Clock;
}): Promise<ReplayResult> {
  const { store, writer, registry, context } = options;
  const clock = options.clock ?? systemClock;
  const pageSize = options.pageSize ?? 5_000;
  const f = options.filter ?? {};
  const where: string[] = [];
  const params: Record<string, unknown> = { limit: pageSize };
  if (f.source !== undefined) {
    where.push('source = {source:String}');
    params['source'] = f.source;
  }
  if (f.type !== undefined) {
    where.push('type = {type:String}');
    params['type'] = f.type;
  }
  if (f.since !== undefined) {
    where.push('time >= {since:DateTime64(3)}');
    params['since'] = f.since.getTime() / 1000;
  }
  const result: ReplayResult = { events: 0, outcomes: {}, rows: {} };
  let after: [string, string, string, string] | undefined;
  for (;;) {
    const conds = [...where];
    if (after !== undefined) {
      conds.push('(source, type, subject, id) > ({a_source:String}, {a_type:String}, {a_subject:String}, {a_id:String})');
      [params['a_source'], params['a_type'], params['a_subject'], params['a_id']] = after;
    }
    const rs = await store.client.query({
      query: `SELECT ${RAW_COLUMNS}
              FROM raw_events FINAL
              ${conds.length > 0 ? `WHERE ${conds.join(' AND ')}` : ''}
              ORDER BY source, type, subject, id
              LIMIT {limit:UInt32}`,
      query_params: params,
      format: 'JSONEachRow',
    });
    const rows = await rs.json<RawRow>();
    if (rows.length === 0) break;
    const messages = rows.map(rawRowMessage);
    // Notes are counted again: each replay that still cannot read a field says so (and when).
    const { tables, counts } = normalizeBatch(messages, registry, context, { keepRaw: false, failedAt: clock.date().toISOString() });
    await writer.write([...tables].map(([table, r]) => ({ table, rows: r })));
    for (const [table, r] of tables) result.rows[table] = (result.rows[table] ?? 0) + r.length;
    for (const c of counts) result.outcomes[c.outcome] = (result.outcomes[c.outcome] ?? 0) + c.n;
    result.events += rows.length;
    options.onProgress?.(result.events);
    const last = rows[rows.length - 1]!;
    after = [last.source, last.type, last.subject, last.id];
    if (rows.length < pageSize) break;
  }
  await writer.flush();
  return result;
}
