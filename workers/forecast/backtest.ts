import type { Store } from '../../infra/store/client.js';
import { addDays, dayStartInstant, instantParam, today } from '../metrics/engine.js';
import { planForecasts, type ForecastConfig, type PlannedForecast } from './job.js';
import type { Day, ForecastInputs } from './types.js';

/**
 * Forecast backtests and calibration (docs/metrics.md items 21-22).
 *
 * A backtest forecasts every milestone open at each past week start (Monday 00:00 in metrics.timeZone)
 * with planForecasts, which reads only what was known at that instant, and scores each forecast with a
 * number against what happened as known at `now`:
 * - P85 hit: the milestone finished on or before its P85 day (a miss when it finished later, or when the
 *   P85 day has passed by `now` and it has not finished); unknown otherwise, and counted apart. A P85
 *   beyond the horizon is a hit once the milestone finishes.
 * - Brier score: (confidence - done by the committed date)^2, where "done by the committed date" is known
 *   when the milestone finished, or when the committed day has passed without it.
 * - P50 error: the days from the P50 day to the day it finished (above 0: the P50 came too early).
 * A milestone finishes at milestones.completed_at: a version on its release day (the UTC day of
 * completed_at), an epic on the day completed_at falls on in the metrics' time zone.
 *
 * The calibration sums the scores per organisation and per program, for every forecast and per
 * basis ('milestone', 'team share': the throughput's; 'cadence': the peers' finishes), and a run is stored in forecast_calibration, its
 * per-forecast scores in forecast_backtest_scores.
 */

/** What a forecast's dates rest on: its throughput basis, or its cadence. */
export type Basis = ForecastInputs['throughputBasis'] | 'cadence';

export interface BacktestOptions {
  /** The first and last days whose Mondays are week starts (both included). */
  from: Day;
  to: Day;
  /** The instant outcomes are known at; week starts at or after it are left out. */
  now: Date;
  /** Only the milestones of these programs (default: every program). */
  programs?: string[];
}

/** One forecast made as of a week start, and how it turned out. */
export interface ForecastScore {
  /** The week start (a Monday) and its instant. */
  weekStart: Day;
  asOf: string;
  source: string;
  milestoneId: string;
  name: string;
  program: string;
  team: string;
  basis: Basis;
  committed: Day | null;
  p50: Day | null;
  p85: Day | null;
  confidence: number | null;
  /** The day the milestone finished, as known at `now` (null: not finished by then). */
  doneDay: Day | null;
  /** Done by P85 (null: not known yet). */
  p85Hit: boolean | null;
  /** Done by the committed date (null: not known yet, or no committed date). */
  onTime: boolean | null;
  brier: number | null;
  /** doneDay - P50 in days (null: not finished, or no P50 within the horizon). */
  p50ErrorDays: number | null;
}

/** The calibration of a scope's forecasts, over every forecast (basis '') or one throughput basis. */
export interface Calibration {
  scopeKind: 'org' | 'program';
  /** 'org' for the organisation, else the program's id. */
  scopeId: string;
  basis: Basis | '';
  forecasts: number;
  /** Forecasts whose P85 outcome is known. */
  resolved: number;
  p85Hits: number;
  /** p85Hits / resolved; null with none resolved. Well calibrated: 0.8 to 0.9. */
  p85HitRate: number | null;
  /** Mean Brier score over brierForecasts forecasts whose committed outcome is known; null with none. */
  brier: number | null;
  brierForecasts: number;
  /** Mean |P50 error| and mean P50 error (bias) in days over maeForecasts finished milestones; null with none. */
  maeDays: number | null;
  biasDays: number | null;
  maeForecasts: number;
  /** Forecasts whose P85 outcome is not known yet. */
  unresolved: number;
}

export interface BacktestResult {
  /** The run's instant (`now`), ISO 8601. */
  runAt: string;
  from: Day;
  to: Day;
  /** The week starts forecast from, oldest first. */
  weeks: Day[];
  /** Forecasts without a number (too little history then): not scored. */
  noNumber: number;
  scores: ForecastScore[];
  /** The organisation first (every basis, then each basis), then each program in the same way. */
  calibration: Calibration[];
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const BASES: readonly Basis[] = ['milestone', 'team share', 'cadence'];

function checkDay(day: Day, what: string): void {
  if (!DAY.test(day) || new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) !== day)
    throw new RangeError(`forecast backtest: ${what} '${day}' is not a date; expected YYYY-MM-DD`);
}

/** Whole days from one calendar day to another. */
const daysBetween = (from: Day, to: Day): number =>
  Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);

/** The instant a day starts in a time zone (00:00 there). */
export const dayStart = dayStartInstant;

/** The Mondays from `from` to `to`, both included. */
export function weekStarts(from: Day, to: Day): Day[] {
  checkDay(from, 'from');
  checkDay(to, 'to');
  if (from > to) throw new RangeError(`forecast backtest: from ${from} is after to ${to}`);
  const first = addDays(from, (8 - new Date(`${from}T00:00:00Z`).getUTCDay()) % 7);
  const out: Day[] = [];
  for (let d = first; d <= to; d = addDays(d, 7)) out.push(d);
  return out;
}

/** Scores one forecast against the milestone's finish day as known at `nowDay` (null: not finished by then). */
export function scoreForecast(
  f: Pick<ForecastScore, 'committed' | 'p50' | 'p85' | 'confidence'>,
  doneDay: Day | null,
  nowDay: Day,
): Pick<ForecastScore, 'doneDay' | 'p85Hit' | 'onTime' | 'brier' | 'p50ErrorDays'> {
  const p85Hit = doneDay !== null ? f.p85 === null || doneDay <= f.p85 : f.p85 !== null && f.p85 < nowDay ? false : null;
  const onTime = f.committed === null ? null : doneDay !== null ? doneDay <= f.committed : f.committed < nowDay ? false : null;
  const brier = onTime === null || f.confidence === null ? null : (f.confidence - (onTime ? 1 : 0)) ** 2;
  const p50ErrorDays = doneDay !== null && f.p50 !== null ? daysBetween(f.p50, doneDay) : null;
  return { doneDay, p85Hit, onTime, brier, p50ErrorDays };
}

const mean = (xs: number[]): number | null => (xs.length === 0 ? null : xs.reduce((s, x) => s + x, 0) / xs.length);

/** The calibration of a set of scores. */
export function calibrate(
  scopeKind: Calibration['scopeKind'],
  scopeId: string,
  basis: Calibration['basis'],
  scores: ForecastScore[],
): Calibration {
  const resolved = scores.filter((s) => s.p85Hit !== null);
  const hits = resolved.filter((s) => s.p85Hit === true).length;
  const briers = scores.map((s) => s.brier).filter((b): b is number => b !== null);
  const errors = scores.map((s) => s.p50ErrorDays).filter((e): e is number => e !== null);
  return {
    scopeKind,
    scopeId,
    basis,
    forecasts: scores.length,
    resolved: resolved.length,
    p85Hits: hits,
    p85HitRate: resolved.length === 0 ? null : hits / resolved.length,
    brier: mean(briers),
    brierForecasts: briers.length,
    maeDays: mean(errors.map(Math.abs)),
    biasDays: mean(errors),
    maeForecasts: errors.length,
    unresolved: scores.length - resolved.length,
  };
}

/**
 * How a calibration reads: the P85 hit rate against the 80-90% a well calibrated forecast has, then
 * what else is wrong with it: the P50 a week or more off on average (done earlier: too late, pessimistic;
 * done later: too early), and a Brier score above 0.25 (a confidence of 0.5 for every milestone scores
 * 0.25: worse says the confidence misleads).
 */
export function calibrationReading(c: Pick<Calibration, 'p85HitRate' | 'resolved' | 'biasDays' | 'brier'>): string {
  if (c.p85HitRate === null) return 'nothing resolved yet';
  const parts = [
    c.p85HitRate < 0.8 ? 'P85 too early (overconfident)' : c.p85HitRate > 0.9 ? 'P85 too late (too cautious)' : 'P85 well calibrated',
  ];
  if (c.biasDays !== null && Math.abs(c.biasDays) >= 7)
    parts.push(`P50 ${Math.round(Math.abs(c.biasDays))} days ${c.biasDays < 0 ? 'late (pessimistic)' : 'early (optimistic)'} on average`);
  if (c.brier !== null && c.brier > 0.25) parts.push('confidence worse than a coin toss');
  return parts.join('; ');
}

/** The organisation's calibration (every basis, then each), then each program's, in order of id. */
export function calibrationOf(scores: ForecastScore[]): Calibration[] {
  const out: Calibration[] = [];
  const scope = (kind: Calibration['scopeKind'], id: string, mine: ForecastScore[]): void => {
    out.push(calibrate(kind, id, '', mine));
    for (const b of BASES) {
      const of = mine.filter((s) => s.basis === b);
      // The organisation lists both bases, so a reader can compare them; a program only those it has.
      if (kind === 'org' || of.length > 0) out.push(calibrate(kind, id, b, of));
    }
  };
  scope('org', 'org', scores);
  for (const p of [...new Set(scores.map((s) => s.program))].sort())
    scope(
      'program',
      p,
      scores.filter((s) => s.program === p),
    );
  return out;
}

interface DoneRow {
  key: string;
  done_day: string;
}

/** The day each milestone finished, for those finished by `now`. */
async function doneDays(store: Store, tz: string, now: Date): Promise<Map<string, Day>> {
  const rs = await store.client.query({
    query: `
      SELECT concat(source, ':', milestone_id) AS key,
             toString(if(kind = 'version', toDate(assumeNotNull(completed_at), 'UTC'),
                         toDate(toTimeZone(assumeNotNull(completed_at), {tz:String})))) AS done_day
      FROM milestones FINAL
      WHERE completed_at IS NOT NULL AND assumeNotNull(completed_at) <= {now:DateTime64(3)}`,
    query_params: { tz, now: instantParam(now) },
    format: 'JSONEachRow',
  });
  return new Map((await rs.json<DoneRow>()).map((r) => [r.key, r.done_day]));
}

const instant = (at: Date | string): string => new Date(at).toISOString().replace('T', ' ').replace('Z', '');

async function saveRun(store: Store, result: BacktestResult, now: Date): Promise<void> {
  const version = now.getTime() * 1000;
  await store.client.insert({
    table: 'forecast_calibration',
    values: result.calibration.map((c) => ({
      run_at: instant(now),
      from_day: result.from,
      to_day: result.to,
      scope_kind: c.scopeKind,
      scope_id: c.scopeId,
      basis: c.basis,
      forecasts: c.forecasts,
      resolved: c.resolved,
      p85_hits: c.p85Hits,
      p85_hit_rate: c.p85HitRate,
      brier: c.brier,
      brier_forecasts: c.brierForecasts,
      mae_days: c.maeDays,
      bias_days: c.biasDays,
      mae_forecasts: c.maeForecasts,
      unresolved: c.unresolved,
      version,
    })),
    format: 'JSONEachRow',
  });
  if (result.scores.length === 0) return;
  await store.client.insert({
    table: 'forecast_backtest_scores',
    values: result.scores.map((s) => ({
      run_at: instant(now),
      as_of: instant(s.asOf),
      source: s.source,
      milestone_id: s.milestoneId,
      name: s.name,
      program: s.program,
      team: s.team,
      basis: s.basis,
      committed: s.committed,
      p50: s.p50,
      p85: s.p85,
      confidence: s.confidence,
      done_day: s.doneDay,
      p85_hit: s.p85Hit === null ? null : s.p85Hit ? 1 : 0,
      on_time: s.onTime === null ? null : s.onTime ? 1 : 0,
      brier: s.brier,
      p50_error_days: s.p50ErrorDays,
      version,
    })),
    format: 'JSONEachRow',
  });
}

/**
 * Forecasts every milestone as of each week start from `from` to `to` before `now`, scores the forecasts
 * against what is known at `now`, and stores the run. Throws a RangeError saying which option is wrong.
 */
export async function backtest(store: Store, config: ForecastConfig, options: BacktestOptions): Promise<BacktestResult> {
  const { from, to, now } = options;
  if (!Number.isFinite(now.getTime())) throw new RangeError('forecast backtest: now is not an instant');
  const tz = config.metrics.timeZone;
  const weeks = weekStarts(from, to).filter((w) => dayStart(w, tz).getTime() < now.getTime());
  const programs = options.programs === undefined ? undefined : new Set(options.programs);
  const done = await doneDays(store, tz, now);
  const nowDay = today(tz, now);
  const scores: ForecastScore[] = [];
  let noNumber = 0;
  for (const week of weeks) {
    const asOf = dayStart(week, tz);
    const planned: PlannedForecast[] = await planForecasts(store, config, asOf);
    for (const { milestone, forecast: f } of planned) {
      if (programs !== undefined && !programs.has(milestone.program)) continue;
      if (!f.ok) {
        noNumber += 1;
        continue;
      }
      const head = { committed: f.committed, p50: f.p50, p85: f.p85, confidence: f.confidence };
      scores.push({
        weekStart: week,
        asOf: asOf.toISOString(),
        source: f.source,
        milestoneId: f.milestoneId,
        name: f.name,
        program: milestone.program,
        team: milestone.team,
        basis: f.method === 'cadence' ? 'cadence' : f.inputs.throughputBasis,
        ...head,
        ...scoreForecast(head, done.get(milestone.key) ?? null, nowDay),
      });
    }
  }
  const result: BacktestResult = { runAt: now.toISOString(), from, to, weeks, noNumber, scores, calibration: calibrationOf(scores) };
  await saveRun(store, result, now);
  return result;
}
