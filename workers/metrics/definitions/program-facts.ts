import type { MetricDefinition } from '../types.js';
import { SCOPE_PAIRS } from './program-plan.js';
import { categoryAt, itemsWhere, milestoneOf, statusAt } from './work-items.js';

/**
 * The program KPIs whose facts come from outside the trackers, items 24-30 of docs/metrics.md: release
 * readiness, stakeholder satisfaction, engineering sentiment, outcome attainment, adoption, effort and
 * spend variance, compliance evidence. Their facts are the tables of migration 0021 (readiness_checks,
 * survey_responses, outcome_targets, outcome_actuals, adopters, cost_rows), filled by the ingest source,
 * and the Jira work items the configuration names (metrics.readiness, metrics.compliance, adopters'
 * Jira issues and labels). Every metric is a program's (team '' unless a Jira item gives one).
 */

const NO_VALUE = 'CAST(NULL AS Nullable(Float64))';

/** A ratio metric of the program facts: sum(num) / sum(den) of its units, higher better unless `more` says otherwise. */
const ratio = (id: string, item: number, title: string, units: string, more: Partial<MetricDefinition> = {}): MetricDefinition => ({
  id,
  version: 1,
  title,
  item,
  unit: 'ratio',
  better: 'higher',
  aggregate: { kind: 'ratio' },
  units,
  ...more,
});

/** Midnight starting a calendar day (Date or Date32) in the metrics' time zone. */
const dayStart = (day: string): string => `toDateTime64(${day}, 3, {tz:String})`;
/**
 * The end of a calendar day in the metrics' time zone (midnight starting the next one), or the run's
 * instant when that is earlier: a deadline on the day of the run is read with what is known by then.
 */
const dayEnd = (day: string): string => `least(${dayStart(`(${day} + 1)`)}, {as_of:DateTime64(3)})`;

/** A condition on work_items: the item is of a configured issue type or has a configured label, names compared in lower case. */
const configured = (types: string, labels: string): string =>
  `(has({${types}:Array(String)}, lower(type)) OR hasAny(arrayMap(x -> lower(x), labels), {${labels}:Array(String)}))`;

// ---------------------------------------------------------------------------------------------------
// Release readiness (item 24)

/**
 * Every readiness check with its release, go/no-go date and status at it (pass, fail, waived):
 * - imported checks (readiness_checks), as stated, once checked by the run's instant;
 * - Jira items of a configured issue type or label (metrics.readiness) in a fix version or under an epic
 *   (milestoneOf: the first fix version, else the parent epic) whose milestone has a committed date: the
 *   release is the milestone's name, the go/no-go its committed date (a version's release date, an
 *   epic's due date). The status is the one the item had at the end of the go/no-go day, read from its
 *   changelog (statusAt), its name compared in lower case: a pass status passes, a waived status waives,
 *   any other fails. A waived Jira check's rationale is its resolution, else its summary; the item's
 *   link is in the detail.
 */
export const READINESS_CHECKS = `
SELECT toString(program) AS program, '' AS team, release_name AS release_name, check_name AS check_name, toString(status) AS status,
       go_no_go AS go_no_go, rationale AS rationale,
       concat('imported check (owner ', if(owner = '', '?', owner), ', checked ', toString(checked_at), ')') AS origin
FROM readiness_checks FINAL
WHERE is_deleted = 0 AND checked_at <= {as_of:DateTime64(3)}
UNION ALL
SELECT j.program AS program, j.team AS team, j.release_name AS release_name, concat(j.key, ' ', j.summary) AS check_name,
       multiIf(has({readiness_pass_statuses:Array(String)}, lower(j.status_then)), 'pass',
               has({readiness_waived_statuses:Array(String)}, lower(j.status_then)), 'waived', 'fail') AS status,
       j.go_no_go AS go_no_go, if(j.resolution != '', j.resolution, j.summary) AS rationale,
       concat('Jira ', j.key, ' in ', j.milestone, ', status ''', j.status_then, ''' at the end of the go/no-go day',
              if(j.url = '', '', concat(' (', j.url, ')'))) AS origin
FROM
(
    SELECT i.key AS key, i.summary AS summary, i.team AS team, i.program AS program, i.url AS url, i.resolution AS resolution,
           i.milestone AS milestone, m.name AS release_name, assumeNotNull(m.committed_date) AS go_no_go,
           ${statusAt('i', dayEnd('assumeNotNull(m.committed_date)'))} AS status_then
    FROM (SELECT w.*, ${milestoneOf('w')} AS milestone FROM ${itemsWhere(configured('readiness_issue_types', 'readiness_labels'))} AS w) AS i
    INNER JOIN (SELECT source, milestone_id, name, committed_date FROM milestones FINAL WHERE committed_date IS NOT NULL) AS m
      ON m.source = i.source AND m.milestone_id = i.milestone
) AS j`;

const releaseItem = `concat('readiness ', c.release_name, ': ', c.check_name)`;

/** Checks passing at the go/no-go over the checks that passed or failed; waived checks are counted apart (release_readiness_waived). */
const readinessPassRate = ratio(
  'release_readiness_pass_rate',
  24,
  'Release readiness: checks passing at the go/no-go / checks passed or failed (waived counted apart)',
  `
SELECT ${dayStart('c.go_no_go')} AS at, c.program AS program, c.team AS team, '' AS service, '' AS repo,
       if(c.status = 'pass', 1.0, 0.0) AS num, 1.0 AS den, ${NO_VALUE} AS value, ${releaseItem} AS item,
       concat(c.status, ' at the go/no-go ', toString(c.go_no_go), ' of ', c.release_name, '; ', c.origin) AS detail
FROM (${READINESS_CHECKS}) AS c
WHERE c.status IN ('pass', 'fail')`,
);
/** The waived checks at the go/no-go, each listed with its rationale. */
const readinessWaived: MetricDefinition = {
  id: 'release_readiness_waived',
  version: 1,
  title: 'Release readiness: checks waived at the go/no-go, each with its rationale',
  item: 24,
  unit: 'count',
  better: 'lower',
  aggregate: { kind: 'count' },
  units: `
SELECT ${dayStart('c.go_no_go')} AS at, c.program AS program, c.team AS team, '' AS service, '' AS repo,
       1.0 AS num, 0.0 AS den, ${NO_VALUE} AS value, ${releaseItem} AS item,
       concat('waived at the go/no-go ', toString(c.go_no_go), ' of ', c.release_name, ': ',
              if(c.rationale = '', 'no rationale recorded', c.rationale), '; ', c.origin) AS detail
FROM (${READINESS_CHECKS}) AS c
WHERE c.status = 'waived'`,
};

// ---------------------------------------------------------------------------------------------------
// Surveys (items 25, 26)

/**
 * The answers of a survey that count for each month: those of the program submitted from the start of
 * the month's quarter up to the month's end (or the run's instant in a month still running), so a month
 * shows its quarter to date and a quarter's last month the whole quarter. A program whose quarter to
 * date has fewer than {survey_min_responses} answers has none that count (the anonymity floor): no unit,
 * so no value, for the program, and its answers are not in the org's either.
 */
const surveyAnswers = (survey: 'stakeholder_satisfaction' | 'engineering_sentiment'): string => `
SELECT * FROM
(
    SELECT p.period_start AS period_start, toString(r.program) AS program, r.response AS response, r.submitted_at AS submitted_at,
           r.score AS score, r.comment_count AS comment_count, toStartOfQuarter(p.period_start) AS quarter,
           count() OVER (PARTITION BY r.program, p.period_start) AS answers
    FROM (SELECT * FROM survey_responses FINAL WHERE survey = '${survey}' AND is_deleted = 0 AND program != '') AS r
    CROSS JOIN __PERIODS__ AS p
    WHERE r.submitted_at >= ${dayStart('toStartOfQuarter(p.period_start)')} AND r.submitted_at < p.period_at
)
WHERE answers >= {survey_min_responses:UInt32}`;

/** The units of a survey metric: one per answer counted in a month, `num` and `den` as given. */
const surveyUnits = (survey: 'stakeholder_satisfaction' | 'engineering_sentiment', num: string, den: string): string => `
SELECT ${dayStart('a.period_start')} AS at, a.program AS program, '' AS team, '' AS service, '' AS repo,
       ${num} AS num, ${den} AS den, toNullable(toFloat64(a.score)) AS value,
       concat('survey answer ', a.response) AS item,
       concat('score ', toString(a.score), ' submitted ', toString(a.submitted_at), ', ', toString(a.comment_count), ' comment(s); ',
              toString(a.answers), ' answers of ${survey} for ', a.program, ' in the quarter from ', toString(a.quarter), ' to date') AS detail
FROM (${surveyAnswers(survey)}) AS a`;

function surveyMetric(
  id: string,
  survey: 'stakeholder_satisfaction' | 'engineering_sentiment',
  item: number,
  title: string,
  aggregate: MetricDefinition['aggregate'],
  num = '1.0',
  den = '0.0',
): MetricDefinition {
  return {
    id,
    version: 1,
    title,
    item,
    unit: aggregate.kind === 'ratio' ? 'ratio' : 'score',
    better: 'higher',
    aggregate,
    // A survey is a quarter's: the month shows its quarter to date; days and weeks would show nothing more.
    periods: ['month'],
    units: surveyUnits(survey, num, den),
  };
}

/** +1 for a positive answer, -1 for a negative one, 0 between: their sum over the answers is the share positive less the share negative. */
const NET = `multiIf(a.score >= {survey_positive_from:UInt8}, 1.0, a.score <= {survey_negative_to:UInt8}, -1.0, 0.0)`;

// ---------------------------------------------------------------------------------------------------
// Outcomes (item 27)

/**
 * One row per outcome target, from its revisions set by the run's instant (`revs`, oldest first: set_at,
 * target, direction, due, unit, rationale): the due date is the latest revision's; the target, direction
 * and unit are those in force at the end of that due day (the latest revision set by then; the first one
 * when all were set later), so a revision after the due date does not turn a miss into a hit; how many
 * times it was revised and whether every revision gave its rationale; and the last actual observed by the
 * end of the due day.
 */
export const OUTCOME_READINGS = `
SELECT t.program AS program, t.outcome AS outcome, t.in_force.2 AS target, t.in_force.3 AS direction, t.due AS due, t.in_force.5 AS unit,
       t.revisions AS revisions, t.explained AS explained, t.history AS history, a.observed_at AS observed_at, a.value AS actual
FROM
(
    SELECT program, outcome, revs, length(revs) - 1 AS revisions, revs[-1].4 AS due,
           if(arrayExists(x -> x.1 < ${dayEnd('due')}, revs), arrayLast(x -> x.1 < ${dayEnd('due')}, revs), revs[1]) AS in_force,
           arrayAll(x -> x.6 != '', arraySlice(revs, 2)) AS explained,
           arrayStringConcat(arrayMap(x -> concat(toString(x.2), ' due ', toString(x.4), ' set ', toString(x.1), if(x.6 = '', '', concat(' (', x.6, ')'))), revs),
                             ' -> ') AS history
    FROM
    (
        SELECT toString(program) AS program, outcome,
               arraySort(x -> x.1, groupArray((set_at, target, toString(direction), due, unit, rationale))) AS revs
        FROM outcome_targets FINAL
        WHERE set_at <= {as_of:DateTime64(3)}
        GROUP BY program, outcome
    )
) AS t
LEFT JOIN
(
    SELECT a.program AS program, a.outcome AS outcome, max(a.observed_at) AS observed_at, argMax(a.value, a.observed_at) AS value
    FROM (SELECT toString(program) AS program, outcome, observed_at, value FROM outcome_actuals FINAL) AS a
    INNER JOIN (SELECT toString(program) AS program, outcome, argMax(due, set_at) AS due FROM outcome_targets FINAL
                WHERE set_at <= {as_of:DateTime64(3)} GROUP BY program, outcome) AS d
      ON d.program = a.program AND d.outcome = a.outcome
    WHERE a.observed_at < ${dayEnd('d.due')}
    GROUP BY a.program, a.outcome
) AS a ON a.program = t.program AND a.outcome = t.outcome
SETTINGS join_use_nulls = 1`;

const outcomeAttainment = ratio(
  'outcome_attainment_rate',
  27,
  'Outcome attainment: targets due met, or revised with a rationale / targets due',
  `
SELECT ${dayStart('o.due')} AS at, o.program AS program, '' AS team, '' AS service, '' AS repo,
       if(o.met OR o.excused, 1.0, 0.0) AS num, 1.0 AS den, ${NO_VALUE} AS value,
       concat('outcome ', o.program, '/', o.outcome) AS item,
       concat(multiIf(o.met, 'met', o.excused, 'revised with a rationale', 'missed'), ': ',
              if(o.actual IS NULL, 'no actual by the due date',
                 concat('actual ', toString(o.actual), ' observed ', toString(o.observed_at))),
              ' against ', if(o.direction = 'at_most', 'at most ', 'at least '), toString(o.target), if(o.unit = '', '', concat(' ', o.unit)),
              ' due ', toString(o.due), '; target set: ', o.history) AS detail
FROM
(
    SELECT *, ifNull(if(direction = 'at_most', actual <= target, actual >= target), 0) = 1 AS met, revisions > 0 AND explained AS excused
    FROM (${OUTCOME_READINGS})
) AS o`,
);
// ---------------------------------------------------------------------------------------------------
// Adoption (item 28)

/** Work items that can enable an adopter: its Jira issue, or an item with its label. */
const ENABLERS = itemsWhere(`(key IN (SELECT jira_issue FROM adopters FINAL WHERE jira_issue != '')
    OR hasAny(arrayMap(x -> lower(x), labels), (SELECT groupArray(lower(jira_label)) FROM adopters FINAL WHERE jira_label != '')))`);

/**
 * Planned adopters due in the period enabled by the end of their target day: enabled when imported with
 * an enabling instant, else when its Jira issue was done (its move into a done status, or its
 * resolution), else when the first item with its label was done.
 */
const adoptionCompletion = ratio(
  'adoption_completion_rate',
  28,
  'Adoption / enablement completion: planned adopters enabled by their target date / adopters due',
  `
SELECT ${dayStart('x.target_date')} AS at, x.program AS program, '' AS team, '' AS service, '' AS repo,
       if(x.enabled IS NOT NULL AND assumeNotNull(x.enabled) < ${dayEnd('x.target_date')}, 1.0, 0.0) AS num, 1.0 AS den, ${NO_VALUE} AS value,
       concat(x.kind, ' ', x.adopter) AS item,
       concat(multiIf(x.enabled IS NULL, 'not enabled', num = 1, 'enabled', 'enabled late'),
              if(x.enabled IS NULL, '', concat(' ', toString(x.enabled), ' (', x.basis, ')')), '; target ', toString(x.target_date)) AS detail
FROM
(
    SELECT toString(a.program) AS program, a.adopter AS adopter, toString(a.adopter_kind) AS kind, a.target_date AS target_date,
           multiIf(a.enabled_at IS NOT NULL, a.enabled_at, i.first_done IS NOT NULL, i.first_done, l.first_done) AS enabled,
           multiIf(a.enabled_at IS NOT NULL, 'as imported', i.first_done IS NOT NULL, concat('Jira ', a.jira_issue, ' done'),
                   l.first_done IS NOT NULL, concat('first item labelled ', a.jira_label, ' done: ', l.first_key), '') AS basis
    FROM (SELECT * FROM adopters FINAL WHERE is_deleted = 0) AS a
    LEFT JOIN (SELECT e.key AS key, min(e.done_at) AS first_done FROM ${ENABLERS} AS e WHERE e.done_at IS NOT NULL GROUP BY e.key) AS i
      ON i.key = a.jira_issue
    LEFT JOIN
    (
        SELECT label, min(e.done_at) AS first_done, argMin(e.key, e.done_at) AS first_key
        FROM ${ENABLERS} AS e
        ARRAY JOIN arrayMap(x -> lower(x), e.labels) AS label
        WHERE e.done_at IS NOT NULL
        GROUP BY label
    ) AS l ON l.label = lower(a.jira_label)
    SETTINGS join_use_nulls = 1
) AS x`,
);
// ---------------------------------------------------------------------------------------------------
// Effort and spend (item 29)

/** Changes of an item's value in the changelog, per item, oldest first: (instant, from, to). */
const changesOf = (where: string): string => `
SELECT source, item_id, arraySort(x -> x.1, groupArray((changed_at, toFloat64OrZero(from_value), toFloat64OrZero(to_value)))) AS ch
FROM work_item_history FINAL
WHERE ${where}
GROUP BY source, item_id`;

/**
 * An item's value at instant `t` from its changes `q.ch`: after its last change before t, else before its
 * first change, else `now` (its value now).
 */
const valueAt = (q: string, t: string, now: string): string =>
  `if(arrayLastIndex(x -> x.1 < ${t}, ${q}.ch) > 0, ${q}.ch[arrayLastIndex(x -> x.1 < ${t}, ${q}.ch)].3,
      if(empty(${q}.ch), ${now}, ${q}.ch[1].2))`;

/**
 * Planned against actual effort per completed milestone (version, epic, sprint; SCOPE_PAIRS) and team:
 * planned = the committed scope's items at the commit point, each with its planned value then; actual =
 * the items in it at completion (the committed scope with the adds and removals up to then), each with
 * its actual value then. Each value at an instant is read from its changelog changes (`planned` and
 * `actual`), else the item's value now. Milestones with nothing planned have no variance.
 */
function milestoneEffort(o: {
  id: string;
  title: string;
  planned: { changes: string; now: string };
  actual: { changes: string; now: string };
  /** The unit a value is said in, and how many of the stored unit make one (3600 seconds an hour). */
  unit: string;
  per: number;
}): MetricDefinition {
  const amount = (v: string): string => `toString(round(${v}, 2))`;
  // One changelog scan when planned and actual read the same field's changes.
  const same = o.planned.changes === o.actual.changes;
  const actualChanges = same ? 'qp' : 'qa';
  return ratio(
    o.id,
    29,
    o.title,
    `
SELECT z.end_at AS at, z.program AS program, z.team AS team, '' AS service, '' AS repo,
       z.actual - z.planned AS num, z.planned AS den, ${NO_VALUE} AS value,
       concat(z.source, ' ', z.kind, ' ', z.milestone_id, ' "', z.name, '"', if(z.team = '', '', concat(' (team ', z.team, ')'))) AS item,
       concat('planned ', ${amount('z.planned')}, ' ${o.unit} at the commit ', toString(z.commit_at), ' (', z.planned_items, '); actual ',
              ${amount('z.actual')}, ' ${o.unit} at completion ', toString(z.end_at), ' (', z.actual_items, ')') AS detail
FROM
(
    SELECT y.source AS source, y.milestone_id AS milestone_id, any(y.kind) AS kind, any(y.name) AS name, any(y.commit_at) AS commit_at,
           any(y.end_at) AS end_at, y.team AS team, y.program AS program,
           sumIf(y.planned_value, y.committed = 1) AS planned, sumIf(y.actual_value, y.in_at_end) AS actual,
           arrayStringConcat(arraySort(groupArrayIf(concat(y.key, ' ', ${amount('y.planned_value')}), y.committed = 1)), ', ') AS planned_items,
           arrayStringConcat(arraySort(groupArrayIf(concat(y.key, ' ', ${amount('y.actual_value')}), y.in_at_end)), ', ') AS actual_items
    FROM
    (
        SELECT s.source AS source, s.milestone_id AS milestone_id, s.kind AS kind, s.name AS name, s.commit_at AS commit_at, s.end_at AS end_at,
               s.team AS team, s.program AS program, s.key AS key, s.committed AS committed,
               if(length(s.changes) > 0, s.changes[-1].2 = 1, s.committed = 1) AS in_at_end,
               ${valueAt('qp', 's.commit_at', o.planned.now)} / ${o.per} AS planned_value,
               ${valueAt(actualChanges, 's.end_at', o.actual.now)} / ${o.per} AS actual_value
        FROM (${SCOPE_PAIRS}) AS s
        LEFT JOIN (${o.planned.changes}) AS qp ON qp.source = s.source AND qp.item_id = s.item_id
        ${same ? '' : `LEFT JOIN (${o.actual.changes}) AS qa ON qa.source = s.source AND qa.item_id = s.item_id`}
        WHERE s.end_at < toDateTime64('2200-01-01 00:00:00', 3, 'UTC')
        SETTINGS join_use_nulls = 0
    ) AS y
    GROUP BY y.source, y.milestone_id, y.team, y.program
) AS z
WHERE z.planned > 0`,
    { better: 'lower' },
  );
}

/**
 * Story points: changes of the configured story points field (by id), or by name of Jira's 'Story
 * Points' and 'Story point estimate' and GitLab's weight.
 */
const POINT_CHANGES = changesOf(
  `lower(field) IN ('story points', 'story point estimate', 'weight') OR has({story_point_field_ids:Array(String)}, lower(field_id))`,
);

const effortVariance = milestoneEffort({
  id: 'effort_variance',
  title: 'Effort variance of completed milestones: (story points at completion - at commit) / at commit',
  planned: { changes: POINT_CHANGES, now: 's.points' },
  actual: { changes: POINT_CHANGES, now: 's.points' },
  unit: 'points',
  per: 1,
});

/**
 * Time tracking (Jira's timeoriginalestimate and timespent, GitLab's time_estimate and total_time_spent):
 * the original estimate at the commit point against the time logged at completion, in hours.
 */
const effortHoursVariance = milestoneEffort({
  id: 'effort_hours_variance',
  title: 'Effort variance of completed milestones in hours: (time logged at completion - original estimate at commit) / estimate',
  planned: { changes: changesOf(`lower(field) = 'timeoriginalestimate'`), now: 's.estimate_seconds' },
  actual: { changes: changesOf(`lower(field) = 'timespent'`), now: 's.spent_seconds' },
  unit: 'hours',
  per: 3600,
});

/**
 * Cost rows with their program: the configured tag's value when it names a program of the org mapping,
 * else the program whose cost accounts hold the row's SubAccountId, else '' (unallocated). The cost is
 * the row's EffectiveCost (amortized), else its BilledCost; its month is the charge period's start's, in
 * the metrics' time zone.
 */
const ALLOCATED = `
SELECT c.*, ifNull(c.effective_cost, c.billed_cost) AS cost, toStartOfMonth(toDate(toTimeZone(c.charge_period_start, {tz:String}))) AS month,
       c.tags[{cost_tag:String}] AS tagged,
       multiIf(has({program_ids:Array(String)}, tagged), tagged,
               indexOf({cost_account_ids:Array(String)}, c.sub_account_id) > 0,
               arrayElement({cost_account_programs:Array(String)}, indexOf({cost_account_ids:Array(String)}, c.sub_account_id)), '') AS program,
       multiIf(has({program_ids:Array(String)}, tagged), concat('tag ', {cost_tag:String}, '=', tagged),
               program != '', concat('account ', c.sub_account_id), '') AS allocated_by
FROM cost_rows AS c FINAL`;

const costRowText = `concat(c.provider, ' ', c.service_name, if(c.resource_id = '', '', concat(' ', c.resource_id)), ' ',
       toString(c.charge_period_start), ' - ', toString(c.charge_period_end), ': ', toString(c.cost), ' ', c.currency)`;

/**
 * Monthly spend variance per program with a budget: each budget is spread over the months it covers
 * within the range computed (an end left open is the range's); one unit per cost row allocated
 * to the program in the month and in the budget's currency (num = its cost), and one for the budget (num = -amount, den =
 * amount), so the ratio is (cost - budget) / budget. Rows in another currency are not converted: they
 * are left out, named in the budget's unit. Program scope only: budgets in different currencies do not add up.
 */
const spendVariance = ratio(
  'spend_variance',
  29,
  "Spend variance per program and month: (allocated cost - budget) / budget, in the budget's currency",
  `
WITH budgets AS
(
    SELECT b.1 AS program, arrayJoin(arrayMap(i -> addMonths(first, i), range(toUInt32(greatest(0, dateDiff('month', first, last) + 1))))) AS month,
           b.4 AS amount, b.5 AS currency,
           if(b.2 = '', toStartOfMonth(toDate({from_day:String})),
              greatest(toDate(concat(b.2, '-01')), toStartOfMonth(toDate({from_day:String})))) AS first,
           if(b.3 = '', toStartOfMonth(toDate({to_day:String}) - 1),
              least(toDate(concat(b.3, '-01')), toStartOfMonth(toDate({to_day:String}) - 1))) AS last
    FROM (SELECT arrayJoin(arrayZip({budget_programs:Array(String)}, {budget_firsts:Array(String)}, {budget_lasts:Array(String)},
                                    {budget_amounts:Array(Float64)}, {budget_currencies:Array(String)})) AS b)
)
SELECT ${dayStart('c.month')} AS at, 'program' AS scope_kind, c.program AS scope_id, c.program AS program, '' AS team, '' AS service, '' AS repo,
       c.cost AS num, 0.0 AS den, ${NO_VALUE} AS value, concat('cost row ', c.row_id) AS item,
       concat(${costRowText}, '; allocated by ', c.allocated_by) AS detail
FROM (${ALLOCATED}) AS c
INNER JOIN budgets AS b ON b.program = c.program AND b.month = c.month AND b.currency = c.currency
UNION ALL
SELECT ${dayStart('b.month')} AS at, 'program' AS scope_kind, b.program AS scope_id, b.program AS program, '' AS team, '' AS service, '' AS repo,
       -b.amount AS num, b.amount AS den, ${NO_VALUE} AS value, concat('budget ', b.program, ' ', formatDateTime(b.month, '%Y-%m')) AS item,
       concat('budget ', toString(b.amount), ' ', b.currency,
              if(empty(arrayFilter(z -> z.1 != b.currency, x.costs)), '',
                 concat('; not counted, in another currency: ',
                        arrayStringConcat(arrayMap(z -> concat(toString(z.2), ' ', z.1), arraySort(arrayFilter(z -> z.1 != b.currency, x.costs))), ', ')))) AS detail
FROM budgets AS b
LEFT JOIN
(
    SELECT c.program AS program, c.month AS month, groupArray((toString(c.currency), c.cost)) AS costs
    FROM (${ALLOCATED}) AS c
    WHERE c.program != ''
    GROUP BY c.program, c.month
) AS x ON x.program = b.program AND x.month = b.month
SETTINGS join_use_nulls = 0`,
  { better: 'lower', periods: ['month'], scoped: true },
);

/** Cost rows allocated to no program: counted per org, each listed with its cost, so no cost is dropped silently. */
const unallocatedCost: MetricDefinition = {
  id: 'unallocated_cost',
  version: 1,
  title: 'Cost rows allocated to no program (by neither the cost tag nor a cost account), each with its cost and currency',
  item: 29,
  unit: 'count',
  better: 'lower',
  aggregate: { kind: 'count' },
  units: `
SELECT c.charge_period_start AS at, '' AS program, '' AS team, '' AS service, '' AS repo,
       1.0 AS num, 0.0 AS den, toNullable(c.cost) AS value, concat('cost row ', c.row_id) AS item,
       concat(${costRowText}, '; account ', if(c.sub_account_id = '', '?', c.sub_account_id),
              if(c.tagged = '', concat(', no tag ', {cost_tag:String}), concat(', tag ', {cost_tag:String}, '=', c.tagged, ' names no program'))) AS detail
FROM (${ALLOCATED}) AS c
WHERE c.program = ''`,
};

// ---------------------------------------------------------------------------------------------------
// Compliance evidence (item 30)

/**
 * Controls (Jira items of a configured issue type or label, metrics.compliance) due in the period, by
 * their current due date: with evidence by the end of the due day when they were then in one of the
 * evidence statuses, or, with none configured, done (statusAt and categoryAt, from the changelog).
 */
const complianceCompleteness = ratio(
  'compliance_evidence_completeness',
  30,
  'Compliance evidence completeness: required controls with evidence by their audit date / controls due',
  `
SELECT ${dayStart('c.due_date')} AS at, c.program AS program, c.team AS team, '' AS service, '' AS repo,
       if(if(empty({compliance_evidence_statuses:Array(String)}), c.category_then = 'done',
             has({compliance_evidence_statuses:Array(String)}, lower(c.status_then))), 1.0, 0.0) AS num,
       1.0 AS den, ${NO_VALUE} AS value, concat(c.source, ' control ', c.key) AS item,
       concat(if(num = 1, 'evidence', 'no evidence'), ' by the audit date ', toString(c.due_date), ': status ''', c.status_then, ''' then',
              if(c.url = '', '', concat(' (', c.url, ')'))) AS detail
FROM
(
    SELECT w.source AS source, w.key AS key, w.program AS program, w.team AS team, w.url AS url, assumeNotNull(w.due_date) AS due_date,
           ${statusAt('w', dayEnd('assumeNotNull(w.due_date)'))} AS status_then,
           ${categoryAt('w', dayEnd('assumeNotNull(w.due_date)'))} AS category_then
    FROM ${itemsWhere(`due_date IS NOT NULL AND ${configured('compliance_issue_types', 'compliance_labels')}`)} AS w
) AS c`,
);
export const PROGRAM_FACT_METRICS: MetricDefinition[] = [
  readinessPassRate,
  readinessWaived,
  surveyMetric(
    'stakeholder_satisfaction',
    'stakeholder_satisfaction',
    25,
    'Stakeholder satisfaction: mean survey score (1-5), quarter to date',
    {
      kind: 'mean',
    },
  ),
  surveyMetric(
    'engineering_sentiment_net',
    'engineering_sentiment',
    26,
    'Engineering sentiment on program overhead: share positive less share negative answers, quarter to date',
    { kind: 'ratio' },
    NET,
    '1.0',
  ),
  surveyMetric(
    'engineering_sentiment_mean',
    'engineering_sentiment',
    26,
    'Engineering sentiment on program overhead: mean survey score (1-5), quarter to date',
    {
      kind: 'mean',
    },
  ),
  outcomeAttainment,
  adoptionCompletion,
  effortVariance,
  effortHoursVariance,
  spendVariance,
  unallocatedCost,
  complianceCompleteness,
];
