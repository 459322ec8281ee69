/**
 * GitHub's GraphQL API over a fake's repositories: queries are parsed, validated and executed by the
 * `graphql` package against GitHub's published schema (@octokit/graphql-schema), so a query GitHub
 * would reject is rejected here too. On top of the schema, GitHub's own limits are held to: every
 * connection asks for `first` or `last` of 1 to 100, at most 500,000 nodes, and the point cost
 * (requests for each connection page asked for, divided by 100) is charged against a budget that
 * `rateLimit` reports and that runs out (type RATE_LIMITED) until it resets.
 */

import { schema as published } from '@octokit/graphql-schema';
import {
  buildClientSchema,
  execute,
  Kind,
  parse,
  validate,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type IntrospectionQuery,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { FakeRepo, Json } from './github.js';

let schema: GraphQLSchema | undefined;

/** GitHub's published schema, read once. */
export function githubSchema(): GraphQLSchema {
  if (schema === undefined) {
    const json = published.json as { data?: IntrospectionQuery } & IntrospectionQuery;
    schema = buildClientSchema(json.data ?? json);
  }
  return schema;
}

export interface GraphqlError {
  message: string;
  type?: string;
  path?: Array<string | number>;
}

export interface GraphqlAnswer {
  status: number;
  body: { data?: unknown; errors?: GraphqlError[] };
  headers: Record<string, string>;
}

export interface PointBudget {
  limit: number;
  remaining: number;
  /** Epoch ms. */
  resetAt: number;
}

export interface GraphqlLogEntry {
  operation: string;
  variables: Record<string, unknown>;
  cost: number;
  errors: GraphqlError[];
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const json = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {});

/** What a query costs by GitHub's rule, the nodes it may return, and the connection arguments it breaks. */
export function queryCost(
  doc: DocumentNode,
  variables: Record<string, unknown>,
): { cost: number; requests: number; nodes: number; errors: string[] } {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const value = (v: ValueNode): unknown => {
    if (v.kind === Kind.VARIABLE) return variables[v.name.value];
    if (v.kind === Kind.INT) return Number(v.value);
    return undefined;
  };
  let requests = 0;
  let nodes = 0;
  const errors: string[] = [];
  const walk = (set: SelectionSetNode | undefined, times: number): void => {
    for (const sel of set?.selections ?? []) {
      if (sel.kind === Kind.INLINE_FRAGMENT) walk(sel.selectionSet, times);
      else if (sel.kind === Kind.FRAGMENT_SPREAD) walk(fragments.get(sel.name.value)?.selectionSet, times);
      else {
        const args = new Map((sel.arguments ?? []).map((a) => [a.name.value, value(a.value)]));
        const connection = sel.selectionSet?.selections.some(
          (s) => s.kind === Kind.FIELD && ['nodes', 'edges', 'pageInfo'].includes(s.name.value),
        );
        if (connection === true) {
          const n = args.get('first') ?? args.get('last');
          if (typeof n !== 'number') {
            errors.push(`You must provide a \`first\` or \`last\` value to properly paginate the \`${sel.name.value}\` connection.`);
            continue;
          }
          if (n < 1 || n > 100) {
            errors.push(`Requesting ${n} records on the \`${sel.name.value}\` connection exceeds the \`first\` limit of 100 records.`);
            continue;
          }
          requests += times;
          nodes += times * n;
          walk(sel.selectionSet, times * n);
        } else walk(sel.selectionSet, times);
      }
    }
  };
  for (const d of doc.definitions) if (d.kind === Kind.OPERATION_DEFINITION) walk(d.selectionSet, 1);
  if (nodes > 500_000) errors.push(`This query requests up to ${nodes} possible nodes which exceeds the maximum limit of 500,000.`);
  return { cost: Math.max(1, Math.round(requests / 100)), requests, nodes, errors };
}

/** A connection page over a list: first/after or last/before, with opaque cursors. */
function connection<T>(items: T[], args: Record<string, unknown>): Json {
  const cursor = (i: number): string => Buffer.from(`cursor:v2:${i}`).toString('base64');
  const index = (c: unknown): number =>
    typeof c === 'string' ? Number(/(\d+)$/.exec(Buffer.from(c, 'base64').toString())?.[1] ?? -1) : -1;
  let from = typeof args['after'] === 'string' ? index(args['after']) + 1 : 0;
  let to = typeof args['before'] === 'string' ? index(args['before']) : items.length;
  if (typeof args['first'] === 'number') to = Math.min(to, from + args['first']);
  if (typeof args['last'] === 'number') from = Math.max(from, to - args['last']);
  const slice = items.slice(from, to);
  return {
    totalCount: items.length,
    nodes: slice,
    edges: slice.map((node, i) => ({ node, cursor: cursor(from + i) })),
    pageInfo: {
      hasNextPage: to < items.length,
      hasPreviousPage: from > 0,
      startCursor: slice.length > 0 ? cursor(from) : null,
      endCursor: slice.length > 0 ? cursor(to - 1) : null,
    },
  };
}

const actor = (u: unknown): Json | null => {
  const login = str(json(u)['login']);
  return login === '' ? null : { __typename: 'User', login, url: `https://github.com/${login}` };
};

/** A commit of a REST list as GraphQL's Commit. */
function commitOf(c: Json): Json {
  const git = json(c['commit']);
  const committed = str(json(git['committer'])['date']);
  const authored = str(json(git['author'])['date']) || committed;
  return {
    __typename: 'Commit',
    oid: c['sha'],
    message: str(git['message']),
    authoredDate: authored,
    committedDate: committed || authored,
    author: {
      name: json(git['author'])['name'] ?? null,
      email: json(git['author'])['email'] ?? null,
      date: authored,
      user: actor(c['author']),
    },
    committer: { date: committed || authored },
    parents: (args: Record<string, unknown>) =>
      connection(
        (Array.isArray(c['parents']) ? (c['parents'] as Json[]) : []).map((p) => ({ oid: p['sha'] })),
        args,
      ),
  };
}

/** A REST pull request (and its commits, reviews and labels) as GraphQL's PullRequest. */
function pullRequestOf(data: FakeRepo, pr: Json): Json {
  const number = Number(pr['number']);
  const merged = pr['merged_at'] !== null && pr['merged_at'] !== undefined;
  const sha = str(pr['merge_commit_sha']);
  return {
    __typename: 'PullRequest',
    id: pr['node_id'] ?? Buffer.from(`PullRequest${String(pr['id'])}`).toString('base64'),
    fullDatabaseId: String(pr['id']),
    number,
    title: pr['title'],
    state: merged ? 'MERGED' : pr['state'] === 'closed' ? 'CLOSED' : 'OPEN',
    isDraft: pr['draft'] === true,
    url: pr['html_url'],
    createdAt: pr['created_at'],
    updatedAt: pr['updated_at'],
    mergedAt: pr['merged_at'] ?? null,
    closedAt: pr['closed_at'] ?? null,
    author: actor(pr['user']),
    baseRefName: json(pr['base'])['ref'],
    headRefName: json(pr['head'])['ref'],
    headRefOid: json(pr['head'])['sha'],
    mergeCommit: merged && sha !== '' ? { oid: sha } : null,
    potentialMergeCommit: !merged && sha !== '' ? { oid: sha } : null,
    labels: (args: Record<string, unknown>) =>
      connection(
        (Array.isArray(pr['labels']) ? (pr['labels'] as Json[]) : []).map((l) => ({ name: l['name'] })),
        args,
      ),
    commits: (args: Record<string, unknown>) =>
      connection(
        (data.pullCommits.get(number) ?? []).map((c) => ({ commit: commitOf(c) })),
        args,
      ),
    reviews: (args: Record<string, unknown>) =>
      connection(
        [...(data.reviews.get(number) ?? [])]
          .sort((a, b) => Number(a['id']) - Number(b['id']))
          .map((r) => ({
            fullDatabaseId: String(r['id']),
            state: str(r['state']).toUpperCase(),
            submittedAt: r['submitted_at'] ?? null,
            author: actor(r['user']),
          })),
        args,
      ),
  };
}

function repositoryOf(data: FakeRepo): Json {
  const pulls = (): Json[] => [...data.pulls.values()];
  return {
    nameWithOwner: data.repo['full_name'],
    pullRequests: (args: Record<string, unknown>) => {
      const order = json(args['orderBy']);
      const field = order['field'] === 'UPDATED_AT' ? 'updated_at' : 'created_at';
      const states = Array.isArray(args['states']) ? (args['states'] as string[]) : undefined;
      const list = pulls()
        .map((p) => pullRequestOf(data, p))
        .filter((p) => states === undefined || states.includes(str(p['state'])));
      const key = field === 'updated_at' ? 'updatedAt' : 'createdAt';
      list.sort((a, b) => str(a[key]).localeCompare(str(b[key])) || Number(a['number']) - Number(b['number']));
      if (order['direction'] === 'DESC') list.reverse();
      return connection(list, args);
    },
    pullRequest: (args: Record<string, unknown>) => {
      const pr = data.pulls.get(Number(args['number']));
      return pr === undefined ? null : pullRequestOf(data, pr);
    },
    object: (args: Record<string, unknown>) => {
      const oid = str(args['oid']);
      const all = [...data.commits, ...[...data.pullCommits.values()].flat()];
      const c = all.find((x) => x['sha'] === oid);
      return c === undefined ? null : commitOf(c);
    },
  };
}

/**
 * Serves one GraphQL request body over the repositories. `now` is where the budget's reset is read.
 */
export function createGraphqlApi(options: { repos: Map<string, FakeRepo>; now: () => number; points?: number }): {
  answer(body: unknown): GraphqlAnswer;
  budget: PointBudget;
  log: GraphqlLogEntry[];
} {
  const limit = options.points ?? 5000;
  const budget: PointBudget = { limit, remaining: limit, resetAt: options.now() + 3_600_000 };
  const log: GraphqlLogEntry[] = [];
  const headers = (): Record<string, string> => ({
    'x-ratelimit-limit': String(budget.limit),
    'x-ratelimit-remaining': String(budget.remaining),
    'x-ratelimit-reset': String(Math.floor(budget.resetAt / 1000)),
    'x-ratelimit-used': String(budget.limit - budget.remaining),
    'x-ratelimit-resource': 'graphql',
  });
  const answer = (raw: unknown): GraphqlAnswer => {
    if (options.now() >= budget.resetAt) {
      budget.remaining = budget.limit;
      budget.resetAt = options.now() + 3_600_000;
    }
    const body = json(raw);
    const text = str(body['query']);
    const variables = json(body['variables']);
    const entry: GraphqlLogEntry = { operation: '', variables, cost: 0, errors: [] };
    log.push(entry);
    const fail = (status: number, errors: GraphqlError[]): GraphqlAnswer => {
      entry.errors = errors;
      return { status, body: { errors }, headers: headers() };
    };
    let doc: DocumentNode;
    try {
      doc = parse(text);
    } catch (err) {
      return fail(200, [{ message: (err as Error).message }]);
    }
    const op = doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
    entry.operation = op?.kind === Kind.OPERATION_DEFINITION ? (op.name?.value ?? '') : '';
    const invalid = validate(githubSchema(), doc);
    if (invalid.length > 0)
      return fail(
        200,
        invalid.map((e) => ({ message: e.message, type: 'GRAPHQL_VALIDATION_FAILED' })),
      );
    const cost = queryCost(doc, variables);
    if (cost.errors.length > 0)
      return fail(
        200,
        cost.errors.map((message) => ({ message, type: 'MAX_NODE_LIMIT_EXCEEDED' })),
      );
    entry.cost = cost.cost;
    if (budget.remaining < cost.cost) {
      return fail(200, [{ type: 'RATE_LIMITED', message: 'API rate limit exceeded for user ID 1.' }]);
    }
    budget.remaining -= cost.cost;
    const root = {
      rateLimit: () => ({
        cost: cost.cost,
        limit: budget.limit,
        remaining: budget.remaining,
        used: budget.limit - budget.remaining,
        resetAt: new Date(budget.resetAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        nodeCount: cost.nodes,
      }),
      repository: (args: Record<string, unknown>) => {
        const data = options.repos.get(`${str(args['owner'])}/${str(args['name'])}`.toLowerCase());
        return data === undefined ? null : repositoryOf(data);
      },
    };
    const result = execute({ schema: githubSchema(), document: doc, rootValue: root, variableValues: variables }) as {
      data?: unknown;
      errors?: ReadonlyArray<{ message: string; path?: ReadonlyArray<string | number> }>;
    };
    const errors: GraphqlError[] = (result.errors ?? []).map((e) => ({ message: e.message, ...(e.path ? { path: [...e.path] } : {}) }));
    if (json(result.data)['repository'] === null && 'owner' in variables) {
      errors.push({
        type: 'NOT_FOUND',
        path: ['repository'],
        message: `Could not resolve to a Repository with the name '${str(variables['owner'])}/${str(variables['name'])}'.`,
      });
    }
    entry.errors = errors;
    return { status: 200, body: { data: result.data ?? null, ...(errors.length > 0 ? { errors } : {}) }, headers: headers() };
  };
  return { answer, budget, log };
}
