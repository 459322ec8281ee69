import type { WorkItemRow } from '../../schemas/domain.js';

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
