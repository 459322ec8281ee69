/**
 * A fake Jira (Cloud REST v3 + Agile 1.0, and the v2 search of Data Center) on 127.0.0.1, serving the
 * demo organisation's Jira data or a dataset built in a test. It reproduces the parts the connector
 * relies on: the enhanced search (POST/GET /rest/api/3/search/jql) with nextPageToken and isLast,
 * JQL as far as `project`, `updated >=` and `ORDER BY updated ASC`, minute precision of JQL times,
 * truncated changelogs in search results and GET /issue/{id}/changelog paging, on demand POST
 * /rest/api/3/changelog/bulkfetch (up to 1000 issues, histories oldest first, nextPageToken paging), project versions and
 * board sprints with startAt/maxResults, basic and bearer auth, and on demand 429 (Retry-After plus
 * X-RateLimit-* and RateLimit-Reason as Jira Cloud sends them), 5xx and 401.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateDemoOrg, type DemoOptions } from '../../connectors/demo/generator.js';

export type Json = Record<string, unknown>;

export interface JiraFakeData {
  /** Issue id -> the issue as search returns it with expand=changelog (histories newest first). */
  issues: Map<string, Json>;
  /** Project key -> project id. */
  projects: Map<string, string>;
  /** Project key -> its versions, in Jira's sequence order. */
  versions: Map<string, Json[]>;
  /** Board id -> its sprints, oldest first. */
  sprints: Map<number, Json[]>;
  fields: Json[];
  /**
   * Project key -> the issue types its scheme offers, as GET /rest/api/3/project/{key} lists them. A project
   * not in it offers every issue type its site's issues use (one scheme for the whole site).
   */
  issueTypes?: Map<string, Json[]>;
}

export interface JiraFakeOptions {
  data?: JiraFakeData;
  demo?: DemoOptions;
  email?: string;
  token?: string;
  /** Histories a search result carries before its changelog is truncated (Jira Cloud: 100). */
  changelogLimit?: number;
  /** Projects on which the API user lacks Browse projects (for doctor). */
  noBrowse?: string[];
  /**
   * Serve POST /rest/api/3/changelog/bulkfetch. Default false: the site answers it 404, as a site
   * without the endpoint does, and changelogs are completed per issue.
   */
  bulkChangelog?: boolean;
  /** Histories a bulkfetch page holds at most (Jira Cloud's default page: 1000). */
  bulkChangelogPage?: number;
}

export interface Fault {
  status: number;
  /** Requests it applies to (default 1); Infinity for every matching request. */
  times?: number;
  /** Path prefix or pattern of the requests it applies to (default: any). */
  path?: string | RegExp;
  /** Seconds in Retry-After for 429 (default 1). */
  retryAfter?: number;
}

export interface JiraFake {
  url: string;
  data: JiraFakeData;
  requests: { total: number; byPath: Map<string, number> };
  resetCounts(): void;
  fail(fault: Fault): void;
  clearFaults(): void;
  /** Changes an issue as an edit in Jira does: new fields.updated, one more changelog history. */
  updateIssue(id: string, change: (fields: Json) => void, at?: Date): Json;
  addIssue(project: string, summary: string, at?: Date): Json;
  deleteIssue(id: string): void;
  close(): Promise<void>;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const jiraTime = (d: Date): string => d.toISOString().replace('Z', '+0000');

/** System fields as GET /rest/api/3/field lists them on Jira Cloud (a subset). */
export const SYSTEM_FIELDS: Json[] = [
  ['issuetype', 'Issue Type', 'issuetype'],
  ['priority', 'Priority', 'priority'],
  ['duedate', 'Due date', 'date'],
  ['assignee', 'Assignee', 'user'],
  ['fixVersions', 'Fix versions', 'array'],
  ['parent', 'Parent', 'issuelink'],
  ['labels', 'Labels', 'array'],
].map(([id, name, type]) => ({
  id,
  key: id,
  name,
  custom: false,
  orderable: true,
  navigable: true,
  searchable: true,
  clauseNames: [id === 'duedate' ? 'due' : id!],
  schema: { type, system: id },
}));

/** A custom field as GET /rest/api/3/field lists it. */
export function customField(id: string, name: string, custom = 'com.atlassian.jira.plugin.system.customfieldtypes:float'): Json {
  const n = Number(id.replace('customfield_', ''));
  return {
    id,
    key: id,
    name,
    untranslatedName: name,
    custom: true,
    orderable: true,
    navigable: true,
    searchable: true,
    clauseNames: [`cf[${n}]`, name],
    schema: { type: 'number', custom, customId: n },
  };
}

/** An issue type as a project's issueTypes lists it. */
export function issueType(id: string, name: string, hierarchyLevel = 0): Json {
  return {
    self: `https://acme.atlassian.net/rest/api/3/issuetype/${id}`,
    id,
    description: '',
    iconUrl: `https://acme.atlassian.net/rest/api/2/universal_avatar/view/type/issuetype/avatar/10318?size=medium`,
    name,
    subtask: hierarchyLevel < 0,
    avatarId: 10318,
    hierarchyLevel,
  };
}

/** The demo organisation's Jira as of its `now`: the last version of each issue, version and sprint. */
export function demoJiraData(options: DemoOptions = {}): JiraFakeData {
  const { records } = generateDemoOrg(options);
  const issues = new Map<string, Json>();
  const versions = new Map<string, Json>();
  const sprints = new Map<string, Json>();
  for (const r of records) {
    if (r.source !== 'jira') continue;
    const p = r.payload as Json;
    if (r.type === 'jira.issue') issues.set(str(p['id']), p);
    else if (r.type === 'jira.version') versions.set(str(p['id']), p);
    else if (r.type === 'jira.sprint') sprints.set(str(p['id']), p);
  }
  const projects = new Map<string, string>();
  for (const i of issues.values()) {
    const project = obj(obj(i['fields'])['project']);
    projects.set(str(project['key']), str(project['id']));
  }
  const keyOfProjectId = new Map([...projects].map(([k, id]) => [id, k]));
  const byProject = new Map<string, Json[]>();
  for (const v of versions.values()) {
    const key = keyOfProjectId.get(str(v['projectId']));
    if (key === undefined) continue;
    const list = byProject.get(key) ?? [];
    list.push(v);
    byProject.set(key, list);
  }
  const byBoard = new Map<number, Json[]>();
  for (const s of [...sprints.values()].sort((a, b) => Number(a['id']) - Number(b['id']))) {
    const board = Number(s['originBoardId']);
    const list = byBoard.get(board) ?? [];
    list.push(s);
    byBoard.set(board, list);
  }
  const fields: Json[] = [
    { id: 'summary', name: 'Summary', custom: false },
    { id: 'status', name: 'Status', custom: false },
    { id: 'updated', name: 'Updated', custom: false },
    { id: 'customfield_10015', name: 'Start date', custom: true },
    { id: 'customfield_10016', name: 'Story point estimate', custom: true },
    { id: 'customfield_10020', name: 'Sprint', custom: true },
    { id: 'customfield_10040', name: 'Found in', custom: true },
    { id: 'customfield_10041', name: 'Severity', custom: true },
    ...SYSTEM_FIELDS,
  ];
  return { issues, projects, versions: byProject, sprints: byBoard, fields };
}

export interface JiraRequestBound {
  search: number;
  bulkfetch: number;
  versions: number;
  sprints: number;
  idListings: number;
  total: number;
}

/**
 * The fewest requests a full pull of `projects` and `boards` needs from this data on Jira Cloud:
 * per project its search pages (100 issues with their fields and newest `changelogLimit` histories),
 * the bulkfetch calls for the changelogs longer than that (1000 issues a call, 1000 histories a
 * page), its version pages (50) and its id listing (5000 ids a page); per board its sprint pages (50).
 */
export function jiraRequestBound(data: JiraFakeData, projects: string[], boards: number[], changelogLimit = 100): JiraRequestBound {
  const pages = (n: number, size: number): number => Math.max(1, Math.ceil(n / size));
  const bound = { search: 0, bulkfetch: 0, versions: 0, sprints: 0, idListings: 0, total: 0 };
  for (const project of projects) {
    const own = [...data.issues.values()].filter((i) => str(obj(obj(i['fields'])['project'])['key']) === project);
    const long = own.map((i) => ((obj(i['changelog'])['histories'] as Json[] | undefined) ?? []).length).filter((n) => n > changelogLimit);
    bound.search += pages(own.length, 100);
    if (long.length > 0) bound.bulkfetch += Math.max(Math.ceil(long.length / 1000), Math.ceil(long.reduce((a, b) => a + b, 0) / 1000));
    bound.versions += pages(data.versions.get(project)?.length ?? 0, 50);
    bound.idListings += pages(own.length, 5000);
  }
  for (const board of boards) bound.sprints += pages(data.sprints.get(board)?.length ?? 0, 50);
  bound.total = bound.search + bound.bulkfetch + bound.versions + bound.sprints + bound.idListings;
  return bound;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Query {
  projects: string[] | undefined;
  sinceMs: number | undefined;
  orderByUpdated: boolean;
}

/** The JQL this fake understands: project = X / project in (X, Y), updated >= <epoch ms | "yyyy/MM/dd HH:mm">, ORDER BY updated ASC. */
export function parseJql(jql: string): Query {
  const project = /\bproject\s*(?:=\s*("[^"]*"|[\w-]+)|in\s*\(([^)]*)\))/i.exec(jql);
  const projects =
    project === null
      ? undefined
      : (project[1] ?? project[2] ?? '')
          .split(',')
          .map((s) => s.trim().replace(/^"|"$/g, ''))
          .filter((s) => s !== '');
  const updated = /\bupdated\s*>=\s*(\d{10,}|"[^"]*"|'[^']*')/i.exec(jql);
  let sinceMs: number | undefined;
  if (updated !== null) {
    const raw = updated[1]!.replace(/^["']|["']$/g, '');
    // Jira reads a literal in the user's time zone (UTC here) and compares at minute precision.
    const ms = /^\d+$/.test(raw)
      ? Number(raw)
      : Date.parse(`${raw.replace(/\//g, '-').replace(' ', 'T')}${raw.length <= 10 ? '' : ':00'}Z`);
    if (Number.isNaN(ms)) throw new HttpError(400, `Date value '${raw}' for field 'updated' is invalid.`);
    sinceMs = Math.floor(ms / 60_000) * 60_000;
  }
  const orderByUpdated = /order\s+by\s+updated(\s+asc)?\s*$/i.test(jql.trim());
  if (/order\s+by/i.test(jql) && !orderByUpdated) throw new HttpError(400, 'this fake only orders by updated ASC');
  return { projects, sinceMs, orderByUpdated };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const listParam = (v: unknown): string[] =>
  Array.isArray(v) ? v.map(str) : typeof v === 'string' && v !== '' ? v.split(',').map((s) => s.trim()) : [];

export async function startJiraFake(options: JiraFakeOptions = {}): Promise<JiraFake> {
  const data = options.data ?? demoJiraData(options.demo);
  const email = options.email ?? 'bot@acme.example';
  const token = options.token ?? 'jira-test-token';
  const changelogLimit = options.changelogLimit ?? 100;
  const requests = { total: 0, byPath: new Map<string, number>() };
  let faults: Array<Fault & { left: number }> = [];
  let nextIssueId = Math.max(10_000, ...[...data.issues.keys()].map(Number)) + 1;
  let nextHistoryId = 900_000;
  let base = '';

  const updatedMs = (i: Json): number => Date.parse(str(obj(i['fields'])['updated']));
  const projectOf = (i: Json): string => str(obj(obj(i['fields'])['project'])['key']);

  function selectIssues(jql: string): Json[] {
    const q = parseJql(jql);
    const out = [...data.issues.values()].filter(
      (i) => (q.projects === undefined || q.projects.includes(projectOf(i))) && (q.sinceMs === undefined || updatedMs(i) >= q.sinceMs),
    );
    return q.orderByUpdated
      ? out.sort((a, b) => updatedMs(a) - updatedMs(b) || Number(a['id']) - Number(b['id']))
      : out.sort((a, b) => Number(b['id']) - Number(a['id']));
  }

  /** An issue as a search returns it: the fields asked for, the changelog when expanded (truncated past the limit in Cloud). */
  function render(i: Json, fields: string[], expandChangelog: boolean, truncate: boolean): Json {
    const { changelog, fields: all, ...rest } = i;
    const out: Json = { ...rest };
    const idOnly = fields.every((f) => f === 'id' || f === 'key');
    if (!idOnly) {
      const everything = fields.length === 0 || fields.includes('*navigable') || fields.includes('*all');
      out['fields'] = everything ? all : Object.fromEntries(Object.entries(obj(all)).filter(([k]) => fields.includes(k)));
    }
    if (expandChangelog) {
      const histories = (obj(changelog)['histories'] as Json[] | undefined) ?? [];
      const shown = truncate ? histories.slice(0, changelogLimit) : histories;
      out['changelog'] = { startAt: 0, maxResults: shown.length, total: histories.length, histories: shown };
    }
    return out;
  }

  const pageToken = (offset: number, jql: string): string => Buffer.from(JSON.stringify({ offset, jql })).toString('base64url');
  function readToken(t: string, jql: string): number {
    try {
      const parsed = JSON.parse(Buffer.from(t, 'base64url').toString('utf8')) as { offset?: unknown; jql?: unknown };
      if (parsed.jql === jql && typeof parsed.offset === 'number') return parsed.offset;
    } catch {
      // fall through
    }
    throw new HttpError(400, 'The provided next page token is invalid or expired.');
  }

  function enhancedSearch(params: Json): Json {
    const jql = str(params['jql']);
    const fields = listParam(params['fields']);
    const expand = listParam(params['expand']).includes('changelog');
    const idOnly = fields.length > 0 && fields.every((f) => f === 'id' || f === 'key');
    const cap = idOnly ? 5000 : 100;
    const maxResults = Math.min(cap, Math.max(1, Number(params['maxResults'] ?? 50) || 50));
    const token = params['nextPageToken'];
    const offset = typeof token === 'string' && token !== '' ? readToken(token, jql) : 0;
    const all = selectIssues(jql);
    const slice = all.slice(offset, offset + maxResults);
    const isLast = offset + slice.length >= all.length;
    return {
      issues: slice.map((i) => render(i, fields, expand, true)),
      ...(isLast ? {} : { nextPageToken: pageToken(offset + slice.length, jql) }),
      isLast,
    };
  }

  function classicSearch(params: Json): Json {
    const jql = str(params['jql']);
    const fields = listParam(params['fields']);
    const expand = listParam(params['expand']).includes('changelog');
    const startAt = Math.max(0, Number(params['startAt'] ?? 0) || 0);
    const maxResults = Math.min(1000, Math.max(1, Number(params['maxResults'] ?? 50) || 50));
    const all = selectIssues(jql);
    const slice = all.slice(startAt, startAt + maxResults);
    // Data Center returns every history with expand=changelog.
    return { expand: 'schema,names', startAt, maxResults, total: all.length, issues: slice.map((i) => render(i, fields, expand, false)) };
  }

  function pageBean(values: Json[], url: URL, cap: number, path: string): Json {
    const startAt = Math.max(0, Number(url.searchParams.get('startAt') ?? 0) || 0);
    const maxResults = Math.min(cap, Math.max(1, Number(url.searchParams.get('maxResults') ?? cap) || cap));
    const slice = values.slice(startAt, startAt + maxResults);
    const isLast = startAt + slice.length >= values.length;
    return {
      self: `${base}${path}?startAt=${startAt}&maxResults=${maxResults}`,
      ...(isLast ? {} : { nextPage: `${base}${path}?startAt=${startAt + slice.length}&maxResults=${maxResults}` }),
      maxResults,
      startAt,
      total: values.length,
      isLast,
      values: slice,
    };
  }

  /**
   * POST /rest/api/3/changelog/bulkfetch: the histories of the named issues (ids or keys, 1 to 1000;
   * unknown ones are left out), oldest first and then by issue id, optionally only those touching
   * `fieldIds` (at most 10), a page of `maxResults` histories at most, grouped per issue.
   */
  function bulkChangelogs(body: Json): Json {
    const named = body['issueIdsOrKeys'];
    if (!Array.isArray(named) || named.length === 0) throw new HttpError(400, 'issueIdsOrKeys must not be empty.');
    if (named.length > 1000) throw new HttpError(400, 'issueIdsOrKeys must not contain more than 1000 items.');
    const fieldIds = listParam(body['fieldIds']);
    if (fieldIds.length > 10) throw new HttpError(400, 'fieldIds must not contain more than 10 items.');
    const cap = options.bulkChangelogPage ?? 1000;
    const maxResults = Math.min(cap, Math.max(1, Number(body['maxResults'] ?? 1000) || 1000));
    const issues = new Map<string, Json>();
    for (const n of named) {
      const found = data.issues.get(str(n)) ?? [...data.issues.values()].find((i) => i['key'] === str(n));
      if (found !== undefined) issues.set(str(found['id']), found);
    }
    const all: Array<{ issueId: string; history: Json }> = [];
    for (const [issueId, issue] of issues) {
      const histories = [...((obj(issue['changelog'])['histories'] as Json[] | undefined) ?? [])].reverse();
      for (const h of histories) {
        if (fieldIds.length === 0) all.push({ issueId, history: h });
        else {
          const items = ((h['items'] as Json[] | undefined) ?? []).filter((it) => fieldIds.includes(str(it['fieldId'] ?? it['field'])));
          if (items.length > 0) all.push({ issueId, history: { ...h, items } });
        }
      }
    }
    all.sort(
      (a, b) => Date.parse(str(a.history['created'])) - Date.parse(str(b.history['created'])) || Number(a.issueId) - Number(b.issueId),
    );
    const key = JSON.stringify([[...issues.keys()].sort(), fieldIds]);
    const token = body['nextPageToken'];
    const offset = typeof token === 'string' && token !== '' ? readToken(token, key) : 0;
    const slice = all.slice(offset, offset + maxResults);
    const grouped = new Map<string, Json[]>();
    for (const { issueId, history } of slice) grouped.set(issueId, [...(grouped.get(issueId) ?? []), history]);
    const more = offset + slice.length < all.length;
    return {
      issueChangeLogs: [...grouped].map(([issueId, changeHistories]) => ({ issueId, changeHistories })),
      ...(more ? { nextPageToken: pageToken(offset + slice.length, key) } : {}),
    };
  }

  function issueById(idOrKey: string): Json {
    const found = data.issues.get(idOrKey) ?? [...data.issues.values()].find((i) => i['key'] === idOrKey);
    if (found === undefined) throw new HttpError(404, 'Issue does not exist or you do not have permission to see it.');
    return found;
  }

  /** Every issue type the site's issues use, once each. */
  function siteIssueTypes(): Json[] {
    const byId = new Map<string, Json>();
    for (const i of data.issues.values()) {
      const t = obj(obj(i['fields'])['issuetype']);
      if (str(t['id']) !== '' && !byId.has(str(t['id']))) byId.set(str(t['id']), t);
    }
    return [...byId.values()];
  }

  async function route(req: IncomingMessage, url: URL): Promise<unknown> {
    const method = req.method ?? 'GET';
    // Data Center's v2 answers like v3 here, except for the classic search.
    const path = url.pathname.replace(/^\/rest\/api\/2\//, '/rest/api/3/');
    const query = Object.fromEntries(url.searchParams);
    const body = method === 'POST' ? obj(JSON.parse((await readBody(req)) || '{}')) : {};
    let m: RegExpExecArray | null;
    if (url.pathname === '/rest/api/2/search') return classicSearch(method === 'POST' ? body : query);
    if (path === '/rest/api/3/search/jql') return enhancedSearch(method === 'POST' ? body : query);
    if (url.pathname === '/rest/api/3/changelog/bulkfetch' && method === 'POST' && options.bulkChangelog === true)
      return bulkChangelogs(body);
    if ((m = /^\/rest\/api\/3\/issue\/([^/]+)\/changelog$/.exec(path)) !== null) {
      const issue = issueById(decodeURIComponent(m[1]!));
      const histories = [...((obj(issue['changelog'])['histories'] as Json[] | undefined) ?? [])].reverse();
      return pageBean(histories, url, 100, url.pathname);
    }
    if ((m = /^\/rest\/api\/3\/issue\/([^/]+)$/.exec(path)) !== null) {
      return render(issueById(decodeURIComponent(m[1]!)), listParam(query['fields']), false, false);
    }
    if ((m = /^\/rest\/api\/3\/project\/([^/]+)\/version$/.exec(path)) !== null) {
      const key = decodeURIComponent(m[1]!);
      if (!data.projects.has(key)) throw new HttpError(404, `No project could be found with key '${key}'.`);
      return pageBean(data.versions.get(key) ?? [], url, 50, url.pathname);
    }
    if ((m = /^\/rest\/api\/3\/project\/([^/]+)$/.exec(path)) !== null) {
      const key = decodeURIComponent(m[1]!);
      const id = data.projects.get(key);
      if (id === undefined) throw new HttpError(404, `No project could be found with key '${key}'.`);
      return {
        expand: 'description,lead,issueTypes,url,projectKeys,permissions,insight',
        self: `${base}/rest/api/3/project/${id}`,
        id,
        key,
        description: '',
        lead: { accountId: '712020:fake', displayName: 'ptel bot', active: true },
        components: [],
        issueTypes: data.issueTypes?.get(key) ?? siteIssueTypes(),
        assigneeType: 'UNASSIGNED',
        versions: [],
        name: `Project ${key}`,
        roles: {},
        projectTypeKey: 'software',
        simplified: false,
        style: 'classic',
        isPrivate: false,
        properties: {},
      };
    }
    if ((m = /^\/rest\/agile\/1\.0\/board\/(\d+)(\/sprint)?$/.exec(path)) !== null) {
      const board = Number(m[1]);
      const sprints = data.sprints.get(board);
      if (sprints === undefined) throw new HttpError(404, `Board ${board} does not exist or you do not have permission to see it.`);
      if (m[2] === undefined) return { id: board, self: `${base}/rest/agile/1.0/board/${board}`, name: `Board ${board}`, type: 'scrum' };
      const page = pageBean(sprints, url, 50, url.pathname);
      return { maxResults: page['maxResults'], startAt: page['startAt'], isLast: page['isLast'], values: page['values'] };
    }
    if (path === '/rest/api/3/myself') {
      return { accountId: '712020:fake', emailAddress: email, displayName: 'ptel bot', active: true, timeZone: 'UTC' };
    }
    if (path === '/rest/api/3/mypermissions') {
      const key = query['projectKey'];
      if (key !== undefined && !data.projects.has(key)) throw new HttpError(404, `No project could be found with key '${key}'.`);
      const have = key === undefined || !(options.noBrowse ?? []).includes(key);
      return {
        permissions: {
          BROWSE_PROJECTS: { id: '10', key: 'BROWSE_PROJECTS', name: 'Browse Projects', type: 'PROJECT', havePermission: have },
        },
      };
    }
    if (path === '/rest/api/3/field') return data.fields;
    throw new HttpError(404, `no route ${method} ${url.pathname} in the Jira fake`);
  }

  const authorized = (req: IncomingMessage): boolean => {
    const auth = req.headers.authorization ?? '';
    return auth === `Basic ${Buffer.from(`${email}:${token}`).toString('base64')}` || auth === `Bearer ${token}`;
  };

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.total++;
    requests.byPath.set(url.pathname, (requests.byPath.get(url.pathname) ?? 0) + 1);
    const fault = faults.find(
      (f) =>
        f.left > 0 && (f.path === undefined || (typeof f.path === 'string' ? url.pathname.startsWith(f.path) : f.path.test(url.pathname))),
    );
    if (fault !== undefined) {
      fault.left--;
      req.resume();
      if (fault.status === 429) {
        const wait = fault.retryAfter ?? 1;
        const reset = new Date(Date.now() + wait * 1000).toISOString().slice(0, 16) + 'Z';
        send(
          res,
          429,
          { errorMessages: ['Rate limit exceeded.'] },
          {
            'retry-after': String(wait),
            'x-ratelimit-limit': '100',
            'x-ratelimit-remaining': '0',
            'x-ratelimit-reset': reset,
            'ratelimit-reason': 'jira-burst-based',
          },
        );
      } else if (fault.status === 401) {
        send(res, 401, { errorMessages: ['Client must be authenticated to access this resource.'] });
      } else {
        send(res, fault.status, { errorMessages: [`injected failure ${fault.status}`] });
      }
      return;
    }
    if (!authorized(req)) {
      req.resume();
      send(res, 401, { errorMessages: ['Client must be authenticated to access this resource.'] });
      return;
    }
    route(req, url).then(
      (body) => send(res, 200, body, { 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '99' }),
      (err: unknown) => {
        if (err instanceof HttpError) send(res, err.status, { errorMessages: [err.message], errors: {} });
        else send(res, 500, { errorMessages: [err instanceof Error ? err.message : String(err)] });
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  function updateIssue(id: string, change: (fields: Json) => void, at = new Date()): Json {
    const current = issueById(id);
    const fields = structuredClone(obj(current['fields']));
    const before = JSON.stringify(fields);
    change(fields);
    // Jira keeps updated strictly moving forward, even for two edits within one millisecond.
    const t = new Date(Math.max(at.getTime(), Date.parse(str(fields['updated'])) + 1));
    fields['updated'] = jiraTime(t);
    const histories = (obj(current['changelog'])['histories'] as Json[] | undefined) ?? [];
    const item = { field: 'fake', fieldtype: 'jira', from: null, fromString: before.length.toString(), to: null, toString: 'changed' };
    const history = { id: String(nextHistoryId++), author: { accountId: '712020:fake' }, created: jiraTime(t), items: [item] };
    const next = {
      ...current,
      fields,
      changelog: { startAt: 0, maxResults: histories.length + 1, total: histories.length + 1, histories: [history, ...histories] },
    };
    data.issues.set(str(current['id']), next);
    return next;
  }

  return {
    url: base,
    data,
    requests,
    resetCounts() {
      requests.total = 0;
      requests.byPath.clear();
    },
    fail(fault) {
      faults.push({ ...fault, left: fault.times ?? 1 });
    },
    clearFaults() {
      faults = [];
    },
    updateIssue,
    addIssue(project, summary, at = new Date()) {
      const id = String(nextIssueId++);
      const projectId = data.projects.get(project);
      if (projectId === undefined) throw new Error(`no project ${project} in the fake`);
      const issue: Json = {
        expand: 'renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations',
        id,
        self: `${base}/rest/api/3/issue/${id}`,
        key: `${project}-${id}`,
        changelog: { startAt: 0, maxResults: 0, total: 0, histories: [] },
        fields: {
          summary,
          project: { id: projectId, key: project },
          created: jiraTime(at),
          updated: jiraTime(at),
          status: { name: 'To Do' },
        },
      };
      data.issues.set(id, issue);
      return issue;
    },
    deleteIssue(id) {
      data.issues.delete(id);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
