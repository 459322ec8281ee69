/**
 * A fake GitHub REST API on 127.0.0.1 for the connector's tests and bench. It serves the latest
 * version of each entity of a dataset (by default the demo organisation's GitHub records) with
 * GitHub's paging (page/per_page, Link rel="next"/"last"), rate-limit headers, weak ETags and 304 on
 * If-None-Match (free of budget, as on GitHub), and on demand 429 + Retry-After, 403 secondary rate
 * limits, 5xx and 401; unknown repositories are 404, a wrong token 401.
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { generateDemoOrg, type DemoOptions } from '../../connectors/demo/generator.js';
import type { Bus, BusMessage } from '../../infra/bus/types.js';
import type { RawEvent, SourceRecord } from '../../schemas/raw-event.js';
import { createGraphqlApi, type GraphqlLogEntry, type PointBudget } from './github-graphql.js';

export type Json = Record<string, unknown>;

/** One repository's current state; tests mutate it between syncs. */
export interface FakeRepo {
  repo: Json;
  pulls: Map<number, Json>;
  pullCommits: Map<number, Json[]>;
  reviews: Map<number, Json[]>;
  /** Commits of the default branch. */
  commits: Json[];
  deployments: Map<number, Json>;
  statuses: Map<number, Json[]>;
  releases: Map<number, Json>;
  runs: Map<number, Json>;
  jobs: Map<number, Json[]>;
  /** Milestones by number. */
  milestones: Map<number, Json>;
  /** Issues by number; as on GitHub, pull requests may be listed here too (with a `pull_request` object). */
  issues: Map<number, Json>;
  /** Events of the repository's issues (GET /issues/events), any order: they are served newest first. */
  issueEvents: Json[];
}

export interface Fault {
  /** Requests whose path (without the prefix) matches; every request when absent. */
  path?: RegExp;
  kind: 'rate_limit' | 'secondary_rate_limit' | 'primary_rate_limit' | 'server_error' | 'unauthorized';
  /** How many matching requests fail; Infinity for all. */
  times: number;
  /** Matching requests that pass before the fault starts. */
  after?: number;
  retryAfterSeconds?: number;
  status?: number;
}

export interface FakeGithubOptions {
  /** Expected token; any other Authorization is 401. */
  token?: string;
  /** Path prefix, '/api/v3' as GitHub Enterprise Server has it. */
  prefix?: string;
  repos?: FakeRepo[];
  /** Demo organisation to serve when `repos` is not given. */
  demo?: DemoOptions;
  /** x-oauth-scopes of GET /user; undefined for a fine-grained token (no header). */
  scopes?: string | undefined;
  /** Permissions of the GitHub App installation. */
  appPermissions?: Record<string, string>;
  /** Where the rate-limit resets and the request log's times are read (epoch ms; default: the wall clock). */
  now?: () => number;
  /** The GraphQL point budget an hour (default 5,000, as on GitHub). */
  graphqlPoints?: number;
}

const APP_PERMISSIONS = {
  metadata: 'read',
  contents: 'read',
  pull_requests: 'read',
  deployments: 'read',
  actions: 'read',
  issues: 'read',
};

export interface FakeGithub {
  url: string;
  /** The baseUrl to give the client: url + prefix. */
  baseUrl: string;
  repos: Map<string, FakeRepo>;
  requests: {
    total: number;
    notModified: number;
    byPath: Map<string, number>;
    log: Array<{ path: string; status: number; at: number }>;
    /** Every request's URL, its path without the prefix: what each asked for (since, state, ...). */
    queries: URL[];
  };
  /** The GraphQL API: its point budget and every query it answered (operation, variables, cost, errors). */
  graphql: { budget: PointBudget; log: GraphqlLogEntry[] };
  fault(f: Fault): void;
  clearFaults(): void;
  resetCounts(): void;
  repo(fullName: string): FakeRepo;
  close(): Promise<void>;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const json = (v: unknown): Json => v as Json;

export function emptyRepo(repo: Json): FakeRepo {
  return {
    repo,
    pulls: new Map(),
    pullCommits: new Map(),
    reviews: new Map(),
    commits: [],
    deployments: new Map(),
    statuses: new Map(),
    releases: new Map(),
    runs: new Map(),
    jobs: new Map(),
    milestones: new Map(),
    issues: new Map(),
    issueEvents: [],
  };
}

const user = (login: string): Json => ({
  login,
  id: Number.parseInt(createHash('sha256').update(login).digest('hex').slice(0, 8), 16),
  type: 'User',
  site_admin: false,
  html_url: `https://github.com/${login}`,
  url: `https://api.github.com/users/${login}`,
});

/** A milestone as GET /repos/{owner}/{repo}/milestones lists it. */
export function milestoneJson(
  fullName: string,
  m: {
    id: number;
    number: number;
    title: string;
    due_on: string | null;
    created_at: string;
    updated_at?: string;
    closed_at?: string | null;
  },
): Json {
  const api = `https://api.github.com/repos/${fullName}/milestones/${m.number}`;
  return {
    url: api,
    html_url: `https://github.com/${fullName}/milestone/${m.number}`,
    labels_url: `${api}/labels`,
    id: m.id,
    node_id: Buffer.from(`Milestone${m.id}`).toString('base64'),
    number: m.number,
    title: m.title,
    description: `${m.title} of ${fullName}`,
    creator: user('octocat'),
    open_issues: 0,
    closed_issues: 0,
    state: m.closed_at !== undefined && m.closed_at !== null ? 'closed' : 'open',
    created_at: m.created_at,
    updated_at: m.updated_at ?? m.created_at,
    due_on: m.due_on,
    closed_at: m.closed_at ?? null,
  };
}

/** An issue as GET /repos/{owner}/{repo}/issues lists it (and as an issue event embeds it). */
export function issueJson(
  fullName: string,
  i: {
    id: number;
    number: number;
    title: string;
    created_at: string;
    updated_at?: string;
    closed_at?: string | null;
    state_reason?: string | null;
    labels?: string[];
    milestone?: Json | null;
    assignee?: string | null;
    pull_request?: boolean;
  },
): Json {
  const api = `https://api.github.com/repos/${fullName}/issues/${i.number}`;
  const closed = i.closed_at !== undefined && i.closed_at !== null;
  return {
    url: api,
    repository_url: `https://api.github.com/repos/${fullName}`,
    labels_url: `${api}/labels{/name}`,
    comments_url: `${api}/comments`,
    events_url: `${api}/events`,
    html_url: `https://github.com/${fullName}/${i.pull_request === true ? 'pull' : 'issues'}/${i.number}`,
    id: i.id,
    node_id: Buffer.from(`Issue${i.id}`).toString('base64'),
    number: i.number,
    title: i.title,
    user: user('octocat'),
    labels: (i.labels ?? []).map((name, n) => ({ id: i.id * 10 + n, name, color: 'd73a4a', default: false, description: null })),
    state: closed ? 'closed' : 'open',
    locked: false,
    assignee: i.assignee === undefined || i.assignee === null ? null : user(i.assignee),
    assignees: i.assignee === undefined || i.assignee === null ? [] : [user(i.assignee)],
    milestone: i.milestone ?? null,
    comments: 0,
    created_at: i.created_at,
    updated_at: i.updated_at ?? i.created_at,
    closed_at: i.closed_at ?? null,
    author_association: 'MEMBER',
    active_lock_reason: null,
    body: null,
    state_reason: i.state_reason ?? (closed ? 'completed' : null),
    ...(i.pull_request === true
      ? { pull_request: { url: `https://api.github.com/repos/${fullName}/pulls/${i.number}`, merged_at: null } }
      : {}),
  };
}

/** An event of GET /repos/{owner}/{repo}/issues/events: the issue embedded as it is now; a milestone by its title only. */
export function issueEventJson(
  fullName: string,
  e: { id: number; event: string; created_at: string; issue: Json; milestone?: string; actor?: string },
): Json {
  return {
    id: e.id,
    node_id: Buffer.from(`IssueEvent${e.id}`).toString('base64'),
    url: `https://api.github.com/repos/${fullName}/issues/events/${e.id}`,
    actor: user(e.actor ?? 'octocat'),
    event: e.event,
    commit_id: null,
    commit_url: null,
    created_at: e.created_at,
    performed_via_github_app: null,
    ...(e.milestone !== undefined ? { milestone: { title: e.milestone } } : {}),
    issue: e.issue,
  };
}

/** The latest version of each entity in demo records, arranged as GitHub serves them. */
export function reposFromRecords(records: SourceRecord[]): FakeRepo[] {
  const repos = new Map<string, FakeRepo>();
  const latest = new Map<string, SourceRecord>();
  for (const r of records) {
    if (r.source !== 'github') continue;
    const key = `${r.type} ${r.subject}`;
    const prev = latest.get(key);
    if (prev === undefined || prev.time <= r.time) latest.set(key, r);
  }
  const repoOf = (subject: string): FakeRepo => {
    const name = /^[^/#@]+\/[^/#@]+/.exec(subject)?.[0] ?? '';
    const repo = repos.get(name);
    if (repo === undefined) throw new Error(`no repository record for ${subject}`);
    return repo;
  };
  const push = <K>(m: Map<K, Json[]>, k: K, v: Json): void => {
    const list = m.get(k);
    if (list === undefined) m.set(k, [v]);
    else list.push(v);
  };
  const all = [...latest.values()];
  for (const r of all) if (r.type === 'github.repository') repos.set(r.subject, emptyRepo(json(r.payload)));
  for (const r of all) {
    const p = json(r.payload);
    const number = Number(/#(\d+)/.exec(r.subject)?.[1]);
    switch (r.type) {
      case 'github.pull_request':
        repoOf(r.subject).pulls.set(number, p);
        break;
      case 'github.pull_request_commits':
        repoOf(r.subject).pullCommits.set(number, r.payload as Json[]);
        break;
      case 'github.review':
        push(repoOf(r.subject).reviews, number, p);
        break;
      case 'github.commit':
        repoOf(r.subject).commits.push(p);
        break;
      case 'github.deployment':
        repoOf(r.subject).deployments.set(num(p['id']), p);
        break;
      case 'github.deployment_status':
        push(repoOf(r.subject).statuses, Number(/deployments\/(\d+)/.exec(r.subject)?.[1]), p);
        break;
      case 'github.release':
        repoOf(r.subject).releases.set(num(p['id']), p);
        break;
      case 'github.workflow_run':
        repoOf(r.subject).runs.set(num(p['id']), p);
        break;
    }
  }
  // Jobs of each run's latest attempt, as GET /actions/runs/{id}/jobs (filter=latest) lists them.
  for (const r of all) {
    if (r.type !== 'github.workflow_job') continue;
    const p = json(r.payload);
    const repo = repoOf(r.subject);
    const run = repo.runs.get(num(p['run_id']));
    if (run !== undefined && run['run_attempt'] === p['run_attempt']) push(repo.jobs, num(p['run_id']), p);
  }
  return [...repos.values()];
}

const byDesc =
  (...fields: string[]) =>
  (a: Json, b: Json): number => {
    for (const f of fields) {
      const x = a[f] as string | number;
      const y = b[f] as string | number;
      if (x !== y) return x < y ? 1 : -1;
    }
    return 0;
  };
const committed = (c: Json): string => str(json(json(c['commit'])['committer'])['date']);

export async function startGithubFake(options: FakeGithubOptions = {}): Promise<FakeGithub> {
  const prefix = options.prefix ?? '';
  const repos = new Map<string, FakeRepo>();
  for (const r of options.repos ?? reposFromRecords(generateDemoOrg(options.demo ?? {}).records)) {
    repos.set(str(r.repo['full_name']).toLowerCase(), r);
  }
  const faults: Array<Fault & { seen: number }> = [];
  const requests = {
    total: 0,
    notModified: 0,
    byPath: new Map<string, number>(),
    log: [] as Array<{ path: string; status: number; at: number }>,
    queries: [] as URL[],
  };
  const now = options.now ?? (() => Date.now());
  const limit = 5000;
  let used = 0;
  const reset = Math.floor(now() / 1000) + 3600;
  let origin = '';
  const graphql = createGraphqlApi({ repos, now, ...(options.graphqlPoints !== undefined ? { points: options.graphqlPoints } : {}) });
  // GitHub Enterprise Server serves GraphQL at /api/graphql beside /api/v3; github.com at /graphql.
  const graphqlPath = prefix === '' ? '/graphql' : prefix.replace(/\/v3$/, '/graphql');

  const rateHeaders = (): Record<string, string> => ({
    'x-ratelimit-limit': String(limit),
    'x-ratelimit-remaining': String(Math.max(0, limit - used)),
    'x-ratelimit-reset': String(reset),
    'x-ratelimit-used': String(used),
    'x-ratelimit-resource': 'core',
  });

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...rateHeaders(), ...headers });
    res.end(text);
  };

  /** Serves a list (or `wrap` object) page by page, with Link, ETag and 304. */
  const page = (req: IncomingMessage, res: ServerResponse, url: URL, items: Json[], wrap?: string): void => {
    // `url` is the request's own URL, prefix included.
    const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30));
    const pageNo = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const slice = items.slice((pageNo - 1) * perPage, pageNo * perPage);
    const body = wrap !== undefined ? { total_count: items.length, [wrap]: slice } : slice;
    const link = (n: number, rel: string): string => {
      const u = new URL(url.toString());
      u.searchParams.set('page', String(n));
      return `<${origin}${u.pathname}${u.search}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (pageNo > 1) links.push(link(pageNo - 1, 'prev'));
    if (pageNo < last) links.push(link(pageNo + 1, 'next'), link(last, 'last'));
    if (pageNo > 1) links.push(link(1, 'first'));
    const headers: Record<string, string> = links.length > 0 ? { link: links.join(', ') } : {};
    respondWithEtag(req, res, body, headers);
  };

  const respondWithEtag = (req: IncomingMessage, res: ServerResponse, body: unknown, headers: Record<string, string> = {}): void => {
    const etag = `W/"${createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 40)}"`;
    if (req.headers['if-none-match'] === etag) {
      // GitHub does not count a 304 against the rate limit.
      requests.notModified++;
      res.writeHead(304, { etag, ...rateHeaders() });
      res.end();
      return;
    }
    used++;
    send(res, 200, body, { etag, ...headers });
  };

  const notFound = (res: ServerResponse): void =>
    send(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });

  const route = (req: IncomingMessage, res: ServerResponse, url: URL, path: string): void => {
    if (path === '/user') {
      used++;
      send(res, 200, { login: 'ptel-bot', id: 1, type: 'User' }, options.scopes !== undefined ? { 'x-oauth-scopes': options.scopes } : {});
      return;
    }
    const m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
    const data = m !== null ? repos.get(`${m[1]}/${m[2]}`.toLowerCase()) : undefined;
    if (m === null || data === undefined) return notFound(res);
    const rest = m[3] ?? '';
    const q = url.searchParams;
    let sub: RegExpExecArray | null;
    if (rest === '') return respondWithEtag(req, res, data.repo);
    if (rest === '/pulls') {
      const state = q.get('state') ?? 'open';
      const field = q.get('sort') === 'updated' ? 'updated_at' : 'created_at';
      const list = [...data.pulls.values()].filter((p) => state === 'all' || p['state'] === state);
      list.sort(byDesc(field, 'number'));
      if (q.get('direction') === 'asc') list.reverse();
      return page(req, res, url, list);
    }
    if ((sub = /^\/pulls\/(\d+)\/commits$/.exec(rest)) !== null) {
      const list = data.pullCommits.get(Number(sub[1]));
      return list === undefined && !data.pulls.has(Number(sub[1])) ? notFound(res) : page(req, res, url, list ?? []);
    }
    if ((sub = /^\/pulls\/(\d+)\/reviews$/.exec(rest)) !== null) {
      const list = [...(data.reviews.get(Number(sub[1])) ?? [])].sort((a, b) => num(a['id']) - num(b['id']));
      return data.pulls.has(Number(sub[1])) ? page(req, res, url, list) : notFound(res);
    }
    if (rest === '/commits') {
      const sha = q.get('sha');
      if (sha !== null && sha !== data.repo['default_branch']) return page(req, res, url, []);
      const since = q.get('since');
      const list = data.commits.filter((c) => since === null || Date.parse(committed(c)) >= Date.parse(since));
      list.sort((a, b) => (committed(a) === committed(b) ? 0 : committed(a) < committed(b) ? 1 : -1));
      return page(req, res, url, list);
    }
    if (rest === '/deployments') return page(req, res, url, [...data.deployments.values()].sort(byDesc('id')));
    if ((sub = /^\/deployments\/(\d+)\/statuses$/.exec(rest)) !== null) {
      if (!data.deployments.has(Number(sub[1]))) return notFound(res);
      return page(req, res, url, [...(data.statuses.get(Number(sub[1])) ?? [])].sort(byDesc('id')));
    }
    if (rest === '/releases') return page(req, res, url, [...data.releases.values()].sort(byDesc('created_at', 'id')));
    if (rest === '/actions/runs') {
      const created = /^>=(.+)$/.exec(q.get('created') ?? '');
      const from = created?.[1] !== undefined ? Date.parse(created[1]) : -Infinity;
      if (Number.isNaN(from)) return send(res, 422, { message: 'Invalid created filter' });
      const list = [...data.runs.values()].filter((r) => Date.parse(str(r['created_at'])) >= from).sort(byDesc('created_at', 'id'));
      return page(req, res, url, list, 'workflow_runs');
    }
    if (rest === '/milestones') {
      const state = q.get('state') ?? 'open';
      const list = [...data.milestones.values()].filter((m) => state === 'all' || m['state'] === state);
      // GitHub's default order: due date ascending, milestones without one last.
      list.sort((a, b) => str(a['due_on'] ?? '9999').localeCompare(str(b['due_on'] ?? '9999')) || num(a['number']) - num(b['number']));
      if (q.get('direction') === 'desc') list.reverse();
      return page(req, res, url, list);
    }
    if (rest === '/issues') {
      const state = q.get('state') ?? 'open';
      const since = q.get('since');
      const from = since === null ? -Infinity : Date.parse(since);
      if (Number.isNaN(from)) return send(res, 422, { message: 'Validation Failed', errors: [{ field: 'since', code: 'invalid' }] });
      const field = q.get('sort') === 'updated' ? 'updated_at' : 'created_at';
      const list = [...data.issues.values()].filter(
        (i) => (state === 'all' || i['state'] === state) && Date.parse(str(i['updated_at'])) >= from,
      );
      list.sort(byDesc(field, 'number'));
      if (q.get('direction') === 'asc') list.reverse();
      return page(req, res, url, list);
    }
    if (rest === '/issues/events') return page(req, res, url, [...data.issueEvents].sort(byDesc('id')));
    if ((sub = /^\/actions\/runs\/(\d+)\/jobs$/.exec(rest)) !== null) {
      if (!data.runs.has(Number(sub[1]))) return notFound(res);
      return page(
        req,
        res,
        url,
        [...(data.jobs.get(Number(sub[1])) ?? [])].sort((a, b) => num(a['id']) - num(b['id'])),
        'jobs',
      );
    }
    notFound(res);
  };

  /** The first pending fault for this path, if one applies now. */
  const injected = (path: string): (Fault & { seen: number }) | undefined => {
    for (const f of faults) {
      if (f.path !== undefined && !f.path.test(path)) continue;
      f.seen++;
      if (f.seen > (f.after ?? 0) && f.times > 0) {
        f.times--;
        return f;
      }
    }
    return undefined;
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake.github');
    let path = url.pathname;
    const status = (): number => res.statusCode;
    res.on('finish', () => requests.log.push({ path, status: status(), at: now() }));
    requests.total++;
    const isGraphql = path === graphqlPath;
    if (isGraphql) path = '/graphql';
    else if (prefix !== '' && !path.startsWith(prefix)) return notFound(res);
    else path = path.slice(prefix.length);
    requests.byPath.set(path, (requests.byPath.get(path) ?? 0) + 1);
    requests.queries.push(new URL(`${path}${url.search}`, 'http://fake.github'));
    // GitHub App endpoints take the app's JWT (RS256, three dot-separated parts); its signature is not checked here.
    const inst = /^\/app\/installations\/(\d+)(\/access_tokens)?$/.exec(path);
    if (inst !== null) {
      if (!/^bearer [\w-]+\.[\w-]+\.[\w-]+$/i.test(req.headers.authorization ?? '')) {
        return send(res, 401, { message: 'A JSON web token could not be decoded' });
      }
      const permissions = options.appPermissions ?? APP_PERMISSIONS;
      if (inst[2] !== undefined && req.method === 'POST') {
        const expires = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
        return send(res, 201, { token: options.token ?? 'ghs_fake', expires_at: expires, permissions, repository_selection: 'all' });
      }
      return send(res, 200, { id: Number(inst[1]), app_id: 1, permissions });
    }
    if (req.method !== 'GET' && !(isGraphql && req.method === 'POST')) return send(res, 404, { message: 'Not Found' });
    const f = injected(path);
    if (f !== undefined) {
      const after = String(f.retryAfterSeconds ?? 1);
      switch (f.kind) {
        case 'rate_limit':
          return send(res, 429, { message: 'Too many requests' }, { 'retry-after': after });
        case 'secondary_rate_limit':
          return send(
            res,
            403,
            { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' },
            { 'retry-after': after },
          );
        case 'primary_rate_limit':
          used = limit;
          res.writeHead(403, {
            'content-type': 'application/json',
            ...rateHeaders(),
            'x-ratelimit-remaining': '0',
            'x-ratelimit-reset': String(Math.floor(now() / 1000) + (f.retryAfterSeconds ?? 1)),
          });
          used = 0;
          return void res.end(JSON.stringify({ message: 'API rate limit exceeded for user ID 1.' }));
        case 'server_error':
          return send(res, f.status ?? 502, { message: 'Server Error' });
        case 'unauthorized':
          return send(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
      }
    }
    const auth = req.headers.authorization ?? '';
    if (options.token !== undefined && auth !== `token ${options.token}` && auth !== `Bearer ${options.token}`) {
      return send(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
    }
    if (isGraphql) return serveGraphql(req, res);
    route(req, res, url, path);
  });

  /** A GraphQL POST: its answer, with the point budget's x-ratelimit-* headers. */
  const serveGraphql = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      } catch {
        return send(res, 400, { message: 'Problems parsing JSON' });
      }
      const a = graphql.answer(body);
      const text = JSON.stringify(a.body);
      res.writeHead(a.status, { 'content-type': 'application/json; charset=utf-8', ...a.headers });
      res.end(text);
    });
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: origin,
    baseUrl: origin + prefix,
    repos,
    requests,
    graphql: { budget: graphql.budget, log: graphql.log },
    fault: (f) => faults.push({ ...f, seen: 0 }),
    clearFaults: () => faults.splice(0),
    resetCounts() {
      requests.total = 0;
      requests.notModified = 0;
      requests.byPath.clear();
      requests.log.splice(0);
      requests.queries.splice(0);
    },
    repo(fullName) {
      const r = repos.get(fullName.toLowerCase());
      if (r === undefined) throw new Error(`the fake has no repository ${fullName}`);
      return r;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** Every RawEvent on a topic, read from the start by a fresh consumer group. */
export async function readEvents(bus: Bus, topic = 'raw.github', timeoutMs = 20_000): Promise<RawEvent[]> {
  const group = `read-${randomBytes(6).toString('hex')}`;
  const got: BusMessage[] = [];
  const sub = await bus.consume({
    groupId: group,
    topics: [topic],
    fromBeginning: true,
    handler: (batch) => {
      got.push(...batch.messages);
      return Promise.resolve();
    },
  });
  await sub.ready;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lag = await bus.lag(group, topic);
    if (lag.every((p) => p.committed >= p.end)) break;
    if (Date.now() > deadline) throw new Error(`reading ${topic} did not catch up within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  await sub.stop();
  return got.map((m) => JSON.parse(m.value?.toString('utf8') ?? 'null') as RawEvent);
}
