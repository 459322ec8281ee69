import { existsSync } from 'node:fs';
import path from 'node:path';
import { systemClock, type Clock } from '../../infra/clock.js';
import { writeFolder } from '../../infra/files.js';
import type { Config } from '../../infra/config/schema.js';
import type { Logger } from '../../infra/observability/logger.js';
import type { Store } from '../../infra/store/client.js';
import { runMetricsJob } from '../metrics/job.js';
import { toCsv } from './csv.js';
import { forecastCsv, forecastsAt } from './forecasts.js';
import { CSV_COLUMNS, kpiRows, readMonthlyValues, type KpiRow, type ScopeFilter } from './kpis.js';
import { addMonths, lastCompleteMonth, monthStart, type Month } from './month.js';
import { readouts, registerInstants } from './readout.js';
import { registerCsv } from './register-csv.js';
import { metricParams } from '../metrics/engine.js';
import { readRegister, REGISTERS } from '../registers/index.js';
import { describeScopes, reportData, type ScopeInfo } from './report-data.js';
import { renderReport } from './report.js';

/** What an export reads from the configuration. */
export type ExportSettings = Pick<Config, 'model' | 'metrics' | 'org' | 'export' | 'dataDir' | 'configPath'>;

/** An export that cannot be made from what the store holds. */
export class ExportError extends Error {
  constructor(
    /** no_values: the month has no monthly metric value at all; no_scope_values: none in the scopes asked for. */
    readonly code: 'no_values' | 'no_scope_values',
    message: string,
  ) {
    super(message);
    this.name = 'ExportError';
  }
}

/** The folder exports go to: `export.dir` (relative to the config file's folder), else `<dataDir>/exports`. */
export function exportRoot(config: Pick<Config, 'export' | 'dataDir' | 'configPath'>): string {
  const dir = config.export.dir;
  if (dir === undefined) return path.join(config.dataDir, 'exports');
  return path.resolve(config.configPath !== undefined ? path.dirname(config.configPath) : process.cwd(), dir);
}

/** The shape of kpis.json (docs/export.md). */
export interface KpiExport {
  format: 'ptel-kpi-export';
  format_version: 1;
  month: Month;
  period_start: string;
  generated_at: string;
  /** The instant the export reads the store at (ISO 8601, UTC), or null for the store as it was when generated. */
  as_of: string | null;
  time_zone: string;
  benchmark_year: number;
  /** The --scope filters asked for ('team:checkout', 'program'), empty for every scope. */
  scope_filter: string[];
  scopes: ScopeInfo[];
  kpis: KpiRow[];
}

export interface ExportResult {
  month: Month;
  dir: string;
  rows: number;
  scopes: number;
}

export const EXPORT_FILES = [
  'kpis.csv',
  'kpis.json',
  'report.html',
  'forecasts.csv',
  ...REGISTERS.map((r) => `register-${r.id}.csv` as const),
] as const;

const filterText = (f: ScopeFilter): string => (f.id === undefined ? f.kind : `${f.kind}:${f.id}`);

/**
 * Exports one month: kpis.csv, kpis.json, report.html, forecasts.csv and the registers' CSV in `<out>/<YYYY-MM>/`, written into a temporary
 * folder beside it and renamed into place, so a reader sees the previous export or the new one, never a
 * part of either. The numbers are the stored monthly values (metric_values FINAL), not recomputed. With
 * `asOf`, everything is read as the store held it at that instant (the values, the risks, the incidents
 * and their links, the stalls), so an export made later gives what an export made then gave.
 */
export async function runExport(options: {
  store: Store;
  config: ExportSettings;
  month: Month;
  /** The folder that holds the month folders (default: exportRoot). */
  out?: string;
  scopes?: ScopeFilter[];
  /** Read the store as it stood at this instant instead of as it is now. */
  asOf?: Date;
  /** Where generated_at (and, without asOf, the stalls' instant) comes from; default the system clock. */
  clock?: Clock;
}): Promise<ExportResult> {
  const { store, config, month, asOf } = options;
  const clock = options.clock ?? systemClock;
  if (asOf !== undefined && !Number.isFinite(asOf.getTime())) throw new RangeError('export as of: not an instant');
  const filters = options.scopes ?? [];
  const history = await readMonthlyValues(store, month, asOf);
  if (!history.some((v) => v.period_start === monthStart(month))) {
    throw new ExportError(
      'no_values',
      asOf !== undefined
        ? `no metric values for ${month} as of ${asOf.toISOString()}: no monthly value of any metric for that month had been ` +
            'computed by then. Export without --as-of for the values stored now.'
        : `no metric values for ${month}: the store has no monthly value of any metric for that month. ` +
            `Compute them with \`ptel metrics backfill --from ${monthStart(month)} --to ${monthStart(addMonths(month, 1))}\`, ` +
            `or let the month-close job run (metrics.monthCloseCron), then export again.`,
    );
  }
  const rows = kpiRows(history, month, filters, config.metrics.benchmarkYear);
  if (rows.length === 0) {
    throw new ExportError(
      'no_scope_values',
      `no metric values for ${filters.map(filterText).join(', ')} in ${month}, though the month has values for other scopes; ` +
        'check the scope ids with `ptel metrics show --scope KIND`.',
    );
  }
  const scopes = describeScopes(rows, config.org);
  const reports = await reportData({ store, month, scopes, rows, filters, config, clock, ...(asOf !== undefined ? { asOf } : {}) });
  // The readout pages: each program shown (and the org), from the registers at the month's end, or at the as-of instant (or now) before it.
  const pages = await readouts({ store, month, scopes: reports.map((r) => r.scope), rows, config, until: asOf ?? clock.date() });
  // Each register as it stood when the month ended (or at the as-of instant before), every column, as CSV.
  const taken = registerInstants(month, config.metrics.timeZone, asOf ?? clock.date());
  // The milestone forecasts of the latest run by then: a run made after the month does not change the month's export.
  const forecasts = await forecastsAt(store, taken.at);
  const params = metricParams(config);
  const registerFiles: Record<string, string> = {};
  for (const definition of REGISTERS) {
    const register = await readRegister(store, definition, { params, asOf: taken.at, recentDays: taken.recentDays });
    registerFiles[`register-${definition.id}.csv`] = registerCsv(definition.columns, register.rows);
  }
  const generatedAt = clock.date().toISOString();
  const asOfText = asOf === undefined ? null : asOf.toISOString();
  const doc: KpiExport = {
    format: 'ptel-kpi-export',
    format_version: 1,
    month,
    period_start: monthStart(month),
    generated_at: generatedAt,
    as_of: asOfText,
    time_zone: config.metrics.timeZone,
    benchmark_year: config.metrics.benchmarkYear,
    scope_filter: filters.map(filterText),
    scopes,
    kpis: rows,
  };
  const files: Record<string, string> = {
    ...registerFiles,
    'kpis.csv': toCsv(
      CSV_COLUMNS,
      rows.map((r) => ({ month, ...r })),
    ),
    'kpis.json': `${JSON.stringify(doc, null, 2)}\n`,
    'forecasts.csv': forecastCsv(month, forecasts),
    'report.html': renderReport({
      month,
      generatedAt,
      asOf: asOfText,
      timeZone: config.metrics.timeZone,
      benchmarkYear: config.metrics.benchmarkYear,
      rows,
      history,
      scopes: reports,
      readouts: pages,
      forecasts,
    }),
  };
  const dir = path.join(options.out ?? exportRoot(config), month);
  await writeFolder(dir, files);
  return { month, dir, rows: rows.length, scopes: scopes.length };
}

/**
 * Whether a metrics run that covers the whole month succeeded after the month ended (the month close, a
 * full run, or a backfill), so its values are final.
 */
export async function monthClosed(store: Store, month: Month, tz: string): Promise<boolean> {
  const rs = await store.client.query({
    query: `SELECT count() AS n FROM metric_runs
            WHERE status = 'ok' AND period_from <= {from:Date} AND period_to >= {to:Date}
              AND started_at >= toDateTime64(toDate({to:String}), 3, {tz:String})`,
    query_params: { from: monthStart(month), to: monthStart(addMonths(month, 1)), tz },
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ n: string }>();
  return Number(row?.n ?? 0) > 0;
}

/** Whether the store holds any event from before the month's end: without one there is nothing to export. */
async function hasEventsBefore(store: Store, month: Month, tz: string): Promise<boolean> {
  const rs = await store.client.query({
    query: `SELECT count() AS n FROM (SELECT 1 FROM raw_events WHERE time < toDateTime64(toDate({to:String}), 3, {tz:String}) LIMIT 1)`,
    query_params: { to: monthStart(addMonths(month, 1)), tz },
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ n: string }>();
  return Number(row?.n ?? 0) > 0;
}

/**
 * The scheduled export of the month just ended (in metrics.timeZone). Its numbers must be final: when no
 * metrics run has covered the month since it ended (the month close has not run yet, is late, or failed
 * every attempt), it closes the month itself first; a recompute replaces the same periods, so a month
 * close running at the same time does no harm. A store with no event from before the month's end (a
 * first start, before anything was pulled) has nothing to export: the run says so and writes nothing.
 */
export async function exportMonthJustEnded(options: {
  store: Store;
  config: ExportSettings;
  logger?: Logger;
  /** Where now comes from: the month just ended, the metrics run's instant, generated_at. Default the system clock. */
  clock?: Clock;
}): Promise<ExportResult | undefined> {
  const { store, config, logger } = options;
  const clock = options.clock ?? systemClock;
  const now = clock.date();
  const month = lastCompleteMonth(config.metrics.timeZone, now);
  // What went out for a month stays as it was: a restart or a retried run does not rewrite it (ptel export does).
  if (existsSync(path.join(exportRoot(config), month, 'kpis.csv'))) {
    logger?.info({ month }, 'the month is exported already; ptel export --month rewrites it');
    return undefined;
  }
  if (!(await hasEventsBefore(store, month, config.metrics.timeZone))) {
    logger?.info({ month }, 'the store holds no event from before the end of the month; nothing to export yet');
    return undefined;
  }
  if (!(await monthClosed(store, month, config.metrics.timeZone))) {
    logger?.info({ month }, 'no metrics run has covered the month since it ended; closing it before the export');
    await runMetricsJob({ store, config, run: { mode: 'month-close' }, clock, ...(logger !== undefined ? { logger } : {}) });
  }
  const result = await runExport({ store, config, month, clock });
  logger?.info(result, 'monthly export written');
  return result;
}
