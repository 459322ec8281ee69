import { z } from 'zod';
import type {
  CommitRow,
  DeploymentRow,
  DeploymentState,
  MilestoneDateRow,
  MilestoneRow,
  MilestoneState,
  PipelineJobRow,
  PipelineRunRow,
  PullRequestState,
  ReviewState,
  RunResult,
  RunStatus,
  WorkItemHistoryRow,
  WorkItemKind,
  WorkItemRow,
} from '../../schemas/domain.js';
import type { RawEvent } from '../../schemas/raw-event.js';
import {
  drop,
  MappingError,
  ok,
  parsePayload,
  type FieldNotes,
  type MapContext,
  type Mapper,
  type Requirement,
  type SourceMappers,
} from '../../mapping/registry.js';
import { repoName } from '../../mapping/org-index.js';
import {
  commitFingerprint,
  iso,
  isoDate,
  isoOrNull,
  isProduction,
  ownerColumns,
  rankedVersion,
  rowsOf,
  rowVersion,
} from '../../mapping/rows.js';
import { HISTORY_EVENTS, jobTime, releaseTime } from './records.js';

/**
 * GitHub entities arrive as the REST object (pull) or inside a webhook delivery (the whole body, the
 * entity under its event's key: pull_request, review, deployment, ...). The shape is told by that key,
 * so a replay of stored events maps the same way whatever connector published them. Both shapes are
 * read through the same schema (the webhook entity is the REST object), and the repository and ids
 * come from the event subject, which the connector builds the same way for both.
 */

// ---------------------------------------------------------------------------------------------
// Shared helpers

const SOURCE = 'github';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The entity in a payload: under `key` in a webhook delivery, else the REST object itself; `at` names where. */
function entity<S extends z.ZodType>(schema: S, event: RawEvent, key: string): z.infer<S> {
  const data = event.data;
  if (isObject(data) && isObject(data[key])) return parsePayload(schema, data[key], event, key);
  return parsePayload(schema, data, event);
}

const isDelivery = (event: RawEvent, key: string): boolean => isObject(event.data) && isObject(event.data[key]);
/** A delivery's action ('deleted', 'completed', ...); a REST object has none. */
const actionOf = (event: RawEvent): unknown => (isObject(event.data) ? event.data['action'] : undefined);

/** The parts of an event subject (repository lower-case, as in subjects.github*), or a dead letter. */
function subjectOf(event: RawEvent, pattern: RegExp): string[] {
  const m = pattern.exec(event.subject);
  if (m === null) throw new MappingError('invalid_subject', `${event.type} ${event.subject}: not a ${event.type} subject`);
  return m.slice(1).map((p) => p ?? '');
}

const SUBJECT = {
  repository: /^([^/@#]+\/[^/@#]+)$/,
  pullRequest: /^([^/@#]+\/[^/@#]+)#(\d+)$/,
  review: /^([^/@#]+\/[^/@#]+)#(\d+)\/reviews\/(\d+)$/,
  commit: /^([^/@#]+\/[^/@#]+)@([0-9a-f]+)$/i,
  deployment: /^([^/@#]+\/[^/@#]+)\/deployments\/(\d+)$/,
  deploymentStatus: /^([^/@#]+\/[^/@#]+)\/deployments\/(\d+)\/statuses\/(\d+)$/,
  release: /^([^/@#]+\/[^/@#]+)\/releases\/(\d+)$/,
  workflowRun: /^([^/@#]+\/[^/@#]+)\/actions\/runs\/(\d+)$/,
  workflowJob: /^([^/@#]+\/[^/@#]+)\/actions\/jobs\/(\d+)$/,
  milestone: /^([^/@#]+\/[^/@#]+)\/milestones\/(\d+)$/,
  issue: /^([^/@#]+\/[^/@#]+)\/issues\/(\d+)$/,
  issueEvent: /^([^/@#]+\/[^/@#]+)\/issues\/events\/(\d+)$/,
};

const repoOwner = (ctx: MapContext, repo: string) => ctx.owners.owner('repository', repo);

const time = z.string();
const account = z.object({ login: z.string() }).nullish();
/** A GitHub account as a stored person id (the login is the account the people mapping lists). */
const person = (ctx: MapContext, user: z.infer<typeof account>): string => ctx.people.id('github', user?.login);

// ---------------------------------------------------------------------------------------------
// Repositories

const repository = z.object({
  full_name: z.string(),
  name: z.string(),
  html_url: z.string(),
  default_branch: z.string().nullish(),
  created_at: time.nullish(),
  updated_at: time,
});

const mapRepository: Mapper = (event, ctx) => {
  const [repo = ''] = subjectOf(event, SUBJECT.repository);
  const data = event.data;
  // GET /repos/{o}/{r} is the repository itself; a delivery (a repository or pull_request event) carries it.
  const r =
    isObject(data) && typeof data['full_name'] === 'string'
      ? parsePayload(repository, data, event)
      : entity(repository, event, 'repository');
  // A repository event with action 'deleted' records the deletion; it sorts above the last live version.
  const deleted = !isDelivery(event, 'pull_request') && actionOf(event) === 'deleted';
  const at = iso(r.updated_at, 'repository.updated_at');
  return ok([
    rowsOf('repositories', [
      {
        source: SOURCE,
        repo,
        name: r.name,
        url: r.html_url,
        default_branch: r.default_branch ?? '',
        created_at: isoOrNull(r.created_at, 'repository.created_at'),
        updated_at: at,
        ...ownerColumns(repoOwner(ctx, r.full_name)),
        raw_event_id: event.id,
        version: rowVersion(at, deleted ? 1 : 0),
        is_deleted: deleted ? 1 : 0,
      },
    ]),
  ]);
};

// ---------------------------------------------------------------------------------------------
// Pull requests, their commit lists and reviews

const pullRequest = z.object({
  id: z.number(),
  title: z.string(),
  user: account,
  state: z.string(),
  draft: z.boolean().nullish(),
  base: z.object({ ref: z.string() }),
  head: z.object({ ref: z.string(), sha: z.string() }),
  merge_commit_sha: z.string().nullish(),
  labels: z.array(z.object({ name: z.string() })).nullish(),
  created_at: time,
  updated_at: time,
  merged_at: time.nullish(),
  closed_at: time.nullish(),
  html_url: z.string(),
});

const mapPullRequest: Mapper = (event, ctx) => {
  const [repo = '', number = ''] = subjectOf(event, SUBJECT.pullRequest);
  const pr = entity(pullRequest, event, 'pull_request');
  const at = iso(pr.updated_at, 'pull_request.updated_at');
  const mergedAt = isoOrNull(pr.merged_at, 'pull_request.merged_at');
  const closedAt = isoOrNull(pr.closed_at, 'pull_request.closed_at');
  // GitHub's state is open or closed; a merged pull request is closed with merged_at set.
  const state: PullRequestState = mergedAt !== null ? 'merged' : closedAt !== null ? 'closed' : 'open';
  return ok([
    rowsOf('pull_requests', [
      {
        source: SOURCE,
        repo,
        number: Number(number),
        pr_id: String(pr.id),
        title: pr.title,
        author: person(ctx, pr.user),
        state,
        raw_state: pr.state,
        draft: pr.draft === true ? 1 : 0,
        base_branch: pr.base.ref,
        head_branch: pr.head.ref,
        head_sha: pr.head.sha,
        merge_commit_sha: pr.merge_commit_sha ?? '',
        labels: (pr.labels ?? []).map((l) => l.name),
        created_at: iso(pr.created_at, 'pull_request.created_at'),
        updated_at: at,
        merged_at: mergedAt,
        closed_at: closedAt,
        ...ownerColumns(repoOwner(ctx, repo)),
        url: pr.html_url,
        raw_event_id: event.id,
        version: rowVersion(at),
        is_deleted: 0,
      },
    ]),
  ]);
};

/** A commit as GET /commits, GET /commits/{sha} and GET /pulls/{n}/commits list it. */
const restCommit = z.object({
  sha: z.string(),
  commit: z.object({
    author: z.object({ date: time }),
    committer: z.object({ date: time }).nullish(),
    message: z.string(),
  }),
  author: account,
  parents: z.array(z.object({ sha: z.string() })),
});

/**
 * Which commit shape wins for one sha: a commit never changes, so its version is the shape's rank,
 * then the time of the event that carried it (rankedVersion). The REST object reads the parents from
 * the commit itself and always outranks a push commit, whose parents are inferred; among events of one
 * shape the latest is cited, the same on every replay.
 */
const COMMIT_SHAPE_RANK = { push: 1, rest: 2 } as const;

function restCommitRow(c: z.infer<typeof restCommit>, repo: string, event: RawEvent, ctx: MapContext, field: string): CommitRow {
  const authoredAt = iso(c.commit.author.date, `${field}commit.author.date`);
  return {
    source: SOURCE,
    repo,
    sha: c.sha,
    parents: c.parents.map((p) => p.sha),
    parents_known: 1,
    author: person(ctx, c.author),
    authored_at: authoredAt,
    committed_at: iso(c.commit.committer?.date ?? c.commit.author.date, `${field}commit.committer.date`),
    fingerprint: commitFingerprint(authoredAt, c.commit.message),
    ...ownerColumns(repoOwner(ctx, repo)),
    raw_event_id: event.id,
    version: rankedVersion(COMMIT_SHAPE_RANK.rest, event.time),
  };
}

const restCommitList = z.array(restCommit).min(1);

/** GET /pulls/{n}/commits (oldest first): one row for the list, and a commits row for each commit. */
const mapPullRequestCommits: Mapper = (event, ctx) => {
  const [repo = '', number = ''] = subjectOf(event, SUBJECT.pullRequest);
  const list = parsePayload(restCommitList, event.data, event);
  const commits = list.map((c, i) => restCommitRow(c, repo, event, ctx, `${i}.`));
  return ok([
    rowsOf('pull_request_commits', [
      {
        source: SOURCE,
        repo,
        number: Number(number),
        head_sha: commits[commits.length - 1]?.sha ?? '',
        shas: commits.map((c) => c.sha),
        authored_at: commits.map((c) => c.authored_at),
        fingerprints: commits.map((c) => c.fingerprint),
        raw_event_id: event.id,
        // The list as the pull request was when it was read (the event time is the pull request's
        // updated_at), so a later read, after a force push, replaces it.
        version: rowVersion(event.time),
      },
    ]),
    rowsOf('commits', commits),
  ]);
};

/**
 * Review states (REST upper-case, webhooks lower-case) -> the table's state, with a rank so that a
 * dismissal, which keeps the review's submitted_at, outranks the state it replaces.
 */
const REVIEW_STATE: Record<string, { state: ReviewState; rank: number }> = {
  PENDING: { state: 'pending', rank: 0 },
  COMMENTED: { state: 'commented', rank: 1 },
  CHANGES_REQUESTED: { state: 'changes_requested', rank: 1 },
  APPROVED: { state: 'approved', rank: 1 },
  DISMISSED: { state: 'dismissed', rank: 2 },
};

const review = z.object({
  user: account,
  // Kept upper-case in raw_state, as the REST API spells it, so both shapes give the same row.
  state: z
    .string()
    .transform((s) => s.toUpperCase())
    .pipe(z.enum(Object.keys(REVIEW_STATE) as [string, ...string[]])),
  submitted_at: time,
});

const mapReview: Mapper = (event, ctx) => {
  const [repo = '', number = '', reviewId = ''] = subjectOf(event, SUBJECT.review);
  const r = entity(review, event, 'review');
  const s = REVIEW_STATE[r.state]!;
  const at = iso(r.submitted_at, 'review.submitted_at');
  return ok([
    rowsOf('reviews', [
      {
        source: SOURCE,
        repo,
        number: Number(number),
        review_id: reviewId,
        reviewer: person(ctx, r.user),
        state: s.state,
        raw_state: r.state,
        submitted_at: at,
        raw_event_id: event.id,
        version: rowVersion(at, s.rank),
      },
    ]),
  ]);
};

// ---------------------------------------------------------------------------------------------
// Commits of the default branch

const push = z.object({
  before: z.string(),
  commits: z.array(
    z.object({
      id: z.string(),
      message: z.string(),
      timestamp: time,
      author: z.object({ username: z.string().nullish() }).nullish(),
    }),
  ),
});

const NO_COMMIT = /^0+$/;

/**
 * A push delivery lists its commits oldest first without their parents: each commit's parent is taken
 * to be the one listed before it (the push's `before` for the first), which holds for a linear push;
 * parents_known = 0 says so. The push gives one time per commit (`timestamp`), used as both authored
 * and committed time.
 */
function pushCommitRow(event: RawEvent, ctx: MapContext, repo: string, sha: string): CommitRow {
  const p = parsePayload(push, event.data, event);
  const i = p.commits.findIndex((c) => c.id.toLowerCase() === sha.toLowerCase());
  const c = p.commits[i];
  if (c === undefined) throw new MappingError('invalid_payload', `${event.type} ${event.subject}: field 'commits': no commit ${sha}`);
  const parent = i > 0 ? p.commits[i - 1]!.id : p.before;
  const at = iso(c.timestamp, `commits.${i}.timestamp`);
  return {
    source: SOURCE,
    repo,
    sha: c.id,
    parents: NO_COMMIT.test(parent) ? [] : [parent],
    parents_known: 0,
    author: ctx.people.id('github', c.author?.username),
    authored_at: at,
    committed_at: at,
    fingerprint: commitFingerprint(at, c.message),
    ...ownerColumns(repoOwner(ctx, repo)),
    raw_event_id: event.id,
    version: rankedVersion(COMMIT_SHAPE_RANK.push, event.time),
  };
}

const mapCommit: Mapper = (event, ctx) => {
  const [repo = '', sha = ''] = subjectOf(event, SUBJECT.commit);
  const row =
    isObject(event.data) && Array.isArray(event.data['commits'])
      ? pushCommitRow(event, ctx, repo, sha)
      : restCommitRow(parsePayload(restCommit, event.data, event), repo, event, ctx, '');
  return ok([rowsOf('commits', [row])]);
};

// ---------------------------------------------------------------------------------------------
// Deployments and their statuses

const deployment = z.object({
  id: z.number(),
  sha: z.string(),
  ref: z.string(),
  environment: z.string(),
  description: z.string().nullish(),
  payload: z.unknown(),
  created_at: time,
  updated_at: time,
  url: z.string(),
});

/** The `service` a deployment's payload names, if any (the payload is free JSON, or a JSON string). */
function payloadService(payload: unknown): string | undefined {
  let p = payload;
  if (typeof p === 'string') {
    try {
      p = JSON.parse(p) as unknown;
    } catch {
      return undefined;
    }
  }
  return isObject(p) && typeof p['service'] === 'string' && p['service'] !== '' ? p['service'] : undefined;
}

/**
 * A deployment's row. A status delivery carries the deployment too, with the same updated_at as the
 * deployment event of that moment: the deployment event's own row (tiebreak 1) is the one kept.
 */
function deploymentRow(d: z.infer<typeof deployment>, repo: string, event: RawEvent, ctx: MapContext, tiebreak: 0 | 1): DeploymentRow {
  const mapped = ctx.owners.service({ name: payloadService(d.payload), repository: repo });
  return {
    source: SOURCE,
    deployment_id: String(d.id),
    repo,
    service: mapped?.service ?? repoName(repo),
    environment: d.environment,
    is_production: isProduction(d.environment, ctx.model) ? 1 : 0,
    sha: d.sha,
    ref: d.ref,
    description: d.description ?? '',
    // Whether a deployment rolls back is decided from the commit graph once deployments are linked.
    is_rollback: 0,
    created_at: iso(d.created_at, 'deployment.created_at'),
    ...ownerColumns(mapped ?? repoOwner(ctx, repo)),
    // A deployment has no web page of its own: its API address identifies it.
    url: d.url,
    raw_event_id: event.id,
    version: rowVersion(iso(d.updated_at, 'deployment.updated_at'), tiebreak),
  };
}

const mapDeployment: Mapper = (event, ctx) => {
  const [repo = ''] = subjectOf(event, SUBJECT.deployment);
  return ok([rowsOf('deployments', [deploymentRow(entity(deployment, event, 'deployment'), repo, event, ctx, 1)])]);
};

/** GitHub deployment status states -> the table's states ('pending' is GitHub's older word for queued). */
const DEPLOYMENT_STATE: Record<string, DeploymentState> = {
  pending: 'queued',
  queued: 'queued',
  in_progress: 'in_progress',
  success: 'success',
  failure: 'failure',
  error: 'error',
  inactive: 'inactive',
};

const deploymentStatus = z.object({
  state: z.enum(Object.keys(DEPLOYMENT_STATE) as [string, ...string[]]),
  created_at: time,
});

const mapDeploymentStatus: Mapper = (event, ctx) => {
  const [repo = '', deploymentId = '', statusId = ''] = subjectOf(event, SUBJECT.deploymentStatus);
  const s = entity(deploymentStatus, event, 'deployment_status');
  const at = iso(s.created_at, 'deployment_status.created_at');
  const rows = [
    rowsOf('deployment_statuses', [
      {
        source: SOURCE,
        deployment_id: deploymentId,
        status_id: statusId,
        state: DEPLOYMENT_STATE[s.state]!,
        raw_state: s.state,
        at,
        raw_event_id: event.id,
        // A status never changes: each is its own row.
        version: rowVersion(at),
      },
    ]),
  ];
  // The delivery also carries the deployment as it is now: the same row a deployment event gives.
  if (isDelivery(event, 'deployment'))
    rows.push(rowsOf('deployments', [deploymentRow(entity(deployment, event, 'deployment'), repo, event, ctx, 0)]));
  return ok(rows);
};

// ---------------------------------------------------------------------------------------------
// Releases

const release = z.object({
  id: z.number(),
  tag_name: z.string(),
  name: z.string().nullish(),
  draft: z.boolean(),
  prerelease: z.boolean(),
  created_at: time,
  published_at: time.nullish(),
  updated_at: time.nullish(),
  html_url: z.string(),
});

const mapRelease: Mapper = (event, ctx) => {
  const [repo = '', releaseId = ''] = subjectOf(event, SUBJECT.release);
  const r = entity(release, event, 'release');
  const deleted = isDelivery(event, 'release') && actionOf(event) === 'deleted';
  const mapped = ctx.owners.service({ repository: repo });
  return ok([
    rowsOf('releases', [
      {
        source: SOURCE,
        release_id: releaseId,
        repo,
        tag: r.tag_name,
        name: r.name ?? '',
        is_draft: r.draft ? 1 : 0,
        is_prerelease: r.prerelease ? 1 : 0,
        created_at: iso(r.created_at, 'release.created_at'),
        published_at: isoOrNull(r.published_at, 'release.published_at'),
        service: mapped?.service ?? '',
        ...ownerColumns(mapped ?? repoOwner(ctx, repo)),
        url: r.html_url,
        raw_event_id: event.id,
        // A deletion carries the release's last time: it sorts just above that live version.
        version: rowVersion(iso(releaseTime(r), 'release.updated_at'), deleted ? 1 : 0),
        is_deleted: deleted ? 1 : 0,
      },
    ]),
  ]);
};

// ---------------------------------------------------------------------------------------------
// GitHub Actions: workflow runs and jobs

/** Run and job statuses -> the table's status, ranked so that versions within one millisecond order by lifecycle. */
const RUN_STATUS: Record<string, { status: RunStatus; rank: number }> = {
  requested: { status: 'queued', rank: 1 },
  waiting: { status: 'queued', rank: 1 },
  pending: { status: 'queued', rank: 1 },
  queued: { status: 'queued', rank: 1 },
  in_progress: { status: 'running', rank: 2 },
  completed: { status: 'done', rank: 3 },
};

/**
 * Conclusions -> the table's result. Any other conclusion of a finished run (action_required, stale,
 * one GitHub adds later) counts as a failure: it did not pass. raw_result keeps the conclusion.
 */
const RESULT: Record<string, RunResult> = {
  success: 'success',
  failure: 'failure',
  timed_out: 'failure',
  startup_failure: 'failure',
  cancelled: 'cancelled',
  skipped: 'skipped',
  neutral: 'skipped',
};

const runStatus = z.enum(Object.keys(RUN_STATUS) as [string, ...string[]]);

function outcome(status: string, conclusion: string | null | undefined): { status: RunStatus; result: RunResult; rank: number } {
  const s = RUN_STATUS[status]!;
  const result = s.status !== 'done' ? '' : (RESULT[conclusion ?? ''] ?? 'failure');
  return { ...s, result };
}

const workflowRun = z.object({
  id: z.number(),
  name: z.string().nullish(),
  path: z.string().nullish(),
  head_sha: z.string(),
  head_branch: z.string().nullish(),
  event: z.string(),
  status: runStatus,
  conclusion: z.string().nullish(),
  run_attempt: z.number().nullish(),
  created_at: time,
  updated_at: time,
  run_started_at: time.nullish(),
  html_url: z.string(),
  repository: z.object({ full_name: z.string() }),
});

/** The pipeline as the org mapping's ci.pipelines names it: github:<owner/repo>:<workflow file>. */
const pipelineOf = (fullName: string, path: string): string => `github:${fullName}:${path.slice(path.lastIndexOf('/') + 1)}`;

/** The workflow file: the run's path, or in older deliveries that lack it, the delivery's workflow. */
function workflowPath(run: z.infer<typeof workflowRun>, event: RawEvent): string {
  if (run.path !== undefined && run.path !== null && run.path !== '') return run.path;
  const workflow = isObject(event.data) ? event.data['workflow'] : undefined;
  if (isObject(workflow) && typeof workflow['path'] === 'string' && workflow['path'] !== '') return workflow['path'];
  throw new MappingError('invalid_payload', `${event.type} ${event.subject}: field 'workflow_run.path': expected string`);
}

const mapWorkflowRun: Mapper = (event, ctx) => {
  const [repo = '', runId = ''] = subjectOf(event, SUBJECT.workflowRun);
  const run = entity(workflowRun, event, 'workflow_run');
  const o = outcome(run.status, run.conclusion);
  const updatedAt = iso(run.updated_at, 'workflow_run.updated_at');
  const pipeline = pipelineOf(run.repository.full_name, workflowPath(run, event));
  const mapped = ctx.owners.service({ pipeline, repository: repo });
  const row: PipelineRunRow = {
    source: SOURCE,
    // A re-run keeps the run id (run_attempt counts): the latest attempt's version wins.
    run_id: runId,
    repo,
    pipeline,
    name: run.name ?? '',
    sha: run.head_sha,
    branch: run.head_branch ?? '',
    trigger: run.event,
    status: o.status,
    result: o.result,
    raw_result: run.conclusion ?? '',
    attempt: run.run_attempt ?? 1,
    created_at: iso(run.created_at, 'workflow_run.created_at'),
    started_at: isoOrNull(run.run_started_at, 'workflow_run.run_started_at'),
    // A finished run's last update is its completion.
    finished_at: o.status === 'done' ? updatedAt : null,
    service: mapped?.service ?? '',
    ...ownerColumns(
      ctx.owners.firstOwner([
        ['ciPipeline', pipeline],
        ['repository', repo],
      ]),
    ),
    url: run.html_url,
    raw_event_id: event.id,
    version: rowVersion(updatedAt, o.rank),
  };
  return ok([rowsOf('pipeline_runs', [row])]);
};

const workflowJob = z.object({
  id: z.number(),
  run_id: z.number(),
  name: z.string(),
  head_sha: z.string(),
  status: runStatus,
  conclusion: z.string().nullish(),
  created_at: time.optional(),
  started_at: time.nullish(),
  completed_at: time.nullish(),
  html_url: z.string().nullish(),
});

const mapWorkflowJob: Mapper = (event, ctx) => {
  const [repo = '', jobId = ''] = subjectOf(event, SUBJECT.workflowJob);
  const job = entity(workflowJob, event, 'workflow_job');
  const o = outcome(job.status, job.conclusion);
  const row: PipelineJobRow = {
    source: SOURCE,
    job_id: jobId,
    run_id: String(job.run_id),
    repo,
    // A job names its workflow but not the workflow's file, which the pipeline is keyed by: the run
    // (by run_id) has it.
    pipeline: '',
    name: job.name,
    sha: job.head_sha,
    status: o.status,
    result: o.result,
    raw_result: job.conclusion ?? '',
    started_at: isoOrNull(job.started_at, 'workflow_job.started_at'),
    finished_at: o.status === 'done' ? isoOrNull(job.completed_at, 'workflow_job.completed_at') : null,
    ...ownerColumns(repoOwner(ctx, repo)),
    url: job.html_url ?? '',
    raw_event_id: event.id,
    version: rowVersion(iso(jobTime(job), 'workflow_job.completed_at'), o.rank),
  };
  return ok([rowsOf('pipeline_jobs', [row])]);
};

// ---------------------------------------------------------------------------------------------
// Milestones, issues and issue events: the plan a repository keeps

/** A GitHub time: the payload's text when it parses as one. */
const githubTime = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'expected a timestamp');

/** What a milestone cannot exist without; the rest is read field by field. */
const milestoneMinimum = z.looseObject({ id: z.number().int(), updated_at: githubTime });
/** What an issue cannot exist without. */
const issueMinimum = z.looseObject({ id: z.number().int(), number: z.number().int(), updated_at: githubTime });
/** What an issue event cannot exist without: the issue it is about is read from it (null when the issue is gone). */
const issueEventMinimum = z.looseObject({ id: z.number().int(), event: z.string(), created_at: githubTime });

/** The milestone's state: GitHub's open or closed. */
const MILESTONE_STATE: Record<string, MilestoneState> = { open: 'open', closed: 'done' };

/** Reads a field of `obj` (at `at` in the payload) with `schema`, or `empty` and a note naming it. */
const reader =
  (obj: Record<string, unknown>, at: string, notes: FieldNotes) =>
  <S extends z.ZodType, F>(schema: S, key: string, empty: F): z.infer<S> | F =>
    notes.read(schema, obj[key], `${at}.${key}`, empty);

const mapMilestone: Mapper = (event, ctx, notes) => {
  const [repo = '', id = ''] = subjectOf(event, SUBJECT.milestone);
  const m = entity(milestoneMinimum, event, 'milestone');
  const read = reader(m, 'milestone', notes);
  const deleted = isDelivery(event, 'milestone') && actionOf(event) === 'deleted';
  const rawState = read(z.string(), 'state', '');
  let state = MILESTONE_STATE[rawState];
  const closedAt = isoOrNull(read(githubTime.nullish(), 'closed_at', null), 'milestone.closed_at');
  if (state === undefined) {
    notes.note('milestone.state', `unknown state '${rawState}': read from closed_at`);
    state = closedAt !== null ? 'done' : 'open';
  }
  // GitHub keeps a due date as an instant at the start of that day in the Pacific zone: its UTC date is the day.
  const committed = isoDate(read(githubTime.nullish(), 'due_on', null), 'milestone.due_on');
  const at = iso(m.updated_at, 'milestone.updated_at');
  const version = rowVersion(at, deleted ? 1 : 0);
  const milestoneId = `milestone/${id}`;
  const row: MilestoneRow = {
    source: SOURCE,
    milestone_id: milestoneId,
    kind: 'milestone',
    name: read(z.string(), 'title', ''),
    project: repo,
    state,
    raw_state: rawState,
    start_date: null,
    committed_date: committed,
    completed_at: state === 'done' ? closedAt : null,
    ...ownerColumns(repoOwner(ctx, repo)),
    url: read(z.string(), 'html_url', ''),
    raw_event_id: event.id,
    version,
    is_deleted: deleted ? 1 : 0,
  };
  // The due date as it stood at the milestone's last update: GitHub keeps no history of it.
  const snapshot: MilestoneDateRow = {
    source: SOURCE,
    milestone_id: milestoneId,
    committed_date: committed,
    observed_at: at,
    basis: 'snapshot',
    raw_event_id: event.id,
    version,
  };
  return ok([rowsOf('milestones', [row]), rowsOf('milestone_dates', deleted ? [] : [snapshot])]);
};

const label = z.union([z.string(), z.looseObject({ name: z.string() })]).transform((l) => (typeof l === 'string' ? l : l.name));

/** A label naming a kind: 'bug', or with a prefix as many repositories write it ('type: bug', 'kind/bug'). */
const labelWord = (l: string): string =>
  l
    .slice(Math.max(l.lastIndexOf(':'), l.lastIndexOf('/')) + 1)
    .trim()
    .toLowerCase();

/**
 * An issue's kind: its issue type (an organisation's issue types: Bug, Task, Feature...) as the model's
 * type names map it; else 'bug' when a label names one of the model's bug types; else 'story'.
 */
function issueKind(type: string, labels: string[], ctx: MapContext): WorkItemKind {
  const types = ctx.model.workItems.types;
  if (type !== '') {
    for (const [kind, names] of Object.entries(types))
      if (names.some((n) => n.toLowerCase() === type.toLowerCase())) return kind as WorkItemKind;
  }
  const bugs = new Set(types.bug.map((n) => n.toLowerCase()));
  return labels.some((l) => bugs.has(l.toLowerCase()) || bugs.has(labelWord(l))) ? 'bug' : 'story';
}

const mapIssue: Mapper = (event, ctx, notes) => {
  const [repo = '', number = ''] = subjectOf(event, SUBJECT.issue);
  const i = entity(issueMinimum, event, 'issue');
  if (i['pull_request'] !== undefined && i['pull_request'] !== null)
    return drop('a pull request listed as an issue: the pull_requests stream has it');
  const read = reader(i, 'issue', notes);
  const deleted = isDelivery(event, 'issue') && actionOf(event) === 'deleted';
  const updatedAt = iso(i.updated_at, 'issue.updated_at');
  const closedAt = isoOrNull(read(githubTime.nullish(), 'closed_at', null), 'issue.closed_at');
  let state = read(z.enum(['open', 'closed']), 'state', undefined);
  if (state === undefined) state = closedAt !== null ? 'closed' : 'open';
  let created = read(githubTime.optional(), 'created_at', undefined);
  if (created === undefined) {
    notes.note('issue.created_at', 'missing: updated_at stands in as the latest possible creation');
    created = i.updated_at;
  }
  const labels = (read(z.array(z.unknown()).nullish(), 'labels', null) ?? []).flatMap((l, n) => {
    const name = notes.read(label, l, `issue.labels[${n}]`, undefined);
    return name === undefined ? [] : [name];
  });
  const type = read(z.looseObject({ name: z.string() }).nullish(), 'type', null)?.name ?? '';
  const milestone = read(z.looseObject({ id: z.number().int() }).nullish(), 'milestone', null);
  const reason = read(z.string().nullish(), 'state_reason', null) ?? '';
  const row: WorkItemRow = {
    source: SOURCE,
    item_id: String(i.id),
    key: `${repo}#${number}`,
    project: repo,
    type: type !== '' ? type : 'Issue',
    kind: issueKind(type, labels, ctx),
    status: state,
    status_category: state === 'closed' ? 'done' : 'todo',
    priority: '',
    priority_rank: 0,
    assignee: person(ctx, read(account, 'assignee', null)),
    reporter: person(ctx, read(account, 'user', null)),
    components: [],
    labels,
    due_date: null,
    start_date: null,
    fix_versions: milestone === null || milestone === undefined ? [] : [`milestone/${milestone.id}`],
    affects_versions: [],
    sprints: [],
    parent_id: '',
    story_points: null,
    original_estimate_seconds: null,
    time_spent_seconds: null,
    severity: '',
    found_in: '',
    created_at: iso(created, 'issue.created_at'),
    updated_at: updatedAt,
    // Closed as completed, not planned or duplicate: done either way, the reason kept as the resolution.
    resolved_at: state === 'closed' ? (closedAt ?? updatedAt) : null,
    resolution: state === 'closed' ? reason : '',
    summary: read(z.string(), 'title', ''),
    ...ownerColumns(repoOwner(ctx, repo)),
    url: read(z.string(), 'html_url', ''),
    raw_event_id: event.id,
    version: rowVersion(updatedAt, deleted ? 1 : 0),
    is_deleted: deleted ? 1 : 0,
  };
  return ok([rowsOf('work_items', [row])]);
};

/**
 * An issue event as history: closed and reopened are status changes between 'open' and 'closed' (the
 * status names the issue rows carry, so history and rows agree on the categories: to do and done);
 * milestoned and demilestoned move the issue into or out of a milestone (field_id 'milestone', the
 * milestone's id before and after, '' for none). GitHub names the milestone by its title only; the
 * issue events stream adds the id of the repository's milestone of that title. A move whose milestone
 * has no id is left out, with a note naming the title.
 */
const mapIssueEvent: Mapper = (event, ctx, notes) => {
  subjectOf(event, SUBJECT.issueEvent);
  const e = parsePayload(issueEventMinimum, event.data, event);
  if (!HISTORY_EVENTS.has(e.event)) return drop(`issue event '${e.event}' is not history the model keeps`);
  const issue = parsePayload(z.looseObject({ id: z.number().int() }).nullish(), e['issue'], event, 'issue');
  if (issue === null || issue === undefined) return drop(`issue event ${e.id}: the issue it is about is gone`);
  if (issue['pull_request'] !== undefined && issue['pull_request'] !== null) return drop(`issue event ${e.id} is about a pull request`);
  const at = iso(e.created_at, 'created_at');
  const base = {
    source: SOURCE,
    item_id: String(issue.id),
    history_id: String(e.id),
    changed_at: at,
    author: person(ctx, notes.read(account, e['actor'], 'actor', null)),
    raw_event_id: event.id,
    version: rowVersion(at),
  };
  if (e.event === 'closed' || e.event === 'reopened') {
    const [from, to] = e.event === 'closed' ? ['open', 'closed'] : ['closed', 'open'];
    const row: WorkItemHistoryRow = {
      ...base,
      field: 'status',
      field_id: 'status',
      from_value: from,
      from_string: from,
      to_value: to,
      to_string: to,
    };
    return ok([rowsOf('work_item_history', [row])]);
  }
  const m = notes.read(
    z.looseObject({ title: z.string().optional(), id: z.number().int().optional() }),
    e['milestone'],
    'milestone',
    undefined,
  );
  if (m === undefined) return ok();
  if (m.id === undefined) {
    notes.note(
      'milestone.id',
      `no milestone of the repository is titled '${m.title ?? ''}' (renamed or deleted since): the move is left out`,
    );
    return ok();
  }
  const id = String(m.id);
  const title = m.title ?? '';
  const [fromValue, fromString, toValue, toString] = e.event === 'milestoned' ? ['', '', id, title] : [id, title, '', ''];
  const row: WorkItemHistoryRow = {
    ...base,
    field: 'milestone',
    field_id: 'milestone',
    from_value: fromValue,
    from_string: fromString,
    to_value: toValue,
    to_string: toString,
  };
  return ok([rowsOf('work_item_history', [row])]);
};

/** What each of these entities cannot exist without, in either shape (a REST object or a delivery). */
const required =
  (schema: z.ZodType, key: string): Requirement =>
  (data, event) => {
    const delivery = isObject(data) && isObject(data[key]);
    parsePayload(schema, delivery ? data[key] : data, event, delivery ? key : '');
  };

export const githubMappers: SourceMappers = {
  source: 'github',
  required: {
    'github.milestone': required(milestoneMinimum, 'milestone'),
    'github.issue': required(issueMinimum, 'issue'),
    'github.issue_event': (data, event) => void parsePayload(issueEventMinimum, data, event),
  },
  mappers: {
    'github.repository': mapRepository,
    'github.pull_request': mapPullRequest,
    'github.pull_request_commits': mapPullRequestCommits,
    'github.review': mapReview,
    'github.commit': mapCommit,
    'github.deployment': mapDeployment,
    'github.deployment_status': mapDeploymentStatus,
    'github.release': mapRelease,
    'github.workflow_run': mapWorkflowRun,
    'github.workflow_job': mapWorkflowJob,
    'github.milestone': mapMilestone,
    'github.issue': mapIssue,
    'github.issue_event': mapIssueEvent,
  },
};
