import type {
  CommitRow,
  DeploymentRow,
  DeploymentStatusRow,
  IncidentRow,
  PullRequestCommitsRow,
  PullRequestRow,
  MilestoneDateRow,
  MilestoneRow,
  WorkItemHistoryRow,
  WorkItemKind,
  WorkItemLinkRow,
  WorkItemRow,
} from '../../schemas/domain.js';

/** The fields of a work item a test must choose; the rest default to an empty, live Jira item. */
type Chosen =
  | 'item_id'
  | 'key'
  | 'project'
  | 'type'
  | 'kind'
  | 'status'
  | 'status_category'
  | 'priority'
  | 'priority_rank'
  | 'created_at'
  | 'updated_at'
  | 'summary'
  | 'team'
  | 'program'
  | 'raw_event_id'
  | 'version';

const BLANK: Omit<WorkItemRow, Chosen> = {
  source: 'jira',
  assignee: '',
  reporter: '',
  components: [],
  labels: [],
  due_date: null,
  start_date: null,
  fix_versions: [],
  affects_versions: [],
  sprints: [],
  parent_id: '',
  story_points: null,
  original_estimate_seconds: null,
  time_spent_seconds: null,
  severity: '',
  found_in: '',
  resolved_at: null,
  resolution: '',
  url: '',
  is_deleted: 0,
};

/** A work_items row for tests that write the domain tables by hand. */
export function workItemRow(fields: Pick<WorkItemRow, Chosen> & Partial<WorkItemRow>): WorkItemRow {
  return { ...BLANK, ...fields };
}

/** A Jira "blocks" link row from item `id-<from>` to item `id-<to>`. */
export function blocksLinkRow(from: string, to: string, createdAt: string | null, extra: Partial<WorkItemLinkRow> = {}): WorkItemLinkRow {
  return {
    source: 'jira',
    from_key: from,
    to_key: to,
    link_type: 'blocks',
    raw_type: 'Blocks',
    link_id: `${from}-${to}`,
    from_item_id: `id-${from}`,
    to_item_id: `id-${to}`,
    created_at: createdAt,
    raw_event_id: 'e',
    version: 1,
    is_deleted: 0,
    ...extra,
  };
}

/** A deployments row: a successful-path GitHub production deployment of `service` from `acme/<service>`, unless `fields` say otherwise. */
export function deploymentRow(
  fields: Pick<DeploymentRow, 'deployment_id' | 'service' | 'sha' | 'created_at' | 'team' | 'program'> & Partial<DeploymentRow>,
): DeploymentRow {
  return {
    source: 'github',
    repo: `acme/${fields.service}`,
    environment: 'production',
    is_production: 1,
    ref: 'main',
    description: '',
    is_rollback: 0,
    url: '',
    raw_event_id: 'e',
    version: 1,
    ...fields,
  };
}

/**
 * A maker of Jira work items for a hand-built organisation: item `id-<key>` of the team's program, in
 * To Do, priority Medium, assigned to 'dana', created and updated at the given instants, titled
 * '<key> title' and linked to its Jira page; `extra` overrides any field.
 */
export function workItemMaker(org: {
  programOf: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}): (key: string, kind: WorkItemKind, team: string, extra?: Partial<WorkItemRow>) => WorkItemRow {
  return (key, kind, team, extra = {}) =>
    workItemRow({
      item_id: `id-${key}`,
      key,
      project: key.split('-')[0]!,
      type: kind,
      kind,
      status: 'To Do',
      status_category: 'todo',
      priority: 'Medium',
      priority_rank: 3,
      assignee: 'dana',
      created_at: org.createdAt,
      updated_at: org.updatedAt,
      summary: `${key} title`,
      team,
      program: org.programOf[team] ?? '',
      url: `https://acme.atlassian.net/browse/${key}`,
      raw_event_id: 'e',
      version: 1,
      ...extra,
    });
}

let historyIds = 0;

/** One changelog entry of item `id-<key>`: `field` from one value to another (value and display the same), by 'sam'. */
export function historyRow(key: string, at: string, field: string, from: string, to: string): WorkItemHistoryRow {
  historyIds += 1;
  return {
    source: 'jira',
    item_id: `id-${key}`,
    history_id: `h${historyIds}`,
    field,
    field_id: field,
    from_value: from,
    from_string: from,
    to_value: to,
    to_string: to,
    changed_at: at,
    author: 'sam',
    raw_event_id: 'e',
    version: 1,
  };
}

/** An open Jira milestone (a version, or an epic for an 'epic/...' id) of a team, starting `startDate`, with no date unless `extra` gives one. */
export function milestoneRow(id: string, name: string, team: string, program: string, extra: Partial<MilestoneRow> = {}): MilestoneRow {
  return {
    source: 'jira',
    milestone_id: id,
    kind: id.startsWith('epic/') ? 'epic' : 'version',
    name,
    project: '',
    state: 'open',
    raw_state: 'unreleased',
    start_date: '2026-01-01',
    committed_date: null,
    completed_at: null,
    team,
    program,
    url: `https://acme.atlassian.net/projects/${id}`,
    raw_event_id: 'e',
    version: 1,
    is_deleted: 0,
    ...extra,
  };
}

/** A committed date of a milestone as a snapshot saw it at `observedAt`. */
export const milestoneDateRow = (id: string, observedAt: string, date: string): MilestoneDateRow => ({
  source: 'jira',
  milestone_id: id,
  committed_date: date,
  observed_at: observedAt,
  basis: 'snapshot',
  raw_event_id: 'e',
  version: 1,
});

/** A GitHub commits row whose parents are all known, committed when authored, with no fingerprint unless `fields` give one. */
export function commitRow(
  fields: Pick<CommitRow, 'repo' | 'sha' | 'parents' | 'author' | 'authored_at' | 'team' | 'program'> & Partial<CommitRow>,
): CommitRow {
  return {
    source: 'github',
    parents_known: 1,
    committed_at: fields.authored_at,
    fingerprint: '',
    raw_event_id: 'e',
    version: 1,
    ...fields,
  };
}

/**
 * A GitHub pull_requests row: pull request `number`, merged at `merged_at` (also its last update and its
 * close) into main from branch `feature-<number>`, unless `fields` say otherwise.
 */
export function pullRequestRow(
  fields: Pick<PullRequestRow, 'repo' | 'number' | 'title' | 'author' | 'merge_commit_sha' | 'created_at' | 'team' | 'program'> &
    Partial<PullRequestRow> & { merged_at: string },
): PullRequestRow {
  return {
    source: 'github',
    is_deleted: 0,
    pr_id: String(fields.number),
    state: 'merged',
    raw_state: 'closed',
    draft: 0,
    base_branch: 'main',
    head_branch: `feature-${fields.number}`,
    head_sha: '',
    labels: [],
    updated_at: fields.merged_at,
    closed_at: fields.merged_at,
    url: '',
    raw_event_id: 'e',
    version: 1,
    ...fields,
  };
}

/** The pull_request_commits row of pull request `number`: its commits in order, the last its head. */
export function pullRequestCommitsRow(
  repo: string,
  number: number,
  commits: ReadonlyArray<{ sha: string; authored_at: string; fingerprint: string }>,
): PullRequestCommitsRow {
  return {
    raw_event_id: 'e',
    version: 1,
    source: 'github',
    repo,
    number,
    head_sha: commits[commits.length - 1]!.sha,
    shas: commits.map((c) => c.sha),
    authored_at: commits.map((c) => c.authored_at),
    fingerprints: commits.map((c) => c.fingerprint),
  };
}

/** Status `<id>-<n>` of GitHub deployment `id`: `state` at `at`. */
export function deploymentStatusRow(id: string, state: DeploymentStatusRow['state'], at: string, n = 1): DeploymentStatusRow {
  return { raw_event_id: 'e', version: 1, source: 'github', deployment_id: id, status_id: `${id}-${n}`, state, raw_state: state, at };
}

/** A resolved, high-urgency sev2 PagerDuty incidents row, never acknowledged, unless `fields` say otherwise. */
export function incidentRow(
  fields: Pick<
    IncidentRow,
    'incident_id' | 'number' | 'title' | 'service' | 'service_id' | 'created_at' | 'resolved_at' | 'team' | 'program'
  > &
    Partial<IncidentRow>,
): IncidentRow {
  return {
    source: 'pagerduty',
    urgency: 'high',
    severity: 'sev2',
    raw_severity: 'P2',
    status: 'resolved',
    raw_status: 'resolved',
    acknowledged_at: null,
    description: '',
    url: '',
    raw_event_id: 'e',
    version: 1,
    ...fields,
  };
}
