import { defaultMetricsConfig, defaultModel } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import { computeMetrics, explainMetric, metricParams, type Day } from '../../workers/metrics/engine.js';
import type { MetricDefinition, MetricParams, PeriodKind, ScopeKind } from '../../workers/metrics/types.js';
import { queryRows } from './harness.js';

/** The default parameters, with any of them overridden. */
export const testParams = (over: Partial<MetricParams> = {}): MetricParams => ({
  ...metricParams(defaultModel(), defaultMetricsConfig()),
  ...over,
});

export interface Value {
  value: number | null;
  numerator: number | null;
  denominator: number | null;
  sample_size: number;
}

/** Computes the metrics over [from, to) and returns a reader of single values. */
export async function compute(
  store: Store,
  definitions: MetricDefinition[],
  from: Day,
  to: Day,
  params: MetricParams = testParams(),
  scopes?: Array<{ kind: ScopeKind; id: string }>,
): Promise<(metric: string, scope: `${ScopeKind}:${string}`, period: PeriodKind, start: Day) => Promise<Value | undefined>> {
  await computeMetrics({ store, definitions, params, from, to, ...(scopes !== undefined ? { scopes } : {}) });
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

/** The units behind one value (see explainMetric). */
export function explain(
  store: Store,
  definition: MetricDefinition,
  scope: `${ScopeKind}:${string}`,
  period: PeriodKind,
  start: Day,
  params = testParams(),
) {
  const [kind, ...rest] = scope.split(':');
  return explainMetric({
    store,
    definition,
    params,
    scope: { kind: kind as ScopeKind, id: rest.join(':') },
    period: { kind: period, start },
  });
}
