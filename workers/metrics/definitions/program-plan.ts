import type { MetricDefinition } from '../types.js';
import { BLOCKING_LINKS } from './links.js';

/**
 * Program delivery against plan, items 10-14 of docs/metrics.md: milestone on-time rate, schedule
 * variance, re-plan frequency, scope change rate and dependency aging. Everything is read from the Jira
 * facts: milestones and milestone_dates (every committed date seen, and when), work_items, their
 * changelog (work_item_history) and their links.
 *
 * Milestones for items 10-12 are Jira versions and epics with a committed date (release date, due date);
 * sprints are iterations, not delivery commitments, and are left out there. Item 13 covers sprints too.
 */

const NO_VALUE = 'CAST(NULL AS Nullable(Float64))';

/** Midnight starting a calendar day (Date or Date32) in the metrics' time zone. */
const dayStart = (day: string): string => `toDateTime64(${day}, 3, {tz:String})`;
/** The calendar day of an instant in the metrics' time zone. */
const dayOf = (instant: string): string => `toDate(toTimeZone(${instant}, {tz:String}))`;

/**
 * Every committed date seen for a version or an epic, and when it was seen: milestone_dates (snapshots
 * and the due-date changelog), plus, for an epic, the due date it was created with. Jira's changelog
 * never lists an issue's initial values, so when an epic's first due-date change has an old value, that
 * date was set at creation: it is observed at the epic's creation time. A cleared date is no commitment
 * and is not an observation.
 */
export const OBSERVATIONS = `
SELECT d.source AS source, d.milestone_id AS milestone_id, assumeNotNull(d.committed_date) AS committed,
       d.observed_at AS observed_at, toString(d.basis) AS basis
FROM milestone_dates AS d FINAL
WHERE d.committed_date IS NOT NULL
UNION ALL
SELECT h.source AS source, concat('epic/', h.item_id) AS milestone_id, assumeNotNull(toDate32OrNull(h.first_from)) AS committed,
       w.created_at AS observed_at, 'created' AS basis
FROM
(
    SELECT source, item_id, argMin(from_value, changed_at) AS first_from
    FROM work_item_history FINAL
    WHERE field_id = 'duedate' OR (field_id = '' AND lower(field) = 'duedate')
    GROUP BY source, item_id
) AS h
INNER JOIN (SELECT source, item_id, created_at FROM work_items FINAL WHERE kind = 'epic') AS w
  ON w.source = h.source AND w.item_id = h.item_id
WHERE toDate32OrNull(h.first_from) IS NOT NULL`;

/**
 * Every committed date seen for each milestone, in time order: `seen_all`, an array of (observed_at,
 * committed date, basis) per (source, milestone_id).
 */
/**
 * The kinds of milestone a program plans by (committed dates, on-time rates, forecasts): Jira versions,
 * epics with a due date, and GitHub and GitLab milestones ('milestone/<id>'). Sprints are iterations,
 * not commitments of this kind.
 */
export const PLANNED_KINDS = `('version', 'epic', 'milestone')`;

export const PLAN_HISTORY = `
(
    SELECT source, milestone_id, arraySort(groupArray((observed_at, committed, basis))) AS seen_all
    FROM (${OBSERVATIONS})
    GROUP BY source, milestone_id
)`;

/**
 * The team (and its program) with most of each version's work items, per (source, milestone_id): the
 * owner of a version whose Jira project maps to no team.
 */
export const MILESTONE_OWNERS = `
(
    SELECT source, milestone_id, argMax(item_team, (n, item_team)) AS team, argMax(item_program, (n, item_team)) AS program
    FROM
    (
        SELECT source, arrayJoin(fix_versions) AS milestone_id, toString(team) AS item_team, toString(program) AS item_program, count() AS n
        FROM work_items FINAL
        WHERE team != ''
        GROUP BY source, milestone_id, item_team, item_program
    )
    GROUP BY source, milestone_id
)`;

/**
 * One row per version or epic that has a committed date, with its plan history:
 *   seen       every (observed_at, committed date, basis), in time order, up to its completion (a date
 *              observed after completion, e.g. a release date set on release day, is not a plan)
 *   original   the first committed date seen (the original plan), committed_at when it was seen
 *   latest     the last committed date seen up to completion (the latest re-commit)
 *   changes    each re-plan: (observed_at, old date, new date), a date different from the previous one
 *   done_day   the completion day in the metrics' time zone (NULL while open); a version's completion is
 *              its release date (Jira keeps no time), the same day in every time zone
 *   done_at    when it counts as completed: an epic's resolution, the start of a version's release day
 * When every observation came after completion (history synced late), the first one seen is both plans.
 * Owner: the milestone's own team and program (a version's Jira project, an epic's); a version whose
 * project maps to no team belongs to the team with most of its work items.
 */
export const PLANS = `
SELECT m.source AS source, m.milestone_id AS milestone_id, toString(m.kind) AS kind, m.name AS name,
       if(m.team != '', toString(m.team), o.team) AS team, if(m.team != '', toString(m.program), o.program) AS program,
       m.start_date AS start_date, m.completed_at AS completed_at, toString(m.state) AS state,
       multiIf(m.completed_at IS NULL, CAST(NULL AS Nullable(Date)),
               m.kind = 'version', toNullable(toDate(assumeNotNull(m.completed_at), 'UTC')),
               toNullable(${dayOf('assumeNotNull(m.completed_at)')})) AS done_day,
       if(m.kind = 'version' AND m.completed_at IS NOT NULL, toNullable(toTimeZone(${dayStart('assumeNotNull(done_day)')}, 'UTC')), m.completed_at) AS done_at,
       arrayFilter(x -> m.completed_at IS NULL OR x.1 <= assumeNotNull(m.completed_at), p.seen_all) AS seen_raw,
       if(length(seen_raw) > 0, seen_raw, [p.seen_all[1]]) AS seen,
       seen[1].2 AS original,
       seen[1].1 AS committed_at,
       seen[-1].2 AS latest,
       arrayMap(i -> (seen[i].1, seen[i - 1].2, seen[i].2), arrayFilter(i -> i > 1 AND seen[i].2 != seen[i - 1].2, arrayEnumerate(seen))) AS changes
FROM (SELECT * FROM milestones FINAL WHERE kind IN ${PLANNED_KINDS}) AS m
INNER JOIN ${PLAN_HISTORY} AS p ON p.source = m.source AND p.milestone_id = m.milestone_id
LEFT JOIN ${MILESTONE_OWNERS} AS o ON o.source = m.source AND o.milestone_id = m.milestone_id
WHERE length(p.seen_all) > 0
SETTINGS join_use_nulls = 0`;

const planText = `arrayStringConcat(arrayMap(x -> concat(toString(x.2), ' (', x.3, ' ', toString(x.1), ')'), seen), ' -> ')`;
const milestoneItem = `concat(source, ' ', kind, ' ', milestone_id, ' "', name, '"')`;

function onTime(which: 'original' | 'latest'): MetricDefinition {
  const planned = which === 'original' ? 'original' : 'latest';
  return {
    id: `milestone_on_time_rate_${which}`,
    version: 1,
    title:
      which === 'original'
        ? 'Milestone on-time rate, against the original plan (first committed date)'
        : 'Milestone on-time rate, against the latest re-commit before completion',
    item: 10,
    unit: 'ratio',
    better: 'higher',
    aggregate: { kind: 'ratio' },
    units: `
SELECT assumeNotNull(done_at) AS at, program, team, '' AS service, '' AS repo,
       if(assumeNotNull(done_day) <= ${planned}, 1.0, 0.0) AS num, 1.0 AS den, ${NO_VALUE} AS value,
       ${milestoneItem} AS item,
       concat(if(num = 1, 'on time', 'late'), ': done ', toString(done_day), ', ${which === 'original' ? 'original plan' : 'latest re-commit'} ',
              toString(${planned}), '; committed dates seen: ', ${planText}) AS detail
FROM (${PLANS})
WHERE completed_at IS NOT NULL`,
  };
}

/**
 * Schedule variance of completed milestones against the original plan (the baseline: re-commits do not
 * hide a slip; the latest re-commit has its own on-time rate). The median, so one milestone that slipped
 * by months does not speak for all of them. Positive is late, negative early.
 */
const varianceDays = `toFloat64(dateDiff('day', original, assumeNotNull(done_day)))`;
const plannedDays = `dateDiff('day', assumeNotNull(start_date), original)`;

const scheduleVarianceDays: MetricDefinition = {
  id: 'schedule_variance_days_p50',
  version: 1,
  title: 'Schedule variance of completed milestones, days late against the original plan (median)',
  item: 11,
  unit: 'days',
  better: 'lower',
  aggregate: { kind: 'quantile', q: 0.5 },
  units: `
SELECT assumeNotNull(done_at) AS at, program, team, '' AS service, '' AS repo, 1.0 AS num, 0.0 AS den,
       toNullable(${varianceDays}) AS value,
       ${milestoneItem} AS item,
       concat('done ', toString(done_day), ', original plan ', toString(original), ': ', toString(value), ' days; committed dates seen: ', ${planText}) AS detail
FROM (${PLANS})
WHERE completed_at IS NOT NULL`,
};

/** Variance as a percentage of the planned duration (start date to the original plan); milestones with no start date, or none before the plan, are left out. */
const scheduleVariancePercent: MetricDefinition = {
  id: 'schedule_variance_percent_p50',
  version: 1,
  title: 'Schedule variance of completed milestones, percent of the planned duration (median)',
  item: 11,
  unit: 'percent',
  better: 'lower',
  aggregate: { kind: 'quantile', q: 0.5 },
  units: `
SELECT assumeNotNull(done_at) AS at, program, team, '' AS service, '' AS repo, 1.0 AS num, 0.0 AS den,
       toNullable(100.0 * ${varianceDays} / ${plannedDays}) AS value,
       ${milestoneItem} AS item,
       concat('done ', toString(done_day), ', original plan ', toString(original), ' (', toString(${varianceDays}), ' days) over a planned ',
              toString(${plannedDays}), ' days from the start ', toString(start_date)) AS detail
FROM (${PLANS})
WHERE completed_at IS NOT NULL AND start_date IS NOT NULL AND ${plannedDays} > 0`,
};

/**
 * Re-plans per milestone per month: for each period, the committed-date changes seen in it (a date
 * different from the previous one seen, up to completion), over the milestone-months of exposure: each
 * day from the first commitment to completion (or to the run's instant: today, or the --as-of day) adds
 * 1/(days of its month), re-plans counted up to that instant. A milestone
 * committed for all of March gives exactly one milestone-month; a weekly value is still per month.
 * Abandoned milestones (archived, never completed) are left out: their exposure has no known end.
 */
const replanFrequency: MetricDefinition = {
  id: 'replan_frequency',
  version: 1,
  title: 'Re-plan frequency (committed-date changes per milestone per month)',
  item: 12,
  unit: 'ratio',
  better: 'lower',
  aggregate: { kind: 'ratio' },
  // A day is too short a window for a monthly rate: one re-plan in a day reads as 30 a month.
  periods: ['week', 'month'],
  units: `
SELECT ${dayStart('x.period_start')} AS at, x.program AS program, x.team AS team, '' AS service, '' AS repo,
       toFloat64(length(x.moved)) AS num,
       arraySum(arrayMap(d -> 1.0 / toDayOfMonth(toLastDayOfMonth(d)),
                         arrayMap(i -> x.first_day + i, range(toUInt32(greatest(0, dateDiff('day', x.first_day, x.last_day) + 1)))))) AS den,
       ${NO_VALUE} AS value,
       x.item AS item,
       concat(toString(length(x.moved)), ' re-plan(s) in the period',
              if(length(x.moved) > 0, concat(': ', arrayStringConcat(arrayMap(c -> concat(toString(c.2), ' -> ', toString(c.3), ' at ', toString(c.1)), x.moved), ', ')), ''),
              '; committed from ', toString(x.committed_at), if(x.done_day IS NULL, ', open', concat(', done ', toString(x.done_day)))) AS detail
FROM
(
    SELECT pl.program AS program, pl.team AS team, pl.done_day AS done_day, pl.committed_at AS committed_at,
           concat(pl.source, ' ', pl.kind, ' ', pl.milestone_id, ' "', pl.name, '"') AS item,
           p.period_start AS period_start,
           arrayFilter(c -> c.1 >= ${dayStart('p.period_start')} AND c.1 < p.period_at, pl.changes) AS moved,
           greatest(${dayOf('pl.committed_at')}, p.period_start) AS first_day,
           least(ifNull(pl.done_day, ${dayOf('{as_of:DateTime64(3)}')}), ${dayOf('{as_of:DateTime64(3)}')}, ${dayOf('p.period_end')} - 1) AS last_day
    FROM (${PLANS}) AS pl
    CROSS JOIN __PERIODS__ AS p
    WHERE NOT (pl.state = 'archived' AND pl.completed_at IS NULL)
      AND pl.committed_at < p.period_at
      AND (pl.done_day IS NULL OR assumeNotNull(pl.done_day) >= p.period_start)
) AS x
WHERE num > 0 OR den > 0`,
};

/**
 * Membership changes of work items in milestones, from the changelog: 'Fix Version' (one version id
 * added or removed per change), 'Sprint' (the whole list of sprint ids before and after), the parent
 * ('Epic Link', 'Parent' or 'IssueParentAssociation': the epic's item id) and 'milestone' (a GitHub or
 * GitLab issue's milestone id before and after). delta +1 added, -1 removed.
 */
export const MOVES = `
SELECT source, item_id, t, mv.1 AS milestone_id, mv.2 AS delta
FROM
(
    SELECT source, item_id, changed_at AS t, field, field_id, from_value, to_value,
           arrayFilter(s -> s != '', arrayMap(s -> trimBoth(s), splitByChar(',', from_value))) AS ids_from,
           arrayFilter(s -> s != '', arrayMap(s -> trimBoth(s), splitByChar(',', to_value))) AS ids_to,
           multiIf(field_id = 'fixVersions' OR field = 'Fix Version', 'version/',
                   field = 'Sprint', 'sprint/',
                   field_id = 'parent' OR field IN ('Parent', 'Epic Link', 'IssueParentAssociation'), 'epic/',
                   field_id = 'milestone', 'milestone/', '') AS prefix
    FROM work_item_history FINAL
    WHERE prefix != ''
)
ARRAY JOIN arrayConcat(
    arrayMap(s -> (concat(prefix, s), toInt8(-1)), arrayFilter(s -> NOT has(ids_to, s), ids_from)),
    arrayMap(s -> (concat(prefix, s), toInt8(1)), arrayFilter(s -> NOT has(ids_from, s), ids_to))) AS mv`;

/**
 * Commit points: a sprint is committed at the end of its start day (what is in it after sprint planning
 * on day one is its committed scope; Jira keeps only the start date), a version or epic when its first
 * committed date was seen. The scope window ends at completion: moving unfinished work out when a sprint
 * closes or a version is released is not scope change.
 */
const COMMITS = `
SELECT source, milestone_id, toString(kind) AS kind, name, toTimeZone(${dayStart('assumeNotNull(start_date) + 1')}, 'UTC') AS commit_at,
       ifNull(completed_at, toDateTime64('2200-01-01 00:00:00', 3, 'UTC')) AS end_at
FROM milestones FINAL
WHERE kind = 'sprint' AND state IN ('active', 'done') AND start_date IS NOT NULL
UNION ALL
SELECT source, milestone_id, kind, name, committed_at AS commit_at,
       ifNull(completed_at, toDateTime64('2200-01-01 00:00:00', 3, 'UTC')) AS end_at
FROM (${PLANS})`;

/**
 * One row per (milestone, work item) that was in the milestone at its commit point or moved in or out
 * after it, with:
 *   committed  1 when in the committed scope: the last change up to the commit point says so, else the
 *              item's membership when it was created (the opposite of its first change, or its current
 *              membership when it never changed); an item created after the commit point was not
 *   changes    each add (+1) and removal (-1) after the commit point and before completion; an item
 *              created in the milestone after the commit point is an add at its creation
 * Points are the item's current story points (0 when unestimated); estimate_seconds and spent_seconds its
 * current original estimate and time logged (0 when none).
 */
export const SCOPE_PAIRS = `
SELECT c.source AS source, c.milestone_id AS milestone_id, c.kind AS kind, c.name AS name, c.commit_at AS commit_at, c.end_at AS end_at,
       w.item_id AS item_id, w.key AS key, w.team AS team, w.program AS program, ifNull(w.story_points, 0) AS points,
       ifNull(w.original_estimate_seconds, 0) AS estimate_seconds, ifNull(w.time_spent_seconds, 0) AS spent_seconds,
       if(length(e.evs) > 0, e.evs[1].2 = -1, e.is_current = 1) AS initially,
       arrayFilter(v -> v.1 <= c.commit_at, e.evs) AS before,
       if(w.created_at > c.commit_at, 0, if(length(before) > 0, before[-1].2 = 1, initially)) AS committed,
       arrayConcat(if(w.created_at > c.commit_at AND initially AND w.created_at < c.end_at, [(w.created_at, toInt8(1))], []),
                   arrayFilter(v -> v.1 > c.commit_at AND v.1 < c.end_at, e.evs)) AS changes
FROM
(
    SELECT source, item_id, milestone_id, arraySort(groupArrayIf((t, delta), delta != 0)) AS evs, max(is_current) AS is_current
    FROM
    (
        SELECT source, item_id, milestone_id, t, delta, 0 AS is_current FROM (${MOVES})
        UNION ALL
        SELECT source, item_id, arrayJoin(arrayConcat(fix_versions, sprints, if(parent_id != '', [concat('epic/', parent_id)], []))) AS milestone_id,
               toDateTime64(0, 3, 'UTC') AS t, toInt8(0) AS delta, 1 AS is_current
        FROM work_items FINAL
    )
    GROUP BY source, item_id, milestone_id
) AS e
INNER JOIN (${COMMITS}) AS c ON c.source = e.source AND c.milestone_id = e.milestone_id
INNER JOIN (SELECT source, item_id, key, team, program, story_points, original_estimate_seconds, time_spent_seconds, created_at FROM work_items FINAL) AS w
  ON w.source = e.source AND w.item_id = e.item_id
WHERE committed = 1 OR length(changes) > 0
SETTINGS join_use_nulls = 0`;

/** The pairs of milestones that had a committed scope: one with nothing in it at its commit point had its date set before its work was planned, and has no baseline to change. */
const SCOPED_PAIRS = `
SELECT * FROM (SELECT *, sum(committed) OVER (PARTITION BY source, milestone_id) AS milestone_committed FROM (${SCOPE_PAIRS}))
WHERE milestone_committed > 0`;

/**
 * Scope change rate: for each milestone (version, epic, sprint) active in a period (committed before its
 * end, not completed before its start) and each team of its work items, the adds and removals in the
 * period over the committed scope. Every add and every removal counts (an item added and removed again
 * after the commit point is two changes). A ratio: 0.25 is 25 % of the committed scope. A milestone with
 * no committed scope at all is left out; within one that has, a team with nothing committed still counts
 * its changes (a value for that team alone has no denominator).
 */
function scopeChange(by: 'count' | 'points'): MetricDefinition {
  const weight = by === 'count' ? '1.0' : 'y.points';
  return {
    id: `scope_change_rate_${by}`,
    version: 1,
    title: `Scope change rate by ${by === 'count' ? 'item count' : 'story points'} (added + removed after commit / committed scope)`,
    item: 13,
    unit: 'ratio',
    better: 'lower',
    aggregate: { kind: 'ratio' },
    units: `
SELECT ${dayStart('z.period_start')} AS at, z.program AS program, z.team AS team, '' AS service, '' AS repo,
       z.changed AS num, z.committed AS den, ${NO_VALUE} AS value,
       concat(z.source, ' ', z.kind, ' ', z.milestone_id, ' "', z.name, '"', if(z.team = '', '', concat(' (team ', z.team, ')'))) AS item,
       concat('committed ', toString(z.committed_items), ' items, ', toString(z.committed_points), ' points at ', toString(z.commit_at),
              '; changed ${by === 'count' ? 'items' : 'points'} ', toString(z.changed), if(z.moves = '', '', concat(': ', z.moves))) AS detail
FROM
(
    SELECT y.source AS source, y.milestone_id AS milestone_id, any(y.kind) AS kind, any(y.name) AS name, any(y.commit_at) AS commit_at,
           y.team AS team, y.program AS program, y.period_start AS period_start,
           sumIf(${weight}, y.committed = 1) AS committed,
           countIf(y.committed = 1) AS committed_items, sumIf(y.points, y.committed = 1) AS committed_points,
           sum(${weight} * length(y.moved)) AS changed,
           arrayStringConcat(arrayFilter(s -> s != '', groupArray(y.moved_text)), ', ') AS moves
    FROM
    (
        SELECT s.*, p.period_start AS period_start,
               arrayFilter(v -> v.1 >= ${dayStart('p.period_start')} AND v.1 < p.period_at, s.changes) AS moved,
               arrayStringConcat(arrayMap(v -> concat(if(v.2 > 0, 'added ', 'removed '), s.key, ' (', toString(s.points), ' points) at ', toString(v.1)), moved), ', ') AS moved_text
        FROM (${SCOPED_PAIRS}) AS s
        CROSS JOIN __PERIODS__ AS p
        WHERE s.commit_at < p.period_at AND s.end_at > ${dayStart('p.period_start')}
    ) AS y
    GROUP BY y.source, y.milestone_id, y.team, y.program, y.period_start
) AS z
WHERE z.committed_items > 0 OR z.changed > 0 OR z.moves != ''`,
  };
}

/**
 * Open blocking dependencies at each period's instant (its end, or the run's instant for the current
 * period: now, or --as-of): a 'blocks' link
 * (from_key blocks to_key) that existed then, whose blocker was not done then, and whose blocked item was
 * not done either (a dependency of finished work no longer holds anything up). An item's status at an
 * instant is the old status of its first status change after it, else its current status; a status's
 * category is the one work items in that status have now (config overrides included), and a status no
 * item holds now counts as not done. A dependency resolved (its blocker done) and re-opened (the blocker
 * reopened) is open again, aged from the link's creation.
 * Age: from the link's creation, else when the blocked item first became blocked (a status whose name
 * starts with 'blocked', or flagged), else the blocked item's creation. The blocked item's team and
 * program own the dependency (the team whose work waits); the detail names the blocker's team.
 * Critical: the blocked item is in a milestone (a fix version, or a parent epic that is a milestone), its
 * priority rank is 1..{critical_priority_rank} or its priority is one of {critical_priorities}, or it
 * carries one of {critical_labels} (case-insensitive). 'blocks' links: see BLOCKING_LINKS.
 * Links removed from Jira are gone from the facts, so a recomputed past period no longer shows them.
 */
const OPEN_DEPENDENCIES = `
WITH
    cats AS (SELECT source, status, any(toString(status_category)) AS category FROM work_items FINAL GROUP BY source, status),
    flow AS
    (
        SELECT source, item_id, arraySort(groupArray((changed_at, from_string))) AS moves
        FROM work_item_history FINAL
        WHERE field_id = 'status' OR (field_id = '' AND lower(field) = 'status')
        GROUP BY source, item_id
    ),
    blocked_since AS
    (
        SELECT source, item_id, min(changed_at) AS since
        FROM work_item_history FINAL
        WHERE ((field_id = 'status' OR lower(field) = 'status') AND lower(to_string) LIKE 'blocked%')
           OR (lower(field) = 'flagged' AND to_string != '')
        GROUP BY source, item_id
    ),
    epics AS (SELECT milestone_id FROM milestones FINAL WHERE kind = 'epic'),
    deps AS
    (
        SELECT l.source AS source, l.from_key AS blocker_key, l.to_key AS blocked_key, l.link_id AS link_id,
               multiIf(l.created_at IS NOT NULL, assumeNotNull(l.created_at), bs.since > toDateTime64(0, 3, 'UTC'), bs.since, d.created_at) AS since,
               multiIf(l.created_at IS NOT NULL, 'link created', bs.since > toDateTime64(0, 3, 'UTC'), 'blocked item became blocked', 'blocked item created') AS since_basis,
               b.status AS blocker_status, b.status_category AS blocker_category, fb.moves AS blocker_moves, b.team AS blocker_team,
               d.status AS blocked_status, d.status_category AS blocked_category, fd.moves AS blocked_moves,
               d.team AS team, d.program AS program,
               multiIf(length(d.fix_versions) > 0, concat('in ', arrayStringConcat(d.fix_versions, ', ')),
                       d.parent_id != '' AND concat('epic/', d.parent_id) IN (SELECT milestone_id FROM epics), concat('in epic/', d.parent_id),
                       (d.priority_rank >= 1 AND d.priority_rank <= {critical_priority_rank:UInt8}) OR has({critical_priorities:Array(String)}, lower(d.priority)),
                       concat('priority ', d.priority),
                       hasAny(arrayMap(x -> lower(x), d.labels), arrayMap(x -> lower(x), {critical_labels:Array(String)})), 'critical label',
                       '') AS critical
        FROM ${BLOCKING_LINKS} AS l
        INNER JOIN (SELECT source, item_id, status, status_category, team FROM work_items FINAL) AS b
          ON b.source = l.source AND b.item_id = l.from_item_id
        INNER JOIN
        (
            SELECT source, item_id, status, status_category, team, program, created_at, fix_versions, parent_id, priority, priority_rank, labels
            FROM work_items FINAL
        ) AS d ON d.source = l.source AND d.item_id = l.to_item_id
        LEFT JOIN flow AS fb ON fb.source = b.source AND fb.item_id = b.item_id
        LEFT JOIN flow AS fd ON fd.source = d.source AND fd.item_id = d.item_id
        LEFT JOIN blocked_since AS bs ON bs.source = d.source AND bs.item_id = d.item_id
        SETTINGS join_use_nulls = 0
    ),
    at_end AS
    (
        SELECT deps.*, p.period_start AS period_start, p.period_at AS asof,
               arrayFirstIndex(m -> m.1 > asof, blocker_moves) AS bi,
               arrayFirstIndex(m -> m.1 > asof, blocked_moves) AS di,
               if(bi = 0, blocker_status, blocker_moves[bi].2) AS blocker_then,
               if(di = 0, blocked_status, blocked_moves[di].2) AS blocked_then
        FROM deps CROSS JOIN __PERIODS__ AS p
        WHERE deps.since < p.period_at
    )
SELECT a.period_start AS period_start, a.asof AS asof, a.team AS team, a.program AS program, a.critical AS critical,
       dateDiff('millisecond', a.since, a.asof) / 86400000.0 AS age_days,
       concat(a.source, ' dependency ', a.blocker_key, ' blocks ', a.blocked_key) AS item,
       concat('open at ', toString(a.asof), ': blocker ', a.blocker_key, ' (team ', if(a.blocker_team = '', '?', a.blocker_team), ') ', a.blocker_then,
              ', blocked ', a.blocked_then, '; age ', toString(round(age_days, 2)), ' days from ', toString(a.since), ' (', a.since_basis, ')',
              if(a.critical = '', '', concat('; critical: ', a.critical))) AS detail
FROM at_end AS a
LEFT JOIN cats AS cb ON cb.source = a.source AND cb.status = a.blocker_then
LEFT JOIN cats AS cd ON cd.source = a.source AND cd.status = a.blocked_then
WHERE if(a.bi = 0, a.blocker_category, cb.category) != 'done' AND if(a.di = 0, a.blocked_category, cd.category) != 'done'
SETTINGS join_use_nulls = 0`;

function dependencyAge(id: string, title: string, aggregate: MetricDefinition['aggregate'], criticalOnly = false): MetricDefinition {
  return {
    id,
    version: 1,
    title,
    item: 14,
    unit: 'days',
    better: 'lower',
    aggregate,
    units: `
SELECT ${dayStart('o.period_start')} AS at, o.program AS program, o.team AS team, '' AS service, '' AS repo,
       1.0 AS num, 0.0 AS den, toNullable(o.age_days) AS value, o.item AS item, o.detail AS detail
FROM (${OPEN_DEPENDENCIES}) AS o${criticalOnly ? `\nWHERE o.critical != ''` : ''}`,
  };
}

const criticalDependencies: MetricDefinition = {
  id: 'critical_dependencies_open',
  version: 1,
  title: 'Critical open blocking dependencies at period end',
  item: 14,
  unit: 'count',
  better: 'lower',
  aggregate: { kind: 'count' },
  units: `
SELECT ${dayStart('o.period_start')} AS at, o.program AS program, o.team AS team, '' AS service, '' AS repo,
       1.0 AS num, 0.0 AS den, toNullable(o.age_days) AS value, o.item AS item, o.detail AS detail
FROM (${OPEN_DEPENDENCIES}) AS o
WHERE o.critical != ''`,
};

export const PLAN_METRICS: MetricDefinition[] = [
  onTime('original'),
  onTime('latest'),
  scheduleVarianceDays,
  scheduleVariancePercent,
  replanFrequency,
  scopeChange('count'),
  scopeChange('points'),
  dependencyAge('dependency_age_mean_days', 'Open blocking dependency age at period end, mean', { kind: 'mean' }),
  dependencyAge('dependency_age_p90_days', 'Open blocking dependency age at period end, p90', { kind: 'quantile', q: 0.9 }),
  dependencyAge(
    'critical_dependency_age_p90_days',
    'Critical open blocking dependency age at period end, p90',
    { kind: 'quantile', q: 0.9 },
    true,
  ),
  criticalDependencies,
];
