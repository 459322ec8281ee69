import { openBlockingLinks } from '../metrics/definitions/work-items.js';
import { daysFrom, MILESTONE_NAMES, T, TODAY } from './sql.js';
import { col, dateOf, text, yes, type RegisterDefinition, type RegisterRow } from './types.js';

/**
 * The dependency map: every blocking link open at the instant (neither item done), with both items, their
 * teams and programs, the link's age (from its creation, or from when both items existed when the
 * changelog does not show it), whether it is stalled and why (as the stall alerts decide it), and the
 * milestone the blocked item belongs to with its committed date.
 *
 * - critical: the blocked item is in a milestone, has a high priority (metrics.criticalPriorityRank or
 *   metrics.criticalPriorities) or one of metrics.criticalLabels.
 * Order: stalled first; across programs, then across teams; oldest first.
 * The --program and --team filters keep a link when either item is in the program or team.
 */
const rows = `
SELECT * FROM
(
    SELECT concat(s.source, ':', s.blocker_key, '>', s.blocked_key) AS key,
           s.blocker_key AS blocker, s.blocker_title AS blocker_title, s.blocker_team AS blocker_team, s.blocker_program AS blocker_program,
           s.blocker_owner AS blocker_owner, s.blocker_status AS blocker_status, s.blocker_url AS url,
           s.blocked_key AS blocked, s.blocked_title AS blocked_title, s.blocked_team AS blocked_team, s.blocked_program AS blocked_program,
           s.blocked_owner AS blocked_owner, s.blocked_status AS blocked_status, s.blocked_url AS blocked_url,
           s.blocked_team AS team, s.blocked_program AS program,
           ${daysFrom('ifNull(s.link_created_at, s.both_existed_at)', T)} AS age_days,
           s.idle OR s.due_after AS stalled, s.idle_days AS idle_days, s.reason AS stall_reason,
           s.cross_team AS cross_team,
           s.blocker_program != '' AND s.blocked_program != '' AND s.blocker_program != s.blocked_program AS cross_program,
           s.blocked_milestone != ''
             OR (s.blocked_priority_rank BETWEEN 1 AND {critical_priority_rank:UInt8})
             OR has({critical_priorities:Array(String)}, lower(s.blocked_priority))
             OR hasAny(arrayMap(z -> lower(z), s.blocked_labels), arrayMap(z -> lower(z), {critical_labels:Array(String)})) AS critical,
           if(ifNull(s.link_created_at, s.both_existed_at) >= (${T} - toIntervalDay({recent_days:UInt32})), 'new', '') AS change,
           mn.ms_name AS milestone, toString(mn.ms_date) AS milestone_date
    FROM (${openBlockingLinks(T, TODAY, false)}) AS s
    LEFT JOIN ${MILESTONE_NAMES} AS mn ON mn.ms_source = s.source AND mn.ms_id = s.blocked_milestone
)
ORDER BY NOT stalled, NOT cross_program, NOT cross_team, age_days DESC, blocker, blocked
SETTINGS join_use_nulls = 0`;

export const dependencyRegister: RegisterDefinition = {
  id: 'dependencies',
  title: 'Dependencies',
  description: 'open blocking links: stalled first, across programs and teams first, oldest first',
  columns: [
    col('blocker', 'blocker', 'text'),
    col('blocker_title', 'blocker title', 'title'),
    col('blocker_team', 'blocker team', 'text'),
    col('blocker_program', 'blocker program', 'text', false),
    col('blocker_owner', 'blocker owner', 'text', false),
    col('blocker_status', 'blocker status', 'text'),
    col('blocked', 'blocked', 'text'),
    col('blocked_title', 'blocked title', 'title'),
    col('blocked_team', 'blocked team', 'text'),
    col('blocked_program', 'blocked program', 'text', false),
    col('blocked_owner', 'blocked owner', 'text', false),
    col('blocked_status', 'blocked status', 'text', false),
    col('age_days', 'age', 'days'),
    col('stalled', 'stalled', 'flag'),
    col('idle_days', 'idle business days', 'count', false),
    col('stall_reason', 'why stalled', 'text', false),
    col('cross_team', 'cross-team', 'flag', false),
    col('cross_program', 'cross-program', 'flag', false),
    col('critical', 'critical', 'flag', false),
    col('change', 'change', 'text', false),
    col('milestone', 'milestone', 'text'),
    col('milestone_date', 'milestone date', 'date'),
    col('url', 'url', 'text', false),
    col('blocked_url', 'blocked url', 'text', false),
  ],
  rows,
  programColumns: ['blocker_program', 'blocked_program'],
  teamColumns: ['blocker_team', 'blocked_team'],
  board: (r) => ({
    item: `${text(r['blocker'])} blocks ${text(r['blocked'])}`,
    title: `${text(r['blocker_title'])} -> ${text(r['blocked_title'])}`,
    owner: text(r['blocker_owner']),
    status: yes(r['stalled']) ? 'stalled' : 'open',
    flag: yes(r['stalled']) ? (yes(r['cross_program']) || yes(r['critical']) ? 'red' : 'amber') : 'green',
    why: yes(r['stalled']) ? text(r['stall_reason']) : `open ${Number(r['age_days']).toFixed(1)} days`,
    due: dateOf(r['milestone_date']),
    milestone: text(r['milestone']),
    milestone_date: dateOf(r['milestone_date']),
  }),
  headline: (rs) =>
    `${rs.filter((r) => yes(r['stalled'])).length} of ${rs.length} blocking links stalled (${rs.filter((r) => yes(r['stalled']) && yes(r['cross_program'])).length} across programs)`,
  summarize(rs, window) {
    const count = (f: (r: RegisterRow) => boolean): number => rs.filter(f).length;
    const ages = rs.map((r) => Number(r['age_days']));
    const mean = ages.length === 0 ? null : ages.reduce((a, b) => a + b, 0) / ages.length;
    return [
      `${rs.length} open blocking links: ${count((r) => yes(r['stalled']))} stalled, ${count((r) => yes(r['cross_team']))} across teams, ` +
        `${count((r) => yes(r['cross_program']))} across programs, ${count((r) => yes(r['critical']))} critical; mean age ${mean === null ? '-' : `${mean.toFixed(1)} days`}; ${count((r) => r['change'] === 'new')} new in the last ${window.recentDays} days`,
    ];
  },
};

export interface DependencyMatrix {
  /** The axis: teams or programs ('' for items with no owner, shown as '-'). */
  by: 'team' | 'program';
  /** Blockers down the side, blocked across the top. */
  blockers: string[];
  blocked: string[];
  /** cells[blocker][blocked] = { open, stalled }. */
  cells: Record<string, Record<string, { open: number; stalled: number }>>;
}

/** The dependency rows as a matrix: how many open (and stalled) links each team or program has on each other. */
export function dependencyMatrix(rows: RegisterRow[], by: 'team' | 'program'): DependencyMatrix {
  const cells: DependencyMatrix['cells'] = {};
  const name = (v: RegisterRow[string] | undefined): string => (typeof v === 'string' && v !== '' ? v : '-');
  for (const r of rows) {
    const from = name(r[`blocker_${by}`]);
    const to = name(r[`blocked_${by}`]);
    const cell = ((cells[from] ??= {})[to] ??= { open: 0, stalled: 0 });
    cell.open += 1;
    if (yes(r['stalled'])) cell.stalled += 1;
  }
  const blockers = Object.keys(cells).sort();
  const blocked = [...new Set(Object.values(cells).flatMap((c) => Object.keys(c)))].sort();
  return { by, blockers, blocked, cells };
}
