/**
 * A fake Jenkins JSON API on 127.0.0.1 for the connector's tests: jobs (in folders) with their
 * builds, served through `/job/<a>/job/<b>/api/json` with Jenkins's `tree` filter and `{m,n}` range
 * syntax (`builds` stops at the newest 100, as in Jenkins; `allBuilds` has them all), basic auth
 * (401 otherwise), and on demand 5xx or 401.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFaults } from './faults.js';

export type Json = Record<string, unknown>;

export interface JenkinsBuild extends Json {
  number: number;
  result: string | null;
  building: boolean;
  timestamp: number;
  duration: number;
}

export interface JenkinsFault {
  path?: RegExp;
  kind: 'server_error' | 'unauthorized';
  times: number;
  after?: number;
  status?: number;
}

export interface FakeJenkinsOptions {
  user?: string;
  token?: string;
  /** Job path ('folder/job') -> builds, any order. */
  jobs?: Map<string, JenkinsBuild[]>;
}

export interface FakeJenkins {
  url: string;
  jobs: Map<string, JenkinsBuild[]>;
  requests: { total: number; byPath: Map<string, number>; log: Array<{ path: string; query: string; status: number }> };
  fault(f: JenkinsFault): void;
  clearFaults(): void;
  resetCounts(): void;
  /** Starts a new build of `job` (running) and returns it. */
  startBuild(job: string, at?: number): JenkinsBuild;
  /** Ends a running build. */
  finishBuild(job: string, number: number, result: string, durationMs: number): JenkinsBuild;
  close(): Promise<void>;
}

const SHA = (n: number): string => n.toString(16).padStart(40, 'a').slice(-40);

export function jenkinsBuild(job: string, number: number, timestamp: number, result: string | null, duration: number): JenkinsBuild {
  const jobUrl = job
    .split('/')
    .map((n) => `job/${encodeURIComponent(n)}/`)
    .join('');
  return {
    _class: 'org.jenkinsci.plugins.workflow.job.WorkflowRun',
    number,
    url: `http://jenkins.invalid/${jobUrl}${number}/`,
    result,
    building: result === null,
    timestamp,
    duration: result === null ? 0 : duration,
    estimatedDuration: 120_000,
    displayName: `#${number}`,
    actions: [
      {
        _class: 'hudson.model.CauseAction',
        causes: [{ _class: 'hudson.model.Cause$UserIdCause', shortDescription: 'Started by user ci' }],
      },
      {
        _class: 'hudson.model.ParametersAction',
        parameters: [{ _class: 'hudson.model.StringParameterValue', name: 'ENV', value: 'production' }],
      },
      {
        _class: 'hudson.plugins.git.util.BuildData',
        lastBuiltRevision: { SHA1: SHA(number), branch: [{ SHA1: SHA(number), name: 'origin/main' }] },
      },
      { _class: 'jenkins.metrics.impl.TimeInQueueAction' },
    ],
    changeSets: [
      { _class: 'hudson.plugins.git.GitChangeSetList', kind: 'git', items: [{ _class: 'x', commitId: SHA(number), msg: 'change' }] },
    ],
  };
}

/** `count` finished builds per job, one an hour, the newest `endMs - 1h`. */
export function jenkinsDataset(jobs: string[], count: number, endMs = Date.now()): Map<string, JenkinsBuild[]> {
  const results = ['SUCCESS', 'SUCCESS', 'SUCCESS', 'FAILURE', 'UNSTABLE', 'ABORTED'];
  return new Map(
    jobs.map((job) => [
      job,
      Array.from({ length: count }, (_, i) =>
        jenkinsBuild(job, i + 1, endMs - (count - i) * 3_600_000, results[i % results.length]!, 60_000 + i * 1000),
      ),
    ]),
  );
}

// --- The tree parameter: fields, sub-trees in [...], ranges in {m,n} -----------------------------

interface TreeField {
  children?: Tree;
  range?: [number | undefined, number | undefined];
}
type Tree = Map<string, TreeField>;

function parseTree(text: string): Tree {
  let i = 0;
  const parseLevel = (): Tree => {
    const tree: Tree = new Map();
    while (i < text.length && text[i] !== ']') {
      let name = '';
      while (i < text.length && !',[]{'.includes(text[i]!)) name += text[i++];
      const field: TreeField = {};
      if (text[i] === '[') {
        i++;
        field.children = parseLevel();
        i++; // ']'
      }
      if (text[i] === '{') {
        const end = text.indexOf('}', i);
        const [m, n] = text.slice(i + 1, end).split(',');
        const single = n === undefined && m !== undefined && m !== '';
        field.range = single ? [Number(m), Number(m) + 1] : [m ? Number(m) : undefined, n ? Number(n) : undefined];
        i = end + 1;
      }
      if (name !== '') tree.set(name, field);
      if (text[i] === ',') i++;
    }
    return tree;
  };
  return parseLevel();
}

function applyTree(value: unknown, tree: Tree | undefined): unknown {
  if (tree === undefined || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => applyTree(v, tree));
  const obj = value as Json;
  const out: Json = {};
  if (obj['_class'] !== undefined) out['_class'] = obj['_class'];
  for (const [name, field] of tree) {
    if (!(name in obj)) continue;
    let v = obj[name];
    if (field.range !== undefined && Array.isArray(v)) v = v.slice(field.range[0] ?? 0, field.range[1]);
    out[name] = applyTree(v, field.children);
  }
  return out;
}

export async function startJenkinsFake(options: FakeJenkinsOptions = {}): Promise<FakeJenkins> {
  const expected = `Basic ${Buffer.from(`${options.user ?? 'ci'}:${options.token ?? 'jenkins-token'}`).toString('base64')}`;
  const jobs = options.jobs ?? jenkinsDataset(['payments/deploy'], 5);
  const requests: FakeJenkins['requests'] = { total: 0, byPath: new Map(), log: [] };
  const faults = createFaults<JenkinsFault>(requests);
  let base = '';

  const html = (res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): number => {
    res.writeHead(status, { 'content-type': 'text/html;charset=utf-8', ...headers });
    res.end(`<html><body>${text}</body></html>`);
    return status;
  };
  const json = (res: ServerResponse, body: unknown): number => {
    const text = JSON.stringify(body);
    res.writeHead(200, { 'content-type': 'application/json;charset=utf-8', 'x-jenkins': '2.462.3' });
    res.end(text);
    return 200;
  };

  const handle = (req: IncomingMessage, res: ServerResponse, path: string, q: URLSearchParams): number => {
    const f = faults.next(path);
    if (f !== undefined) {
      if (f.kind === 'unauthorized') return html(res, 401, 'Unauthorized', { 'www-authenticate': 'Basic realm="Jenkins"' });
      return html(res, f.status ?? 503, 'Service Unavailable');
    }
    if (req.headers.authorization !== expected) return html(res, 401, 'Unauthorized', { 'www-authenticate': 'Basic realm="Jenkins"' });
    const tree = q.has('tree') ? parseTree(q.get('tree') ?? '') : undefined;
    if (path === '/api/json')
      return json(res, applyTree({ _class: 'hudson.model.Hudson', mode: 'NORMAL', nodeDescription: 'fake', jobs: [] }, tree));
    const m = /^((?:\/job\/[^/]+)+)\/api\/json$/.exec(path);
    if (m === null) return html(res, 404, 'Not Found');
    const jobPath = m[1]!
      .split('/job/')
      .filter((s) => s !== '')
      .map(decodeURIComponent)
      .join('/');
    const builds = jobs.get(jobPath);
    if (builds === undefined) return html(res, 404, 'Not Found');
    const newestFirst = [...builds]
      .sort((a, b) => b.number - a.number)
      .map((b) => ({ ...b, url: String(b.url).replace('http://jenkins.invalid', base) }));
    const job = {
      _class: 'org.jenkinsci.plugins.workflow.job.WorkflowJob',
      name: jobPath.split('/').at(-1),
      fullName: jobPath,
      url: `${base}/${jobPath
        .split('/')
        .map((n) => `job/${encodeURIComponent(n)}`)
        .join('/')}/`,
      builds: newestFirst.slice(0, 100),
      allBuilds: newestFirst,
    };
    return json(res, applyTree(job, tree));
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const status = handle(req, res, url.pathname, url.searchParams);
    requests.log.push({ path: url.pathname, query: url.search, status });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const find = (job: string, number: number): JenkinsBuild => {
    const build = jobs.get(job)?.find((b) => b.number === number);
    if (build === undefined) throw new Error(`no build ${job}#${number}`);
    return build;
  };
  return {
    url: base,
    jobs,
    requests,
    fault: (f) => faults.add(f),
    clearFaults: () => faults.clear(),
    resetCounts: () => {
      requests.total = 0;
      requests.byPath.clear();
      requests.log.splice(0);
    },
    startBuild(job, at = Date.now()) {
      const builds = jobs.get(job) ?? [];
      jobs.set(job, builds);
      const build = jenkinsBuild(job, Math.max(0, ...builds.map((b) => b.number)) + 1, at, null, 0);
      builds.push(build);
      return build;
    },
    finishBuild(job, number, result, durationMs) {
      const build = find(job, number);
      Object.assign(build, { result, building: false, duration: durationMs });
      return build;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
