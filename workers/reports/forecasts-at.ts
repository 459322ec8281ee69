import type { Store } from '../../infra/store/client.js';
import { planForecasts, readForecasts, storedOf, type ForecastConfig, type StoredForecast } from '../forecast/job.js';

/**
 * The forecasts as of an instant, for a report of that instant: those of the latest forecast run stored at
 * or before it, or, when no run had been stored by then (a fresh store, a week before the first run), the
 * forecasts computed as of the instant from the store as it stood then: the numbers a run at that instant
 * would have stored, written nowhere.
 */

/** Where forecasts come from: a stored run, or computed as of the instant. */
export interface ForecastSource {
  kind: 'run' | 'computed';
  /** The run's instant, or the instant computed as of (ISO 8601). */
  at: string;
}

export interface ForecastFilter {
  program?: string;
  team?: string;
}

const matches = (f: StoredForecast, filter: ForecastFilter): boolean =>
  (filter.program === undefined || f.program === filter.program) && (filter.team === undefined || f.team === filter.team);

/** Soonest committed date first (none last), then by name, source and id: the order readForecasts gives. */
function byCommitted(a: StoredForecast, b: StoredForecast): number {
  const x = [a.committed === null ? '1' : '0', a.committed ?? '', a.name, a.source, a.milestoneId];
  const y = [b.committed === null ? '1' : '0', b.committed ?? '', b.name, b.source, b.milestoneId];
  const i = x.findIndex((v, n) => v !== y[n]);
  return i < 0 ? 0 : x[i]! < y[i]! ? -1 : 1;
}

/**
 * Every milestone open at `at` forecast as of it (planForecasts, which reads only what the store held
 * then), as a run at `at` stores it, narrowed to a program or team; nothing is written. The same store
 * and settings give the same numbers whenever it is asked.
 */
export async function computedForecasts(
  store: Store,
  config: ForecastConfig,
  at: Date,
  filter: ForecastFilter = {},
): Promise<{ runAt: string; forecasts: StoredForecast[] }> {
  if (!Number.isFinite(at.getTime())) throw new RangeError('forecasts: as of is not an instant');
  const planned = await planForecasts(store, config, at);
  const forecasts = planned
    .map((p) => storedOf(at, p))
    .filter((f) => matches(f, filter))
    .sort(byCommitted);
  return { runAt: at.toISOString(), forecasts };
}

/**
 * One program's (or team's) forecasts as of an instant: the latest run stored at or before it, else
 * computed as of it. A later reading of the same instant finds no run stored by then either (a run is
 * stored at its own instant), so it computes the same numbers.
 */
export async function forecastsAt(
  store: Store,
  config: ForecastConfig,
  at: Date,
  filter: ForecastFilter = {},
): Promise<{ forecasts: StoredForecast[]; source: ForecastSource }> {
  const stored = await readForecasts(store, { asOf: at });
  if (stored.runAt !== null)
    return { forecasts: stored.forecasts.filter((f) => matches(f, filter)), source: { kind: 'run', at: stored.runAt } };
  const computed = await computedForecasts(store, config, at, filter);
  return { forecasts: computed.forecasts, source: { kind: 'computed', at: computed.runAt } };
}
