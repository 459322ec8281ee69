import { runForecasts, type StoredForecast } from '../workers/forecast/job.js';
import { recordedRun } from './job-runs.js';
import type { Runtime } from './runtime.js';

/** What a forecast run did, in a line: how many milestones have a number, and how many are off track or at risk. */
export function describeForecasts(rows: StoredForecast[]): string {
  if (rows.length === 0) return 'no open milestone to forecast';
  const withNumber = rows.filter((r) => r.ok);
  const band = (b: string): number => withNumber.filter((r) => r.band === b).length;
  return (
    `${withNumber.length} of ${rows.length} open milestones forecast` +
    (withNumber.length > 0 ? ` (${band('off track')} off track, ${band('at risk')} at risk, ${band('on track')} on track)` : '')
  );
}

/** Forecasts every open milestone at the clock's instant and stores the run; recorded as a run of `forecasts`. */
export function forecastsNow(rt: Pick<Runtime, 'store' | 'config' | 'clock' | 'logger'>): Promise<StoredForecast[]> {
  return recordedRun(rt, 'forecasts', () => runForecasts(rt.store, rt.config, rt.clock.date()), describeForecasts);
}
