import type { RegisterColumn, RegisterRow } from '../registers/types.js';
import { toCsv } from './csv.js';

/** A register's rows as CSV: its key and every column, lists space-separated, flags true or false. */
export function registerCsv(columns: readonly RegisterColumn[], rows: readonly RegisterRow[]): string {
  const keys = ['key', ...columns.map((c) => c.key)];
  return toCsv(
    keys,
    rows.map((row) =>
      Object.fromEntries(
        keys.map((k) => {
          const v = row[k];
          return [k, Array.isArray(v) ? v.join(' ') : typeof v === 'boolean' ? String(v) : (v ?? null)];
        }),
      ),
    ),
  );
}
