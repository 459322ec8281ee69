import type { MetricDefinition } from '../types.js';

/**
 * Quality, items 7-9 of docs/metrics.md: defect escape rate, post-launch incidents and CI health.
 *
 * The scope kinds are fixed (org, program, team, service, repo): a release and a CI pipeline are not
 * scopes of their own. Per-release defect escapes and per-pipeline CI health are read through
 * `metrics explain`, whose items name the release (fix and affected versions) or the pipeline.
 */

const NO_VALUE = 'CAST(NULL AS Nullable(Float64))';

// ---------------------------------------------------------------------------------------------
// 7. Defect escape rate

/**
 * Bugs found in production / all bugs found, each bug in the period it was created (found), per team
 * and program (bugs have no service or repository). "Found in production" is the linker's rule per bug
 * (work_item_production: a production found-in field or environment, a production label, or a link
 * with an incident). Choices:
 * - a bug the linker has not classified yet (created since its last run) counts as not found in
 *   production (its unmatched found_in_production is 0), as the linker's own `no_match` would: no rule
 *   has matched it yet;
 * - a bug resolved as a duplicate is not a bug found: it would count one defect twice;
 * - per release, the detail names the bug's affected versions (the release it escaped from) and fix
 *   versions, so a release's escapes can be read from `explain`.
 */
export const defectEscapeRate: MetricDefinition = {
  id: 'defect_escape_rate',
  version: 1,
  title: 'Defect escape rate (bugs found in production / bugs found)',
  item: 7,
  unit: 'ratio',
  better: 'lower',
  aggregate: { kind: 'ratio' },
  units: `
SELECT w.created_at AS at, w.program AS program, w.team AS team, '' AS service, '' AS repo,
       toFloat64(p.found_in_production) AS num, 1.0 AS den, ${NO_VALUE} AS value,
       concat(w.key, ' "', w.summary, '"') AS item,
       concat(
         multiIf(p.classified = 0, 'not classified yet: counted as not found in production',
                 p.found_in_production = 1,
                 concat('found in production by ', p.rule, ' (', p.method, '): ', p.evidence,
                        if(p.incident_id != '', concat('; incident ', p.incident_source, ' ', p.incident_id), '')),
                 concat('not found in production (', p.rule, '): ', p.evidence)),
         '; affects versions: ', if(empty(w.affects_versions), 'none', arrayStringConcat(w.affects_versions, ', ')),
         '; fix versions: ', if(empty(w.fix_versions), 'none', arrayStringConcat(w.fix_versions, ', '))
       ) AS detail
FROM (SELECT * FROM work_items FINAL WHERE kind = 'bug' AND lower(resolution) != 'duplicate' AND created_at >= {since:DateTime64(3)}) AS w
LEFT JOIN
(
    SELECT source AS source, item_id AS item_id, found_in_production AS found_in_production, method AS method, rule AS rule,
           evidence AS evidence, incident_source AS incident_source, incident_id AS incident_id, toUInt8(1) AS classified
    FROM work_item_production FINAL
) AS p ON p.source = w.source AND p.item_id = w.item_id
SETTINGS join_use_nulls = 0`,
};

// ---------------------------------------------------------------------------------------------
// 8. Post-launch incidents

/**
 * Releases: GitHub releases when published (not drafts or pre-releases), and Jira versions when released
 * (state done, or archived after its release: completed_at is set only for a released version; Jira
 * gives a release date, so a version is released at the start of that day, UTC). Each release covers
 * what it names most precisely: its service (GitHub releases of a repository mapped to a service), else
 * its team's services (Jira versions of a project the org mapping gives to a team; GitHub releases of a
 * repository owned by a team), else its program's services. A release with no owner covers nothing.
 */
const RELEASES = `
SELECT concat('github release ', r.repo, ' ', r.tag, ' (', r.release_id, ')') AS release, assumeNotNull(r.published_at) AS released_at,
       r.repo AS repo, r.service AS service, r.team AS team, r.program AS program
FROM releases AS r FINAL
WHERE r.is_draft = 0 AND r.is_prerelease = 0 AND r.published_at IS NOT NULL
UNION ALL
SELECT concat('jira version ', m.name, ' (', m.milestone_id, ')'), assumeNotNull(m.completed_at), '', '', m.team, m.program
FROM milestones AS m FINAL
WHERE m.kind = 'version' AND m.state IN ('done', 'archived') AND m.completed_at IS NOT NULL`;

/** A severity's configured weight (names compared case-insensitively); one with no weight takes the weight of '' (none), else 1. */
const SEVERITY_WEIGHT = `
multiIf(indexOf(arrayMap(x -> lower(x), {severity_names:Array(String)}), lower(severity)) > 0,
        arrayElement({severity_weights:Array(Float64)}, indexOf(arrayMap(x -> lower(x), {severity_names:Array(String)}), lower(severity))),
        indexOf({severity_names:Array(String)}, '') > 0,
        arrayElement({severity_weights:Array(Float64)}, indexOf({severity_names:Array(String)}, '')),
        1.0)`;

/**
 * Each incident (incident_facts: its earliest trigger, severity, service and owners) that started within
 * {post_launch_days} days after a release covering its service, counted once, in the period it started,
 * and attributed to the latest such release (two releases before one incident do not count it twice).
 * Its scopes are the incident's service, team and program (the release's team and program where the
 * incident has none), and the attributed release's repository.
 */
function postLaunchUnits(num: string): string {
  return `
WITH
rel AS
(
    SELECT release, released_at, repo, service, team, program,
           multiIf(service != '', 'service', team != '', 'team', 'program') AS match_on,
           multiIf(service != '', service, team != '', team, program) AS match_key
    FROM (${RELEASES})
    WHERE service != '' OR team != '' OR program != ''
),
inc AS
(
    SELECT i.source AS source, i.incident_id AS incident_id, i.number AS number, i.title AS title, i.severity AS severity,
           i.created_at AS created_at, i.service AS service, i.team AS team, i.program AS program, k.1 AS match_on, k.2 AS match_key
    FROM incident_facts AS i FINAL
    ARRAY JOIN [('service', i.service), ('team', i.team), ('program', i.program)] AS k
    WHERE k.2 != '' AND i.created_at >= {since:DateTime64(3)}
),
attributed AS
(
    SELECT inc.source AS source, inc.incident_id AS incident_id, any(inc.number) AS number, any(inc.title) AS title,
           any(inc.severity) AS severity, any(inc.created_at) AS created_at, any(inc.service) AS service,
           any(inc.team) AS team, any(inc.program) AS program,
           argMax(rel.release, (rel.released_at, rel.release)) AS release,
           argMax(rel.released_at, (rel.released_at, rel.release)) AS released_at,
           argMax(rel.repo, (rel.released_at, rel.release)) AS release_repo,
           argMax(rel.team, (rel.released_at, rel.release)) AS release_team,
           argMax(rel.program, (rel.released_at, rel.release)) AS release_program,
           argMax(concat(rel.match_on, ' ', rel.match_key), (rel.released_at, rel.release)) AS matched_on
    FROM inc
    INNER JOIN rel ON inc.match_on = rel.match_on AND inc.match_key = rel.match_key
    WHERE inc.created_at >= rel.released_at AND inc.created_at < rel.released_at + toIntervalDay({post_launch_days:UInt32})
    GROUP BY inc.source, inc.incident_id
)
SELECT created_at AS at, if(program != '', program, release_program) AS program, if(team != '', team, release_team) AS team,
       service AS service, release_repo AS repo, ${num} AS num, 0.0 AS den, ${NO_VALUE} AS value,
       concat('incident #', if(number != '', number, incident_id), ' "', title, '" on ', if(service != '', service, 'no service')) AS item,
       concat(if(severity != '', severity, 'no severity'), ', weight ', toString(${SEVERITY_WEIGHT}), '; started ',
              toString(round(dateDiff('second', released_at, created_at) / 86400.0, 2)), ' days after ', release,
              ' (', toString(released_at), '), matched on ', matched_on) AS detail
FROM attributed`;
}

export const postLaunchIncidents: MetricDefinition = {
  id: 'post_launch_incidents',
  version: 1,
  title: 'Post-launch incidents (within the post-launch window after a release)',
  item: 8,
  unit: 'count',
  better: 'lower',
  aggregate: { kind: 'count' },
  units: postLaunchUnits('1.0'),
};

export const postLaunchIncidentsWeighted: MetricDefinition = {
  id: 'post_launch_incidents_weighted',
  version: 1,
  title: 'Post-launch incidents weighted by severity',
  item: 8,
  unit: 'score',
  better: 'lower',
  aggregate: { kind: 'count' },
  units: postLaunchUnits(`toFloat64(${SEVERITY_WEIGHT})`),
};

// ---------------------------------------------------------------------------------------------
// 9. CI health

/**
 * Every pipeline run with its times completed from what else knows them. A CDEvents run keeps only its
 * latest step, so its queued, started and finished times come from lifecycle_events (and its row's
 * created_at is only a stand-in: the time of the step it was last seen at). A GitLab pipeline does not
 * say when it started: its first job's start does. A GitHub re-run keeps its run id, so a run is its
 * latest attempt.
 *   started: the run's start, else its lifecycle 'started' step, else its first job's start, else its
 *            lifecycle 'queued' step, else (not for CDEvents) its creation.
 * `runs` is a condition on pipeline_runs' own columns that narrows the runs read (and the lifecycle steps
 * and jobs looked up for them).
 */
function runsWhere(runs: string): string {
  return `
SELECT r.source AS source, r.run_id AS run_id, r.repo AS repo, r.pipeline AS pipeline, r.sha AS sha, r.attempt AS attempt,
       r.status AS status, r.result AS result, r.service AS service, r.team AS team, r.program AS program,
       coalesce(r.finished_at, l.finished) AS finished,
       coalesce(r.started_at, l.started, j.first_job_start, l.queued, if(r.source = 'cdevents', NULL, toNullable(r.created_at))) AS started,
       coalesce(r.finished_at, l.finished, toNullable(r.created_at)) AS seen_at
FROM (SELECT * FROM pipeline_runs FINAL WHERE ${runs}) AS r
LEFT JOIN
(
    SELECT source AS source, entity_id AS run_id,
           minIf(toNullable(at), step = 'queued') AS queued,
           minIf(toNullable(at), step = 'started') AS started,
           maxIf(toNullable(at), step = 'finished') AS finished
    FROM lifecycle_events FINAL
    WHERE entity = 'pipeline_run' AND (source, entity_id) IN (SELECT source, run_id FROM pipeline_runs WHERE ${runs})
    GROUP BY source, entity_id
) AS l ON l.source = r.source AND l.run_id = r.run_id
LEFT JOIN
(
    SELECT source AS source, run_id AS run_id, min(started_at) AS first_job_start
    FROM pipeline_jobs FINAL
    WHERE started_at IS NOT NULL AND (source, run_id) IN (SELECT source, run_id FROM pipeline_runs WHERE ${runs})
    GROUP BY source, run_id
) AS j ON j.source = r.source AND j.run_id = r.run_id`;
}

/**
 * The runs that can be dated at or after the range's first instant {since}: dated by their own finish
 * when they have one (else by a lifecycle step or their creation, so those are all kept).
 */
const RUNS_SINCE = runsWhere('finished_at IS NULL OR finished_at >= {since:DateTime64(3)}');

/**
 * Finished runs that passed or failed: cancelled and skipped runs say nothing about the pipeline's health.
 * Those that can be dated in the range (RUNS_SINCE): the units read them by their finish.
 */
const DECIDED_RUNS = `(SELECT * FROM (${RUNS_SINCE}) WHERE status = 'done' AND result IN ('success', 'failure') SETTINGS join_use_nulls = 1)`;

const RUN_ITEM = `concat(source, ' run ', run_id, ' of ', if(pipeline != '', pipeline, 'an unnamed pipeline'),
                         if(attempt > 1, concat(' (attempt ', toString(attempt), ')'), ''), if(sha != '', concat(' at ', substring(sha, 1, 12)), ''))`;

/** Done runs: success / (success + failure), in the period the run finished. */
export const ciSuccessRate: MetricDefinition = {
  id: 'ci_success_rate',
  version: 1,
  title: 'CI pipeline success rate (passed / passed or failed runs)',
  item: 9,
  unit: 'ratio',
  better: 'higher',
  aggregate: { kind: 'ratio' },
  units: `
SELECT assumeNotNull(seen_at) AS at, program, team, service, repo, if(result = 'success', 1.0, 0.0) AS num, 1.0 AS den, ${NO_VALUE} AS value,
       ${RUN_ITEM} AS item,
       concat(result, if(finished IS NULL, '', concat(' at ', toString(finished)))) AS detail
FROM ${DECIDED_RUNS}`,
};

/**
 * Duration of the passed and failed runs (the population of the success rate), from start (see runsWhere)
 * to finish, in hours, in the period the run finished. A run whose start or finish is unknown is left
 * out rather than measured as zero.
 */
function ciDuration(q: number): MetricDefinition {
  const p = Math.round(q * 100);
  return {
    id: `ci_duration_p${p}`,
    version: 1,
    title: `CI pipeline duration, p${p}`,
    item: 9,
    unit: 'hours',
    better: 'lower',
    aggregate: { kind: 'quantile', q },
    units: `
SELECT assumeNotNull(finished) AS at, program, team, service, repo, 1.0 AS num, 0.0 AS den,
       toNullable(greatest(0, dateDiff('millisecond', assumeNotNull(started), assumeNotNull(finished)) / 3600000.0)) AS value,
       ${RUN_ITEM} AS item,
       concat(result, ', started ', toString(assumeNotNull(started)), ', finished ', toString(assumeNotNull(finished))) AS detail
FROM ${DECIDED_RUNS}
WHERE started IS NOT NULL AND finished IS NOT NULL`,
  };
}

/**
 * Flaky rate: of the (pipeline, commit, job name) combinations that ran and passed or failed, the share
 * that both passed and failed (a retry, a re-run or a second run of the same commit gave the other
 * result). The denominator is every such combination, flaky or not, so the rate reads "of the jobs run
 * on a commit, how many could not be trusted". Executions are the jobs (a job takes its pipeline, and
 * its commit when it has none, from its run); a run with no jobs (a Jenkins build, a CDEvents run
 * without task runs) is its own single job, named by its pipeline. Cancelled and skipped executions do
 * not count; executions with no known commit or pipeline cannot be compared and are left out. A
 * combination is counted once, in the period its last execution finished, with its run's service,
 * repository and owners.
 */
/**
 * The commits (a superset) of the executions that can finish at or after {since}: a job finished then
 * or not finished (it takes its run's time), with its own commit or, when it has none, its run's; a run
 * finished then or not finished. A combination dated in the range has one of them; reading only the runs
 * of these commits (and all of their jobs) leaves every such combination whole.
 */
const FLAKY_SHAS_SINCE = `(
    SELECT sha FROM pipeline_jobs WHERE sha != '' AND (finished_at IS NULL OR finished_at >= {since:DateTime64(3)})
    UNION ALL
    SELECT sha FROM pipeline_runs WHERE finished_at IS NULL OR finished_at >= {since:DateTime64(3)}
    UNION ALL
    SELECT sha FROM pipeline_runs
    WHERE (source, run_id) IN (SELECT source, run_id FROM pipeline_jobs WHERE sha = '' AND (finished_at IS NULL OR finished_at >= {since:DateTime64(3)}))
)`;

/** The runs whose executions can have one of FLAKY_SHAS_SINCE's commits: their own, or a job's. */
const FLAKY_RUNS_SINCE = `sha IN ${FLAKY_SHAS_SINCE} OR (source, run_id) IN (SELECT source, run_id FROM pipeline_jobs WHERE sha IN ${FLAKY_SHAS_SINCE})`;

export const ciFlakyRate: MetricDefinition = {
  id: 'ci_flaky_rate',
  version: 1,
  title: 'CI flaky rate (job and commit both passed and failed / jobs run per commit)',
  item: 9,
  unit: 'ratio',
  better: 'lower',
  aggregate: { kind: 'ratio' },
  units: `
WITH
runs AS (${runsWhere(FLAKY_RUNS_SINCE)}),
executions AS
(
    SELECT j.source AS source, r.pipeline AS pipeline, if(j.sha != '', j.sha, r.sha) AS sha, j.name AS name, j.result AS result,
           coalesce(j.finished_at, r.seen_at) AS finished_at, concat('job ', j.job_id, ' of run ', j.run_id) AS execution,
           r.repo AS repo, r.service AS service, r.team AS team, r.program AS program
    FROM (SELECT * FROM pipeline_jobs FINAL
          WHERE status = 'done' AND result IN ('success', 'failure')
            AND (source, run_id) IN (SELECT source, run_id FROM pipeline_runs WHERE ${FLAKY_RUNS_SINCE})) AS j
    INNER JOIN runs AS r ON r.source = j.source AND r.run_id = j.run_id
    UNION ALL
    SELECT r.source, r.pipeline, r.sha, r.pipeline, r.result, r.seen_at, concat('run ', r.run_id), r.repo, r.service, r.team, r.program
    FROM runs AS r
    WHERE r.status = 'done' AND r.result IN ('success', 'failure')
      AND (r.source, r.run_id) NOT IN (SELECT source, run_id FROM pipeline_jobs FINAL)
)
SELECT assumeNotNull(max(finished_at)) AS at, argMax(program, finished_at) AS program, argMax(team, finished_at) AS team,
       argMax(service, finished_at) AS service, argMax(repo, finished_at) AS repo,
       if(countIf(result = 'success') > 0 AND countIf(result = 'failure') > 0, 1.0, 0.0) AS num, 1.0 AS den, ${NO_VALUE} AS value,
       concat(source, ' ', pipeline, ' job "', name, '" at ', substring(sha, 1, 12)) AS item,
       concat(if(countIf(result = 'success') > 0 AND countIf(result = 'failure') > 0, 'flaky: ', 'stable: '),
              toString(countIf(result = 'success')), ' passed, ', toString(countIf(result = 'failure')), ' failed (',
              arrayStringConcat(arraySort(groupArray(concat(execution, ' ', result))), '; '), ')') AS detail
FROM executions
WHERE sha != '' AND pipeline != '' AND finished_at IS NOT NULL
GROUP BY source, pipeline, sha, name
SETTINGS join_use_nulls = 1`,
};

export const QUALITY_METRICS: MetricDefinition[] = [
  defectEscapeRate,
  postLaunchIncidents,
  postLaunchIncidentsWeighted,
  ciSuccessRate,
  ciDuration(0.5),
  ciDuration(0.9),
  ciFlakyRate,
];
