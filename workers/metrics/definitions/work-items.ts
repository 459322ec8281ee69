/**
 * Work items as the program metrics and the registers read them: each item with its changelog folded
 * in, and its state at any instant. See program-flow.ts for how status categories in the past and the
 * done and start times are derived.
 */

import { BLOCKING_LINKS } from './links.js';

/** The category of a status name (a SQL expression over `name`), given `cats` = (names, categories). */
const categoryOf = (name: string): string =>
  `if(indexOf(tupleElement(cats, 1), lower(${name})) > 0, arrayElement(tupleElement(cats, 2), indexOf(tupleElement(cats, 1), lower(${name}))),
      multiIf(lower(${name}) IN ('to do', 'todo', 'open', 'backlog', 'new', 'reopened', 'selected for development'), 'todo',
              lower(${name}) IN ('done', 'closed', 'resolved', 'cancelled', 'canceled', 'won''t do', 'rejected'), 'done',
              'in_progress'))`;

/**
 * Per work item, its history folded into arrays:
 *   st      status changes (changed_at, from name, to name, from category, to category), oldest first
 *   changes every change's time (any field: each is an update)
 *   asg     assignee changes (changed_at, from, to), oldest first
 *   moves   project moves (changed_at, old key, new key), from the 'Key' changes Jira writes on a move
 *   due     due date changes (changed_at, from 'YYYY-MM-DD', to 'YYYY-MM-DD'), oldest first
 */
const HISTORY = `
(
    WITH (
        SELECT (groupArray(name), groupArray(category))
        FROM
        (
            SELECT name, argMax(category, (n, category)) AS category
            FROM (SELECT lower(status) AS name, toString(status_category) AS category, count() AS n FROM work_items FINAL GROUP BY name, category)
            GROUP BY name
        )
    ) AS cats
    SELECT source AS h_source, item_id AS h_item_id,
           arraySort(x -> (x.1, x.3),
                     groupArrayIf((changed_at, from_string, to_string, ${categoryOf('from_string')}, ${categoryOf('to_string')}),
                                  lower(field) = 'status')) AS st,
           groupArray(changed_at) AS changes,
           arraySort(x -> x.1, groupArrayIf((changed_at, from_value, to_value), lower(field) = 'assignee')) AS asg,
           arraySort(x -> x.1, groupArrayIf((changed_at, from_string, to_string), lower(field) = 'key')) AS moves,
           arraySort(x -> x.1, groupArrayIf((changed_at, from_value, to_value), field_id = 'duedate' OR (field_id = '' AND lower(field) = 'duedate'))) AS due
    FROM work_item_history FINAL
    __HISTORY_WHERE__
    GROUP BY source, item_id
)`;

/**
 * Work items with their history, their current done time and start time; `where`, a condition on
 * work_items' own columns, narrows the items (and the history read for them).
 */
export function itemsWhere(where: string): string {
  const history =
    where === '1'
      ? HISTORY.replace('__HISTORY_WHERE__', '')
      : HISTORY.replace('__HISTORY_WHERE__', `WHERE (source, item_id) IN (SELECT source, item_id FROM work_items FINAL WHERE ${where})`);
  return `
(
    SELECT w.source AS source, w.item_id AS item_id, w.key AS key, toString(w.kind) AS kind, toString(w.team) AS team,
           toString(w.program) AS program, toString(w.project) AS project, toString(w.priority) AS priority, w.priority_rank AS priority_rank,
           w.severity AS severity, w.labels AS labels, w.assignee AS assignee, w.due_date AS due_date, w.created_at AS created_at,
           w.updated_at AS updated_at, w.resolved_at AS resolved_at, toString(w.status) AS status, toString(w.status_category) AS status_category,
           w.summary AS summary, w.url AS url, w.fix_versions AS fix_versions, w.parent_id AS parent_id, w.resolution AS resolution,
           w.story_points AS story_points,
           h.st AS st, h.changes AS changes, h.asg AS asg, h.moves AS moves, h.due AS due,
           arrayLastIndex(x -> x.5 = 'done' AND x.4 != 'done', h.st) AS done_ix,
           arrayFirstIndex(x -> x.5 = 'in_progress', h.st) AS start_ix,
           if(w.status_category != 'done', CAST(NULL AS Nullable(DateTime64(3, 'UTC'))),
              toNullable(if(done_ix > 0, tupleElement(h.st[done_ix], 1), ifNull(w.resolved_at, w.updated_at)))) AS done_at,
           if(start_ix > 0, toNullable(tupleElement(h.st[start_ix], 1)), CAST(NULL AS Nullable(DateTime64(3, 'UTC')))) AS started_at
    FROM (SELECT * FROM work_items FINAL WHERE ${where}) AS w
    LEFT JOIN ${history} AS h ON h.h_source = w.source AND h.h_item_id = w.item_id
)`;
}

/** Every work item with its history, its current done time and start time. */
export const ITEMS = itemsWhere('1');

/**
 * A condition on work_items: the item, or a change of it, dates from the range's first instant {since}
 * or later (its creation, last update or resolution; a change in its history). An item for which it does
 * not hold stood as it stands now from before {since} on: it has no done time, start, reopening or
 * move at or after it.
 */
export const TOUCHED_SINCE = `(created_at >= {since:DateTime64(3)} OR updated_at >= {since:DateTime64(3)}
    OR ifNull(resolved_at, updated_at) >= {since:DateTime64(3)}
    OR (source, item_id) IN (SELECT source, item_id FROM work_item_history WHERE changed_at >= {since:DateTime64(3)}))`;

/**
 * A condition on work_items: the item may be in a category other than done at an instant from {since}
 * on: it is not done now (by its own category, or by the category its status name has in the history,
 * see HISTORY), or it was touched since then (TOUCHED_SINCE). An item done now and untouched since was
 * done all along from before {since}: it is open in no period of the range.
 */
export const MAYBE_OPEN_SINCE = `(status_category != 'done'
    OR lower(status) NOT IN (
        SELECT name FROM
        (
            SELECT name, argMax(category, (n, category)) AS category
            FROM (SELECT lower(status) AS name, toString(status_category) AS category, count() AS n FROM work_items FINAL GROUP BY name, category)
            GROUP BY name
        )
        WHERE category = 'done')
    OR ${TOUCHED_SINCE})`;

/** The status category of item `i` at instant `t` (after every change before t). */
export const categoryAt = (i: string, t: string): string =>
  `if(arrayLastIndex(x -> x.1 < ${t}, ${i}.st) > 0, tupleElement(${i}.st[arrayLastIndex(x -> x.1 < ${t}, ${i}.st)], 5),
      if(empty(${i}.st), ${i}.status_category, tupleElement(${i}.st[1], 4)))`;

/** The status name of item `i` at instant `t`. */
export const statusAt = (i: string, t: string): string =>
  `if(arrayLastIndex(x -> x.1 < ${t}, ${i}.st) > 0, tupleElement(${i}.st[arrayLastIndex(x -> x.1 < ${t}, ${i}.st)], 3),
      if(empty(${i}.st), ${i}.status, tupleElement(${i}.st[1], 2)))`;

/** Whether item `i` had no assignee at instant `t`. */
export const unassignedAt = (i: string, t: string): string =>
  `if(arrayLastIndex(x -> x.1 < ${t}, ${i}.asg) > 0, tupleElement(${i}.asg[arrayLastIndex(x -> x.1 < ${t}, ${i}.asg)], 3) = '',
      if(empty(${i}.asg), ${i}.assignee = '', tupleElement(${i}.asg[1], 2) = ''))`;

/** The assignee of item `i` at instant `t` ('' when unassigned). */
export const assigneeAt = (i: string, t: string): string =>
  `if(arrayLastIndex(x -> x.1 < ${t}, ${i}.asg) > 0, tupleElement(${i}.asg[arrayLastIndex(x -> x.1 < ${t}, ${i}.asg)], 3),
      if(empty(${i}.asg), ${i}.assignee, tupleElement(${i}.asg[1], 2)))`;

/** The due date of item `i` at instant `t` (Nullable(Date32)), from its due date changes. */
export const dueAt = (i: string, t: string): string =>
  `if(arrayLastIndex(x -> x.1 < ${t}, ${i}.due) > 0, toDate32OrNull(tupleElement(${i}.due[arrayLastIndex(x -> x.1 < ${t}, ${i}.due)], 3)),
      if(empty(${i}.due), ${i}.due_date, toDate32OrNull(tupleElement(${i}.due[1], 2))))`;

/** When item `i` was last done before instant `t` (NULL when it was not done at t): its last move into a done status before t. */
export const doneAtBefore = (i: string, t: string): string =>
  `if(${categoryAt(i, t)} != 'done', CAST(NULL AS Nullable(DateTime64(3, 'UTC'))),
      if(arrayLastIndex(x -> x.1 < ${t} AND x.5 = 'done' AND x.4 != 'done', ${i}.st) > 0,
         toNullable(tupleElement(${i}.st[arrayLastIndex(x -> x.1 < ${t} AND x.5 = 'done' AND x.4 != 'done', ${i}.st)], 1)),
         toNullable(least(ifNull(${i}.resolved_at, ${i}.updated_at), ${t}))))`;

/**
 * The milestone an item affects (a milestone id, '' when none): its first fix version, else its parent
 * epic (a milestone when model.workItems.epicsAreMilestones).
 */
export const milestoneOf = (i: string): string =>
  `multiIf(notEmpty(${i}.fix_versions), ${i}.fix_versions[1], ${i}.parent_id != '', concat('epic/', ${i}.parent_id), '')`;

/** The last update of item `i` before instant `t`: its creation, any history change, or its last update when that is before t. */
export const lastActivityAt = (i: string, t: string): string =>
  `greatest(arrayReduce('max', arrayPushBack(arrayFilter(c -> c < ${t}, ${i}.changes), ${i}.created_at)),
            if(${i}.updated_at < ${t}, ${i}.updated_at, ${i}.created_at))`;

/** Weekdays strictly between two dates. */
export const businessDaysBetween = (a: string, b: string): string =>
  `arrayCount(x -> toDayOfWeek(x) <= 5, arrayMap(k -> addDays(${a}, k + 1), range(toUInt32(greatest(0, dateDiff('day', ${a}, ${b}) - 1)))))`;

/**
 * The blocking links open at instant `t`, each with whether it is stalled (with `endDay`, the calendar day in the metrics' time zone that
 * the idle business days are counted up to, not included). A "blocks" link is open at t when it existed
 * (created before t; a link whose creation the changelog does not show is taken from when both items
 * existed) and neither the blocker nor the blocked item was done. It is stalled (idle OR due_after) when
 * - idle: the blocker had no status change and no update (any field change, its creation, or its last
 *   update when that is before t) for at least N business days: whole weekdays strictly after the day
 *   of its last activity and before endDay. N is the blocker's priority's entry in
 *   metrics.stallBusinessDays.byPriority (names compared in lower case), else the default (5); or
 * - due after: the blocker's due date is after the blocked item's due date (both set; the current due
 *   dates, as the due date history is not kept per item).
 * The stall is the blocked item's team's (its work waits); cross-team when both items have an owner
 * and the owners differ. `periods` adds the period columns of `__PERIODS__` (alias p). `items` are the
 * work items looked at (ITEMS, or those of them that can be open at `t`).
 */
export function openBlockingLinks(t: string, endDay: string, periods: boolean, items = ITEMS): string {
  return `
SELECT * FROM
(
    SELECT ${periods ? 'p.period_start AS period_start, p.period_at AS period_at,' : ''}
           l.source AS source, l.raw_type AS raw_type, l.created_at AS link_created_at,
           b.key AS blocker_key, d.key AS blocked_key, b.team AS blocker_team, d.team AS blocked_team,
           b.item_id AS blocker_id, d.item_id AS blocked_id, b.summary AS blocker_title, d.summary AS blocked_title,
           b.url AS blocker_url, d.url AS blocked_url, ${assigneeAt('b', t)} AS blocker_owner, ${assigneeAt('d', t)} AS blocked_owner,
           ${statusAt('d', t)} AS blocked_status, ${milestoneOf('d')} AS blocked_milestone, b.priority_rank AS blocker_priority_rank,
           d.priority AS blocked_priority, d.priority_rank AS blocked_priority_rank, d.labels AS blocked_labels,
           b.program AS blocker_program, d.program AS blocked_program, b.priority AS blocker_priority,
           b.due_date AS blocker_due, d.due_date AS blocked_due,
           ${statusAt('b', t)} AS blocker_status, ${categoryAt('b', t)} AS blocker_category, ${categoryAt('d', t)} AS blocked_category,
           ${lastActivityAt('b', t)} AS blocker_last_activity,
           ${businessDaysBetween(`toDate(blocker_last_activity, {tz:String})`, endDay)} AS idle_days,
           if(indexOf({stall_priorities:Array(String)}, lower(b.priority)) > 0,
              arrayElement({stall_priority_days:Array(UInt32)}, indexOf({stall_priorities:Array(String)}, lower(b.priority))),
              {stall_days:UInt32}) AS threshold_days,
           idle_days >= threshold_days AS idle,
           b.due_date IS NOT NULL AND d.due_date IS NOT NULL AND assumeNotNull(b.due_date) > assumeNotNull(d.due_date) AS due_after,
           b.team != '' AND d.team != '' AND b.team != d.team AS cross_team,
           concat(if(idle, concat('idle ', toString(idle_days), ' business days since ', toString(blocker_last_activity),
                                   ' (threshold ', toString(threshold_days), ' for priority ''', b.priority, ''')'), ''),
                  if(idle AND due_after, '; ', ''),
                  if(due_after, concat('blocker due ', toString(b.due_date), ' after blocked item due ', toString(d.due_date)), '')) AS reason,
           greatest(b.created_at, d.created_at) AS both_existed_at,
           l.created_at IS NULL OR assumeNotNull(l.created_at) < ${t} AS link_existed
    FROM ${BLOCKING_LINKS} AS l
    INNER JOIN ${items} AS b ON b.source = l.source AND b.item_id = l.from_item_id
    INNER JOIN ${items} AS d ON d.source = l.source AND d.item_id = l.to_item_id
    ${periods ? 'CROSS JOIN __PERIODS__ AS p' : ''}
    WHERE b.created_at < ${t} AND d.created_at < ${t}
)
WHERE link_existed AND blocker_category != 'done' AND blocked_category != 'done'`;
}

/**
 * A risk's severity band: its severity field when that names one (critical, highest, high, blocker,
 * major, sev1, sev2 are high; medium, moderate, normal, sev3 are medium; low, lowest, minor, trivial,
 * sev4, sev5 are low), else its priority rank (1-2 high, 3 medium, 4-5 low), else unknown. The current
 * severity is used for every period.
 */
export const SEVERITY_BAND = `multiIf(
    lower(trimBoth(r.severity)) IN ('critical', 'highest', 'high', 'blocker', 'very high', 'major', 'severe', 'sev1', 'sev2'), 'high',
    lower(trimBoth(r.severity)) IN ('medium', 'moderate', 'normal', 'sev3'), 'medium',
    lower(trimBoth(r.severity)) IN ('low', 'lowest', 'minor', 'trivial', 'very low', 'sev4', 'sev5'), 'low',
    r.priority_rank IN (1, 2), 'high', r.priority_rank = 3, 'medium', r.priority_rank IN (4, 5), 'low', 'unknown')`;
