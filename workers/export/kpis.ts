import type { Store } from '../../infra/store/client.js';
import { tierOf, type Tier } from '../metrics/benchmarks.js';
import { METRICS, metricById } from '../metrics/definitions/index.js';
import { readMetricValues, type MetricValueRow } from '../metrics/queries.js';
import { SCOPE_KINDS, type MetricDefinition, type ScopeKind } from '../metrics/types.js';
import { addMonths, monthStart, type Month } from './month.js';

/** A scope filter of the export: a kind, or a kind and an id. */
export interface ScopeFilter {
  kind: ScopeKind;
  id?: string;
}

export type ChangeDirection = 'better' | 'worse' | 'same';

/** One row of kpis.csv and kpis.json: a metric's monthly value for one scope, as metric_values FINAL holds it. */
export interface KpiRow {
  scope_kind: ScopeKind;
  scope_id: string;
  metric: string;
  title: string;
  unit: string;
  /** Which way is good, from the metric's definition ('' for a metric the catalogue no longer has). */
  better: 'higher' | 'lower' | '';
  value: number | null;
  numerator: number | null;
  denominator: number | null;
  sample_size: number;
  /** The DORA tier of the value by metrics.benchmarkYear (the metrics with a benchmark only: deployments_per_week, lead time p50, change failure rate, recovery p50). */
  tier: Tier | null;
  previous_value: number | null;
  /** value - previous_value, when both exist. */
  change: number | null;
  change_direction: ChangeDirection | null;
  definition_version: number;
}

/** The stored monthly values the export reads, one per metric, scope and month (a stored metric value without its period kind and computation time). */
export type StoredValue = Omit<MetricValueRow, 'period_kind' | 'computed_at' | 'scope_kind'> & { scope_kind: string };

/** How many months back the report's trend charts go, the export's month included. */
export const TREND_MONTHS = 6;

/**
 * The monthly values of the months [month - TREND_MONTHS + 1, month], exactly as metric_values FINAL holds
 * them; with `asOf`, as the store held them at that instant (per value the latest version computed at or
 * before it, a value deleted by then left out), read through the metrics' own as-of read.
 */
export async function readMonthlyValues(store: Store, month: Month, asOf?: Date): Promise<StoredValue[]> {
  const found = await readMetricValues(store, {
    period: 'month',
    from: monthStart(addMonths(month, -(TREND_MONTHS - 1))),
    to: monthStart(addMonths(month, 1)),
    ...(asOf !== undefined ? { asOf } : {}),
  });
  return found.map(({ period_kind: _kind, computed_at: _at, ...value }) => value);
}

export const matchesScope = (filters: readonly ScopeFilter[], kind: string, id: string): boolean =>
  filters.length === 0 || filters.some((f) => f.kind === kind && (f.id === undefined || f.id === id));

/**
 * The DORA tier of a stored monthly value: by the benchmark its definition names (deployment frequency
 * is placed by the stored weekly rate, deployments_per_week; the month's count has no tier).
 */
function tierOfValue(def: MetricDefinition | undefined, value: number | null, benchmarkYear: number): Tier | null {
  if (def?.benchmark === undefined || value === null) return null;
  return tierOf(benchmarkYear, def.benchmark, value) ?? null;
}

function direction(def: MetricDefinition | undefined, change: number): ChangeDirection | null {
  if (change === 0) return 'same';
  if (def === undefined) return null;
  return change > 0 === (def.better === 'higher') ? 'better' : 'worse';
}

const scopeRank = (kind: string): number => {
  const i = (SCOPE_KINDS as readonly string[]).indexOf(kind);
  return i < 0 ? SCOPE_KINDS.length : i;
};
const metricRank = new Map(METRICS.map((m, i) => [m.id, i]));

/**
 * The export's rows for a month: every stored value of the month in the filtered scopes, with the
 * previous month's value, the change, and the DORA tier. Order: scope kind (org, program, team, service,
 * repo), scope id, then the metric catalogue's order (docs/metrics.md), metrics it no longer has last.
 */
export function kpiRows(values: readonly StoredValue[], month: Month, filters: readonly ScopeFilter[], benchmarkYear: number): KpiRow[] {
  const start = monthStart(month);
  const previousStart = monthStart(addMonths(month, -1));
  const key = (v: Pick<StoredValue, 'metric' | 'scope_kind' | 'scope_id'>): string => `${v.metric}\u0000${v.scope_kind}\u0000${v.scope_id}`;
  const previous = new Map(values.filter((v) => v.period_start === previousStart).map((v) => [key(v), v.value]));
  const rows = values
    .filter((v) => v.period_start === start && matchesScope(filters, v.scope_kind, v.scope_id))
    .map((v): KpiRow => {
      const def = metricById(v.metric);
      const prev = previous.get(key(v)) ?? null;
      const change = v.value !== null && prev !== null ? v.value - prev : null;
      return {
        scope_kind: v.scope_kind as ScopeKind,
        scope_id: v.scope_id,
        metric: v.metric,
        title: def?.title ?? '',
        unit: v.unit,
        better: def?.better ?? '',
        value: v.value,
        numerator: v.numerator,
        denominator: v.denominator,
        sample_size: v.sample_size,
        tier: tierOfValue(def, v.value, benchmarkYear),
        previous_value: prev,
        change,
        change_direction: change === null ? null : direction(def, change),
        definition_version: v.definition_version,
      };
    });
  return rows.sort(
    (a, b) =>
      scopeRank(a.scope_kind) - scopeRank(b.scope_kind) ||
      (a.scope_id < b.scope_id ? -1 : a.scope_id > b.scope_id ? 1 : 0) ||
      (metricRank.get(a.metric) ?? METRICS.length) - (metricRank.get(b.metric) ?? METRICS.length) ||
      (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0),
  );
}

/** kpis.csv's columns, in order. */
export const CSV_COLUMNS = [
  'month',
  'scope_kind',
  'scope_id',
  'metric',
  'title',
  'unit',
  'better',
  'value',
  'numerator',
  'denominator',
  'sample_size',
  'tier',
  'previous_value',
  'change',
  'change_direction',
  'definition_version',
] as const;
