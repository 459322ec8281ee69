import type { z } from 'zod';
import type { Config } from '../../infra/config/schema.js';
import type { SourceRecord } from '../../schemas/raw-event.js';
import { SourceError } from '../../infra/http-retry.js';
import type { Cursor, Page, Stream, StreamContext } from '../core/types.js';
import { BULK_ISSUES, completeChangelogs } from './changelogs.js';
import { jiraSettings, type JiraClient } from './client.js';
import { issueDeletedRecord, issueRecord, sprintRecord, sprintVersion, versionHash, versionRecord } from './records.js';
import * as S from './schemas.js';

/** Largest pages Jira serves: search 100 issues (5000 when only ids are asked), versions and sprints 50. */
const SEARCH_PAGE = 100;
const IDS_PAGE = 5000;
const DC_IDS_PAGE = 1000;
const VERSION_PAGE = 50;
const SPRINT_PAGE = 50;
/** JQL compares `updated` at minute precision: re-read a minute before the cursor, then drop what was seen. */
const OVERLAP_MS = 60_000;

/** The projects to pull: sources.jira.projects, else every Jira project of the org's teams. */
export function jiraProjects(config: Config): string[] {
  const listed = jiraSettings(config).projects;
  if (listed !== undefined) return listed;
  return [...new Set(config.org.programs.flatMap((p) => p.teams.flatMap((t) => t.jira.projects)))];
}

const quote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * JQL of one project's changes since `sinceMs`. The bound is epoch milliseconds, which JQL reads as
 * an instant: a "yyyy/MM/dd HH:mm" literal is read in the API user's time zone and skips changes when
 * that zone is behind UTC.
 */
export function issuesJql(project: string, sinceMs: number, extra: string | undefined): string {
  const filter = extra !== undefined && extra.trim() !== '' ? ` AND (${extra})` : '';
  return `project = ${quote(project)} AND updated >= ${sinceMs}${filter} ORDER BY updated ASC`;
}

const floorMinute = (ms: number): number => Math.floor(ms / 60_000) * 60_000;

/** "id=hash" pairs, the compact memory of what a listing stream already emitted. */
const decodeSeen = (s: unknown): Map<string, string> =>
  new Map(
    typeof s === 'string' && s !== ''
      ? s.split(',').map((pair) => {
          const [id = '', h = ''] = pair.split('=');
          return [id, h] as const;
        })
      : [],
  );
const encodeSeen = (m: Map<string, string>): string => [...m].map(([id, h]) => `${id}=${h}`).join(',');

/** A set of numeric ids as sorted base-36 deltas: a project's ids fit a cursor. */
export function encodeIds(ids: Iterable<string>): string {
  const sorted = [...ids]
    .filter((id) => /^\d+$/.test(id))
    .map(Number)
    .sort((a, b) => a - b);
  let prev = 0;
  return sorted
    .map((n) => {
      const d = n - prev;
      prev = n;
      return d.toString(36);
    })
    .join('.');
}
export function decodeIds(s: unknown): Set<string> {
  const out = new Set<string>();
  if (typeof s !== 'string' || s === '') return out;
  let n = 0;
  for (const d of s.split('.')) {
    n += parseInt(d, 36);
    out.add(String(n));
  }
  return out;
}

interface SearchPage<T> {
  issues: T[];
  next: string | number | undefined;
}

/** One page of a JQL search: the enhanced search on Cloud, the classic startAt search on Data Center. */
async function searchPage<T extends z.ZodType>(
  item: T,
  client: JiraClient,
  jql: string,
  fields: string[],
  expand: boolean,
  pageSize: number,
  position: string | number | undefined,
  ctx: StreamContext,
  counter: { n: number },
): Promise<SearchPage<z.infer<T>>> {
  const opts = { signal: ctx.signal, counter };
  if (client.v3 !== undefined) {
    const v3 = client.v3;
    const token = typeof position === 'string' ? position : undefined;
    const page = await client.call(
      'POST /rest/api/3/search/jql',
      S.enhancedSearchPage(item),
      () =>
        v3.issueSearch.searchForIssuesUsingJqlEnhancedSearchPost<unknown>({
          jql,
          fields,
          maxResults: pageSize,
          ...(expand ? { expand: 'changelog' } : {}),
          ...(token !== undefined ? { nextPageToken: token } : {}),
        }),
      opts,
    );
    const last = page.isLast ?? page.nextPageToken === undefined;
    return { issues: page.issues, next: last ? undefined : page.nextPageToken };
  }
  const startAt = typeof position === 'number' ? position : 0;
  const page = await client.call(
    'POST /rest/api/2/search',
    S.classicSearchPage(item),
    () =>
      client.v2.issueSearch.searchForIssuesUsingJqlPost<unknown>({
        jql,
        fields,
        startAt,
        maxResults: pageSize,
        ...(expand ? { expand: ['changelog'] } : {}),
      }),
    opts,
  );
  const nextStart = page.startAt + page.issues.length;
  return { issues: page.issues, next: page.issues.length > 0 && nextStart < page.total ? nextStart : undefined };
}

/**
 * Issues of one project, oldest change first. Cursor: the last `updated` seen and the ids seen at that
 * instant, so the minute of overlap re-reads but does not re-emit. Search pages carry the fields and
 * the newest histories; changelogs longer than that are completed per issue, or, by bulkfetch, for up
 * to BULK_ISSUES issues at once: the pages are then held until that many issues (or the last page)
 * are in, and published in order with the cursor of the last one.
 */
const issues: Stream<JiraClient> = {
  name: 'issues',
  scopes: jiraProjects,
  async *pull(client, project, cursor, ctx) {
    const settings = jiraSettings(ctx.config);
    const custom = Object.values(settings.fields).filter((f): f is string => f !== undefined);
    const fields = ['*navigable', ...custom];
    const resume = !ctx.backfill && cursor !== undefined && typeof cursor['updated'] === 'string';
    let lastMs = resume ? Date.parse(cursor['updated'] as string) : ctx.since.getTime();
    let lastIds = new Set(resume && typeof cursor['ids'] === 'string' && cursor['ids'] !== '' ? cursor['ids'].split(',') : []);
    const jql = issuesJql(project, floorMinute(lastMs - OVERLAP_MS), settings.jql);
    let position: string | number | undefined;
    let held: S.Issue[] = [];
    const counter = { n: 0 };
    do {
      const page = await searchPage(S.issue, client, jql, fields, true, SEARCH_PAGE, position, ctx, counter);
      for (const issue of page.issues) {
        const ms = Date.parse(issue.fields.updated);
        if (resume && (ms < lastMs || (ms === lastMs && lastIds.has(issue.id)))) continue;
        held.push(issue);
        if (ms > lastMs) {
          lastMs = ms;
          lastIds = new Set();
        }
        if (ms === lastMs) lastIds.add(issue.id);
      }
      position = page.next;
      if (position !== undefined && client.changelogs.plan === 'bulkfetch' && held.length < BULK_ISSUES) continue;
      await completeChangelogs(client, held, ctx, counter);
      const records: SourceRecord[] = held.map((issue) => issueRecord(client.site, issue, issue));
      const next: Cursor = { updated: new Date(lastMs).toISOString(), ids: [...lastIds].join(',') };
      yield { records, cursor: records.length > 0 ? next : undefined, requests: counter.n } satisfies Page;
      held = [];
      counter.n = 0;
    } while (position !== undefined);
  },
};

/** Versions of one project. They have no updated time: a version is emitted when its hash changed. */
const versions: Stream<JiraClient> = {
  name: 'versions',
  scopes: jiraProjects,
  async *pull(client, project, cursor, ctx) {
    const seen = ctx.backfill ? new Map<string, string>() : decodeSeen(cursor?.['seen']);
    const now = new Map<string, string>();
    const path = `/rest/api/${client.v3 !== undefined ? 3 : 2}/project/${project}/version`;
    for (let startAt = 0; ;) {
      const counter = { n: 0 };
      const page = await client.call(
        `GET ${path}`,
        S.versionPage,
        () => {
          const params = { projectIdOrKey: project, startAt, maxResults: VERSION_PAGE };
          return client.v3 !== undefined
            ? client.v3.projectVersions.getProjectVersionsPaginated<unknown>(params)
            : client.v2.projectVersions.getProjectVersionsPaginated<unknown>(params);
        },
        { signal: ctx.signal, counter },
      );
      const observedAt = ctx.clock.date();
      const records: SourceRecord[] = [];
      for (const v of page.values) {
        const h = versionHash(v);
        now.set(v.id, h);
        // Jira's version names its project by id only; the key it was listed under lets the mapper give it its team.
        if (seen.get(v.id) !== h) records.push(versionRecord(client.site, v, { ...v, projectKey: project }, observedAt));
      }
      startAt += page.values.length;
      const done = page.isLast === true || page.values.length === 0 || (page.total !== undefined && startAt >= page.total);
      // The memory of what was emitted is saved once the whole listing is on the bus.
      yield { records, cursor: done ? { seen: encodeSeen(now) } : undefined, requests: counter.n } satisfies Page;
      if (done) return;
    }
  },
};

/** Sprints of one board, emitted when their state, dates, name or goal changed. */
const sprints: Stream<JiraClient> = {
  name: 'sprints',
  scopes: (config) => jiraSettings(config).boards.map(String),
  async *pull(client, board, cursor, ctx) {
    const seen = ctx.backfill ? new Map<string, string>() : decodeSeen(cursor?.['seen']);
    const now = new Map<string, string>();
    for (let startAt = 0; ;) {
      const counter = { n: 0 };
      const page = await client.call(
        `GET /rest/agile/1.0/board/${board}/sprint`,
        S.sprintPage,
        () => client.agile.board.getAllSprints<unknown>({ boardId: Number(board), startAt, maxResults: SPRINT_PAGE }),
        { signal: ctx.signal, counter },
      );
      const observedAt = ctx.clock.date();
      const records: SourceRecord[] = [];
      for (const s of page.values) {
        const v = sprintVersion(s);
        now.set(String(s.id), v);
        if (seen.get(String(s.id)) !== v) records.push(sprintRecord(client.site, s, s, observedAt));
      }
      startAt += page.values.length;
      const done = page.isLast !== false || page.values.length === 0;
      yield { records, cursor: done ? { seen: encodeSeen(now) } : undefined, requests: counter.n } satisfies Page;
      if (done) return;
    }
  },
};

export interface DeletionOptions {
  /** Shortest time between two full id listings of a project; default: sources.jira.deletionScanMinutes. */
  scanEveryMs?: number;
}

/**
 * Deleted issues. Jira Cloud has no feed of deletions (the jira:issue_deleted webhook is the live
 * path): this stream lists a project's issue ids (ids only, 5000 a page) at most every `scanEveryMs`
 * and compares with the previous listing. An id that went missing is checked one by one: a 404 is a
 * deletion; an issue that moved to another project is not.
 */
export function issueDeletions(options: DeletionOptions): Stream<JiraClient> {
  return {
    name: 'issue_deletions',
    scopes: jiraProjects,
    async *pull(client, project, cursor, ctx) {
      const listedAt = typeof cursor?.['listedAt'] === 'string' ? Date.parse(cursor['listedAt']) : undefined;
      const every = options.scanEveryMs ?? (ctx.config.sources.jira?.deletionScanMinutes ?? 360) * 60_000;
      if (!ctx.backfill && listedAt !== undefined && ctx.clock.now() - listedAt < every) return;
      const previous = cursor === undefined ? undefined : decodeIds(cursor['ids']);
      const counter = { n: 0 };
      const current = new Set<string>();
      const pageSize = client.v3 !== undefined ? IDS_PAGE : DC_IDS_PAGE;
      let position: string | number | undefined;
      do {
        const page = await searchPage(S.issueId, client, `project = ${quote(project)}`, ['id'], false, pageSize, position, ctx, counter);
        for (const i of page.issues) current.add(i.id);
        position = page.next;
      } while (position !== undefined);
      const records: SourceRecord[] = [];
      const at = ctx.clock.date();
      for (const id of previous ?? []) {
        if (current.has(id)) continue;
        const where = await issueProject(client, id, ctx, counter);
        if (where === undefined)
          records.push(issueDeletedRecord(client.site, id, at, { id, project: { key: project }, detectedBy: 'id-listing' }));
      }
      yield { records, cursor: { ids: encodeIds(current), listedAt: at.toISOString() }, requests: counter.n } satisfies Page;
    },
  };
}

/** The project an issue is in now, or undefined when Jira says it does not exist. */
async function issueProject(client: JiraClient, id: string, ctx: StreamContext, counter: { n: number }): Promise<string | undefined> {
  try {
    const issue = await client.call(
      `GET /rest/api/${client.v3 !== undefined ? 3 : 2}/issue/${id}`,
      S.anyObject,
      () => {
        const params = { issueIdOrKey: id, fields: ['project'] };
        return client.v3 !== undefined ? client.v3.issues.getIssue<unknown>(params) : client.v2.issues.getIssue<unknown>(params);
      },
      { signal: ctx.signal, counter },
    );
    const fields = issue['fields'] as { project?: { key?: string } } | undefined;
    return fields?.project?.key ?? '';
  } catch (err) {
    if (err instanceof SourceError && err.status === 404) return undefined;
    throw err;
  }
}

export function jiraStreams(options: DeletionOptions = {}): Array<Stream<JiraClient>> {
  return [issues, versions, sprints, issueDeletions(options)];
}
