import { z } from 'zod';
import type {
  DeploymentState,
  DeploymentStatusRow,
  MilestoneDateRow,
  MilestoneRow,
  MilestoneState,
  PipelineJobRow,
  PipelineRunRow,
  PullRequestState,
  RunResult,
  RunStatus,
  WorkItemHistoryRow,
  WorkItemKind,
  WorkItemRow,
} from '../../schemas/domain.js';
import type { ModelConfig } from '../../infra/config/schema.js';
import type { RawEvent } from '../../schemas/raw-event.js';
import {
  MappingError,
  ok,
  parsePayload,
  withPayload,
  type FieldNotes,
  type MapContext,
  type Mapper,
  type SourceMappers,
} from '../../mapping/registry.js';
import { repoName, type Ownership } from '../../mapping/org-index.js';
import { commitFingerprint, iso, isoDate, isoOrNull, isProduction, ownerColumns, rowsOf, rowVersion } from '../../mapping/rows.js';

/**
 * GitLab entities arrive as a REST object (pull) or inside a webhook delivery (object_kind names it).
 * A pull and a delivery of the same status share one event id, so both shapes are reduced to the
 * facts they both carry before rows are built:
 * - webhooks give times to the second, REST to the millisecond: every time is truncated to the second;
 * - the project comes from the event subject ('<host>/<project path>/<kind>/<id>'), which the
 *   connector builds the same way for both shapes (the configured host, the lower-cased path).
 * Where one shape lacks a fact the other has, the comment at the field says what stands in for it.
 */

// ---------------------------------------------------------------------------------------------
// Shared helpers

const SUBJECT = /^(([^/]+)\/(.+))\/(pipelines|jobs|deployments|merge_requests|issues|milestones)\/(\d+)$/;

interface Where {
  /** '<host>/<project path>', lower-case: the repo column, as in the subjects. */
  repo: string;
  /** The project path, as the org mapping names repositories. */
  path: string;
  id: number;
}

function where(event: RawEvent): Where {
  const m = SUBJECT.exec(event.subject);
  if (m === null) throw new MappingError('invalid_subject', `${event.type} ${event.subject}: not a GitLab subject`);
  return { repo: m[1]!, path: m[3]!, id: Number(m[5]) };
}

/** A GitLab time truncated to the second (webhooks carry no milliseconds, REST does). */
function sec(value: string, field: string): string {
  const d = new Date(iso(value, field));
  d.setUTCMilliseconds(0);
  return d.toISOString();
}

const secOrNull = (value: string | null | undefined, field: string): string | null =>
  isoOrNull(value, field) === null ? null : sec(value!, field);

const repoOwner = (ctx: MapContext, w: Where): Ownership | undefined =>
  ctx.owners.firstOwner([
    ['repository', w.path],
    ['repository', w.repo],
  ]);

/** The CI pipeline of a project as the org mapping's ci.pipelines names it. */
const pipelineOf = (w: Where): string => `gitlab:${w.repo}`;

const ciOwner = (ctx: MapContext, w: Where): Ownership | undefined =>
  ctx.owners.firstOwner([
    ['ciPipeline', pipelineOf(w)],
    ['repository', w.path],
    ['repository', w.repo],
  ]);

const time = z.string();
const project = z.object({ web_url: z.string() });
const isHook = (data: unknown, kind: string): boolean =>
  typeof data === 'object' && data !== null && (data as { object_kind?: unknown }).object_kind === kind;

// ---------------------------------------------------------------------------------------------
// Pipelines and jobs

/**
 * GitLab pipeline and job statuses -> the table's status and result. 'manual' (waiting for someone to
 * play it) counts as done and skipped: nothing ran and nothing will unless a person acts; the raw
 * status stays in raw_result. 'canceling' is still running its cancellation.
 */
const RUN_STATUS: Record<string, { status: RunStatus; result: RunResult; rank: number }> = {
  created: { status: 'queued', result: '', rank: 0 },
  waiting_for_resource: { status: 'queued', result: '', rank: 1 },
  preparing: { status: 'queued', result: '', rank: 2 },
  pending: { status: 'queued', result: '', rank: 3 },
  scheduled: { status: 'queued', result: '', rank: 3 },
  running: { status: 'running', result: '', rank: 5 },
  canceling: { status: 'running', result: '', rank: 6 },
  success: { status: 'done', result: 'success', rank: 7 },
  failed: { status: 'done', result: 'failure', rank: 7 },
  canceled: { status: 'done', result: 'cancelled', rank: 7 },
  skipped: { status: 'done', result: 'skipped', rank: 7 },
  manual: { status: 'done', result: 'skipped', rank: 4 },
};
/** A status GitLab adds later is taken as finished with an unknown result. */
const runStatus = (raw: string) => RUN_STATUS[raw] ?? { status: 'done' as const, result: '' as const, rank: 7 };

const TERMINAL = new Set(['success', 'failed', 'canceled', 'skipped']);

const restPipeline = z.object({
  id: z.number(),
  sha: z.string(),
  ref: z.string(),
  status: z.string(),
  source: z.string().nullish(),
  name: z.string().nullish(),
  created_at: time,
  updated_at: time,
  web_url: z.string(),
});

const pipelineHook = z.object({
  project,
  object_attributes: z.object({
    id: z.number(),
    sha: z.string(),
    ref: z.string(),
    status: z.string(),
    source: z.string().nullish(),
    name: z.string().nullish(),
    created_at: time,
    finished_at: time.nullish(),
    url: z.string().nullish(),
  }),
});

interface Pipeline {
  id: number;
  sha: string;
  ref: string;
  status: string;
  source: string;
  name: string;
  created_at: string;
  finished_at: string | null;
  url: string;
}

function pipelineOfPayload(event: RawEvent): Pipeline {
  if (isHook(event.data, 'pipeline')) {
    const h = parsePayload(pipelineHook, event.data, event);
    const p = h.object_attributes;
    return {
      ...p,
      source: p.source ?? '',
      name: p.name ?? '',
      created_at: sec(p.created_at, 'object_attributes.created_at'),
      finished_at: secOrNull(p.finished_at, 'object_attributes.finished_at'),
      url: p.url ?? `${h.project.web_url}/-/pipelines/${p.id}`,
    };
  }
  const p = parsePayload(restPipeline, event.data, event);
  return {
    ...p,
    source: p.source ?? '',
    name: p.name ?? '',
    created_at: sec(p.created_at, 'created_at'),
    // The listing has no finished_at; a pipeline's last update is its last transition, which for a
    // finished pipeline is when it finished.
    finished_at: TERMINAL.has(p.status) ? sec(p.updated_at, 'updated_at') : null,
    url: p.web_url,
  };
}

const mapPipeline: Mapper = (event, ctx) => {
  const w = where(event);
  const p = pipelineOfPayload(event);
  const s = runStatus(p.status);
  const pipeline = pipelineOf(w);
  const service = ctx.owners.service({ pipeline, repository: w.path });
  const row: PipelineRunRow = {
    source: 'gitlab',
    run_id: event.subject,
    repo: w.repo,
    pipeline,
    name: p.name,
    sha: p.sha,
    branch: p.ref,
    trigger: p.source,
    status: s.status,
    result: s.result,
    raw_result: p.status,
    // GitLab retries jobs inside the same pipeline; a pipeline has no attempt counter.
    attempt: 1,
    created_at: p.created_at,
    // Neither the listing nor the hook says when the first job started; the jobs' rows do.
    started_at: null,
    finished_at: p.finished_at,
    service: service?.service ?? '',
    ...ownerColumns(ciOwner(ctx, w) ?? service),
    url: p.url,
    raw_event_id: event.id,
    // A retried pipeline keeps its id: a later finish outranks an earlier one.
    version: rowVersion(p.finished_at ?? p.created_at, s.rank),
  };
  return ok([rowsOf('pipeline_runs', [row])]);
};

const restJob = z.object({
  id: z.number(),
  name: z.string(),
  status: z.string(),
  created_at: time,
  started_at: time.nullish(),
  finished_at: time.nullish(),
  web_url: z.string().nullish(),
  pipeline: z.object({ id: z.number(), sha: z.string() }),
});

const jobHook = z.object({
  build_id: z.number(),
  build_name: z.string(),
  build_status: z.string(),
  build_created_at: time.nullish(),
  build_started_at: time.nullish(),
  build_finished_at: time.nullish(),
  // Older GitLab versions send neither the pipeline id nor the project object.
  pipeline_id: z.number().nullish(),
  sha: z.string(),
  project: project.optional(),
  repository: z.object({ homepage: z.string() }).optional(),
});

const hookBuild = z.object({
  id: z.number(),
  name: z.string(),
  status: z.string(),
  created_at: time,
  started_at: time.nullish(),
  finished_at: time.nullish(),
});

const pipelineHookWithBuilds = z.object({
  project,
  object_attributes: z.object({ id: z.number(), sha: z.string() }),
  builds: z.array(z.unknown()),
});

interface Job {
  name: string;
  status: string;
  pipelineId: number | null;
  sha: string;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  url: string;
}

/** A job from a REST job, a job hook, or the builds list of a pipeline hook (the job is found by its id). */
function jobOfPayload(event: RawEvent, id: number): Job {
  if (isHook(event.data, 'pipeline')) {
    const h = parsePayload(pipelineHookWithBuilds, event.data, event);
    const i = h.builds.findIndex((b) => (b as { id?: unknown } | null)?.id === id);
    if (i < 0) throw new MappingError('invalid_payload', `${event.type} ${event.subject}: field 'builds': no job with id ${id}`);
    const b = parsePayload(hookBuild, h.builds[i], event, `builds.${i}`);
    return {
      name: b.name,
      status: b.status,
      pipelineId: h.object_attributes.id,
      sha: h.object_attributes.sha,
      created_at: sec(b.created_at, `builds.${i}.created_at`),
      started_at: secOrNull(b.started_at, `builds.${i}.started_at`),
      finished_at: secOrNull(b.finished_at, `builds.${i}.finished_at`),
      url: `${h.project.web_url}/-/jobs/${id}`,
    };
  }
  if (isHook(event.data, 'build')) {
    const h = parsePayload(jobHook, event.data, event);
    const base = h.project?.web_url ?? h.repository?.homepage;
    return {
      name: h.build_name,
      status: h.build_status,
      pipelineId: h.pipeline_id ?? null,
      sha: h.sha,
      created_at: secOrNull(h.build_created_at, 'build_created_at'),
      started_at: secOrNull(h.build_started_at, 'build_started_at'),
      finished_at: secOrNull(h.build_finished_at, 'build_finished_at'),
      url: base === undefined ? '' : `${base}/-/jobs/${id}`,
    };
  }
  const j = parsePayload(restJob, event.data, event);
  return {
    name: j.name,
    status: j.status,
    pipelineId: j.pipeline.id,
    sha: j.pipeline.sha,
    created_at: sec(j.created_at, 'created_at'),
    started_at: secOrNull(j.started_at, 'started_at'),
    finished_at: secOrNull(j.finished_at, 'finished_at'),
    url: j.web_url ?? '',
  };
}

const mapJob: Mapper = (event, ctx) => {
  const w = where(event);
  const j = jobOfPayload(event, w.id);
  const s = runStatus(j.status);
  const row: PipelineJobRow = {
    source: 'gitlab',
    job_id: event.subject,
    run_id: j.pipelineId === null ? '' : `${w.repo}/pipelines/${j.pipelineId}`,
    repo: w.repo,
    pipeline: pipelineOf(w),
    name: j.name,
    sha: j.sha,
    status: s.status,
    result: s.result,
    raw_result: j.status,
    started_at: j.started_at,
    finished_at: j.finished_at,
    ...ownerColumns(ciOwner(ctx, w)),
    url: j.url,
    raw_event_id: event.id,
    // An old job hook of a job not started yet has no time at all: the delivery's time stands in.
    version: rowVersion(j.finished_at ?? j.started_at ?? j.created_at ?? event.time, s.rank),
  };
  return ok([rowsOf('pipeline_jobs', [row])]);
};

// ---------------------------------------------------------------------------------------------
// Deployments

/**
 * GitLab deployment statuses -> deployment states. 'blocked' waits for an approval and 'approved'
 * (an approval delivery) still waits for its job: both queued. A rejected deployment never runs.
 * 'skipped' (a newer deployment superseded it) never deployed either.
 */
const DEPLOYMENT_STATE: Record<string, DeploymentState> = {
  created: 'queued',
  blocked: 'queued',
  approved: 'queued',
  running: 'in_progress',
  success: 'success',
  failed: 'failure',
  canceled: 'cancelled',
  rejected: 'cancelled',
  skipped: 'cancelled',
};

const restDeployment = z.object({
  id: z.number(),
  ref: z.string(),
  sha: z.string(),
  status: z.string(),
  created_at: time,
  updated_at: time,
  environment: z.object({ name: z.string(), tier: z.string().nullish() }),
  deployable: z.object({ web_url: z.string().nullish(), commit: z.object({ title: z.string().nullish() }).nullish() }).nullish(),
});

const deploymentHook = z.object({
  status: z.string(),
  status_changed_at: time,
  deployable_url: z.string().nullish(),
  environment: z.string(),
  environment_tier: z.string().nullish(),
  commit_url: z.string(),
  commit_title: z.string().nullish(),
  ref: z.string(),
});

interface Deployment {
  status: string;
  /** When the current status began. */
  at: string;
  /** When the deployment was created, or the best bound the payload gives (see `exactCreated`). */
  created_at: string;
  exactCreated: boolean;
  environment: string;
  tier: string;
  sha: string;
  ref: string;
  description: string;
  url: string;
}

function deploymentOfPayload(event: RawEvent): Deployment {
  if (isHook(event.data, 'deployment')) {
    const h = parsePayload(deploymentHook, event.data, event);
    const at = sec(h.status_changed_at, 'status_changed_at');
    return {
      status: h.status,
      at,
      // The hook has no creation time; the status time bounds it (exact for the 'created' status).
      created_at: at,
      exactCreated: h.status === 'created',
      environment: h.environment,
      tier: h.environment_tier ?? '',
      // The hook gives only a short sha; the commit URL ends with the full one.
      sha: h.commit_url.slice(h.commit_url.lastIndexOf('/') + 1),
      ref: h.ref,
      description: h.commit_title ?? '',
      url: h.deployable_url ?? '',
    };
  }
  const d = parsePayload(restDeployment, event.data, event);
  return {
    status: d.status,
    at: sec(d.updated_at, 'updated_at'),
    created_at: sec(d.created_at, 'created_at'),
    exactCreated: true,
    environment: d.environment.name,
    tier: d.environment.tier ?? '',
    sha: d.sha,
    ref: d.ref,
    description: d.deployable?.commit?.title ?? '',
    url: d.deployable?.web_url ?? '',
  };
}

/** Far enough ahead that (HORIZON - created) stays positive: 2100-01-01. */
const HORIZON_MS = Date.UTC(2100, 0, 1);

/** A deployment's state: a status GitLab does not document cannot be placed in the lifecycle. */
function deploymentState(status: string, event: Pick<RawEvent, 'type' | 'subject'>): DeploymentState {
  const state = DEPLOYMENT_STATE[status];
  if (state === undefined) throw new MappingError('unknown_status', `${event.type} ${event.subject}: field 'status': unknown '${status}'`);
  return state;
}

const mapDeployment: Mapper = (event, ctx) => {
  const w = where(event);
  const d = deploymentOfPayload(event);
  const state = deploymentState(d.status, event);
  const service = ctx.owners.service({ repository: w.path });
  const deployment = {
    source: 'gitlab',
    deployment_id: event.subject,
    repo: w.repo,
    service: service?.service ?? repoName(w.path),
    environment: d.environment,
    is_production: isProduction(d.environment, ctx.model) || d.tier.toLowerCase() === 'production' ? 1 : 0,
    sha: d.sha,
    ref: d.ref,
    description: d.description,
    // GitLab has no rollback flag: a rollback is a re-run of an older deployment's job.
    is_rollback: 0,
    created_at: d.created_at,
    ...ownerColumns(repoOwner(ctx, w) ?? service),
    url: d.url,
    raw_event_id: event.id,
    // A deployment's attributes never change, only what is known of its creation time: the earliest
    // known time is the truest, so it gets the highest version (an exact one wins a tie).
    version: (HORIZON_MS - Date.parse(d.created_at)) * 1000 + (d.exactCreated ? 1 : 0),
  } as const;
  const statuses: DeploymentStatusRow[] = [
    {
      source: 'gitlab',
      deployment_id: event.subject,
      status_id: d.status,
      state,
      raw_state: d.status,
      at: d.at,
      raw_event_id: event.id,
      version: rowVersion(d.at),
    },
  ];
  // A REST deployment past 'created' still tells when it was created: the queued status.
  if (d.exactCreated && d.status !== 'created')
    statuses.push({
      ...statuses[0]!,
      status_id: 'created',
      state: 'queued',
      raw_state: 'created',
      at: d.created_at,
      version: rowVersion(d.created_at),
    });
  return ok([rowsOf('deployments', [deployment]), rowsOf('deployment_statuses', statuses)]);
};

// ---------------------------------------------------------------------------------------------
// Merge requests

/**
 * GitLab merge request states. A locked MR is open with its discussion locked; 'reopened' is what
 * older GitLab versions send as the state of a merge request just reopened (open again).
 */
const MR_STATE: Record<string, { state: PullRequestState; rank: number }> = {
  opened: { state: 'open', rank: 0 },
  reopened: { state: 'open', rank: 0 },
  locked: { state: 'open', rank: 1 },
  closed: { state: 'closed', rank: 2 },
  merged: { state: 'merged', rank: 3 },
};

const restMergeRequest = z.object({
  id: z.number(),
  iid: z.number(),
  title: z.string(),
  state: z.string(),
  draft: z.boolean().nullish(),
  work_in_progress: z.boolean().nullish(),
  author: z.object({ id: z.number() }).nullish(),
  source_branch: z.string(),
  target_branch: z.string(),
  sha: z.string().nullish(),
  merge_commit_sha: z.string().nullish(),
  squash_commit_sha: z.string().nullish(),
  labels: z.array(z.string()).nullish(),
  created_at: time,
  updated_at: time,
  merged_at: time.nullish(),
  closed_at: time.nullish(),
  web_url: z.string().nullish(),
});

const mergeRequestHook = z.object({
  object_attributes: z.object({
    id: z.number(),
    iid: z.number(),
    title: z.string(),
    state: z.string(),
    draft: z.boolean().nullish(),
    work_in_progress: z.boolean().nullish(),
    author_id: z.number().nullish(),
    source_branch: z.string(),
    target_branch: z.string(),
    last_commit: z.object({ id: z.string() }).nullish(),
    merge_commit_sha: z.string().nullish(),
    created_at: time,
    updated_at: time,
    url: z.string(),
  }),
  labels: z.array(z.object({ title: z.string() })).nullish(),
});

interface MergeRequest {
  id: number;
  title: string;
  state: string;
  draft: boolean;
  author: number | null;
  source_branch: string;
  target_branch: string;
  head_sha: string;
  merge_commit_sha: string;
  labels: string[];
  created_at: string;
  updated_at: string;
  merged_at: string | null;
  closed_at: string | null;
  url: string;
}

function mergeRequestOfPayload(event: RawEvent): MergeRequest {
  if (isHook(event.data, 'merge_request')) {
    const h = parsePayload(mergeRequestHook, event.data, event);
    const a = h.object_attributes;
    const updated = sec(a.updated_at, 'object_attributes.updated_at');
    return {
      id: a.id,
      title: a.title,
      state: a.state,
      draft: a.draft ?? a.work_in_progress ?? false,
      author: a.author_id ?? null,
      source_branch: a.source_branch,
      target_branch: a.target_branch,
      head_sha: a.last_commit?.id ?? '',
      merge_commit_sha: a.merge_commit_sha ?? '',
      labels: (h.labels ?? []).map((l) => l.title),
      created_at: sec(a.created_at, 'object_attributes.created_at'),
      updated_at: updated,
      // The hook has no merged_at or closed_at: the delivery that reports the merge or the close is
      // sent by that action, so its updated_at is when it happened.
      merged_at: a.state === 'merged' ? updated : null,
      closed_at: a.state === 'merged' || a.state === 'closed' ? updated : null,
      url: a.url,
    };
  }
  const m = parsePayload(restMergeRequest, event.data, event);
  const merged = secOrNull(m.merged_at, 'merged_at');
  return {
    id: m.id,
    title: m.title,
    state: m.state,
    draft: m.draft ?? m.work_in_progress ?? false,
    author: m.author?.id ?? null,
    source_branch: m.source_branch,
    target_branch: m.target_branch,
    head_sha: m.sha ?? '',
    // The commit the MR put on the target branch: the merge commit when GitLab made one, else (a
    // fast-forward of a squashed MR) the squash commit.
    merge_commit_sha: m.merge_commit_sha ?? m.squash_commit_sha ?? '',
    labels: m.labels ?? [],
    created_at: sec(m.created_at, 'created_at'),
    updated_at: sec(m.updated_at, 'updated_at'),
    merged_at: merged,
    // GitLab leaves closed_at empty on a merge; a merged MR is closed as well (as on GitHub).
    closed_at: secOrNull(m.closed_at, 'closed_at') ?? merged,
    url: m.web_url ?? '',
  };
}

const mapMergeRequest: Mapper = (event, ctx, notes) => {
  const w = where(event);
  const m = mergeRequestOfPayload(event);
  // A state GitLab adds later: the merge request is kept as open, its raw state stored and noted.
  let s = MR_STATE[m.state];
  if (s === undefined) {
    notes.note('state', `unknown state '${m.state}': stored as open`);
    s = { state: 'open', rank: 0 };
  }
  return ok([
    rowsOf('pull_requests', [
      {
        source: 'gitlab',
        repo: w.repo,
        number: w.id,
        pr_id: String(m.id),
        title: m.title,
        // The numeric account id: the hook carries no username.
        author: ctx.people.id('gitlab', m.author),
        state: s.state,
        raw_state: m.state,
        draft: m.draft ? 1 : 0,
        base_branch: m.target_branch,
        head_branch: m.source_branch,
        head_sha: m.head_sha,
        merge_commit_sha: m.merge_commit_sha,
        labels: m.labels,
        created_at: m.created_at,
        updated_at: m.updated_at,
        merged_at: m.merged_at,
        closed_at: m.closed_at,
        ...ownerColumns(repoOwner(ctx, w)),
        url: m.url,
        raw_event_id: event.id,
        is_deleted: 0,
        version: rowVersion(m.updated_at, s.rank),
      },
    ]),
  ]);
};

const mrCommits = z.array(
  z.object({
    id: z.string(),
    title: z.string().nullish(),
    message: z.string().nullish(),
    authored_date: time,
    committed_date: time,
    parent_ids: z.array(z.string()).nullish(),
  }),
);

/** The commit list of a merge request (REST, newest first as GitLab lists it). */
const mapMergeRequestCommits: Mapper = withPayload(mrCommits, (list, event, ctx) => {
  const w = where(event);
  const oldestFirst = [...list].reverse();
  const version = rowVersion(event.time);
  const commits = oldestFirst.map((c, i) => {
    const at = (f: string) => `${list.length - 1 - i}.${f}`;
    const authored = iso(c.authored_date, at('authored_date'));
    return {
      source: 'gitlab',
      repo: w.repo,
      sha: c.id,
      parents: c.parent_ids ?? [],
      parents_known: c.parent_ids === null || c.parent_ids === undefined ? 0 : 1,
      // A commit carries only the author's name and e-mail, no account.
      author: '',
      authored_at: authored,
      committed_at: iso(c.committed_date, at('committed_date')),
      fingerprint: commitFingerprint(authored, c.message ?? c.title ?? ''),
      ...ownerColumns(repoOwner(ctx, w)),
      raw_event_id: event.id,
      version,
    } as const;
  });
  return ok([
    rowsOf('pull_request_commits', [
      {
        source: 'gitlab',
        repo: w.repo,
        number: w.id,
        head_sha: list[0]?.id ?? '',
        shas: commits.map((c) => c.sha),
        authored_at: commits.map((c) => c.authored_at),
        fingerprints: commits.map((c) => c.fingerprint),
        raw_event_id: event.id,
        version,
      },
    ]),
    rowsOf('commits', commits),
  ]);
});

// ---------------------------------------------------------------------------------------------
// Issues, their state and milestone events, and milestones

/**
 * An issue's state as a status. The status names are GitLab's own labels for the two states (Open,
 * Closed), which the status history reads as to do and done; the raw state ('opened', 'closed') is in
 * the history rows' values. 'reopened' is what older GitLab versions send for an issue just reopened.
 */
const ISSUE_STATE: Record<string, { status: string; category: 'todo' | 'done'; rank: number }> = {
  opened: { status: 'Open', category: 'todo', rank: 0 },
  reopened: { status: 'Open', category: 'todo', rank: 0 },
  closed: { status: 'Closed', category: 'done', rank: 1 },
};
const issueState = (raw: string) => ISSUE_STATE[raw] ?? ISSUE_STATE['opened']!;
/** The webhook's state_id: 1 opened, 2 closed (3 and 4 are merge request states). */
const STATE_ID: Record<number, string> = { 1: 'opened', 2: 'closed' };

/** What an issue cannot exist without, in either shape; every other field is read on its own. */
const issueRest = z.looseObject({ id: z.number(), iid: z.number(), state: z.string(), updated_at: time });
const issueHook = z.looseObject({
  object_kind: z.literal('issue'),
  object_attributes: z.looseObject({ id: z.number(), iid: z.number(), state: z.string(), updated_at: time }),
});

const gitlabTime = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'expected a timestamp');
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD');
const idOf = z.looseObject({ id: z.number() });
const change = <S extends z.ZodType>(value: S) => z.looseObject({ previous: value.nullish(), current: value.nullish() });

interface Issue {
  id: number;
  iid: number;
  state: string;
  title: string;
  /** issue_type (REST) or type (hook), lower case with spaces: 'issue', 'incident', 'test case', 'task'. */
  type: string;
  labels: string[];
  assignee: number | null;
  author: number | null;
  milestone: number | null;
  weight: number | null;
  /** Time tracking, in seconds: the estimate (none when 0, GitLab's unset) and the time logged. */
  timeEstimate: number | null;
  timeSpent: number | null;
  due: string | null;
  severity: string;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  url: string;
  /** The changes a delivery reports (a REST issue has none: its events come as 'gitlab.issue_events'). */
  stateChange: { from: string; to: string } | null;
  milestoneChange: { from: string; to: string } | null;
  /** Which shape: a pull carries the exact close time and the weight, so it outranks a delivery of the same version. */
  pulled: boolean;
}

function issueMinimum(event: RawEvent): { hook: boolean; data: Record<string, unknown> } {
  if (isHook(event.data, 'issue')) {
    const h = parsePayload(issueHook, event.data, event);
    return { hook: true, data: h.object_attributes };
  }
  return { hook: false, data: parsePayload(issueRest, event.data, event) };
}

const typeName = (v: string | null | undefined): string => (v ?? 'issue').toLowerCase().replace(/_/g, ' ');
const severityOf = (v: string | null | undefined): string => {
  const s = (v ?? '').toLowerCase();
  return s === 'unknown' ? '' : s;
};

function issueOfPayload(event: RawEvent, notes: FieldNotes): Issue {
  const { hook, data: a } = issueMinimum(event);
  const at = hook ? 'object_attributes.' : '';
  const read = <S extends z.ZodType>(schema: S, key: string, empty: z.infer<S>): z.infer<S> =>
    notes.read(schema, a[key], `${at}${key}`, empty);
  const state = a['state'] as string;
  const updated = sec(a['updated_at'] as string, `${at}updated_at`);
  const weight = read(z.number().nonnegative().nullish(), 'weight', null) ?? null;
  const due = read(day.nullish(), 'due_date', null) ?? null;
  // A hook's attributes carry the time tracking; a REST issue has it under time_stats.
  const timeOf = (key: 'time_estimate' | 'total_time_spent'): number | null =>
    hook
      ? (read(z.number().nonnegative().nullish(), key, null) ?? null)
      : (notes.read(
          z.number().nonnegative().nullish(),
          (a['time_stats'] as Record<string, unknown> | undefined)?.[key],
          `time_stats.${key}`,
          null,
        ) ?? null);
  const estimate = timeOf('time_estimate');
  const closedAt = secOrNull(read(gitlabTime.nullish(), 'closed_at', null), `${at}closed_at`);
  const closed = issueState(state).category === 'done';
  // An issue without a readable creation time was created by its last update at the latest.
  const created = read(gitlabTime.optional(), 'created_at', undefined);
  if (created === undefined && a['created_at'] === undefined) notes.note(`${at}created_at`, 'missing: updated_at stands in');
  const common = {
    id: a['id'] as number,
    iid: a['iid'] as number,
    state,
    title: read(z.string().nullish(), 'title', null) ?? '',
    weight,
    timeEstimate: estimate === 0 ? null : estimate,
    timeSpent: timeOf('total_time_spent'),
    due,
    created_at: sec(created ?? (a['updated_at'] as string), `${at}created_at`),
    updated_at: updated,
  };
  if (!hook) {
    const labels = notes.read(z.array(z.string()).nullish(), a['labels'], 'labels', null) ?? [];
    const assignees = read(z.array(idOf).nullish(), 'assignees', null) ?? [];
    const milestone = read(idOf.nullish(), 'milestone', null);
    return {
      ...common,
      type: typeName(read(z.string().nullish(), 'issue_type', null) ?? read(z.string().nullish(), 'type', null)),
      labels,
      assignee: assignees[0]?.id ?? read(idOf.nullish(), 'assignee', null)?.id ?? null,
      author: read(idOf.nullish(), 'author', null)?.id ?? null,
      milestone: milestone?.id ?? null,
      severity: severityOf(read(z.string().nullish(), 'severity', null)),
      closed_at: closed ? (closedAt ?? updated) : null,
      url: read(z.string().nullish(), 'web_url', null) ?? '',
      stateChange: null,
      milestoneChange: null,
      pulled: true,
    };
  }
  const body = event.data as Record<string, unknown>;
  const titled = z.array(z.looseObject({ title: z.string() })).nullish();
  const labels = (notes.read(titled, body['labels'], 'labels', null) ?? read(titled, 'labels', null) ?? []).map((l) => l.title);
  const changes = notes.read(
    z.looseObject({ state_id: change(z.number()).optional(), milestone_id: change(z.number()).optional() }).nullish(),
    body['changes'],
    'changes',
    null,
  );
  const action = read(z.string().nullish(), 'action', null);
  // A delivery of a current GitLab says which state it left; an older one only names the action.
  const stateIds = changes?.state_id;
  const stateChange =
    stateIds !== undefined && STATE_ID[stateIds.previous ?? 0] !== undefined && STATE_ID[stateIds.current ?? 0] !== undefined
      ? { from: STATE_ID[stateIds.previous!]!, to: STATE_ID[stateIds.current!]! }
      : action === 'close'
        ? { from: 'opened', to: 'closed' }
        : action === 'reopen'
          ? { from: 'closed', to: 'opened' }
          : null;
  const ms = changes?.milestone_id;
  const milestoneChange =
    ms === undefined
      ? null
      : {
          from: ms.previous === null || ms.previous === undefined ? '' : String(ms.previous),
          to: ms.current === null || ms.current === undefined ? '' : String(ms.current),
        };
  const assigneeIds = read(z.array(z.number()).nullish(), 'assignee_ids', null) ?? [];
  return {
    ...common,
    type: typeName(read(z.string().nullish(), 'type', null)),
    labels,
    assignee: assigneeIds[0] ?? read(z.number().nullish(), 'assignee_id', null) ?? null,
    author: read(z.number().nullish(), 'author_id', null) ?? null,
    milestone: read(z.number().nullish(), 'milestone_id', null) ?? null,
    severity: severityOf(read(z.string().nullish(), 'severity', null)),
    // An older delivery has no closed_at: the delivery that reports the close was sent by it, so its
    // updated_at is when it happened.
    closed_at: closed ? (closedAt ?? updated) : null,
    url: read(z.string().nullish(), 'url', null) ?? '',
    stateChange: stateChange !== null && stateChange.from !== stateChange.to ? stateChange : null,
    milestoneChange: milestoneChange !== null && milestoneChange.from !== milestoneChange.to ? milestoneChange : null,
    pulled: false,
  };
}

/**
 * The kind: the issue's type by the configured type names (an incident is a bug by default, a task a
 * task), else the first label that names a kind (the part after '::' of a scoped label: 'type::bug'),
 * else 'other'.
 */
function issueKind(type: string, labels: string[], model: ModelConfig): WorkItemKind {
  const kindNamed = (name: string): WorkItemKind | undefined => {
    const n = name.trim().toLowerCase();
    for (const [kind, names] of Object.entries(model.workItems.types))
      if (names.some((x) => x.toLowerCase() === n)) return kind as WorkItemKind;
    return undefined;
  };
  return (
    kindNamed(type) ??
    labels.map((l) => kindNamed(l.slice(l.lastIndexOf('::') + (l.includes('::') ? 2 : 0)))).find((k) => k !== undefined) ??
    'other'
  );
}

/**
 * A history row of a GitLab issue. A change reaches the store twice when webhooks and pulls both run
 * (the delivery's changes, the pull's resource events); GitLab writes the event in the same request as
 * the issue's update, so both carry the same second, and the row's key (the field and that second, with
 * the values) makes them one row.
 */
function historyRow(
  event: RawEvent,
  itemId: string,
  field: 'status' | 'milestone',
  at: string,
  from: { value: string; text: string },
  to: { value: string; text: string },
  author: string,
): WorkItemHistoryRow {
  return {
    source: 'gitlab',
    item_id: itemId,
    history_id: `${field}@${at}`,
    field,
    field_id: field,
    from_value: from.value,
    from_string: from.text,
    to_value: to.value,
    to_string: to.text,
    changed_at: at,
    author,
    raw_event_id: event.id,
    // Every later pull repeats the change: the latest event carrying it is cited.
    version: rowVersion(event.time),
  };
}

const stateText = (raw: string): { value: string; text: string } => ({ value: raw, text: issueState(raw).status });

const mapIssue: Mapper = (event, ctx, notes) => {
  const w = where(event);
  const i = issueOfPayload(event, notes);
  if (ISSUE_STATE[i.state] === undefined) notes.note('state', `unknown state '${i.state}': stored as open`);
  const s = issueState(i.state);
  const itemId = String(i.id);
  const row: WorkItemRow = {
    source: 'gitlab',
    item_id: itemId,
    key: `${w.path}#${i.iid}`,
    project: w.path,
    type: i.type,
    kind: issueKind(i.type, i.labels, ctx.model),
    status: s.status,
    status_category: s.category,
    // GitLab issues have no priority field (teams use labels).
    priority: '',
    priority_rank: 0,
    assignee: ctx.people.id('gitlab', i.assignee),
    reporter: ctx.people.id('gitlab', i.author),
    components: [],
    labels: i.labels,
    due_date: i.due,
    start_date: null,
    fix_versions: i.milestone === null ? [] : [`milestone/${i.milestone}`],
    affects_versions: [],
    sprints: [],
    parent_id: '',
    // The weight, when the issue has one (GitLab Premium), is its size in points.
    story_points: i.weight,
    original_estimate_seconds: i.timeEstimate,
    time_spent_seconds: i.timeSpent,
    severity: i.severity,
    found_in: '',
    created_at: i.created_at,
    updated_at: i.updated_at,
    resolved_at: i.closed_at,
    resolution: '',
    summary: i.title,
    ...ownerColumns(repoOwner(ctx, w)),
    url: i.url,
    raw_event_id: event.id,
    version: rowVersion(i.updated_at, s.rank * 2 + (i.pulled ? 1 : 0)),
    is_deleted: 0,
  };
  const author = ctx.people.id(
    'gitlab',
    notes.read(z.looseObject({ id: z.number() }).nullish(), (event.data as Record<string, unknown>)['user'], 'user', null)?.id,
  );
  const history: WorkItemHistoryRow[] = [];
  if (i.stateChange !== null)
    history.push(historyRow(event, itemId, 'status', i.updated_at, stateText(i.stateChange.from), stateText(i.stateChange.to), author));
  if (i.milestoneChange !== null) {
    const { from, to } = i.milestoneChange;
    history.push(historyRow(event, itemId, 'milestone', i.updated_at, { value: from, text: from }, { value: to, text: to }, author));
  }
  return ok([rowsOf('work_items', [row]), rowsOf('work_item_history', history)]);
};

/** The issue's resource events as the issues stream lists them with the issue (GET .../resource_state_events and .../resource_milestone_events). */
const issueEvents = z.looseObject({
  issue_id: z.number(),
  resource_state_events: z.array(z.unknown()).nullish(),
  resource_milestone_events: z.array(z.unknown()).nullish(),
});
const user = z.looseObject({ id: z.number() }).nullish();
const stateEvent = z.looseObject({ id: z.number(), created_at: gitlabTime, state: z.string(), user });
const milestoneEvent = z.looseObject({
  id: z.number(),
  created_at: gitlabTime,
  action: z.enum(['add', 'remove']),
  milestone: z.looseObject({ id: z.number(), title: z.string().nullish() }),
  user,
});

/** Each element of a list read on its own: one that does not fit is left out and noted. */
function readEach<S extends z.ZodType>(schema: S, list: unknown[] | null | undefined, field: string, notes: FieldNotes): Array<z.infer<S>> {
  return (list ?? []).flatMap((item) => {
    const r = notes.read(schema, item, `${field}[]`, undefined);
    return r === undefined ? [] : [r];
  });
}

const oldestFirst = <E extends { id: number; created_at: string }>(list: E[]): E[] =>
  [...list].sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id);

/**
 * An issue's state and milestone events as history rows. A state event names only the state it set:
 * a close left the open state, a reopen the closed one. A milestone event names the milestone added or
 * removed: replayed in order, an add while another milestone was set moves the issue from that one
 * (GitLab records a change of milestone as one add). An event that cannot be read is left out and noted.
 */
const mapIssueEvents: Mapper = (event, ctx, notes) => {
  const p = parsePayload(issueEvents, event.data, event);
  const itemId = String(p.issue_id);
  const person = (u: z.infer<typeof user>) => ctx.people.id('gitlab', u?.id);
  const rows: WorkItemHistoryRow[] = [];
  for (const e of oldestFirst(readEach(stateEvent, p.resource_state_events, 'resource_state_events', notes))) {
    const to = e.state === 'reopened' ? 'opened' : e.state;
    if (ISSUE_STATE[to] === undefined) {
      notes.note('resource_state_events[].state', `unknown state '${e.state}': left out of the history`);
      continue;
    }
    const from = to === 'closed' ? 'opened' : 'closed';
    rows.push(
      historyRow(
        event,
        itemId,
        'status',
        sec(e.created_at, 'resource_state_events[].created_at'),
        stateText(from),
        stateText(to),
        person(e.user),
      ),
    );
  }
  let current: { value: string; text: string } = { value: '', text: '' };
  for (const e of oldestFirst(readEach(milestoneEvent, p.resource_milestone_events, 'resource_milestone_events', notes))) {
    const m = { value: String(e.milestone.id), text: e.milestone.title ?? String(e.milestone.id) };
    const none = { value: '', text: '' };
    const [from, to] = e.action === 'add' ? [current, m] : [m, none];
    current = to;
    if (from.value === to.value) continue;
    rows.push(
      historyRow(event, itemId, 'milestone', sec(e.created_at, 'resource_milestone_events[].created_at'), from, to, person(e.user)),
    );
  }
  return ok([rowsOf('work_item_history', rows)]);
};

/** A project milestone: its id, state and last update; the rest is read field by field. */
const restMilestone = z.looseObject({ id: z.number(), state: z.string(), updated_at: time });

const MILESTONE_STATE: Record<string, { state: MilestoneState; rank: number }> = {
  active: { state: 'open', rank: 0 },
  closed: { state: 'done', rank: 2 },
};

/**
 * A milestone is planned by its due date, observed as of the milestone's last update (the listing
 * carries no history of the date). GitLab keeps no close time: a closed milestone's last update stands
 * in for when it closed (closing is normally its last change).
 */
const mapMilestone: Mapper = (event, ctx, notes) => {
  const w = where(event);
  const m = parsePayload(restMilestone, event.data, event);
  const read = <S extends z.ZodType>(schema: S, key: string, empty: z.infer<S>): z.infer<S> => notes.read(schema, m[key], key, empty);
  let s = MILESTONE_STATE[m.state];
  if (s === undefined) {
    notes.note('state', `unknown state '${m.state}': stored as open`);
    s = { state: 'open', rank: 0 };
  }
  const updated = sec(m.updated_at, 'updated_at');
  const milestoneId = `milestone/${m.id}`;
  const committed = isoDate(read(day.nullish(), 'due_date', null), 'due_date');
  const version = rowVersion(updated, s.rank);
  const row: MilestoneRow = {
    source: 'gitlab',
    milestone_id: milestoneId,
    kind: 'milestone',
    name: read(z.string().nullish(), 'title', null) ?? '',
    project: w.path,
    state: s.state,
    raw_state: m.state,
    start_date: isoDate(read(day.nullish(), 'start_date', null), 'start_date'),
    committed_date: committed,
    completed_at: s.state === 'done' ? updated : null,
    ...ownerColumns(repoOwner(ctx, w)),
    url: read(z.string().nullish(), 'web_url', null) ?? '',
    raw_event_id: event.id,
    version,
    is_deleted: 0,
  };
  const snapshot: MilestoneDateRow = {
    source: 'gitlab',
    milestone_id: milestoneId,
    committed_date: committed,
    observed_at: iso(event.time, 'time'),
    basis: 'snapshot',
    raw_event_id: event.id,
    version,
  };
  return ok([rowsOf('milestones', [row]), rowsOf('milestone_dates', [snapshot])]);
};

/** The payload read as its mapper reads it: what a delivery must carry for its entity to be placed. */
const asEvent = (data: unknown, e: Pick<RawEvent, 'type' | 'subject'>): RawEvent => ({ ...e, data }) as RawEvent;

export const gitlabMappers: SourceMappers = {
  source: 'gitlab',
  required: {
    'gitlab.pipeline': (data, e) => void pipelineOfPayload(asEvent(data, e)),
    'gitlab.job': (data, e) => void jobOfPayload(asEvent(data, e), where(asEvent(data, e)).id),
    'gitlab.deployment': (data, e) => void deploymentState(deploymentOfPayload(asEvent(data, e)).status, e),
    'gitlab.merge_request': (data, e) => void mergeRequestOfPayload(asEvent(data, e)),
    'gitlab.issue': (data, e) => void issueMinimum(asEvent(data, e)),
    'gitlab.issue_events': (data, e) => void parsePayload(issueEvents, data, e),
    'gitlab.milestone': (data, e) => void parsePayload(restMilestone, data, e),
  },
  mappers: {
    'gitlab.pipeline': mapPipeline,
    'gitlab.job': mapJob,
    'gitlab.deployment': mapDeployment,
    'gitlab.merge_request': mapMergeRequest,
    'gitlab.merge_request_commits': mapMergeRequestCommits,
    'gitlab.issue': mapIssue,
    'gitlab.issue_events': mapIssueEvents,
    'gitlab.milestone': mapMilestone,
  },
};
