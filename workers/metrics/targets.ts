import { BENCHMARK_YEARS, benchmarkRows, type BenchmarkMetric, type Tier } from './benchmarks.js';

/**
 * The targets a program lead reads a KPI against, as data: the one place the dashboards' thresholds and
 * the report's red, amber and green come from. The "Existing targets" of the metrics catalogue (items 3,
 * 10, 11, 14, 17, 18), the targets of the KPIs whose facts come from outside the trackers (items 24-30),
 * and the DORA tiers of the latest report year in benchmarks.ts for deployment frequency, lead time and
 * recovery time.
 *
 * A target is a list of bands over the metric's value, lowest value first: a band runs from its `from`
 * (included) up to the next band's `from` (excluded); the first band has no lower end. That is how Grafana
 * reads threshold steps (a value takes the colour of the last step at or below it), so a band list is
 * a panel's thresholds as they are.
 */

export type Rag = 'red' | 'amber' | 'green';

export interface TargetBand {
  /** The band's lowest value (included); null for the first band, which has no lower end. */
  from: number | null;
  status: Rag;
  /** What the band is called where a name says more than its colour (a DORA tier). */
  label?: string;
}

export interface MetricTarget {
  /** The metric id (metric_values.metric). */
  metric: string;
  /** The metrics catalogue item the target comes from (docs/metrics.md). */
  item: number;
  /** The unit of the values the bands are in. */
  unit: 'ratio' | 'percent' | 'hours' | 'days' | 'per_week' | 'score';
  better: 'higher' | 'lower' | 'closer to zero';
  bands: TargetBand[];
  /** The target in words, as a status line or a legend says it. */
  text: string;
  /** Whether a metric of the product computes it today. */
  computed: boolean;
}

const band = (from: number | null, status: Rag, label?: string): TargetBand =>
  label === undefined ? { from, status } : { from, status, label };

/** Higher is better: red below `amber`, amber from `amber`, green from `green`. */
const atLeast = (amber: number, green: number): TargetBand[] => [band(null, 'red'), band(amber, 'amber'), band(green, 'green')];
/** Lower is better: green below `amber`, amber from `amber`, red from `red`. */
const below = (amber: number, red: number): TargetBand[] => [band(null, 'green'), band(amber, 'amber'), band(red, 'red')];

/** The report year whose DORA tiers the targets use: the latest in benchmarks.ts. */
export const DORA_TARGET_YEAR = Math.max(...BENCHMARK_YEARS);

/** A DORA tier as a status: elite and high are on target, medium is to watch, low is to act on. */
const TIER_STATUS: Record<Tier, Rag> = { elite: 'green', high: 'green', medium: 'amber', low: 'red' };

/** The tiers of a metric in the target year as bands, lowest value first. */
function doraBands(metric: BenchmarkMetric): TargetBand[] {
  const tiers = benchmarkRows()
    .filter((r) => r.report_year === DORA_TARGET_YEAR && r.metric === metric)
    .sort((a, b) => (a.lower ?? 0) - (b.lower ?? 0));
  return tiers.map((t, i) => band(i === 0 ? null : t.lower, TIER_STATUS[t.tier], t.tier));
}

const dora = (metric: BenchmarkMetric, unit: MetricTarget['unit'], better: MetricTarget['better'], text: string): MetricTarget => ({
  metric,
  item: 6,
  unit,
  better,
  bands: doraBands(metric),
  text: `${text} (DORA ${DORA_TARGET_YEAR} tiers: elite and high green, medium amber, low red)`,
  computed: true,
});

const onTime = (metric: string): MetricTarget => ({
  metric,
  item: 10,
  unit: 'ratio',
  better: 'higher',
  bands: atLeast(0.8, 0.9),
  text: 'red below 80%, amber 80-90%, green from 90%',
  computed: true,
});

/** Actual against planned (item 29): green within 10% either way, amber 10-20%, red beyond 20%. */
const variance = (metric: string, what: string): MetricTarget => ({
  metric,
  item: 29,
  unit: 'ratio',
  better: 'closer to zero',
  bands: [band(null, 'red'), band(-0.2, 'amber'), band(-0.1, 'green'), band(0.1, 'amber'), band(0.2, 'red')],
  text: `${what}: green within 10% either way, amber 10-20%, red beyond 20%`,
  computed: true,
});

export const TARGETS: readonly MetricTarget[] = [
  onTime('milestone_on_time_rate_original'),
  onTime('milestone_on_time_rate_latest'),
  {
    metric: 'schedule_variance_percent_p50',
    item: 11,
    unit: 'percent',
    better: 'lower',
    bands: below(10, 15),
    text: 'green under 10% of the planned duration late, amber 10-15%, red from 15% (early is green)',
    computed: true,
  },
  {
    metric: 'dependency_age_mean_days',
    item: 14,
    unit: 'days',
    better: 'lower',
    bands: [band(null, 'green'), band(14, 'red')],
    text: 'green while blocking dependencies are open under 2 weeks on average, red from 14 days',
    computed: true,
  },
  {
    // The target is 5 business days; the metric counts calendar hours. Within 5 calendar days (120 h) a
    // decision is certainly within 5 business days, from 7 calendar days (168 h) certainly not; between
    // the two it depends on the weekends it spans.
    metric: 'decision_latency_p50',
    item: 17,
    unit: 'hours',
    better: 'lower',
    bands: below(120, 168),
    text: 'green under 5 days (120 h), amber 5-7 days (within 5 business days only across a weekend), red from 7 days (168 h)',
    computed: true,
  },
  {
    // Each release-critical decision already has its 48 h target; the share made within it should be all of them.
    metric: 'release_critical_decisions_on_time',
    item: 17,
    unit: 'ratio',
    better: 'higher',
    bands: atLeast(0.9, 1),
    text: 'release-critical decisions made within 48 h: green when all are, amber from 90%, red below 90%',
    computed: true,
  },
  {
    metric: 'action_item_closure_rate',
    item: 18,
    unit: 'ratio',
    better: 'higher',
    bands: atLeast(0.85, 0.95),
    text: 'red below 85% closed by their due date, amber 85-95%, green from 95%',
    computed: true,
  },
  {
    metric: 'change_failure_rate',
    item: 3,
    unit: 'ratio',
    better: 'lower',
    bands: below(0.1, 0.15),
    text: 'green under 10% of production deployments failing, amber 10-15%, red from 15%',
    computed: true,
  },
  dora('deployment_frequency', 'per_week', 'higher', 'successful production deployments per week'),
  dora('change_lead_time_p50', 'hours', 'lower', 'median hours from first commit to production'),
  dora('failed_deployment_recovery_time_p50', 'hours', 'lower', 'median hours from a failed deployment to its recovery'),
  {
    metric: 'release_readiness_pass_rate',
    item: 24,
    unit: 'ratio',
    better: 'higher',
    bands: [band(null, 'red'), band(0.9, 'green')],
    text: 'readiness checks passing at go/no-go: green from 90%, red below',
    computed: true,
  },
  {
    metric: 'stakeholder_satisfaction',
    item: 25,
    unit: 'score',
    better: 'higher',
    bands: [band(null, 'red'), band(4.2, 'green')],
    text: 'mean survey score (1-5): green from 4.2, red below',
    computed: true,
  },
  {
    // The share of positive answers less the share of negative ones (-1 to 1): net positive is above 0.
    metric: 'engineering_sentiment_net',
    item: 26,
    unit: 'ratio',
    better: 'higher',
    bands: [band(null, 'red'), band(0, 'green')],
    text: 'positive less negative answers: green when not net negative (from 0), red below',
    computed: true,
  },
  {
    metric: 'outcome_attainment_rate',
    item: 27,
    unit: 'ratio',
    better: 'higher',
    bands: [band(null, 'red'), band(0.8, 'green')],
    text: 'outcome targets met or revised with a rationale: green from 80%, red below',
    computed: true,
  },
  {
    metric: 'adoption_completion_rate',
    item: 28,
    unit: 'ratio',
    better: 'higher',
    bands: [band(null, 'red'), band(0.9, 'green')],
    text: 'planned adopters enabled by their date: green from 90%, red below',
    computed: true,
  },
  variance('effort_variance', 'story points at completion against those at the commit point'),
  variance('effort_hours_variance', 'time logged at completion against the original estimate at the commit point'),
  variance('spend_variance', "allocated cost against the month's budget"),
  {
    metric: 'compliance_evidence_completeness',
    item: 30,
    unit: 'ratio',
    better: 'higher',
    bands: [band(null, 'red'), band(1, 'green')],
    text: 'required controls with evidence by their audit date: green at 100%, red below',
    computed: true,
  },
];

/**
 * A milestone forecast's confidence, P(done by the committed date) (metrics catalogue item 21), read as
 * its band is: off track (red) below 0.5, at risk (amber) from 0.5, on track (green) from 0.8, the default
 * bands of metrics.forecast. It is a column of milestone_forecasts, not a metric of metric_values, so it
 * is not among TARGETS; the dashboards colour a confidence by it.
 */
export const FORECAST_CONFIDENCE_TARGET: MetricTarget = {
  metric: 'milestone_forecast_confidence',
  item: 21,
  unit: 'ratio',
  better: 'higher',
  bands: [band(null, 'red', 'off track'), band(0.5, 'amber', 'at risk'), band(0.8, 'green', 'on track')],
  text: 'P(done by the committed date): red (off track) below 0.5, amber (at risk) from 0.5, green (on track) from 0.8',
  computed: true,
};

/** The target of a metric, or undefined when it has none. */
export function targetOf(metric: string): MetricTarget | undefined {
  return TARGETS.find((t) => t.metric === metric);
}

/** Where a value stands against a target: red, amber or green; undefined without a value. */
export function statusAgainst(target: MetricTarget, value: number | null | undefined): Rag | undefined {
  if (value === null || value === undefined || !Number.isFinite(value)) return undefined;
  let status = target.bands[0]!.status;
  for (const b of target.bands) if (b.from === null || value >= b.from) status = b.status;
  return status;
}

/** Where a value stands against its metric's target: red, amber or green; undefined with no target or no value. */
export function statusOf(metric: string, value: number | null | undefined): Rag | undefined {
  const t = targetOf(metric);
  return t === undefined ? undefined : statusAgainst(t, value);
}

/** The colours a dashboard shows a status in (Grafana's palette names; amber is its orange). */
export const RAG_COLOURS: Record<Rag, string> = { red: 'red', amber: 'orange', green: 'green' };

export interface GrafanaThresholds {
  mode: 'absolute';
  steps: Array<{ color: string; value: number | null }>;
}

/** A target as a Grafana panel's thresholds (fieldConfig thresholds). */
export function grafanaThresholds(target: MetricTarget): GrafanaThresholds {
  return { mode: 'absolute', steps: target.bands.map((b) => ({ color: RAG_COLOURS[b.status], value: b.from })) };
}
