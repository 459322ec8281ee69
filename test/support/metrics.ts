import { defaultMetricsConfig, defaultModel } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import { addDays, computeMetrics, explainMetric, metricParams, nextPeriod, periodStart, type Day } from '../../workers/metrics/engine.js';
import type { MetricDefinition, MetricParams, PeriodKind, ScopeKind } from '../../workers/metrics/types.js';
import { queryRows } from './harness.js';

/** The default parameters, with any of them overridden. */
export const testParams = (over: Partial<MetricParams> = {}): MetricParams => ({
  ...metricParams({ model: defaultModel(), metrics: defaultMetricsConfig() }),
  ...over,
});

export interface Value {
  value: number | null;
  numerator: number | null;
  denominator: number | null;
  sample_size: number;
}

/**
 * An instant after every day, week and month overlapping [.., to) has ended (a day of margin for any
 * time zone): the default "now" of the helpers, so each period in a test is a complete one.
 */
export function settledAfter(to: Day): Date {
  const last = addDays(to, -1);
  const ends = (['day', 'week', 'month'] as const).map((k) => nextPeriod(k, periodStart(k, last))).sort();
  return new Date(`${addDays(ends[ends.length - 1]!, 1)}T00:00:00Z`);
}

let lastRun = 0;

/**
 * The default instant of a run over [.., to): after every period of the range has ended, and later than
 * the previous default run, so a recompute in the same store replaces what an earlier one wrote.
 */
function runInstant(to: Day): Date {
  lastRun = Math.max(settledAfter(to).getTime(), lastRun + 1);
  return new Date(lastRun);
}

/**
 * Computes the metrics over [from, to) and returns a reader of single values. The run's instant is
 * `options.now`, by default one after every period of the range has ended (see runInstant).
 */
export async function compute(
  store: Store,
  definitions: MetricDefinition[],
  from: Day,
  to: Day,
  params: MetricParams = testParams(),
  scopes?: Array<{ kind: ScopeKind; id: string }>,
  options: { now?: Date } = {},
): Promise<(metric: string, scope: `${ScopeKind}:${string}`, period: PeriodKind, start: Day) => Promise<Value | undefined>> {
  const now = options.now ?? runInstant(to);
  await computeMetrics({ store, definitions, params, from, to, now, ...(scopes !== undefined ? { scopes } : {}) });
  return async (metric, scope, period, start) => {
    const [kind, ...rest] = scope.split(':');
    const rows = await queryRows<{ value: number | null; numerator: number | null; denominator: number | null; sample_size: string }>(
      store,
      `SELECT value, numerator, denominator, sample_size FROM metric_values FINAL
       WHERE metric = {m:String} AND scope_kind = {k:String} AND scope_id = {id:String} AND period_kind = {p:String} AND period_start = {s:Date}`,
      { m: metric, k: kind, id: rest.join(':'), p: period, s: start },
    );
    const r = rows[0];
    return r === undefined
      ? undefined
      : { value: r.value, numerator: r.numerator, denominator: r.denominator, sample_size: Number(r.sample_size) };
  };
}

/** The units behind one value (see explainMetric), as of `asOf` (default: once the period has ended). */
export function explain(
  store: Store,
  definition: MetricDefinition,
  scope: `${ScopeKind}:${string}`,
  period: PeriodKind,
  start: Day,
  params = testParams(),
  asOf: Date = settledAfter(nextPeriod(period, periodStart(period, start))),
) {
  const [kind, ...rest] = scope.split(':');
  return explainMetric({
    store,
    definition,
    params,
    scope: { kind: kind as ScopeKind, id: rest.join(':') },
    period: { kind: period, start },
    asOf,
  });
}
