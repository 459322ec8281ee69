import { addDays, today } from '../metrics/engine.js';
import type { StoredForecast } from './job.js';
import type { Day, ForecastBand } from './types.js';

/**
 * Program confidence (docs/metrics.md item 23): a program's milestones' confidence rolled up by a stated
 * rule. The rule: the lowest confidence (P(done by the committed date)) among the program's open
 * milestones due within the next `days` days (default 90, a quarter) of `now`, an overdue one included
 * (it is still due, and its confidence is 0); the milestone with that confidence sets it (the soonest
 * due among equals). A milestone due then with no number (too little history) cannot set it and is
 * counted apart; a program with no milestone due then with a number has no confidence.
 */

export type ForecastOfProgram = Pick<
  StoredForecast,
  'source' | 'milestoneId' | 'name' | 'program' | 'committed' | 'confidence' | 'band' | 'ok'
>;

export interface ProgramConfidence {
  program: string;
  /** The lowest confidence among the milestones due by `dueBy`, null when none has a number. */
  confidence: number | null;
  band: ForecastBand | null;
  /** The milestone that sets it. */
  setBy: { source: string; milestoneId: string; name: string; committed: Day } | null;
  /** Milestones due by `dueBy` with a number, and without one. */
  due: number;
  dueWithoutNumber: number;
  /** The last day of the window: milestones committed on or before it count. */
  dueBy: Day;
  /** The rule, in a sentence. */
  rule: string;
}

export interface ProgramConfidenceOptions {
  now: Date;
  /** The window's length in days (default 90). */
  days?: number;
  /** The time zone whose calendar day `now` falls on (default UTC). */
  timeZone?: string;
}

/** Each program's confidence, programs in order of id. Throws a RangeError for a window that is not a whole number of days above 0. */
export function programConfidence(forecasts: readonly ForecastOfProgram[], options: ProgramConfidenceOptions): ProgramConfidence[] {
  const days = options.days ?? 90;
  if (!Number.isInteger(days) || days < 1)
    throw new RangeError(`program confidence: a window of ${days} days; expected a whole number of 1 or more`);
  if (!Number.isFinite(options.now.getTime())) throw new RangeError('program confidence: now is not an instant');
  const dueBy = addDays(today(options.timeZone ?? 'UTC', options.now), days);
  const rule = `lowest confidence among its open milestones due by ${dueBy} (the next ${days} days, overdue ones included)`;
  const programs = [...new Set(forecasts.map((f) => f.program))].sort();
  return programs.map((program) => {
    const due = forecasts.filter((f) => f.program === program && f.committed !== null && f.committed <= dueBy);
    const scored = due.filter((f) => f.ok && f.confidence !== null);
    let low: ForecastOfProgram | undefined;
    for (const f of scored) {
      if (
        low === undefined ||
        f.confidence! < low.confidence! ||
        (f.confidence === low.confidence && (f.committed! < low.committed! || (f.committed === low.committed && f.name < low.name)))
      )
        low = f;
    }
    return {
      program,
      confidence: low?.confidence ?? null,
      band: low?.band ?? null,
      setBy: low === undefined ? null : { source: low.source, milestoneId: low.milestoneId, name: low.name, committed: low.committed! },
      due: scored.length,
      dueWithoutNumber: due.length - scored.length,
      dueBy,
      rule,
    };
  });
}
