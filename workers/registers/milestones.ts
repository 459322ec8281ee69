import { MILESTONE_OWNERS, PLAN_HISTORY, PLANNED_KINDS } from '../metrics/definitions/program-plan.js';
import { assigneeAt, categoryAt, ITEMS, openBlockingLinks } from '../metrics/definitions/work-items.js';
import { day, joinParts, RECENT, T, TODAY } from './sql.js';
import { col, dateOf, text, type RegisterDefinition } from './types.js';

/**
 * Milestones: Jira versions and epics with a committed date (as the on-time rate counts them; sprints
 * are iterations, not commitments), open at the instant or finished within the recent window.
 *
 * - original: the first committed date seen; current: the last one seen by the instant (by completion,
 *   for a finished milestone); re-plans: how often it changed.
 * - slipped days: current minus original for an open milestone, the completion day minus the original
 *   for a finished one.
 * - remaining: its work items (fix version, or children of the epic) not done at the instant, by count
 *   and story points.
 * - status: overdue (open, its current date has passed), slipped (open, re-planned later than the
 *   original), on plan, no date, done on time or done late (against the current date).
 * - stalled: its blocked work items waiting on a stalled blocker (see the dependency register).
 * - forecast: the latest stored forecast at or before the instant (milestone_forecasts): its P85 date,
 *   confidence (P(done by the committed date)) and band; a forecast off track or at risk puts an open
 *   milestone among the ones at risk, and `why` says so.
 * - change: within the recent window: finished, re-planned (each re-plan, old -> new date), or new (its
 *   first committed date was seen then).
 * Order: by risk: overdue (most overdue first), then slipped or with stalled dependencies (most slipped
 * first), then on plan (soonest first), then milestones with no date, then the finished ones (latest
 * first).
 */
const rows = `
SELECT * FROM
(
    SELECT concat(m.source, ':', m.milestone_id) AS key, m.name AS title, toString(m.kind) AS kind,
           if(m.team != '', toString(m.team), o.team) AS team, if(m.team != '', toString(m.program), o.program) AS program,
           m.url AS url, e.owner AS owner,
           m.completed_at IS NOT NULL AND assumeNotNull(m.completed_at) <= ${T} AS done,
           multiIf(NOT done, CAST(NULL AS Nullable(Date)),
                   m.kind = 'version', toNullable(toDate(assumeNotNull(m.completed_at), 'UTC')),
                   toNullable(toDate(toTimeZone(assumeNotNull(m.completed_at), {tz:String})))) AS done_day,
           arrayFilter(x -> x.1 <= ${T}, p.seen_all) AS seen_t,
           arrayFilter(x -> NOT done OR x.1 <= assumeNotNull(m.completed_at), seen_t) AS seen_raw,
           if(notEmpty(seen_raw), seen_raw, arraySlice(seen_t, 1, 1)) AS seen,
           notEmpty(seen) AS has_date,
           if(has_date, toNullable(seen[1].2), NULL) AS original_date,
           if(has_date, toNullable(seen[-1].2), NULL) AS committed_day,
           toUInt32(length(arrayFilter(i -> i > 1 AND seen[i].2 != seen[i - 1].2, arrayEnumerate(seen)))) AS replans,
           if(NOT has_date, NULL, toNullable(dateDiff('day', assumeNotNull(original_date), if(done, assumeNotNull(done_day), assumeNotNull(committed_day))))) AS slipped_days,
           has_date AND NOT done AND assumeNotNull(committed_day) < ${TODAY} AS overdue,
           if(overdue, dateDiff('day', assumeNotNull(committed_day), ${TODAY}), 0) AS overdue_days,
           s.items AS items, s.open_items AS remaining_items, s.open_points AS remaining_points,
           k.stalled AS stalled_dependencies,
           multiIf(done AND has_date AND assumeNotNull(done_day) <= assumeNotNull(committed_day), 'done on time', done AND has_date, 'done late',
                   done, 'done', NOT has_date, 'no date', overdue, 'overdue', assumeNotNull(committed_day) > assumeNotNull(original_date), 'slipped',
                   'on plan') AS status,
           multiIf(status = 'overdue', 1, status = 'slipped' OR stalled_dependencies > 0 OR (NOT done AND toString(f.band) IN ('off track', 'at risk')), 2, status = 'on plan', 3, status = 'no date', 4, 5) AS risk_rank,
           arrayFilter(i -> i > 1 AND seen[i].2 != seen[i - 1].2 AND seen[i].1 >= ${RECENT}, arrayEnumerate(seen)) AS recent_replans,
           multiIf(done, 'finished', notEmpty(recent_replans),
                   concat('re-planned ', arrayStringConcat(arrayMap(i -> concat(toString(seen[i - 1].2), ' -> ', toString(seen[i].2)), recent_replans), ', ')),
                   has_date AND seen[1].1 >= ${RECENT}, 'new', '') AS change,
           multiIf(risk_rank = 1, -toInt64(overdue_days), risk_rank = 2, -toInt64(ifNull(slipped_days, 0)),
                   risk_rank = 3, toInt64(dateDiff('day', ${TODAY}, assumeNotNull(committed_day))),
                   risk_rank = 5, -toInt64(dateDiff('day', toDate('2000-01-01'), assumeNotNull(done_day))), 0) AS order_value,
           ${joinParts([
             `if(overdue, concat('overdue ', toString(overdue_days), ' days'), '')`,
             `if(NOT done AND ifNull(slipped_days, 0) > 0, concat('slipped ', toString(slipped_days), ' days over ', toString(replans), ' re-plan', if(replans = 1, '', 's')), '')`,
             `if(NOT done AND stalled_dependencies > 0, concat(toString(stalled_dependencies), ' stalled dependenc', if(stalled_dependencies = 1, 'y', 'ies')), '')`,
             `if(NOT done AND toString(f.band) IN ('off track', 'at risk'), concat('forecast ', toString(f.band), ': P(on time) ', toString(round(f.confidence, 2)), ', P85 ', toString(f.p85)), '')`,
             `if(NOT done AND items > 0, concat(toString(remaining_items), ' of ', toString(items), ' items open'), '')`,
             `if(done AND has_date, concat('done ', toString(done_day), if(ifNull(slipped_days, 0) > 0, concat(', ', toString(slipped_days), ' days after the original date'), '')), '')`,
           ])} AS why,
           if(done OR f.ok = 0, NULL, toString(f.p85)) AS forecast_p85,
           if(done OR f.ok = 0, NULL, f.confidence) AS confidence,
           if(done, '', toString(f.band)) AS forecast_band,
           ${day('original_date')} AS original, ${day('committed_day')} AS committed, ${day('done_day')} AS completed
    FROM (SELECT * FROM milestones FINAL WHERE kind IN ${PLANNED_KINDS} AND state != 'archived') AS m
    LEFT JOIN ${PLAN_HISTORY} AS p ON p.source = m.source AND p.milestone_id = m.milestone_id
    LEFT JOIN ${MILESTONE_OWNERS} AS o ON o.source = m.source AND o.milestone_id = m.milestone_id
    LEFT JOIN
    (
        SELECT i.source AS source, concat('epic/', i.item_id) AS milestone_id, ${assigneeAt('i', T)} AS owner, i.created_at AS created_at
        FROM ${ITEMS} AS i WHERE i.kind = 'epic'
    ) AS e ON e.source = m.source AND e.milestone_id = m.milestone_id
    LEFT JOIN
    (
        SELECT source, milestone_id, toUInt32(count()) AS items, toUInt32(countIf(category != 'done')) AS open_items,
               round(sumIf(ifNull(points, 0), category != 'done'), 1) AS open_points
        FROM
        (
            SELECT i.source AS source, arrayJoin(arrayConcat(i.fix_versions, if(i.parent_id != '', [concat('epic/', i.parent_id)], []))) AS milestone_id,
                   ${categoryAt('i', T)} AS category, i.story_points AS points
            FROM ${ITEMS} AS i
            WHERE i.created_at < ${T} AND i.kind NOT IN ('epic', 'risk', 'decision', 'action')
        )
        GROUP BY source, milestone_id
    ) AS s ON s.source = m.source AND s.milestone_id = m.milestone_id
    LEFT JOIN
    (
        SELECT source, milestone_id, argMax(p85, computed_at) AS p85, argMax(confidence, computed_at) AS confidence,
               argMax(band, computed_at) AS band, argMax(ok, computed_at) AS ok, argMax(reason, computed_at) AS reason
        FROM milestone_forecasts
        WHERE computed_at <= ${T}
        GROUP BY source, milestone_id
    ) AS f ON f.source = m.source AND f.milestone_id = m.milestone_id
    LEFT JOIN
    (
        SELECT source, blocked_milestone AS milestone_id, toUInt32(countIf(idle OR due_after)) AS stalled
        FROM (${openBlockingLinks(T, TODAY, false)})
        GROUP BY source, milestone_id
    ) AS k ON k.source = m.source AND k.milestone_id = m.milestone_id
    WHERE (m.kind != 'epic' OR e.created_at < ${T}) AND (notEmpty(seen_t) OR empty(p.seen_all))
      AND (NOT done OR assumeNotNull(m.completed_at) >= ${RECENT})
)
ORDER BY risk_rank, order_value, title
SETTINGS join_use_nulls = 0`;

export const milestoneRegister: RegisterDefinition = {
  id: 'milestones',
  title: 'Milestones',
  description: 'open and recently finished versions and epics, by risk: overdue, slipped, stalled, on plan, done',
  columns: [
    col('title', 'milestone', 'title'),
    col('kind', 'kind', 'text', false),
    col('program', 'program', 'text'),
    col('team', 'team', 'text'),
    col('owner', 'owner', 'text'),
    col('original', 'original', 'date'),
    col('committed', 'committed', 'date'),
    col('slipped_days', 'slipped', 'days'),
    col('replans', 're-plans', 'count'),
    col('remaining_items', 'open items', 'count'),
    col('remaining_points', 'open points', 'count', false),
    col('items', 'items', 'count', false),
    col('stalled_dependencies', 'stalled deps', 'count', false),
    col('completed', 'completed', 'date', false),
    col('forecast_p85', 'forecast P85', 'date'),
    col('confidence', 'confidence', 'probability'),
    col('forecast_band', 'forecast', 'text', false),
    col('status', 'status', 'text'),
    col('why', 'why', 'text'),
    col('change', 'change', 'text', false),
    col('url', 'url', 'text', false),
  ],
  rows,
  board: (r) => ({
    item: text(r['title']),
    title: text(r['title']),
    owner: text(r['owner']),
    status: text(r['status']),
    flag:
      r['status'] === 'overdue' || r['status'] === 'done late' || r['forecast_band'] === 'off track'
        ? 'red'
        : r['status'] === 'slipped' || Number(r['stalled_dependencies']) > 0 || r['forecast_band'] === 'at risk'
          ? 'amber'
          : 'green',
    why: text(r['why']),
    due: dateOf(r['committed']),
    milestone: text(r['title']),
    milestone_date: dateOf(r['committed']),
  }),
  headline: (rs) => {
    const open = rs.filter((r) => !String(r['status']).startsWith('done'));
    const late = open.filter((r) => r['status'] === 'overdue' || r['status'] === 'slipped').length;
    const forecast = open.filter((r) => r['forecast_band'] !== null && r['forecast_band'] !== '');
    const off = forecast.filter((r) => r['forecast_band'] === 'off track').length;
    return `${late} of ${open.length} open milestones overdue or slipped${forecast.length > 0 ? `, ${off} of ${forecast.length} forecast off track` : ''}`;
  },
  summarize(rs, window) {
    const n = (s: string): number => rs.filter((r) => r['status'] === s).length;
    const open = rs.filter((r) => !String(r['status']).startsWith('done')).length;
    return [
      `${open} open: ${n('overdue')} overdue, ${n('slipped')} slipped, ${rs.filter((r) => r['status'] === 'on plan' && Number(r['stalled_dependencies']) > 0).length} on plan with stalled dependencies, ${n('on plan')} on plan, ${n('no date')} with no date`,
      `last ${window.recentDays} days: ${n('done on time')} finished on time, ${n('done late')} late; ${rs.filter((r) => String(r['change']).startsWith('re-planned')).length} re-planned, ${rs.filter((r) => r['change'] === 'new').length} new`,
    ];
  },
};
