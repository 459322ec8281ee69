import type { Store } from '../../infra/store/client.js';

/**
 * The DORA performance tiers (docs/metrics.md item 6) by report year, kept as data: the 2023 Accelerate
 * State of DevOps report's performance levels and the 2024 report's performance clusters, for the four
 * key metrics in the units of this product's metrics:
 *   deployment_frequency                 deployments per week (the metric computed per week)
 *   change_lead_time_p50                 hours
 *   change_failure_rate                  ratio (0.05 = 5 %)
 *   failed_deployment_recovery_time_p50  hours
 *
 * The reports describe tiers in words ("between once per day and once per week", "less than one day")
 * and some ranges overlap or leave gaps. Each tier here is a half-open range lower <= value < upper
 * (NULL = open), and the tiers of one metric and year cover every value from 0 up without overlap, so a
 * value has exactly one tier. The words became numbers this way:
 *   - day = 24 h, week = 168 h, month = 365.25 / 12 days = 730.5 h, six months = 4383 h; once per day =
 *     7 per week, once per month = 7 / 30.4375 = 0.22998 per week;
 *   - a boundary belongs to the worse side's range only where the words say "less than": a team that
 *     deploys exactly once per day is in "on demand / daily or more", one that deploys exactly once a
 *     week is "between once per day and once per week"; a lead time of exactly one day is no longer
 *     "less than one day";
 *   - where the report gives a tier a range that lies inside a better tier's (2023 and 2024 recovery:
 *     high "less than one day" around elite's "less than one hour"), the tier starts where the better
 *     one ends;
 *   - where the report gives two tiers the same words (2023 medium and low deployment frequency and
 *     lead time; 2024 high and medium recovery time), a value in that range gets the better tier, and
 *     the worse one starts where the shared range ends (2023) or where the next tier's range begins
 *     (2024 medium recovery: from one day up to low's one week);
 *   - where the words leave a gap between two tiers (2023 recovery between one week and one month),
 *     the gap belongs to the better tier: the value has not reached the worse tier's range;
 *   - the worst tier is open-ended (a lead time of a year is low though the report's low cluster ends
 *     at six months);
 *   - change failure rates are given only as cluster centres (2023: 5, 10, 15, 64 %; 2024: 5, 20, 10,
 *     40 %): a rate belongs to the tier of the nearest centre, so the boundaries are the midpoints
 *     between adjacent centres. In 2024 the medium cluster's centre (10 %) is below the high cluster's
 *     (20 %), so by change failure rate alone medium sits between elite and high; the ranges keep the
 *     report's clusters as they are rather than reorder them.
 */

export type Tier = 'elite' | 'high' | 'medium' | 'low';
export type BenchmarkMetric =
  'deployment_frequency' | 'change_lead_time_p50' | 'change_failure_rate' | 'failed_deployment_recovery_time_p50';

export interface BenchmarkRow {
  report_year: number;
  metric: BenchmarkMetric;
  tier: Tier;
  lower: number | null;
  upper: number | null;
  unit: 'per_week' | 'hours' | 'ratio';
  label: string;
  version: number;
}

/** Raised whenever the rows below change; the table keeps the highest. */
export const BENCHMARKS_VERSION = 1;

const DAY = 24;
const WEEK = 7 * DAY;
const MONTH = (365.25 / 12) * DAY;
const DAILY = 7;
const WEEKLY = 1;
const MONTHLY = WEEK / MONTH;

interface TierRange {
  tier: Tier;
  lower: number | null;
  upper: number | null;
  label: string;
}

const UNITS: Record<BenchmarkMetric, BenchmarkRow['unit']> = {
  deployment_frequency: 'per_week',
  change_lead_time_p50: 'hours',
  change_failure_rate: 'ratio',
  failed_deployment_recovery_time_p50: 'hours',
};

/** Ranges per report year and metric, best tier first. */
const TIERS: Record<number, Record<BenchmarkMetric, TierRange[]>> = {
  2023: {
    deployment_frequency: [
      { tier: 'elite', lower: DAILY, upper: null, label: 'On demand (multiple deploys per day)' },
      { tier: 'high', lower: WEEKLY, upper: DAILY, label: 'Between once per day and once per week' },
      { tier: 'medium', lower: MONTHLY, upper: WEEKLY, label: 'Between once per week and once per month' },
      // The report's words for low are the same as medium's: what deploys less than monthly is low.
      {
        tier: 'low',
        lower: 0,
        upper: MONTHLY,
        label: 'Between once per week and once per month (as medium; here: less than once per month)',
      },
    ],
    change_lead_time_p50: [
      { tier: 'elite', lower: 0, upper: DAY, label: 'Less than one day' },
      { tier: 'high', lower: DAY, upper: WEEK, label: 'Between one day and one week' },
      { tier: 'medium', lower: WEEK, upper: MONTH, label: 'Between one week and one month' },
      // Same words as medium: what takes a month or longer is low.
      { tier: 'low', lower: MONTH, upper: null, label: 'Between one week and one month (as medium; here: one month or longer)' },
    ],
    // Cluster centres 5, 10, 15 and 64 %: boundaries at the midpoints 7.5, 12.5 and 39.5 %.
    change_failure_rate: [
      { tier: 'elite', lower: 0, upper: 0.075, label: '5% (cluster centre; below 7.5%)' },
      { tier: 'high', lower: 0.075, upper: 0.125, label: '10% (cluster centre; 7.5% to 12.5%)' },
      { tier: 'medium', lower: 0.125, upper: 0.395, label: '15% (cluster centre; 12.5% to 39.5%)' },
      { tier: 'low', lower: 0.395, upper: null, label: '64% (cluster centre; 39.5% or more)' },
    ],
    failed_deployment_recovery_time_p50: [
      { tier: 'elite', lower: 0, upper: 1, label: 'Less than one hour' },
      { tier: 'high', lower: 1, upper: DAY, label: 'Less than one day' },
      // The report's medium ends at one week and its low starts at one month: the gap is medium's.
      { tier: 'medium', lower: DAY, upper: MONTH, label: 'Between one day and one week (here: up to one month)' },
      { tier: 'low', lower: MONTH, upper: null, label: 'Between one month and six months' },
    ],
  },
  2024: {
    deployment_frequency: [
      { tier: 'elite', lower: DAILY, upper: null, label: 'On demand (multiple deploys per day)' },
      { tier: 'high', lower: WEEKLY, upper: DAILY, label: 'Between once per day and once per week' },
      { tier: 'medium', lower: MONTHLY, upper: WEEKLY, label: 'Between once per week and once per month' },
      { tier: 'low', lower: 0, upper: MONTHLY, label: 'Between once per month and once every six months' },
    ],
    change_lead_time_p50: [
      { tier: 'elite', lower: 0, upper: DAY, label: 'Less than one day' },
      { tier: 'high', lower: DAY, upper: WEEK, label: 'Between one day and one week' },
      { tier: 'medium', lower: WEEK, upper: MONTH, label: 'Between one week and one month' },
      { tier: 'low', lower: MONTH, upper: null, label: 'Between one month and six months' },
    ],
    // Cluster centres elite 5, medium 10, high 20, low 40 %: boundaries at the midpoints 7.5, 15 and 30 %.
    change_failure_rate: [
      { tier: 'elite', lower: 0, upper: 0.075, label: '5% (cluster centre; below 7.5%)' },
      { tier: 'medium', lower: 0.075, upper: 0.15, label: '10% (cluster centre; 7.5% to 15%)' },
      { tier: 'high', lower: 0.15, upper: 0.3, label: '20% (cluster centre; 15% to 30%)' },
      { tier: 'low', lower: 0.3, upper: null, label: '40% (cluster centre; 30% or more)' },
    ],
    failed_deployment_recovery_time_p50: [
      { tier: 'elite', lower: 0, upper: 1, label: 'Less than one hour' },
      { tier: 'high', lower: 1, upper: DAY, label: 'Less than one day' },
      // Same words as high: medium takes what lies between high's range and low's.
      { tier: 'medium', lower: DAY, upper: WEEK, label: 'Less than one day (as high; here: one day to one week)' },
      { tier: 'low', lower: WEEK, upper: null, label: 'Between one week and one month' },
    ],
  },
};

/** The report years with benchmarks. */
export const BENCHMARK_YEARS: readonly number[] = Object.keys(TIERS).map(Number);

/** The tier of a value of a metric by a report year's benchmarks; undefined for an unknown year or metric, or a value outside every range. */
export function tierOf(year: number, metricId: string, value: number): Tier | undefined {
  const ranges = TIERS[year]?.[metricId as BenchmarkMetric];
  if (ranges === undefined || !Number.isFinite(value)) return undefined;
  return ranges.find((r) => (r.lower === null || value >= r.lower) && (r.upper === null || value < r.upper))?.tier;
}

/** Every tier of every report year and metric, as rows of the dora_benchmarks table. */
export function benchmarkRows(): BenchmarkRow[] {
  const out: BenchmarkRow[] = [];
  for (const [year, metrics] of Object.entries(TIERS)) {
    for (const [metric, ranges] of Object.entries(metrics) as Array<[BenchmarkMetric, TierRange[]]>) {
      for (const r of ranges) {
        out.push({
          report_year: Number(year),
          metric,
          tier: r.tier,
          lower: r.lower,
          upper: r.upper,
          unit: UNITS[metric],
          label: r.label,
          version: BENCHMARKS_VERSION,
        });
      }
    }
  }
  return out;
}

/**
 * Writes the benchmark rows into dora_benchmarks. Idempotent: rows already stored with the same values
 * and version are not written again, so the table holds one row per year, metric and tier however
 * often it runs.
 */
export async function writeBenchmarks(store: Store): Promise<{ written: number }> {
  const rs = await store.client.query({
    query: `SELECT report_year, metric, tier, lower, upper, unit, label, version FROM dora_benchmarks FINAL`,
    format: 'JSONEachRow',
  });
  const stored = new Set(
    (await rs.json<BenchmarkRow>()).map((r) => rowKey({ ...r, report_year: Number(r.report_year), version: Number(r.version) })),
  );
  const rows = benchmarkRows().filter((r) => !stored.has(rowKey(r)));
  if (rows.length > 0) await store.client.insert({ table: 'dora_benchmarks', values: rows, format: 'JSONEachRow' });
  return { written: rows.length };
}

const rowKey = (r: BenchmarkRow): string =>
  JSON.stringify([
    r.report_year,
    r.metric,
    r.tier,
    r.lower === null ? null : Number(r.lower),
    r.upper === null ? null : Number(r.upper),
    r.unit,
    r.label,
    r.version,
  ]);
