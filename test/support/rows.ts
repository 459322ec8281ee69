import type {
  DeploymentRow,
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
