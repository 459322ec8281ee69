import type { CommitGraph } from './graph.js';
import type { Deployment, DeploymentStatus } from './inputs.js';

export type DeploymentResult = 'success' | 'failure' | 'cancelled' | 'running' | 'unknown';

/** What a status state says about the deployment's outcome; inactive (superseded) says nothing. */
const OUTCOME: Record<string, DeploymentResult | undefined> = {
  success: 'success',
  failure: 'failure',
  error: 'failure',
  cancelled: 'cancelled',
  queued: 'running',
  in_progress: 'running',
  inactive: undefined,
};

/** A deployment with its outcome and its place in the history of its service and environment. */
export interface ResolvedDeployment extends Deployment {
  result: DeploymentResult;
  raw_result: string;
  started_ms: number;
  finished_ms: number | null;
  previous_deployment_id: string;
  is_rollback: number;
  rolled_back_by: string;
  commits: DeploymentCommit[];
}

/** A deployment while the linker walks its history. */
export interface HistoryDeployment extends ResolvedDeployment {
  /** The previous successful deployment of the history (undefined for the first). */
  previous: HistoryDeployment | undefined;
  /** The commits it shipped: empty when the linker kept them from its last run (commit_count still holds). */
  commits: DeploymentCommit[];
  /** The commits shipped, 'none' rows not counted. */
  commit_count: number;
}

export interface DeploymentCommit {
  sha: string;
  method: 'explicit' | 'inferred' | 'none';
  rule: 'graph' | 'graph_incomplete' | 'unknown_sha' | 'first_deployment';
}

/**
 * The outcome of each deployment from its statuses: the latest status that is not 'inactive' decides
 * (by time, then status id), the deployment finished at that status when it is final, and it started
 * at its first in-progress status, else when it was created.
 */
export function resolveOutcome(
  d: Deployment,
  statuses: DeploymentStatus[],
): { result: DeploymentResult; raw_result: string; started_ms: number; finished_ms: number | null } {
  let last: DeploymentStatus | undefined;
  let firstRunning: number | undefined;
  for (const s of statuses) {
    if (s.state === 'in_progress' && (firstRunning === undefined || s.at_ms < firstRunning)) firstRunning = s.at_ms;
    if (OUTCOME[s.state] === undefined) continue;
    if (last === undefined || s.at_ms > last.at_ms || (s.at_ms === last.at_ms && compareIds(s.status_id, last.status_id) > 0)) last = s;
  }
  const result = last === undefined ? 'unknown' : OUTCOME[last.state]!;
  const final = result === 'success' || result === 'failure' || result === 'cancelled';
  return {
    result,
    raw_result: last?.raw_state ?? '',
    started_ms: firstRunning ?? d.created_ms,
    finished_ms: final && last !== undefined ? last.at_ms : null,
  };
}

/** Numeric ids compare as numbers, others as strings. */
function compareIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Deployments of one service in one environment are one history; a deployment with no service is its repository's. */
export const historyKey = (d: Pick<Deployment, 'service' | 'repo' | 'environment' | 'source' | 'deployment_id'>): string =>
  `${d.service !== '' ? d.service : d.repo !== '' ? `repo:${d.repo}` : `deployment:${d.source}/${d.deployment_id}`}\u0000${d.environment.toLowerCase()}`;

/**
 * Walks each history in time order (finish, else start): a deployment ships the commits reachable from
 * its sha and not from the previous successful deployment's sha. A deployment of an ancestor of what
 * the previous one deployed is a rollback of it. The first deployment of a history is charged with no
 * commits: what came before it was shipped by deployments the pipeline never saw.
 */
export function resolveHistory(
  deployments: Array<Deployment & ReturnType<typeof resolveOutcome>>,
  graphOf: (d: Deployment) => CommitGraph | undefined,
): HistoryDeployment[] {
  const out = orderHistory(deployments);
  for (const r of out) walkCommits(r, graphOf(r));
  markRollbacks(out);
  return out;
}

/**
 * A history in time order (finish, else start), each deployment with the previous successful one; the
 * commits are left to walkCommits, which needs only the deployment, its previous one and the graph.
 */
export function orderHistory(deployments: Array<Deployment & ReturnType<typeof resolveOutcome>>): HistoryDeployment[] {
  const ordered = [...deployments].sort(
    (a, b) => (a.finished_ms ?? a.started_ms) - (b.finished_ms ?? b.started_ms) || a.deployment_id.localeCompare(b.deployment_id),
  );
  const out: HistoryDeployment[] = [];
  let previous: HistoryDeployment | undefined;
  for (const d of ordered) {
    const r: HistoryDeployment = {
      ...d,
      previous_deployment_id: previous?.deployment_id ?? '',
      previous,
      rolled_back_by: '',
      commits: [],
      commit_count: 0,
    };
    out.push(r);
    if (r.result === 'success') previous = r;
  }
  return out;
}

/** The commits a deployment shipped since its previous one, and whether it deployed an ancestor of it (a rollback). */
export function walkCommits(r: HistoryDeployment, graph: CommitGraph | undefined): void {
  const previous = r.previous;
  if (graph === undefined || r.sha === '' || !graph.has(r.sha)) {
    r.commits = [{ sha: r.sha, method: 'none', rule: 'unknown_sha' }];
  } else if (previous === undefined || previous.repo !== r.repo) {
    r.commits = [{ sha: '', method: 'none', rule: 'first_deployment' }];
  } else {
    const range = graph.range(r.sha, [previous.sha]);
    r.commits = range.shas.map((sha) => ({
      sha,
      method: range.complete ? 'explicit' : 'inferred',
      rule: range.complete ? 'graph' : 'graph_incomplete',
    }));
    if (range.shas.length === 0 && r.sha !== previous.sha && graph.isAncestor(r.sha, previous.sha)) r.is_rollback = 1;
  }
  r.commit_count = r.commits.filter((c) => c.method !== 'none').length;
}

/** A successful rollback marks the deployment it rolled back (the last such rollback wins). */
export function markRollbacks(history: HistoryDeployment[]): void {
  for (const r of history)
    if (r.is_rollback === 1 && r.previous !== undefined && r.result === 'success') r.previous.rolled_back_by = r.deployment_id;
}
