import { z } from 'zod';
import type { Config } from '../../infra/config/schema.js';
import type { SourceRecord } from '../../schemas/raw-event.js';
import { createLimiter, SourceError } from '../../infra/http-retry.js';
import type { Cursor, Page, Stream, StreamContext } from '../core/types.js';
import { projectId, type GitlabClient, type Query } from './client.js';
import {
  deploymentRecord,
  issueRecord,
  jobRecord,
  mergeRequestRecord,
  milestoneRecord,
  pipelineRecord,
  restDeployment,
  restIssue,
  restJob,
  restMergeRequest,
  restMilestone,
  restPipeline,
} from './records.js';

const PER_PAGE = 100;

const listItem = z.object({ id: z.number(), updated_at: z.string() });
type Item = z.infer<typeof listItem>;

/** What a page of one project's listing turns into: records and the requests they cost beyond the listing. */
type Expand = (
  client: GitlabClient,
  ctx: StreamContext,
  project: { id: string; path: string },
  items: unknown[],
) => Promise<{ records: SourceRecord[]; requests: number }>;

function parseList(body: unknown, what: string): Array<{ raw: unknown; item: Item }> {
  if (!Array.isArray(body)) throw new SourceError(`${what}: expected a JSON array`, 'fatal', 200);
  return (body as unknown[]).map((raw, i) => {
    const parsed = listItem.safeParse(raw);
    if (!parsed.success) throw new SourceError(`${what}: item ${i} lacks id or updated_at`, 'fatal', 200);
    return { raw, item: parsed.data };
  });
}

/** Every page of a list endpoint, following X-Next-Page. */
async function* allPages(
  client: GitlabClient,
  path: string,
  query: Query,
  signal: AbortSignal,
): AsyncGenerator<{ body: unknown[]; requests: number }> {
  let page: string | undefined = '1';
  while (page !== undefined) {
    const res = await client.get(path, { ...query, per_page: PER_PAGE, page }, signal);
    if (!Array.isArray(res.body)) throw new SourceError(`GET ${path}: expected a JSON array`, 'fatal', 200);
    yield { body: res.body, requests: 1 };
    const next = res.headers.get('x-next-page');
    page = next !== null && next !== '' ? next : undefined;
  }
}

/**
 * An incremental stream over a list endpoint that filters on updated_after and sorts by updated_at.
 *
 * Offset pages over a listing sorted by update time skip an item whenever an earlier one is updated
 * during the walk (everything after it shifts back by one). So each next page re-asks from the newest
 * updated_at seen so far (time keyset); only a page whose items all share one timestamp moves on by
 * X-Next-Page. updated_after includes its bound, so the cursor keeps the ids already taken at that
 * instant and they are not emitted again; a no-change sync costs one request per project.
 */
function updatedAtStream(name: string, endpoint: string, extra: Query, expand: Expand): Stream<GitlabClient> {
  return {
    name,
    scopes: (config: Config) => config.sources.gitlab?.projects ?? [],
    async *pull(client, scope, cursor, ctx): AsyncGenerator<Page> {
      const resolved = await client.projectPath(scope, ctx.signal);
      const project = { id: projectId(scope), path: resolved.path };
      const fromCursor = !ctx.backfill && typeof cursor?.['updatedAfter'] === 'string';
      let after = fromCursor ? String(cursor['updatedAfter']) : ctx.since.toISOString();
      let seen = new Set(fromCursor && typeof cursor['seen'] === 'string' && cursor['seen'] !== '' ? cursor['seen'].split(',') : []);
      let page = 1;
      let pending = resolved.requests;
      const path = `/projects/${project.id}/${endpoint}`;
      for (;;) {
        const res = await client.get(
          path,
          { ...extra, updated_after: after, order_by: 'updated_at', sort: 'asc', per_page: PER_PAGE, page },
          ctx.signal,
        );
        const items = parseList(res.body, `GET ${path}`);
        const afterMs = Date.parse(after);
        const fresh = items.filter(({ item }) => !(Date.parse(item.updated_at) <= afterMs && seen.has(String(item.id))));
        const expanded = await expand(
          client,
          ctx,
          project,
          fresh.map((f) => f.raw),
        );
        // The newest instant of the page, and every id taken at it (with those from earlier pages at the same instant).
        let newest = afterMs;
        for (const { item } of items) newest = Math.max(newest, Date.parse(item.updated_at));
        const atNewest = items.filter(({ item }) => Date.parse(item.updated_at) === newest).map(({ item }) => String(item.id));
        seen = newest === afterMs ? new Set([...seen, ...atNewest]) : new Set(atNewest);
        after = new Date(newest).toISOString();
        const next: Cursor = { updatedAfter: after, seen: [...seen].join(',') };
        yield { records: expanded.records, cursor: next, requests: 1 + pending + expanded.requests };
        pending = 0;
        const nextPage = res.headers.get('x-next-page');
        if (nextPage === null || nextPage === '') return;
        page = newest === afterMs ? Number(nextPage) : 1;
      }
    },
  };
}

const noExpansion =
  (build: (host: string, path: string, raw: unknown) => SourceRecord): Expand =>
  (client, _ctx, project, items) =>
    Promise.resolve({ records: items.map((raw) => build(client.host, project.path, raw)), requests: 0 });

function parse<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const r = schema.safeParse(raw);
  if (!r.success)
    throw new SourceError(
      `${what}: unexpected shape: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      'fatal',
      200,
    );
  return r.data;
}

/** Sub-requests of one page (jobs of each pipeline, commits of each merge request) run a few at a time. */
async function perItem(
  ctx: StreamContext,
  items: unknown[],
  fn: (raw: unknown) => Promise<{ records: SourceRecord[]; requests: number }>,
): Promise<{ records: SourceRecord[]; requests: number }> {
  const limit = createLimiter(ctx.config.sources.gitlab?.concurrency ?? 4);
  const parts = await Promise.all(items.map((raw) => limit(() => fn(raw))));
  return { records: parts.flatMap((p) => p.records), requests: parts.reduce((n, p) => n + p.requests, 0) };
}

const pipelines = updatedAtStream('pipelines', 'pipelines', {}, (client, ctx, project, items) =>
  perItem(ctx, items, async (raw) => {
    const p = parse(restPipeline, raw, 'pipeline');
    const records = [pipelineRecord(client.host, project.path, p, raw, p.updated_at)];
    let requests = 0;
    for await (const page of allPages(client, `/projects/${project.id}/pipelines/${p.id}/jobs`, {}, ctx.signal)) {
      requests += page.requests;
      for (const rawJob of page.body) {
        const j = parse(restJob, rawJob, `job of pipeline ${p.id}`);
        records.push(jobRecord(client.host, project.path, j.id, j.status, rawJob, j.finished_at ?? j.started_at ?? j.created_at));
      }
    }
    return { records, requests };
  }),
);

const deployments = updatedAtStream(
  'deployments',
  'deployments',
  {},
  noExpansion((host, path, raw) => {
    const d = parse(restDeployment, raw, 'deployment');
    return deploymentRecord(host, path, d.id, d.status, raw, d.updated_at);
  }),
);

const mergeRequests = updatedAtStream('merge_requests', 'merge_requests', { state: 'all' }, (client, ctx, project, items) =>
  perItem(ctx, items, async (raw) => {
    const mr = parse(restMergeRequest, raw, 'merge request');
    const records = [mergeRequestRecord(client.host, project.path, mr.iid, mr.state, mr.updated_at, raw)];
    // The commits give the first-commit time of lead time for changes; one request per changed MR.
    const commits: unknown[] = [];
    let requests = 0;
    for await (const page of allPages(client, `/projects/${project.id}/merge_requests/${mr.iid}/commits`, {}, ctx.signal)) {
      requests += page.requests;
      commits.push(...page.body);
    }
    records.push(mergeRequestRecord(client.host, project.path, mr.iid, mr.state, mr.updated_at, commits, 'gitlab.merge_request_commits'));
    return { records, requests };
  }),
);

/** Every item of a list endpoint, over all its pages. */
async function listAll(client: GitlabClient, path: string, signal: AbortSignal): Promise<{ items: unknown[]; requests: number }> {
  const items: unknown[] = [];
  let requests = 0;
  for await (const page of allPages(client, path, {}, signal)) {
    requests += page.requests;
    items.push(...page.body);
  }
  return { items, requests };
}

/**
 * Issues (scope=all: every issue of the project, whoever opened it). Each changed issue costs two more
 * requests, more when a list runs past 100 events: its state events (closes and reopens) and its
 * milestone events (milestone added or removed), emitted with the issue at its version as
 * 'gitlab.issue_events' so the mapper writes its status and milestone history.
 */
const issues = updatedAtStream('issues', 'issues', { scope: 'all' }, (client, ctx, project, items) =>
  perItem(ctx, items, async (raw) => {
    const i = parse(restIssue, raw, 'issue');
    const base = `/projects/${project.id}/issues/${i.iid}`;
    const state = await listAll(client, `${base}/resource_state_events`, ctx.signal);
    const milestoneEvents = await listAll(client, `${base}/resource_milestone_events`, ctx.signal);
    const events = { issue_id: i.id, resource_state_events: state.items, resource_milestone_events: milestoneEvents.items };
    return {
      records: [
        issueRecord(client.host, project.path, i.iid, i.state, i.updated_at, raw),
        issueRecord(client.host, project.path, i.iid, i.state, i.updated_at, events, 'gitlab.issue_events'),
      ],
      requests: state.requests + milestoneEvents.requests,
    };
  }),
);

/**
 * Project milestones (not the group milestones an issue may also be in). GitLab lists them by due date,
 * not by update, so the walk cannot resume mid-way: the first sync (and a backfill) lists every
 * milestone, whatever its age, as an old milestone still plans the issues in it; later syncs ask for
 * those updated since the newest update seen (updated_after, added to this listing in 2023, includes
 * its bound), keep the ids already taken at that instant out, and store the new bound once the walk is
 * over. An older GitLab that ignores updated_after lists them all, and the same bound filters them here.
 */
const milestones: Stream<GitlabClient> = {
  name: 'milestones',
  scopes: (config: Config) => config.sources.gitlab?.projects ?? [],
  async *pull(client, scope, cursor, ctx): AsyncGenerator<Page> {
    const resolved = await client.projectPath(scope, ctx.signal);
    const project = { id: projectId(scope), path: resolved.path };
    const after = !ctx.backfill && typeof cursor?.['updatedAfter'] === 'string' ? cursor['updatedAfter'] : undefined;
    const afterMs = after === undefined ? -Infinity : Date.parse(after);
    const seen = new Set(
      after !== undefined && typeof cursor?.['seen'] === 'string' && cursor['seen'] !== '' ? cursor['seen'].split(',') : [],
    );
    let newest = afterMs;
    let atNewest = new Set(seen);
    let pending = resolved.requests;
    const path = `/projects/${project.id}/milestones`;
    for await (const page of allPages(client, path, after === undefined ? {} : { updated_after: after }, ctx.signal)) {
      const items = parseList(page.body, `GET ${path}`);
      const fresh = items.filter(({ item }) => {
        const at = Date.parse(item.updated_at);
        return at > afterMs || (at === afterMs && !seen.has(String(item.id)));
      });
      for (const { item } of items) {
        const at = Date.parse(item.updated_at);
        if (at > newest) {
          newest = at;
          atNewest = new Set();
        }
        if (at === newest) atNewest.add(String(item.id));
      }
      const records = fresh.map(({ raw }) => milestoneRecord(client.host, project.path, parse(restMilestone, raw, 'milestone'), raw));
      // The bound moves only after the last page: the listing is not in update order.
      yield { records, requests: page.requests + pending };
      pending = 0;
    }
    if (Number.isFinite(newest))
      yield { records: [], cursor: { updatedAfter: new Date(newest).toISOString(), seen: [...atNewest].join(',') }, requests: 0 };
  },
};

export const gitlabStreams: Array<Stream<GitlabClient>> = [pipelines, deployments, mergeRequests, milestones, issues];
