import type { Store } from '../../infra/store/client.js';

/** The columns every link table has for the run that wrote a row; they take no part in comparing rows. */
const STAMP = new Set(['linked_at', 'version', 'is_deleted']);

const INSERT_CHUNK = 20_000;

type Kind = 'time' | 'int' | 'other';

interface Column {
  name: string;
  kind: Kind;
}

/** A column value as text: link tables hold strings and numbers; anything else is compared as JSON. */
const text = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : JSON.stringify(v);

/** ClickHouse prints DateTime64 as 'YYYY-MM-DD hh:mm:ss.sss' (UTC here); rows carry ISO strings. */
const toMs = (v: unknown): number | null => {
  if (v === null || v === undefined) return null;
  const s = text(v);
  return Date.parse(s.includes('T') ? s : `${s.replace(' ', 'T')}Z`);
};

function kindOf(type: string): Kind {
  const t = type.replace(/^(Nullable|LowCardinality)\((.*)\)$/, '$2').replace(/^Nullable\((.*)\)$/, '$1');
  if (t.startsWith('DateTime')) return 'time';
  if (/^U?Int\d+$/.test(t)) return 'int';
  return 'other';
}

export interface SyncResult {
  written: number;
  retracted: number;
}

/**
 * The part of a table a sync covers: live rows matching `where` (with `params`) and, when given,
 * `includes` (over the row's values by column name); rows outside it are left as they are.
 */
export interface SyncScope {
  where: string;
  params: Record<string, unknown>;
  includes?: (row: Record<string, unknown>) => boolean;
}

const columnsCache = new WeakMap<Store, Map<string, Column[]>>();

/** A table's columns without the run's stamp, read once per store. */
async function columnsOf(store: Store, table: string): Promise<Column[]> {
  let tables = columnsCache.get(store);
  if (tables === undefined) columnsCache.set(store, (tables = new Map<string, Column[]>()));
  const known = tables.get(table);
  if (known !== undefined) return known;
  const describe = await store.client.query({ query: `DESCRIBE TABLE ${table}`, format: 'JSONEachRow' });
  const columns = (await describe.json<{ name: string; type: string }>())
    .filter((c) => !STAMP.has(c.name))
    .map((c) => ({ name: c.name, kind: kindOf(c.type) }));
  tables.set(table, columns);
  return columns;
}

/**
 * Makes a link table hold exactly `rows`, writing only what changed: rows that are new or differ from
 * the live row with the same key get this run's stamp, and live rows whose key is no longer produced
 * get a deletion row. A run over unchanged facts therefore reads the table and writes nothing.
 */
export async function syncTable(
  store: Store,
  table: string,
  keyColumns: string[],
  rows: Array<Record<string, unknown>>,
  stamp: { linked_at: string; version: number },
  scope?: SyncScope,
): Promise<SyncResult> {
  const columns = await columnsOf(store, table);
  // Rows are compared as strings built from their values in column order: times as epoch ms, integers
  // as numbers (ClickHouse quotes 64-bit ones), nulls as a marker no value contains.
  const norm = columns.map(({ kind }) =>
    kind === 'time'
      ? (v: unknown) => String(toMs(v))
      : kind === 'int'
        ? (v: unknown) => (v === null || v === undefined ? '\u0002' : String(Number(v)))
        : (v: unknown) => (v === null || v === undefined ? '\u0002' : text(v)),
  );
  const keyIndexes = keyColumns.map((k) => {
    const i = columns.findIndex((c) => c.name === k);
    if (i < 0) throw new Error(`${table} has no column ${k}`);
    return i;
  });
  // join() gives flat strings; strings built with += stay ropes that every Map lookup must flatten again.
  const canonical = (values: unknown[]): string => values.map((v, i) => norm[i]!(v)).join('\u0001');
  const keyOf = (values: unknown[]): string => keyIndexes.map((i) => text(values[i] ?? '')).join('\u0001');

  // Compact rows (arrays in column order) parse much faster than objects; they are read as a stream, so
  // only the canonical strings of the live rows stay in memory.
  const rs = await store.client.query({
    query: `SELECT ${columns.map((c) => `\`${c.name}\``).join(', ')} FROM ${table} FINAL WHERE ${scope?.where ?? '1'}`,
    query_params: scope?.params ?? {},
    format: 'JSONCompactEachRow',
  });
  const includes = scope?.includes;
  const live = new Map<string, { canon: string; values: unknown[] }>();
  for await (const batch of rs.stream<unknown[]>()) {
    for (const row of batch) {
      const values = row.json<unknown[]>();
      if (includes !== undefined && !includes(Object.fromEntries(columns.map((c, i) => [c.name, values[i]])))) continue;
      live.set(keyOf(values), { canon: canonical(values), values });
    }
  }

  const changed: Array<Record<string, unknown>> = [];
  const produced = new Set<string>();
  for (const row of rows) {
    const values = columns.map((c) => row[c.name]);
    const key = keyOf(values);
    produced.add(key);
    if (live.get(key)?.canon !== canonical(values)) changed.push({ ...row, ...stamp, is_deleted: 0 });
  }
  const gone: Array<Record<string, unknown>> = [];
  for (const [key, { values }] of live) {
    if (produced.has(key)) continue;
    const back: Record<string, unknown> = {};
    columns.forEach(({ name, kind }, i) => {
      const v = values[i];
      back[name] = kind === 'time' && v !== null && v !== undefined ? new Date(toMs(v)!).toISOString() : v;
    });
    gone.push({ ...back, ...stamp, is_deleted: 1 });
  }
  const out = [...changed, ...gone];
  for (let i = 0; i < out.length; i += INSERT_CHUNK) {
    await store.client.insert({ table, values: out.slice(i, i + INSERT_CHUNK), format: 'JSONEachRow' });
  }
  return { written: changed.length, retracted: gone.length };
}
