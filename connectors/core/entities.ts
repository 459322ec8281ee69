import type { Source } from '../../schemas/raw-event.js';

/**
 * The entity kinds each source emits, with the one rule for their subject (the entity's stable key
 * inside its source). Pull streams, webhooks and the demo organisation all build subjects here, so
 * the same entity always gets the same subject, and so the same RawEvent id for the same version.
 */
export const ENTITY_TYPES = {
  github: [
    'github.repository',
    'github.pull_request',
    'github.pull_request_commits',
    'github.review',
    'github.commit',
    'github.deployment',
    'github.deployment_status',
    'github.release',
    'github.workflow_run',
    'github.workflow_job',
    'github.milestone',
    'github.issue',
    'github.issue_event',
  ],
  jira: ['jira.issue', 'jira.version', 'jira.sprint', 'jira.issue_deleted'],
  pagerduty: ['pagerduty.incident', 'pagerduty.log_entry', 'pagerduty.service'],
  gitlab: [
    'gitlab.pipeline',
    'gitlab.job',
    'gitlab.deployment',
    'gitlab.merge_request',
    'gitlab.merge_request_commits',
    'gitlab.issue',
    'gitlab.issue_events',
    'gitlab.milestone',
  ],
  jenkins: ['jenkins.build'],
  cdevents: [
    'cdevents.event',
    'cdevents.pipelinerun',
    'cdevents.taskrun',
    'cdevents.build',
    'cdevents.change',
    'cdevents.service',
    'cdevents.environment',
    'cdevents.incident',
    'cdevents.artifact',
    'cdevents.testcaserun',
    'cdevents.testsuiterun',
    'cdevents.ticket',
  ],
  // Facts from outside the trackers (schemas/ingest.ts): one type per intake kind.
  ingest: [
    'ingest.readiness_check',
    'ingest.survey_response',
    'ingest.outcome_target',
    'ingest.outcome_actual',
    'ingest.adopter',
    'ingest.cost_row',
  ],
} as const satisfies Record<Source, readonly string[]>;

export type EntityType = (typeof ENTITY_TYPES)[Source][number];

const repoKey = (fullName: string): string => fullName.toLowerCase();
const gitlabKey = (host: string, projectPath: string): string => `${host.toLowerCase()}/${projectPath.toLowerCase()}`;

export const subjects = {
  githubRepository: (fullName: string) => repoKey(fullName),
  githubPullRequest: (fullName: string, number: number) => `${repoKey(fullName)}#${number}`,
  githubReview: (fullName: string, number: number, reviewId: number) => `${repoKey(fullName)}#${number}/reviews/${reviewId}`,
  githubCommit: (fullName: string, sha: string) => `${repoKey(fullName)}@${sha}`,
  githubDeployment: (fullName: string, id: number) => `${repoKey(fullName)}/deployments/${id}`,
  githubDeploymentStatus: (fullName: string, deploymentId: number, statusId: number) =>
    `${repoKey(fullName)}/deployments/${deploymentId}/statuses/${statusId}`,
  githubRelease: (fullName: string, id: number) => `${repoKey(fullName)}/releases/${id}`,
  githubWorkflowRun: (fullName: string, id: number) => `${repoKey(fullName)}/actions/runs/${id}`,
  githubWorkflowJob: (fullName: string, id: number) => `${repoKey(fullName)}/actions/jobs/${id}`,
  /** Milestones by their global id, the id the milestones table keys them by. */
  githubMilestone: (fullName: string, id: number) => `${repoKey(fullName)}/milestones/${id}`,
  githubIssue: (fullName: string, number: number) => `${repoKey(fullName)}/issues/${number}`,
  githubIssueEvent: (fullName: string, id: number) => `${repoKey(fullName)}/issues/events/${id}`,
  /** Jira ids are stable when an issue moves between projects; keys are not. */
  jiraIssue: (site: string, issueId: string) => `${site}/issue/${issueId}`,
  jiraVersion: (site: string, versionId: string) => `${site}/version/${versionId}`,
  jiraSprint: (site: string, sprintId: number) => `${site}/sprint/${sprintId}`,
  pagerdutyIncident: (incidentId: string) => `incident/${incidentId}`,
  pagerdutyLogEntry: (logEntryId: string) => `log_entry/${logEntryId}`,
  pagerdutyService: (serviceId: string) => `service/${serviceId}`,
  /** Jenkins host (without scheme) and job path as configured ('folder/job'), then the build number. */
  jenkinsBuild: (host: string, jobPath: string, number: number) => `${host.toLowerCase()}/${jobPath.replace(/^\/+|\/+$/g, '')}#${number}`,
  /** GitLab routes are case-insensitive, and only the path is in every webhook kind (old job hooks lack project.id). */
  gitlabPipeline: (host: string, projectPath: string, id: number) => `${gitlabKey(host, projectPath)}/pipelines/${id}`,
  gitlabJob: (host: string, projectPath: string, id: number) => `${gitlabKey(host, projectPath)}/jobs/${id}`,
  gitlabDeployment: (host: string, projectPath: string, id: number) => `${gitlabKey(host, projectPath)}/deployments/${id}`,
  gitlabMergeRequest: (host: string, projectPath: string, iid: number) => `${gitlabKey(host, projectPath)}/merge_requests/${iid}`,
  gitlabIssue: (host: string, projectPath: string, iid: number) => `${gitlabKey(host, projectPath)}/issues/${iid}`,
  /** A milestone by its instance-wide id, which the issues name it by. */
  gitlabMilestone: (host: string, projectPath: string, id: number) => `${gitlabKey(host, projectPath)}/milestones/${id}`,
  /** A CDEvents subject is unique within its source (subject.source, defaulting to context.source). */
  cdeventsSubject: (source: string, subjectId: string) => `${source} ${subjectId}`,
} as const;

/**
 * An entity version from the vendor's own updated time. Versions are compared as strings, so the
 * time is normalised to a fixed-width ISO form; a tiebreak (a revision counter, a status) is appended
 * where a vendor can emit two versions within one millisecond.
 */
export function timeVersion(updatedAt: string | Date, tiebreak?: string | number): string {
  const d = typeof updatedAt === 'string' ? new Date(updatedAt) : updatedAt;
  if (Number.isNaN(d.getTime())) throw new RangeError(`not a valid timestamp: ${String(updatedAt)}`);
  const base = d.toISOString();
  return tiebreak === undefined ? base : `${base}|${String(tiebreak)}`;
}
