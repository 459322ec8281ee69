import { assigneeAt, doneAtBefore, dueAt, ITEMS, milestoneOf, statusAt } from '../metrics/definitions/work-items.js';
import { day, MILESTONE_NAMES, minute, RECENT, T, TODAY } from './sql.js';
import { col, dateOf, itemBoard, itemColumns, text, TRAILING_COLUMNS, yes, type RegisterDefinition } from './types.js';

/**
 * Action items (work items of kind action) open at the instant, and the ones closed within the recent
 * window, with their owner and due date then.
 *
 * - status: overdue (open, its due day has passed), open, closed on time (on or before its due day, in
 *   the metrics' time zone), closed late, closed (no due date).
 * - due_recently: due within the window and before today: the actions the closure rate counts (closed
 *   by their due day / due), whenever they were closed.
 * Order: overdue (most overdue first), open by due date (none last), then the closed ones, latest first.
 */
const rows = `
SELECT * FROM
(
    SELECT concat(a.source, ':', a.key) AS key, a.key AS item, a.summary AS title, a.url AS url, a.team AS team, a.program AS program,
           ${assigneeAt('a', T)} AS owner, ${statusAt('a', T)} AS status_name,
           ${dueAt('a', T)} AS due_day, ${day('due_day')} AS due,
           ${doneAtBefore('a', T)} AS closed_at, ${minute('closed_at')} AS closed,
           closed_at IS NULL AS open,
           open AND due_day IS NOT NULL AND assumeNotNull(due_day) < ${TODAY} AS overdue,
           if(overdue, dateDiff('day', assumeNotNull(due_day), ${TODAY}), 0) AS days_overdue,
           NOT open AND due_day IS NOT NULL AND toDate(toTimeZone(assumeNotNull(closed_at), {tz:String})) <= assumeNotNull(due_day) AS closed_on_time,
           multiIf(overdue, 'overdue', open, 'open', due_day IS NULL, 'closed', closed_on_time, 'closed on time', 'closed late') AS status,
           due_day IS NOT NULL AND assumeNotNull(due_day) < ${TODAY} AND assumeNotNull(due_day) >= toDate(toTimeZone(${RECENT}, {tz:String})) AS due_recently,
           multiIf(NOT open, 'closed', a.created_at >= ${RECENT}, 'new', '') AS change,
           ${minute('a.created_at')} AS raised,
           mn.ms_name AS milestone, toString(mn.ms_date) AS milestone_date
    FROM ${ITEMS} AS a
    LEFT JOIN ${MILESTONE_NAMES} AS mn ON mn.ms_source = a.source AND mn.ms_id = ${milestoneOf('a')}
    WHERE a.kind = 'action' AND a.created_at < ${T}
)
WHERE open OR assumeNotNull(closed_at) >= ${RECENT} OR due_recently
ORDER BY NOT open, NOT overdue, -days_overdue, if(open, toInt64(dateDiff('day', toDate('2000-01-01'), ifNull(due_day, toDate('2149-06-06')))),
         -toInt64(toUnixTimestamp64Milli(assumeNotNull(closed_at)))), item
SETTINGS join_use_nulls = 0`;

export const actionRegister: RegisterDefinition = {
  id: 'actions',
  title: 'Action items',
  description: 'open action items, overdue first, then by due date; then the ones closed recently',
  columns: [
    ...itemColumns('action'),
    col('due', 'due', 'date'),
    col('days_overdue', 'days overdue', 'count'),
    col('status', 'status', 'text'),
    col('status_name', 'status in tracker', 'text', false),
    col('closed', 'closed', 'time'),
    col('due_recently', 'due recently', 'flag', false),
    col('change', 'change', 'text', false),
    col('raised', 'raised', 'time', false),
    ...TRAILING_COLUMNS,
  ],
  rows,
  board: (r) => ({
    ...itemBoard(r),
    flag: r['status'] === 'overdue' ? 'red' : r['status'] === 'closed late' ? 'amber' : 'green',
    why: r['status'] === 'overdue' ? `${text(r['days_overdue'])} days past its due date` : text(r['status']),
    due: dateOf(r['due']),
  }),
  headline: (rs) =>
    `${rs.filter((r) => r['status'] === 'overdue').length} of ${rs.filter((r) => r['status'] === 'overdue' || r['status'] === 'open').length} open action items overdue`,
  summarize(rs, window) {
    const n = (s: string): number => rs.filter((r) => r['status'] === s).length;
    const due = rs.filter((r) => yes(r['due_recently']));
    const onTime = due.filter((r) => r['status'] === 'closed on time').length;
    return [
      `${n('overdue') + n('open')} open: ${n('overdue')} overdue`,
      `closure by due date, actions due in the last ${window.recentDays} days: ${onTime} of ${due.length}` +
        `${due.length > 0 ? ` (${((100 * onTime) / due.length).toFixed(1)}%)` : ''}`,
    ];
  },
};
