import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Payload, SourceRecord } from '../../schemas/raw-event.js';
import { subjects, timeVersion } from '../core/entities.js';

/**
 * The one place a GitHub object becomes a record: pulls and webhooks both call these, so the same
 * entity version gets the same subject and version, hence the same event id. Schemas check only the
 * fields a record needs; the payload stays the object as GitHub sent it.
 */
const time = z.string().min(1);

export const repoSchema = z.object({ full_name: z.string().min(1), updated_at: time, default_branch: z.string().optional() });
export const pullSchema = z.object({ number: z.number().int(), updated_at: time, head: z.object({ sha: z.string() }).optional() });
export const commitSchema = z.object({ sha: z.string().min(7), commit: z.object({ committer: z.object({ date: time }).nullable() }) });
export const reviewSchema = z.object({ id: z.number().int(), state: z.string(), submitted_at: time.nullish() });
export const deploymentSchema = z.object({ id: z.number().int(), created_at: time, updated_at: time });
export const deploymentStatusSchema = z.object({ id: z.number().int(), state: z.string(), created_at: time });
export const releaseSchema = z.object({
  id: z.number().int(),
  created_at: time,
  updated_at: time.nullish(),
  published_at: time.nullish(),
});
export const runSchema = z.object({ id: z.number().int(), status: z.string().nullable(), created_at: time, updated_at: time });
export const jobSchema = z.object({
  id: z.number().int(),
  status: z.string(),
  created_at: time.optional(),
  started_at: time.nullish(),
  completed_at: time.nullish(),
});

/** What a milestone record needs: its id, its time, and the fields its content hash is taken from. */
export const milestoneSchema = z.object({
  id: z.number().int(),
  number: z.number().int(),
  updated_at: time,
  title: z.string().nullish(),
  description: z.string().nullish(),
  state: z.string().nullish(),
  due_on: z.string().nullish(),
  closed_at: z.string().nullish(),
});
/** An issue as GET /issues lists it; a pull request in that list has a `pull_request` object. */
export const issueSchema = z.object({
  id: z.number().int(),
  number: z.number().int(),
  updated_at: time,
  pull_request: z.unknown().optional(),
});
/** An event of GET /issues/events: the issue it is about is embedded (null when the issue is gone). */
export const issueEventSchema = z.object({
  id: z.number().int(),
  event: z.string(),
  created_at: time,
  issue: z.object({ id: z.number().int(), number: z.number().int(), pull_request: z.unknown().optional() }).nullish(),
});

/** The issue events that are history: state changes and milestone moves. */
export const HISTORY_EVENTS = new Set(['closed', 'reopened', 'milestoned', 'demilestoned']);

/**
 * What a milestone's record says, as a short hash: a milestone's updated_at also moves when its issue
 * counts do, so the milestones stream emits a milestone only when this changed.
 */
export function milestoneHash(m: z.infer<typeof milestoneSchema>): string {
  return createHash('sha256')
    .update(JSON.stringify([m.id, m.title ?? null, m.description ?? null, m.state ?? null, m.due_on ?? null, m.closed_at ?? null]))
    .digest('base64url')
    .slice(0, 12);
}

/** Orders two versions of a run or job written within one second: queued, then running, then done. */
const STATUS_RANK: Record<string, number> = { requested: 1, waiting: 1, pending: 1, queued: 1, in_progress: 2, completed: 3 };
const rank = (status: string | null): number => STATUS_RANK[status ?? ''] ?? 0;

const record = (type: string, subject: string, version: string, at: string, payload: Payload): SourceRecord => ({
  source: 'github',
  type,
  subject,
  version,
  time: new Date(at).toISOString(),
  payload,
});

export const toRecord = {
  repository: (repo: z.infer<typeof repoSchema>, payload: Payload, deleted = false) =>
    record(
      'github.repository',
      subjects.githubRepository(repo.full_name),
      timeVersion(repo.updated_at, deleted ? 'deleted' : undefined),
      repo.updated_at,
      payload,
    ),
  pullRequest: (fullName: string, pr: z.infer<typeof pullSchema>, payload: Payload) =>
    record('github.pull_request', subjects.githubPullRequest(fullName, pr.number), timeVersion(pr.updated_at), pr.updated_at, payload),
  /** The pull request's commit list; a new head sha is a new version. */
  pullRequestCommits: (fullName: string, number: number, headSha: string, at: string, payload: Payload) =>
    record('github.pull_request_commits', subjects.githubPullRequest(fullName, number), headSha, at, payload),
  /** A dismissal keeps submitted_at: the state tells the versions apart (DISMISSED sorts last). */
  review: (fullName: string, number: number, review: z.infer<typeof reviewSchema>, submittedAt: string, payload: Payload) =>
    record(
      'github.review',
      subjects.githubReview(fullName, number, review.id),
      timeVersion(submittedAt, review.state.toUpperCase()),
      submittedAt,
      payload,
    ),
  /** Commits never change: the sha is the version. */
  commit: (fullName: string, sha: string, at: string, payload: Payload) =>
    record('github.commit', subjects.githubCommit(fullName, sha), sha, at, payload),
  deployment: (fullName: string, d: z.infer<typeof deploymentSchema>, payload: Payload) =>
    record('github.deployment', subjects.githubDeployment(fullName, d.id), timeVersion(d.updated_at), d.updated_at, payload),
  deploymentStatus: (fullName: string, deploymentId: number, s: z.infer<typeof deploymentStatusSchema>, payload: Payload) =>
    record(
      'github.deployment_status',
      subjects.githubDeploymentStatus(fullName, deploymentId, s.id),
      timeVersion(s.created_at),
      s.created_at,
      payload,
    ),
  /** A deletion keeps the last updated_at: it is a version of its own ('deleted' sorts after the live one). */
  release: (fullName: string, r: z.infer<typeof releaseSchema>, payload: Payload, deleted = false) => {
    const at = releaseTime(r);
    return record('github.release', subjects.githubRelease(fullName, r.id), timeVersion(at, deleted ? 'deleted' : undefined), at, payload);
  },
  workflowRun: (fullName: string, run: z.infer<typeof runSchema>, payload: Payload) =>
    record(
      'github.workflow_run',
      subjects.githubWorkflowRun(fullName, run.id),
      timeVersion(run.updated_at, rank(run.status)),
      run.updated_at,
      payload,
    ),
  /** A deletion (a milestone webhook with action 'deleted') keeps the last updated_at and sorts after the live version. */
  milestone: (fullName: string, m: z.infer<typeof milestoneSchema>, payload: Payload, deleted = false) =>
    record(
      'github.milestone',
      subjects.githubMilestone(fullName, m.id),
      timeVersion(m.updated_at, deleted ? 'deleted' : undefined),
      m.updated_at,
      payload,
    ),
  issue: (fullName: string, i: z.infer<typeof issueSchema>, payload: Payload, deleted = false) =>
    record(
      'github.issue',
      subjects.githubIssue(fullName, i.number),
      timeVersion(i.updated_at, deleted ? 'deleted' : undefined),
      i.updated_at,
      payload,
    ),
  /** An issue event never changes: its id is the version. */
  issueEvent: (fullName: string, e: z.infer<typeof issueEventSchema>, payload: Payload) =>
    record('github.issue_event', subjects.githubIssueEvent(fullName, e.id), String(e.id), e.created_at, payload),
  workflowJob: (fullName: string, job: z.infer<typeof jobSchema>, payload: Payload) => {
    const at = jobTime(job);
    return record('github.workflow_job', subjects.githubWorkflowJob(fullName, job.id), timeVersion(at, rank(job.status)), at, payload);
  },
};

export const releaseTime = (r: z.infer<typeof releaseSchema>): string => r.updated_at ?? r.published_at ?? r.created_at;
export const jobTime = (j: z.infer<typeof jobSchema>): string =>
  j.completed_at ?? j.started_at ?? j.created_at ?? new Date(0).toISOString();
