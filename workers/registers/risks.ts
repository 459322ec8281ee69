import {
  assigneeAt,
  categoryAt,
  doneAtBefore,
  dueAt,
  ITEMS,
  milestoneOf,
  SEVERITY_BAND,
  statusAt,
} from '../metrics/definitions/work-items.js';
import { day, daysFrom, MILESTONE_NAMES, minute, RECENT, T } from './sql.js';
import { col, dateOf, itemBoard, text, yes, type RegisterDefinition, type RegisterRow } from './types.js';

/**
 * The links of each work item to others (any link type, in either direction), with the milestone each
 * linked item affects: `linked` (keys) and `linked_milestones` (milestone ids, '' for none), per
 * (source, key). A link whose creation the changelog shows after the instant is left out.
 */
export const LINKED_ITEMS = `
(
    SELECT l.source AS source, l.key AS key, groupArray(l.other) AS linked, groupArray(${milestoneOf('w')}) AS linked_milestones
    FROM
    (
        SELECT source, from_key AS key, to_key AS other, created_at FROM work_item_links FINAL
        UNION ALL
        SELECT source, to_key AS key, from_key AS other, created_at FROM work_item_links FINAL
    ) AS l
    LEFT JOIN (SELECT source, key, fix_versions, parent_id FROM work_items FINAL) AS w ON w.source = l.source AND w.key = l.other
    WHERE l.created_at IS NULL OR assumeNotNull(l.created_at) < ${T}
    GROUP BY l.source, l.key
)`;

/**
 * Risks (work items of kind risk) open at the instant, and the ones closed within the recent window.
 *
 * - severity: the band of its severity field, else of its priority (high, medium, low, unknown), with the
 *   field's own value; owner: its assignee then ('' = unowned); mitigation: its status then, and whether
 *   that status is done (mitigated or closed), in progress (mitigating) or to do (not started).
 * - due: its due date then (a trigger or review date); milestone: the one it affects (its own fix
 *   version or epic, else the first linked item's); linked: the keys of the items linked to it.
 * - change: new (raised within the window), closed (closed within it).
 * Order: open risks by severity (high first), unowned first within a severity, oldest first; then the
 * closed ones, latest first.
 */
const rows = `
SELECT * FROM
(
    SELECT concat(r.source, ':', r.key) AS key, r.key AS item, r.summary AS title, r.url AS url, r.team AS team, r.program AS program,
           ${SEVERITY_BAND} AS severity, r.severity AS raw_severity, r.priority AS priority,
           ${assigneeAt('r', T)} AS owner, owner = '' AS unowned,
           ${statusAt('r', T)} AS status, ${categoryAt('r', T)} AS category,
           multiIf(category = 'done', 'mitigated or closed', category = 'in_progress', 'mitigating', 'not started') AS mitigation,
           ${minute('r.created_at')} AS raised, ${daysFrom('r.created_at', T)} AS age_days,
           ${day(dueAt('r', T))} AS due,
           ${doneAtBefore('r', T)} AS closed_at, ${minute('closed_at')} AS closed,
           if(${milestoneOf('r')} != '', ${milestoneOf('r')}, arrayFirst(x -> x != '', ln.linked_milestones)) AS milestone_id,
           mn.ms_name AS milestone, ${day('mn.ms_date')} AS milestone_date,
           ln.linked AS linked,
           r.created_at >= ${RECENT} AS raised_recently,
           multiIf(closed_at IS NOT NULL, 'closed', raised_recently, 'new', '') AS change,
           multiIf(severity = 'high', 1, severity = 'medium', 2, severity = 'low', 3, 4) AS severity_rank
    FROM ${ITEMS} AS r
    LEFT JOIN ${LINKED_ITEMS} AS ln ON ln.source = r.source AND ln.key = r.key
    LEFT JOIN ${MILESTONE_NAMES} AS mn ON mn.ms_source = r.source AND mn.ms_id = milestone_id
    WHERE r.kind = 'risk' AND r.created_at < ${T}
)
WHERE closed_at IS NULL OR assumeNotNull(closed_at) >= ${RECENT}
ORDER BY closed_at IS NOT NULL, severity_rank, NOT unowned, if(closed_at IS NULL, age_days, -toFloat64(toUnixTimestamp64Milli(assumeNotNull(closed_at)))) DESC, item
SETTINGS join_use_nulls = 0`;

const open = (r: RegisterRow): boolean => r['closed'] === null;

export const riskRegister: RegisterDefinition = {
  id: 'risks',
  title: 'Risk register',
  description: 'open risks by severity, unowned first, oldest first; then the ones closed recently',
  columns: [
    col('item', 'risk', 'text'),
    col('title', 'title', 'title'),
    col('severity', 'severity', 'text'),
    col('raw_severity', 'severity field', 'text', false),
    col('priority', 'priority', 'text', false),
    col('owner', 'owner', 'text'),
    col('unowned', 'unowned', 'flag', false),
    col('program', 'program', 'text'),
    col('team', 'team', 'text'),
    col('age_days', 'age', 'days'),
    col('status', 'status', 'text'),
    col('mitigation', 'mitigation', 'text', false),
    col('due', 'due', 'date'),
    col('milestone', 'milestone', 'text'),
    col('milestone_date', 'milestone date', 'date', false),
    col('linked', 'linked', 'list', false),
    col('raised', 'raised', 'time', false),
    col('closed', 'closed', 'time', false),
    col('change', 'change', 'text'),
    col('raised_recently', 'raised recently', 'flag', false),
    col('url', 'url', 'text', false),
  ],
  rows,
  board: (r) => ({
    ...itemBoard(r),
    flag:
      r['closed'] !== null
        ? 'green'
        : r['severity'] === 'high'
          ? yes(r['unowned']) || r['mitigation'] === 'not started'
            ? 'red'
            : 'amber'
          : 'green',
    why: `${text(r['severity'])} severity, ${text(r['mitigation'])}${yes(r['unowned']) ? ', no owner' : ''}, ${Number(r['age_days']).toFixed(0)} days old`,
    due: dateOf(r['due']),
  }),
  headline: (rs) => {
    const live = rs.filter(open);
    const high = live.filter((r) => r['severity'] === 'high');
    return `${live.length} open risks (${high.length} high, ${high.filter((r) => yes(r['unowned'])).length} of them unowned)`;
  },
  summarize(rs, window) {
    const live = rs.filter(open);
    const band = (b: string): number => live.filter((r) => r['severity'] === b).length;
    const unownedHigh = live.filter((r) => r['severity'] === 'high' && yes(r['unowned'])).length;
    const mitigating = live.filter((r) => r['severity'] === 'high' && r['mitigation'] === 'mitigating').length;
    return [
      `${live.length} open: ${band('high')} high (${unownedHigh} without an owner, ${mitigating} being mitigated), ${band('medium')} medium, ${band('low')} low, ${band('unknown')} unrated`,
      `last ${window.recentDays} days: ${rs.filter((r) => yes(r['raised_recently'])).length} raised, ${rs.filter((r) => r['change'] === 'closed').length} closed`,
    ];
  },
};
