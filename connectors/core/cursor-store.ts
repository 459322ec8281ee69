import { systemClock, type Clock } from '../../infra/clock.js';
import type { Store } from '../../infra/store/client.js';
import type { Cursor } from './types.js';

export interface CursorKey {
  source: string;
  stream: string;
  scope: string;
}

export interface CursorStore {
  get(key: CursorKey): Promise<Cursor | undefined>;
  set(key: CursorKey, cursor: Cursor): Promise<void>;
}

/** Cursors in ClickHouse (sync_cursors), so both run modes keep them where the data is. */
export function clickhouseCursorStore(store: Store, clock: Clock = systemClock): CursorStore {
  let last = 0;
  return {
    async get(key) {
      const rs = await store.client.query({
        query: `SELECT cursor FROM sync_cursors FINAL
                WHERE source = {source:String} AND stream = {stream:String} AND scope = {scope:String}`,
        query_params: { ...key },
        format: 'JSONEachRow',
      });
      const rows = await rs.json<{ cursor: string }>();
      return rows[0] === undefined ? undefined : (JSON.parse(rows[0].cursor) as Cursor);
    },
    async set(key, cursor) {
      // Strictly increasing versions, so two saves within one millisecond still replace in order.
      last = Math.max(clock.now(), last + 1);
      await store.client.insert({
        table: 'sync_cursors',
        values: [{ ...key, cursor: JSON.stringify(cursor), updated_at: new Date(last).toISOString() }],
        format: 'JSONEachRow',
      });
    },
  };
}

/** Cursors in this process only: for measuring a source on its own, where the cursor table is beside the point. */
export function memoryCursorStore(): CursorStore {
  const saved = new Map<string, Cursor>();
  const k = (key: CursorKey): string => `${key.source}\u0000${key.stream}\u0000${key.scope}`;
  return {
    get: (key) => Promise.resolve(saved.get(k(key))),
    set: (key, cursor) => {
      saved.set(k(key), cursor);
      return Promise.resolve();
    },
  };
}
