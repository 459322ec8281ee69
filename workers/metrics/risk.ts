import { performance } from 'node:perf_hooks';
import { systemClock, type Clock } from '../../infra/clock.js';
import type { Store } from '../../infra/store/client.js';
import { addDays, instantParam, nextPeriod, periodStart, today, type Day } from './engine.js';
import { metricValuesAsOfSql } from './queries.js';
import type { MetricParams } from './types.js';

/**
 * Risk signals (docs/metrics.md item 20): each leading indicator's weekly series, per scope, is compared
 * with its own trailing baseline, and a signal fires when a week is unusually far off in the harmful
 * direction. A per-scope weekly risk score combines the signals that fired.
 *
 * How a week is scored:
 * - Robust z-score (method 'robust_z'): against the values of the `baselineWeeks` calendar weeks before
 *   it (weeks with no value are skipped, so a baseline may hold fewer weeks):
 *   z = 0.6745 * (x - median) / MAD, i.e. (x - median) / spread with spread = MAD / 0.6745 (the MAD
 *   scaled to a standard deviation for normally distributed data).
 *   When more than half the baseline weeks have the same value the MAD is 0; the spread then falls back
 *   to the mean absolute deviation from the median scaled by sqrt(pi / 2) = 1.253314 (also a standard
 *   deviation for normal data). When every baseline week has the same value there is no spread at all:
 *   the week is stored with score 0 and never fires (any change would be infinitely many spreads away,
 *   which says nothing about how unusual it is).
 * - Seasonal (method 'seasonal'): when the weeks right before it have a value for at least
 *   max(seasonalMinWeeks, 2 seasonal periods) consecutive weeks, the last of them (up to
 *   max(seasonalMinWeeks, 4 periods)) are decomposed with ClickHouse's seriesDecomposeSTL into seasonal,
 *   trend and residual parts. The week's expectation is the seasonal part one period earlier (the same
 *   point of the cycle) plus the latest trend plus the median residual of the last `baselineWeeks` weeks,
 *   and the spread is that of those residuals (MAD, or mean absolute deviation as above). The week
 *   itself is not part of the decomposition, so an outlier cannot pull its own expectation towards it.
 *   The period defaults to 13 weeks: the quarterly planning and release cycle most teams run on.
 *   A yearly cycle (52) needs two years of history (seasonalMinWeeks >= 104).
 * - A signal is active when its history holds at least `minHistoryWeeks` weeks and its score is past the
 *   threshold in the harmful direction (z > threshold for indicators where higher is worse, z < -threshold
 *   where lower is worse). Weeks with less history are not stored at all.
 * - Expected value and band: expected ± threshold * spread, clipped to what the indicator can take (no
 *   indicator is negative; a ratio is at most 1). A value outside the band in the harmful direction is
 *   exactly an active signal.
 *
 * The risk score of a scope and week sums min(|z| / threshold, 3) over its active signals: each signal
 * that fires counts at least 1 and at most 3, so one extreme outlier cannot outweigh several indicators
 * going wrong together. The top indicator is the one contributing most. Every scope and week with at
 * least one stored signal gets a score row (0 with no active signal), so "no risk" differs from "no data".
 */

/** One leading indicator: the weekly metric it reads and which way is bad. */
export interface RiskIndicator {
  /** Stored as risk_signals.indicator. */
  indicator: string;
  /** The metric id in metric_values (period_kind 'week'). */
  metric: string;
  /** The direction in which a change is a risk. */
  harmful: 'higher' | 'lower';
  /** The indicator's name in an explanation, e.g. 'Change failure rate'. */
  label: string;
}

/**
 * The leading indicators. An indicator whose metric has no values yet simply produces no signal.
 * `reopened_items` has no metric computing it yet: it reads `reopened_item_count` once one does.
 */
export const RISK_INDICATORS: readonly RiskIndicator[] = [
  { indicator: 'cycle_time', metric: 'cycle_time_p50', harmful: 'higher', label: 'Cycle time (p50)' },
  { indicator: 'lead_time', metric: 'change_lead_time_p50', harmful: 'higher', label: 'Change lead time (p50)' },
  { indicator: 'ci_success_rate', metric: 'ci_success_rate', harmful: 'lower', label: 'CI success rate' },
  { indicator: 'build_duration', metric: 'ci_duration_p50', harmful: 'higher', label: 'CI build duration (p50)' },
  { indicator: 'deployment_count', metric: 'deployment_frequency', harmful: 'lower', label: 'Production deployment count' },
  { indicator: 'change_failure_rate', metric: 'change_failure_rate', harmful: 'higher', label: 'Change failure rate' },
  {
    indicator: 'recovery_time',
    metric: 'failed_deployment_recovery_time_p50',
    harmful: 'higher',
    label: 'Failed deployment recovery time (p50)',
  },
  { indicator: 'incident_count', metric: 'incident_count', harmful: 'higher', label: 'Incident count' },
  { indicator: 'dependency_aging', metric: 'dependency_age_mean_days', harmful: 'higher', label: 'Average blocking dependency age' },
  { indicator: 'scope_change', metric: 'scope_change_rate_count', harmful: 'higher', label: 'Scope change rate (by count)' },
  { indicator: 'replans', metric: 'replan_frequency', harmful: 'higher', label: 'Re-plan frequency' },
  { indicator: 'reopened_items', metric: 'reopened_items', harmful: 'higher', label: 'Reopened item count' },
];

export interface RiskOptions {
  /** Trailing weeks a week is compared with. */
  baselineWeeks: number;
  /** Weeks of history (with a value) a signal needs before it is stored and may fire. */
  minHistoryWeeks: number;
  /** |z| past which a signal fires, in the harmful direction only. */
  threshold: number;
  /** Consecutive weeks of history from which seasonality is removed first. */
  seasonalMinWeeks: number;
  /** The seasonal cycle in weeks (default 13, a quarter). */
  seasonPeriodWeeks?: number;
}

export interface RiskResult {
  /** Signal rows written (active or not). */
  signals: number;
  active: number;
  /** Score rows written. */
  scores: number;
  /** Signal and score rows of the recomputed weeks that this run no longer produced. */
  retracted: number;
  ms: number;
}

/** 0.6745: the MAD of a standard normal distribution. */
const MAD_TO_Z = 0.6745;
/** sqrt(pi / 2): the mean absolute deviation of a normal distribution times this is its standard deviation. */
const MEAN_AD_TO_SD = 1.253314;
/**
 * The least spread a baseline is given: a tenth of the expected value, and for counts half an event, for
 * shares two points, so a signal needs a move a reader would call a change.
 */
export function spreadFloor(unit: string, expected: number): number {
  const absolute = unit === 'count' ? 0.5 : unit === 'ratio' ? 0.02 : 0;
  return Math.max(0.1 * Math.abs(expected), absolute);
}

/** Each active signal adds at most this much to a risk score. */
const MAX_CONTRIBUTION = 3;
const DEFAULT_SEASON_PERIOD = 13;

/** The weekly statistics of one scope, indicator metric and week, from the query below. */
interface WeekStats {
  metric: string;
  scope_kind: string;
  scope_id: string;
  week: string;
  unit: string;
  x: number;
  base_n: string;
  base_med: number | null;
  base_mad: number | null;
  base_mean_ad: number | null;
  season_ok: number;
  season_n: string;
  season_expected: number | null;
  resid_med: number | null;
  resid_mad: number | null;
  resid_mean_ad: number | null;
}

/** The weekly values the statistics read: the stored ones now, or as the store held them at {as_of}. */
const WEEKLY_FILTER = `metric IN {metrics:Array(String)} AND period_kind = 'week' AND period_start >= {lookback_from:Date} AND period_start < {to_week:Date}`;
const WEEKLY_NOW = `(SELECT * FROM metric_values FINAL WHERE ${WEEKLY_FILTER})`;
const WEEKLY_AS_OF = `(${metricValuesAsOfSql(WEEKLY_FILTER)})`;
/** Weekly values given as parameters (see givenParams), read as the stored ones are. */
const WEEKLY_GIVEN = `(SELECT * FROM
    (SELECT t.1 AS metric, t.2 AS scope_kind, t.3 AS scope_id, 'week' AS period_kind, toDate(t.4) AS period_start, t.5 AS unit,
            toNullable(t.6) AS value
     FROM (SELECT arrayJoin(arrayZip({given_metric:Array(String)}, {given_scope_kind:Array(String)}, {given_scope_id:Array(String)},
                                     {given_week:Array(String)}, {given_unit:Array(String)}, {given_value:Array(Float64)})) AS t))
  WHERE ${WEEKLY_FILTER})`;

/**
 * Per scope and week in [from_week, to_week): the indicator's value, the values of the `baseline` weeks
 * before it (median, MAD, mean absolute deviation) and, with a long enough unbroken history, the
 * seasonal expectation and the spread of the decomposition's residuals. `hist` holds the (week number,
 * value) pairs of up to `lookback` weeks before, oldest first. __WEEKLY__ is the weekly values read.
 */
const STATS_SQL = `
SELECT metric, scope_kind, scope_id, toString(week) AS week, unit, x,
       length(base) AS base_n,
       arrayReduce('quantileExactInclusive(0.5)', base) AS base_med,
       arrayReduce('quantileExactInclusive(0.5)', arrayMap(v -> abs(v - base_med), base)) AS base_mad,
       arrayReduce('avg', arrayMap(v -> abs(v - base_med), base)) AS base_mean_ad,
       toUInt8(season_ok) AS season_ok,
       season_n,
       if(season_ok, toFloat64(stl[1][season_n - {period:UInt32} + 1]) + toFloat64(stl[2][season_n]), NULL) AS season_expected,
       if(season_ok, arrayReduce('quantileExactInclusive(0.5)', resid), NULL) AS resid_med,
       if(season_ok, arrayReduce('quantileExactInclusive(0.5)', arrayMap(r -> abs(r - resid_med), resid)), NULL) AS resid_mad,
       if(season_ok, arrayReduce('avg', arrayMap(r -> abs(r - resid_med), resid)), NULL) AS resid_mean_ad
FROM
(
    SELECT h.metric AS metric, h.scope_kind AS scope_kind, h.scope_id AS scope_id, h.week AS week, h.unit AS unit, h.x AS x,
           arrayMap(p -> p.2, arrayFilter(p -> p.1 >= h.wn - {baseline:UInt32}, h.hist)) AS base,
           arrayReverse(h.hist) AS newest_first,
           -- the unbroken run of weeks right before this one
           arrayFirstIndex((p, i) -> p.1 != h.wn - i, newest_first, arrayEnumerate(newest_first)) AS gap,
           least(if(gap = 0, toInt64(length(newest_first)), toInt64(gap) - 1), toInt64({season_cap:UInt32})) AS season_n,
           season_n >= {season_min:UInt32} AS season_ok,
           seriesDecomposeSTL(
             if(season_ok, arraySlice(arrayMap(p -> p.2, h.hist), -season_n), arrayWithConstant(2 * {period:UInt32}, 0.)),
             {period:UInt32}) AS stl,
           arrayMap(r -> toFloat64(r), arraySlice(stl[3], -least(season_n, toInt64({baseline:UInt32})))) AS resid
    FROM
    (
        SELECT v.metric AS metric, v.scope_kind AS scope_kind, v.scope_id AS scope_id, v.period_start AS week, v.unit AS unit,
               assumeNotNull(v.value) AS x, toInt64(toRelativeWeekNum(v.period_start)) AS wn,
               groupArray((wn, x)) OVER (PARTITION BY v.metric, v.scope_kind, v.scope_id ORDER BY wn ASC
                                         RANGE BETWEEN {lookback:UInt32} PRECEDING AND 1 PRECEDING) AS hist
        FROM __WEEKLY__ AS v
        WHERE v.value IS NOT NULL
    ) AS h
    WHERE h.week >= {from_week:Date}
)
ORDER BY scope_kind, scope_id, metric, week`;

/** A risk_signals row as the job writes it. */
export interface SignalRow {
  scope_kind: string;
  scope_id: string;
  indicator: string;
  week_start: string;
  observed: number;
  expected: number;
  lower: number;
  upper: number;
  score: number;
  active: number;
  method: 'robust_z' | 'seasonal';
  history_weeks: number;
  explanation: string;
  computed_at: string;
  version: number;
  is_deleted: number;
}

/** The spread (a standard deviation estimate) from a MAD, falling back to the mean absolute deviation; 0 when flat. */
function spreadOf(mad: number, meanAd: number, magnitude: number): number {
  // The decomposition computes in single precision: deviations this small are rounding, not spread.
  const eps = 1e-5 * Math.max(1, Math.abs(magnitude));
  if (mad > eps) return mad / MAD_TO_Z;
  if (meanAd > eps) return MEAN_AD_TO_SD * meanAd;
  return 0;
}

/** A weekly value of an indicator's metric, given to the scoring instead of the values read from the store. */
export interface WeeklyValue {
  metric: string;
  scope_kind: string;
  scope_id: string;
  period_start: Day;
  unit: string;
  value: number | null;
}

export interface RiskScoring {
  store: Store;
  params: MetricParams;
  risk: RiskOptions;
  weeks: { from: Day; to: Day };
  indicators?: readonly RiskIndicator[];
  /** The run's instant (default the clock's now): stamps the rows' computed_at and version. */
  now?: Date;
  clock?: Clock;
  asOf?: Date;
  /**
   * The weekly values to score, instead of those the store holds (now, or at `asOf`): values computed
   * for the purpose and stored nowhere. Those outside the weeks read are left out, as are missing values.
   */
  weekly?: readonly WeeklyValue[];
}

/** How many weeks before a week its scoring reads: the baseline, or the seasonal history when longer. */
export function lookbackWeeks(risk: RiskOptions): number {
  const period = risk.seasonPeriodWeeks ?? DEFAULT_SEASON_PERIOD;
  return Math.max(risk.baselineWeeks, Math.max(risk.seasonalMinWeeks, 4 * period));
}

/** The computed_at and version of the rows of a run: its instant (the as-of instant, else now). */
function stamp(options: Pick<RiskScoring, 'asOf' | 'now' | 'clock'>): { computed_at: string; version: number } {
  const now = options.asOf ?? options.now ?? (options.clock ?? systemClock).date();
  return { computed_at: now.toISOString().replace('T', ' ').replace('Z', ''), version: now.getTime() * 1000 };
}

/** The given weekly values as the query parameters WEEKLY_GIVEN reads. */
function givenParams(weekly: readonly WeeklyValue[]): Record<string, unknown> {
  const known = weekly.filter((w) => w.value !== null && Number.isFinite(w.value));
  return {
    given_metric: known.map((w) => w.metric),
    given_scope_kind: known.map((w) => w.scope_kind),
    given_scope_id: known.map((w) => w.scope_id),
    given_week: known.map((w) => w.period_start),
    given_unit: known.map((w) => w.unit),
    given_value: known.map((w) => w.value!),
  };
}

/**
 * The risk signal rows of every week overlapping [weeks.from, weeks.to), scored as computeRiskSignals
 * scores them (below), written nowhere; undefined when no whole week is in range.
 */
export async function riskSignalRows(options: RiskScoring): Promise<{ signals: SignalRow[]; fromWeek: Day; toWeek: Day } | undefined> {
  const { store, risk, asOf } = options;
  const indicators = options.indicators ?? RISK_INDICATORS;
  if (asOf !== undefined && !Number.isFinite(asOf.getTime())) throw new RangeError('risk signals as of: not an instant');
  const { computed_at: computedAt, version } = stamp(options);
  const period = risk.seasonPeriodWeeks ?? DEFAULT_SEASON_PERIOD;
  if (!Number.isInteger(period) || period < 2) throw new RangeError(`seasonal period ${period} must be a whole number of weeks >= 2`);
  const seasonMin = Math.max(risk.seasonalMinWeeks, 2 * period);
  const seasonCap = Math.max(risk.seasonalMinWeeks, 4 * period);
  const lookback = lookbackWeeks(risk);
  const fromWeek = periodStart('week', options.weeks.from);
  const lastWeek = nextPeriod('week', periodStart('week', addDays(options.weeks.to, -1)));
  // As of T, the week containing T was still running: only the weeks before it had their values.
  const asOfWeek = asOf === undefined ? undefined : periodStart('week', today(options.params.tz, asOf));
  const toWeek = asOfWeek !== undefined && asOfWeek < lastWeek ? asOfWeek : lastWeek;
  if (toWeek <= fromWeek) return undefined;
  const byMetric = new Map(indicators.map((i) => [i.metric, i]));

  const rs = await store.client.query({
    query: STATS_SQL.replace('__WEEKLY__', options.weekly !== undefined ? WEEKLY_GIVEN : asOf === undefined ? WEEKLY_NOW : WEEKLY_AS_OF),
    query_params: {
      ...(asOf !== undefined ? { as_of: instantParam(asOf) } : {}),
      ...(options.weekly !== undefined ? givenParams(options.weekly) : {}),
      metrics: [...byMetric.keys()],
      from_week: fromWeek,
      to_week: toWeek,
      lookback_from: addDays(fromWeek, -7 * lookback),
      lookback,
      baseline: risk.baselineWeeks,
      season_min: seasonMin,
      season_cap: seasonCap,
      period,
    },
    format: 'JSONEachRow',
  });
  const stats = await rs.json<WeekStats>();

  const signals: SignalRow[] = [];
  for (const s of stats) {
    const ind = byMetric.get(s.metric);
    if (ind === undefined) continue;
    const seasonal = s.season_ok === 1 && s.season_expected !== null && s.resid_med !== null;
    const history = seasonal ? Number(s.season_n) : Number(s.base_n);
    if (history < risk.minHistoryWeeks || history === 0) continue;
    const ceiling = s.unit === 'ratio' ? 1 : Infinity;
    // Every indicator is a count, a duration or a share: a seasonal fit below 0 (or above 100%) expects what cannot be.
    const expected = Math.min(ceiling, Math.max(0, seasonal ? s.season_expected! + s.resid_med! : s.base_med!));
    const measured = seasonal
      ? spreadOf(s.resid_mad ?? 0, s.resid_mean_ad ?? 0, expected)
      : spreadOf(s.base_mad ?? 0, s.base_mean_ad ?? 0, expected);
    // A spread floor: a near-constant history would otherwise turn the smallest move into a signal.
    const spread = measured > 0 ? Math.max(measured, spreadFloor(s.unit, expected)) : 0;
    const score = spread > 0 ? (s.x - expected) / spread : 0;
    const harmful = ind.harmful === 'higher' ? score : -score;
    const lower = Math.min(ceiling, Math.max(0, expected - risk.threshold * spread));
    const upper = Math.min(ceiling, Math.max(0, expected + risk.threshold * spread));
    // Past the threshold in the harmful direction, and outside the band a reader sees.
    const active = spread > 0 && harmful > risk.threshold && (ind.harmful === 'higher' ? s.x > upper : s.x < lower);
    signals.push({
      scope_kind: s.scope_kind,
      scope_id: s.scope_id,
      indicator: ind.indicator,
      week_start: s.week,
      observed: s.x,
      expected,
      lower,
      upper,
      score,
      active: active ? 1 : 0,
      method: seasonal ? 'seasonal' : 'robust_z',
      history_weeks: history,
      explanation: explain({
        label: ind.label,
        scopeKind: s.scope_kind,
        scopeId: s.scope_id,
        week: s.week,
        unit: s.unit,
        observed: s.x,
        expected,
        lower,
        upper,
        flat: spread === 0,
        seasonal,
        history,
        baselineWeeks: risk.baselineWeeks,
        period,
      }),
      computed_at: computedAt,
      version,
      is_deleted: 0,
    });
  }

  return { signals, fromWeek, toWeek };
}

/**
 * Recomputes the risk signals and scores of every week overlapping [weeks.from, weeks.to) from the
 * weekly metric values (compute those first). Each recomputed week's rows are replaced (this run's
 * version) and rows of those weeks this run no longer produces are retracted, so recomputing a week
 * twice gives the same rows. Weeks are the metric values' own (cut in `params.tz` when they were computed).
 *
 * As of a past instant T (`asOf`, --as-of): the weekly values are read as the store held them at T, only
 * the whole weeks before the week containing T are scored, and the rows are stamped as computed at T
 * (so rows computed after T keep precedence).
 */
export async function computeRiskSignals(options: RiskScoring): Promise<RiskResult> {
  const started = performance.now();
  const scored = await riskSignalRows(options);
  if (scored === undefined) return { signals: 0, active: 0, scores: 0, retracted: 0, ms: Math.round(performance.now() - started) };
  const { signals, fromWeek, toWeek } = scored;
  const { store, risk } = options;
  const { computed_at: computedAt, version } = stamp(options);
  const scores = scoreRows(signals, risk.threshold).map((r) => ({ ...r, computed_at: computedAt, version, is_deleted: 0 }));
  if (signals.length > 0) await store.client.insert({ table: 'risk_signals', values: signals, format: 'JSONEachRow' });
  if (scores.length > 0) await store.client.insert({ table: 'risk_scores', values: scores, format: 'JSONEachRow' });

  let retracted = 0;
  for (const table of ['risk_signals', 'risk_scores']) {
    const p = { v: version, from_week: fromWeek, to_week: toWeek, at: computedAt };
    const stale = await store.client.query({
      query: `SELECT count() AS n FROM ${table} FINAL WHERE week_start >= {from_week:Date} AND week_start < {to_week:Date} AND version < {v:UInt64}`,
      query_params: p,
      format: 'JSONEachRow',
    });
    const [c] = await stale.json<{ n: string }>();
    const n = Number(c?.n ?? 0);
    if (n === 0) continue;
    retracted += n;
    await store.client.command({
      query: `INSERT INTO ${table}
              SELECT * REPLACE ({v:UInt64} AS version, 1 AS is_deleted, toDateTime64({at:String}, 3, 'UTC') AS computed_at)
              FROM (SELECT * FROM ${table} FINAL WHERE week_start >= {from_week:Date} AND week_start < {to_week:Date} AND version < {v:UInt64})`,
      query_params: p,
    });
  }

  return {
    signals: signals.length,
    active: signals.filter((s) => s.active === 1).length,
    scores: scores.length,
    retracted,
    ms: Math.round(performance.now() - started),
  };
}

/** One score row per scope and week with a signal: the sum of min(|z| / threshold, 3) over active signals. */
export function scoreRows(
  signals: ReadonlyArray<Pick<SignalRow, 'scope_kind' | 'scope_id' | 'week_start' | 'indicator' | 'score' | 'active'>>,
  threshold: number,
): Array<{ scope_kind: string; scope_id: string; week_start: string; score: number; active_signals: number; top_indicator: string }> {
  const groups = new Map<
    string,
    { scope_kind: string; scope_id: string; week_start: string; score: number; active: number; top: string; topPart: number }
  >();
  for (const s of signals) {
    const key = `${s.scope_kind}\u0000${s.scope_id}\u0000${s.week_start}`;
    let g = groups.get(key);
    if (g === undefined) {
      g = { scope_kind: s.scope_kind, scope_id: s.scope_id, week_start: s.week_start, score: 0, active: 0, top: '', topPart: 0 };
      groups.set(key, g);
    }
    if (s.active !== 1) continue;
    const part = Math.min(Math.abs(s.score) / threshold, MAX_CONTRIBUTION);
    g.score += part;
    g.active += 1;
    // Ties (both capped) go to the larger |z|, then to the indicator's name, so the choice is stable.
    if (part > g.topPart || (part === g.topPart && (g.top === '' || s.indicator < g.top))) {
      g.top = s.indicator;
      g.topPart = part;
    }
  }
  return [...groups.values()].map((g) => ({
    scope_kind: g.scope_kind,
    scope_id: g.scope_id,
    week_start: g.week_start,
    score: g.score,
    active_signals: g.active,
    top_indicator: g.top,
  }));
}

const SCOPE_WORDS: Record<string, string> = { program: 'program', team: 'team', service: 'service', repo: 'repository' };

/** A number for a sentence: whole above 10, one decimal above 1, two below, no trailing zeros. */
function num(v: number): string {
  const a = Math.abs(v);
  const digits = a >= 10 ? 0 : a >= 1 ? 1 : 2;
  return String(Number(v.toFixed(digits)));
}

/** Formats the values of one sentence in the indicator's unit (hours become days from two days on). */
function formatter(unit: string, largest: number): { one: (v: number) => string; range: (a: number, b: number) => string } {
  const withSuffix = (scale: number, suffix: string) => ({
    one: (v: number) => `${num(v * scale)}${suffix}`,
    range: (a: number, b: number) => `${num(a * scale)}-${num(b * scale)}${suffix}`,
  });
  switch (unit) {
    case 'ratio':
      return withSuffix(100, '%');
    case 'percent':
      return withSuffix(1, '%');
    case 'hours':
      return largest >= 48 ? withSuffix(1 / 24, ' days') : withSuffix(1, ' hours');
    case 'days':
      return withSuffix(1, ' days');
    case 'per_week':
      return withSuffix(1, ' per week');
    default:
      return withSuffix(1, '');
  }
}

/** The one-line explanation of a signal, as a TPM would paste it into a status update. */
function explain(e: {
  label: string;
  scopeKind: string;
  scopeId: string;
  week: string;
  unit: string;
  observed: number;
  expected: number;
  lower: number;
  upper: number;
  flat: boolean;
  seasonal: boolean;
  history: number;
  baselineWeeks: number;
  period: number;
}): string {
  const f = formatter(e.unit, Math.max(Math.abs(e.observed), Math.abs(e.expected)));
  const scope = e.scopeKind === 'org' ? 'across the org' : `for ${SCOPE_WORDS[e.scopeKind] ?? e.scopeKind} ${e.scopeId}`;
  const head = `${e.label} ${scope} was ${f.one(e.observed)} in the week of ${e.week}`;
  if (e.seasonal) {
    return `${head}, against ${f.one(e.expected)} expected (band ${f.range(e.lower, e.upper)}) from the previous ${e.history} weeks, allowing for a ${e.period}-week cycle.`;
  }
  const over = e.history === e.baselineWeeks ? `the previous ${e.history} weeks` : `${e.history} of the previous ${e.baselineWeeks} weeks`;
  if (e.flat) {
    return `${head}, against ${f.one(e.expected)} in each of ${over}; a baseline with no variation gives no score.`;
  }
  return `${head}, against ${f.one(e.expected)} expected (band ${f.range(e.lower, e.upper)}) over ${over}.`;
}
