import type { OrgConfig } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import { METRICS } from '../metrics/definitions/index.js';
import {
  addDays,
  evaluateMetrics,
  instantParam,
  metricParams,
  periodStart,
  scopesOf,
  type Day,
  type ParamsConfig,
} from '../metrics/engine.js';
import { firstFactDay } from '../metrics/job.js';
import { readMetricValues, type MetricValueRow } from '../metrics/queries.js';
import { lookbackWeeks, RISK_INDICATORS, riskSignalRows } from '../metrics/risk.js';
import type { PeriodKind, ScopeKind } from '../metrics/types.js';

/**
 * The weekly metric values and risk signals as of an instant, for a report of that instant: those the
 * store held then, or, when no metrics run had stored the week by then (a fresh store whose first run came
 * after the week's end), the values a full metrics run at that instant would have stored, computed from
 * the facts as they stood then and written nowhere. Risk signals of a week are scored only once the week
 * has ended, so a run that stored them came after the week's end unless it ran at that very instant: when
 * none had been stored by then, they are scored as of the instant from the weekly values of that instant
 * (stored, or computed as above).
 */

/** What a report reads of the configuration: the metrics' settings (ParamsConfig, sources included) and the org. */
export type MetricsReportConfig = ParamsConfig & { org: OrgConfig };

/** Where numbers come from: read as stored by the instant, or computed as of it. */
export interface ValuesSource {
  kind: 'stored' | 'computed';
  /** The instant read or computed as of (ISO 8601). */
  at: string;
}

/** Where a week's risk signals come from, and the weekly values they were scored from when computed. */
export interface SignalsSource extends ValuesSource {
  values: ValuesSource['kind'];
}

/** An active risk signal as the report lists it. */
export interface ReportSignal {
  scope_kind: string;
  scope_id: string;
  indicator: string;
  observed: number;
  expected: number;
  score: number;
  explanation: string;
}

const checkInstant = (at: Date): void => {
  if (!Number.isFinite(at.getTime())) throw new RangeError('metrics as of: not an instant');
};

/** Whether a metrics run had stored any weekly value of the week starting `week` by `at` (any scope, kept or since replaced). */
export async function weekStoredBy(store: Store, week: Day, at: Date): Promise<boolean> {
  checkInstant(at);
  const where = `period_kind = 'week' AND period_start = {week:Date} AND computed_at <= {as_of:DateTime64(3)}`;
  const rs = await store.client.query({
    query: `SELECT count() AS n FROM
            (
                (SELECT 1 FROM metric_values WHERE ${where} LIMIT 1)
                UNION ALL
                (SELECT 1 FROM metric_value_history WHERE ${where} LIMIT 1)
            )`,
    query_params: { week, as_of: instantParam(at) },
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ n: string }>();
  return Number(row?.n ?? 0) > 0;
}

/**
 * The values a full metrics run at `at` would have stored for the periods of `period` starting in
 * [from, to), narrowed to the scopes of `only` ('KIND:ID'), written nowhere: each period evaluated as of
 * `at` (a period still running then as it stood then, nothing dated after it counted), counts 0 for a
 * scope the organisation names in a period without units, and nothing before the first fact known by
 * then (where a full run starts). `ptel metrics show --as-of AT --compute` prints them.
 */
export async function computedValues(
  store: Store,
  config: MetricsReportConfig,
  at: Date,
  select: { period: PeriodKind; from: Day; to: Day; only?: readonly string[]; metrics?: readonly string[] },
): Promise<MetricValueRow[]> {
  checkInstant(at);
  const first = await firstFactDay(store, at);
  if (first === undefined) return [];
  const from = select.from > first ? select.from : periodStart(select.period, first);
  if (from >= select.to) return [];
  const definitions = select.metrics === undefined ? METRICS : METRICS.filter((m) => select.metrics!.includes(m.id));
  const computedAt = at.toISOString().replace('T', ' ').replace('Z', '');
  const values = await evaluateMetrics({
    store,
    definitions,
    params: metricParams(config),
    from,
    to: select.to,
    periods: [select.period],
    scopes: scopesOf(config.org),
    ...(select.only !== undefined ? { only: select.only } : {}),
    now: at,
  });
  // The first period may start before `from` when `from` is not a period's first day; show reads periods starting in [from, to).
  return values.filter((v) => v.period_start >= select.from && v.period_start < select.to).map((v) => ({ ...v, computed_at: computedAt }));
}

/**
 * One program's weekly values of the weeks starting in [from, to) as of `at`: as the store held them
 * then when a metrics run had stored the week starting `week` by then, else computed as of `at`.
 */
export async function weeklyValuesAt(
  store: Store,
  config: MetricsReportConfig,
  at: Date,
  select: { program: string; week: Day; from: Day; to: Day },
): Promise<{ values: MetricValueRow[]; source: ValuesSource }> {
  const scope = { kind: 'program' as ScopeKind, id: select.program };
  if (await weekStoredBy(store, select.week, at)) {
    const values = await readMetricValues(store, { period: 'week', scope, from: select.from, to: select.to, asOf: at });
    return { values, source: { kind: 'stored', at: at.toISOString() } };
  }
  const values = await computedValues(store, config, at, {
    period: 'week',
    from: select.from,
    to: select.to,
    only: [`program:${select.program}`],
  });
  return { values, source: { kind: 'computed', at: at.toISOString() } };
}

/** The program's scope and its teams', as 'KIND:ID'. */
function programScopes(org: OrgConfig, program: string): string[] {
  const teams = org.programs.find((p) => p.id === program)?.teams.map((t) => t.id) ?? [];
  return [`program:${program}`, ...teams.map((t) => `team:${t}`)];
}

/** The program's own signals first, then its teams', each by the size of the score, then by scope and indicator. */
function bySize(a: ReportSignal, b: ReportSignal): number {
  const team = (s: ReportSignal): number => (s.scope_kind === 'team' ? 1 : 0);
  return (
    team(a) - team(b) ||
    Math.abs(b.score) - Math.abs(a.score) ||
    (a.scope_id < b.scope_id ? -1 : a.scope_id > b.scope_id ? 1 : 0) ||
    (a.indicator < b.indicator ? -1 : a.indicator > b.indicator ? 1 : 0)
  );
}

/**
 * The active risk signals of the week starting `week` for a program and its teams, as of `at`: those
 * stored by then (the latest version of each), or, when no signal of the week had been stored by then,
 * scored as of `at` (riskSignalRows, as a run at `at` scores them) from the weekly values of that instant:
 * as the store held them when a metrics run had stored the week by then, else computed as of it over the
 * weeks the scoring reads. Nothing is written.
 */
export async function riskSignalsAt(
  store: Store,
  config: MetricsReportConfig,
  at: Date,
  select: { program: string; week: Day },
): Promise<{ signals: ReportSignal[]; source: SignalsSource }> {
  checkInstant(at);
  const scopes = programScopes(config.org, select.program);
  const params = { week: select.week, as_of: instantParam(at), scopes };
  const storedRs = await store.client.query({
    query: `SELECT count() AS n FROM (SELECT 1 FROM risk_signals WHERE week_start = {week:Date} AND computed_at <= {as_of:DateTime64(3)} LIMIT 1)`,
    query_params: params,
    format: 'JSONEachRow',
  });
  const [storedRow] = await storedRs.json<{ n: string }>();
  if (Number(storedRow?.n ?? 0) > 0) {
    const rs = await store.client.query({
      query: `SELECT scope_kind, scope_id, indicator, observed, expected, score, explanation FROM
              (
                  SELECT * FROM risk_signals
                  WHERE computed_at <= {as_of:DateTime64(3)} AND week_start = {week:Date}
                    AND has({scopes:Array(String)}, concat(toString(scope_kind), ':', scope_id))
                  ORDER BY version DESC
                  LIMIT 1 BY scope_kind, scope_id, indicator, week_start
              )
              WHERE is_deleted = 0 AND active = 1`,
      query_params: params,
      format: 'JSONEachRow',
    });
    const rows = await rs.json<ReportSignal>();
    const signals = rows.map((s) => ({ ...s, observed: Number(s.observed), expected: Number(s.expected), score: Number(s.score) }));
    return { signals: signals.sort(bySize), source: { kind: 'stored', at: at.toISOString(), values: 'stored' } };
  }

  const weeks = { from: select.week, to: addDays(select.week, 7) };
  const valuesStored = await weekStoredBy(store, select.week, at);
  const mp = metricParams(config);
  let weekly: MetricValueRow[] | undefined;
  if (!valuesStored) {
    weekly = await computedValues(store, config, at, {
      period: 'week',
      from: addDays(select.week, -7 * lookbackWeeks(config.metrics.risk)),
      to: weeks.to,
      only: scopes,
      metrics: RISK_INDICATORS.map((i) => i.metric),
    });
  }
  const scored = await riskSignalRows({
    store,
    params: mp,
    risk: config.metrics.risk,
    weeks,
    asOf: at,
    ...(weekly !== undefined ? { weekly } : {}),
  });
  const signals = (scored?.signals ?? [])
    .filter((s) => s.active === 1 && s.week_start === select.week && scopes.includes(`${s.scope_kind}:${s.scope_id}`))
    .map((s): ReportSignal => ({
      scope_kind: s.scope_kind,
      scope_id: s.scope_id,
      indicator: s.indicator,
      observed: s.observed,
      expected: s.expected,
      score: s.score,
      explanation: s.explanation,
    }));
  return {
    signals: signals.sort(bySize),
    source: { kind: 'computed', at: at.toISOString(), values: valuesStored ? 'stored' : 'computed' },
  };
}
