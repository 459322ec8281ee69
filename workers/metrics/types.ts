export const SCOPE_KINDS = ['org', 'program', 'team', 'service', 'repo'] as const;
export type ScopeKind = (typeof SCOPE_KINDS)[number];

/** A scope as an option writes it, KIND or KIND:ID (team:checkout); what is wrong with it otherwise. */
export function parseScope(text: string): { kind: ScopeKind; id?: string } | string {
  const at = text.indexOf(':');
  const kind = at < 0 ? text : text.slice(0, at);
  const id = at < 0 ? undefined : text.slice(at + 1);
  if (!(SCOPE_KINDS as readonly string[]).includes(kind) || id === '')
    return `--scope '${text}': expected KIND or KIND:ID with KIND one of ${SCOPE_KINDS.join(', ')}, for example team:checkout`;
  return id === undefined ? { kind: kind as ScopeKind } : { kind: kind as ScopeKind, id };
}

export const PERIOD_KINDS = ['day', 'week', 'month'] as const;
export type PeriodKind = (typeof PERIOD_KINDS)[number];

/**
 * How a metric's units become one value per scope and period:
 * - count: the sum of `num` (1 per unit unless the units say otherwise);
 * - ratio: sum(num) / sum(den), with both kept;
 * - quantile: the exact quantile `q` of `value` (linear interpolation between the two nearest values, so
 *   the median of an even count is the mean of the middle two);
 * - mean: the mean of `value`;
 * - distinct: how many different `item`s (e.g. days with a deployment).
 */
export type Aggregate = { kind: 'count' } | { kind: 'distinct' } | { kind: 'ratio' } | { kind: 'quantile'; q: number } | { kind: 'mean' };

/**
 * One metric: its definition as data. `units` is a ClickHouse SELECT giving one row per thing counted
 * (a deployment, a change, an incident, a work item, ...) with these columns:
 *   at          DateTime64  the instant that puts the unit in a period
 *   program, team, service, repo   String  its scopes ('' where one does not apply)
 *   num, den    Float64     its part of a ratio or a count
 *   value       Nullable(Float64)  its value for quantiles and means (hours, days, percent ...)
 *   item        String      what the unit is, e.g. 'github deployment 1234'
 *   detail      String      why it counts: the facts and links behind it, with how each link was made
 * The query may read {from:DateTime64(3)} and {to:DateTime64(3)} (the range being computed; the engine
 * filters `at` to it as well) and the model parameters in MetricParams. Snapshot metrics (a count at
 * each period's instant) can use the `__PERIODS__` table (period_start Date, period_end DateTime64,
 * period_at DateTime64: the end, or the run's instant for a period that has not ended) and give each
 * unit `at` = its period's start. Units dated after the run's instant {as_of:DateTime64(3)} are not counted.
 *
 * {since:DateTime64(3)} is the instant the range starts (midnight of its first day in the metrics' time
 * zone): no unit dated before it is counted, so a definition may leave out early, before its joins and
 * aggregations, the rows that can only give units dated before it (a deployment finished before it, an
 * incident started before it). That is what keeps a run over the recent periods proportional to them: a
 * filter that could drop a row giving a unit at or after {since} would change the values, and the tests
 * that compare a recent run with a full one catch it.
 */
export interface MetricDefinition {
  id: string;
  /** Raised whenever the definition changes what it computes; stored with every value. */
  version: number;
  title: string;
  /** The metrics.md item it implements. */
  item: number;
  unit: 'count' | 'ratio' | 'hours' | 'days' | 'percent' | 'per_week' | 'score';
  better: 'higher' | 'lower';
  aggregate: Aggregate;
  /** The period kinds it is computed for (default all; see periodsOf). */
  periods?: PeriodKind[];
  /**
   * The DORA benchmark (a metric of dora_benchmarks, workers/metrics/benchmarks.ts) whose tiers its
   * monthly value is placed in; the value is in the benchmark's unit. None: the metric has no tier.
   */
  benchmark?: 'deployment_frequency' | 'change_lead_time_p50' | 'change_failure_rate' | 'failed_deployment_recovery_time_p50';
  /**
   * The units already say their scope (columns scope_kind, scope_id) instead of program/team/service/repo:
   * for values that are themselves aggregates per scope (a median over a scope's weeks). Such units may
   * read {scope_kinds:Array(String)} and {scope_ids:Array(String)}, the org mapping's scopes.
   */
  scoped?: boolean;
  units: string;
}

/**
 * The parameters every units query may read, as query parameters ({name:Type}):
 *   {tz:String}, {production:Array(String)}, {incident_window_hours:Float64}, {post_launch_days:UInt32},
 *   {severity_names:Array(String)} with {severity_weights:Array(Float64)} (same order),
 *   {stall_days:UInt32}, {stall_priorities:Array(String)} with {stall_priority_days:Array(UInt32)},
 *   {critical_priority_rank:UInt8}, {critical_priorities:Array(String)}, {critical_labels:Array(String)},
 *   {blocking_link_types:Array(String)}, {decision_target_hours:Float64}, {decision_target_business_days:UInt32},
 *   {release_critical_labels:Array(String)}, {production_labels:Array(String)},
 *   the program facts' settings (items 24-30: readiness_*, survey_*, compliance_*, cost_tag, program_ids,
 *   cost_account_*, budget_*; see their fields below)
 * and, set by the engine, {from:DateTime64(3)}, {to:DateTime64(3)}, {from_day:String}, {to_day:String},
 * {since:DateTime64(3)} (the range's first instant in the metrics' time zone, see MetricDefinition) and
 * {as_of:DateTime64(3)} (the run's instant: now, or --as-of).
 */
export interface MetricParams {
  /** The time zone periods are cut in. */
  tz: string;
  /** The configured production environments, lower case. */
  production: string[];
  incident_window_hours: number;
  post_launch_days: number;
  severity_names: string[];
  severity_weights: number[];
  stall_days: number;
  stall_priorities: string[];
  stall_priority_days: number[];
  /** A blocked item is critical at a priority rank 1..this (0: no rank is critical). */
  critical_priority_rank: number;
  /** Priority names (lower case) that make a blocked item critical whatever their rank. */
  critical_priorities: string[];
  /** Link type names (lower case) that make the link's from item block its to item: a source's type name or the link kind. */
  blocking_link_types: string[];
  critical_labels: string[];
  decision_target_hours: number;
  decision_target_business_days: number;
  release_critical_labels: string[];
  production_labels: string[];
  /** Readiness checks kept in Jira (metrics.readiness): issue types and labels (lower case) that make an item a check. */
  readiness_issue_types: string[];
  readiness_labels: string[];
  /** Status names (lower case) of a passed and of a waived check; any other status fails. */
  readiness_pass_statuses: string[];
  readiness_waived_statuses: string[];
  /** Surveys (metrics.surveys): no value under this many answers; scores from positive_from are positive, up to negative_to negative. */
  survey_min_responses: number;
  survey_positive_from: number;
  survey_negative_to: number;
  /** Compliance controls kept in Jira (metrics.compliance): issue types and labels (lower case), and the statuses (lower case) that mean evidence. */
  compliance_issue_types: string[];
  compliance_labels: string[];
  compliance_evidence_statuses: string[];
  /** The cost row tag whose value names a cost's program (metrics.costTag). */
  cost_tag: string;
  /** The programs of the org mapping (a cost tag naming another program allocates nothing). */
  program_ids: string[];
  /** The cost accounts (FOCUS SubAccountId) of each program: the account and its program, same order. */
  cost_account_programs: string[];
  cost_account_ids: string[];
  /**
   * The programs' budgets: program, first and last month 'YYYY-MM' ('' for an end left open), amount a month
   * and currency, same order.
   */
  budget_programs: string[];
  budget_firsts: string[];
  budget_lasts: string[];
  budget_amounts: number[];
  budget_currencies: string[];
  /** The configured story points field ids, lower case (sources.jira.fields.storyPoints). */
  story_point_field_ids: string[];
}

/** The period kinds a metric is computed for. */
export const periodsOf = (def: Pick<MetricDefinition, 'periods'>): PeriodKind[] => def.periods ?? [...PERIOD_KINDS];

/**
 * Whether a metric is computed for a period kind; when it is not, why, in words a command can print:
 * "deployment_days is computed per week only; use --period week".
 */
export function periodSupport(
  def: Pick<MetricDefinition, 'id' | 'periods'>,
  kind: PeriodKind,
): { ok: true } | { ok: false; periods: PeriodKind[]; message: string } {
  const periods = periodsOf(def);
  if (periods.includes(kind)) return { ok: true };
  const list =
    periods.length === 1 ? `per ${periods[0]} only` : `per ${periods.slice(0, -1).join(', ')} and ${periods[periods.length - 1]} only`;
  const use = periods.length === 1 ? `use --period ${periods[0]}` : `use --period with one of ${periods.join(', ')}`;
  return { ok: false, periods, message: `${def.id} is computed ${list}; ${use}` };
}
