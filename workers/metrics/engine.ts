import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { systemClock, type Clock } from '../../infra/clock.js';
import type { Store } from '../../infra/store/client.js';
import { budgetMonths, serviceName, type MetricsConfig, type ModelConfig, type OrgConfig } from '../../infra/config/schema.js';
import type { Aggregate, MetricDefinition, MetricParams, PeriodKind, ScopeKind } from './types.js';
import { PERIOD_KINDS } from './types.js';

/** What of the configuration the units queries read. */
export interface ParamsConfig {
  model: ModelConfig;
  metrics: MetricsConfig;
  /** The programs, their cost accounts and budgets (spend variance, item 29); none without it. */
  org?: OrgConfig;
  /** Jira's story points field (effort variance reads its changes by id as well as by name). */
  sources?: { jira?: { fields: { storyPoints?: string | undefined } } | undefined };
}

/** The query parameters of the units queries, from the config. */
export function metricParams(config: ParamsConfig): MetricParams {
  const { model, metrics, org } = config;
  const storyPoints = config.sources?.jira?.fields.storyPoints;
  const lower = (names: readonly string[]): string[] => names.map((n) => n.toLowerCase());
  const programs = org?.programs ?? [];
  const accounts = programs.flatMap((p) => (p.costAccounts ?? []).map((a) => ({ program: p.id, account: a })));
  const budgets = programs.flatMap((p) => (p.budgets ?? []).map((b) => ({ program: p.id, ...b, ...budgetMonths(b) })));
  const severities = Object.entries(metrics.severityWeights);
  const stall = Object.entries(metrics.stallBusinessDays.byPriority);
  return {
    tz: metrics.timeZone,
    production: model.productionEnvironments.map((e) => e.toLowerCase()),
    incident_window_hours: model.incidentWindowHours,
    post_launch_days: metrics.postLaunchDays,
    severity_names: severities.map(([k]) => k),
    severity_weights: severities.map(([, w]) => w),
    stall_days: metrics.stallBusinessDays.default,
    stall_priorities: stall.map(([k]) => k.toLowerCase()),
    stall_priority_days: stall.map(([, d]) => d),
    critical_priority_rank: metrics.criticalPriorityRank,
    critical_priorities: metrics.criticalPriorities.map((n) => n.toLowerCase()),
    blocking_link_types: model.workItems.blockingLinkTypes.map((n) => n.toLowerCase()),
    critical_labels: metrics.criticalLabels,
    decision_target_hours: metrics.decisionTargetHours,
    decision_target_business_days: metrics.decisionTargetBusinessDays,
    release_critical_labels: metrics.releaseCriticalLabels,
    production_labels: model.workItems.productionLabels,
    readiness_issue_types: lower(metrics.readiness.issueTypes),
    readiness_labels: lower(metrics.readiness.labels),
    readiness_pass_statuses: lower(metrics.readiness.passStatuses),
    readiness_waived_statuses: lower(metrics.readiness.waivedStatuses),
    survey_min_responses: metrics.surveys.minResponses,
    survey_positive_from: metrics.surveys.positiveFrom,
    survey_negative_to: metrics.surveys.negativeTo,
    compliance_issue_types: lower(metrics.compliance.issueTypes),
    compliance_labels: lower(metrics.compliance.labels),
    compliance_evidence_statuses: lower(metrics.compliance.evidenceStatuses),
    cost_tag: metrics.costTag,
    program_ids: programs.map((p) => p.id),
    cost_account_programs: accounts.map((a) => a.program),
    cost_account_ids: accounts.map((a) => a.account),
    budget_programs: budgets.map((b) => b.program),
    budget_firsts: budgets.map((b) => b.first ?? ''),
    budget_lasts: budgets.map((b) => b.last ?? ''),
    budget_amounts: budgets.map((b) => b.amount),
    budget_currencies: budgets.map((b) => b.currency),
    story_point_field_ids: storyPoints === undefined ? [] : [storyPoints.toLowerCase()],
  };
}

/** A date 'YYYY-MM-DD' (a calendar day in the metrics' time zone). */
export type Day = string;

/** The calendar day of an instant in the metrics' time zone. */
export function today(tz: string, now: Date): Day {
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

/** The offset of a time zone from UTC at an instant, in milliseconds. */
function offsetMs(tz: string, at: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(at));
  const n = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second')) - Math.floor(at / 1000) * 1000;
}

/** The instant a day starts in a time zone (00:00 there; the offset of that instant itself, across a change of offset). */
export function dayStartInstant(day: Day, tz: string): Date {
  const wall = Date.parse(`${day}T00:00:00Z`);
  let t = wall;
  for (let i = 0; i < 3; i++) t = wall - offsetMs(tz, t);
  return new Date(t);
}

/** An instant as the engine's queries read it: epoch seconds, for a {name:DateTime64(3)} parameter. */
export const instantParam = (at: Date): number => at.getTime() / 1000;

/** The first day of the period of `kind` that contains `day` (weeks start on Monday). */
export function periodStart(kind: PeriodKind, day: Day): Day {
  const d = new Date(`${day}T00:00:00Z`);
  if (kind === 'week') d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  if (kind === 'month') d.setUTCDate(1);
  return d.toISOString().slice(0, 10);
}

/** The first day of the period after the one starting on `start`. */
export function nextPeriod(kind: PeriodKind, start: Day): Day {
  const d = new Date(`${start}T00:00:00Z`);
  if (kind === 'day') d.setUTCDate(d.getUTCDate() + 1);
  else if (kind === 'week') d.setUTCDate(d.getUTCDate() + 7);
  else d.setUTCMonth(d.getUTCMonth() + 1);
  return d.toISOString().slice(0, 10);
}

/** Every period start of `kind` from the one containing `from` up to (not including) the one starting at or after `to`. */
export function periodsBetween(kind: PeriodKind, from: Day, to: Day): Day[] {
  const out: Day[] = [];
  for (let p = periodStart(kind, from); p < to; p = nextPeriod(kind, p)) out.push(p);
  return out;
}

/** Each unit counts for the org and for each of its program, team, service and repository. */
const SCOPES_JOIN = "ARRAY JOIN [('org', 'org'), ('program', u.program), ('team', u.team), ('service', u.service), ('repo', u.repo)] AS s";

/** The start of the period of each kind holding the day `day` (an SQL Date expression). */
const PERIOD_OF_DAY: Record<PeriodKind, (day: string) => string> = {
  day: (day) => day,
  week: (day) => `toMonday(${day})`,
  month: (day) => `toStartOfMonth(${day})`,
};

/** The value, numerator, denominator and sample size of a period from its units. */
function aggregateExpr(a: Aggregate): { value: string; numerator: string; denominator: string; sample: string } {
  const base = aggregateValue(a);
  // A quantile or mean is taken over the units that have a value; its sample is those units.
  return { ...base, sample: a.kind === 'quantile' || a.kind === 'mean' ? 'countIf(u.value IS NOT NULL)' : 'count()' };
}

function aggregateValue(a: Aggregate): { value: string; numerator: string; denominator: string } {
  switch (a.kind) {
    case 'count':
      return { value: 'sum(u.num)', numerator: 'sum(u.num)', denominator: 'CAST(NULL AS Nullable(Float64))' };
    case 'distinct':
      return {
        value: 'toFloat64(uniqExact(u.item))',
        numerator: 'toFloat64(uniqExact(u.item))',
        denominator: 'CAST(NULL AS Nullable(Float64))',
      };
    case 'ratio':
      return { value: 'if(sum(u.den) = 0, NULL, sum(u.num) / sum(u.den))', numerator: 'sum(u.num)', denominator: 'sum(u.den)' };
    case 'quantile':
      if (!(a.q > 0 && a.q < 1)) throw new RangeError(`quantile ${a.q} is outside (0, 1)`);
      return {
        value: `quantileExactInclusiveIf(${a.q})(u.value, u.value IS NOT NULL)`,
        numerator: 'CAST(NULL AS Nullable(Float64))',
        denominator: 'CAST(NULL AS Nullable(Float64))',
      };
    case 'mean':
      return {
        value: 'avgIf(u.value, u.value IS NOT NULL)',
        numerator: 'CAST(NULL AS Nullable(Float64))',
        denominator: 'CAST(NULL AS Nullable(Float64))',
      };
  }
}

/**
 * The `__PERIODS__` table of a range, in the metrics' time zone: each period's start, the instant it
 * ends, and the instant it is evaluated at: its end once it has ended, else the run's instant
 * {as_of:DateTime64(3)} (a period still running is taken as it stands now, or as it stood at --as-of).
 */
function periodsTable(kind: PeriodKind, from: Day, to: Day): string {
  const starts = periodsBetween(kind, from, to);
  if (starts.length === 0)
    return `(SELECT toDate('1970-01-01') AS period_start, toDateTime64('1970-01-01', 3, 'UTC') AS period_end, period_end AS period_at LIMIT 0)`;
  const pairs = starts.map((s) => `('${s}', '${nextPeriod(kind, s)}')`).join(', ');
  return `(SELECT toDate(s) AS period_start, toDateTime64(toDate(e), 3, {tz:String}) AS period_end,
                  least(period_end, toTimeZone({as_of:DateTime64(3)}, {tz:String})) AS period_at
           FROM values('s String, e String', ${pairs}))`;
}

/**
 * The units of a metric with the engine's own columns, limited to the range being computed and to what
 * had happened by the run's instant (a unit dated after {as_of} is not counted yet).
 */
function unitsSql(def: MetricDefinition, kind: PeriodKind, from: Day, to: Day): string {
  return `(SELECT * FROM (${def.units.replaceAll('__PERIODS__', periodsTable(kind, from, to))})
           WHERE at >= toDateTime64(toDate({from_day:String}), 3, {tz:String}) AND at < toDateTime64(toDate({to_day:String}), 3, {tz:String})
             AND at <= {as_of:DateTime64(3)})`;
}

function params(p: MetricParams, from: Day, to: Day, asOf: Date, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...p,
    from_day: from,
    to_day: to,
    from: `${from} 00:00:00.000`,
    to: `${to} 00:00:00.000`,
    since: instantParam(dayStartInstant(from, p.tz)),
    as_of: instantParam(asOf),
    ...extra,
  };
}

/** A period kind and the days [from, to) of its periods a computation covers. */
interface KindRange {
  kind: PeriodKind;
  from: Day;
  to: Day;
}

/**
 * A metric's values per period kind, scope and period from its units (the aggregate of each group): pk,
 * sk, sid, ps (the period kind, the scope and the period start) and v_value, v_num, v_den, v_n (value,
 * numerator, denominator, sample size). The units are read once over the union of `ranges` (`units`
 * gives their `__PERIODS__`), and each is counted in the period of each kind whose range holds its day.
 * `where` narrows the scopes (a condition on s.1, the kind, and s.2, the id).
 */
function groupedSql(def: MetricDefinition, units: PeriodKind, ranges: readonly KindRange[], where = ''): string {
  const agg = aggregateExpr(def.aggregate);
  const { from, to } = spanOf(ranges);
  const kinds = ranges.map(
    (r) => `('${r.kind}', ${PERIOD_OF_DAY[r.kind]('u._d')}, u._d >= toDate('${r.from}') AND u._d < toDate('${r.to}'))`,
  );
  return `SELECT k.1 AS pk, s.1 AS sk, s.2 AS sid, k.2 AS ps,
                 ${agg.value} AS v_value, ${agg.numerator} AS v_num, ${agg.denominator} AS v_den, ${agg.sample} AS v_n
          FROM (SELECT *, toDate(toTimeZone(at, {tz:String})) AS _d FROM ${unitsSql(def, units, from, to)}) AS u
          ARRAY JOIN arrayFilter(x -> x.3, [${kinds.join(', ')}]) AS k
          ${def.scoped === true ? 'ARRAY JOIN [(u.scope_kind, u.scope_id)] AS s' : SCOPES_JOIN}
          WHERE s.2 != ''${where === '' ? '' : ` AND (${where})`}
          GROUP BY k.1, s.1, s.2, k.2`;
}

/** The days from the first range's start to the last one's end. */
function spanOf(ranges: readonly KindRange[]): { from: Day; to: Day } {
  const from = ranges.reduce((a, r) => (r.from < a ? r.from : a), ranges[0]!.from);
  const to = ranges.reduce((a, r) => (r.to > a ? r.to : a), ranges[0]!.to);
  return { from, to };
}

/**
 * Whether a metric's units are the same whatever period kind they are computed for, so one units query
 * over the union of the kinds' ranges serves them all: the units neither read the `__PERIODS__` table
 * nor the range's bounds ({from}, {to}, {from_day}, {to_day}; {since} only narrows what they read).
 */
function sharesUnits(def: MetricDefinition): boolean {
  return !/__PERIODS__|\{(from|to|from_day|to_day):/.test(def.units);
}

/**
 * The periods of `kind` a computation over [from, to) as of `now` covers: from the one containing
 * `from` up to the one before `to`, and not past the one containing `now`; undefined when none has started.
 */
function coveredPeriods(kind: PeriodKind, from: Day, to: Day, tz: string, now: Date): { from: Day; to: Day } | undefined {
  const first = periodStart(kind, from);
  const requested = periodStart(kind, addDays(to, -1));
  const current = periodStart(kind, today(tz, now));
  const last = requested < current ? requested : current;
  return last < first ? undefined : { from: first, to: nextPeriod(kind, last) };
}

export interface ComputeOptions {
  store: Store;
  definitions: MetricDefinition[];
  params: MetricParams;
  /** The first day to recompute; widened to the start of each period kind's period containing it. */
  from: Day;
  /** The day after the last one to recompute; widened to the end of the period containing the day before. */
  to: Day;
  periods?: PeriodKind[];
  /**
   * The scopes the org mapping names. Counts are zero, not missing, for these in a period with no units
   * (a team that did not deploy that week deployed 0 times); ratios and quantiles of an empty period
   * have no value and no row.
   */
  scopes?: Array<{ kind: ScopeKind; id: string }>;
  /**
   * The run's instant (default: the clock's now). Periods still running are evaluated at it, units
   * dated after it are not counted, and the values are stamped with it (computed_at and version), so a
   * run at a past instant records what the store would have said then and does not replace values
   * computed after it.
   */
  now?: Date;
  clock?: Clock;
  /**
   * Stops the run between two metrics (the process is stopping): it rejects with the signal's reason and
   * writes nothing, its staged rows dropped, so a stop need not wait for the whole run.
   */
  signal?: AbortSignal;
}

/** org, and every program, team, service and repository of the org mapping. */
export function scopesOf(org: OrgConfig): Array<{ kind: ScopeKind; id: string }> {
  const out: Array<{ kind: ScopeKind; id: string }> = [{ kind: 'org', id: 'org' }];
  for (const p of org.programs) {
    out.push({ kind: 'program', id: p.id });
    for (const t of p.teams) {
      out.push({ kind: 'team', id: t.id });
      for (const s of t.services) out.push({ kind: 'service', id: serviceName(s) });
      for (const r of t.repositories) out.push({ kind: 'repo', id: r.toLowerCase() });
    }
  }
  return out;
}

export interface ComputeResult {
  metrics: number;
  rows: number;
  retracted: number;
  ms: number;
}

/** The columns of a metric value that say what was measured, in table order: what a listing of values prints. */
export const PRINTED_VALUE_COLUMNS = [
  'metric',
  'scope_kind',
  'scope_id',
  'period_kind',
  'period_start',
  'value',
  'numerator',
  'denominator',
  'sample_size',
  'unit',
] as const;

/** The columns of a metric value row, in metric_values, metric_value_history and metric_value_staging. */
const VALUE_COLUMNS = [...PRINTED_VALUE_COLUMNS, 'definition_version', 'computed_at', 'version', 'is_deleted'] as const;
const COLUMNS = VALUE_COLUMNS.join(', ');

/**
 * SQL: row `n` states what row `h` states: the same value, numerator, denominator, sample size, unit,
 * definition version and deletion (when and in which version aside). A missing number equals a missing
 * one, NaN equals NaN.
 */
const SAME_CONTENT = [
  ...(['value', 'numerator', 'denominator'] as const).map(
    (c) => `((n.${c} IS NULL AND h.${c} IS NULL) OR ifNull(n.${c} = h.${c} OR (isNaN(n.${c}) AND isNaN(h.${c})), 0))`,
  ),
  ...(['sample_size', 'unit', 'definition_version', 'is_deleted'] as const).map((c) => `n.${c} = h.${c}`),
].join(' AND ');

/** The key of a metric value: one metric, scope and period. */
const KEY = 'metric, period_kind, scope_kind, scope_id, period_start';

/**
 * Adds to metric_value_history the rows of `candidates` (metric value rows of the metrics
 * {metrics:Array(String)} in periods starting in [first_day, end_day)) that change their value: those
 * whose key has no history row at or before their version, or whose latest such row states something else.
 */
function recordChangesSql(candidates: string): string {
  return `INSERT INTO metric_value_history (${COLUMNS})
          SELECT ${VALUE_COLUMNS.map((c) => `n.${c}`).join(', ')}
          FROM (${candidates}) AS n
          ASOF LEFT JOIN
          (
              SELECT ${KEY}, version, value, numerator, denominator, sample_size, unit, definition_version, is_deleted, 1 AS found
              FROM metric_value_history
              WHERE metric IN {metrics:Array(String)} AND period_start >= {first_day:Date} AND period_start < {end_day:Date}
          ) AS h
          ON n.metric = h.metric AND n.period_kind = h.period_kind AND n.scope_kind = h.scope_kind AND n.scope_id = h.scope_id
             AND n.period_start = h.period_start AND n.version >= h.version
          WHERE h.found = 0 OR NOT (${SAME_CONTENT})`;
}

/**
 * Recomputes the metrics for every period of each kind that overlaps [from, to) and has started by the
 * run's instant (`now`; a period still running is evaluated at it): each period's values
 * are replaced (rows with this run's version), and a scope that had a value in one of those periods and
 * no longer has one gets a deletion row. Recomputing a period twice gives the same values.
 *
 * The run's rows are gathered in its partition of metric_value_staging, and written when every metric
 * has been computed: all of them to metric_values, and to metric_value_history those that change a
 * value (a deletion included), so a value recomputed as it was adds nothing to the history.
 */
export async function computeMetrics(options: ComputeOptions): Promise<ComputeResult> {
  const started = performance.now();
  const now = options.now ?? (options.clock ?? systemClock).date();
  const version = now.getTime() * 1000;
  const run = randomUUID();
  const client = options.store.client;
  const scopes = options.scopes ?? [];
  // The periods each kind covers: the same for every metric computed for that kind.
  const covered = new Map<PeriodKind, { from: Day; to: Day }>();
  for (const kind of options.periods ?? PERIOD_KINDS) {
    // Periods up to the one containing the run's instant: a period that has not started has no value yet.
    const c = coveredPeriods(kind, options.from, options.to, options.params.tz, now);
    if (c !== undefined) covered.set(kind, c);
  }
  // The periods the run covers, over every metric and period kind.
  let first: Day | undefined;
  let end: Day | undefined;
  // Each metric and period kind the run computes.
  const computed: Array<{ def: MetricDefinition; kind: PeriodKind }> = [];
  const stamp = { v: version, at: now.getTime() / 1000, run };
  const scopeParams = { scope_kinds: scopes.map((x) => x.kind), scope_ids: scopes.map((x) => x.id) };
  try {
    for (const def of options.definitions) {
      options.signal?.throwIfAborted();
      const kinds = [...covered.keys()].filter((k) => def.periods === undefined || def.periods.includes(k));
      if (kinds.length === 0) continue;
      for (const kind of kinds) {
        const c = covered.get(kind)!;
        if (first === undefined || c.from < first) first = c.from;
        if (end === undefined || c.to > end) end = c.to;
        computed.push({ def, kind });
      }
      const staging = `INSERT INTO metric_value_staging (run, ${COLUMNS})
                       SELECT {run:String}, {metric:String}, g.sk, g.sid, g.pk, g.ps, g.v_value, g.v_num, g.v_den, g.v_n,
                              {unit:String}, {dv:UInt16}, toDateTime64({at:Float64}, 3, 'UTC'), {v:UInt64}, 0`;
      const own = { ...stamp, metric: def.id, unit: def.unit, dv: def.version };
      if (sharesUnits(def)) {
        // One units query for every period kind: each unit goes to the period of each kind it falls in.
        const ranges = kinds.map((k) => ({ kind: k, ...covered.get(k)! }));
        const { from, to } = spanOf(ranges);
        await client.command({
          query: `${staging} FROM (${groupedSql(def, 'day', ranges)}) AS g`,
          query_params: params(options.params, from, to, now, { ...scopeParams, ...own }),
        });
      } else {
        for (const kind of kinds) {
          const { from, to } = covered.get(kind)!;
          await client.command({
            query: `${staging} FROM (${groupedSql(def, kind, [{ kind, from, to }])}) AS g`,
            query_params: params(options.params, from, to, now, { ...scopeParams, ...own }),
          });
        }
      }
    }
    if (first === undefined || end === undefined)
      return { metrics: options.definitions.length, rows: 0, retracted: 0, ms: Math.round(performance.now() - started) };
    // Counts are 0 for the scopes the mapping names in a covered period without units.
    const zero = computed.filter(({ def }) => def.aggregate.kind === 'count' || def.aggregate.kind === 'distinct');
    if (zero.length > 0 && scopes.length > 0) {
      const periods = [...covered].flatMap(([kind, c]) => periodsBetween(kind, c.from, c.to).map((ps) => ({ kind, ps })));
      await client.command({
        query: `INSERT INTO metric_value_staging (run, ${COLUMNS})
                SELECT {run:String}, m.zm, sc.1, sc.2, m.zk, p.2, 0, 0, NULL, 0, m.zu, m.zdv, toDateTime64({at:Float64}, 3, 'UTC'), {v:UInt64}, 0
                FROM
                (
                    SELECT z.1 AS zm, z.2 AS zk, z.3 AS zu, z.4 AS zdv
                    FROM (SELECT arrayJoin(arrayZip({zm:Array(String)}, {zk:Array(String)}, {zu:Array(String)}, {zdv:Array(UInt16)})) AS z)
                ) AS m
                ARRAY JOIN arrayFilter(x -> x.1 = m.zk, arrayZip({pk:Array(String)}, arrayMap(d -> toDate(d), {ps:Array(String)}))) AS p
                ARRAY JOIN arrayZip({scope_kinds:Array(String)}, {scope_ids:Array(String)}) AS sc
                WHERE (m.zm, m.zk, sc.1, sc.2, p.2) NOT IN
                      (SELECT metric, period_kind, scope_kind, scope_id, period_start FROM metric_value_staging WHERE run = {run:String})`,
        query_params: {
          ...stamp,
          zm: zero.map((x) => x.def.id),
          zk: zero.map((x) => x.kind),
          zu: zero.map((x) => x.def.unit),
          zdv: zero.map((x) => x.def.version),
          pk: periods.map((x) => x.kind),
          ps: periods.map((x) => x.ps),
          ...scopeParams,
        },
      });
    }
    // A value of these periods that this run does not write, and that no later run wrote, is retracted.
    const ranges = [...covered].map(
      ([kind, c]) => `(period_kind = '${kind}' AND period_start >= toDate('${c.from}') AND period_start < toDate('${c.to}'))`,
    );
    await client.command({
      query: `INSERT INTO metric_value_staging (run, ${COLUMNS})
              SELECT {run:String}, * EXCEPT (computed_at, version, is_deleted), toDateTime64({at:Float64}, 3, 'UTC'), {v:UInt64}, 1
              FROM (SELECT ${COLUMNS} FROM metric_values FINAL
                    WHERE metric IN {rm:Array(String)} AND period_start >= {first_day:Date} AND period_start < {end_day:Date}
                      AND version < {v:UInt64} AND (${ranges.join(' OR ')})
                      AND (metric, period_kind) IN (SELECT z.1, z.2 FROM (SELECT arrayJoin(arrayZip({rm:Array(String)}, {rk:Array(String)})) AS z))
                      AND (${KEY}) NOT IN (SELECT ${KEY} FROM metric_value_staging WHERE run = {run:String}))`,
      query_params: {
        ...stamp,
        rm: computed.map((x) => x.def.id),
        rk: computed.map((x) => x.kind),
        first_day: first,
        end_day: end,
      },
    });
    const p = { run, v: version, metrics: options.definitions.map((d) => d.id), first_day: first, end_day: end };
    const staged = `metric_value_staging WHERE run = {run:String}`;
    const counted = await client.query({
      query: `SELECT countIf(is_deleted = 0) AS written, countIf(is_deleted = 1) AS retracted FROM ${staged}`,
      query_params: p,
      format: 'JSONEachRow',
    });
    const [c] = await counted.json<{ written: string; retracted: string }>();
    await client.command({ query: `INSERT INTO metric_values (${COLUMNS}) SELECT ${COLUMNS} FROM ${staged}`, query_params: p });
    await client.command({ query: recordChangesSql(`SELECT ${COLUMNS} FROM ${staged}`), query_params: p });
    // A run as of a past instant writes below versions computed after it. The version that is current
    // now is then recorded too when it states something else than the history before it, so the history
    // reads it again from its computation on.
    await client.command({
      query: recordChangesSql(`SELECT ${COLUMNS} FROM metric_values
                               WHERE metric IN {metrics:Array(String)} AND period_start >= {first_day:Date} AND period_start < {end_day:Date}
                                 AND version > {v:UInt64} AND (${KEY}) IN (SELECT ${KEY} FROM ${staged})
                               ORDER BY version DESC
                               LIMIT 1 BY ${KEY}`),
      query_params: p,
    });
    return {
      metrics: options.definitions.length,
      rows: Number(c?.written ?? 0),
      retracted: Number(c?.retracted ?? 0),
      ms: Math.round(performance.now() - started),
    };
  } finally {
    // The run's partition: a UUID, not a parameter (a partition is named by a literal).
    await client.command({ query: `ALTER TABLE metric_value_staging DROP PARTITION '${run}'` });
  }
}

/** A metric value as a computation gives it, before it is stamped and stored. */
export interface EvaluatedValue {
  metric: string;
  scope_kind: ScopeKind;
  scope_id: string;
  period_kind: PeriodKind;
  period_start: Day;
  value: number | null;
  numerator: number | null;
  denominator: number | null;
  sample_size: number;
  unit: string;
  definition_version: number;
}

/**
 * The values computeMetrics would write for the same definitions, range, scopes and instant (`now`),
 * narrowed to the scopes of `only` ('KIND:ID'; all when absent), written nowhere: the values of a store
 * that had been computed as of that instant. A period still running at `now` is evaluated at it, units
 * dated after it are not counted, and counts are 0 for the scopes of `scopes` in a covered period with
 * no units, as computeMetrics writes them. Ordered by metric, scope and period.
 */
export async function evaluateMetrics(
  options: Omit<ComputeOptions, 'now' | 'clock'> & { now: Date; only?: readonly string[] },
): Promise<EvaluatedValue[]> {
  const { now } = options;
  if (!Number.isFinite(now.getTime())) throw new RangeError('metrics: the instant to evaluate at is not an instant');
  const only = options.only === undefined ? undefined : new Set(options.only);
  const tasks: Array<{ def: MetricDefinition; kind: PeriodKind; from: Day; to: Day }> = [];
  for (const def of options.definitions) {
    for (const kind of options.periods ?? PERIOD_KINDS) {
      if (def.periods !== undefined && !def.periods.includes(kind)) continue;
      const covered = coveredPeriods(kind, options.from, options.to, options.params.tz, now);
      if (covered !== undefined) tasks.push({ def, kind, ...covered });
    }
  }
  const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
  const where = only === undefined ? '' : "has({only:Array(String)}, concat(toString(s.1), ':', toString(s.2)))";
  const out: EvaluatedValue[] = [];
  for (const { def, kind, from, to } of tasks) {
    const rs = await options.store.client.query({
      query: `SELECT toString(g.sk) AS scope_kind, toString(g.sid) AS scope_id, toString(g.ps) AS period_start,
                     g.v_value AS value, g.v_num AS numerator, g.v_den AS denominator, toUInt64(g.v_n) AS sample_size
              FROM (${groupedSql(def, kind, [{ kind, from, to }], where)}) AS g`,
      query_params: params(options.params, from, to, now, {
        scope_kinds: (options.scopes ?? []).map((x) => x.kind),
        scope_ids: (options.scopes ?? []).map((x) => x.id),
        only: [...(only ?? [])],
      }),
      format: 'JSONEachRow',
    });
    const rows = await rs.json<Record<string, unknown>>();
    const values = rows.map((r): EvaluatedValue => ({
      metric: def.id,
      scope_kind: String(r['scope_kind']) as ScopeKind,
      scope_id: String(r['scope_id']),
      period_kind: kind,
      period_start: String(r['period_start']),
      value: num(r['value']),
      numerator: num(r['numerator']),
      denominator: num(r['denominator']),
      sample_size: Number(r['sample_size']),
      unit: def.unit,
      definition_version: def.version,
    }));
    // A count of a scope the mapping names is 0 in a period without units, as computeMetrics writes it.
    if (def.aggregate.kind === 'count' || def.aggregate.kind === 'distinct') {
      const seen = new Set(values.map((v) => `${v.scope_kind}:${v.scope_id}@${v.period_start}`));
      for (const sc of options.scopes ?? []) {
        if (only !== undefined && !only.has(`${sc.kind}:${sc.id}`)) continue;
        for (const ps of periodsBetween(kind, from, to)) {
          if (seen.has(`${sc.kind}:${sc.id}@${ps}`)) continue;
          seen.add(`${sc.kind}:${sc.id}@${ps}`);
          values.push({
            metric: def.id,
            scope_kind: sc.kind,
            scope_id: sc.id,
            period_kind: kind,
            period_start: ps,
            value: 0,
            numerator: 0,
            denominator: null,
            sample_size: 0,
            unit: def.unit,
            definition_version: def.version,
          });
        }
      }
    }
    out.push(...values);
  }
  const order = (v: EvaluatedValue): string =>
    `${v.metric}\u0000${v.scope_kind}\u0000${v.scope_id}\u0000${v.period_kind}\u0000${v.period_start}`;
  return out.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}

export interface ExplainRow {
  at: string;
  /** The unit's owners (the scope columns of the definition's units). */
  program: string;
  team: string;
  item: string;
  num: number;
  den: number;
  value: number | null;
  detail: string;
}

/** The units behind one value: what was counted, with the facts and links that made it count. */
export async function explainMetric(options: {
  store: Store;
  definition: MetricDefinition;
  params: MetricParams;
  scope: { kind: ScopeKind; id: string };
  period: { kind: PeriodKind; start: Day };
  /** The org mapping's scopes, for definitions whose units read them. */
  scopes?: Array<{ kind: ScopeKind; id: string }>;
  /**
   * The instant to explain the value at (--as-of): a period still running then is evaluated at it and
   * units dated after it are left out. Default: the clock's now.
   */
  asOf?: Date;
  clock?: Clock;
}): Promise<ExplainRow[]> {
  const { definition: def, scope, period } = options;
  const from = periodStart(period.kind, period.start);
  const to = nextPeriod(period.kind, from);
  const where =
    def.scoped === true
      ? 'u.scope_kind = {scope_kind:String} AND u.scope_id = {scope_id:String}'
      : `${scope.kind === 'org' ? "'org'" : `u.${scope.kind}`} = {scope_id:String}`;
  const rs = await options.store.client.query({
    query: `SELECT toString(u.at) AS at, toString(u.program) AS program, toString(u.team) AS team, u.item AS item, u.num AS num, u.den AS den, u.value AS value, u.detail AS detail
            FROM ${unitsSql(def, period.kind, from, to)} AS u
            WHERE ${where}
            ORDER BY u.at, u.item`,
    query_params: params(options.params, from, to, options.asOf ?? (options.clock ?? systemClock).date(), {
      scope_kind: scope.kind,
      scope_id: scope.id,
      scope_kinds: (options.scopes ?? []).map((x) => x.kind),
      scope_ids: (options.scopes ?? []).map((x) => x.id),
    }),
    format: 'JSONEachRow',
  });
  const out = await rs.json<ExplainRow>();
  return out.map((r) => ({ ...r, num: Number(r.num), den: Number(r.den), value: r.value === null ? null : Number(r.value) }));
}

export function addDays(day: Day, n: number): Day {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/**
 * The value of one period from its units, as computeMetrics aggregates them: for a ratio, the sums of
 * the numerators and denominators; for a quantile or a mean, the values it is taken over; for a count,
 * the sum of `num`; for distinct, the different items. `value` is null where the aggregate has none (a
 * ratio over a zero denominator, a quantile of no values).
 */
export interface UnitsArithmetic {
  aggregate: Aggregate;
  value: number | null;
  /** How many units there are. */
  units: number;
  numerator: number | null;
  denominator: number | null;
  /** The values a quantile or mean is taken over, ascending. */
  values: number[];
  /** The different items, for distinct. */
  distinct: number | null;
}

export function unitsArithmetic(
  aggregate: Aggregate,
  rows: ReadonlyArray<Pick<ExplainRow, 'item' | 'num' | 'den' | 'value'>>,
): UnitsArithmetic {
  const base = { aggregate, units: rows.length, numerator: null, denominator: null, values: [] as number[], distinct: null };
  switch (aggregate.kind) {
    case 'count': {
      const sum = rows.reduce((s, r) => s + r.num, 0);
      return { ...base, value: sum, numerator: sum };
    }
    case 'distinct': {
      const n = new Set(rows.map((r) => r.item)).size;
      return { ...base, value: n, distinct: n };
    }
    case 'ratio': {
      const num = rows.reduce((s, r) => s + r.num, 0);
      const den = rows.reduce((s, r) => s + r.den, 0);
      return { ...base, value: den === 0 ? null : num / den, numerator: num, denominator: den };
    }
    case 'quantile':
    case 'mean': {
      const values = rows
        .map((r) => r.value)
        .filter((v): v is number => v !== null && Number.isFinite(v))
        .sort((a, b) => a - b);
      if (values.length === 0) return { ...base, value: null, values };
      if (aggregate.kind === 'mean') return { ...base, value: values.reduce((s, v) => s + v, 0) / values.length, values };
      // quantileExactInclusive: linear interpolation between the two nearest ranks.
      const at = aggregate.q * (values.length - 1);
      const lo = Math.floor(at);
      const hi = Math.min(lo + 1, values.length - 1);
      return { ...base, value: values[lo]! + (values[hi]! - values[lo]!) * (at - lo), values };
    }
  }
}
