import type { MetricDefinition } from '../types.js';
import {
  categoryAt,
  itemsWhere,
  MAYBE_OPEN_SINCE,
  openBlockingLinks,
  SEVERITY_BAND,
  statusAt,
  TOUCHED_SINCE,
  unassignedAt,
} from './work-items.js';

/**
 * Program delivery from Jira, items 15-19 of docs/metrics.md: dependency stalls, risk burn-down, decision
 * latency, action item closure and flow.
 *
 * Status categories in the past. work_item_history keeps status names (from_string/to_string), not their
 * categories. The category of a name is the one the work items that have that status now carry (their
 * status_category already applies the site's category and `model.workItems.statusCategories`); when
 * they disagree, the most common wins. A name no current item has falls back to Jira's defaults:
 * "to do", "open", "backlog", "new", "reopened", "selected for development" are todo; "done", "closed",
 * "resolved", "cancelled", "won't do", "rejected" are done; any other name is in_progress (an in-flight
 * step such as review or QA). An item with no status change has had its current status all along, and
 * before its first change it had that change's from-status.
 *
 * When things happened:
 * - done_at: the last move from a not-done into a done category status (an item moved from Done to
 *   Closed was done at Done); else, for an item done now with no such change, its resolution time, else
 *   its last update. Reopened items are not done.
 * - started_at: the first move into an in_progress category status.
 * - the state "at" an instant T is the state after every change before T.
 *
 * Snapshots (stalls, open risks, open decisions) are taken at each period's instant `p.period_at` of
 * `__PERIODS__`: its end once it has ended, else the run's instant (now, or --as-of), so the current
 * period says how things stand, not how they would stand at its end if nothing moved.
 */

const NO_VALUE = 'CAST(NULL AS Nullable(Float64))';

/**
 * Work items with their history (ITEMS) and their title (`summary`), for units that name the item; those
 * for which `where` (a condition on work_items' columns, such as TOUCHED_SINCE) holds.
 */
const titledItems = (where: string): string => `
(
    SELECT w0.*, t0.summary AS summary
    FROM ${itemsWhere(where)} AS w0
    INNER JOIN (SELECT source AS t_source, item_id AS t_item_id, summary FROM work_items FINAL WHERE ${where}) AS t0
      ON t0.t_source = w0.source AND t0.t_item_id = w0.item_id
)`;

/** The items that can give a unit dated at or after {since} by a change of theirs (done, started, reopened, moved). */
const TOUCHED_ITEMS = titledItems(TOUCHED_SINCE);

/** The items that can be open at an instant from {since} on: snapshots of a period of the range. */
const MAYBE_OPEN_ITEMS = titledItems(MAYBE_OPEN_SINCE);

/** A work item as a unit names it: its key and title, e.g. PAY-12 "Checkout retries double charge". */
const itemName = (a: string): string => `concat(${a}.key, ' "', ${a}.summary, '"')`;

const hours = (from: string, to: string): string => `greatest(0, dateDiff('millisecond', ${from}, ${to}) / 3600000.0)`;
const days = (from: string, to: string): string => `greatest(0, dateDiff('millisecond', ${from}, ${to}) / 86400000.0)`;

// ---------------------------------------------------------------------------------------------------
// 15. Dependency stall
// ---------------------------------------------------------------------------------------------------

/** The blocking links stalled at instant `t` (see openBlockingLinks for when a link is open and when stalled). */
function stalledLinks(t: string, endDay: string, periods: boolean, items?: string): string {
  return `SELECT * FROM (${openBlockingLinks(t, endDay, periods, items)}) WHERE idle OR due_after`;
}

function stallMetric(crossTeamOnly: boolean): MetricDefinition {
  return {
    id: crossTeamOnly ? 'dependency_stalls_cross_team' : 'dependency_stalls',
    version: 1,
    title: crossTeamOnly ? 'Stalled cross-team blocking links at period end' : 'Stalled blocking links at period end',
    item: 15,
    unit: 'count',
    better: 'lower',
    aggregate: { kind: 'count' },
    units: `
SELECT toDateTime64(s.period_start, 3, {tz:String}) AS at, s.blocked_program AS program, s.blocked_team AS team, '' AS service, '' AS repo,
       1.0 AS num, 0.0 AS den, ${NO_VALUE} AS value,
       concat(s.source, ' ', s.blocker_key, ' blocks ', s.blocked_key) AS item,
       concat('stalled at ', toString(s.period_at), ': ', s.reason, '; blocker ', s.blocker_key, ' (', s.blocker_status, ', team ''', s.blocker_team, ''') blocks ',
              s.blocked_key, ' (team ''', s.blocked_team, '''); link: explicit Jira issue link ''', s.raw_type, ''' created ',
              if(s.link_created_at IS NULL, 'unknown', toString(s.link_created_at))) AS detail
FROM (${stalledLinks('p.period_at', 'toDate(p.period_at, {tz:String})', true, itemsWhere(MAYBE_OPEN_SINCE))}) AS s
${crossTeamOnly ? 'WHERE s.cross_team' : ''}
SETTINGS join_use_nulls = 0`,
  };
}

/**
 * The blocking links stalled now, for the alerting job: one row per link with its blocker and blocked
 * item, their teams, the business days the blocker has been idle, and why it is stalled. Reads the
 * query parameters {now:DateTime64(3)} (the instant, as epoch seconds), {tz:String}, {stall_days:UInt32},
 * {stall_priorities:Array(String)}, {stall_priority_days:Array(UInt32)} and {blocking_link_types:Array(String)}
 * (see metricParams).
 */
export const STALLS_NOW_SQL = `
SELECT s.source AS source, s.blocker_key AS blocker, s.blocked_key AS blocked, s.blocker_team AS blocker_team,
       s.blocked_team AS blocked_team, s.blocked_program AS program, s.cross_team AS cross_team, s.idle_days AS days_stalled,
       s.threshold_days AS threshold_days, s.blocker_last_activity AS blocker_last_activity, s.reason AS reason
FROM (${stalledLinks('{now:DateTime64(3)}', 'toDate({now:DateTime64(3)}, {tz:String})', false)}) AS s
ORDER BY s.cross_team DESC, s.idle_days DESC, s.blocker_key, s.blocked_key
SETTINGS join_use_nulls = 0`;

// ---------------------------------------------------------------------------------------------------
// 16. Risk burn-down
// ---------------------------------------------------------------------------------------------------

/**
 * Risks (kind 'risk') open at each period's instant (its end, or now for the current period): created
 * before it and not in a done category status then; `age` is the days from its creation to that instant.
 */
const OPEN_RISKS = `
SELECT * FROM
(
    SELECT p.period_start AS period_start, p.period_at AS period_at, r.source AS source, r.key AS key, r.summary AS summary, r.team AS team,
           r.program AS program, ${SEVERITY_BAND} AS band, r.severity AS severity, r.priority AS priority, r.created_at AS created_at,
           ${days('r.created_at', 'p.period_at')} AS age, ${statusAt('r', 'p.period_at')} AS status_then,
           ${categoryAt('r', 'p.period_at')} AS category_then, ${unassignedAt('r', 'p.period_at')} AS unowned
    FROM ${MAYBE_OPEN_ITEMS} AS r
    CROSS JOIN __PERIODS__ AS p
    WHERE r.kind = 'risk' AND r.created_at < p.period_at
)
WHERE category_then != 'done'`;

/** Open risks at period end: all of them, or one severity band (a fixed name of this file, not a value from data or config). */
function openRisks(band: 'high' | 'medium' | 'low' | undefined): MetricDefinition {
  return {
    id: band === undefined ? 'risks_open' : `risks_open_${band}`,
    version: 1,
    title: band === undefined ? 'Open risks at period end' : `Open ${band}-severity risks at period end`,
    item: 16,
    unit: 'count',
    better: 'lower',
    aggregate: { kind: 'count' },
    units: `
SELECT toDateTime64(o.period_start, 3, {tz:String}) AS at, o.program AS program, o.team AS team, '' AS service, '' AS repo,
       1.0 AS num, 0.0 AS den, ${NO_VALUE} AS value, ${itemName('o')} AS item,
       concat('open (', o.status_then, ') at ', toString(o.period_at), ', ', toString(round(o.age, 2)), ' days since raised ', toString(o.created_at),
              '; severity ', o.band, ' (severity ''', o.severity, ''', priority ''', o.priority, ''')') AS detail
FROM (${OPEN_RISKS}) AS o
${band === undefined ? '' : `WHERE o.band = '${band}'`}
SETTINGS join_use_nulls = 0`,
  };
}

/**
 * Of the high risks live in a period (open at its start, or raised during it), the share done at its
 * end: the burn-down of the period. A high risk mitigated in an earlier period is not counted again.
 */
export const highRisksMitigated: MetricDefinition = {
  id: 'high_risks_mitigated_share',
  version: 1,
  title: 'High risks mitigated (done at period end / high risks live in the period)',
  item: 16,
  unit: 'ratio',
  better: 'higher',
  aggregate: { kind: 'ratio' },
  units: `
SELECT toDateTime64(x.period_start, 3, {tz:String}) AS at, x.program AS program, x.team AS team, '' AS service, '' AS repo,
       if(x.done_at_end, 1.0, 0.0) AS num, 1.0 AS den, ${NO_VALUE} AS value, ${itemName('x')} AS item,
       concat(if(x.done_at_end, 'mitigated: ', 'not mitigated: '), x.status_start, ' at period start, ', x.status_end, ' at period end; severity ',
              '''', x.severity, ''', priority ''', x.priority, '''') AS detail
FROM
(
    SELECT p.period_start AS period_start, r.source AS source, r.key AS key, r.summary AS summary, r.team AS team, r.program AS program,
           r.severity AS severity,
           r.priority AS priority, ${SEVERITY_BAND} AS band,
           if(r.created_at < toDateTime64(p.period_start, 3, {tz:String}), ${statusAt('r', 'toDateTime64(p.period_start, 3, {tz:String})')}, 'not raised') AS status_start,
           r.created_at >= toDateTime64(p.period_start, 3, {tz:String}) OR ${categoryAt('r', 'toDateTime64(p.period_start, 3, {tz:String})')} != 'done' AS live,
           ${statusAt('r', 'p.period_at')} AS status_end,
           ${categoryAt('r', 'p.period_at')} = 'done' AS done_at_end
    FROM ${MAYBE_OPEN_ITEMS} AS r
    CROSS JOIN __PERIODS__ AS p
    WHERE r.kind = 'risk' AND r.created_at < p.period_at
) AS x
WHERE x.band = 'high' AND x.live
SETTINGS join_use_nulls = 0`,
};

/** High risks open at period end with no assignee then (from the assignee changes in the history). */
export const highRisksUnowned: MetricDefinition = {
  id: 'high_risks_unowned',
  version: 1,
  title: 'Open high risks with no owner at period end',
  item: 16,
  unit: 'count',
  better: 'lower',
  aggregate: { kind: 'count' },
  units: `
SELECT toDateTime64(o.period_start, 3, {tz:String}) AS at, o.program AS program, o.team AS team, '' AS service, '' AS repo,
       1.0 AS num, 0.0 AS den, ${NO_VALUE} AS value, ${itemName('o')} AS item,
       concat('open (', o.status_then, ') at ', toString(o.period_at), ', ', toString(round(o.age, 2)), ' days since raised ', toString(o.created_at),
              '; high severity, no assignee') AS detail
FROM (${OPEN_RISKS}) AS o
WHERE o.band = 'high' AND o.unowned
SETTINGS join_use_nulls = 0`,
};

// ---------------------------------------------------------------------------------------------------
// 17. Decision latency
// ---------------------------------------------------------------------------------------------------

/** Decisions (kind 'decision') made in the period: hours from created to done, p50. */
export const decisionLatency: MetricDefinition = {
  id: 'decision_latency_p50',
  version: 1,
  title: 'Decision latency, p50 (created to decided)',
  item: 17,
  unit: 'hours',
  better: 'lower',
  aggregate: { kind: 'quantile', q: 0.5 },
  units: `
SELECT assumeNotNull(d.done_at) AS at, d.program AS program, d.team AS team, '' AS service, '' AS repo, 1.0 AS num, 0.0 AS den,
       ${hours('d.created_at', 'assumeNotNull(d.done_at)')} AS value, ${itemName('d')} AS item,
       concat('created ', toString(d.created_at), ', decided (', d.status, ') ', toString(d.done_at)) AS detail
FROM ${TOUCHED_ITEMS} AS d
WHERE d.kind = 'decision' AND d.done_at IS NOT NULL
SETTINGS join_use_nulls = 0`,
};

/** Decisions open at each period's instant (its end, or now), and their mean age then in days (the sample size is how many). */
export const openDecisionAge: MetricDefinition = {
  id: 'open_decision_age_days',
  version: 1,
  title: 'Open decisions at period end: mean age',
  item: 17,
  unit: 'days',
  better: 'lower',
  aggregate: { kind: 'mean' },
  units: `
SELECT toDateTime64(x.period_start, 3, {tz:String}) AS at, x.program AS program, x.team AS team, '' AS service, '' AS repo,
       1.0 AS num, 0.0 AS den, toNullable(x.age) AS value, ${itemName('x')} AS item,
       concat('open (', x.status_then, ') since ', toString(x.created_at), ': ', toString(round(x.age, 2)), ' days at ', toString(x.period_at)) AS detail
FROM
(
    SELECT p.period_start AS period_start, p.period_at AS period_at, d.source AS source, d.key AS key, d.summary AS summary, d.team AS team,
           d.program AS program, d.created_at AS created_at, ${statusAt('d', 'p.period_at')} AS status_then, ${categoryAt('d', 'p.period_at')} AS category_then,
           ${days('d.created_at', 'p.period_at')} AS age
    FROM ${MAYBE_OPEN_ITEMS} AS d
    CROSS JOIN __PERIODS__ AS p
    WHERE d.kind = 'decision' AND d.created_at < p.period_at
) AS x
WHERE x.category_then != 'done'
SETTINGS join_use_nulls = 0`,
};

/**
 * Release-critical decisions (a label in metrics.releaseCriticalLabels, case-insensitive) against the
 * target (metrics.decisionTargetHours, 48 h): each decision counts once, when its outcome is known:
 * made within the target (at its decision), or not made when the target passed (at created + target;
 * a decision made later still counts as missed, in that period). Open decisions within their target
 * at the run's instant ({as_of}: now, or --as-of) are not counted yet.
 */
export const releaseCriticalDecisions: MetricDefinition = {
  id: 'release_critical_decisions_on_time',
  version: 1,
  title: 'Release-critical decisions made within the target',
  item: 17,
  unit: 'ratio',
  better: 'higher',
  aggregate: { kind: 'ratio' },
  units: `
SELECT if(x.on_time, assumeNotNull(x.done_at), x.deadline) AS at, x.program AS program, x.team AS team, '' AS service, '' AS repo,
       if(x.on_time, 1.0, 0.0) AS num, 1.0 AS den, ${NO_VALUE} AS value, ${itemName('x')} AS item,
       concat(if(x.on_time, 'within target: ', 'missed target: '), 'created ', toString(x.created_at), ', target ', toString(x.deadline),
              ', ', if(x.done_at IS NULL, 'not decided', concat('decided ', toString(x.done_at))), '; labels ', arrayStringConcat(x.labels, ', ')) AS detail
FROM
(
    SELECT d.source AS source, d.key AS key, d.summary AS summary, d.team AS team, d.program AS program, d.created_at AS created_at,
           d.done_at AS done_at, d.labels AS labels,
           d.created_at + toIntervalMillisecond(toInt64(round({decision_target_hours:Float64} * 3600000))) AS deadline,
           d.done_at IS NOT NULL AND assumeNotNull(d.done_at) <= deadline AS on_time
    FROM ${titledItems(`(${TOUCHED_SINCE} OR created_at + toIntervalMillisecond(toInt64(round({decision_target_hours:Float64} * 3600000))) >= {since:DateTime64(3)})`)} AS d
    WHERE d.kind = 'decision'
      AND hasAny(arrayMap(z -> lower(z), d.labels), arrayMap(z -> lower(z), {release_critical_labels:Array(String)}))
) AS x
WHERE x.on_time OR x.deadline <= {as_of:DateTime64(3)}
SETTINGS join_use_nulls = 0`,
};

// ---------------------------------------------------------------------------------------------------
// 18. Action item closure rate
// ---------------------------------------------------------------------------------------------------

/**
 * Action items (kind 'action') due in the period (their current due date, a day in the metrics' time
 * zone): closed on or before it (done by the run's instant, on or before the due day) / due. An item due
 * in the current period and still open counts as not closed until it is closed.
 */
export const actionItemClosure: MetricDefinition = {
  id: 'action_item_closure_rate',
  version: 1,
  title: 'Action items closed by their due date / action items due',
  item: 18,
  unit: 'ratio',
  better: 'higher',
  aggregate: { kind: 'ratio' },
  units: `
SELECT toDateTime64(toDate(assumeNotNull(a.due_date)), 3, {tz:String}) AS at, a.program AS program, a.team AS team, '' AS service, '' AS repo,
       if(a.closed AND toDate(assumeNotNull(a.done_at), {tz:String}) <= assumeNotNull(a.due_date), 1.0, 0.0) AS num, 1.0 AS den,
       ${NO_VALUE} AS value, ${itemName('a')} AS item,
       concat('due ', toString(a.due_date), ', ', if(NOT a.closed, concat('open (', a.status, ')'), concat('closed ', toString(a.done_at))),
              if(a.closed AND toDate(assumeNotNull(a.done_at), {tz:String}) <= assumeNotNull(a.due_date), ' (on time)', ' (late or open)')) AS detail
FROM (SELECT *, done_at IS NOT NULL AND assumeNotNull(done_at) <= {as_of:DateTime64(3)} AS closed FROM ${titledItems('due_date IS NOT NULL AND toDate(assumeNotNull(due_date)) >= toDate({from_day:String})')}) AS a
WHERE a.kind = 'action' AND a.due_date IS NOT NULL
SETTINGS join_use_nulls = 0`,
};

// ---------------------------------------------------------------------------------------------------
// 19. Flow
// ---------------------------------------------------------------------------------------------------

/**
 * Flow counts delivery work: stories, tasks, bugs and other issue types; not epics (containers of
 * other items), sub-tasks (parts of an item already counted), risks, decisions or action items.
 */
const FLOW_KINDS = `('story', 'task', 'bug', 'other')`;

/**
 * Active time: time in in_progress category statuses whose name does not say the work is waiting
 * (names containing "block", "wait" or "hold"), between the start and the finish.
 */
const ACTIVE_MS = `arraySum(arrayMap(k -> if(tupleElement(f.st[k], 5) = 'in_progress' AND NOT match(lower(tupleElement(f.st[k], 3)), 'block|wait|hold'),
        greatest(0, dateDiff('millisecond', greatest(tupleElement(f.st[k], 1), assumeNotNull(f.started_at)),
                                            least(if(k < length(f.st), tupleElement(f.st[k + 1], 1), assumeNotNull(f.done_at)), assumeNotNull(f.done_at)))),
        0), arrayEnumerate(f.st)))`;

/** Items done in flow, with a start: cycle time from the first move into progress to done. */
const CYCLES = `
SELECT f.source AS source, f.key AS key, f.summary AS summary, f.team AS team, f.program AS program, f.status AS status,
       assumeNotNull(f.started_at) AS started, assumeNotNull(f.done_at) AS done,
       dateDiff('millisecond', started, done) AS cycle_ms, ${ACTIVE_MS} AS active_ms
FROM ${TOUCHED_ITEMS} AS f
WHERE f.kind IN ${FLOW_KINDS} AND f.done_at IS NOT NULL AND f.started_at IS NOT NULL AND assumeNotNull(f.started_at) <= assumeNotNull(f.done_at)`;

function cycleTime(q: number): MetricDefinition {
  return {
    id: `cycle_time_p${Math.round(q * 100)}`,
    version: 1,
    title: `Cycle time, p${Math.round(q * 100)} (first in progress to done)`,
    item: 19,
    unit: 'days',
    better: 'lower',
    aggregate: { kind: 'quantile', q },
    units: `
SELECT c.done AS at, c.program AS program, c.team AS team, '' AS service, '' AS repo, 1.0 AS num, 0.0 AS den,
       toNullable(c.cycle_ms / 86400000.0) AS value, ${itemName('c')} AS item,
       concat('started ', toString(c.started), ', done ', toString(c.done), ' (', c.status, ')') AS detail
FROM (${CYCLES}) AS c
SETTINGS join_use_nulls = 0`,
  };
}

/**
 * Items done per team per week (done at their last move into a done category status). Items that went
 * straight to done without being in progress count here, though they have no cycle time.
 */
export const throughput: MetricDefinition = {
  id: 'throughput',
  version: 1,
  title: 'Throughput (work items done per week)',
  item: 19,
  unit: 'count',
  better: 'higher',
  aggregate: { kind: 'count' },
  periods: ['week'],
  units: `
SELECT assumeNotNull(f.done_at) AS at, f.program AS program, f.team AS team, '' AS service, '' AS repo, 1.0 AS num, 0.0 AS den,
       ${NO_VALUE} AS value, ${itemName('f')} AS item, concat(f.kind, ' done ', toString(f.done_at), ' (', f.status, ')') AS detail
FROM ${TOUCHED_ITEMS} AS f
WHERE f.kind IN ${FLOW_KINDS} AND f.done_at IS NOT NULL
SETTINGS join_use_nulls = 0`,
};

/** Active time / cycle time over the items done in the period (time-weighted: sum of active / sum of cycle, in hours). */
export const flowEfficiency: MetricDefinition = {
  id: 'flow_efficiency',
  version: 1,
  title: 'Flow efficiency (active time / cycle time)',
  item: 19,
  unit: 'ratio',
  better: 'higher',
  aggregate: { kind: 'ratio' },
  units: `
SELECT c.done AS at, c.program AS program, c.team AS team, '' AS service, '' AS repo,
       c.active_ms / 3600000.0 AS num, c.cycle_ms / 3600000.0 AS den, ${NO_VALUE} AS value, ${itemName('c')} AS item,
       concat('active ', toString(round(c.active_ms / 3600000.0, 2)), ' h of ', toString(round(c.cycle_ms / 3600000.0, 2)),
              ' h cycle (started ', toString(c.started), ', done ', toString(c.done), ')') AS detail
FROM (${CYCLES}) AS c
WHERE c.cycle_ms > 0
SETTINGS join_use_nulls = 0`,
};

/**
 * Work items moved across teams: a move to another Jira project (the 'Key' change Jira writes) whose
 * old project belongs to another team than the item's team now. A project's team is the team most of
 * its work items have now (the org mapping by project or component, as the mapper applied it). Counted
 * when the move happened, for the receiving team; moves from or to a project with no owner are not
 * counted. Hand-offs between people of different teams are not counted: the people mapping's teams are
 * not in the store.
 */
/** Flow items moved from a done status back to one that is not done, counted when reopened (a leading indicator of rework). */
export const reopenedItems: MetricDefinition = {
  id: 'reopened_items',
  version: 1,
  title: 'Work items reopened',
  item: 20,
  unit: 'count',
  better: 'lower',
  aggregate: { kind: 'count' },
  units: `
SELECT tupleElement(r, 1) AS at, i.program AS program, i.team AS team, '' AS service, '' AS repo, 1.0 AS num, 0.0 AS den, ${NO_VALUE} AS value,
       ${itemName('i')} AS item,
       concat('reopened: ', tupleElement(r, 2), ' -> ', tupleElement(r, 3)) AS detail
FROM ${TOUCHED_ITEMS} AS i
ARRAY JOIN arrayFilter(x -> x.4 = 'done' AND x.5 != 'done', i.st) AS r
WHERE i.kind IN ${FLOW_KINDS}`,
};

export const crossTeamMoves: MetricDefinition = {
  id: 'cross_team_moves',
  version: 1,
  title: 'Work items moved across teams',
  item: 19,
  unit: 'count',
  better: 'lower',
  aggregate: { kind: 'count' },
  units: `
SELECT m.moved_at AS at, m.program AS program, m.team AS team, '' AS service, '' AS repo, 1.0 AS num, 0.0 AS den, ${NO_VALUE} AS value,
       ${itemName('m')} AS item,
       concat('moved ', m.old_key, ' -> ', m.new_key, ' at ', toString(m.moved_at), ': project ', m.old_project, ' (team ''', t.team,
              ''') to team ''', m.team, '''') AS detail
FROM
(
    SELECT i.source AS source, i.key AS key, i.summary AS summary, i.team AS team, i.program AS program, mv.1 AS moved_at, mv.2 AS old_key, mv.3 AS new_key,
           splitByChar('-', mv.2)[1] AS old_project
    FROM ${TOUCHED_ITEMS} AS i
    ARRAY JOIN i.moves AS mv
    WHERE i.team != ''
) AS m
INNER JOIN
(
    SELECT project, argMax(team, (n, team)) AS team
    FROM (SELECT toString(project) AS project, toString(team) AS team, count() AS n FROM work_items FINAL WHERE team != '' GROUP BY project, team)
    GROUP BY project
) AS t ON t.project = m.old_project
WHERE t.team != m.team
SETTINGS join_use_nulls = 0`,
};

export const FLOW_METRICS: MetricDefinition[] = [
  stallMetric(false),
  stallMetric(true),
  openRisks(undefined),
  openRisks('high'),
  openRisks('medium'),
  openRisks('low'),
  highRisksMitigated,
  highRisksUnowned,
  decisionLatency,
  openDecisionAge,
  releaseCriticalDecisions,
  actionItemClosure,
  cycleTime(0.5),
  cycleTime(0.85),
  throughput,
  flowEfficiency,
  crossTeamMoves,
  reopenedItems,
];
