import type { Store } from '../../infra/store/client.js';
import type { MetricParams } from '../metrics/types.js';
import { readRegister, REGISTERS } from './index.js';

export interface RegisterSnapshotResult {
  /** Rows written per register. */
  rows: Record<string, number>;
  /** Rows an earlier run listed and this one no longer does, per register. */
  removed: Record<string, number>;
  /** Each register in a few words (its headline), in the registers' order. */
  headlines: string[];
}

const instant = (at: Date): string => at.toISOString().replace('T', ' ').replace('Z', '');

/**
 * Takes every register at `now` and writes it to register_rows for the dashboards: each row with its
 * place, its common columns and colour (the register's `board`) and the whole row as JSON; then a
 * deletion row for each row an earlier run listed that this one does not.
 */
export async function writeRegisterSnapshot(
  store: Store,
  options: { params: MetricParams; now: Date; recentDays: number },
): Promise<RegisterSnapshotResult> {
  const version = options.now.getTime() * 1000;
  const computedAt = instant(options.now);
  const result: RegisterSnapshotResult = { rows: {}, removed: {}, headlines: [] };
  for (const definition of REGISTERS) {
    const register = await readRegister(store, definition, { params: options.params, asOf: options.now, recentDays: options.recentDays });
    const values = register.rows.map((row, i) => {
      const b = definition.board(row);
      return {
        register: definition.id,
        row_key: String(row['key']),
        position: i + 1,
        program: typeof row['program'] === 'string' ? row['program'] : '',
        team: typeof row['team'] === 'string' ? row['team'] : '',
        ...b,
        url: typeof row['url'] === 'string' ? row['url'] : '',
        fields: JSON.stringify(row),
        computed_at: computedAt,
        version,
        is_deleted: 0,
      };
    });
    if (values.length > 0) await store.client.insert({ table: 'register_rows', values, format: 'JSONEachRow' });
    const rs = await store.client.query({
      query: `SELECT row_key FROM register_rows FINAL WHERE register = {register:String} AND version < {version:UInt64}`,
      query_params: { register: definition.id, version },
      format: 'JSONEachRow',
    });
    const gone = (await rs.json<{ row_key: string }>()).map((r) => r.row_key);
    if (gone.length > 0) {
      await store.client.insert({
        table: 'register_rows',
        values: gone.map((row_key) => ({
          register: definition.id,
          row_key,
          position: 0,
          fields: '{}',
          computed_at: computedAt,
          version: version + 1,
          is_deleted: 1,
        })),
        format: 'JSONEachRow',
      });
    }
    result.rows[definition.id] = values.length;
    result.removed[definition.id] = gone.length;
    result.headlines.push(definition.headline(register.rows));
  }
  return result;
}
