/**
 * The demo's simulated world as plain data: commits, pull requests, landings on `main`, workflow runs,
 * deployments, releases and the incidents deployments cause. delivery.ts and pagerduty.ts fill it in;
 * github.ts, pagerduty.ts and jira.ts render it as vendor payloads.
 */
import type { MergeMethod, Person, Repo, Workflow } from './org.js';

export interface Window {
  start: number;
  now: number;
}

export interface GitCommit {
  sha: string;
  treeSha: string;
  /** `work`: written by a person; `merge`/`squash`: made by the merge button for `pr`. */
  role: 'work' | 'merge' | 'squash';
  pr?: PullRequest;
  message: string;
  author: Person;
  authoredAt: number;
  /** `null`: committed by GitHub itself (merge button, rebase merges), shown as web-flow. */
  committer: Person | null;
  committedAt: number;
  parents: string[];
  additions: number;
  deletions: number;
  changedFiles: number;
}

export interface Push {
  at: number;
  commits: GitCommit[];
  /** GitHub keeps a test merge commit for open pull requests; it is their `merge_commit_sha`. */
  testMergeSha: string;
}

export type ReviewState = 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED';

export interface Review {
  id: number;
  reviewer: Person;
  state: ReviewState;
  at: number;
  body: string;
}

export type PullRequestOutcome =
  { kind: 'merged'; at: number; method: MergeMethod; by: Person } | { kind: 'closed'; at: number; by: Person } | { kind: 'open' };

export interface PullRequest {
  repo: Repo;
  id: number;
  number: number;
  title: string;
  body: string;
  branch: string;
  labels: string[];
  author: Person;
  requestedReviewers: Person[];
  openedAt: number;
  pushes: Push[];
  reviews: Review[];
  outcome: PullRequestOutcome;
  landing?: Landing;
  /** The incident a hotfix pull request fixes. */
  fixes?: Incident;
}

/** New commits reaching `main` at one moment: a merged pull request or a direct push. */
export interface Landing {
  at: number;
  kind: MergeMethod | 'direct';
  pr?: PullRequest;
  commits: GitCommit[];
  pusher: Person;
}

export const landingHead = (l: Landing): GitCommit => l.commits[l.commits.length - 1]!;

export type Environment = 'production' | 'staging';
export type DeploymentKind = 'baseline' | 'regular' | 'retry' | 'rollback' | 'hotfix';
export type DeploymentState = 'in_progress' | 'success' | 'failure' | 'error';
export type DeploymentRef = { kind: 'branch'; name: string } | { kind: 'tag'; name: string } | { kind: 'sha' };

export interface DeploymentStatus {
  id: number;
  state: DeploymentState;
  at: number;
}

export interface Deployment {
  repo: Repo;
  id: number;
  env: Environment;
  kind: DeploymentKind;
  landing: Landing;
  ref: DeploymentRef;
  createdAt: number;
  statuses: DeploymentStatus[];
  run: WorkflowRun;
  release?: Release;
  rollbackTo?: Deployment;
  fixes?: Incident;
}

export const deploymentFinish = (d: Deployment): DeploymentStatus => d.statuses[d.statuses.length - 1]!;

export interface Release {
  repo: Repo;
  id: number;
  tag: string;
  landing: Landing;
  author: Person;
  publishedAt: number;
}

export type Conclusion = 'success' | 'failure';

export interface JobStep {
  name: string;
  startedAt: number;
  completedAt: number;
  conclusion: Conclusion | 'skipped';
}

export interface Job {
  id: number;
  name: string;
  startedAt: number;
  completedAt: number;
  conclusion: Conclusion;
  steps: JobStep[];
  runnerId: number;
}

export interface RunAttempt {
  attempt: number;
  startedAt: number;
  completedAt: number;
  conclusion: Conclusion;
  jobs: Job[];
}

export type RunTrigger =
  | { kind: 'pull_request'; pr: PullRequest; push: Push }
  | { kind: 'push'; landing: Landing }
  | { kind: 'deploy'; landing: Landing; ref: DeploymentRef };

export interface WorkflowRun {
  repo: Repo;
  id: number;
  checkSuiteId: number;
  workflow: Workflow;
  number: number;
  event: 'pull_request' | 'push' | 'workflow_dispatch';
  trigger: RunTrigger;
  actor: Person;
  createdAt: number;
  attempts: RunAttempt[];
}

export interface RepoDelivery {
  repo: Repo;
  /** Tip of `main` before the window; its history is not part of the demo. */
  preWindowSha: string;
  prs: PullRequest[];
  /** Sorted by time. */
  landings: Landing[];
  /** Tip of `main` after each landing. */
  heads: Array<{ at: number; sha: string }>;
  deployments: Deployment[];
  releases: Release[];
  runs: WorkflowRun[];
  incidents: Incident[];
}

export type ExplicitRef = 'sha' | 'pr' | 'deployment' | 'release';
export type PriorityName = 'P1' | 'P2' | 'P3' | 'P4';

export interface IncidentCause {
  deployment: Deployment;
  /** `explicit`: the title names the deployment (`ref` says how); `inferred`: only timing and service tie them. */
  link: 'explicit' | 'inferred';
  ref?: ExplicitRef;
}

export interface Incident {
  id: string;
  number: number;
  repo: Repo;
  cause?: IncidentCause;
  symptom: string;
  urgency: 'high' | 'low';
  priority: PriorityName;
  triggeredAt: number;
  acknowledgedAt?: number;
  resolvedAt?: number;
  responder: Person;
  /** Resolved by the monitoring integration (the alert cleared), not by a person. */
  autoResolved: boolean;
  incidentKey: string;
  logEntryIds: { trigger: string; acknowledge: string; resolve: string };
}
