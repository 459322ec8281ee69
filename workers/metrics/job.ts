import { performance } from 'node:perf_hooks';
import { systemClock, type Clock } from '../../infra/clock.js';
import type { Config } from '../../infra/config/schema.js';
import type { Logger } from '../../infra/observability/logger.js';
import type { Store } from '../../infra/store/client.js';
import { writeBenchmarks } from './benchmarks.js';
import { METRICS } from './definitions/index.js';
import { writeOrgScopes } from './org-scopes.js';
import { computeRiskSignals } from './risk.js';
import { addDays, computeMetrics, metricParams, periodStart, scopesOf, today, type ComputeResult, type Day } from './engine.js';
import type { MetricDefinition, PeriodKind } from './types.js';

/**
 * What a metrics run recomputes:
 * - recent: the periods still changing: today and yesterday, the current and previous week, the current
 *   month (every few minutes);
 * - full: every period from the first fact on (daily);
 * - month-close: the month that has just ended, once more, after late data (on the first of the month);
 * - range: the given days (backfill, or a user's recompute).
 */
export type MetricsRun = { mode: 'recent' } | { mode: 'full' } | { mode: 'month-close' } | { mode: 'range'; from: Day; to: Day };

const minDay = (a: Day, b: Day): Day => (a < b ? a : b);

export { today };

/** The first day with any fact the metrics read, by `before`, or undefined for an empty store: where a full run starts. */
export async function firstFactDay(store: Store, before: Date): Promise<Day | undefined> {
  const rs = await store.client.query({
    query: `SELECT toString(toDate(min(t))) AS day, count() AS n FROM
            (
                SELECT min(created_at) AS t FROM deployments
                UNION ALL SELECT min(created_at) FROM incidents
                UNION ALL SELECT min(created_at) FROM work_items
                UNION ALL SELECT min(created_at) FROM pipeline_runs
                UNION ALL SELECT min(created_at) FROM pull_requests
            ) WHERE t > toDateTime64('1971-01-01', 3, 'UTC') AND t <= {before:DateTime64(3)}`,
    query_params: { before: before.getTime() / 1000 },
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ day: string; n: string }>();
  return row === undefined || Number(row.n) === 0 ? undefined : row.day;
}

/** The days [from, to) a run at instant `now` covers (periods up to the one containing it). */
export async function runRange(store: Store, run: MetricsRun, tz: string, now: Date): Promise<{ from: Day; to: Day } | undefined> {
  const day = today(tz, now);
  const tomorrow = addDays(day, 1);
  switch (run.mode) {
    case 'recent': {
      const starts = [addDays(day, -1), periodStart('week', addDays(day, -7)), periodStart('month', day)].sort();
      return { from: starts[0]!, to: tomorrow };
    }
    case 'full': {
      const first = await firstFactDay(store, now);
      return first === undefined ? undefined : { from: first, to: tomorrow };
    }
    case 'month-close': {
      const thisMonth = periodStart('month', day);
      return { from: periodStart('month', addDays(thisMonth, -1)), to: thisMonth };
    }
    case 'range':
      return { from: run.from, to: run.to };
  }
}

export interface MetricsJobResult extends ComputeResult {
  from: Day | undefined;
  to: Day | undefined;
}

/**
 * One metrics run: recompute the periods of the run's range (see MetricsRun) for every metric, each
 * period replacing its earlier values, and record the run in metric_runs (failed runs too, with the
 * error, before the error goes on to the scheduler, which retries).
 */
export async function runMetricsJob(options: {
  store: Store;
  config: Pick<Config, 'model' | 'metrics' | 'org'>;
  run: MetricsRun;
  definitions?: MetricDefinition[];
  periods?: PeriodKind[];
  logger?: Logger;
  /** Where "now" comes from (default the system clock): the run's instant and its record's times. */
  clock?: Clock;
  /** The run's instant when it is not the clock's now. */
  now?: Date;
  /**
   * Evaluate the metrics as of this past instant (--as-of): the periods up to the one containing it,
   * a period still running then taken as it stood then, nothing dated after it counted, and the values
   * and risk signals recorded as computed at it (see computeMetrics). Not after the clock's now.
   */
  asOf?: Date;
  /** Stops the run between two metrics when the process is stopping (see computeMetrics). */
  signal?: AbortSignal;
}): Promise<MetricsJobResult> {
  const { store, config } = options;
  const clock = options.clock ?? systemClock;
  const current = options.now ?? clock.date();
  if (options.asOf !== undefined && !Number.isFinite(options.asOf.getTime())) throw new RangeError('--as-of: not an instant');
  if (options.asOf !== undefined && options.asOf.getTime() > current.getTime())
    throw new RangeError(`--as-of ${options.asOf.toISOString()} is not an instant up to now (${current.toISOString()})`);
  const now = options.asOf ?? current;
  const started = clock.date();
  const startedMs = performance.now();
  const job = `metrics-${options.run.mode}`;
  let range: { from: Day; to: Day } | undefined;
  try {
    // The dashboards' variables name the scopes as the configuration does now, whatever instant is computed.
    await writeOrgScopes(store, config.org, current);
    range = await runRange(store, options.run, config.metrics.timeZone, now);
    const result: ComputeResult =
      range === undefined
        ? { metrics: 0, rows: 0, retracted: 0, ms: 0 }
        : await computeMetrics({
            store,
            definitions: options.definitions ?? METRICS,
            params: metricParams(config),
            from: range.from,
            to: range.to,
            scopes: scopesOf(config.org),
            ...(options.periods !== undefined ? { periods: options.periods } : {}),
            now,
            ...(options.signal !== undefined ? { signal: options.signal } : {}),
          });
    // Risk signals read the weekly values just written; benchmarks are data the dashboards join.
    const risk =
      range === undefined || (options.periods !== undefined && !options.periods.includes('week'))
        ? undefined
        : await computeRiskSignals({
            store,
            params: metricParams(config),
            risk: config.metrics.risk,
            // Only whole weeks: a week still running would look like a drop in every count.
            weeks: { from: range.from, to: minDay(range.to, periodStart('week', today(config.metrics.timeZone, now))) },
            now,
            ...(options.asOf !== undefined ? { asOf: options.asOf } : {}),
          });
    if (options.run.mode === 'full') await writeBenchmarks(store);
    const rows = result.rows + (risk === undefined ? 0 : risk.signals + risk.scores);
    await record(store, clock, { job, started, range, metrics: result.metrics, rows, status: 'ok', error: '' });
    options.logger?.info(
      { job, ...range, ...result, risk, ms: Math.round(performance.now() - startedMs), asOf: options.asOf?.toISOString() },
      'metrics recomputed',
    );
    return { ...result, rows, from: range?.from, to: range?.to };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await record(store, clock, { job, started, range, metrics: 0, rows: 0, status: 'failed', error: message.slice(0, 2000) }).catch(
      () => undefined,
    );
    throw err;
  }
}

async function record(
  store: Store,
  clock: Clock,
  r: {
    job: string;
    started: Date;
    range: { from: Day; to: Day } | undefined;
    metrics: number;
    rows: number;
    status: string;
    error: string;
  },
): Promise<void> {
  await store.client.insert({
    table: 'metric_runs',
    values: [
      {
        job: r.job,
        started_at: r.started.toISOString(),
        finished_at: clock.date().toISOString(),
        period_from: r.range?.from ?? '1970-01-01',
        period_to: r.range?.to ?? '1970-01-01',
        metrics: r.metrics,
        rows_written: r.rows,
        status: r.status,
        error: r.error,
      },
    ],
    format: 'JSONEachRow',
  });
}
