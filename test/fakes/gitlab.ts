import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** REST shapes as GitLab's v4 API returns them (the fields the pipeline reads, plus a few for realism). */
export interface FakePipeline {
  id: number;
  iid: number;
  project_id: number;
  sha: string;
  ref: string;
  status: string;
  source: string;
  created_at: string;
  updated_at: string;
  web_url: string;
}
export interface FakeJob {
  id: number;
  name: string;
  stage: string;
  status: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration: number | null;
  pipeline: { id: number; project_id: number; ref: string; sha: string; status: string };
}
export interface FakeDeployment {
  id: number;
  iid: number;
  ref: string;
  sha: string;
  status: string;
  created_at: string;
  updated_at: string;
  environment: { id: number; name: string };
}
export interface FakeMergeRequest {
  id: number;
  iid: number;
  project_id: number;
  title: string;
  state: string;
  created_at: string;
  updated_at: string;
  merged_at: string | null;
  source_branch: string;
  target_branch: string;
  sha: string;
}
export interface FakeCommit {
  id: string;
  short_id: string;
  title: string;
  created_at: string;
  authored_date: string;
  committed_date: string;
}
export interface FakeMilestone {
  id: number;
  iid: number;
  project_id: number;
  title: string;
  description: string;
  state: 'active' | 'closed';
  created_at: string;
  updated_at: string;
  due_date: string | null;
  start_date: string | null;
  expired: boolean;
  web_url: string;
}
export interface FakeIssue {
  id: number;
  iid: number;
  project_id: number;
  title: string;
  state: 'opened' | 'closed';
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  labels: string[];
  milestone: FakeMilestone | null;
  assignees: Array<{ id: number; username: string }>;
  author: { id: number; username: string };
  type: string;
  issue_type: string;
  due_date: string | null;
  weight: number | null;
  web_url: string;
}
/** A resource state event (GET .../issues/:iid/resource_state_events item). */
export interface FakeStateEvent {
  id: number;
  user: { id: number; username: string };
  created_at: string;
  resource_type: 'Issue';
  resource_id: number;
  state: 'closed' | 'reopened';
}
/** A resource milestone event (GET .../issues/:iid/resource_milestone_events item). */
export interface FakeMilestoneEvent {
  id: number;
  user: { id: number; username: string };
  created_at: string;
  resource_type: 'Issue';
  resource_id: number;
  milestone: FakeMilestone;
  action: 'add' | 'remove';
}
export interface FakeProject {
  id: number;
  path_with_namespace: string;
  pipelines: FakePipeline[];
  jobs: Map<number, FakeJob[]>;
  deployments: FakeDeployment[];
  mergeRequests: FakeMergeRequest[];
  commits: Map<number, FakeCommit[]>;
  milestones: FakeMilestone[];
  issues: FakeIssue[];
  /** By issue iid. */
  stateEvents: Map<number, FakeStateEvent[]>;
  milestoneEvents: Map<number, FakeMilestoneEvent[]>;
}

export interface DatasetOptions {
  projects?: number;
  pipelines?: number;
  jobsPerPipeline?: number;
  deployments?: number;
  mergeRequests?: number;
  commitsPerMergeRequest?: number;
  /** Milestones per project (default none), due 30 days apart from 30 days after the start. */
  milestones?: number;
  /** Issues per project (default none): each added to a milestone in turn when it was created; every third closed. */
  issues?: number;
  /** First timestamp (default 30 days ago); entities are minutes apart. */
  start?: number;
}

const sha = (n: number): string => n.toString(16).padStart(40, '0');

/** A deterministic dataset: `projects` projects of group acme, each with the given counts. */
export function gitlabDataset(o: DatasetOptions = {}): FakeProject[] {
  const start = o.start ?? Math.floor((Date.now() - 30 * 86_400_000) / 60_000) * 60_000;
  const at = (minutes: number): string => new Date(start + minutes * 60_000).toISOString();
  let nextId = 1000;
  const out: FakeProject[] = [];
  for (let p = 0; p < (o.projects ?? 2); p++) {
    const id = 100 + p;
    const project: FakeProject = {
      id,
      path_with_namespace: `acme/service-${p}`,
      pipelines: [],
      jobs: new Map(),
      deployments: [],
      mergeRequests: [],
      commits: new Map(),
      milestones: [],
      issues: [],
      stateEvents: new Map(),
      milestoneEvents: new Map(),
    };
    for (let i = 0; i < (o.pipelines ?? 5); i++) {
      const pid = nextId++;
      const created = at(p * 7 + i * 3);
      const status = i % 5 === 4 ? 'failed' : 'success';
      project.pipelines.push({
        id: pid,
        iid: i + 1,
        project_id: id,
        sha: sha(pid),
        ref: 'main',
        status,
        source: 'push',
        created_at: created,
        updated_at: at(p * 7 + i * 3 + 2),
        web_url: `https://gitlab.example/${project.path_with_namespace}/-/pipelines/${pid}`,
      });
      const jobs: FakeJob[] = [];
      for (let j = 0; j < (o.jobsPerPipeline ?? 2); j++) {
        jobs.push({
          id: nextId++,
          name: `job-${j}`,
          stage: j === 0 ? 'build' : 'test',
          status,
          created_at: created,
          started_at: at(p * 7 + i * 3 + 1),
          finished_at: at(p * 7 + i * 3 + 2),
          duration: 60,
          pipeline: { id: pid, project_id: id, ref: 'main', sha: sha(pid), status },
        });
      }
      project.jobs.set(pid, jobs);
    }
    for (let i = 0; i < (o.deployments ?? 3); i++) {
      project.deployments.push({
        id: nextId++,
        iid: i + 1,
        ref: 'main',
        sha: sha(i),
        status: 'success',
        created_at: at(p * 7 + i * 4),
        updated_at: at(p * 7 + i * 4 + 1),
        environment: { id: 1, name: 'production' },
      });
    }
    for (let i = 0; i < (o.mergeRequests ?? 3); i++) {
      const iid = i + 1;
      project.mergeRequests.push({
        id: nextId++,
        iid,
        project_id: id,
        title: `Change ${iid}`,
        state: 'merged',
        created_at: at(p * 7 + i * 5),
        updated_at: at(p * 7 + i * 5 + 3),
        merged_at: at(p * 7 + i * 5 + 3),
        source_branch: `feature-${iid}`,
        target_branch: 'main',
        sha: sha(iid),
      });
      const commits: FakeCommit[] = [];
      for (let c = 0; c < (o.commitsPerMergeRequest ?? 2); c++) {
        const t = at(p * 7 + i * 5 - 10 + c);
        commits.push({
          id: sha(nextId++),
          short_id: sha(nextId).slice(0, 8),
          title: `commit ${c}`,
          created_at: t,
          authored_date: t,
          committed_date: t,
        });
      }
      project.commits.set(iid, commits);
    }
    const web = `https://gitlab.example/${project.path_with_namespace}`;
    const user = { id: 1, username: 'dev' };
    for (let i = 0; i < (o.milestones ?? 0); i++) {
      project.milestones.push({
        id: nextId++,
        iid: i + 1,
        project_id: id,
        title: `v${p}.${i + 1}`,
        description: '',
        state: 'active',
        created_at: at(p * 7 + i),
        updated_at: at(p * 7 + i),
        due_date: new Date(start + (i + 1) * 30 * 86_400_000).toISOString().slice(0, 10),
        start_date: null,
        expired: false,
        web_url: `${web}/-/milestones/${i + 1}`,
      });
    }
    for (let i = 0; i < (o.issues ?? 0); i++) {
      const iid = i + 1;
      const issueId = nextId++;
      const created = at(p * 7 + i * 2);
      const closed = i % 3 === 0 ? at(p * 7 + i * 2 + 1) : null;
      const milestone = project.milestones.length > 0 ? project.milestones[i % project.milestones.length]! : null;
      project.issues.push({
        id: issueId,
        iid,
        project_id: id,
        title: `Issue ${iid}`,
        state: closed === null ? 'opened' : 'closed',
        created_at: created,
        updated_at: closed ?? created,
        closed_at: closed,
        labels: [],
        milestone,
        assignees: [user],
        author: user,
        type: 'ISSUE',
        issue_type: 'issue',
        due_date: null,
        weight: null,
        web_url: `${web}/-/issues/${iid}`,
      });
      const base = { user, resource_type: 'Issue' as const, resource_id: issueId };
      project.milestoneEvents.set(
        iid,
        milestone === null ? [] : [{ ...base, id: nextId++, created_at: created, milestone, action: 'add' }],
      );
      project.stateEvents.set(iid, closed === null ? [] : [{ ...base, id: nextId++, created_at: closed, state: 'closed' }]);
    }
    out.push(project);
  }
  return out;
}

export interface Fault {
  status: number;
  /** Only requests whose path contains this. */
  match?: string;
  /** How many requests fail (default 1). */
  times?: number;
  retryAfter?: number;
}

export interface GitlabFakeOptions {
  projects?: FakeProject[];
  token?: string;
  /** Requests allowed per rate-limit window (GitLab.com allows 2,000 a minute for authenticated API use). */
  rateLimit?: number;
  rateWindowSeconds?: number;
  /** Where the rate-limit windows are timed (epoch ms; default: the wall clock). */
  now?: () => number;
}

export interface GitlabFake {
  url: string;
  projects: FakeProject[];
  requests: { total: number; byPath: Map<string, number>; lastQuery: Map<string, URLSearchParams> };
  /** Fail the next matching requests. */
  inject(fault: Fault): void;
  /** A timestamp later than everything in the dataset, for updates between syncs. */
  tick(): string;
  resetCounts(): void;
  close(): Promise<void>;
}

type Json = unknown;

/** Fake GitLab REST v4: offset pagination headers, updated_after filtering, RateLimit-* headers and faults. */
export async function startGitlabFake(options: GitlabFakeOptions = {}): Promise<GitlabFake> {
  const projects = options.projects ?? gitlabDataset();
  const token = options.token ?? 'test-token';
  const limit = options.rateLimit ?? 2000;
  const windowMs = (options.rateWindowSeconds ?? 60) * 1000;
  const faults: Array<Fault & { left: number }> = [];
  const requests = { total: 0, byPath: new Map<string, number>(), lastQuery: new Map<string, URLSearchParams>() };
  const clockNow = options.now ?? (() => Date.now());
  let windowStart = clockNow();
  let used = 0;
  let clock = 0;
  for (const p of projects) {
    for (const x of [...p.pipelines, ...p.deployments, ...p.mergeRequests, ...p.milestones, ...p.issues])
      clock = Math.max(clock, Date.parse(x.updated_at));
  }

  const findProject = (raw: string): FakeProject | undefined => {
    const key = decodeURIComponent(raw);
    return projects.find((p) => String(p.id) === key || p.path_with_namespace.toLowerCase() === key.toLowerCase());
  };

  const send = (res: ServerResponse, status: number, body: Json, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(text);
  };

  const paged = (req: URL, res: ServerResponse, items: Json[], rate: Record<string, string>): void => {
    const perPage = Math.min(100, Math.max(1, Number(req.searchParams.get('per_page') ?? 20) || 20));
    const page = Math.max(1, Number(req.searchParams.get('page') ?? 1) || 1);
    const totalPages = Math.max(1, Math.ceil(items.length / perPage));
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const link = (n: number): string => {
      const u = new URL(req.toString());
      u.searchParams.set('page', String(n));
      u.searchParams.set('per_page', String(perPage));
      return u.toString();
    };
    const links = [
      ...(page > 1 ? [`<${link(page - 1)}>; rel="prev"`] : []),
      ...(page < totalPages ? [`<${link(page + 1)}>; rel="next"`] : []),
      `<${link(1)}>; rel="first"`,
      `<${link(totalPages)}>; rel="last"`,
    ];
    send(res, 200, slice, {
      ...rate,
      'x-page': String(page),
      'x-per-page': String(perPage),
      'x-next-page': page < totalPages ? String(page + 1) : '',
      'x-prev-page': page > 1 ? String(page - 1) : '',
      'x-total': String(items.length),
      'x-total-pages': String(totalPages),
      link: links.join(', '),
    });
  };

  const byUpdated = <T extends { id: number; updated_at: string }>(url: URL, items: T[]): T[] => {
    const after = url.searchParams.get('updated_after');
    const afterMs = after !== null ? Date.parse(after) : -Infinity;
    // updated_after includes its bound, as GitLab's finders do.
    const kept = items.filter((x) => Date.parse(x.updated_at) >= afterMs);
    const asc = url.searchParams.get('sort') === 'asc';
    const key = url.searchParams.get('order_by') === 'updated_at' ? (x: T) => Date.parse(x.updated_at) : (x: T) => x.id;
    return kept.sort((a, b) => (asc ? 1 : -1) * (key(a) - key(b) || a.id - b.id));
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.total++;
    requests.byPath.set(url.pathname, (requests.byPath.get(url.pathname) ?? 0) + 1);
    requests.lastQuery.set(url.pathname, url.searchParams);
    const now = clockNow();
    if (now - windowStart >= windowMs) {
      windowStart = now;
      used = 0;
    }
    used++;
    const resetSec = Math.ceil((windowStart + windowMs) / 1000);
    const rate = {
      'ratelimit-limit': String(limit),
      'ratelimit-observed': String(used),
      'ratelimit-remaining': String(Math.max(0, limit - used)),
      'ratelimit-reset': String(resetSec),
      'ratelimit-resettime': new Date(resetSec * 1000).toUTCString(),
    };
    const fault = faults.find((f) => f.left > 0 && (f.match === undefined || url.pathname.includes(f.match)));
    if (fault !== undefined) {
      fault.left--;
      const headers: Record<string, string> = fault.status === 429 ? { ...rate, 'retry-after': String(fault.retryAfter ?? 1) } : {};
      send(res, fault.status, { message: fault.status === 401 ? '401 Unauthorized' : `${fault.status} injected` }, headers);
      return;
    }
    if (used > limit) {
      send(res, 429, { message: 'Retry later' }, { ...rate, 'retry-after': String(Math.max(1, resetSec - Math.floor(now / 1000))) });
      return;
    }
    if (req.headers['private-token'] !== token) {
      send(res, 401, { message: '401 Unauthorized' });
      return;
    }
    const path = url.pathname.replace(/^\/api\/v4/, '');
    if (path === '/user') return send(res, 200, { id: 1, username: 'ptel-bot' }, rate);
    const m = /^\/projects\/([^/]+)(\/.*)?$/.exec(path);
    const project = m !== null ? findProject(m[1]!) : undefined;
    if (m === null || project === undefined) return send(res, 404, { message: '404 Project Not Found' }, rate);
    const rest = m[2] ?? '';
    let r: RegExpExecArray | null;
    if (rest === '') return send(res, 200, { id: project.id, path_with_namespace: project.path_with_namespace }, rate);
    if (rest === '/pipelines') return paged(url, res, byUpdated(url, project.pipelines), rate);
    if (rest === '/deployments') return paged(url, res, byUpdated(url, project.deployments), rate);
    if (rest === '/merge_requests') return paged(url, res, byUpdated(url, project.mergeRequests), rate);
    if (rest === '/issues') return paged(url, res, byUpdated(url, project.issues), rate);
    if (rest === '/milestones') {
      // GitLab lists milestones by due date (none last), then newest id first; updated_after includes its bound.
      const after = url.searchParams.get('updated_after');
      const kept = project.milestones.filter((m) => after === null || Date.parse(m.updated_at) >= Date.parse(after));
      const due = (m: FakeMilestone): number => (m.due_date === null ? Infinity : Date.parse(m.due_date));
      return paged(
        url,
        res,
        kept.sort((a, b) => due(a) - due(b) || b.id - a.id),
        rate,
      );
    }
    if ((r = /^\/issues\/(\d+)\/resource_(state|milestone)_events$/.exec(rest)) !== null) {
      const iid = Number(r[1]);
      if (!project.issues.some((i) => i.iid === iid)) return send(res, 404, { message: '404 Not found' }, rate);
      return paged(url, res, (r[2] === 'state' ? project.stateEvents : project.milestoneEvents).get(iid) ?? [], rate);
    }
    if ((r = /^\/pipelines\/(\d+)\/jobs$/.exec(rest)) !== null) {
      const jobs = project.jobs.get(Number(r[1]));
      return jobs === undefined ? send(res, 404, { message: '404 Not found' }, rate) : paged(url, res, jobs, rate);
    }
    if ((r = /^\/merge_requests\/(\d+)\/commits$/.exec(rest)) !== null) {
      const commits = project.commits.get(Number(r[1]));
      return commits === undefined ? send(res, 404, { message: '404 Not found' }, rate) : paged(url, res, commits, rate);
    }
    send(res, 404, { message: '404 Not Found' }, rate);
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    projects,
    requests,
    inject: (fault) => faults.push({ ...fault, left: fault.times ?? 1 }),
    tick: () => {
      clock += 60_000;
      return new Date(clock).toISOString();
    },
    resetCounts: () => {
      requests.total = 0;
      requests.byPath.clear();
      requests.lastQuery.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
