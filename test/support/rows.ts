import type { DeploymentRow, WorkItemLinkRow, WorkItemRow } from '../../schemas/domain.js';

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
