import { systemClock, type Clock } from '../../infra/clock.js';
import type { ModelConfig } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import type { Logger } from '../../infra/observability/logger.js';
import { classifyBugs } from './bugs.js';
import { resolveHistory, resolveOutcome, historyKey, type ResolvedDeployment } from './deployments.js';
import { CommitGraph } from './graph.js';
import { syncTable } from './sync-table.js';
import { DeploymentIndex, linkHotfixes, linkIncidents } from './incidents.js';
import {
  loadBugs,
  loadCommitGraph,
  loadCommitPullRequests,
  loadDeployments,
  loadDeploymentStatuses,
  loadIncidents,
  loadMergedPullRequests,
  type Deployment,
  type DeploymentStatus,
  type PullRequest,
} from './inputs.js';

export interface LinkOptions {
  store: Store;
  model: ModelConfig;
  logger?: Logger | undefined;
  /** The run's instant: the version and linked_at of every row it writes (default: the clock's now). */
  now?: Date;
  /** Where "now" comes from when `now` is not given (default: the wall clock). */
  clock?: Clock;
}

export interface LinkResult {
  deployments: number;
  deploymentCommits: number;
  commitPullRequests: number;
  incidentDeployments: number;
  hotfixes: number;
  bugs: number;
  /** Link rows written because they are new or changed (the SQL-built tables not counted). */
  written: number;
  /** Rows of earlier runs that no longer hold, marked deleted. */
  retracted: number;
  ms: number;
  /** Milliseconds per phase: commit_prs and incident_facts (SQL), load, deployments (graphs and walks), rules, write, retract. */
  phases: Record<string, number>;
}

/** Tables the linker recomputes whole in SQL on every run. */
const SQL_TABLES = ['commit_pull_requests', 'incident_facts'] as const;

export const LINK_TABLES = [
  ...SQL_TABLES,
  'deployment_facts',
  'deployment_commits',
  'incident_deployments',
  'deployment_incident_fixes',
  'work_item_production',
] as const;

/**
 * Recomputes every link from the domain tables: commits to pull requests, deployments to their outcome
 * and the commits they shipped, incidents to deployments, hotfixes to incidents, bugs to production.
 * Each run writes all current links with its own version, then marks deleted whatever an earlier run
 * wrote that this one did not: the tables always equal what the rules give for the facts at hand, and
 * re-running changes nothing but the version.
 */
export async function link(options: LinkOptions): Promise<LinkResult> {
  const { store, model } = options;
  // Durations are measured on the monotonic timer; the run's instant comes from the clock.
  const started = performance.now();
  const now = options.now ?? (options.clock ?? systemClock).date();
  const version = now.getTime() * 1000;
  const linkedAt = now.toISOString();
  const stamp = { linked_at: linkedAt, version };
  const params = { v: version, at: now.getTime() / 1000 };
  const phases: Record<string, number> = {};
  let mark = performance.now();
  const phase = (name: string): void => {
    const t = performance.now();
    phases[name] = Math.round(t - mark);
    mark = t;
  };

  await store.client.command({ query: COMMIT_PULL_REQUESTS_SQL, query_params: params });
  phase('commit_prs');
  await store.client.command({ query: INCIDENT_FACTS_SQL, query_params: params });
  phase('incident_facts');

  const [deployments, statuses, incidents, prList, commitPrs, bugs] = await Promise.all([
    loadDeployments(store),
    loadDeploymentStatuses(store),
    loadIncidents(store),
    loadMergedPullRequests(store),
    loadCommitPullRequests(store),
    loadBugs(store),
  ]);
  phase('load');

  const resolved = await resolveDeployments(store, deployments, statuses);
  phase('deployments');
  const prs = new Map(prList.map((p) => [`${p.repo}#${p.number}`, p]));
  const prsOfCommit = new Map<string, PullRequest[]>();
  for (const c of commitPrs) {
    const pr = prs.get(`${c.repo}#${c.number}`);
    if (pr === undefined || pr.source !== c.source) continue;
    const key = `${c.repo}@${c.sha}`;
    const list = prsOfCommit.get(key);
    if (list === undefined) prsOfCommit.set(key, [pr]);
    else if (!list.includes(pr)) list.push(pr);
  }
  const shippedPrs = (d: ResolvedDeployment): PullRequest[] => {
    const out = new Set<PullRequest>();
    for (const sha of [d.sha, ...d.commits.map((c) => c.sha)]) for (const p of prsOfCommit.get(`${d.repo}@${sha}`) ?? []) out.add(p);
    return [...out];
  };

  const index = new DeploymentIndex(resolved);
  const incidentLinks = linkIncidents(incidents, index, prs, model);
  const hotfixes = linkHotfixes(resolved, incidents, incidentLinks, shippedPrs, model);
  const hotfixOf = new Map(hotfixes.map((h) => [`${h.deployment.source}/${h.deployment.deployment_id}`, h]));
  const findings = classifyBugs(bugs, incidents, model);
  phase('rules');

  const facts = resolved.map((d) => {
    const h = hotfixOf.get(`${d.source}/${d.deployment_id}`);
    return {
      source: d.source,
      deployment_id: d.deployment_id,
      repo: d.repo,
      service: d.service,
      environment: d.environment,
      is_production: d.is_production,
      sha: d.sha,
      ref: d.ref,
      result: d.result,
      raw_result: d.raw_result,
      created_at: new Date(d.created_ms).toISOString(),
      started_at: new Date(d.started_ms).toISOString(),
      finished_at: d.finished_ms === null ? null : new Date(d.finished_ms).toISOString(),
      previous_deployment_id: d.previous_deployment_id,
      is_rollback: d.is_rollback,
      rolled_back_by: d.rolled_back_by,
      is_hotfix: h !== undefined ? 1 : 0,
      hotfix_rule: h?.rule ?? '',
      hotfix_for: h?.fixes ?? '',
      commit_count: d.commits.filter((c) => c.method !== 'none').length,
      team: d.team,
      program: d.program,
      raw_event_id: d.raw_event_id,
      ...stamp,
    };
  });
  const deploymentCommits = resolved.flatMap((d) =>
    d.commits.map((c) => ({
      deployment_source: d.source,
      deployment_id: d.deployment_id,
      repo: d.repo,
      sha: c.sha,
      service: d.service,
      environment: d.environment,
      method: c.method,
      rule: c.rule,
      previous_deployment_id: d.previous_deployment_id,
      ...stamp,
    })),
  );
  const incidentRows = incidentLinks.map((l) => ({
    incident_source: l.incident.source,
    incident_id: l.incident.incident_id,
    deployment_source: l.deployment?.source ?? '',
    deployment_id: l.deployment?.deployment_id ?? '',
    service: l.incident.service,
    method: l.method,
    rule: l.rule,
    evidence: l.evidence,
    ...stamp,
  }));
  const hotfixRows = hotfixes.map((h) => ({
    deployment_source: h.deployment.source,
    deployment_id: h.deployment.deployment_id,
    incident_source: h.incident?.source ?? '',
    incident_id: h.incident?.incident_id ?? '',
    service: h.deployment.service,
    method: h.method,
    rule: h.rule,
    evidence: h.evidence,
    ...stamp,
  }));
  const bugRows = findings.map((f) => ({
    source: f.bug.source,
    item_id: f.bug.item_id,
    found_in_production: f.found_in_production,
    method: f.method,
    rule: f.rule,
    evidence: f.evidence,
    incident_source: f.incident?.source ?? '',
    incident_id: f.incident?.incident_id ?? '',
    ...stamp,
  }));

  let written = 0;
  let retracted = 0;
  const sync = async (table: string, keys: string[], rows: Array<Record<string, unknown>>): Promise<void> => {
    const r = await syncTable(store, table, keys, rows, stamp);
    written += r.written;
    retracted += r.retracted;
  };
  await sync('deployment_facts', ['source', 'deployment_id'], facts);
  await sync('deployment_commits', ['deployment_source', 'deployment_id', 'sha'], deploymentCommits);
  await sync('incident_deployments', ['incident_source', 'incident_id', 'deployment_source', 'deployment_id'], incidentRows);
  await sync('deployment_incident_fixes', ['deployment_source', 'deployment_id', 'incident_source', 'incident_id'], hotfixRows);
  await sync('work_item_production', ['source', 'item_id'], bugRows);
  phase('write');

  // The tables written in SQL above were rewritten whole: what this run did not write again is gone.
  for (const table of SQL_TABLES) retracted += await retract(store, table, params);
  const commitPullRequests = await count(store, 'commit_pull_requests');
  phase('retract');

  const result: LinkResult = {
    deployments: facts.length,
    deploymentCommits: deploymentCommits.filter((c) => c.method !== 'none').length,
    commitPullRequests,
    incidentDeployments: incidentRows.filter((r) => r.method !== 'none').length,
    hotfixes: hotfixRows.length,
    bugs: bugRows.length,
    written,
    retracted,
    ms: Math.round(performance.now() - started),
    phases,
  };
  options.logger?.info(result, 'links recomputed');
  return result;
}

/** Outcomes from the statuses, then each service history in order, with the commit graph of each repository loaded once. */
async function resolveDeployments(store: Store, deployments: Deployment[], statuses: DeploymentStatus[]): Promise<ResolvedDeployment[]> {
  const statusesOf = new Map<string, DeploymentStatus[]>();
  for (const s of statuses) {
    const key = `${s.source}/${s.deployment_id}`;
    const list = statusesOf.get(key);
    if (list === undefined) statusesOf.set(key, [s]);
    else list.push(s);
  }
  const histories = new Map<string, Array<Deployment & ReturnType<typeof resolveOutcome>>>();
  for (const d of deployments) {
    const withOutcome = { ...d, ...resolveOutcome(d, statusesOf.get(`${d.source}/${d.deployment_id}`) ?? []) };
    const key = historyKey(d);
    const list = histories.get(key);
    if (list === undefined) histories.set(key, [withOutcome]);
    else list.push(withOutcome);
  }
  // Deployments from CI tools may name a repository from another source's key space; graphs are per (source, repo).
  const graphs = new Map<string, CommitGraph | undefined>();
  const repos = new Set(deployments.filter((d) => d.repo !== '').map((d) => `${d.source}\u0000${d.repo}`));
  for (const key of repos) {
    const [source, repo] = key.split('\u0000') as [string, string];
    const commits = await loadCommitGraph(store, source, repo);
    graphs.set(key, commits.length > 0 ? new CommitGraph(commits) : undefined);
  }
  const out: ResolvedDeployment[] = [];
  for (const list of histories.values()) out.push(...resolveHistory(list, (d) => graphs.get(`${d.source}\u0000${d.repo}`)));
  return out;
}

/**
 * Marks deleted every live row an earlier run wrote and this run did not write again. The filter sits
 * in a subquery: beside `REPLACE (... AS version)` a WHERE on version would read the replacement.
 */
async function retract(store: Store, table: string, params: { v: number; at: number }): Promise<number> {
  const stale = await count(store, table, 'version < {v:UInt64}', params);
  if (stale === 0) return 0;
  await store.client.command({
    query: `INSERT INTO ${table}
            SELECT * REPLACE ({v:UInt64} AS version, 1 AS is_deleted, toDateTime64({at:Float64}, 3, 'UTC') AS linked_at)
            FROM (SELECT * FROM ${table} FINAL WHERE version < {v:UInt64})`,
    query_params: params,
  });
  return stale;
}

async function count(store: Store, table: string, where = '1', params: Record<string, unknown> = {}): Promise<number> {
  const rs = await store.client.query({
    query: `SELECT count() AS n FROM ${table} FINAL WHERE ${where}`,
    query_params: params,
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ n: string }>();
  return Number(row?.n ?? 0);
}

/**
 * Commits to pull requests, in SQL. A commit in a PR's list, or its merge commit (merge and squash
 * merges), is explicit; a commit with the fingerprint of one of a merged PR's commits (a rebase merge
 * rewrote it) is inferred. Where several rules give the same pair, the strongest is kept.
 */
const COMMIT_PULL_REQUESTS_SQL = `
INSERT INTO commit_pull_requests (source, repo, sha, number, method, rule, evidence, linked_at, version, is_deleted)
SELECT source, repo, sha, number,
       argMin(method, priority), argMin(rule, priority), argMin(evidence, priority),
       toDateTime64({at:Float64}, 3, 'UTC'), {v:UInt64}, 0
FROM
(
    SELECT source, repo, sha, number, 'explicit' AS method, 'pr_commit' AS rule,
           concat('in the commit list of #', toString(number)) AS evidence, 1 AS priority
    FROM pull_request_commits FINAL ARRAY JOIN shas AS sha
    UNION ALL
    SELECT source, repo, merge_commit_sha AS sha, number, 'explicit', 'merge_commit',
           concat('merge commit of #', toString(number)), 2
    FROM pull_requests FINAL WHERE state = 'merged' AND merge_commit_sha != ''
    UNION ALL
    SELECT c.source, c.repo, c.sha, p.number, 'inferred', 'fingerprint',
           concat('same authored time and message as ', p.pr_sha, ' of #', toString(p.number)), 3
    FROM (SELECT source, repo, sha, fingerprint FROM commits FINAL WHERE fingerprint != '') AS c
    INNER JOIN
    (
        SELECT source, repo, number, fp, pr_sha
        FROM (SELECT source, repo, number, shas, fingerprints FROM pull_request_commits FINAL)
        ARRAY JOIN fingerprints AS fp, shas AS pr_sha
        WHERE (source, repo, number) IN (SELECT source, repo, number FROM pull_requests FINAL WHERE state = 'merged')
    ) AS p ON c.source = p.source AND c.repo = p.repo AND c.fingerprint = p.fp
    WHERE c.sha != p.pr_sha
)
GROUP BY source, repo, sha, number`;

/**
 * Incidents with their times from every place that knows them: the latest version of the incident, its
 * timeline (PagerDuty log entries: trigger, acknowledge, resolve) and its lifecycle events (CDEvents:
 * detected, reported, resolved). A webhook version of an incident may not carry its first
 * acknowledgement, and a CDEvents resolution does not repeat the detection: the timeline does.
 */
const INCIDENT_FACTS_SQL = `
INSERT INTO incident_facts (source, incident_id, number, title, service, urgency, severity, status, created_at,
                            acknowledged_at, resolved_at, team, program, raw_event_id, linked_at, version, is_deleted)
SELECT i.source, i.incident_id, i.number, i.title, i.service, i.urgency, i.severity, i.status,
       if(t.first_trigger IS NULL, i.created_at, least(i.created_at, assumeNotNull(t.first_trigger))),
       multiIf(t.first_ack IS NULL, i.acknowledged_at, i.acknowledged_at IS NULL, t.first_ack, least(assumeNotNull(i.acknowledged_at), assumeNotNull(t.first_ack))),
       if(i.status = 'resolved', coalesce(i.resolved_at, t.last_resolve), NULL),
       i.team, i.program, i.raw_event_id, toDateTime64({at:Float64}, 3, 'UTC'), {v:UInt64}, 0
FROM incidents AS i FINAL
LEFT JOIN
(
    SELECT source, incident_id,
           minIf(toNullable(at), kind = 'trigger') AS first_trigger,
           minIf(toNullable(at), kind = 'acknowledge') AS first_ack,
           maxIf(toNullable(at), kind = 'resolve') AS last_resolve
    FROM
    (
        SELECT source, incident_id, kind, at FROM incident_events FINAL
        UNION ALL
        SELECT source, entity_id AS incident_id,
               multiIf(step IN ('detected', 'reported'), 'trigger', step = 'resolved', 'resolve', 'other') AS kind, at
        FROM lifecycle_events FINAL WHERE entity = 'incident'
    )
    GROUP BY source, incident_id
) AS t ON i.source = t.source AND i.incident_id = t.incident_id
SETTINGS join_use_nulls = 1`;
