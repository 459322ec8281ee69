import type { Store } from '../../infra/store/client.js';
import { instantParam, periodStart, today, type Day, type EvaluatedValue } from './engine.js';
import type { PeriodKind, ScopeKind } from './types.js';

/**
 * Reads of the stored metric values, as they are now or as the store held them at a past instant.
 *
 * Each (metric, scope, period) gets a new version whenever it is recomputed (computed_at is when), and
 * a deletion row when it no longer holds. Now is the highest version of metric_values, unless it is a
 * deletion. At an instant T it is the highest version computed at or before T, unless that one is a
 * deletion. metric_values merges superseded versions away; metric_value_history keeps the versions that
 * changed something (see computeMetrics), so the latest version at or before T of the two tables
 * together states what the store held at T. Its computed_at is that of the computation that set the
 * value, or of a later one that found it unchanged.
 */

/**
 * The metric value rows as the store held them at {as_of:DateTime64(3)}: per (metric, scope, period), the
 * latest version computed at or before it, deletions dropped. `where` narrows the rows first (a condition
 * on the key columns: metric, period_kind, scope_kind, scope_id, period_start).
 */
export function metricValuesAsOfSql(where = '1'): string {
  const versions = `metric, scope_kind, scope_id, period_kind, period_start, value, numerator, denominator, sample_size, unit,
                    definition_version, computed_at, version, is_deleted`;
  return `
SELECT * FROM
(
    SELECT * FROM
    (
        SELECT ${versions} FROM metric_value_history WHERE computed_at <= {as_of:DateTime64(3)} AND (${where})
        UNION ALL
        SELECT ${versions} FROM metric_values WHERE computed_at <= {as_of:DateTime64(3)} AND (${where})
    )
    ORDER BY version DESC
    LIMIT 1 BY metric, period_kind, scope_kind, scope_id, period_start
)
WHERE is_deleted = 0`;
}

export interface MetricValueFilter {
  metric?: string;
  /** A scope kind, or one scope (KIND:ID). */
  scope?: { kind: ScopeKind; id?: string };
  period: PeriodKind;
  /** Periods starting on or after this day. */
  from?: Day;
  /** Periods starting before this day. */
  to?: Day;
  /** What the store said at this instant, instead of what it says now. */
  asOf?: Date;
}

/** A stored metric value: the value as computed, and when it was computed. */
export interface MetricValueRow extends EvaluatedValue {
  /** When the value was computed ('YYYY-MM-DD hh:mm:ss.sss', UTC). */
  computed_at: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

const numberOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** The stored values matching `filter`, by metric, scope and period; as of `filter.asOf` when given. */
export async function readMetricValues(store: Store, filter: MetricValueFilter): Promise<MetricValueRow[]> {
  for (const [name, day] of [
    ['from', filter.from],
    ['to', filter.to],
  ] as const) {
    if (day !== undefined && !DAY.test(day)) throw new RangeError(`metric values ${name} '${day}': expected a date YYYY-MM-DD`);
  }
  if (filter.asOf !== undefined && !Number.isFinite(filter.asOf.getTime())) throw new RangeError('metric values as of: not an instant');
  const where = `period_kind = {period:String}
                 AND ({metric:String} = '' OR metric = {metric:String})
                 AND ({scope_kind:String} = '' OR scope_kind = {scope_kind:String})
                 AND ({scope_id:String} = '' OR scope_id = {scope_id:String})
                 AND period_start >= {from:Date} AND period_start < {to:Date}`;
  const source = filter.asOf === undefined ? `(SELECT * FROM metric_values FINAL WHERE ${where})` : `(${metricValuesAsOfSql(where)})`;
  const rs = await store.client.query({
    query: `SELECT metric, scope_kind, scope_id, period_kind, toString(period_start) AS period_start, value, numerator, denominator,
                   sample_size, unit, definition_version, toString(computed_at) AS computed_at
            FROM ${source}
            ORDER BY metric, scope_kind, scope_id, period_start`,
    query_params: {
      period: filter.period,
      metric: filter.metric ?? '',
      scope_kind: filter.scope?.kind ?? '',
      scope_id: filter.scope?.id ?? '',
      from: filter.from ?? '1970-01-01',
      to: filter.to ?? '2149-06-06',
      ...(filter.asOf !== undefined ? { as_of: instantParam(filter.asOf) } : {}),
    },
    format: 'JSONEachRow',
  });
  const rows = await rs.json<Record<string, unknown>>();
  return rows.map((r) => ({
    metric: String(r['metric']),
    scope_kind: String(r['scope_kind']) as ScopeKind,
    scope_id: String(r['scope_id']),
    period_kind: String(r['period_kind']) as PeriodKind,
    period_start: String(r['period_start']),
    value: numberOrNull(r['value']),
    numerator: numberOrNull(r['numerator']),
    denominator: numberOrNull(r['denominator']),
    sample_size: Number(r['sample_size']),
    unit: String(r['unit']),
    definition_version: Number(r['definition_version']),
    computed_at: String(r['computed_at']),
  }));
}

export interface KpiRow {
  metric: string;
  /** The month, its first day. */
  month: Day;
  value: number | null;
  unit: string;
  sample_size: number;
}

/**
 * The org's monthly values of the last complete month that has any: the latest month with values that
 * started before the month containing `now` (in the metrics' time zone `tz`). Empty when there is none.
 */
export async function kpiSummary(store: Store, options: { now: Date; tz: string }): Promise<KpiRow[]> {
  const thisMonth = periodStart('month', today(options.tz, options.now));
  const rs = await store.client.query({
    query: `SELECT metric, toString(period_start) AS month, value, unit, sample_size FROM metric_values FINAL
            WHERE scope_kind = 'org' AND period_kind = 'month'
              AND period_start = (SELECT max(period_start) FROM metric_values FINAL WHERE period_kind = 'month' AND period_start < {month:Date})
            ORDER BY metric`,
    query_params: { month: thisMonth },
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ metric: string; month: string; value: number | string | null; unit: string; sample_size: string }>();
  return rows.map((r) => ({
    metric: r.metric,
    month: r.month,
    value: numberOrNull(r.value),
    unit: r.unit,
    sample_size: Number(r.sample_size),
  }));
}
