import { assigneeAt, doneAtBefore, ITEMS, milestoneOf, statusAt } from '../metrics/definitions/work-items.js';
import { addBusinessDays, daysFrom, hoursFrom, MILESTONE_NAMES, minute, RECENT, T } from './sql.js';
import { col, dateOf, itemBoard, itemColumns, text, TRAILING_COLUMNS, yes, type RegisterDefinition } from './types.js';

/**
 * The decision log: decisions (work items of kind decision) open at the instant, and the ones decided
 * within the recent window.
 *
 * - target: a release-critical decision (a label in metrics.releaseCriticalLabels) within
 *   metrics.decisionTargetHours (48 h) of its creation; any other within
 *   metrics.decisionTargetBusinessDays (5) business days, at the same time of day.
 * - age: from its creation to its decision, or to the instant while open; latency: the same for a
 *   decided one, in hours.
 * - status: overdue (open past its target), open, decided late, decided on time. Outcome: its resolution,
 *   else the status it was decided in.
 * Order: open decisions by target (the most overdue first), then the decided ones, latest first.
 */
const rows = `
SELECT * FROM
(
    SELECT concat(d.source, ':', d.key) AS key, d.key AS item, d.summary AS title, d.url AS url, d.team AS team, d.program AS program,
           ${assigneeAt('d', T)} AS owner,
           hasAny(arrayMap(z -> lower(z), d.labels), arrayMap(z -> lower(z), {release_critical_labels:Array(String)})) AS release_critical,
           if(release_critical, d.created_at + toIntervalMillisecond(toInt64(round({decision_target_hours:Float64} * 3600000))),
              ${addBusinessDays('d.created_at', '{decision_target_business_days:UInt32}')}) AS deadline,
           if(release_critical, concat(toString({decision_target_hours:Float64}), ' h'),
              concat(toString({decision_target_business_days:UInt32}), ' business days')) AS target,
           ${doneAtBefore('d', T)} AS decided_at,
           decided_at IS NULL AS open,
           ${daysFrom('d.created_at', `ifNull(decided_at, ${T})`)} AS age_days,
           if(open, NULL, ${hoursFrom('d.created_at', 'assumeNotNull(decided_at)')}) AS latency_hours,
           multiIf(open AND ${T} > deadline, 'overdue', open, 'open', assumeNotNull(decided_at) > deadline, 'decided late', 'decided on time') AS status,
           if(open, NULL, if(d.resolution != '', d.resolution, ${statusAt('d', T)})) AS outcome,
           multiIf(NOT open, 'decided', d.created_at >= ${RECENT}, 'new', '') AS change,
           ${minute('d.created_at')} AS raised, ${minute('deadline')} AS due_by, ${minute('decided_at')} AS decided,
           mn.ms_name AS milestone, toString(mn.ms_date) AS milestone_date
    FROM ${ITEMS} AS d
    LEFT JOIN ${MILESTONE_NAMES} AS mn ON mn.ms_source = d.source AND mn.ms_id = ${milestoneOf('d')}
    WHERE d.kind = 'decision' AND d.created_at < ${T}
)
WHERE open OR assumeNotNull(decided_at) >= ${RECENT}
ORDER BY NOT open, if(open, toUnixTimestamp64Milli(deadline), -toUnixTimestamp64Milli(assumeNotNull(decided_at))), item
SETTINGS join_use_nulls = 0`;

export const decisionRegister: RegisterDefinition = {
  id: 'decisions',
  title: 'Decision log',
  description: 'open decisions against their target (overdue first), then the ones decided recently',
  columns: [
    ...itemColumns('decision'),
    col('release_critical', 'release critical', 'flag', false),
    col('raised', 'raised', 'time', false),
    col('age_days', 'age', 'days'),
    col('target', 'target', 'text'),
    col('due_by', 'due by', 'time'),
    col('status', 'status', 'text'),
    col('decided', 'decided', 'time', false),
    col('latency_hours', 'latency', 'hours'),
    col('outcome', 'outcome', 'text'),
    col('change', 'change', 'text', false),
    ...TRAILING_COLUMNS,
  ],
  rows,
  board: (r) => ({
    ...itemBoard(r),
    flag: r['status'] === 'overdue' ? 'red' : r['status'] === 'decided late' ? 'amber' : 'green',
    why: `target ${text(r['target'])}${yes(r['release_critical']) ? ' (release-critical)' : ''}, due by ${text(r['due_by'])}; ${Number(r['age_days']).toFixed(1)} days old`,
    due: dateOf(r['due_by']),
  }),
  headline: (rs) =>
    `${rs.filter((r) => r['status'] === 'overdue').length} of ${rs.filter((r) => r['status'] === 'overdue' || r['status'] === 'open').length} open decisions past their target`,
  summarize(rs, window) {
    const n = (s: string): number => rs.filter((r) => r['status'] === s).length;
    const decided = rs.filter((r) => r['latency_hours'] !== null).map((r) => Number(r['latency_hours']));
    const sorted = [...decided].sort((a, b) => a - b);
    const mid = sorted.length / 2;
    const median = sorted.length === 0 ? null : sorted.length % 2 === 1 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    const critical = rs.filter((r) => yes(r['release_critical']) && r['status'] === 'overdue').length;
    return [
      `${n('overdue') + n('open')} open: ${n('overdue')} past their target (${critical} release-critical), ${n('open')} within it`,
      `decided in the last ${window.recentDays} days: ${decided.length} (${n('decided on time')} within target), median latency ${median === null ? '-' : `${median.toFixed(1)} h`}`,
    ];
  },
};
