import type { MetricsConfig, ModelConfig, OrgConfig } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import { narrowed, readAll, registerChanges, type RegisterChange, type Registers } from '../export/readout.js';
import { programConfidence, type ProgramConfidence } from '../forecast/confidence.js';
import { describeChange } from '../forecast/history.js';
import type { StoredForecast } from '../forecast/job.js';
import type { ForecastBand } from '../forecast/types.js';
import { ITEMS, doneAtBefore } from '../metrics/definitions/work-items.js';
import { metricById } from '../metrics/definitions/index.js';
import { addDays, instantParam, metricParams, today, type Day } from '../metrics/engine.js';
import { formatChange } from '../metrics/format.js';
import type { MetricValueRow } from '../metrics/queries.js';
import { lookbackWeeks, RISK_INDICATORS } from '../metrics/risk.js';
import { actionRegister } from '../registers/actions.js';
import { readRegister } from '../registers/index.js';
import { programHealth, type ProgramHealth, type StatusColour } from '../registers/health.js';
import { text, yes, type RegisterRow } from '../registers/types.js';
import { outcomeText, programFactsAt, readinessText } from './facts.js';
import { forecastsAt, type ForecastSource } from './forecasts-at.js';
export type { ForecastSource } from './forecasts-at.js';
import { riskSignalsAt, weeklyValuesAt, type ReportSignal, type SignalsSource, type ValuesSource } from './metrics-at.js';
export type { SignalsSource, ValuesSource } from './metrics-at.js';
import { isoWeekOf, previousWeek, type ReportWeek } from './week.js';

/**
 * The weekly program status report: one program, one ISO week, six sections made by rules from the
 * store as it stood at the report's instant (the week's end, or the as-of instant when that is earlier).
 * docs/status-report.md states every rule. Renderers (Markdown, JSON) read a StatusReport and add no fact.
 */

/** The most items a list names before "and N more"; the metrics table shows at most METRICS_CAP rows. */
export const CAP = 5;
export const METRICS_CAP = 10;

/** How many weeks before the report's week the metrics compare with. */
export const BASELINE_WEEKS = 4;

/**
 * A thing the report names: its key and title, the source URL (Jira, GitHub, GitLab, PagerDuty) where
 * the store has one, the `ptel` command behind its numbers, and one clause of facts about it.
 */
export interface ReportItem {
  key: string;
  name: string;
  title: string;
  url: string;
  command: string;
  detail: string;
  /** Other things it is linked to (an incident's deployments), each with its source URL ('' when the store has none). */
  related?: Array<{ name: string; url: string }>;
}

/** A list as the report shows it: how many there are, the first CAP, how many more, and the command listing them all. */
export interface Listed<T> {
  total: number;
  items: T[];
  more: number;
  command: string;
}

export interface NextMilestone extends ReportItem {
  committed: Day | null;
  p50: Day | null;
  p85: Day | null;
  confidence: number | null;
  band: ForecastBand | null;
  /** Why there is no forecast number ('' when there is one, or no forecast). */
  noNumber: string;
  /** The forecast's change since the report a week earlier, in a sentence. */
  change: string;
}

export interface KpiLine {
  metric: string;
  title: string;
  unit: string;
  better: 'higher' | 'lower';
  value: number | null;
  /** The previous BASELINE_WEEKS weeks, oldest first. */
  previous: Array<{ week: Day; value: number | null }>;
  /** The mean of the previous weeks that have a value. */
  baseline: number | null;
  /** This week against the baseline, in the direction that is better. */
  direction: 'better' | 'worse' | 'same' | null;
  /** The change against the baseline in the value's unit ('+2 h', '−5 pp'); '' without a baseline. */
  change: string;
  command: string;
}

export interface ConfidenceReading {
  value: number | null;
  band: ForecastBand | null;
  /** The milestone that sets it. */
  setBy: { key: string; name: string; committed: Day } | null;
  due: number;
  dueWithoutNumber: number;
  /** The rule, in a sentence. */
  rule: string;
  /** The same reading in the report a week earlier. */
  lastWeek: number | null;
  command: string;
  /**
   * Where the forecasts of the report, and of the report a week earlier, come from: the latest forecast run
   * stored at or before the instant, or computed as of it when no run had been stored by then.
   */
  forecasts: ForecastSource;
  lastWeekForecasts: ForecastSource;
  /** A clause saying which forecasts were computed for the report and the command giving them; '' when both were stored runs. */
  computed: string;
}

export interface StatusReport {
  program: { id: string; name: string };
  week: { id: string; first: Day; last: Day };
  timeZone: string;
  /** The instant the store is read at (ISO 8601): the week's end, or the as-of instant before it. */
  asOf: string;
  /** The instant of the report a week earlier, the one "since last week" compares with. */
  previousAsOf: string;
  cap: number;
  summary: {
    colour: StatusColour;
    lastWeekColour: StatusColour;
    health: ProgramHealth;
    confidence: ConfidenceReading;
    /** What changed since the report a week earlier, one item each. */
    changes: Listed<ReportItem>;
    /** What the program asks for: decisions past their target, owners for high risks, stalled cross-team work, overdue actions. */
    asks: Listed<ReportItem>;
    /** The paragraph, made from the fields above. */
    text: string;
  };
  accomplishments: {
    milestones: Listed<ReportItem>;
    epics: Listed<ReportItem>;
    notable: Listed<ReportItem>;
    /** Work items done in the week (stories, tasks, bugs). */
    itemsDone: { count: number; command: string };
    deployments: Listed<ReportItem>;
    incidentsResolved: Listed<ReportItem>;
    none: string | null;
  };
  nextMilestones: Listed<NextMilestone> & {
    none: string | null;
    /** Each release whose go/no-go falls in the week or the READINESS_AHEAD_DAYS after it, with its checks. */
    readiness: Listed<ReportItem>;
  };
  risks: {
    highRisks: Listed<ReportItem>;
    signals: Listed<ReportItem>;
    stalledDependencies: Listed<ReportItem>;
    incidents: Listed<ReportItem>;
    none: string | null;
  };
  decisions: {
    decisions: Listed<ReportItem>;
    overdueActions: Listed<ReportItem>;
    none: string | null;
  };
  metrics: Listed<KpiLine> & {
    none: string | null;
    /** Each outcome target of the program against its latest actual by the report's instant, soonest due first. */
    outcomes: Listed<ReportItem>;
  };
  /** Where the metric numbers of the report (section 6 and the risk signals of section 4) come from. */
  metricSources: {
    /** The weekly values: stored by the report's instant, or computed as of it when no run had stored the week by then. */
    values: ValuesSource;
    /** The week's risk signals: stored by the report's instant, or scored as of it when none had been. */
    signals: SignalsSource;
    /** A clause saying which of them were computed for the report, as of when, and the command giving the same numbers; '' when both were read as stored. */
    computed: string;
  };
}

export interface StatusReportOptions {
  store: Store;
  config: { model: ModelConfig; metrics: MetricsConfig; org: OrgConfig };
  program: string;
  week: ReportWeek;
  /** The latest instant the store may be read at: the as-of instant, else now. */
  until: Date;
}

const DAY_MS = 86_400_000;

/** An instant as a command writes it: ISO 8601, without milliseconds when they are 0. */
export const instantText = (at: Date): string => at.toISOString().replace('.000Z', 'Z');

export const listed = <T>(all: readonly T[], command: string, cap = CAP): Listed<T> => ({
  total: all.length,
  items: all.slice(0, cap),
  more: Math.max(0, all.length - cap),
  command,
});

export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
export const days = (v: RegisterRow[string] | undefined): string => `${Number(v ?? 0).toFixed(1)} days`;

/** What the report reads at one instant (the report's, or the one a week earlier). */
interface Reading {
  week: ReportWeek;
  at: Date;
  registers: Registers;
  forecasts: StoredForecast[];
  source: ForecastSource;
  confidence: ProgramConfidence | undefined;
}

async function read(options: StatusReportOptions, week: ReportWeek): Promise<Reading> {
  const at = options.until.getTime() < week.to.getTime() ? options.until : week.to;
  const params = metricParams(options.config);
  const recentDays = Math.max(1, Math.ceil((at.getTime() - week.from.getTime()) / DAY_MS) + 1);
  const [all, { forecasts, source }] = await Promise.all([
    readAll(options.store, { params, asOf: at, recentDays }),
    forecastsAt(options.store, options.config, at, { program: options.program }),
  ]);
  const confidence = programConfidence(forecasts, { now: at, timeZone: options.config.metrics.timeZone }).find(
    (p) => p.program === options.program,
  );
  return { week, at, registers: narrowed(all, options.program), forecasts, source, confidence };
}

/** The week's data the registers do not hold, read from the domain tables as of the report's instant. */
interface WeekFacts {
  done: Array<{
    source: string;
    item_id: string;
    key: string;
    title: string;
    url: string;
    kind: string;
    priority: string;
    priority_rank: number;
    done_at: string;
  }>;
  deployments: Array<{ service: string; deployment_id: string; url: string; finished_at: string }>;
  incidents: Array<{
    source: string;
    incident_id: string;
    number: string;
    title: string;
    url: string;
    severity: string;
    created: string;
    resolved: string | null;
    started_in_week: number;
    resolved_in_week: number;
    deployments: string[];
    deployment_urls: string[];
  }>;
}

async function rows<T>(store: Store, query: string, params: Record<string, unknown>): Promise<T[]> {
  const rs = await store.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return rs.json<T>();
}

async function weekFacts(options: StatusReportOptions, r: Reading): Promise<WeekFacts> {
  const tz = options.config.metrics.timeZone;
  const params = {
    tz,
    program: options.program,
    from: instantParam(r.week.from),
    to: instantParam(r.week.to),
    as_of: instantParam(r.at),
  };
  const T = '{as_of:DateTime64(3)}';
  const inWeek = (t: string): string => `(${t} >= {from:DateTime64(3)} AND ${t} < {to:DateTime64(3)} AND ${t} <= ${T})`;
  const [done, deployments, incidents] = await Promise.all([
    rows<WeekFacts['done'][number]>(
      options.store,
      `SELECT source, item_id, key, title, url, kind, priority, priority_rank, done_at FROM
       (
           SELECT i.source AS source, i.item_id AS item_id, i.key AS key, i.summary AS title, i.url AS url, i.kind AS kind, i.priority AS priority, i.priority_rank AS priority_rank,
                  ${doneAtBefore('i', T)} AS done_at_t, formatDateTime(toTimeZone(done_at_t, {tz:String}), '%Y-%m-%d %H:%i') AS done_at
           FROM ${ITEMS} AS i
           WHERE i.program = {program:String} AND i.kind NOT IN ('risk', 'decision', 'action') AND i.created_at < ${T}
       )
       WHERE done_at_t IS NOT NULL AND ${inWeek('assumeNotNull(done_at_t)')}
       ORDER BY done_at_t, key`,
      params,
    ),
    rows<WeekFacts['deployments'][number]>(
      options.store,
      `SELECT f.service AS service, f.deployment_id AS deployment_id, d.url AS url, toString(f.finished_at) AS finished_at
       FROM (SELECT * FROM deployment_facts FINAL WHERE program = {program:String} AND is_production = 1 AND result = 'success'
               AND finished_at IS NOT NULL AND ${inWeek('assumeNotNull(finished_at)')}) AS f
       LEFT JOIN (SELECT source, deployment_id, url FROM deployments FINAL) AS d ON d.source = f.source AND d.deployment_id = f.deployment_id
       ORDER BY f.service, f.finished_at, f.deployment_id
       SETTINGS join_use_nulls = 0`,
      params,
    ),
    rows<WeekFacts['incidents'][number]>(
      options.store,
      `SELECT x.source AS source, x.incident_id AS incident_id, x.number AS number, x.title AS title, i.url AS url, toString(x.severity) AS severity,
              formatDateTime(toTimeZone(x.created_at, {tz:String}), '%Y-%m-%d %H:%i') AS created,
              if(x.resolved_at IS NOT NULL AND assumeNotNull(x.resolved_at) <= ${T},
                 formatDateTime(toTimeZone(assumeNotNull(x.resolved_at), {tz:String}), '%Y-%m-%d %H:%i'), NULL) AS resolved,
              ${inWeek('x.created_at')} AS started_in_week,
              x.resolved_at IS NOT NULL AND ${inWeek('assumeNotNull(x.resolved_at)')} AS resolved_in_week,
              l.deployments AS deployments, l.urls AS deployment_urls
       FROM (SELECT * FROM incident_facts FINAL WHERE program = {program:String} AND created_at <= ${T}) AS x
       LEFT JOIN (SELECT source, incident_id, url FROM incidents FINAL) AS i ON i.source = x.source AND i.incident_id = x.incident_id
       LEFT JOIN
       (
           SELECT l.incident_source AS source, l.incident_id AS incident_id,
                  groupArray(concat(l.service, ' ', l.deployment_id)) AS deployments, groupArray(d.url) AS urls
           FROM (SELECT * FROM incident_deployments FINAL WHERE method != 'none') AS l
           LEFT JOIN (SELECT source, deployment_id, url FROM deployments FINAL) AS d
             ON d.source = l.deployment_source AND d.deployment_id = l.deployment_id
           GROUP BY l.incident_source, l.incident_id
       ) AS l ON l.source = x.source AND l.incident_id = x.incident_id
       WHERE started_in_week OR resolved_in_week OR resolved IS NULL
       ORDER BY x.created_at, x.incident_id
       SETTINGS join_use_nulls = 0`,
      params,
    ),
  ]);
  return {
    done: done.map((d) => ({ ...d, priority_rank: Number(d.priority_rank) })),
    deployments,
    incidents: incidents.map((i) => ({ ...i, started_in_week: Number(i.started_in_week), resolved_in_week: Number(i.resolved_in_week) })),
  };
}

/**
 * The commands behind the numbers, each reading the store as of the report's instant. Forecasts computed
 * for the report (no run stored by then) are given by `ptel forecast list --compute`, which forecasts as
 * of the instant in the same way; `forecast show` reads stored runs only.
 */
export class Commands {
  constructor(
    private readonly program: string,
    private readonly week: ReportWeek,
    private readonly at: Date,
    private readonly computed = false,
    private readonly metricsComputed = false,
  ) {}
  private get asOf(): string {
    return `--as-of ${instantText(this.at)}`;
  }
  list(register: string, extra = ''): string {
    return `ptel list ${register} --program ${this.program}${extra} ${this.asOf}`;
  }
  explain(metric: string, scope = `program:${this.program}`): string {
    return `ptel metrics explain ${metric} --scope ${scope} --period week --start ${this.week.first} ${this.asOf}`;
  }
  /** A program metric's units of one day (a go/no-go, a due date). */
  explainDay(metric: string, day: Day): string {
    return `ptel metrics explain ${metric} --scope program:${this.program} --period day --start ${day} ${this.asOf}`;
  }
  forecast(key: string): string {
    return this.computed ? this.forecasts() : `ptel forecast show ${key} ${this.asOf}`;
  }
  forecasts(): string {
    return forecastListCommand(this.program, this.at, this.computed);
  }
  /** The program's weekly values from `from` to the report's week; computed as of the instant (--compute) when the report computed them. */
  metrics(from = addDays(this.week.first, -7 * BASELINE_WEEKS)): string {
    return `ptel metrics show --scope program:${this.program} --period week --from ${from} --to ${addDays(this.week.first, 7)} ${this.asOf}${this.metricsComputed ? ' --compute' : ''}`;
  }
}

/** The command listing a program's forecasts as of an instant: the stored run's, or computed as of it. */
const forecastListCommand = (program: string, at: Date, computed: boolean): string =>
  `ptel forecast list --program ${program} --as-of ${instantText(at)}${computed ? ' --compute' : ''}`;

const registerItem = (r: RegisterRow, command: string, detail: string): ReportItem => ({
  key: text(r['key']),
  name: text(r['item'] ?? r['title']),
  title: text(r['title']),
  url: text(r['url']),
  command,
  detail,
});

const CHANGE_WORDS: Record<RegisterChange['kind'], string> = {
  milestone_slipped: 'slipped',
  milestone_finished: 'finished',
  risk_raised: 'raised',
  risk_closed: 'closed',
  decision_made: 'decided',
  stall_new: 'stalled',
  stall_cleared: 'no longer stalled',
};

const bandText = (value: number | null, band: ForecastBand | null): string =>
  value === null ? 'none' : `${value.toFixed(2)}${band === null ? '' : ` (${band})`}`;

/** The week's report of one program. */
export async function statusReport(options: StatusReportOptions): Promise<StatusReport> {
  const programConfig = options.config.org.programs.find((p) => p.id === options.program);
  if (programConfig === undefined) throw new RangeError(`status report: no program '${options.program}'`);
  if (options.week.from.getTime() >= options.until.getTime())
    throw new RangeError(`status report: week ${options.week.id} has not started by ${instantText(options.until)}`);
  const tz = options.config.metrics.timeZone;
  const [now, before] = await Promise.all([read(options, options.week), read(options, previousWeek(options.week, tz))]);
  const baselineFrom = addDays(options.week.first, -7 * BASELINE_WEEKS);
  const weekEnd = addDays(options.week.first, 7);
  const [facts, weekly, risk, outside] = await Promise.all([
    weekFacts(options, now),
    weeklyValuesAt(options.store, options.config, now.at, {
      program: options.program,
      week: options.week.first,
      from: baselineFrom,
      to: weekEnd,
    }),
    riskSignalsAt(options.store, options.config, now.at, { program: options.program, week: options.week.first }),
    programFactsAt(options.store, options.config, now.at, options.program, options.week),
  ]);
  const cmd = new Commands(options.program, options.week, now.at, now.source.kind === 'computed', weekly.source.kind === 'computed');
  const reg = now.registers;

  // 2. Accomplishments
  const milestonesDone = reg.milestones.filter(
    (r) => text(r['status']).startsWith('done') && typeof r['completed'] === 'string' && r['completed'] >= now.week.first,
  );
  const milestoneKeys = new Set(milestonesDone.map((r) => text(r['key'])));
  const doneItem = (d: WeekFacts['done'][number], detail: string): ReportItem => ({
    key: `${d.source}:${d.key}`,
    name: d.key,
    title: d.title,
    url: d.url,
    command: cmd.explain('throughput'),
    detail,
  });
  const epics = facts.done.filter((d) => d.kind === 'epic' && !milestoneKeys.has(`${d.source}:epic/${d.item_id}`));
  const flow = facts.done.filter((d) => ['story', 'task', 'bug', 'other'].includes(d.kind));
  const rank = options.config.metrics.criticalPriorityRank;
  const notable = flow.filter((d) => d.priority_rank >= 1 && d.priority_rank <= rank);
  const services = [...new Set(facts.deployments.map((d) => d.service))];
  const deployments = services
    .map((service) => {
      const mine = facts.deployments.filter((d) => d.service === service);
      const last = mine[mine.length - 1]!;
      return {
        key: `service:${service}`,
        name: service,
        title: service,
        url: last.url,
        command: cmd.explain('deployment_frequency', `service:${service}`),
        detail: `${plural(mine.length, 'production deployment')}, the last ${last.finished_at.slice(0, 16)} UTC`,
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const incidentItem = (i: WeekFacts['incidents'][number], detail: string): ReportItem => ({
    key: `${i.source}:${i.incident_id}`,
    name: `#${i.number || i.incident_id}`,
    title: i.title,
    url: i.url,
    command: i.url === '' ? cmd.explain('incident_count') : '',
    detail,
    related: i.deployments.map((name, n) => ({ name, url: i.deployment_urls[n] ?? '' })),
  });
  const resolved = facts.incidents.filter((i) => i.resolved_in_week === 1);
  const accomplishments = {
    milestones: listed(
      milestonesDone.map((r) => registerItem(r, cmd.list('milestones'), `${text(r['status'])} ${text(r['completed'])}`)),
      cmd.list('milestones'),
    ),
    epics: listed(
      epics.map((d) => ({ ...doneItem(d, `epic done ${d.done_at.slice(0, 10)}`), command: '' })),
      '',
    ),
    notable: listed(
      notable.map((d) => doneItem(d, `${d.kind}, priority ${d.priority}, done ${d.done_at.slice(0, 10)}`)),
      cmd.explain('throughput'),
    ),
    itemsDone: { count: flow.length, command: cmd.explain('throughput') },
    deployments: listed(deployments, cmd.explain('deployment_frequency')),
    incidentsResolved: listed(
      resolved.map((i) => incidentItem(i, `${i.severity || 'no severity'}, resolved ${i.resolved ?? ''}`)),
      '',
    ),
    none: null as string | null,
  };
  if (milestonesDone.length + epics.length + notable.length + flow.length + deployments.length + resolved.length === 0)
    accomplishments.none =
      'Nothing finished this week: no milestone reached, no work item done, no production deployment, no incident resolved.';

  // 3. Next milestones
  const forecastNow = new Map(now.forecasts.map((f) => [`${f.source}:${f.milestoneId}`, f]));
  const forecastBefore = new Map(before.forecasts.map((f) => [`${f.source}:${f.milestoneId}`, f]));
  const open = reg.milestones
    .filter((r) => !text(r['status']).startsWith('done') && typeof r['committed'] === 'string')
    .sort((a, b) => (text(a['committed']) < text(b['committed']) ? -1 : text(a['committed']) > text(b['committed']) ? 1 : 0));
  const next: NextMilestone[] = open.map((r) => {
    const key = text(r['key']);
    const f = forecastNow.get(key);
    const was = forecastBefore.get(key);
    const change =
      f === undefined
        ? 'no forecast'
        : was === undefined || was.runAt === f.runAt
          ? was === undefined
            ? 'first forecast this week'
            : 'no forecast run since last week'
          : forecastChange(was, f);
    const detail = [text(r['status']), f !== undefined && !f.ok ? `no forecast number: ${f.reason}` : '']
      .filter((s) => s !== '')
      .join('; ');
    return {
      key,
      name: text(r['title']),
      title: text(r['title']),
      url: text(r['url']),
      command: f === undefined ? cmd.list('milestones') : cmd.forecast(key),
      detail,
      committed: text(r['committed']),
      p50: f?.p50 ?? null,
      p85: f?.p85 ?? null,
      confidence: f?.ok === true ? f.confidence : null,
      band: f?.ok === true ? f.band : null,
      noNumber: f !== undefined && !f.ok ? f.reason : '',
      change,
    };
  });
  // A release's readiness and an outcome are counted by their metric from their day (go/no-go, due) on:
  // from then on the item links the metric's units of that day.
  const day = today(tz, now.at);
  const factItem = (key: string, name: string, metric: string, counted: Day, detail: string): ReportItem => ({
    key,
    name,
    title: '',
    url: '',
    command: counted <= day ? cmd.explainDay(metric, counted) : '',
    detail,
  });
  const readiness = outside.readiness.map((r) =>
    factItem(`readiness:${r.release}`, r.release, 'release_readiness_pass_rate', r.goNoGo, readinessText(r, r.goNoGo <= day)),
  );
  const nextMilestones = {
    ...listed(next, cmd.forecasts()),
    none: next.length === 0 ? 'No open milestone with a committed date.' : null,
    readiness: listed(readiness, ''),
  };

  // 4. Top risks and issues
  const highRisks = reg.risks
    .filter((r) => r['closed'] === null && r['severity'] === 'high')
    .map((r) =>
      registerItem(
        r,
        cmd.list('risks'),
        `${yes(r['unowned']) ? 'no owner' : `owner ${text(r['owner'])}`}, open ${days(r['age_days'])}, mitigation: ${text(r['mitigation'])}`,
      ),
    );
  const labelOf = new Map(RISK_INDICATORS.map((i) => [i.indicator, i]));
  const signals = risk.signals.map((s: ReportSignal): ReportItem => {
    const indicator = labelOf.get(s.indicator);
    const scope = `${s.scope_kind}:${s.scope_id}`;
    return {
      key: `${scope}/${s.indicator}`,
      name: indicator?.label ?? s.indicator,
      title: scope,
      url: '',
      command: cmd.explain(indicator?.metric ?? s.indicator, scope),
      detail: s.explanation,
    };
  });
  const stalled = reg.dependencies
    .filter((r) => yes(r['stalled']) && yes(r['cross_team']))
    .map((r): ReportItem => ({
      key: text(r['key']),
      name: `${text(r['blocker'])} blocks ${text(r['blocked'])}`,
      title: `${text(r['blocker_title'])} blocks ${text(r['blocked_title'])}`,
      url: text(r['url']),
      command: cmd.list('dependencies'),
      detail:
        `blocker ${text(r['blocker'])} of team ${text(r['blocker_team']) || 'none'}` +
        `${text(r['blocker_owner']) === '' ? '' : ` (owner ${text(r['blocker_owner'])})`}, ` +
        `idle ${plural(Number(r['idle_days'] ?? 0), 'business day')}; it blocks ${text(r['blocked'])} of team ${text(r['blocked_team']) || 'none'}`,
    }));
  const weekIncidents = facts.incidents
    .filter((i) => i.started_in_week === 1 || i.resolved === null)
    .map((i) =>
      incidentItem(i, `${i.severity || 'no severity'}, started ${i.created}, ${i.resolved === null ? 'open' : `resolved ${i.resolved}`}`),
    );
  const risks = {
    highRisks: listed(highRisks, cmd.list('risks')),
    signals: listed(signals, cmd.metrics()),
    stalledDependencies: listed(stalled, cmd.list('dependencies')),
    incidents: listed(weekIncidents, cmd.explain('incident_count')),
    none: null as string | null,
  };
  if (highRisks.length + signals.length + stalled.length + weekIncidents.length === 0)
    risks.none = 'No open high risk, no active risk signal, no stalled cross-team dependency and no incident this week.';

  // 5. Decisions needed
  const openDecisions = reg.decisions
    .filter((r) => r['status'] === 'open' || r['status'] === 'overdue')
    .sort(
      (a, b) =>
        Number(yes(b['release_critical'])) - Number(yes(a['release_critical'])) ||
        Number(b['age_days'] ?? 0) - Number(a['age_days'] ?? 0) ||
        (text(a['item']) < text(b['item']) ? -1 : 1),
    )
    .map((r) =>
      registerItem(
        r,
        cmd.list('decisions'),
        `open ${days(r['age_days'])} against a target of ${text(r['target'])}${yes(r['release_critical']) ? ' (release critical)' : ''}: ` +
          `${r['status'] === 'overdue' ? 'past its target' : 'within its target'}, due by ${text(r['due_by'])}; ` +
          `${text(r['owner']) === '' ? 'no owner' : `owner ${text(r['owner'])}`}`,
      ),
    );
  const actionsAll = await readActions(options, now);
  const overdueActions = actionsAll
    .filter((r) => r['status'] === 'overdue')
    .map((r) =>
      registerItem(
        r,
        cmd.list('actions'),
        `${plural(Number(r['days_overdue'] ?? 0), 'day')} past its due date ${text(r['due'])}; ${text(r['owner']) === '' ? 'no owner' : `owner ${text(r['owner'])}`}`,
      ),
    );
  const decisions = {
    decisions: listed(openDecisions, cmd.list('decisions')),
    overdueActions: listed(overdueActions, cmd.list('actions')),
    none: openDecisions.length + overdueActions.length === 0 ? 'No open decision and no overdue action item.' : null,
  };

  // 6. Metrics
  const kpis = kpiLines(now, weekly.values, cmd);
  const outcomes = outside.outcomes.map((o) =>
    factItem(`outcome:${o.outcome}`, o.outcome, 'outcome_attainment_rate', o.due, outcomeText(o, day)),
  );
  const metrics = {
    ...listed(kpis, cmd.metrics(), METRICS_CAP),
    none: kpis.length === 0 ? `No KPI of the program has a value for ${options.week.id}.` : null,
    outcomes: listed(outcomes, ''),
  };
  const metricSources = {
    values: weekly.source,
    signals: risk.source,
    computed: metricsClause(options.week, now.at, weekly.source, risk.source, cmd, lookbackWeeks(options.config.metrics.risk)),
  };

  // 1. Summary
  const health = programHealth(reg);
  const lastWeekHealth = programHealth(before.registers);
  const c = now.confidence;
  const confidence: ConfidenceReading = {
    value: c?.confidence ?? null,
    band: c?.band ?? null,
    setBy:
      c === undefined || c.setBy === null
        ? null
        : { key: `${c.setBy.source}:${c.setBy.milestoneId}`, name: c.setBy.name, committed: c.setBy.committed },
    due: c?.due ?? 0,
    dueWithoutNumber: c?.dueWithoutNumber ?? 0,
    rule: c?.rule ?? confidenceRule(now.at, tz),
    lastWeek: before.confidence?.confidence ?? null,
    command: cmd.forecasts(),
    forecasts: now.source,
    lastWeekForecasts: before.source,
    computed: computedClause(options.program, now, before),
  };
  const changes = registerChanges(before.registers, reg).map((ch): ReportItem => ({
    key: `${ch.kind}:${ch.item.url || ch.item.name}`,
    name: ch.item.name,
    title: ch.item.title,
    url: ch.item.url,
    command: cmd.list(
      ch.kind.startsWith('milestone')
        ? 'milestones'
        : ch.kind.startsWith('risk')
          ? 'risks'
          : ch.kind.startsWith('decision')
            ? 'decisions'
            : 'dependencies',
    ),
    detail: `${CHANGE_WORDS[ch.kind]}: ${ch.detail}`,
  }));
  const asks: ReportItem[] = [
    ...reg.decisions
      .filter((r) => r['status'] === 'overdue')
      .map((r) =>
        registerItem(r, cmd.list('decisions'), `a decision past its target of ${text(r['target'])}, open ${days(r['age_days'])}`),
      ),
    ...highRisks.filter((r) => r.detail.startsWith('no owner')).map((r) => ({ ...r, detail: 'a high risk without an owner' })),
    ...reg.dependencies
      .filter((r) => yes(r['stalled']) && yes(r['cross_team']))
      .map((r) => ({
        ...stalled.find((s) => s.key === text(r['key']))!,
        detail: `stalled ${plural(Number(r['idle_days'] ?? 0), 'business day')}, waiting on team ${text(r['blocker_team']) || 'none'}`,
      })),
    ...overdueActions.map((a) => ({ ...a, detail: `an action item ${a.detail.split(';')[0]!}` })),
  ];
  const summary = {
    colour: health.colour,
    lastWeekColour: lastWeekHealth.colour,
    health,
    confidence,
    changes: listed(changes, ''),
    asks: listed(asks, ''),
    text: '',
  };
  summary.text = summaryText(programConfig.name, summary, metricSources.computed);

  return {
    program: { id: programConfig.id, name: programConfig.name },
    week: { id: options.week.id, first: options.week.first, last: options.week.last },
    timeZone: tz,
    asOf: now.at.toISOString(),
    previousAsOf: before.at.toISOString(),
    cap: CAP,
    summary,
    accomplishments,
    nextMilestones,
    risks,
    decisions,
    metrics,
    metricSources,
  };
}

/**
 * A forecast's change against the one a week earlier, in the sentence `ptel forecast show` uses; a run
 * whose inputs were not recorded gives the change of its numbers alone.
 */
function forecastChange(was: StoredForecast, f: StoredForecast): string {
  const readable = (x: StoredForecast): boolean =>
    Array.isArray(x.inputs.throughput) && Array.isArray(x.inputs.blockers) && typeof x.inputs.remainingItems === 'number';
  if (readable(was) && readable(f)) return describeChange(was, f);
  const blank = { remainingItems: 0, doneItems: 0, throughput: [], blockers: [] };
  const head = describeChange({ ...was, inputs: blank }, { ...f, inputs: blank }).split(/[:;]/)[0]!;
  return `${head} (the runs' inputs were not recorded)`;
}

const minuteText = (iso: string): string => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

/**
 * The clause saying which readings' forecasts were computed for the report, because no forecast run had
 * been stored by their instant, and the command that gives the same numbers; '' when both read a run.
 */
function computedClause(program: string, now: Reading, before: Reading): string {
  const was = (r: Reading): string => forecastListCommand(program, r.at, true);
  if (now.source.kind === 'computed' && before.source.kind === 'computed')
    return (
      `No forecast run had been stored by ${minuteText(now.source.at)}, so the forecasts were computed as of that instant for this report, ` +
      `and those a week earlier as of ${minuteText(before.source.at)}, from the store as it stood then (stored nowhere; ${was(now)} and ${was(before)} give the same numbers)`
    );
  if (now.source.kind === 'computed')
    return (
      `No forecast run had been stored by ${minuteText(now.source.at)}, so the forecasts were computed as of that instant for this report, ` +
      `from the store as it stood then (stored nowhere; ${was(now)} gives the same numbers)`
    );
  if (before.source.kind === 'computed')
    return (
      `No forecast run had been stored by ${minuteText(before.source.at)}, so the forecasts a week earlier were computed as of that instant for this report, ` +
      `from the store as it stood then (stored nowhere; ${was(before)} gives the same numbers)`
    );
  return '';
}

/**
 * The clause saying which metric numbers were computed for the report, because no metrics run had stored
 * them by its instant, and the command giving the same numbers; '' when the KPIs and the risk signals were
 * both read as stored. Risk signals are scored for a whole week only, so a report of a running week says
 * nothing of them.
 */
function metricsClause(week: ReportWeek, at: Date, values: ValuesSource, signals: SignalsSource, cmd: Commands, lookback: number): string {
  const history = cmd.metrics(addDays(week.first, -7 * lookback));
  const when = minuteText(at.toISOString());
  const scored = signals.kind === 'computed' && at.getTime() >= week.to.getTime();
  const kpis = `the program's weekly KPIs of ${isoWeekOf(addDays(week.first, -7 * BASELINE_WEEKS))} to ${week.id}`;
  if (values.kind === 'computed')
    return (
      `No metric value of ${week.id} had been stored by ${when}, so ${kpis}${scored ? " and the week's risk signals" : ''} ` +
      `were computed as of that instant for this report, from the facts as they stood then (stored nowhere; ${cmd.metrics()} gives the same values` +
      `${scored ? `, and ${history} the program's history the signals were scored from` : ''})`
    );
  if (scored)
    return (
      `No risk signal of ${week.id} had been stored by ${when}, so the week's risk signals were scored as of that instant for this report, ` +
      `from the weekly values the store held then (stored nowhere; ${history} gives the program's values they were scored from)`
    );
  return '';
}

/** The program confidence rule for a reading with no milestone forecast at all. */
function confidenceRule(at: Date, tz: string): string {
  const [p] = programConfidence(
    [{ source: '', milestoneId: '', name: '', program: '', committed: null, confidence: null, band: null, ok: false }],
    { now: at, timeZone: tz },
  );
  return p!.rule;
}

async function readActions(options: StatusReportOptions, r: Reading): Promise<RegisterRow[]> {
  const recentDays = Math.max(1, Math.ceil((r.at.getTime() - r.week.from.getTime()) / DAY_MS) + 1);
  const result = await readRegister(options.store, actionRegister, {
    params: metricParams(options.config),
    asOf: r.at,
    recentDays,
    program: options.program,
  });
  return result.rows;
}

/** The KPI lines of a reading's week from the program's weekly values of that week and the BASELINE_WEEKS before it. */
function kpiLines(r: Reading, values: readonly MetricValueRow[], cmd: Commands): KpiLine[] {
  const weeks = Array.from({ length: BASELINE_WEEKS }, (_, i) => addDays(r.week.first, -7 * (BASELINE_WEEKS - i)));
  const metrics = [...new Set(values.filter((v) => v.period_start === r.week.first).map((v) => v.metric))];
  const lines = metrics.map((metric): KpiLine & { size: number } => {
    const mine = values.filter((v) => v.metric === metric);
    const at = (week: Day): number | null => mine.find((v) => v.period_start === week)?.value ?? null;
    const value = at(r.week.first);
    const previous = weeks.map((week) => ({ week, value: at(week) }));
    const known = previous.map((p) => p.value).filter((v): v is number => v !== null);
    const baseline = known.length === 0 ? null : known.reduce((s, v) => s + v, 0) / known.length;
    const def = metricById(metric);
    const better = def?.better ?? 'higher';
    const unit = mine[0]!.unit;
    const delta = value === null || baseline === null ? null : value - baseline;
    const same = delta !== null && Math.abs(delta) < 1e-9;
    return {
      metric,
      title: def?.title ?? metric,
      unit,
      better,
      value,
      previous,
      baseline,
      direction: delta === null ? null : same ? 'same' : delta > 0 === (better === 'higher') ? 'better' : 'worse',
      change: delta === null ? '' : formatChange(unit, delta),
      command: cmd.explain(metric),
      size: delta === null || baseline === null ? -1 : baseline === 0 ? (same ? 0 : Number.MAX_VALUE) : Math.abs(delta / baseline),
    };
  });
  return lines.sort((a, b) => b.size - a.size || (a.metric < b.metric ? -1 : 1)).map(({ size: _size, ...line }) => line);
}

/** The summary's paragraph: the colour and why, the confidence with its rule, the changes and the asks. */
function summaryText(name: string, s: Omit<StatusReport['summary'], 'text'>, metricsComputed: string): string {
  const parts: string[] = [];
  const since = s.lastWeekColour === s.colour ? 'as last week' : `${s.lastWeekColour} last week`;
  parts.push(`${name}: ${s.health.summary.replace(/^(\w+):/, `$1, ${since}:`)}`);
  const c = s.confidence;
  const was =
    c.lastWeek === null
      ? 'no confidence a week earlier'
      : c.value === null || c.lastWeek.toFixed(2) === c.value.toFixed(2)
        ? `${c.lastWeek.toFixed(2)} a week earlier`
        : `${c.value > c.lastWeek ? 'up' : 'down'} from ${c.lastWeek.toFixed(2)} a week earlier`;
  parts.push(
    c.setBy === null
      ? `Program confidence: none, no milestone due in the window has a forecast number (${was}).`
      : `Program confidence: ${bandText(c.value, c.band)}, set by ${c.setBy.name} (committed ${c.setBy.committed}), ${was}.`,
  );
  parts.push(`The rule: the ${c.rule}.`);
  if (c.computed !== '') parts.push(`${c.computed}.`);
  if (metricsComputed !== '') parts.push(`${metricsComputed}.`);
  const named = (l: Listed<ReportItem>, f: (i: ReportItem) => string): string =>
    `${l.items.map(f).join('; ')}${l.more > 0 ? `; and ${l.more} more` : ''}`;
  parts.push(
    s.changes.total === 0
      ? 'Since last week: no change in the milestones, risks, decisions or dependencies.'
      : `Since last week: ${named(s.changes, (i) => `${i.name} ${i.detail}`)}.`,
  );
  parts.push(s.asks.total === 0 ? 'No asks this week.' : `Asks: ${named(s.asks, (i) => `${i.name}, ${i.detail}`)}.`);
  return parts.join(' ');
}
