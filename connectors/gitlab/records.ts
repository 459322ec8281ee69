import { z } from 'zod';
import type { SourceRecord } from '../../schemas/raw-event.js';
import { subjects, timeVersion } from '../core/entities.js';

/**
 * Versions shared by pulls and webhooks. GitLab's webhooks and its list endpoints carry different
 * timestamps (a pipeline hook has no updated_at, a pipeline listing no finished_at; webhooks round to
 * the second), so a version uses only what both shapes carry:
 * - pipeline: created_at + status (a pipeline keeps its id when retried, so its status can go back);
 * - job, deployment: the status alone (a retry makes a new job or deployment, so statuses only advance);
 * - merge request, issue, milestone: updated_at truncated to the second + state.
 * The status rank makes versions of one entity sort in lifecycle order.
 */
const PIPELINE_RANK: Record<string, number> = {
  created: 0,
  waiting_for_resource: 1,
  preparing: 2,
  pending: 3,
  scheduled: 3,
  manual: 4,
  running: 5,
};
const DEPLOYMENT_RANK: Record<string, number> = { created: 0, blocked: 1, running: 3 };

const TERMINAL = new Set(['success', 'failed', 'canceled', 'skipped']);

/** `<rank>-<status>`; unknown statuses (approval events, new states) sort among the waiting ones. */
function statusKey(table: Record<string, number>, terminal: number, status: string): string {
  return `${TERMINAL.has(status) ? terminal : (table[status] ?? 2)}-${status}`;
}

/** Webhooks give times to the second and REST to the millisecond: versions use the second, so both shapes collide. */
const toSecond = (at: string): Date => {
  const d = new Date(at);
  d.setUTCMilliseconds(0);
  return d;
};

export const pipelineVersion = (createdAt: string, status: string): string =>
  timeVersion(toSecond(createdAt), statusKey(PIPELINE_RANK, 6, status));
export const jobVersion = (status: string): string => `status:${statusKey(PIPELINE_RANK, 6, status)}`;
export const deploymentVersion = (status: string): string => `status:${statusKey(DEPLOYMENT_RANK, 4, status)}`;
export function mergeRequestVersion(updatedAt: string, state: string): string {
  return timeVersion(toSecond(updatedAt), state);
}

const time = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected a timestamp');
const optionalTime = time.nullish();

/** REST shapes: only the fields records are built from; the payload stays the whole object. */
export const restPipeline = z.object({ id: z.number(), status: z.string(), created_at: time, updated_at: time });
export const restJob = z.object({
  id: z.number(),
  status: z.string(),
  created_at: time,
  started_at: optionalTime,
  finished_at: optionalTime,
});
export const restDeployment = z.object({ id: z.number(), status: z.string(), created_at: time, updated_at: time });
export const restMergeRequest = z.object({ id: z.number(), iid: z.number(), state: z.string(), updated_at: time });
export const restIssue = z.object({ id: z.number(), iid: z.number(), state: z.string(), updated_at: time });
export const restMilestone = z.object({ id: z.number(), state: z.string(), updated_at: time });

export type Payload = Record<string, unknown>;

const iso = (s: string): string => new Date(s).toISOString();

export function pipelineRecord(
  host: string,
  path: string,
  p: { id: number; status: string; created_at: string },
  payload: unknown,
  when: string,
): SourceRecord {
  return {
    source: 'gitlab',
    type: 'gitlab.pipeline',
    subject: subjects.gitlabPipeline(host, path, p.id),
    version: pipelineVersion(p.created_at, p.status),
    time: iso(when),
    payload: payload as Payload,
  };
}

export function jobRecord(host: string, path: string, id: number, status: string, payload: unknown, when: string): SourceRecord {
  return {
    source: 'gitlab',
    type: 'gitlab.job',
    subject: subjects.gitlabJob(host, path, id),
    version: jobVersion(status),
    time: iso(when),
    payload: payload as Payload,
  };
}

export function deploymentRecord(host: string, path: string, id: number, status: string, payload: unknown, when: string): SourceRecord {
  return {
    source: 'gitlab',
    type: 'gitlab.deployment',
    subject: subjects.gitlabDeployment(host, path, id),
    version: deploymentVersion(status),
    time: iso(when),
    payload: payload as Payload,
  };
}

export function mergeRequestRecord(
  host: string,
  path: string,
  iid: number,
  state: string,
  updatedAt: string,
  payload: unknown,
  type: 'gitlab.merge_request' | 'gitlab.merge_request_commits' = 'gitlab.merge_request',
): SourceRecord {
  return updatedRecord(type, subjects.gitlabMergeRequest(host, path, iid), mergeRequestVersion(updatedAt, state), updatedAt, payload);
}

/** A record of an entity GitLab stamps with updated_at, at that instant. */
function updatedRecord(type: SourceRecord['type'], subject: string, version: string, updatedAt: string, payload: unknown): SourceRecord {
  return { source: 'gitlab', type, subject, version, time: iso(updatedAt), payload: payload as Payload };
}

/** An issue's version: as a merge request's, the second it was updated, then its state. */
export const issueVersion = mergeRequestVersion;

/** An issue (REST or delivery), or its state and milestone events ('gitlab.issue_events'), at the issue's version. */
export function issueRecord(
  host: string,
  path: string,
  iid: number,
  state: string,
  updatedAt: string,
  payload: unknown,
  type: 'gitlab.issue' | 'gitlab.issue_events' = 'gitlab.issue',
): SourceRecord {
  return updatedRecord(type, subjects.gitlabIssue(host, path, iid), issueVersion(updatedAt, state), updatedAt, payload);
}

/** A project milestone (GET /projects/:id/milestones item), by its instance-wide id. */
export function milestoneRecord(
  host: string,
  path: string,
  m: { id: number; state: string; updated_at: string },
  payload: unknown,
): SourceRecord {
  return updatedRecord(
    'gitlab.milestone',
    subjects.gitlabMilestone(host, path, m.id),
    issueVersion(m.updated_at, m.state),
    m.updated_at,
    payload,
  );
}
