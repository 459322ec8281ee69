import type { Store } from '../../infra/store/client.js';
import { readForecasts, type StoredForecast } from '../forecast/job.js';
import { toCsv, type CsvValue } from './csv.js';
import type { Month } from './month.js';

/**
 * The milestone forecasts an export shows: those of the latest forecast run at or before the instant the
 * month's registers are taken at (its end, or the as-of instant before it), so a run made after the month
 * does not change what the month's export says.
 */
export interface ForecastsAt {
  /** The run's instant (ISO 8601), or null when no run had been stored by then. */
  runAt: string | null;
  forecasts: StoredForecast[];
}

/** The forecasts of the latest run at or before `at`, soonest committed date first. */
export async function forecastsAt(store: Store, at: Date): Promise<ForecastsAt> {
  return readForecasts(store, { asOf: at });
}

/** The columns of forecasts.csv (docs/export.md). */
export const FORECAST_CSV_COLUMNS = [
  'month',
  'run_at',
  'program',
  'team',
  'source',
  'milestone_id',
  'milestone',
  'committed',
  'p50',
  'p85',
  'p95',
  'confidence',
  'band',
  'method',
  'reason',
] as const;

/** forecasts.csv: one record per open milestone of the run, the percentiles empty where there is no number. */
export function forecastCsv(month: Month, at: ForecastsAt): string {
  return toCsv(
    FORECAST_CSV_COLUMNS,
    at.forecasts.map((f): Record<(typeof FORECAST_CSV_COLUMNS)[number], CsvValue> => ({
      month,
      run_at: f.runAt,
      program: f.program,
      team: f.team,
      source: f.source,
      milestone_id: f.milestoneId,
      milestone: f.name,
      committed: f.committed,
      p50: f.p50,
      p85: f.p85,
      p95: f.p95,
      confidence: f.confidence,
      band: f.band,
      method: f.ok ? f.method : null,
      reason: f.ok ? null : f.reason,
    })),
  );
}
