import type { Store } from '../../infra/store/client.js';
import type { GraphCommit } from './graph.js';

/**
 * The facts the linker reads, loaded from the domain tables with FINAL (the latest version of each
 * entity, deletions dropped). Times come back as epoch milliseconds.
 */

export interface Deployment {
  source: string;
  deployment_id: string;
  repo: string;
  service: string;
  environment: string;
  is_production: number;
  sha: string;
  ref: string;
  description: string;
  is_rollback: number;
  created_ms: number;
  team: string;
  program: string;
  raw_event_id: string;
}

export interface DeploymentStatus {
  source: string;
  deployment_id: string;
  status_id: string;
  state: string;
  raw_state: string;
  at_ms: number;
}

export interface Incident {
  source: string;
  incident_id: string;
  number: string;
  title: string;
  description: string;
  service: string;
  url: string;
  created_ms: number;
  resolved_ms: number | null;
}

export interface PullRequest {
  source: string;
  repo: string;
  number: number;
  title: string;
  labels: string[];
  head_branch: string;
  merge_commit_sha: string;
}

export interface Bug {
  source: string;
  item_id: string;
  key: string;
  summary: string;
  labels: string[];
  found_in: string;
}

async function rows<T>(store: Store, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const rs = await store.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return rs.json<T>();
}

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export async function loadDeployments(store: Store): Promise<Deployment[]> {
  const list = await rows<Deployment>(
    store,
    `SELECT source, deployment_id, repo, service, environment, is_production, sha, ref, description, is_rollback,
            toUnixTimestamp64Milli(created_at) AS created_ms, team, program, raw_event_id
     FROM deployments FINAL`,
  );
  return list.map((d) => ({ ...d, created_ms: num(d.created_ms), is_production: num(d.is_production), is_rollback: num(d.is_rollback) }));
}

export async function loadDeploymentStatuses(store: Store): Promise<DeploymentStatus[]> {
  const list = await rows<DeploymentStatus>(
    store,
    `SELECT source, deployment_id, status_id, state, raw_state, toUnixTimestamp64Milli(at) AS at_ms FROM deployment_statuses FINAL`,
  );
  return list.map((s) => ({ ...s, at_ms: num(s.at_ms) }));
}

/** Rows of a query as compact arrays, read as a stream: the whole result never sits in memory as text. */
export async function* streamRows<T extends unknown[]>(
  store: Store,
  query: string,
  params: Record<string, unknown> = {},
): AsyncGenerator<T> {
  const rs = await store.client.query({ query, query_params: params, format: 'JSONCompactEachRow' });
  for await (const batch of rs.stream<T>()) for (const row of batch) yield row.json<T>();
}

/** The commits of one repository, streamed from the store. */
export async function loadCommitGraph(store: Store, source: string, repo: string): Promise<GraphCommit[]> {
  const out: GraphCommit[] = [];
  for await (const [sha, parents, known, t] of streamRows<[string, string[], number | string, number | string]>(
    store,
    `SELECT sha, parents, parents_known, toUnixTimestamp64Milli(committed_at)
     FROM commits FINAL WHERE source = {source:String} AND repo = {repo:String}`,
    { source, repo },
  )) {
    out.push({ sha, parents, parentsKnown: num(known) === 1, committedAt: num(t) });
  }
  return out;
}

/** What the last run wrote of each deployment: what its commits were computed from, and their count. */
export interface StoredFact {
  repo: string;
  sha: string;
  service: string;
  environment: string;
  previous_deployment_id: string;
  is_rollback: number;
  commit_count: number;
}

export async function loadStoredFacts(store: Store): Promise<Map<string, StoredFact>> {
  const out = new Map<string, StoredFact>();
  for await (const [source, id, repo, sha, service, environment, previous, rollback, count] of streamRows<
    [string, string, string, string, string, string, string, number | string, number | string]
  >(
    store,
    `SELECT source, deployment_id, repo, sha, service, environment, previous_deployment_id, is_rollback, commit_count
     FROM deployment_facts FINAL`,
  )) {
    out.set(`${source}/${id}`, {
      repo,
      sha,
      service,
      environment,
      previous_deployment_id: previous,
      is_rollback: num(rollback),
      commit_count: num(count),
    });
  }
  return out;
}

/** Incidents with their times from incident_facts (the linker writes those first). */
export async function loadIncidents(store: Store): Promise<Incident[]> {
  const list = await rows<Incident>(
    store,
    `SELECT i.source AS source, i.incident_id AS incident_id, i.number AS number, i.title AS title, i.description AS description,
            i.service AS service, i.url AS url,
            toUnixTimestamp64Milli(f.created_at) AS created_ms,
            if(f.resolved_at IS NULL, NULL, toUnixTimestamp64Milli(assumeNotNull(f.resolved_at))) AS resolved_ms
     FROM incidents AS i FINAL
     INNER JOIN (SELECT source, incident_id, created_at, resolved_at FROM incident_facts FINAL) AS f
       ON i.source = f.source AND i.incident_id = f.incident_id`,
  );
  return list.map((i) => ({ ...i, created_ms: num(i.created_ms), resolved_ms: numOrNull(i.resolved_ms) }));
}

export async function loadMergedPullRequests(store: Store): Promise<PullRequest[]> {
  const list = await rows<PullRequest>(
    store,
    `SELECT source, repo, number, title, labels, head_branch, merge_commit_sha FROM pull_requests FINAL WHERE state = 'merged'`,
  );
  return list.map((p) => ({ ...p, number: num(p.number) }));
}

/** Pull request numbers of the commits of these repositories, from the commit -> PR links. */
export async function loadCommitPullRequests(store: Store): Promise<Array<{ source: string; repo: string; sha: string; number: number }>> {
  const list = await rows<{ source: string; repo: string; sha: string; number: string }>(
    store,
    `SELECT source, repo, sha, number FROM commit_pull_requests FINAL`,
  );
  return list.map((r) => ({ ...r, number: num(r.number) }));
}

export async function loadBugs(store: Store): Promise<Bug[]> {
  return rows<Bug>(store, `SELECT source, item_id, key, summary, labels, found_in FROM work_items FINAL WHERE kind = 'bug'`);
}
