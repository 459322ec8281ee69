import type { MetricDefinition } from '../types.js';

/**
 * Delivery performance (DORA), items 1-5 of docs/metrics.md. Production means a deployment the mapper
 * marked production (the configured environments); the linker's deployment_facts give each one's
 * outcome, previous deployment, rollback and hotfix facts.
 *
 * Every definition is evaluated at the run's instant {as_of:DateTime64(3)} (now, or --as-of): a
 * deployment that finished after it does not exist yet, so it is neither counted nor a rollback, a
 * hotfix or a recovery; an incident that started after it is not evidence of failure, and one resolved
 * after it is still open.
 */

const NO_VALUE = 'CAST(NULL AS Nullable(Float64))';

/** Successful production deployments finished by the run's instant, each with its finish time. */
const SUCCESSFUL = `(SELECT * FROM deployment_facts FINAL
    WHERE is_production = 1 AND result = 'success' AND finished_at IS NOT NULL AND assumeNotNull(finished_at) <= {as_of:DateTime64(3)})`;

/**
 * SUCCESSFUL, those finished at or after the range's first instant {since}: the deployments that can give
 * a unit of the range when a unit is dated by its deployment's finish (or a later one's).
 */
const SUCCESSFUL_SINCE = `(SELECT * FROM ${SUCCESSFUL} WHERE assumeNotNull(finished_at) >= {since:DateTime64(3)})`;

/**
 * A production deployment failed when an incident is linked to it (explicitly or inferred), a successful
 * deployment rolled it back, or a successful hotfix deployment was made for it: a failed attempt to roll
 * back or to repair changes nothing that was serving. One row per successful production deployment, with
 * why it failed, if it did. All of it as known at the run's instant: incidents that had started by then,
 * rollbacks and hotfixes that had finished (SUCCESSFUL), and `incidents_resolved` only once each of those
 * incidents had been resolved by then. The rows are those of `deployments` (SUCCESSFUL, or the part of it
 * a definition reads); rollbacks and hotfixes are looked for among all of them.
 */
const withFailure = (deployments: string): string => `
SELECT f.source AS source, f.deployment_id AS deployment_id, f.service AS service, f.environment AS environment, f.repo AS repo,
       f.team AS team, f.program AS program, f.sha AS sha, f.finished_at AS finished_at, f.rolled_back_by AS rolled_back_by,
       i.incidents AS incidents, i.resolved AS incidents_resolved, h.hotfixes AS hotfixes,
       f.rolled_back_by != '' AND (f.source, f.rolled_back_by) IN (SELECT source, deployment_id FROM ${SUCCESSFUL}) AS rolled_back,
       length(i.incidents) > 0 OR rolled_back OR length(h.hotfixes) > 0 AS failed,
       concat(f.source, ' deployment ', f.deployment_id, ' of ', f.service, ' (', f.sha, ')') AS item,
       concat(
         if(length(i.incidents) > 0, concat('incidents: ', arrayStringConcat(i.incidents, '; ')), 'no incident'),
         if(rolled_back, concat('; rolled back by ', f.rolled_back_by), ''),
         if(length(h.hotfixes) > 0, concat('; hotfixed by ', arrayStringConcat(h.hotfixes, ', ')), '')
       ) AS why
FROM ${deployments} AS f
LEFT JOIN
(
    SELECT l.deployment_source, l.deployment_id,
           groupArray(concat(l.incident_source, ' ', l.incident_id, ' [', l.method, '/', l.rule, ': ', l.evidence, ']')) AS incidents,
           -- recovered by incidents only once every linked incident is resolved (an open one has no resolved_at;
           -- one resolved after the instant was open at it)
           if(countIf(x.resolved_at IS NULL OR assumeNotNull(x.resolved_at) > {as_of:DateTime64(3)}) > 0, NULL, max(x.resolved_at)) AS resolved
    FROM incident_deployments AS l FINAL
    LEFT JOIN (SELECT source, incident_id, created_at, resolved_at FROM incident_facts FINAL) AS x
      ON x.source = l.incident_source AND x.incident_id = l.incident_id
    -- an incident that started after the instant is no evidence yet; a link whose incident has no facts row counts, as it always did
    WHERE l.method != 'none' AND (x.incident_id = '' OR x.created_at <= {as_of:DateTime64(3)})
    GROUP BY l.deployment_source, l.deployment_id
) AS i ON i.deployment_source = f.source AND i.deployment_id = f.deployment_id
LEFT JOIN
(
    SELECT source, hotfix_for, groupArray(deployment_id) AS hotfixes
    FROM deployment_facts FINAL
    WHERE is_hotfix = 1 AND hotfix_for != '' AND is_production = 1 AND result = 'success' AND finished_at IS NOT NULL
      AND assumeNotNull(finished_at) <= {as_of:DateTime64(3)}
    GROUP BY source, hotfix_for
) AS h ON h.source = f.source AND h.hotfix_for = f.deployment_id`;

export const deploymentFrequency: MetricDefinition = {
  id: 'deployment_frequency',
  version: 1,
  title: 'Deployment frequency (successful production deployments)',
  item: 1,
  unit: 'count',
  better: 'higher',
  aggregate: { kind: 'count' },
  units: `
SELECT assumeNotNull(f.finished_at) AS at, f.program, f.team, f.service, f.repo, 1.0 AS num, 0.0 AS den, ${NO_VALUE} AS value,
       concat(f.source, ' deployment ', f.deployment_id, ' of ', f.service) AS item,
       concat(f.environment, ' ', f.ref, ' ', f.sha, ', ', toString(f.commit_count), ' commits') AS detail
FROM ${SUCCESSFUL_SINCE} AS f`,
};

/** Distinct days with a successful production deployment, per week. */
export const deploymentDays: MetricDefinition = {
  id: 'deployment_days',
  version: 1,
  title: 'Deployment days per week',
  item: 1,
  unit: 'per_week',
  better: 'higher',
  aggregate: { kind: 'distinct' },
  periods: ['week'],
  units: `
SELECT assumeNotNull(f.finished_at) AS at, f.program, f.team, f.service, f.repo, 1.0 AS num, 0.0 AS den, ${NO_VALUE} AS value,
       toString(toDate(toTimeZone(assumeNotNull(f.finished_at), {tz:String}))) AS item,
       concat(f.source, ' deployment ', f.deployment_id, ' of ', f.service) AS detail
FROM ${SUCCESSFUL_SINCE} AS f`,
};

/**
 * The median over a month of the weekly deployment days, as the DORA reports use it: every week whose
 * Monday falls in the month counts once it has ended by the run's instant, weeks without a deployment as
 * 0. A week still running is left out (its days so far are not a week's), so a running month's median
 * is over its weeks that have ended, and has no value before the first one ends. Computed for the org
 * mapping's scopes (a scope the config does not name has no weeks to count).
 */
export const deploymentDaysMedian: MetricDefinition = {
  id: 'deployment_days_per_week_median',
  version: 2,
  title: 'Deployment days per week, median over the month',
  item: 1,
  unit: 'per_week',
  better: 'higher',
  aggregate: { kind: 'quantile', q: 0.5 },
  periods: ['month'],
  scoped: true,
  units: `
SELECT toDateTime64(g.week, 3, {tz:String}) AS at, g.sk AS scope_kind, g.sid AS scope_id, '' AS program, '' AS team, 1.0 AS num, 0.0 AS den,
       toFloat64(d.days) AS value,
       concat('week of ', toString(g.week)) AS item,
       concat(toString(d.days), ' day(s) with a successful production deployment') AS detail
FROM
(
    SELECT sc.1 AS sk, sc.2 AS sid, w AS week
    FROM
    (
        SELECT arrayJoin(arrayMap(i -> addDays(toMonday(toDate({from_day:String})), 7 * i),
                                  range(toUInt32(dateDiff('day', toMonday(toDate({from_day:String})), toDate({to_day:String})) / 7 + 1)))) AS w
    )
    ARRAY JOIN arrayZip({scope_kinds:Array(String)}, {scope_ids:Array(String)}) AS sc
    WHERE w >= toDate({from_day:String}) AND w < toDate({to_day:String})
      AND toDateTime64(addDays(w, 7), 3, {tz:String}) <= {as_of:DateTime64(3)}
) AS g
LEFT JOIN
(
    SELECT s.1 AS sk, s.2 AS sid, toMonday(toTimeZone(assumeNotNull(f.finished_at), {tz:String})) AS week,
           uniqExact(toDate(toTimeZone(assumeNotNull(f.finished_at), {tz:String}))) AS days
    FROM ${SUCCESSFUL_SINCE} AS f
    ARRAY JOIN [('org', 'org'), ('program', f.program), ('team', f.team), ('service', f.service), ('repo', f.repo)] AS s
    WHERE s.2 != ''
    GROUP BY sk, sid, week
) AS d ON d.sk = g.sk AND d.sid = g.sid AND d.week = g.week
SETTINGS join_use_nulls = 0`,
};

/**
 * Deployment frequency as the DORA reports read it: successful production deployments per week,
 * averaged over the month (the month's count over its days / 7, so 31 deployments in March are 7 a
 * week): one unit per scope and month, whose numerator is the month's deployments and denominator its
 * weeks. Computed per month for the org mapping's scopes, 0 for a scope that did not deploy. A month
 * still running at the run's instant counts its deployments so far over the days it has begun by then
 * (its `period_at`; on 20 March, 20 days), so its rate is comparable with a whole month's. The
 * benchmarks' deployment frequency tiers are read from this value.
 */
export const deploymentsPerWeek: MetricDefinition = {
  id: 'deployments_per_week',
  version: 2,
  title: 'Deployments per week, averaged over the month',
  item: 1,
  unit: 'per_week',
  better: 'higher',
  aggregate: { kind: 'ratio' },
  periods: ['month'],
  scoped: true,
  benchmark: 'deployment_frequency',
  units: `
SELECT toDateTime64(g.month, 3, {tz:String}) AS at, g.sk AS scope_kind, g.sid AS scope_id, '' AS program, '' AS team,
       toFloat64(d.deployments) AS num, g.days / 7.0 AS den, ${NO_VALUE} AS value,
       concat('month of ', toString(g.month)) AS item,
       concat(toString(d.deployments), ' successful production deployment(s) over ', toString(g.days), ' days (', toString(round(den, 4)), ' weeks)',
              if(g.days < g.month_days, concat(': the days of the ', toString(g.month_days), ' begun by ', toString(g.period_at)), ''),
              '; deployment_frequency lists them') AS detail
FROM
(
    -- the days of the month begun by its instant: all of them once it has ended
    SELECT sc.1 AS sk, sc.2 AS sid, p.period_start AS month, p.period_at AS period_at,
           dateDiff('day', p.period_start, addMonths(p.period_start, 1)) AS month_days,
           dateDiff('day', p.period_start, toDate(subtractMilliseconds(p.period_at, 1), {tz:String})) + 1 AS days
    FROM __PERIODS__ AS p
    ARRAY JOIN arrayZip({scope_kinds:Array(String)}, {scope_ids:Array(String)}) AS sc
    WHERE days > 0
) AS g
LEFT JOIN
(
    SELECT s.1 AS sk, s.2 AS sid, toStartOfMonth(toTimeZone(assumeNotNull(f.finished_at), {tz:String})) AS month, count() AS deployments
    FROM ${SUCCESSFUL_SINCE} AS f
    ARRAY JOIN [('org', 'org'), ('program', f.program), ('team', f.team), ('service', f.service), ('repo', f.repo)] AS s
    WHERE s.2 != ''
    GROUP BY sk, sid, month
) AS d ON d.sk = g.sk AND d.sid = g.sid AND d.month = g.month
SETTINGS join_use_nulls = 0`,
};

/**
 * Changes: pull requests merged and deployed (first commit = their earliest authored commit, or the PR's
 * creation when the list is unknown), and direct pushes (shipped commits in no pull request). Each is
 * deployed by the first successful production deployment that shipped its merge commit (or itself);
 * changes from before a history's first deployment are shipped by none and are not counted.
 */
function changes(value: string, prOnly = false): string {
  return `
WITH shipped AS
(
    SELECT dc.repo AS repo, dc.sha AS sha,
           min(assumeNotNull(f.finished_at)) AS deployed_at,
           argMin(f.deployment_id, assumeNotNull(f.finished_at)) AS deployment_id,
           argMin(f.service, assumeNotNull(f.finished_at)) AS service
    FROM deployment_commits AS dc FINAL
    INNER JOIN ${SUCCESSFUL} AS f ON dc.deployment_source = f.source AND dc.deployment_id = f.deployment_id
    WHERE dc.method != 'none'
      -- only a commit a deployment finished since {since} shipped can be first deployed then
      AND (dc.repo, dc.sha) IN
          (
              SELECT repo, sha FROM deployment_commits FINAL
              WHERE method != 'none' AND (deployment_source, deployment_id) IN (SELECT source, deployment_id FROM ${SUCCESSFUL_SINCE})
          )
    GROUP BY dc.repo, dc.sha
    -- a change is dated by its first deployment: one first deployed before the range gives no unit of it
    HAVING deployed_at >= {since:DateTime64(3)}
),
-- the merged pull requests whose merge commit is a change of the range
merged AS
(
    SELECT * FROM pull_requests FINAL
    WHERE state = 'merged' AND merge_commit_sha != '' AND merged_at IS NOT NULL AND (repo, merge_commit_sha) IN (SELECT repo, sha FROM shipped)
)
SELECT c.deployed_at AS at, c.program, c.team, c.service, c.repo, 1.0 AS num, 0.0 AS den, ${value} AS value, c.item, c.detail
FROM
(
    SELECT s.deployed_at AS deployed_at, p.program AS program, p.team AS team, s.service AS service, p.repo AS repo,
           if(length(l.authored_at) > 0, least(arrayMin(l.authored_at), p.created_at), p.created_at) AS first_commit,
           p.created_at AS opened, r.first_review AS first_review, assumeNotNull(p.merged_at) AS merged,
           concat(p.repo, '#', toString(p.number), ' "', p.title, '"') AS item,
           concat('merged ', toString(p.merged_at), ' as ', p.merge_commit_sha, ', deployed by ', s.deployment_id, ' at ', toString(s.deployed_at)) AS detail
    FROM merged AS p
    INNER JOIN shipped AS s ON s.repo = p.repo AND s.sha = p.merge_commit_sha
    LEFT JOIN
    (
        SELECT source, repo, number, authored_at FROM pull_request_commits FINAL
        WHERE (source, repo, number) IN (SELECT source, repo, number FROM merged)
    ) AS l
      ON l.source = p.source AND l.repo = p.repo AND l.number = p.number
    LEFT JOIN
    (
        -- the first review by someone other than the author, before the merge
        SELECT rv.source AS source, rv.repo AS repo, rv.number AS number, toNullable(min(rv.submitted_at)) AS first_review
        FROM (SELECT * FROM reviews FINAL WHERE (source, repo, number) IN (SELECT source, repo, number FROM merged)) AS rv
        INNER JOIN (SELECT source, repo, number, author, merged_at FROM merged) AS pr
          ON pr.source = rv.source AND pr.repo = rv.repo AND pr.number = rv.number
        WHERE (rv.reviewer = '' OR rv.reviewer != pr.author) AND (pr.merged_at IS NULL OR rv.submitted_at <= pr.merged_at)
        GROUP BY rv.source, rv.repo, rv.number
    ) AS r ON r.source = p.source AND r.repo = p.repo AND r.number = p.number
    ${
      prOnly
        ? ''
        : `UNION ALL
    SELECT s.deployed_at, c.program, c.team, s.service, c.repo, c.authored_at, CAST(NULL AS Nullable(DateTime64(3, 'UTC'))),
           CAST(NULL AS Nullable(DateTime64(3, 'UTC'))), c.committed_at,
           concat(c.repo, '@', substring(c.sha, 1, 12)), concat('pushed, deployed by ', s.deployment_id, ' at ', toString(s.deployed_at))
    FROM (SELECT * FROM commits FINAL WHERE (repo, sha) IN (SELECT repo, sha FROM shipped)) AS c
    INNER JOIN shipped AS s ON s.repo = c.repo AND s.sha = c.sha
    WHERE (c.source, c.repo, c.sha) NOT IN (SELECT source, repo, sha FROM commit_pull_requests FINAL)`
    }
) AS c
SETTINGS join_use_nulls = 1`;
}

const hours = (from: string, to: string): string => `greatest(0, dateDiff('millisecond', ${from}, ${to}) / 3600000.0)`;

function leadTime(q: number): MetricDefinition {
  return {
    id: `change_lead_time_p${Math.round(q * 100)}`,
    ...(q === 0.5 ? { benchmark: 'change_lead_time_p50' as const } : {}),
    version: 1,
    title: `Change lead time, p${Math.round(q * 100)} (first commit to production)`,
    item: 2,
    unit: 'hours',
    better: 'lower',
    aggregate: { kind: 'quantile', q },
    units: changes(hours('c.first_commit', 'c.deployed_at')),
  };
}

function leadTimeStage(id: string, title: string, from: string, to: string): MetricDefinition {
  return {
    id: `lead_time_${id}_p50`,
    version: 1,
    title: `Lead time breakdown: ${title}, p50`,
    item: 2,
    unit: 'hours',
    better: 'lower',
    aggregate: { kind: 'quantile', q: 0.5 },
    units: changes(`if(${from} IS NULL OR ${to} IS NULL, ${NO_VALUE}, ${hours(`assumeNotNull(${from})`, `assumeNotNull(${to})`)})`, true),
  };
}

export const changeFailureRate: MetricDefinition = {
  id: 'change_failure_rate',
  benchmark: 'change_failure_rate',
  version: 3,
  title: 'Change failure rate (failed / successful production deployments)',
  item: 3,
  unit: 'ratio',
  better: 'lower',
  aggregate: { kind: 'ratio' },
  units: `
SELECT assumeNotNull(finished_at) AS at, program, team, service, repo, if(failed, 1.0, 0.0) AS num, 1.0 AS den, ${NO_VALUE} AS value,
       item, if(failed, concat('failed: ', why), why) AS detail
FROM (${withFailure(SUCCESSFUL_SINCE)})
SETTINGS join_use_nulls = 0`,
};

/**
 * For each failed deployment, from its finish to recovery: its last linked incident resolved, or the next
 * successful production deployment of its service and environment that did not fail, whichever is earlier.
 * Both as known at the run's instant: a deployment that had failed then and recovered later has no value.
 */
export const recoveryTime: MetricDefinition = {
  id: 'failed_deployment_recovery_time_p50',
  benchmark: 'failed_deployment_recovery_time_p50',
  version: 3,
  title: 'Failed deployment recovery time, p50',
  item: 4,
  unit: 'hours',
  better: 'lower',
  aggregate: { kind: 'quantile', q: 0.5 },
  units: `
SELECT assumeNotNull(w.finished_at) AS at, w.program, w.team, w.service, w.repo, 1.0 AS num, 0.0 AS den,
       if(recovered IS NULL, ${NO_VALUE}, ${hours('assumeNotNull(w.finished_at)', 'assumeNotNull(recovered)')}) AS value,
       w.item,
       concat(w.why, '; recovered ',
              if(recovered IS NULL, 'not yet',
                 concat(toString(recovered),
                        if(n.deployment_id != '' AND (w.incidents_resolved IS NULL OR n.finished_at < w.incidents_resolved),
                           concat(' by deployment ', n.deployment_id), ' when the last incident was resolved')))) AS detail,
       multiIf(w.incidents_resolved IS NULL AND n.deployment_id = '', NULL,
               w.incidents_resolved IS NULL, toNullable(n.finished_at),
               n.deployment_id = '', w.incidents_resolved,
               least(assumeNotNull(w.incidents_resolved), n.finished_at)) AS recovered
FROM (SELECT * FROM (${withFailure(SUCCESSFUL_SINCE)}) WHERE failed) AS w
ASOF LEFT JOIN
(
    SELECT source, service, environment, deployment_id, assumeNotNull(finished_at) AS finished_at
    FROM (${withFailure(SUCCESSFUL_SINCE)})
    WHERE NOT failed
) AS n ON n.source = w.source AND n.service = w.service AND n.environment = w.environment AND n.finished_at > assumeNotNull(w.finished_at)
SETTINGS join_use_nulls = 0`,
};

export const reworkRate: MetricDefinition = {
  id: 'deployment_rework_rate',
  version: 1,
  title: 'Deployment rework rate (hotfix deployments / production deployments)',
  item: 5,
  unit: 'ratio',
  better: 'lower',
  aggregate: { kind: 'ratio' },
  units: `
SELECT assumeNotNull(f.finished_at) AS at, f.program, f.team, f.service, f.repo, toFloat64(f.is_hotfix) AS num, 1.0 AS den, ${NO_VALUE} AS value,
       concat(f.source, ' deployment ', f.deployment_id, ' of ', f.service) AS item,
       if(f.is_hotfix = 1, concat('hotfix (', f.hotfix_rule, ') for ', if(f.hotfix_for = '', 'no known deployment', f.hotfix_for)), 'planned') AS detail
FROM ${SUCCESSFUL_SINCE} AS f`,
};

/** Production incidents by when they started, on their service, team and program (a leading indicator for risk signals). */
export const incidentCount: MetricDefinition = {
  id: 'incident_count',
  version: 1,
  title: 'Incidents started',
  item: 20,
  unit: 'count',
  better: 'lower',
  aggregate: { kind: 'count' },
  units: `
SELECT i.created_at AS at, i.program, i.team, i.service, '' AS repo, 1.0 AS num, 0.0 AS den, ${NO_VALUE} AS value,
       concat('incident #', if(i.number != '', i.number, i.incident_id), ' "', i.title, '"') AS item,
       concat(i.severity, ' ', i.urgency, ': ', i.title, if(i.resolved_at IS NULL, ' (open)', concat(' (resolved ', toString(i.resolved_at), ')'))) AS detail
FROM (SELECT * FROM incident_facts FINAL WHERE created_at >= {since:DateTime64(3)}) AS i`,
};

export const DORA_METRICS: MetricDefinition[] = [
  deploymentFrequency,
  deploymentDays,
  deploymentDaysMedian,
  deploymentsPerWeek,
  leadTime(0.5),
  leadTime(0.75),
  leadTime(0.9),
  leadTimeStage('coding', 'first commit to pull request opened', 'c.first_commit', 'c.opened'),
  leadTimeStage('pickup', 'pull request opened to first review', 'c.opened', 'c.first_review'),
  leadTimeStage('review', 'first review to merge', 'c.first_review', 'c.merged'),
  leadTimeStage('deploy', 'merge to production', 'c.merged', 'c.deployed_at'),
  changeFailureRate,
  recoveryTime,
  reworkRate,
  incidentCount,
];
