/**
 * The rows of the domain tables (schemas/migrations/0004_domain.sql), as the mappers write them. Times
 * are ISO-8601 strings in UTC, dates 'YYYY-MM-DD'; `version` is built by rowVersion().
 */

interface Owned {
  team: string;
  program: string;
}

interface Versioned {
  raw_event_id: string;
  version: number;
}

interface Deletable {
  is_deleted: 0 | 1;
}

export type Iso = string;
export type IsoDate = string;

export interface RepositoryRow extends Owned, Versioned, Deletable {
  source: string;
  repo: string;
  name: string;
  url: string;
  default_branch: string;
  created_at: Iso | null;
  updated_at: Iso;
}

export type PullRequestState = 'open' | 'closed' | 'merged';

export interface PullRequestRow extends Owned, Versioned, Deletable {
  source: string;
  repo: string;
  number: number;
  pr_id: string;
  title: string;
  author: string;
  state: PullRequestState;
  raw_state: string;
  draft: 0 | 1;
  base_branch: string;
  head_branch: string;
  head_sha: string;
  merge_commit_sha: string;
  labels: string[];
  created_at: Iso;
  updated_at: Iso;
  merged_at: Iso | null;
  closed_at: Iso | null;
  url: string;
}

export interface PullRequestCommitsRow extends Versioned {
  source: string;
  repo: string;
  number: number;
  head_sha: string;
  shas: string[];
  authored_at: Iso[];
  fingerprints: string[];
}

export type ReviewState = 'approved' | 'changes_requested' | 'commented' | 'dismissed' | 'pending';

export interface ReviewRow extends Versioned {
  source: string;
  repo: string;
  number: number;
  review_id: string;
  reviewer: string;
  state: ReviewState;
  raw_state: string;
  submitted_at: Iso;
}

export interface CommitRow extends Owned, Versioned {
  source: string;
  repo: string;
  sha: string;
  parents: string[];
  parents_known: 0 | 1;
  author: string;
  authored_at: Iso;
  committed_at: Iso;
  fingerprint: string;
}

export interface DeploymentRow extends Owned, Versioned {
  source: string;
  deployment_id: string;
  repo: string;
  service: string;
  environment: string;
  is_production: 0 | 1;
  sha: string;
  ref: string;
  description: string;
  is_rollback: 0 | 1;
  created_at: Iso;
  url: string;
}

export type DeploymentState = 'queued' | 'in_progress' | 'success' | 'failure' | 'error' | 'cancelled' | 'inactive';

export interface DeploymentStatusRow extends Versioned {
  source: string;
  deployment_id: string;
  status_id: string;
  state: DeploymentState;
  raw_state: string;
  at: Iso;
}

export type RunStatus = 'queued' | 'running' | 'done';
export type RunResult = 'success' | 'failure' | 'cancelled' | 'skipped' | '';

export interface PipelineRunRow extends Owned, Versioned {
  source: string;
  run_id: string;
  repo: string;
  pipeline: string;
  name: string;
  sha: string;
  branch: string;
  trigger: string;
  status: RunStatus;
  result: RunResult;
  raw_result: string;
  attempt: number;
  created_at: Iso;
  started_at: Iso | null;
  finished_at: Iso | null;
  service: string;
  url: string;
}

export interface PipelineJobRow extends Owned, Versioned {
  source: string;
  job_id: string;
  run_id: string;
  repo: string;
  pipeline: string;
  name: string;
  sha: string;
  status: RunStatus;
  result: RunResult;
  raw_result: string;
  started_at: Iso | null;
  finished_at: Iso | null;
  url: string;
}

export type IncidentStatus = 'triggered' | 'acknowledged' | 'resolved';

export interface IncidentRow extends Owned, Versioned {
  source: string;
  incident_id: string;
  number: string;
  title: string;
  service_id: string;
  service: string;
  urgency: string;
  severity: string;
  raw_severity: string;
  status: IncidentStatus;
  raw_status: string;
  created_at: Iso;
  acknowledged_at: Iso | null;
  resolved_at: Iso | null;
  description: string;
  url: string;
}

export type IncidentEventKind = 'trigger' | 'acknowledge' | 'resolve' | 'escalate' | 'assign' | 'annotate' | 'other';

export interface IncidentEventRow extends Versioned {
  source: string;
  incident_id: string;
  event_id: string;
  kind: IncidentEventKind;
  raw_type: string;
  at: Iso;
}

export interface ServiceRow extends Owned, Versioned, Deletable {
  source: string;
  service_id: string;
  name: string;
  service: string;
}

export interface ReleaseRow extends Owned, Versioned, Deletable {
  source: string;
  release_id: string;
  repo: string;
  tag: string;
  name: string;
  is_draft: 0 | 1;
  is_prerelease: 0 | 1;
  created_at: Iso;
  published_at: Iso | null;
  service: string;
  url: string;
}

export type WorkItemKind = 'bug' | 'story' | 'task' | 'subtask' | 'epic' | 'risk' | 'decision' | 'action' | 'other';
export type StatusCategory = 'todo' | 'in_progress' | 'done';

export interface WorkItemRow extends Owned, Versioned, Deletable {
  source: string;
  item_id: string;
  key: string;
  project: string;
  type: string;
  kind: WorkItemKind;
  status: string;
  status_category: StatusCategory;
  priority: string;
  priority_rank: number;
  assignee: string;
  reporter: string;
  components: string[];
  labels: string[];
  due_date: IsoDate | null;
  start_date: IsoDate | null;
  fix_versions: string[];
  affects_versions: string[];
  sprints: string[];
  parent_id: string;
  story_points: number | null;
  /** The original estimate, in seconds (time tracking). */
  original_estimate_seconds: number | null;
  /** The time logged, in seconds (time tracking). */
  time_spent_seconds: number | null;
  severity: string;
  found_in: string;
  created_at: Iso;
  updated_at: Iso;
  resolved_at: Iso | null;
  resolution: string;
  summary: string;
  url: string;
}

export interface WorkItemHistoryRow extends Versioned {
  source: string;
  item_id: string;
  history_id: string;
  field: string;
  field_id: string;
  from_value: string;
  from_string: string;
  to_value: string;
  to_string: string;
  changed_at: Iso;
  author: string;
}

/** 'splits': the from item was split, the to item is a piece of it (Jira's "Work item split", once "Issue split"). */
export type LinkType = 'blocks' | 'relates' | 'duplicates' | 'clones' | 'splits' | 'other';

export interface WorkItemLinkRow extends Versioned, Deletable {
  source: string;
  from_key: string;
  to_key: string;
  link_type: LinkType;
  raw_type: string;
  link_id: string;
  from_item_id: string;
  to_item_id: string;
  created_at: Iso | null;
}

/** 'milestone': a GitHub or GitLab milestone ('milestone/<id>'), its issues the work items whose fix_versions name it. */
export type MilestoneKind = 'version' | 'sprint' | 'epic' | 'milestone';
export type MilestoneState = 'open' | 'active' | 'done' | 'archived';

export interface MilestoneRow extends Owned, Versioned, Deletable {
  source: string;
  milestone_id: string;
  kind: MilestoneKind;
  name: string;
  project: string;
  state: MilestoneState;
  raw_state: string;
  start_date: IsoDate | null;
  committed_date: IsoDate | null;
  completed_at: Iso | null;
  url: string;
}

export interface MilestoneDateRow extends Versioned {
  source: string;
  milestone_id: string;
  committed_date: IsoDate | null;
  observed_at: Iso;
  basis: 'snapshot' | 'changelog';
}

export type LifecycleEntity = 'pipeline_run' | 'pipeline_job' | 'pull_request' | 'incident' | 'work_item';

export interface LifecycleEventRow extends Versioned {
  source: string;
  entity: LifecycleEntity;
  entity_id: string;
  step: string;
  at: Iso;
}

/** The facts from outside the trackers (schemas/migrations/0021_program_facts.sql), from the ingest source. */
export interface ReadinessCheckRow extends Versioned, Deletable {
  program: string;
  release_name: string;
  check_name: string;
  status: 'pass' | 'fail' | 'waived';
  go_no_go: IsoDate;
  checked_at: Iso;
  rationale: string;
  owner: string;
}

export interface SurveyResponseRow extends Versioned, Deletable {
  survey: 'stakeholder_satisfaction' | 'engineering_sentiment';
  program: string;
  response: string;
  submitted_at: Iso;
  score: number;
  comment_count: number;
}

export interface OutcomeTargetRow extends Versioned {
  program: string;
  outcome: string;
  target: number;
  direction: 'at_least' | 'at_most';
  due: IsoDate;
  unit: string;
  set_at: Iso;
  rationale: string;
}

export interface OutcomeActualRow extends Versioned {
  program: string;
  outcome: string;
  observed_at: Iso;
  value: number;
  origin: 'import' | 'prometheus' | 'clickhouse';
}

export interface AdopterRow extends Versioned, Deletable {
  program: string;
  adopter: string;
  adopter_kind: 'team' | 'customer';
  target_date: IsoDate;
  enabled_at: Iso | null;
  jira_issue: string;
  jira_label: string;
}

export interface CostRowRow extends Versioned {
  row_id: string;
  charge_period_start: Iso;
  charge_period_end: Iso;
  billed_cost: number;
  effective_cost: number | null;
  currency: string;
  charge_category: string;
  provider: string;
  sub_account_id: string;
  sub_account_name: string;
  service_name: string;
  resource_id: string;
  tags: Record<string, string>;
}

/** Each domain table and the row type the mappers write to it. */
export interface DomainTables {
  repositories: RepositoryRow;
  pull_requests: PullRequestRow;
  pull_request_commits: PullRequestCommitsRow;
  reviews: ReviewRow;
  commits: CommitRow;
  deployments: DeploymentRow;
  deployment_statuses: DeploymentStatusRow;
  pipeline_runs: PipelineRunRow;
  pipeline_jobs: PipelineJobRow;
  incidents: IncidentRow;
  incident_events: IncidentEventRow;
  services: ServiceRow;
  releases: ReleaseRow;
  work_items: WorkItemRow;
  work_item_history: WorkItemHistoryRow;
  work_item_links: WorkItemLinkRow;
  milestones: MilestoneRow;
  milestone_dates: MilestoneDateRow;
  lifecycle_events: LifecycleEventRow;
  readiness_checks: ReadinessCheckRow;
  survey_responses: SurveyResponseRow;
  outcome_targets: OutcomeTargetRow;
  outcome_actuals: OutcomeActualRow;
  adopters: AdopterRow;
  cost_rows: CostRowRow;
}

export type DomainTable = keyof DomainTables;

/** The domain tables of vendor entities: every one but lifecycle_events (the step log of event-per-step sources). */
export const ENTITY_TABLES = [
  'repositories',
  'pull_requests',
  'pull_request_commits',
  'reviews',
  'commits',
  'deployments',
  'deployment_statuses',
  'pipeline_runs',
  'pipeline_jobs',
  'incidents',
  'incident_events',
  'services',
  'releases',
  'work_items',
  'work_item_history',
  'work_item_links',
  'milestones',
  'milestone_dates',
] as const satisfies readonly DomainTable[];
