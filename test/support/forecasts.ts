import type { Store } from '../../infra/store/client.js';
import { queryRows } from './harness.js';

/** How many forecast rows the store holds (every run, every milestone). */
export async function forecastRowCount(store: Store): Promise<number> {
  const [row] = await queryRows<{ n: string }>(store, 'SELECT count() AS n FROM milestone_forecasts');
  return Number(row?.n ?? 0);
}

/** The calibration a backtest run at `at` stored, every basis together, by scope. */
export function storedCalibration(
  store: Store,
  at: Date,
): Promise<Array<{ scope_id: string; basis: string; forecasts: number; unresolved: number }>> {
  return queryRows(
    store,
    `SELECT scope_id, toString(basis) AS basis, forecasts, unresolved FROM forecast_calibration
     WHERE run_at = {at:DateTime64(3)} AND basis = '' ORDER BY scope_kind, scope_id`,
    { at: at.getTime() / 1000 },
  );
}
