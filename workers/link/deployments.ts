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
): ResolvedDeployment[] {
  const ordered = [...deployments].sort(
    (a, b) => (a.finished_ms ?? a.started_ms) - (b.finished_ms ?? b.started_ms) || a.deployment_id.localeCompare(b.deployment_id),
  );
  const out: ResolvedDeployment[] = [];
  let previous: ResolvedDeployment | undefined;
  for (const d of ordered) {
    const r: ResolvedDeployment = {
      ...d,
      previous_deployment_id: previous?.deployment_id ?? '',
      rolled_back_by: '',
      commits: [],
    };
    const graph = graphOf(d);
    if (graph === undefined || d.sha === '' || !graph.has(d.sha)) {
      r.commits = [{ sha: d.sha, method: 'none', rule: 'unknown_sha' }];
    } else if (previous === undefined || previous.repo !== d.repo) {
      r.commits = [{ sha: '', method: 'none', rule: 'first_deployment' }];
    } else {
      const range = graph.range(d.sha, [previous.sha]);
      r.commits = range.shas.map((sha) => ({
        sha,
        method: range.complete ? 'explicit' : 'inferred',
        rule: range.complete ? 'graph' : 'graph_incomplete',
      }));
      if (range.shas.length === 0 && d.sha !== previous.sha && graph.isAncestor(d.sha, previous.sha)) {
        r.is_rollback = 1;
      }
    }
    if (r.is_rollback === 1 && previous !== undefined && r.result === 'success') previous.rolled_back_by = d.deployment_id;
    out.push(r);
    if (r.result === 'success') previous = r;
  }
  return out;
}
