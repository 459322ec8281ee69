/**
 * Work items as the program metrics and the registers read them: each item with its changelog folded
 * in, and its state at any instant. See program-flow.ts for how status categories in the past and the
 * done and start times are derived.
 */

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
           arraySort(x -> x.1, groupArrayIf((changed_at, from_string, to_string), lower(field) = 'key')) AS moves
    FROM work_item_history FINAL
    GROUP BY source, item_id
)`;

/** Work items with their history, their current done time and start time. */
export const ITEMS = `
(
    SELECT w.source AS source, w.item_id AS item_id, w.key AS key, toString(w.kind) AS kind, toString(w.team) AS team,
           toString(w.program) AS program, toString(w.project) AS project, toString(w.priority) AS priority, w.priority_rank AS priority_rank,
           w.severity AS severity, w.labels AS labels, w.assignee AS assignee, w.due_date AS due_date, w.created_at AS created_at,
           w.updated_at AS updated_at, w.resolved_at AS resolved_at, toString(w.status) AS status, toString(w.status_category) AS status_category,
           h.st AS st, h.changes AS changes, h.asg AS asg, h.moves AS moves,
           arrayLastIndex(x -> x.5 = 'done' AND x.4 != 'done', h.st) AS done_ix,
           arrayFirstIndex(x -> x.5 = 'in_progress', h.st) AS start_ix,
           if(w.status_category != 'done', CAST(NULL AS Nullable(DateTime64(3, 'UTC'))),
              toNullable(if(done_ix > 0, tupleElement(h.st[done_ix], 1), ifNull(w.resolved_at, w.updated_at)))) AS done_at,
           if(start_ix > 0, toNullable(tupleElement(h.st[start_ix], 1)), CAST(NULL AS Nullable(DateTime64(3, 'UTC')))) AS started_at
    FROM (SELECT * FROM work_items FINAL) AS w
    LEFT JOIN ${HISTORY} AS h ON h.h_source = w.source AND h.h_item_id = w.item_id
)`;

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

/** The last update of item `i` before instant `t`: its creation, any history change, or its last update when that is before t. */
export const lastActivityAt = (i: string, t: string): string =>
  `greatest(arrayReduce('max', arrayPushBack(arrayFilter(c -> c < ${t}, ${i}.changes), ${i}.created_at)),
            if(${i}.updated_at < ${t}, ${i}.updated_at, ${i}.created_at))`;

/** Weekdays strictly between two dates. */
export const businessDaysBetween = (a: string, b: string): string =>
  `arrayCount(x -> toDayOfWeek(x) <= 5, arrayMap(k -> addDays(${a}, k + 1), range(toUInt32(greatest(0, dateDiff('day', ${a}, ${b}) - 1)))))`;

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
