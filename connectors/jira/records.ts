import { createHash } from 'node:crypto';
import type { Payload, SourceRecord } from '../../schemas/raw-event.js';
import { subjects, timeVersion } from '../core/entities.js';
import type { Issue, Sprint, Version } from './schemas.js';

/**
 * The one place records are built, for pulls and webhooks alike: the same entity version gets the
 * same subject and version (and so the same event id) whichever way it arrived.
 */

const shortHash = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

/** An issue version is its fields.updated. */
export function issueRecord(site: string, issue: Issue, payload: Payload): SourceRecord {
  return {
    source: 'jira',
    type: 'jira.issue',
    subject: subjects.jiraIssue(site, issue.id),
    version: timeVersion(issue.fields.updated),
    time: new Date(issue.fields.updated).toISOString(),
    payload,
  };
}

/**
 * Versions carry no updated time: the version string is a hash of the fields that matter, taken in a
 * fixed order from keys both the REST object and the jira:version_* delivery have.
 */
export function versionHash(v: Version): string {
  return shortHash([
    v.id,
    v.name ?? null,
    v.description ?? null,
    v.archived ?? null,
    v.released ?? null,
    v.releaseDate ?? null,
    v.startDate ?? null,
  ]);
}

export function versionRecord(site: string, v: Version, payload: Payload, observedAt: Date): SourceRecord {
  return {
    source: 'jira',
    type: 'jira.version',
    subject: subjects.jiraVersion(site, v.id),
    version: versionHash(v),
    time: observedAt.toISOString(),
    payload,
  };
}

const SPRINT_STATE_ORDER: Record<string, number> = { future: 0, active: 1, closed: 2 };

/** A sprint version: its state (ranked, so versions sort in lifecycle order), dates, and a hash of name and goal. */
export function sprintVersion(s: Sprint): string {
  const rank = SPRINT_STATE_ORDER[s.state] ?? 9;
  const dates = [s.startDate ?? '', s.endDate ?? '', s.completeDate ?? ''].join('|');
  return `${rank}:${s.state}|${dates}|${shortHash([s.name ?? null, s.goal ?? null]).slice(0, 8)}`;
}

/** When this sprint version came to be: completed, started, or created. */
function sprintTime(s: Sprint, fallback: Date): string {
  const at = (s.state === 'closed' ? s.completeDate : undefined) ?? (s.state !== 'future' ? s.startDate : undefined) ?? s.createdDate;
  const d = at !== undefined ? new Date(at) : fallback;
  return (Number.isNaN(d.getTime()) ? fallback : d).toISOString();
}

export function sprintRecord(site: string, s: Sprint, payload: Payload, observedAt: Date): SourceRecord {
  return {
    source: 'jira',
    type: 'jira.sprint',
    subject: subjects.jiraSprint(site, s.id),
    version: sprintVersion(s),
    time: sprintTime(s, observedAt),
    payload,
  };
}

/**
 * A deleted issue. Ids are never reused, so a deletion has one version: the webhook and the periodic
 * id listing that notices it give the same event id.
 */
export function issueDeletedRecord(site: string, issueId: string, at: Date, payload: Payload): SourceRecord {
  return {
    source: 'jira',
    type: 'jira.issue_deleted',
    subject: subjects.jiraIssue(site, issueId),
    version: 'deleted',
    time: at.toISOString(),
    payload,
  };
}
