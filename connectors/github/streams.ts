import { z } from 'zod';
import type { Config } from '../../infra/config/schema.js';
import type { SourceRecord } from '../../schemas/raw-event.js';
import { SourceError } from '../../infra/http-retry.js';
import type { Cursor, Page, Stream, StreamContext } from '../core/types.js';
import { get, lastPage, PER_PAGE, type GithubClient } from './client.js';
import { GRAPHQL_PAGE, pullRequestPage, restCommit, restPullRequest, restReview } from './graphql.js';
import {
  commitSchema,
  deploymentSchema,
  deploymentStatusSchema,
  HISTORY_EVENTS,
  issueEventSchema,
  issueSchema,
  jobSchema,
  milestoneHash,
  milestoneSchema,
  pullSchema,
  releaseSchema,
  releaseTime,
  repoSchema,
  reviewSchema,
  runSchema,
  toRecord,
} from './records.js';

/** Repositories to pull: the source's own list, else every team's repositories in the org mapping. */
export function repositories(config: Config): string[] {
  const listed = config.sources.github?.repositories;
  const all = listed ?? config.org.programs.flatMap((p) => p.teams.flatMap((t) => t.repositories));
  return [...new Set(all)];
}

function ownerRepo(scope: string): { owner: string; repo: string } {
  const [owner = '', repo = ''] = scope.split('/');
  return { owner, repo };
}

/** Parses what GitHub sent, or stops the stream naming the request: a shape change is not healed by waiting. */
function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new SourceError(`${what}: unexpected response from GitHub: ${z.prettifyError(r.error)}`, 'fatal', undefined);
  return r.data;
}

const list = z.array(z.unknown());

/**
 * A time mark: the newest time seen and the keys seen at exactly that time. An item is new when it is
 * newer, or as new but not among those keys, so a restart at the mark re-reads nothing it already
 * published and misses nothing written within the same second.
 */
class Mark {
  private constructor(
    public t: number,
    private keys: Set<string>,
  ) {}
  static from(cursor: Cursor | undefined, ctx: StreamContext): Mark {
    const t = typeof cursor?.['t'] === 'string' && !ctx.backfill ? Date.parse(cursor['t']) : NaN;
    if (Number.isNaN(t)) return new Mark(ctx.since.getTime() - 1, new Set());
    const at = typeof cursor?.['at'] === 'string' && cursor['at'] !== '' ? cursor['at'].split(',') : [];
    return new Mark(t, new Set(at));
  }
  isNew(time: string, key: string): boolean {
    const t = Date.parse(time);
    return t > this.t || (t === this.t && !this.keys.has(key));
  }
  /** Whether the time is before the mark: in a newest-first listing, nothing after it is new. */
  isOlder(time: string): boolean {
    return Date.parse(time) < this.t;
  }
  see(time: string, key: string): void {
    const t = Date.parse(time);
    if (t > this.t) {
      this.t = t;
      this.keys = new Set([key]);
    } else if (t === this.t) this.keys.add(key);
  }
  cursor(extra: Cursor = {}): Cursor {
    return { t: new Date(this.t).toISOString(), at: [...this.keys].join(','), ...extra };
  }
}

const etagOf = (cursor: Cursor | undefined, ctx: StreamContext): string | undefined =>
  !ctx.backfill && typeof cursor?.['etag'] === 'string' ? cursor['etag'] : undefined;

interface Listing {
  items: unknown[];
  /** The ETag of the listing's first page, on every page: what the cursor keeps for the next poll. */
  etag: string | undefined;
  next: string | undefined;
  notModified: boolean;
}

/**
 * Pages of a list endpoint, following Link rel="next". Only the first page is conditional: when it
 * is unchanged (304, free of rate-limit budget) nothing is, and no further page is read.
 */
async function* listPages(
  client: GithubClient,
  route: string,
  params: Record<string, string | number>,
  options: { etag?: string | undefined; signal: AbortSignal; needs: string; key?: string },
): AsyncGenerator<Listing> {
  let url: string | undefined = route;
  let first = true;
  let firstEtag: string | undefined;
  while (url !== undefined) {
    const res = await get(client, url, {
      params: first ? { ...params, per_page: PER_PAGE } : {},
      etag: first ? options.etag : undefined,
      signal: options.signal,
      needs: options.needs,
    });
    if (res.status === 304) {
      yield { items: [], etag: options.etag, next: undefined, notModified: true };
      return;
    }
    const body = options.key !== undefined ? parse(z.record(z.string(), z.unknown()), res.data, route)[options.key] : res.data;
    if (first) firstEtag = res.etag;
    yield { items: parse(list, body, route), etag: firstEtag, next: res.next, notModified: false };
    url = res.next;
    first = false;
  }
}

/** Every item of a small list (a pull request's commits or reviews), with the requests it cost. */
async function listAll(
  client: GithubClient,
  route: string,
  params: Record<string, string | number>,
  signal: AbortSignal,
  needs: string,
  key?: string,
): Promise<{ items: unknown[]; requests: number }> {
  const items: unknown[] = [];
  let requests = 0;
  for await (const page of listPages(client, route, params, { signal, needs, ...(key !== undefined ? { key } : {}) })) {
    items.push(...page.items);
    requests++;
  }
  return { items, requests };
}

const PULLS = 'Pull requests: read';
const CONTENTS = 'Contents: read';
const DEPLOYMENTS = 'Deployments: read';
const ACTIONS = 'Actions: read';
const METADATA = 'Metadata: read';
const ISSUES = 'Issues: read';

/** Pull requests newest-updated first down to the mark, each changed one with its commits and reviews (REST: two calls each). */
async function* pullRequests(client: GithubClient, scope: string, cursor: Cursor | undefined, ctx: StreamContext): AsyncGenerator<Page> {
  if (client.api === 'graphql') {
    yield* pullRequestsGraphql(client, scope, cursor, ctx);
    return;
  }
  const { owner, repo } = ownerRepo(scope);
  const mark = Mark.from(cursor, ctx);
  const next = Mark.from(cursor, ctx);
  const params = { owner, repo, state: 'all', sort: 'updated', direction: 'desc' };
  let etag: string | undefined;
  for await (const page of listPages(client, '/repos/{owner}/{repo}/pulls', params, {
    etag: etagOf(cursor, ctx),
    signal: ctx.signal,
    needs: PULLS,
  })) {
    etag = page.etag;
    if (page.notModified) {
      yield { records: [], requests: 1 };
      return;
    }
    const pulls = page.items.map((raw) => ({ raw, pr: parse(pullSchema, raw, `GET /repos/${scope}/pulls`) }));
    const fresh = pulls.filter(({ pr }) => mark.isNew(pr.updated_at, String(pr.number)));
    const details = await Promise.all(fresh.map(({ pr }) => pullDetails(client, scope, pr, ctx.signal)));
    const records: SourceRecord[] = [];
    let requests = 1;
    fresh.forEach(({ raw, pr }, i) => {
      const d = details[i]!;
      records.push(toRecord.pullRequest(scope, pr, raw as object), ...d.records);
      requests += d.requests;
      next.see(pr.updated_at, String(pr.number));
    });
    const last = pulls[pulls.length - 1];
    const done = page.next === undefined || last === undefined || mark.isOlder(last.pr.updated_at);
    // Newest first: the mark may only move once the whole listing down to it is on the bus.
    yield { records, requests, cursor: done ? next.cursor({ etag: etag ?? null }) : undefined };
    if (done) return;
  }
}

async function pullDetails(
  client: GithubClient,
  scope: string,
  pr: z.infer<typeof pullSchema>,
  signal: AbortSignal,
): Promise<{ records: SourceRecord[]; requests: number }> {
  const { owner, repo } = ownerRepo(scope);
  const params = { owner, repo, pull_number: pr.number };
  const [commits, reviews] = await Promise.all([
    listAll(client, '/repos/{owner}/{repo}/pulls/{pull_number}/commits', params, signal, PULLS),
    listAll(client, '/repos/{owner}/{repo}/pulls/{pull_number}/reviews', params, signal, PULLS),
  ]);
  const what = `GET /repos/${scope}/pulls/${pr.number}`;
  return { records: detailRecords(scope, pr, commits.items, reviews.items, what), requests: commits.requests + reviews.requests };
}

/** A pull request's commit list (one record, versioned by its head) and its submitted reviews. */
function detailRecords(
  scope: string,
  pr: z.infer<typeof pullSchema>,
  commits: unknown[],
  reviews: unknown[],
  what: string,
): SourceRecord[] {
  const records: SourceRecord[] = [];
  const shas = commits.map((c) => parse(commitSchema, c, `${what}/commits`).sha);
  const head = shas[shas.length - 1];
  if (head !== undefined) records.push(toRecord.pullRequestCommits(scope, pr.number, head, pr.updated_at, commits));
  for (const raw of reviews) {
    const review = parse(reviewSchema, raw, `${what}/reviews`);
    // Pending reviews are drafts only their author sees; they have no submitted time yet.
    if (review.submitted_at === null || review.submitted_at === undefined) continue;
    records.push(toRecord.review(scope, pr.number, review, review.submitted_at, raw as object));
  }
  return records;
}

/** How many pull requests the change probe lists: fewer new ones than this are read in one page just their size. */
const PROBE = 20;

/**
 * Pull requests through GraphQL, newest-updated first down to the mark, each with every commit and
 * review, 100 a request. A conditional REST listing of the PROBE most recently updated comes first:
 * unchanged, it is a 304 that costs no budget and ends the poll; changed, it tells how many are new,
 * so a poll that finds a few asks for just those (a query's points grow with the pull requests asked for).
 */
async function* pullRequestsGraphql(
  client: GithubClient,
  scope: string,
  cursor: Cursor | undefined,
  ctx: StreamContext,
): AsyncGenerator<Page> {
  const { owner, repo } = ownerRepo(scope);
  const mark = Mark.from(cursor, ctx);
  const next = Mark.from(cursor, ctx);
  const probe = await get(client, '/repos/{owner}/{repo}/pulls', {
    params: { owner, repo, state: 'all', sort: 'updated', direction: 'desc', per_page: PROBE },
    etag: etagOf(cursor, ctx),
    signal: ctx.signal,
    needs: PULLS,
  });
  if (probe.status === 304) {
    yield { records: [], requests: 1 };
    return;
  }
  const etag = probe.etag ?? null;
  const top = parse(list, probe.data, `GET /repos/${scope}/pulls`).map((raw) => parse(pullSchema, raw, `GET /repos/${scope}/pulls`));
  if (!top.some((pr) => mark.isNew(pr.updated_at, String(pr.number)))) {
    yield { records: [], requests: 1, cursor: next.cursor({ etag }) };
    return;
  }
  // Down to the first one older than the mark, whose time ends the listing; when none is, as many as
  // the listing's pages hold, at most 100 (a query costs points for what it asks for, not what it gets).
  const older = top.findIndex((pr) => mark.isOlder(pr.updated_at));
  const listed = probe.next === undefined ? top.length : (lastPage(probe.headers['link']) ?? GRAPHQL_PAGE) * PROBE;
  let first = Math.max(1, Math.min(GRAPHQL_PAGE, older >= 0 ? older + 1 : listed));
  let after: string | undefined;
  let requests = 1;
  for (;;) {
    const page = await pullRequestPage(client, scope, first, after, { signal: ctx.signal, needs: PULLS });
    requests += page.requests;
    const records: SourceRecord[] = [];
    for (const node of page.pulls) {
      if (!mark.isNew(node.updatedAt, String(node.number))) continue;
      const raw = restPullRequest(node);
      const pr = parse(pullSchema, raw, `GraphQL query pullRequests of ${scope}`);
      const what = `GraphQL query pullRequests of ${scope}#${pr.number}`;
      records.push(
        toRecord.pullRequest(scope, pr, raw),
        ...detailRecords(scope, pr, node.commits.nodes.map(restCommit), (node.reviews?.nodes ?? []).map(restReview), what),
      );
      next.see(pr.updated_at, String(pr.number));
    }
    const last = page.pulls[page.pulls.length - 1];
    const done = page.next === undefined || last === undefined || mark.isOlder(last.updatedAt);
    // Newest first: the mark may only move once the whole listing down to it is on the bus.
    yield { records, requests, cursor: done ? next.cursor({ etag }) : undefined };
    if (done) return;
    requests = 0;
    after = page.next;
    first = GRAPHQL_PAGE;
  }
}

/** Commits of the default branch (GitHub's default for GET /commits without `sha`) since the mark (see sinceListing). */
async function* commits(client: GithubClient, scope: string, cursor: Cursor | undefined, ctx: StreamContext): AsyncGenerator<Page> {
  const { owner, repo } = ownerRepo(scope);
  yield* sinceListing(client, cursor, ctx, {
    route: '/repos/{owner}/{repo}/commits',
    query: (since) => ({ owner, repo, since }),
    needs: CONTENTS,
    read: (raw) => {
      const c = parse(commitSchema, raw, `GET /repos/${scope}/commits`);
      const at = c.commit.committer?.date;
      return at === undefined ? undefined : { at, key: c.sha, record: toRecord.commit(scope, c.sha, at, raw as object) };
    },
  });
}

/**
 * A listing read newest first with a `since` query, each item emitted once: what is new is judged against
 * the mark the pull started from (`read` gives an item's time, its key and its record, null for an item
 * seen but not emitted). The ETag belongs to one query, so the cursor keeps the `since` it was taken with
 * (`q`); after a change the next query's first page is read once more to take its ETag, so that the next
 * poll without change is a single 304. `since` is whole seconds: the second of the mark is read again
 * and the mark's keys drop what was already emitted.
 */
async function* sinceListing(
  client: GithubClient,
  cursor: Cursor | undefined,
  ctx: StreamContext,
  spec: {
    route: string;
    query: (since: string) => Record<string, string>;
    needs: string;
    read: (raw: unknown) => { at: string; key: string; record: SourceRecord | null } | undefined;
  },
): AsyncGenerator<Page> {
  const { route, query, needs } = spec;
  const mark = Mark.from(cursor, ctx);
  const next = Mark.from(cursor, ctx);
  const q = typeof cursor?.['q'] === 'string' && !ctx.backfill ? cursor['q'] : isoSeconds(mark.t);
  const take = (items: unknown[], by: Mark = mark): SourceRecord[] => {
    const records: SourceRecord[] = [];
    for (const raw of items) {
      const item = spec.read(raw);
      if (item === undefined || !by.isNew(item.at, item.key)) continue;
      next.see(item.at, item.key);
      if (item.record !== null) records.push(item.record);
    }
    return records;
  };
  let etag: string | undefined;
  for await (const page of listPages(client, route, query(q), { etag: etagOf(cursor, ctx), signal: ctx.signal, needs })) {
    etag = page.etag;
    if (page.notModified) {
      yield { records: [], requests: 1 };
      return;
    }
    if (page.next !== undefined) {
      yield { records: take(page.items), requests: 1 };
      continue;
    }
    const records = take(page.items);
    const nextQ = isoSeconds(next.t);
    if (nextQ === q || ctx.backfill) {
      yield { records, requests: 1, cursor: next.cursor({ etag: etag ?? null, q }) };
      return;
    }
    const primed = await get(client, route, { params: { ...query(nextQ), per_page: PER_PAGE }, signal: ctx.signal, needs });
    // Its items are those at the mark or newer; nothing there is new unless one changed meanwhile.
    records.push(...take(parse(list, primed.data, route), next));
    const tail = primed.next === undefined ? { etag: primed.etag ?? null, q: nextQ } : { etag: null, q };
    yield { records, requests: 2, cursor: next.cursor(tail) };
  }
}

const isoSeconds = (ms: number): string => new Date(Math.max(0, ms)).toISOString().replace(/\.\d{3}Z$/, 'Z');

const TERMINAL_DEPLOYMENT = new Set(['success', 'failure', 'error', 'inactive']);

/** A deployment still without a final status this long after it was created is no longer polled. */
const OPEN_DEPLOYMENT_MAX_AGE_MS = 7 * 86_400_000;

/** The cursor's open deployments: `id@createdMs` (a bare id, from older cursors, counts as created now). */
function readOpen(text: unknown, now: number): Map<number, number> {
  if (typeof text !== 'string') return new Map();
  return new Map(
    text
      .split(',')
      .filter(Boolean)
      .map((e): [number, number] => {
        const [id, created] = e.split('@');
        return [Number(id), created !== undefined ? Number(created) : now];
      }),
  );
}

/**
 * Deployments newest first down to the mark, with their statuses. A deployment whose latest status is
 * not final stays in the cursor's `open` list and has its statuses polled until it is: new statuses
 * do not show on the deployment list's first page.
 */
async function* deployments(client: GithubClient, scope: string, cursor: Cursor | undefined, ctx: StreamContext): AsyncGenerator<Page> {
  const { owner, repo } = ownerRepo(scope);
  const mark = Mark.from(cursor, ctx);
  const next = Mark.from(cursor, ctx);
  const now = ctx.clock.now();
  const open = ctx.backfill ? new Map<number, number>() : readOpen(cursor?.['open'], now);
  const statuses = async (id: number): Promise<{ records: SourceRecord[]; requests: number; final: boolean }> => {
    const res = await listAll(
      client,
      '/repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
      { owner, repo, deployment_id: id },
      ctx.signal,
      DEPLOYMENTS,
    );
    const parsed = res.items.map((raw) => ({
      raw,
      s: parse(deploymentStatusSchema, raw, `GET /repos/${scope}/deployments/${id}/statuses`),
    }));
    // Newest first: the first status is the deployment's current state.
    const final = parsed[0] !== undefined && TERMINAL_DEPLOYMENT.has(parsed[0].s.state);
    return { records: parsed.map(({ raw, s }) => toRecord.deploymentStatus(scope, id, s, raw as object)), requests: res.requests, final };
  };
  const polled = new Set<number>();
  const records: SourceRecord[] = [];
  let requests = 0;
  let etag: string | undefined;
  for await (const page of listPages(
    client,
    '/repos/{owner}/{repo}/deployments',
    { owner, repo },
    { etag: etagOf(cursor, ctx), signal: ctx.signal, needs: DEPLOYMENTS },
  )) {
    etag = page.etag;
    requests++;
    if (page.notModified) break;
    const deps = page.items.map((raw) => ({ raw, d: parse(deploymentSchema, raw, `GET /repos/${scope}/deployments`) }));
    const fresh = deps.filter(({ d }) => mark.isNew(d.updated_at, String(d.id)));
    const details = await Promise.all(fresh.map(({ d }) => statuses(d.id)));
    fresh.forEach(({ raw, d }, i) => {
      const s = details[i]!;
      records.push(toRecord.deployment(scope, d, raw as object), ...s.records);
      requests += s.requests;
      polled.add(d.id);
      if (s.final) open.delete(d.id);
      else open.set(d.id, Date.parse(d.created_at));
      next.see(d.updated_at, String(d.id));
    });
    const last = deps[deps.length - 1];
    if (page.next === undefined || last === undefined || mark.isOlder(last.d.created_at)) break;
    // Not the last page: publish what is here, keep the cursor until the listing is done.
    yield { records: records.splice(0), requests };
    requests = 0;
  }
  // Deployments still under way get their statuses polled: new statuses do not change the list.
  for (const [id, created] of [...open]) {
    if (polled.has(id)) continue;
    if (now - created > OPEN_DEPLOYMENT_MAX_AGE_MS) {
      // Abandoned without a final status (a crashed deploy job): stop paying a request per poll for it.
      open.delete(id);
      continue;
    }
    const s = await statuses(id);
    records.push(...s.records);
    requests += s.requests;
    if (s.final) open.delete(id);
  }
  yield {
    records,
    requests,
    cursor: next.cursor({ etag: etag ?? null, open: [...open].map(([id, created]) => `${id}@${created}`).join(',') }),
  };
}

/** Releases: few per repository, so a change to the first page re-reads the list and keeps what is newer than the mark. */
async function* releases(client: GithubClient, scope: string, cursor: Cursor | undefined, ctx: StreamContext): AsyncGenerator<Page> {
  const { owner, repo } = ownerRepo(scope);
  const mark = Mark.from(cursor, ctx);
  const next = Mark.from(cursor, ctx);
  let etag: string | undefined;
  for await (const page of listPages(
    client,
    '/repos/{owner}/{repo}/releases',
    { owner, repo },
    { etag: etagOf(cursor, ctx), signal: ctx.signal, needs: CONTENTS },
  )) {
    etag = page.etag;
    if (page.notModified) {
      yield { records: [], requests: 1 };
      return;
    }
    const records: SourceRecord[] = [];
    for (const raw of page.items) {
      const r = parse(releaseSchema, raw, `GET /repos/${scope}/releases`);
      const at = releaseTime(r);
      if (!mark.isNew(at, String(r.id))) continue;
      records.push(toRecord.release(scope, r, raw as object));
      next.see(at, String(r.id));
    }
    yield { records, requests: 1, cursor: page.next === undefined ? next.cursor({ etag: etag ?? null }) : undefined };
  }
}

/**
 * Workflow runs with their jobs. The first pull pages the unfiltered list (newest first) down to
 * `since`; later pulls ask for `created>=` the oldest run not yet completed (or else the newest run),
 * so runs still going stay in the first page whose ETag is compared. As for commits, the cursor keeps
 * the query its ETag belongs to (`q`), and a change reads the next query's first page for its ETag.
 */
async function* workflowRuns(client: GithubClient, scope: string, cursor: Cursor | undefined, ctx: StreamContext): AsyncGenerator<Page> {
  const { owner, repo } = ownerRepo(scope);
  const mark = Mark.from(cursor, ctx);
  const next = Mark.from(cursor, ctx);
  // GitHub caps a filtered run listing at 1,000 results: the first pull, with no cursor, pages unfiltered.
  const q = typeof cursor?.['q'] === 'string' && !ctx.backfill ? cursor['q'] : undefined;
  const route = '/repos/{owner}/{repo}/actions/runs';
  const query = (floor: string | undefined): Record<string, string> => ({
    owner,
    repo,
    ...(floor !== undefined ? { created: `>=${floor}` } : {}),
  });
  let oldestOpen: string | undefined;
  let newestCreated: string | undefined;
  const take = async (items: unknown[], by: Mark = mark): Promise<{ records: SourceRecord[]; requests: number; older: boolean }> => {
    const runs = items.map((raw) => ({ raw, run: parse(runSchema, raw, `GET /repos/${scope}/actions/runs`) }));
    const inRange = runs.filter(({ run }) => Date.parse(run.created_at) >= ctx.since.getTime() || q !== undefined);
    for (const { run } of inRange) {
      if (run.status !== 'completed' && (oldestOpen === undefined || run.created_at < oldestOpen)) oldestOpen = run.created_at;
      if (newestCreated === undefined || run.created_at > newestCreated) newestCreated = run.created_at;
    }
    const fresh = inRange.filter(({ run }) => by.isNew(run.updated_at, `${run.id}:${run.status ?? ''}`));
    for (const { run } of fresh) next.see(run.updated_at, `${run.id}:${run.status ?? ''}`);
    const jobs = await Promise.all(
      fresh.map(({ run }) =>
        listAll(client, '/repos/{owner}/{repo}/actions/runs/{run_id}/jobs', { owner, repo, run_id: run.id }, ctx.signal, ACTIONS, 'jobs'),
      ),
    );
    const records: SourceRecord[] = [];
    let requests = 0;
    fresh.forEach(({ raw, run }, i) => {
      const j = jobs[i]!;
      records.push(toRecord.workflowRun(scope, run, raw as object));
      for (const rawJob of j.items) {
        records.push(
          toRecord.workflowJob(scope, parse(jobSchema, rawJob, `GET /repos/${scope}/actions/runs/${run.id}/jobs`), rawJob as object),
        );
      }
      requests += j.requests;
    });
    return { records, requests, older: inRange.length < runs.length };
  };
  let etag: string | undefined;
  for await (const page of listPages(client, route, query(q), {
    etag: etagOf(cursor, ctx),
    signal: ctx.signal,
    needs: ACTIONS,
    key: 'workflow_runs',
  })) {
    etag = page.etag;
    if (page.notModified) {
      yield { records: [], requests: 1 };
      return;
    }
    const got = await take(page.items);
    if (page.next !== undefined && !got.older) {
      yield { records: got.records, requests: got.requests + 1 };
      continue;
    }
    const nextQ = oldestOpen ?? newestCreated ?? q ?? isoSeconds(ctx.since.getTime());
    if (nextQ === q || ctx.backfill) {
      yield { records: got.records, requests: got.requests + 1, cursor: next.cursor({ etag: etag ?? null, q: q ?? null }) };
      return;
    }
    const primed = await get(client, route, { params: { ...query(nextQ), per_page: PER_PAGE }, signal: ctx.signal, needs: ACTIONS });
    const more = await take(parse(list, parse(z.object({ workflow_runs: z.unknown() }), primed.data, route).workflow_runs, route), next);
    const tail = primed.next === undefined ? { etag: primed.etag ?? null, q: nextQ } : { etag: null, q: q ?? nextQ };
    yield { records: [...got.records, ...more.records], requests: got.requests + more.requests + 2, cursor: next.cursor(tail) };
    return;
  }
}

/** "id=hash" pairs: what the milestones stream last emitted. */
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

/**
 * Milestones, open and closed. The listing has no `since`, and a milestone's updated_at also moves with
 * its issue counts: a milestone is emitted when what it says (title, description, state, due date,
 * closing) changed since the last pull, remembered in the cursor's `seen`. The listing is ordered by
 * due date, so a change can be on any page: the first page's ETag is kept (one 304 when nothing
 * changed) only when the listing is a single page.
 */
async function* milestones(client: GithubClient, scope: string, cursor: Cursor | undefined, ctx: StreamContext): AsyncGenerator<Page> {
  const { owner, repo } = ownerRepo(scope);
  const seen = ctx.backfill ? new Map<string, string>() : decodeSeen(cursor?.['seen']);
  const now = new Map<string, string>();
  let pages = 0;
  let etag: string | undefined;
  for await (const page of listPages(
    client,
    '/repos/{owner}/{repo}/milestones',
    { owner, repo, state: 'all' },
    { etag: etagOf(cursor, ctx), signal: ctx.signal, needs: ISSUES },
  )) {
    pages++;
    etag = page.etag;
    if (page.notModified) {
      yield { records: [], requests: 1 };
      return;
    }
    const records: SourceRecord[] = [];
    for (const raw of page.items) {
      const m = parse(milestoneSchema, raw, `GET /repos/${scope}/milestones`);
      const h = milestoneHash(m);
      now.set(String(m.id), h);
      if (seen.get(String(m.id)) !== h) records.push(toRecord.milestone(scope, m, raw as object));
    }
    const done = page.next === undefined;
    // What was emitted is remembered once the whole listing is on the bus.
    yield {
      records,
      requests: 1,
      cursor: done ? { seen: encodeSeen(now), etag: pages === 1 ? (etag ?? null) : null } : undefined,
    };
  }
}

/** Issues (not pull requests, which the listing includes) updated since the mark, newest first (see sinceListing). */
async function* issues(client: GithubClient, scope: string, cursor: Cursor | undefined, ctx: StreamContext): AsyncGenerator<Page> {
  const { owner, repo } = ownerRepo(scope);
  yield* sinceListing(client, cursor, ctx, {
    route: '/repos/{owner}/{repo}/issues',
    query: (since) => ({ owner, repo, state: 'all', sort: 'updated', direction: 'desc', since }),
    needs: ISSUES,
    read: (raw) => {
      const i = parse(issueSchema, raw, `GET /repos/${scope}/issues`);
      const pr = i.pull_request !== undefined && i.pull_request !== null;
      return { at: i.updated_at, key: String(i.id), record: pr ? null : toRecord.issue(scope, i, raw as object) };
    },
  });
}

/**
 * The history of the repository's issues: GET /issues/events lists every event newest first; the
 * closed, reopened, milestoned and demilestoned events of issues (not pull requests) are emitted,
 * down to the newest event id of the last pull (`last`), or on a first pull down to `since`. GitHub
 * names a milestone in these events by its title only: the stream adds the milestone's id, from the
 * issue's own milestone when it has that title, else from the repository's milestones (read at most
 * once per pull, only when needed). A title no milestone has any more is left as GitHub sent it.
 */
async function* issueEvents(client: GithubClient, scope: string, cursor: Cursor | undefined, ctx: StreamContext): AsyncGenerator<Page> {
  const { owner, repo } = ownerRepo(scope);
  const last = !ctx.backfill && typeof cursor?.['last'] === 'number' ? cursor['last'] : undefined;
  let newest = last ?? 0;
  let byTitle: Map<string, { id: number; number: number }> | undefined;
  const milestoneByTitle = async (): Promise<{ map: Map<string, { id: number; number: number }>; requests: number }> => {
    if (byTitle !== undefined) return { map: byTitle, requests: 0 };
    const all = await listAll(client, '/repos/{owner}/{repo}/milestones', { owner, repo, state: 'all' }, ctx.signal, ISSUES);
    byTitle = new Map();
    for (const raw of all.items) {
      const m = parse(milestoneSchema, raw, `GET /repos/${scope}/milestones`);
      if (typeof m.title === 'string') byTitle.set(m.title, { id: m.id, number: m.number });
    }
    return { map: byTitle, requests: all.requests };
  };
  const issueMilestone = z.object({ milestone: z.object({ id: z.number().int(), number: z.number().int(), title: z.string() }).nullish() });
  let etag: string | undefined;
  for await (const page of listPages(
    client,
    '/repos/{owner}/{repo}/issues/events',
    { owner, repo },
    { etag: etagOf(cursor, ctx), signal: ctx.signal, needs: ISSUES },
  )) {
    etag = page.etag;
    if (page.notModified) {
      yield { records: [], requests: 1 };
      return;
    }
    const records: SourceRecord[] = [];
    let requests = 1;
    let older = false;
    for (const raw of page.items) {
      const e = parse(issueEventSchema, raw, `GET /repos/${scope}/issues/events`);
      if ((last !== undefined && e.id <= last) || (last === undefined && Date.parse(e.created_at) < ctx.since.getTime())) {
        older = true;
        continue;
      }
      newest = Math.max(newest, e.id);
      if (!HISTORY_EVENTS.has(e.event) || e.issue === null || e.issue === undefined) continue;
      if (e.issue.pull_request !== undefined && e.issue.pull_request !== null) continue;
      let payload = raw as Record<string, unknown>;
      const named = payload['milestone'];
      if ((e.event === 'milestoned' || e.event === 'demilestoned') && typeof named === 'object' && named !== null) {
        const title = (named as { title?: unknown }).title;
        const own = issueMilestone.safeParse(payload['issue']).data?.milestone;
        let found = own !== undefined && own !== null && own.title === title ? { id: own.id, number: own.number } : undefined;
        if (found === undefined && typeof title === 'string') {
          const r = await milestoneByTitle();
          requests += r.requests;
          found = r.map.get(title);
        }
        if (found !== undefined) payload = { ...payload, milestone: { ...named, ...found } };
      }
      records.push(toRecord.issueEvent(scope, e, payload));
    }
    const done = page.next === undefined || older;
    // Newest first: the last id seen may only move once the listing down to the previous one is on the bus.
    yield { records, requests, cursor: done ? { last: newest === 0 ? null : newest, etag: etag ?? null } : undefined };
    if (done) return;
  }
}

/** The repository itself: one conditional GET. */
async function* repository(client: GithubClient, scope: string, cursor: Cursor | undefined, ctx: StreamContext): AsyncGenerator<Page> {
  const { owner, repo } = ownerRepo(scope);
  const res = await get(client, '/repos/{owner}/{repo}', {
    params: { owner, repo },
    etag: etagOf(cursor, ctx),
    signal: ctx.signal,
    needs: METADATA,
  });
  if (res.status === 304) {
    yield { records: [], requests: 1 };
    return;
  }
  const r = parse(repoSchema, res.data, `GET /repos/${scope}`);
  yield { records: [toRecord.repository(r, res.data as object)], requests: 1, cursor: { etag: res.etag ?? null } };
}

type Pull = (client: GithubClient, scope: string, cursor: Cursor | undefined, ctx: StreamContext) => AsyncIterable<Page>;

const STREAMS: Array<[string, Pull]> = [
  ['repository', repository],
  ['pull_requests', pullRequests],
  ['commits', commits],
  ['deployments', deployments],
  ['releases', releases],
  ['workflow_runs', workflowRuns],
  ['milestones', milestones],
  ['issues', issues],
  ['issue_events', issueEvents],
];

export const githubStreams: Array<Stream<GithubClient>> = STREAMS.map(([name, pull]) => ({ name, scopes: repositories, pull }));
