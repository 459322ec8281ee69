import { z } from 'zod';
import { retryAfterMs, SourceError, withRetries } from '../../infra/http-retry.js';
import { failureError, type GithubClient } from './client.js';

/**
 * GitHub's GraphQL API: pull requests with their commits and reviews, 100 a request. Each query asks
 * for `rateLimit { cost remaining resetAt }`; the point budget it reports is kept on the client and a
 * query whose expected cost exceeds what is left waits, on the client's clock, until the budget resets.
 * Secondary limits, 403 and 5xx are retried as REST requests are (see client.ts).
 */

/** The most nodes GitHub serves on one connection page. */
export const GRAPHQL_PAGE = 100;
/** Parents read with each commit: a merge has two; a commit with more has them read in a query of its own. */
const PARENTS = 10;
/**
 * Commits read with each pull request; the rest come in follow-up queries of 100. Each commit's parents
 * are a connection of their own, which GitHub charges as a request per commit asked for: a page of 100
 * pull requests with 100 commits each would cost 103 points, with 25 it costs 28.
 */
export const NESTED_COMMITS = 25;

const RATE_LIMIT = 'rateLimit { cost remaining resetAt }';
const LIST = 'pageInfo { hasNextPage endCursor }';
const COMMIT = `commit { oid message authoredDate committedDate author { name email date user { login } } committer { date }
  parents(first: ${PARENTS}) { totalCount nodes { oid } } }`;
const REVIEW = 'fullDatabaseId state submittedAt author { login }';

/** The fields of a pull request's REST object that the mapper reads, and its nested lists' first pages. */
const PULL_REQUEST = `fullDatabaseId number title state isDraft url createdAt updatedAt mergedAt closedAt author { login }
  baseRefName headRefName headRefOid mergeCommit { oid } potentialMergeCommit { oid }
  labels(first: ${GRAPHQL_PAGE}) { ${LIST} nodes { name } }
  commits(first: ${NESTED_COMMITS}) { ${LIST} nodes { ${COMMIT} } }
  reviews(first: ${GRAPHQL_PAGE}) { ${LIST} nodes { ${REVIEW} } }`;

export const PULL_REQUESTS_QUERY = `query pullRequests($owner: String!, $name: String!, $first: Int!, $after: String) {
  ${RATE_LIMIT}
  repository(owner: $owner, name: $name) {
    pullRequests(first: $first, after: $after, orderBy: { field: UPDATED_AT, direction: DESC }) {
      ${LIST}
      nodes { ${PULL_REQUEST} }
    }
  }
}`;

/** The next page of one nested list of one pull request. */
const LIST_NODES = { commits: `nodes { ${COMMIT} }`, reviews: `nodes { ${REVIEW} }`, labels: 'nodes { name }' } as const;
export type NestedList = keyof typeof LIST_NODES;
const listQuery = (list: NestedList): string => `query pullRequest_${list}($owner: String!, $name: String!, $number: Int!, $after: String) {
  ${RATE_LIMIT}
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) { ${list}(first: ${GRAPHQL_PAGE}, after: $after) { ${LIST} ${LIST_NODES[list]} } }
  }
}`;

const PARENTS_QUERY = `query commitParents($owner: String!, $name: String!, $oid: GitObjectID!, $after: String) {
  ${RATE_LIMIT}
  repository(owner: $owner, name: $name) {
    object(oid: $oid) { ... on Commit { parents(first: ${GRAPHQL_PAGE}, after: $after) { ${LIST} nodes { oid } } } }
  }
}`;

/**
 * What a query costs by GitHub's rule: one request per connection page asked for (each nested
 * connection once per node of its parent), divided by 100 and rounded, at least 1.
 */
export function pullRequestsCost(first: number): number {
  const requests = 1 + first * 3 + first * NESTED_COMMITS;
  return Math.max(1, Math.round(requests / 100));
}

// ---------------------------------------------------------------------------------------------
// The answers' shapes

const pageInfo = z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() });
const login = z.object({ login: z.string() }).nullable();
const commitNode = z.object({
  commit: z.object({
    oid: z.string(),
    message: z.string(),
    authoredDate: z.string(),
    committedDate: z.string(),
    author: z.object({ name: z.string().nullable(), email: z.string().nullable(), date: z.string().nullable(), user: login }).nullable(),
    committer: z.object({ date: z.string().nullable() }).nullable(),
    parents: z.object({ totalCount: z.number().int(), nodes: z.array(z.object({ oid: z.string() })) }),
  }),
});
/** GitHub's ids outgrew Int: fullDatabaseId is a BigInt, sent as a string. */
const bigId = z.union([z.string().regex(/^\d+$/), z.number().int()]).transform(Number);
const reviewNode = z.object({ fullDatabaseId: bigId.nullable(), state: z.string(), submittedAt: z.string().nullable(), author: login });
const labelNode = z.object({ name: z.string() });
const connection = <T extends z.ZodType>(node: T) => z.object({ pageInfo, nodes: z.array(node) });

const pullRequestNode = z.object({
  fullDatabaseId: bigId,
  number: z.number().int(),
  title: z.string(),
  state: z.enum(['OPEN', 'CLOSED', 'MERGED']),
  isDraft: z.boolean(),
  url: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  mergedAt: z.string().nullable(),
  closedAt: z.string().nullable(),
  author: login,
  baseRefName: z.string(),
  headRefName: z.string(),
  headRefOid: z.string(),
  mergeCommit: z.object({ oid: z.string() }).nullable(),
  potentialMergeCommit: z.object({ oid: z.string() }).nullable(),
  labels: connection(labelNode).nullable(),
  commits: connection(commitNode),
  reviews: connection(reviewNode).nullable(),
});
export type PullRequestNode = z.infer<typeof pullRequestNode>;
const rateLimit = z.object({ cost: z.number(), remaining: z.number(), resetAt: z.string() }).nullish();
const repositoryOf = <T extends z.ZodType>(shape: T) => z.object({ rateLimit, repository: shape.nullable() });

const pullRequestsAnswer = repositoryOf(z.object({ pullRequests: connection(pullRequestNode) }));

// ---------------------------------------------------------------------------------------------
// Sending a query

interface GraphqlError {
  type?: string;
  message?: string;
  path?: unknown[];
}

function ownerName(scope: string): { owner: string; name: string } {
  const [owner = '', name = ''] = scope.split('/');
  return { owner, name };
}

/**
 * Waits, on the client's clock, until the point budget is refilled when what is left is less than the
 * query is expected to cost (what it cost last time, else `estimate`), then counts the cost as spent
 * until GitHub's answer says what is left.
 */
async function spend(client: GithubClient, what: string, name: string, estimate: number, signal: AbortSignal | undefined): Promise<void> {
  const p = client.points;
  const cost = p.costs.get(name) ?? estimate;
  const clock = client.retry.clock;
  if (p.remaining !== undefined && p.resetAt !== undefined && p.remaining < cost) {
    const wait = p.resetAt - clock.now();
    const most = client.retry.maxRateLimitWaitMs ?? 15 * 60_000;
    if (wait > most)
      throw new SourceError(
        `${what}: the GraphQL point budget has ${p.remaining} points left, the query costs ${cost}; it is refilled at ` +
          `${new Date(p.resetAt).toISOString()}, ${Math.round(wait / 1000)} s from now, longer than allowed to wait`,
        'fatal',
        undefined,
      );
    if (wait > 0) {
      client.logger.warn(
        { remaining: p.remaining, cost, resetAt: new Date(p.resetAt).toISOString(), waitMs: wait },
        `GitHub GraphQL point budget too low for ${name}; waiting until it is refilled`,
      );
      await clock.sleep(wait, signal);
    }
    p.remaining = undefined;
    p.resetAt = undefined;
  }
  if (p.remaining !== undefined) p.remaining -= cost;
}

/** Keeps what the answer says of the budget: its rateLimit object, else the x-ratelimit-* headers. */
function account(client: GithubClient, name: string, data: unknown, headers: Record<string, string | number | undefined>): void {
  const p = client.points;
  const rl = rateLimit.safeParse(typeof data === 'object' && data !== null ? (data as Record<string, unknown>)['rateLimit'] : undefined);
  if (rl.success && rl.data !== null && rl.data !== undefined) {
    p.remaining = rl.data.remaining;
    const at = Date.parse(rl.data.resetAt);
    p.resetAt = Number.isNaN(at) ? p.resetAt : at;
    p.costs.set(name, rl.data.cost);
    return;
  }
  const remaining = Number(headers['x-ratelimit-remaining']);
  const reset = Number(headers['x-ratelimit-reset']);
  if (Number.isFinite(remaining)) p.remaining = remaining;
  if (Number.isFinite(reset)) p.resetAt = reset * 1000;
}

/** The failure a GraphQL `errors` list stands for, naming the query. */
function rejection(
  client: GithubClient,
  what: string,
  errors: GraphqlError[],
  headers: Record<string, string | number | undefined>,
  needs: string,
): SourceError {
  const detail = errors.map((e) => `${e.type !== undefined ? `${e.type}: ` : ''}${e.message ?? 'no message'}`).join('; ');
  const now = client.retry.clock.now();
  if (errors.some((e) => e.type === 'RATE_LIMITED')) {
    // Refused for the budget: wait until x-ratelimit-reset (else the reset last reported), then learn it anew.
    const p = client.points;
    const wait = retryAfterMs({ ...headers, 'x-ratelimit-remaining': '0' }, now) ?? Math.max(0, (p.resetAt ?? now + 60_000) - now);
    p.remaining = undefined;
    p.resetAt = undefined;
    return new SourceError(`${what}: GraphQL point budget exhausted: ${detail}`, 'rate_limited', 200, wait);
  }
  const fix: Record<string, string> = {
    NOT_FOUND: `check the repository name and that the token can see it (fine-grained token or GitHub App: '${needs}'; classic token: the 'repo' scope)`,
    FORBIDDEN: `grant the token access (fine-grained token or GitHub App: '${needs}'; classic token: the 'repo' scope)`,
  };
  const hint = errors.map((e) => fix[e.type ?? '']).find((h) => h !== undefined);
  return new SourceError(`${what}: GitHub rejected the query: ${detail}${hint !== undefined ? `; ${hint}` : ''}`, 'fatal', 200);
}

export interface QueryOptions {
  signal?: AbortSignal | undefined;
  /** The permission the query needs, named when it is refused. */
  needs: string;
  /** The points the query is expected to cost the first time it is sent. */
  estimate: number;
}

/**
 * One GraphQL query: POST {graphqlUrl}, within the point budget, retried as REST requests are. `name`
 * (the operation's) and `scope` name the query in every error.
 */
export async function graphql(
  client: GithubClient,
  name: string,
  text: string,
  variables: Record<string, unknown>,
  options: QueryOptions,
): Promise<unknown> {
  const scope = typeof variables['owner'] === 'string' ? ` of ${String(variables['owner'])}/${String(variables['name'])}` : '';
  const what = `GraphQL query ${name}${scope} (POST ${new URL(client.graphqlUrl).pathname})`;
  const { signal } = options;
  return withRetries(
    async () => {
      await spend(client, what, name, options.estimate, signal);
      return client.limit(async () => {
        let res: { data: unknown; headers: Record<string, string | number | undefined> };
        try {
          const r = await client.octokit.request({
            method: 'POST',
            url: client.graphqlUrl,
            query: text,
            variables,
            ...(signal !== undefined ? { request: { signal } } : {}),
          });
          res = { data: r.data as unknown, headers: r.headers };
        } catch (err) {
          if (err instanceof SourceError) throw err;
          throw failureError(typeof err === 'object' && err !== null ? err : {}, what, options.needs, client.retry.clock.now());
        }
        const body = (typeof res.data === 'object' && res.data !== null ? res.data : {}) as { data?: unknown; errors?: GraphqlError[] };
        account(client, name, body.data, res.headers);
        if (Array.isArray(body.errors) && body.errors.length > 0) throw rejection(client, what, body.errors, res.headers, options.needs);
        return body.data;
      });
    },
    { ...client.retry, ...(signal !== undefined ? { signal } : {}) },
  );
}

/** Parses an answer, or stops the stream naming the query: a shape change is not healed by waiting. */
function answer<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new SourceError(`${what}: unexpected answer from GitHub: ${z.prettifyError(r.error)}`, 'fatal', undefined);
  return r.data;
}

// ---------------------------------------------------------------------------------------------
// Pull requests

export interface PullRequestPage {
  pulls: PullRequestNode[];
  next: string | undefined;
  /** Requests spent, follow-ups for nested lists beyond their first page included. */
  requests: number;
}

/**
 * One page of a repository's pull requests, most recently updated first, each with every commit,
 * review and label: a list longer than the page it came with is read to its end by follow-up queries
 * for that pull request alone, as are the parents of a commit with more than PARENTS of them.
 */
export async function pullRequestPage(
  client: GithubClient,
  scope: string,
  first: number,
  after: string | undefined,
  options: { signal: AbortSignal; needs: string },
): Promise<PullRequestPage> {
  const vars = { ...ownerName(scope), first, after: after ?? null };
  const data = await graphql(client, 'pullRequests', PULL_REQUESTS_QUERY, vars, { ...options, estimate: pullRequestsCost(first) });
  const got = answer(pullRequestsAnswer, data, `GraphQL query pullRequests of ${scope}`);
  if (got.repository === null) throw new SourceError(`GraphQL query pullRequests of ${scope}: no such repository`, 'fatal', 404);
  const conn = got.repository.pullRequests;
  const requests = await Promise.all(conn.nodes.map((pr) => complete(client, scope, pr, options)));
  return {
    pulls: conn.nodes,
    next: conn.pageInfo.hasNextPage && conn.pageInfo.endCursor !== null ? conn.pageInfo.endCursor : undefined,
    requests: 1 + requests.reduce((a, b) => a + b, 0),
  };
}

const NODES = { commits: commitNode, reviews: reviewNode, labels: labelNode } as const;

/** Reads the rest of each nested list of a pull request, and of each commit's parents; returns the requests spent. */
async function complete(
  client: GithubClient,
  scope: string,
  pr: PullRequestNode,
  options: { signal: AbortSignal; needs: string },
): Promise<number> {
  let requests = 0;
  for (const list of ['commits', 'reviews', 'labels'] as const) {
    const conn = pr[list] as { pageInfo: z.infer<typeof pageInfo>; nodes: unknown[] } | null;
    let page = conn?.pageInfo;
    while (conn !== null && page?.hasNextPage === true && page.endCursor !== null) {
      const name = `pullRequest_${list}`;
      const what = `GraphQL query ${name} of ${scope}#${pr.number}`;
      const vars = { ...ownerName(scope), number: pr.number, after: page.endCursor };
      const data = await graphql(client, name, listQuery(list), vars, { ...options, estimate: list === 'commits' ? 2 : 1 });
      const shape = repositoryOf(z.object({ pullRequest: z.object({ [list]: connection(NODES[list]) }) }));
      const got = answer(shape, data, what).repository?.pullRequest[list] as
        { pageInfo: z.infer<typeof pageInfo>; nodes: unknown[] } | undefined;
      if (got === undefined) throw new SourceError(`${what}: the pull request is gone`, 'fatal', 404);
      conn.nodes.push(...got.nodes);
      page = got.pageInfo;
      requests++;
    }
  }
  for (const { commit } of pr.commits.nodes) {
    let after: string | null = null;
    while (commit.parents.nodes.length < commit.parents.totalCount) {
      const what = `GraphQL query commitParents of ${scope}@${commit.oid}`;
      const vars = { ...ownerName(scope), oid: commit.oid, after };
      const data = await graphql(client, 'commitParents', PARENTS_QUERY, vars, { ...options, estimate: 1 });
      const shape = repositoryOf(z.object({ object: z.object({ parents: connection(z.object({ oid: z.string() })) }).nullable() }));
      const got = answer(shape, data, what).repository?.object?.parents;
      if (got === undefined) throw new SourceError(`${what}: the commit is gone`, 'fatal', 404);
      // The follow-up starts from the first parent when none was read before: keep each oid once.
      const known = new Set(commit.parents.nodes.map((n) => n.oid));
      commit.parents.nodes.push(...got.nodes.filter((n) => !known.has(n.oid)));
      requests++;
      if (!got.pageInfo.hasNextPage || got.pageInfo.endCursor === null) break;
      after = got.pageInfo.endCursor;
    }
  }
  return requests;
}

// ---------------------------------------------------------------------------------------------
// The REST objects the mapper reads, from GraphQL nodes

const user = (a: { login: string } | null): { login: string } | null => (a === null ? null : { login: a.login });

/**
 * A pull request as GET /pulls lists it, as far as GraphQL tells: `id` is the fullDatabaseId; state is
 * open or closed (a merged one is closed with merged_at); merge_commit_sha is the merge commit, or
 * for an unmerged one the test merge commit (potentialMergeCommit), as REST gives.
 */
export function restPullRequest(pr: PullRequestNode): Record<string, unknown> {
  return {
    id: pr.fullDatabaseId,
    number: pr.number,
    title: pr.title,
    user: user(pr.author),
    state: pr.state === 'OPEN' ? 'open' : 'closed',
    draft: pr.isDraft,
    base: { ref: pr.baseRefName },
    head: { ref: pr.headRefName, sha: pr.headRefOid },
    merge_commit_sha: (pr.mergeCommit ?? pr.potentialMergeCommit)?.oid ?? null,
    labels: (pr.labels?.nodes ?? []).map((l) => ({ name: l.name })),
    created_at: pr.createdAt,
    updated_at: pr.updatedAt,
    merged_at: pr.mergedAt,
    closed_at: pr.closedAt,
    html_url: pr.url,
  };
}

/** A commit as GET /pulls/{n}/commits lists it: the linked account is `author`, the git author under `commit`. */
export function restCommit(node: z.infer<typeof commitNode>): Record<string, unknown> {
  const c = node.commit;
  return {
    sha: c.oid,
    commit: {
      author: { name: c.author?.name ?? null, email: c.author?.email ?? null, date: c.authoredDate },
      committer: { date: c.committedDate },
      message: c.message,
    },
    author: user(c.author?.user ?? null),
    parents: c.parents.nodes.map((p) => ({ sha: p.oid })),
  };
}

/** A review as GET /pulls/{n}/reviews lists it; `id` is the fullDatabaseId. */
export function restReview(r: z.infer<typeof reviewNode>): Record<string, unknown> {
  return { id: r.fullDatabaseId, state: r.state, submitted_at: r.submittedAt, user: user(r.author) };
}
