import { afterEach, describe, expect, it } from 'vitest';
import { createLocalBus } from '../../infra/bus/local.js';
import type { Bus } from '../../infra/bus/types.js';
import type { Clock } from '../../infra/clock.js';
import type { Config } from '../../infra/config/schema.js';
import { PipelineMetrics } from '../../infra/observability/metrics.js';
import { BatchWriter } from '../../infra/store/batch-writer.js';
import { rawTopic } from '../../schemas/raw-event.js';
import { emptyRepo, readEvents, startGithubFake, type FakeGithub, type FakeRepo, type Json } from '../../test/fakes/github.js';
import { ManualClock } from '../../test/support/clock.js';
import { githubSourceConfig } from '../../test/support/github.js';
import { normalizerDeps } from '../../test/support/normalize.js';
import { queryRows, quietLogger, tempDir, testStore, waitFor } from '../../test/support/harness.js';
import { waitUntilDrained } from '../../workers/normalize/drain.js';
import { startNormalizer } from '../../workers/normalize/normalizer.js';
import { memoryCursorStore } from '../core/cursor-store.js';
import { runSync, type StreamProgress } from '../core/runner.js';
import { createGithubClient, graphqlUrlOf } from './client.js';
import { graphql } from './graphql.js';
import { githubConnector } from './index.js';

const TOKEN = 'ghp_graphql';
const BIG = 'acme/big';

let fake: FakeGithub | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const githubConfig = (baseUrl: string, repositories: string[], extra: Record<string, unknown> = {}): Config =>
  githubSourceConfig(TOKEN, baseUrl, repositories, { initialDays: 3650, ...extra });

/** A pull of the pull_requests stream alone, from fresh cursors, on `clock` when given. */
const pullRequests = (config: Config, bus: Bus, clock?: Clock): Promise<StreamProgress[]> =>
  runSync({
    config,
    connectors: [githubConnector],
    bus,
    cursors: memoryCursorStore(),
    logger: quietLogger(),
    filter: { stream: 'pull_requests' },
    ...(clock !== undefined ? { clock } : {}),
  });

const user = (login: string): Json => ({ login, id: login.length, type: 'User' });
const at = (minute: number): string => new Date(Date.UTC(2026, 9, 1) + minute * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const sha = (n: number): string => n.toString(16).padStart(40, 'c');

/**
 * A repository whose pull requests outgrow a GraphQL page: 150 of them (two pages), the first with 130
 * commits, 120 reviews and 105 labels (each a follow-up), the second with an octopus merge of 12 parents.
 */
function bigRepo(): FakeRepo {
  const repo = emptyRepo({ full_name: BIG, name: 'big', html_url: `https://github.com/${BIG}`, updated_at: at(0), default_branch: 'main' });
  let commitNo = 1;
  for (let n = 1; n <= 150; n++) {
    const commits = n === 1 ? 130 : 2;
    const list: Json[] = [];
    for (let i = 0; i < commits; i++) {
      const s = sha(commitNo++);
      const octopus = n === 2 && i === commits - 1;
      const parents = octopus ? Array.from({ length: 12 }, (_, p) => ({ sha: sha(90_000 + p) })) : [{ sha: sha(commitNo - 2) }];
      list.push({
        sha: s,
        commit: {
          author: { name: 'Ann', email: 'ann@acme.test', date: at(n + i) },
          committer: { date: at(n + i + 1) },
          message: `change ${s}`,
        },
        author: i % 3 === 0 ? null : user(i % 2 === 0 ? 'ann' : 'bob'),
        parents,
      });
    }
    repo.pullCommits.set(n, list);
    const reviews = n === 1 ? 120 : n % 4;
    repo.reviews.set(
      n,
      Array.from({ length: reviews }, (_, i) => ({
        id: 3_000_000_000 + n * 1000 + i,
        state: ['APPROVED', 'COMMENTED', 'CHANGES_REQUESTED', 'DISMISSED'][i % 4],
        submitted_at: at(n + 200 + i),
        user: user('carol'),
      })),
    );
    const merged = n % 3 === 0;
    const closed = merged || n % 5 === 0;
    repo.pulls.set(n, {
      id: 2_900_000_000 + n,
      number: n,
      title: `Pull request ${n}`,
      user: n % 7 === 0 ? null : user('ann'),
      state: closed ? 'closed' : 'open',
      draft: n % 11 === 0,
      base: { ref: 'main' },
      head: { ref: `feature-${n}`, sha: String(list[list.length - 1]!['sha']) },
      merge_commit_sha: sha(500_000 + n),
      labels: Array.from({ length: n === 1 ? 105 : n % 3 }, (_, i) => ({ id: i, name: `label-${i}` })),
      created_at: at(n),
      updated_at: at(1000 + n),
      merged_at: merged ? at(900 + n) : null,
      closed_at: closed ? at(900 + n) : null,
      html_url: `https://github.com/${BIG}/pull/${n}`,
    });
  }
  return repo;
}

const TABLES: Record<string, string> = {
  pull_requests: 'repo, number',
  pull_request_commits: 'repo, number',
  reviews: 'repo, number, review_id',
  commits: 'repo, sha',
};

/** A full pull of the pull requests through one API, normalized into a store of its own: the rows of each table. */
async function pulledRows(f: FakeGithub, repositories: string[], api: 'graphql' | 'rest'): Promise<Record<string, unknown[]>> {
  const config = githubConfig(f.baseUrl, repositories, { api });
  const bus = createLocalBus({ dir: tempDir('ptel-bus-'), pollMs: 10 });
  const store = await testStore();
  try {
    const results = await pullRequests(config, bus);
    for (const r of results) expect(r, `${r.stream} ${r.scope}: ${r.error ?? ''}`).toMatchObject({ status: 'ok' });
    const metrics = new PipelineMetrics({ defaultMetrics: false });
    const writer = new BatchWriter(store, { flushRows: 500, flushIntervalMs: 50, metrics });
    const topic = rawTopic('github');
    const groupId = `normalize-${api}`;
    const sub = await startNormalizer({ ...normalizerDeps({ bus, writer, metrics, groupId }), topics: [topic], concurrency: 1 });
    await sub.ready;
    await waitUntilDrained(bus, groupId, [topic], 60_000);
    await sub.stop();
    await writer.close();
    const out: Record<string, unknown[]> = {};
    for (const [table, order] of Object.entries(TABLES)) {
      out[table] = await queryRows(store, `SELECT * FROM ${table} FINAL ORDER BY ${order}`);
    }
    return out;
  } finally {
    await bus.close();
    await store.close();
  }
}

const graphqlOps = (f: FakeGithub): string[] => f.graphql.log.map((e) => e.operation);

describe('github pull requests through GraphQL', () => {
  it('store the same pull request, commit list, review and commit rows as REST, with nested lists read to their end', async () => {
    fake = await startGithubFake({ token: TOKEN, prefix: '/api/v3', demo: { teams: 1, months: 1 } });
    fake.repos.set(BIG, bigRepo());
    const repositories = [...fake.repos.values()].map((r) => String(r.repo['full_name']));

    const viaGraphql = await pulledRows(fake, repositories, 'graphql');
    // Every query was valid for GitHub's schema and within its limits.
    expect(fake.graphql.log.filter((e) => e.errors.length > 0)).toEqual([]);
    const ops = graphqlOps(fake);
    // The big repository: two pages of pull requests; pull request 1's commits, reviews and labels past
    // their first page, and the octopus merge's parents past the ten read with each commit.
    // 130 commits: 25 with the pull request, then 100 and 5.
    expect(ops.filter((o) => o === 'pullRequest_commits')).toHaveLength(2);
    expect(ops.filter((o) => o === 'pullRequest_reviews')).toHaveLength(1);
    expect(ops.filter((o) => o === 'pullRequest_labels')).toHaveLength(1);
    expect(ops.filter((o) => o === 'commitParents')).toHaveLength(1);
    const pages = fake.graphql.log.filter((e) => e.operation === 'pullRequests');
    expect(pages.filter((e) => e.variables['name'] === 'big')).toHaveLength(2);
    // No REST call per pull request: only the conditional listing of each repository.
    expect([...fake.requests.byPath.keys()].filter((p) => /\/pulls\/\d+\//.test(p))).toEqual([]);

    fake.resetCounts();
    const viaRest = await pulledRows(fake, repositories, 'rest');
    expect(fake.requests.byPath.get('/graphql')).toBeUndefined();

    for (const table of Object.keys(TABLES)) {
      expect(viaGraphql[table]!.length, table).toBeGreaterThan(0);
      expect(viaGraphql[table], table).toEqual(viaRest[table]);
    }
    const big = viaGraphql['pull_request_commits']!.find((r) => (r as Json)['repo'] === BIG && Number((r as Json)['number']) === 1) as Json;
    expect(big['shas']).toHaveLength(130);
    const octopus = viaGraphql['commits']!.find((r) => (r as Json)['sha'] === sha(130 + 2)) as Json;
    expect(octopus['parents']).toHaveLength(12);
    expect(viaGraphql['reviews']!.filter((r) => (r as Json)['repo'] === BIG && Number((r as Json)['number']) === 1)).toHaveLength(120);
  });

  it('an unchanged poll is one conditional REST listing answered 304; a change reads just the changed pull requests', async () => {
    fake = await startGithubFake({ token: TOKEN, prefix: '/api/v3', repos: [bigRepo()] });
    const config = githubConfig(fake.baseUrl, [BIG]);
    const bus = createLocalBus({ dir: tempDir('ptel-bus-'), pollMs: 10 });
    const base = { config, connectors: [githubConnector], bus, cursors: memoryCursorStore(), logger: quietLogger() };
    const sync = (): Promise<StreamProgress[]> => runSync({ ...base, filter: { stream: 'pull_requests' } });
    await sync();
    const before = (await readEvents(bus)).length;
    fake.resetCounts();
    fake.graphql.log.splice(0);
    const [again] = await sync();
    expect(again).toMatchObject({ status: 'ok', records: 0, requests: 1 });
    expect(fake.requests.total).toBe(1);
    expect(fake.requests.notModified).toBe(1);

    const repo = fake.repo(BIG);
    const pr = repo.pulls.get(7)!;
    repo.pulls.set(7, { ...pr, updated_at: at(5000), title: 'Renamed' });
    fake.resetCounts();
    const [changed] = await sync();
    expect(changed).toMatchObject({ status: 'ok', requests: 2 });
    // The changed one, and the next, whose time is the mark's: nothing after it is new.
    expect(fake.graphql.log.map((e) => [e.operation, e.variables['first']])).toEqual([['pullRequests', 3]]);
    const fresh = (await readEvents(bus)).slice(before);
    expect(fresh.filter((e) => e.type === 'github.pull_request').map((e) => e.subject)).toEqual([`${BIG}#7`]);
    await bus.close();
  });

  it('waits on the clock until the point budget is refilled when a query costs more than is left, and not a moment before', async () => {
    const clock = new ManualClock('2026-11-02T00:00:00Z');
    fake = await startGithubFake({ token: TOKEN, prefix: '/api/v3', repos: [bigRepo()], now: () => clock.now() });
    // Enough for the first page of 100 pull requests (28 points), not for the second.
    fake.graphql.budget.remaining = 40;
    fake.graphql.budget.resetAt = clock.now() + 600_000;
    const reset = fake.graphql.budget.resetAt;
    const config = githubConfig(fake.baseUrl, [BIG]);
    const bus = createLocalBus({ dir: tempDir('ptel-bus-'), pollMs: 10 });
    const running = pullRequests(config, bus, clock);
    await waitFor(
      'a wait on the clock',
      () => clock.pending,
      (n) => n === 1,
      { timeoutMs: 20_000, intervalMs: 5 },
    );
    const pages = () => fake!.graphql.log.filter((e) => e.operation === 'pullRequests');
    expect(pages()).toHaveLength(1);
    // Told by rateLimit what is left, the connector did not send a query GitHub would refuse.
    expect(fake.graphql.log.filter((e) => e.errors.length > 0)).toEqual([]);
    expect(clock.nextDue()).toBe(reset);
    await clock.set(reset - 1);
    expect(pages()).toHaveLength(1);
    await clock.set(reset);
    const [r] = await running;
    expect(r).toMatchObject({ status: 'ok' });
    expect(pages()).toHaveLength(2);
    expect(fake.graphql.log.filter((e) => e.errors.length > 0)).toEqual([]);
    const prs = (await readEvents(bus)).filter((e) => e.type === 'github.pull_request');
    expect(prs).toHaveLength(150);
    await bus.close();
  });

  it('a query GitHub refuses for its budget (RATE_LIMITED) is sent again once the budget is refilled', async () => {
    const clock = new ManualClock('2026-11-02T00:00:00Z');
    fake = await startGithubFake({ token: TOKEN, prefix: '/api/v3', repos: [bigRepo()], now: () => clock.now() });
    fake.graphql.budget.remaining = 20;
    fake.graphql.budget.resetAt = clock.now() + 300_000;
    const reset = fake.graphql.budget.resetAt;
    const bus = createLocalBus({ dir: tempDir('ptel-bus-'), pollMs: 10 });
    const running = pullRequests(githubConfig(fake.baseUrl, [BIG]), bus, clock);
    await waitFor(
      'a wait on the clock',
      () => clock.pending,
      (n) => n === 1,
      { timeoutMs: 20_000, intervalMs: 5 },
    );
    expect(fake.graphql.log.map((e) => e.errors.map((x) => x.type))).toEqual([['RATE_LIMITED']]);
    // The reset is whole seconds; the retry adds at most 250 ms of jitter.
    const due = clock.nextDue()!;
    expect(due).toBeGreaterThanOrEqual(reset);
    expect(due).toBeLessThanOrEqual(reset + 250);
    await clock.set(due);
    const [r] = await running;
    expect(r).toMatchObject({ status: 'ok' });
    await bus.close();
  });

  it('a query GitHub would reject fails with an error naming the query and what is wrong with it', async () => {
    fake = await startGithubFake({ token: TOKEN, prefix: '/api/v3', repos: [bigRepo()] });
    const client = createGithubClient(githubConfig(fake.baseUrl, [BIG]), quietLogger());
    expect(client.graphqlUrl).toBe(`${fake.url}/api/graphql`);
    const run = (name: string, text: string) =>
      graphql(client, name, text, { owner: 'acme', name: 'big' }, { needs: 'Pull requests: read', estimate: 1 });
    await expect(
      run(
        'misspelt',
        'query misspelt($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { pullRequest(number: 1) { titel } } }',
      ),
    ).rejects.toThrow(
      /GraphQL query misspelt of acme\/big \(POST \/api\/graphql\): GitHub rejected the query: .*Cannot query field "titel" on type "PullRequest"/,
    );
    await expect(
      run(
        'unbounded',
        'query unbounded($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { pullRequests { nodes { number } } } }',
      ),
    ).rejects.toThrow(
      /GraphQL query unbounded .*You must provide a `first` or `last` value to properly paginate the `pullRequests` connection/,
    );
    await expect(
      graphql(
        client,
        'nowhere',
        'query nowhere($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { id } }',
        { owner: 'acme', name: 'gone' },
        { needs: 'Pull requests: read', estimate: 1 },
      ),
    ).rejects.toThrow(/GraphQL query nowhere of acme\/gone .*NOT_FOUND.*'Pull requests: read'/);
  });

  it('doctor checks the GraphQL API and its point budget, only when pull requests are read through it', async () => {
    fake = await startGithubFake({ token: TOKEN, prefix: '/api/v3', repos: [bigRepo()] });
    const named = async (config: Config) =>
      (await githubConnector.doctor(githubConnector.client(config, quietLogger()), config)).find((c) => c.name === 'GitHub GraphQL API');
    const ok = await named(githubConfig(fake.baseUrl, [BIG]));
    expect(ok).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/^POST \/api\/graphql answers; 4999 of 5000 points left until /) as unknown,
    });
    expect(await named(githubConfig(fake.baseUrl, [BIG], { api: 'rest' }))).toBeUndefined();
    fake.fault({ path: /^\/graphql$/, kind: 'unauthorized', times: 1 });
    const refused = await named(githubConfig(fake.baseUrl, [BIG]));
    expect(refused).toMatchObject({ ok: false });
    expect(refused!.detail).toContain('401');
    expect(refused!.detail).toContain('sources.github.api: rest');
  });

  it('finds the GraphQL endpoint beside the REST base URL', () => {
    expect(graphqlUrlOf('https://api.github.com')).toBe('https://api.github.com/graphql');
    expect(graphqlUrlOf('https://github.acme.test/api/v3/')).toBe('https://github.acme.test/api/graphql');
  });

  it('a secondary rate limit or a 502 on a query is waited out and the query sent again', async () => {
    fake = await startGithubFake({ token: TOKEN, prefix: '/api/v3', repos: [bigRepo()] });
    fake.fault({ path: /^\/graphql$/, kind: 'secondary_rate_limit', times: 1, retryAfterSeconds: 1 });
    fake.fault({ path: /^\/graphql$/, kind: 'server_error', times: 1, status: 502 });
    const bus = createLocalBus({ dir: tempDir('ptel-bus-'), pollMs: 10 });
    const [r] = await pullRequests(githubConfig(fake.baseUrl, [BIG]), bus);
    expect(r).toMatchObject({ status: 'ok' });
    expect(
      fake.requests.log
        .filter((l) => l.path === '/graphql')
        .map((l) => l.status)
        .slice(0, 3),
    ).toEqual([403, 502, 200]);
    expect((await readEvents(bus)).filter((e) => e.type === 'github.pull_request')).toHaveLength(150);
    await bus.close();
  });
});
