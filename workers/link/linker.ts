import { systemClock, type Clock } from '../../infra/clock.js';
import type { ModelConfig } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import type { Logger } from '../../infra/observability/logger.js';
import { classifyBugs } from './bugs.js';
import {
  INCIDENT_INPUTS,
  INPUT_TABLES,
  PR_INPUTS,
  contentOf,
  lastState,
  modelHash,
  outputsHeld,
  partsOf,
  sameRecord,
  saveState,
  tableHashes,
  type LinkCounts,
} from './changes.js';
import {
  historyKey,
  markRollbacks,
  orderHistory,
  resolveOutcome,
  walkCommits,
  type DeploymentCommit,
  type HistoryDeployment,
  type ResolvedDeployment,
} from './deployments.js';
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
  loadStoredFacts,
  streamRows,
  type Deployment,
  type DeploymentStatus,
  type PullRequest,
  type StoredFact,
} from './inputs.js';
import { findReferences } from './references.js';

export interface LinkOptions {
  store: Store;
  model: ModelConfig;
  logger?: Logger | undefined;
  /** The run's instant: the version and linked_at of every row it writes (default: the clock's now). */
  now?: Date;
  /** Where "now" comes from when `now` is not given (default: the wall clock). */
  clock?: Clock;
  /** Link every fact again, as if no run had come before (default: redo only what changed since the last run). */
  full?: boolean;
}

export interface LinkResult extends LinkCounts {
  /** Link rows written because they are new or changed (the SQL-built tables not counted). */
  written: number;
  /** Rows of earlier runs that no longer hold, marked deleted. */
  retracted: number;
  ms: number;
  /**
   * Milliseconds per phase: check (what changed), commit_prs and incident_facts (SQL), load, deployments
   * (graphs, walks and their commits written), rules, write.
   */
  phases: Record<string, number>;
}

export const LINK_TABLES = [
  'commit_pull_requests',
  'incident_facts',
  'deployment_facts',
  'deployment_commits',
  'incident_deployments',
  'deployment_incident_fixes',
  'work_item_production',
] as const;

/** Deployments whose commits are written (and their live rows read) together. */
const WALK_CHUNK = 200;

type Stamp = { linked_at: string; version: number };

/**
 * Links commits to pull requests, deployments to their outcome and the commits they shipped, incidents
 * to deployments, hotfixes to incidents, bugs to production, and keeps the link tables equal to what
 * the rules give for the facts at hand. A run redoes only what its inputs changed since the last run
 * (link_inputs): nothing when the domain tables hold the same parts, or the same rows; the commits of
 * a deployment only when its repository's commits, its sha or its previous deployment changed; the
 * SQL-built tables only when what they are built from changed. Whatever it writes, new or changed
 * rows and deletion rows for links that no longer hold, carries the run's version; a row that holds
 * as it was keeps the version of the run that wrote it.
 */
export async function link(options: LinkOptions): Promise<LinkResult> {
  const { store, model } = options;
  // Durations are measured on the monotonic timer; the run's instant comes from the clock.
  const started = performance.now();
  const now = options.now ?? (options.clock ?? systemClock).date();
  const version = now.getTime() * 1000;
  const stamp: Stamp = { linked_at: now.toISOString(), version };
  const params = { v: version, at: now.getTime() / 1000 };
  const phases: Record<string, number> = {};
  let mark = performance.now();
  const phase = (name: string): void => {
    const t = performance.now();
    phases[name] = Math.round(t - mark);
    mark = t;
  };
  const finish = (counts: LinkCounts, written: number, retracted: number): LinkResult => {
    const result: LinkResult = { ...counts, written, retracted, ms: Math.round(performance.now() - started), phases };
    options.logger?.info(result, 'links recomputed');
    return result;
  };

  const modelKey = modelHash(model);
  const last = options.full === true ? undefined : await lastState(store);
  // Link tables changed by anything but the linker (truncated for a replay, restored, edited) are linked anew.
  const previous = last !== undefined && (await outputsHeld(store, last, LINK_TABLES)) ? last : undefined;
  // Taken before anything is read: rows that arrive during the run make the next run look again.
  const parts = await partsOf(store);
  if (previous !== undefined && previous.model === modelKey && sameRecord(previous.parts, parts)) {
    phase('check');
    return finish(previous.counts, 0, 0);
  }
  const content = await contentOf(store, parts, previous);
  phase('check');
  const tableChanged = (t: string): boolean => previous === undefined || previous.tables[t] !== content.tables[t];
  const reposChanged = previous === undefined || !sameRecord(previous.repos, content.repos);
  const save = async (counts: LinkCounts): Promise<void> =>
    saveState(
      store,
      {
        model: modelKey,
        parts,
        tables: content.tables,
        repos: content.repos,
        counts,
        outputs: await tableHashes(store, LINK_TABLES),
        outputParts: await partsOf(store, LINK_TABLES),
      },
      previous,
      stamp,
    );
  if (previous !== undefined && previous.model === modelKey && !reposChanged && !INPUT_TABLES.some(tableChanged)) {
    // Merged parts, same rows: remember the parts, so the next run looks no further than them.
    await save(previous.counts);
    return finish(previous.counts, 0, 0);
  }

  let retracted = 0;
  let commitPullRequests = previous?.counts.commitPullRequests ?? 0;
  if (reposChanged || PR_INPUTS.some(tableChanged)) {
    retracted += await syncSql(store, COMMIT_PULL_REQUESTS, params);
    commitPullRequests = await count(store, 'commit_pull_requests');
  }
  phase('commit_prs');
  if (INCIDENT_INPUTS.some(tableChanged)) retracted += await syncSql(store, INCIDENT_FACTS, params);
  phase('incident_facts');

  const [deployments, statuses, stored, incidents, prList, commitPrs, bugs] = await Promise.all([
    loadDeployments(store),
    loadDeploymentStatuses(store),
    loadStoredFacts(store),
    loadIncidents(store),
    loadMergedPullRequests(store),
    loadCommitPullRequests(store),
    loadBugs(store),
  ]);
  phase('load');

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
  // The rules look at the commits of production deployments only to find the pull requests they
  // shipped and the deployments that shipped a sha an incident names: without either, none is kept.
  const needCommits =
    prsOfCommit.size > 0 ||
    incidents.some((i) => {
      const refs = findReferences(`${i.title}\n${i.description}`);
      return refs.shas.length > 0 || refs.pullRequests.length > 0;
    });

  const histories = orderHistories(deployments, statuses);
  const resolved = histories.flat();
  const deployed = await linkDeploymentCommits(store, {
    resolved,
    stored,
    repoUnchanged: (key) => previous !== undefined && previous.repos[key] === content.repos[key],
    keepCommits: needCommits,
    stamp,
  });
  let written = deployed.written;
  retracted += deployed.retracted;
  if (needCommits)
    await loadKeptCommits(
      store,
      resolved.filter((d) => d.is_production === 1 && deployed.reused.has(d)),
    );
  for (const h of histories) markRollbacks(h);
  phase('deployments');

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
      commit_count: d.commit_count,
      team: d.team,
      program: d.program,
      raw_event_id: d.raw_event_id,
      ...stamp,
    };
  });
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

  const sync = async (table: string, keys: string[], rows: Array<Record<string, unknown>>): Promise<void> => {
    const r = await syncTable(store, table, keys, rows, stamp);
    written += r.written;
    retracted += r.retracted;
  };
  await sync('deployment_facts', ['source', 'deployment_id'], facts);
  await sync('incident_deployments', ['incident_source', 'incident_id', 'deployment_source', 'deployment_id'], incidentRows);
  await sync('deployment_incident_fixes', ['deployment_source', 'deployment_id', 'incident_source', 'incident_id'], hotfixRows);
  await sync('work_item_production', ['source', 'item_id'], bugRows);

  const counts: LinkCounts = {
    deployments: facts.length,
    deploymentCommits: resolved.reduce((n, d) => n + d.commit_count, 0),
    commitPullRequests,
    incidentDeployments: incidentRows.filter((r) => r.method !== 'none').length,
    hotfixes: hotfixRows.length,
    bugs: bugRows.length,
  };
  await save(counts);
  phase('write');
  return finish(counts, written, retracted);
}

/** Outcomes from the statuses, then each service history in order, each deployment with its previous one. */
function orderHistories(deployments: Deployment[], statuses: DeploymentStatus[]): HistoryDeployment[][] {
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
  return [...histories.values()].map(orderHistory);
}

const keyOf = (d: { source: string; deployment_id: string }): string => `${d.source}/${d.deployment_id}`;
/** Deployments from CI tools may name a repository from another source's key space; graphs are per (source, repo). */
const graphKey = (d: { source: string; repo: string }): string => (d.repo === '' ? '' : `${d.source}\u0000${d.repo}`);

/**
 * Whether the commits a deployment shipped are still those the last run wrote: its repository's commits
 * are the same, and so are its sha, history and previous deployment (with that one's sha). A rollback
 * the input does not say is kept only where the last run found it in the graph.
 */
function stillHolds(
  d: HistoryDeployment,
  stored: Map<string, StoredFact>,
  repoUnchanged: (key: string) => boolean,
): StoredFact | undefined {
  const key = graphKey(d);
  if (key !== '' && !repoUnchanged(key)) return undefined;
  const s = stored.get(keyOf(d));
  if (s === undefined || s.repo !== d.repo || s.sha !== d.sha || s.service !== d.service || s.environment !== d.environment)
    return undefined;
  if (s.previous_deployment_id !== d.previous_deployment_id || (d.is_rollback === 0 && s.is_rollback === 1)) return undefined;
  const p = d.previous;
  if (p !== undefined) {
    const sp = stored.get(keyOf(p));
    if (sp === undefined || sp.sha !== p.sha || sp.repo !== p.repo) return undefined;
  }
  return s;
}

/**
 * The commits each deployment shipped: kept from the last run where they still hold, else walked on
 * its repository's graph (loaded one repository at a time) and written, a chunk of deployments at a
 * time, against the live rows of those deployments alone. The commits of deployments that are gone
 * are retracted.
 */
async function linkDeploymentCommits(
  store: Store,
  run: {
    resolved: HistoryDeployment[];
    stored: Map<string, StoredFact>;
    repoUnchanged: (key: string) => boolean;
    /** Keep the walked commits of production deployments in memory for the rules. */
    keepCommits: boolean;
    stamp: Stamp;
  },
): Promise<{ written: number; retracted: number; reused: Set<HistoryDeployment> }> {
  const reused = new Set<HistoryDeployment>();
  const redo = new Map<string, HistoryDeployment[]>();
  for (const d of run.resolved) {
    const s = stillHolds(d, run.stored, run.repoUnchanged);
    if (s !== undefined) {
      d.commit_count = s.commit_count;
      d.is_rollback = Math.max(d.is_rollback, s.is_rollback);
      reused.add(d);
      continue;
    }
    const key = graphKey(d);
    const list = redo.get(key);
    if (list === undefined) redo.set(key, [d]);
    else list.push(d);
  }
  let written = 0;
  let retracted = 0;
  const write = async (keys: string[], rows: Array<Record<string, unknown>>): Promise<void> => {
    const scope = new Set(keys);
    const r = await syncTable(store, 'deployment_commits', ['deployment_source', 'deployment_id', 'sha'], rows, run.stamp, {
      where: 'deployment_id IN {ids:Array(String)}',
      params: { ids: [...new Set(keys.map((k) => k.slice(k.indexOf('/') + 1)))] },
      includes: (row) => scope.has(`${String(row.deployment_source)}/${String(row.deployment_id)}`),
    });
    written += r.written;
    retracted += r.retracted;
  };
  for (const [key, list] of redo) {
    const [source, repo] = key.split('\u0000') as [string, string];
    const commits = key === '' ? [] : await loadCommitGraph(store, source, repo);
    const graph = commits.length > 0 ? new CommitGraph(commits) : undefined;
    commits.length = 0;
    for (let i = 0; i < list.length; i += WALK_CHUNK) {
      const chunk = list.slice(i, i + WALK_CHUNK);
      const rows: Array<Record<string, unknown>> = [];
      for (const d of chunk) {
        walkCommits(d, graph);
        for (const c of d.commits) {
          rows.push({
            deployment_source: d.source,
            deployment_id: d.deployment_id,
            repo: d.repo,
            sha: c.sha,
            service: d.service,
            environment: d.environment,
            method: c.method,
            rule: c.rule,
            previous_deployment_id: d.previous_deployment_id,
            ...run.stamp,
          });
        }
        if (!run.keepCommits || d.is_production !== 1) d.commits = [];
      }
      await write(chunk.map(keyOf), rows);
    }
  }
  const current = new Set(run.resolved.map(keyOf));
  const gone = [...run.stored.keys()].filter((k) => !current.has(k));
  for (let i = 0; i < gone.length; i += WALK_CHUNK) await write(gone.slice(i, i + WALK_CHUNK), []);
  return { written, retracted, reused };
}

/** The commits the last run wrote for these deployments (kept, not walked again), for the rules. */
async function loadKeptCommits(store: Store, deployments: HistoryDeployment[]): Promise<void> {
  if (deployments.length === 0) return;
  const byKey = new Map(deployments.map((d) => [keyOf(d), d]));
  for await (const [source, id, sha, method, rule] of streamRows<
    [string, string, string, DeploymentCommit['method'], DeploymentCommit['rule']]
  >(store, `SELECT deployment_source, deployment_id, sha, method, rule FROM deployment_commits FINAL WHERE method != 'none'`)) {
    byKey.get(`${source}/${id}`)?.commits.push({ sha, method, rule });
  }
}

/** A built-in-SQL link table: its columns (the run's stamp aside), its key, and the SELECT of its rows. */
interface SqlTable {
  table: string;
  columns: readonly string[];
  key: readonly string[];
  select: string;
  settings: string;
}

/**
 * Makes a table built in SQL hold exactly what its SELECT gives, writing only what changed: rows that
 * are new or differ get this run's stamp, live rows whose key the SELECT no longer gives get a deletion
 * row. Returns the rows retracted. The filters sit in subqueries: beside `REPLACE (... AS version)` a
 * WHERE on version would read the replacement.
 */
async function syncSql(store: Store, t: SqlTable, params: { v: number; at: number }): Promise<number> {
  const cols = t.columns.join(', ');
  const keys = t.key.join(', ');
  await store.client.command({
    query: `INSERT INTO ${t.table} (${cols}, linked_at, version, is_deleted)
            SELECT ${cols}, toDateTime64({at:Float64}, 3, 'UTC'), {v:UInt64}, 0
            FROM (${t.select})
            WHERE (${cols}) NOT IN (SELECT ${cols} FROM ${t.table} FINAL)
            SETTINGS transform_null_in = 1${t.settings}`,
    query_params: params,
  });
  const goneFilter = `(${keys}) NOT IN (SELECT ${keys} FROM (${t.select}))`;
  const stale = await count(store, t.table, `${goneFilter} SETTINGS transform_null_in = 1${t.settings}`, params);
  if (stale === 0) return 0;
  await store.client.command({
    query: `INSERT INTO ${t.table}
            SELECT * REPLACE ({v:UInt64} AS version, 1 AS is_deleted, toDateTime64({at:Float64}, 3, 'UTC') AS linked_at)
            FROM (SELECT * FROM ${t.table} FINAL WHERE ${goneFilter})
            SETTINGS transform_null_in = 1${t.settings}`,
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
const COMMIT_PULL_REQUESTS: SqlTable = {
  table: 'commit_pull_requests',
  columns: ['source', 'repo', 'sha', 'number', 'method', 'rule', 'evidence'],
  key: ['source', 'repo', 'sha', 'number'],
  settings: '',
  select: `
SELECT source, repo, sha, number,
       argMin(m, priority) AS method, argMin(r, priority) AS rule, argMin(e, priority) AS evidence
FROM
(
    SELECT source, repo, sha, number, 'explicit' AS m, 'pr_commit' AS r,
           concat('in the commit list of #', toString(number)) AS e, 1 AS priority
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
GROUP BY source, repo, sha, number`,
};

/**
 * Incidents with their times from every place that knows them: the latest version of the incident, its
 * timeline (PagerDuty log entries: trigger, acknowledge, resolve) and its lifecycle events (CDEvents:
 * detected, reported, resolved). A webhook version of an incident may not carry its first
 * acknowledgement, and a CDEvents resolution does not repeat the detection: the timeline does.
 */
const INCIDENT_FACTS: SqlTable = {
  table: 'incident_facts',
  columns: [
    'source',
    'incident_id',
    'number',
    'title',
    'service',
    'urgency',
    'severity',
    'status',
    'created_at',
    'acknowledged_at',
    'resolved_at',
    'team',
    'program',
    'raw_event_id',
  ],
  key: ['source', 'incident_id'],
  settings: ', join_use_nulls = 1',
  select: `
SELECT i.source AS source, i.incident_id AS incident_id, i.number AS number, i.title AS title, i.service AS service,
       i.urgency AS urgency, i.severity AS severity, i.status AS status,
       if(t.first_trigger IS NULL, i.created_at, least(i.created_at, assumeNotNull(t.first_trigger))) AS created_at,
       multiIf(t.first_ack IS NULL, i.acknowledged_at, i.acknowledged_at IS NULL, t.first_ack,
               least(assumeNotNull(i.acknowledged_at), assumeNotNull(t.first_ack))) AS acknowledged_at,
       if(i.status = 'resolved', coalesce(i.resolved_at, t.last_resolve), NULL) AS resolved_at,
       i.team AS team, i.program AS program, i.raw_event_id AS raw_event_id
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
) AS t ON i.source = t.source AND i.incident_id = t.incident_id`,
};
