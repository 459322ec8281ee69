import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orgSchema, type Config } from '../../infra/config/schema.js';
import type { Row } from '../../infra/store/batch-writer.js';
import type { Store } from '../../infra/store/client.js';
import type {
  CommitRow,
  DomainTable,
  DomainTables,
  DeploymentRow,
  DeploymentStatusRow,
  PipelineJobRow,
  PipelineRunRow,
  PullRequestCommitsRow,
  PullRequestRow,
  ReleaseRow,
  RepositoryRow,
  ReviewRow,
} from '../../schemas/domain.js';
import type { RawEvent, SourceRecord } from '../../schemas/raw-event.js';
import { queryRows, testStore } from '../../test/support/harness.js';
import { eventsOf, insertTables, mapEvents, mappedOk } from '../../test/support/mapping.js';
import { mapContext, type Outcome } from '../../mapping/registry.js';
import { commitFingerprint, rowVersion, rankedVersion } from '../../mapping/rows.js';
import { ENTITY_TYPES } from '../core/entities.js';
import { generateDemoOrg } from '../demo/generator.js';
import { githubMappers } from './mapper.js';
import {
  deploymentSchema,
  deploymentStatusSchema,
  jobSchema,
  pullSchema,
  releaseSchema,
  repoSchema,
  reviewSchema,
  runSchema,
  toRecord,
} from './records.js';
import { githubWebhook } from './webhook.js';

type Json = Record<string, unknown>;

/** Real deliveries published by GitHub's Octokit project, one list of examples per event. */
interface ExampleEvent {
  name: string;
  examples: Json[];
}
const require = createRequire(import.meta.url);
const examples = JSON.parse(
  readFileSync(require.resolve('@octokit/webhooks-examples/api.github.com/index.json'), 'utf8'),
) as ExampleEvent[];
const example = (event: string, pick: (e: Json) => boolean = () => true): Json => {
  const found = examples.find((e) => e.name === event)?.examples.find(pick);
  if (found === undefined) throw new Error(`no ${event} example`);
  return structuredClone(found);
};
const action = (a: string) => (e: Json) => e['action'] === a;

/** Recorded REST exchanges of Octokit's fixtures: the response of the first request to `path`. */
function fixture(scenario: string, path: string): Json {
  const file = require.resolve(`@octokit/fixtures/scenarios/api.github.com/${scenario}/normalized-fixture.json`);
  const found = (JSON.parse(readFileSync(file, 'utf8')) as Array<{ path: string; response: Json }>).find((x) => x.path === path);
  if (found === undefined) throw new Error(`no ${path} in ${scenario}`);
  return found.response;
}

/** The records the webhook publishes for one delivery. */
const delivery = (event: string, body: unknown): SourceRecord[] =>
  githubWebhook.records({ headers: { 'x-github-event': event }, body, rawBody: Buffer.from(''), receivedAt: new Date(0) }, {} as Config);
const hookEvents = (event: string, body: unknown): RawEvent[] => eventsOf(delivery(event, body), 'webhook/github');
const pullEvents = (stream: string, ...records: SourceRecord[]): RawEvent[] => eventsOf(records, `github/${stream}`);

const org = orgSchema.parse({
  programs: [
    {
      id: 'payments',
      name: 'Payments',
      teams: [
        {
          id: 'checkout',
          name: 'Checkout',
          repositories: ['Codertocat/Hello-World'],
          ci: { pipelines: ['github:octo-org/octo-repo:test.yml'] },
          services: [{ name: 'hello-api', repositories: ['Codertocat/Hello-World'], aliases: ['hello'] }],
        },
        { id: 'platform', name: 'Platform', repositories: ['octo-org/octo-repo'], services: ['octo-repo'] },
      ],
    },
  ],
});
const ctx = mapContext({ org, people: [{ id: 'alice', github: ['codertocat'], gitlab: [], jira: [], pagerduty: [] }] });
const CHECKOUT = { team: 'checkout', program: 'payments' };

const rowsIn = <T extends DomainTable>(tables: Record<string, Row[]>, table: T): Array<DomainTables[T]> =>
  (tables[table] ?? []) as unknown as Array<DomainTables[T]>;
const only = <T extends DomainTable>(tables: Record<string, Row[]>, table: T): DomainTables[T] => {
  const rows = rowsIn(tables, table);
  expect(rows).toHaveLength(1);
  return rows[0]!;
};
/** The one row of a table in an ok outcome. */
function rowOf<T extends DomainTable>(o: Outcome, table: T): DomainTables[T] {
  const rows = o.kind === 'ok' ? o.rows.filter((t) => t.table === table).flatMap((t) => t.rows) : [];
  expect(rows).toHaveLength(1);
  return rows[0] as unknown as DomainTables[T];
}
/** The outcome is a dead letter whose reason names the field. */
function expectDeadLetter(o: unknown, field: string): void {
  const outcome = o as Outcome | undefined;
  expect(outcome?.kind).toBe('dead_letter');
  expect(outcome?.kind === 'dead_letter' ? outcome.reason : '').toContain(`field '${field}'`);
}
const outcomeOf = (events: RawEvent[]) => mapEvents(events, ctx).outcomes.map((o) => o.outcome);

let store: Store;
beforeAll(async () => {
  store = await testStore();
});
afterAll(async () => {
  await store.close();
});

describe('the mapper table', () => {
  it('has a mapper for every GitHub event type', () => {
    expect(Object.keys(githubMappers.mappers).sort()).toEqual([...ENTITY_TYPES.github].sort());
  });
});

describe('github.repository', () => {
  it('maps GET /repos/{owner}/{repo} (recorded) to a full row', () => {
    const repo = fixture('get-repository', '/repos/octokit-fixture-org/hello-world');
    const events = pullEvents('repository', toRecord.repository(repoSchema.parse(repo), repo));
    expect(only(mappedOk(events, ctx), 'repositories')).toEqual({
      source: 'github',
      repo: 'octokit-fixture-org/hello-world',
      name: 'hello-world',
      url: 'https://github.com/octokit-fixture-org/hello-world',
      default_branch: 'master',
      created_at: '2017-10-10T16:00:00.000Z',
      updated_at: '2017-10-10T16:00:00.000Z',
      team: '',
      program: '',
      raw_event_id: events[0]!.id,
      version: Date.parse('2017-10-10T16:00:00Z') * 1000,
      is_deleted: 0,
    } satisfies RepositoryRow);
  });

  it('maps the repository a pull_request delivery carries, owned by its team', () => {
    const events = hookEvents('pull_request', example('pull_request', action('opened')));
    const repoEvent = events.find((e) => e.type === 'github.repository')!;
    expect(only(mappedOk([repoEvent], ctx), 'repositories')).toEqual({
      source: 'github',
      repo: 'codertocat/hello-world',
      name: 'Hello-World',
      url: 'https://github.com/Codertocat/Hello-World',
      default_branch: 'master',
      created_at: '2019-05-15T15:19:25.000Z',
      updated_at: '2019-05-15T15:19:27.000Z',
      ...CHECKOUT,
      raw_event_id: repoEvent.id,
      version: Date.parse('2019-05-15T15:19:27Z') * 1000,
      is_deleted: 0,
    } satisfies RepositoryRow);
  });

  it('records a deleted repository above its last live version', () => {
    const body = example('repository', action('edited'));
    const deleted = { ...structuredClone(body), action: 'deleted' };
    const [live] = rowsIn(mappedOk(hookEvents('repository', body), ctx), 'repositories');
    const [gone] = rowsIn(mappedOk(hookEvents('repository', deleted), ctx), 'repositories');
    expect(gone).toMatchObject({ is_deleted: 1, repo: live!.repo });
    expect(gone!.version).toBeGreaterThan(live!.version);
  });
});

describe('github.pull_request', () => {
  it('maps a real opened delivery to a full row', () => {
    const events = hookEvents('pull_request', example('pull_request', action('opened'))).filter((e) => e.type === 'github.pull_request');
    expect(only(mappedOk(events, ctx), 'pull_requests')).toEqual({
      source: 'github',
      repo: 'codertocat/hello-world',
      number: 2,
      pr_id: '279147437',
      title: 'Update the README with new information.',
      author: 'alice',
      state: 'open',
      raw_state: 'open',
      draft: 0,
      base_branch: 'master',
      head_branch: 'changes',
      head_sha: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821',
      merge_commit_sha: '',
      labels: [],
      created_at: '2019-05-15T15:20:33.000Z',
      updated_at: '2019-05-15T15:20:33.000Z',
      merged_at: null,
      closed_at: null,
      ...CHECKOUT,
      url: 'https://github.com/Codertocat/Hello-World/pull/2',
      raw_event_id: events[0]!.id,
      version: Date.parse('2019-05-15T15:20:33Z') * 1000,
      is_deleted: 0,
    } satisfies PullRequestRow);
  });

  it('tells merged from closed by merged_at and closed_at, keeping the raw state, and keeps label names', () => {
    const state = (pr: Json) => {
      const body = { ...example('pull_request', action('closed')), pull_request: pr };
      const row = only(mappedOk(hookEvents('pull_request', body), ctx), 'pull_requests');
      return [row.state, row.raw_state];
    };
    const closed = example('pull_request', action('closed'))['pull_request'] as Json;
    expect(state({ ...closed, merged_at: '2019-05-15T15:21:00Z', closed_at: '2019-05-15T15:21:00Z' })).toEqual(['merged', 'closed']);
    expect(state({ ...closed, merged_at: null, closed_at: '2019-05-15T15:21:00Z' })).toEqual(['closed', 'closed']);
    expect(state({ ...closed, merged_at: null, closed_at: null, state: 'open' })).toEqual(['open', 'open']);
    const labeled = example('pull_request', action('labeled'));
    const row = only(mappedOk(hookEvents('pull_request', labeled), ctx), 'pull_requests');
    expect(row.labels).toEqual((((labeled['pull_request'] as Json)['labels'] ?? []) as Array<{ name: string }>).map((l) => l.name));
    expect(row.labels.length).toBeGreaterThan(0);
  });

  it('dead-letters a delivery or a REST object without created_at, naming the field', () => {
    const body = example('pull_request', action('opened'));
    delete (body['pull_request'] as Json)['created_at'];
    const [hook] = outcomeOf(hookEvents('pull_request', body).filter((e) => e.type === 'github.pull_request'));
    expectDeadLetter(hook, 'pull_request.created_at');
    const pr = body['pull_request'] as Json;
    const [rest] = outcomeOf(pullEvents('pulls', toRecord.pullRequest('Codertocat/Hello-World', pullSchema.parse(pr), pr)));
    expectDeadLetter(rest, 'created_at');
  });
});

/** Two commits as GET /pulls/{n}/commits lists them (GitHub's documented shape, trimmed). */
const restCommits = (): Json[] => [
  {
    sha: '7638417db6d59f3c431d3e1f261cc637155684cd',
    commit: {
      author: { name: 'Monalisa Octocat', email: 'mona@github.com', date: '2026-03-01T10:00:00Z' },
      committer: { name: 'Monalisa Octocat', email: 'mona@github.com', date: '2026-03-01T10:05:00Z' },
      message: 'Add the checkout form',
      tree: { sha: '691272480426f78a0138979dd3ce63b77f706feb', url: '' },
    },
    author: { login: 'Codertocat', id: 21031067 },
    committer: { login: 'Codertocat', id: 21031067 },
    parents: [{ sha: '6dcb09b5b57875f334f61aebed695e2e4193db5e', url: '', html_url: '' }],
  },
  {
    sha: '8f9a2c7d0b2e4c1a9d3e5f60718293a4b5c6d7e8',
    commit: {
      author: { name: 'Someone', email: 'someone@example.com', date: '2026-03-01T11:00:00Z' },
      committer: { name: 'GitHub', email: 'noreply@github.com', date: '2026-03-01T11:30:00Z' },
      message: 'Validate the card number\n\nCo-authored-by: Mona',
      tree: { sha: '5fa2c7d0b2e4c1a9d3e5f60718293a4b5c6d7e8f', url: '' },
    },
    // An e-mail address no GitHub account claims.
    author: null,
    committer: { login: 'web-flow', id: 19864447 },
    parents: [{ sha: '7638417db6d59f3c431d3e1f261cc637155684cd', url: '', html_url: '' }],
  },
];

describe('github.pull_request_commits', () => {
  it('maps the list to one row and each commit to a commits row with its parents', () => {
    const list = restCommits();
    const record = toRecord.pullRequestCommits(
      'Codertocat/Hello-World',
      2,
      '8f9a2c7d0b2e4c1a9d3e5f60718293a4b5c6d7e8',
      '2026-03-01T12:00:00Z',
      list,
    );
    const [event] = pullEvents('pulls', record);
    const tables = mappedOk([event!], ctx);
    const fp1 = commitFingerprint('2026-03-01T10:00:00Z', 'Add the checkout form');
    const fp2 = commitFingerprint('2026-03-01T11:00:00Z', 'Validate the card number\n\nCo-authored-by: Mona');
    expect(only(tables, 'pull_request_commits')).toEqual({
      source: 'github',
      repo: 'codertocat/hello-world',
      number: 2,
      head_sha: '8f9a2c7d0b2e4c1a9d3e5f60718293a4b5c6d7e8',
      shas: ['7638417db6d59f3c431d3e1f261cc637155684cd', '8f9a2c7d0b2e4c1a9d3e5f60718293a4b5c6d7e8'],
      authored_at: ['2026-03-01T10:00:00.000Z', '2026-03-01T11:00:00.000Z'],
      fingerprints: [fp1, fp2],
      raw_event_id: event!.id,
      version: Date.parse('2026-03-01T12:00:00Z') * 1000,
    } satisfies PullRequestCommitsRow);
    expect(tables['commits']).toEqual([
      {
        source: 'github',
        repo: 'codertocat/hello-world',
        sha: '7638417db6d59f3c431d3e1f261cc637155684cd',
        parents: ['6dcb09b5b57875f334f61aebed695e2e4193db5e'],
        parents_known: 1,
        author: 'alice',
        authored_at: '2026-03-01T10:00:00.000Z',
        committed_at: '2026-03-01T10:05:00.000Z',
        fingerprint: fp1,
        ...CHECKOUT,
        raw_event_id: event!.id,
        version: rankedVersion(2, event!.time),
      },
      {
        source: 'github',
        repo: 'codertocat/hello-world',
        sha: '8f9a2c7d0b2e4c1a9d3e5f60718293a4b5c6d7e8',
        parents: ['7638417db6d59f3c431d3e1f261cc637155684cd'],
        parents_known: 1,
        author: '',
        authored_at: '2026-03-01T11:00:00.000Z',
        committed_at: '2026-03-01T11:30:00.000Z',
        fingerprint: fp2,
        ...CHECKOUT,
        raw_event_id: event!.id,
        version: rankedVersion(2, event!.time),
      },
    ] satisfies CommitRow[]);
  });

  it('dead-letters a commit without its author identity, naming the field', () => {
    const list = restCommits();
    delete (list[0]!['commit'] as Json)['author'];
    const record = toRecord.pullRequestCommits('Codertocat/Hello-World', 2, 'abc1234', '2026-03-01T12:00:00Z', list);
    expectDeadLetter(outcomeOf(pullEvents('pulls', record))[0], '0.commit.author');
  });
});

describe('github.review', () => {
  it('maps a real dismissed delivery to a full row (webhooks spell states in lower case)', () => {
    const events = hookEvents('pull_request_review', example('pull_request_review', action('dismissed')));
    expect(only(mappedOk(events, ctx), 'reviews')).toEqual({
      source: 'github',
      repo: 'codertocat/hello-world',
      number: 2,
      review_id: '237895671',
      reviewer: 'alice',
      state: 'dismissed',
      raw_state: 'DISMISSED',
      submitted_at: '2019-05-15T15:20:38.000Z',
      raw_event_id: events[0]!.id,
      version: rowVersion('2019-05-15T15:20:38Z', 2),
    } satisfies ReviewRow);
  });

  it('maps every review state, and dead-letters one it does not know', () => {
    const body = example('pull_request_review', action('submitted'));
    const stateOf = (s: string) => {
      const b = structuredClone(body);
      (b['review'] as Json)['state'] = s;
      const [o] = outcomeOf(hookEvents('pull_request_review', b));
      return o?.kind === 'ok' ? rowOf(o, 'reviews').state : o;
    };
    expect(['APPROVED', 'changes_requested', 'commented', 'DISMISSED', 'pending'].map(stateOf)).toEqual([
      'approved',
      'changes_requested',
      'commented',
      'dismissed',
      'pending',
    ]);
    expectDeadLetter(stateOf('resolved'), 'review.state');
  });
});

describe('github.commit', () => {
  it('maps a real push delivery, inferring the parent from the push (parents_known 0)', () => {
    const events = hookEvents(
      'push',
      example('push', (e) => (e['commits'] as unknown[]).length > 0),
    );
    expect(events).toHaveLength(1);
    const fp = commitFingerprint('2019-05-15T15:19:25Z', 'Initial commit');
    expect(only(mappedOk(events, ctx), 'commits')).toEqual({
      source: 'github',
      repo: 'codertocat/hello-world',
      sha: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
      // The first commit of a new branch: `before` is all zeros, there is no parent to infer.
      parents: [],
      parents_known: 0,
      author: 'alice',
      authored_at: '2019-05-15T15:19:25.000Z',
      committed_at: '2019-05-15T15:19:25.000Z',
      fingerprint: fp,
      ...CHECKOUT,
      raw_event_id: events[0]!.id,
      version: rankedVersion(1, events[0]!.time),
    } satisfies CommitRow);
  });

  it('takes each pushed commit’s parent from the commit before it, or `before` for the first', () => {
    const body = example('push', (e) => (e['commits'] as unknown[]).length > 0);
    const first = (body['commits'] as Json[])[0]!;
    const second = { ...first, id: 'a'.repeat(40), message: 'Second', timestamp: '2019-05-15T15:30:00Z' };
    const pushed = { ...body, before: 'b'.repeat(40), commits: [first, second] };
    const rows = rowsIn(mappedOk(hookEvents('push', pushed), ctx), 'commits');
    expect(rows.map((r) => [r.sha, r.parents])).toEqual([
      ['6113728f27ae82c7b1a177c8d03f9e96e0adf246', ['b'.repeat(40)]],
      ['a'.repeat(40), ['6113728f27ae82c7b1a177c8d03f9e96e0adf246']],
    ]);
  });

  it('maps a REST commit with its parents, and dead-letters a push that lacks the commit', () => {
    const c = restCommits()[0]!;
    const [event] = pullEvents('commits', toRecord.commit('Codertocat/Hello-World', c['sha'] as string, '2026-03-01T10:05:00Z', c));
    expect(only(mappedOk([event!], ctx), 'commits')).toMatchObject({
      parents: ['6dcb09b5b57875f334f61aebed695e2e4193db5e'],
      parents_known: 1,
      version: rankedVersion(2, event!.time),
    });
    const body = example('push', (e) => (e['commits'] as unknown[]).length > 0);
    const [pushEvent] = hookEvents('push', body);
    const emptied = { ...pushEvent!, data: { ...body, commits: [] } };
    expectDeadLetter(outcomeOf([emptied])[0], 'commits');
  });
});

describe('github.deployment and github.deployment_status', () => {
  it('maps a real deployment delivery to a full row', () => {
    const events = hookEvents('deployment', example('deployment'));
    expect(only(mappedOk(events, ctx), 'deployments')).toEqual({
      source: 'github',
      deployment_id: '145988746',
      repo: 'codertocat/hello-world',
      service: 'hello-api',
      environment: 'production',
      is_production: 1,
      sha: 'f95f852bd8fca8fcc58a9a2d6c842781e32a215e',
      ref: 'master',
      description: '',
      is_rollback: 0,
      created_at: '2019-05-15T15:20:53.000Z',
      ...CHECKOUT,
      url: 'https://api.github.com/repos/Codertocat/Hello-World/deployments/145988746',
      raw_event_id: events[0]!.id,
      version: Date.parse('2019-05-15T15:20:53Z') * 1000 + 1,
    } satisfies DeploymentRow);
  });

  it('takes the service from the deployment payload, else the repository, else the repository name', () => {
    const serviceOf = (payload: unknown, fullName = 'Codertocat/Hello-World') => {
      const body = example('deployment');
      (body['deployment'] as Json)['payload'] = payload;
      (body['repository'] as Json)['full_name'] = fullName;
      return only(mappedOk(hookEvents('deployment', body), ctx), 'deployments').service;
    };
    expect(serviceOf({ service: 'octo-repo' })).toBe('octo-repo');
    expect(serviceOf('{"service":"hello"}')).toBe('hello-api');
    expect(serviceOf({})).toBe('hello-api');
    expect(serviceOf({}, 'someone/unmapped-repo')).toBe('unmapped-repo');
  });

  it('maps a real deployment_status delivery to the status and to the deployment it carries', () => {
    const body = example('deployment_status', (e) => (e['deployment_status'] as Json)['state'] === 'in_progress');
    const events = hookEvents('deployment_status', body);
    const tables = mappedOk(events, ctx);
    expect(only(tables, 'deployment_statuses')).toEqual({
      source: 'github',
      deployment_id: '145988746',
      status_id: '209916254',
      state: 'in_progress',
      raw_state: 'in_progress',
      at: '2022-01-03T01:28:40.000Z',
      raw_event_id: events[0]!.id,
      version: Date.parse('2022-01-03T01:28:40Z') * 1000,
    } satisfies DeploymentStatusRow);
    // The same row a deployment delivery of that deployment object gives.
    const deployment = hookEvents('deployment', {
      ...example('deployment'),
      deployment: body['deployment'],
      repository: body['repository'],
    });
    const expected = only(mappedOk(deployment, ctx), 'deployments');
    // The same row, one tiebreak below the deployment event's own, so that one is kept when both are stored.
    expect(only(tables, 'deployments')).toEqual({ ...expected, raw_event_id: events[0]!.id, version: expected.version - 1 });
    expect(expected).toMatchObject({ environment: 'github-pages', is_production: 0 });
  });

  it('maps every GitHub status state, and dead-letters one it does not know', () => {
    const body = example('deployment_status');
    const stateOf = (s: string) => {
      const b = structuredClone(body);
      (b['deployment_status'] as Json)['state'] = s;
      const [o] = outcomeOf(hookEvents('deployment_status', b));
      return o?.kind === 'ok' ? rowOf(o, 'deployment_statuses').state : o;
    };
    expect(['pending', 'queued', 'in_progress', 'success', 'failure', 'error', 'inactive'].map(stateOf)).toEqual([
      'queued',
      'queued',
      'in_progress',
      'success',
      'failure',
      'error',
      'inactive',
    ]);
    expectDeadLetter(stateOf('exploded'), 'deployment_status.state');
  });
});

describe('github.release', () => {
  it('maps GET /releases/tags/{tag} (recorded) to a full row', () => {
    const r = fixture('release-assets', '/repos/octokit-fixture-org/release-assets/releases/tags/v1.0.0');
    const events = pullEvents('releases', toRecord.release('octokit-fixture-org/release-assets', releaseSchema.parse(r), r));
    expect(only(mappedOk(events, ctx), 'releases')).toEqual({
      source: 'github',
      release_id: String(r['id']),
      repo: 'octokit-fixture-org/release-assets',
      tag: 'v1.0.0',
      name: r['name'] as string,
      is_draft: 0,
      is_prerelease: 0,
      created_at: new Date(r['created_at'] as string).toISOString(),
      published_at: new Date(r['published_at'] as string).toISOString(),
      service: '',
      team: '',
      program: '',
      url: 'https://github.com/octokit-fixture-org/release-assets/releases/tag/v1.0.0',
      raw_event_id: events[0]!.id,
      version: Date.parse(r['published_at'] as string) * 1000,
      is_deleted: 0,
    } satisfies ReleaseRow);
  });

  it('maps a real published delivery, owned by the repository’s service, and a deletion above it', () => {
    const published = mappedOk(hookEvents('release', example('release', action('published'))), ctx);
    const deleted = mappedOk(hookEvents('release', example('release', action('deleted'))), ctx);
    const live = only(published, 'releases');
    expect(live).toMatchObject({
      release_id: '17372790',
      repo: 'codertocat/hello-world',
      tag: '0.0.1',
      service: 'hello-api',
      ...CHECKOUT,
      published_at: '2019-05-15T15:20:53.000Z',
      is_deleted: 0,
    });
    const gone = only(deleted, 'releases');
    expect(gone.is_deleted).toBe(1);
    expect(gone.version).toBeGreaterThan(live.version);
  });
});

describe('github.workflow_run and github.workflow_job', () => {
  it('maps a real completed run to a full row, owned by its CI pipeline', () => {
    const body = example('workflow_run', (e) => (e['workflow_run'] as Json)['conclusion'] === 'success');
    const events = hookEvents('workflow_run', body);
    expect(only(mappedOk(events, ctx), 'pipeline_runs')).toEqual({
      source: 'github',
      run_id: '289782451',
      repo: 'octo-org/octo-repo',
      pipeline: 'github:octo-org/octo-repo:test.yml',
      name: '',
      sha: '3484a3fb816e0859fd6e1cea078d76385ff50625',
      branch: 'master',
      trigger: 'repository_dispatch',
      status: 'done',
      result: 'success',
      raw_result: 'success',
      attempt: 1,
      created_at: '2020-10-05T16:33:24.000Z',
      started_at: '2020-10-05T16:33:49.000Z',
      finished_at: '2020-10-05T16:33:49.000Z',
      service: 'octo-repo',
      ...CHECKOUT,
      url: 'https://github.com/octo-org/octo-repo/actions/runs/289782451',
      raw_event_id: events[0]!.id,
      version: rowVersion('2020-10-05T16:33:49Z', 3),
    } satisfies PipelineRunRow);
  });

  it('takes the workflow file from the delivery when the run lacks its path', () => {
    const body = example('workflow_run', (e) => (e['workflow_run'] as Json)['path'] === undefined);
    expect(only(mappedOk(hookEvents('workflow_run', body), ctx), 'pipeline_runs')).toMatchObject({
      pipeline: 'github:octo-org/octo-repo:syntax.yml',
      status: 'queued',
      result: '',
      finished_at: null,
    });
    delete body['workflow'];
    expectDeadLetter(outcomeOf(hookEvents('workflow_run', body))[0], 'workflow_run.path');
  });

  it('maps statuses and conclusions to the table’s categories, keeping the raw conclusion', () => {
    const body = example('workflow_run', (e) => (e['workflow_run'] as Json)['conclusion'] === 'success');
    const map = (status: string, conclusion: string | null) => {
      const b = structuredClone(body);
      Object.assign(b['workflow_run'] as Json, { status, conclusion });
      const [o] = outcomeOf(hookEvents('workflow_run', b));
      if (o?.kind !== 'ok') return o;
      const row = rowOf(o, 'pipeline_runs');
      return [row.status, row.result, row.raw_result, row.finished_at === null ? 'open' : 'finished'];
    };
    expect(
      [
        ['requested', null],
        ['waiting', null],
        ['pending', null],
        ['queued', null],
        ['in_progress', null],
        ['completed', 'success'],
        ['completed', 'failure'],
        ['completed', 'timed_out'],
        ['completed', 'startup_failure'],
        ['completed', 'cancelled'],
        ['completed', 'skipped'],
        ['completed', 'neutral'],
        ['completed', 'action_required'],
        ['completed', 'stale'],
      ].map(([s, c]) => map(s!, c ?? null)),
    ).toEqual([
      ['queued', '', '', 'open'],
      ['queued', '', '', 'open'],
      ['queued', '', '', 'open'],
      ['queued', '', '', 'open'],
      ['running', '', '', 'open'],
      ['done', 'success', 'success', 'finished'],
      ['done', 'failure', 'failure', 'finished'],
      ['done', 'failure', 'timed_out', 'finished'],
      ['done', 'failure', 'startup_failure', 'finished'],
      ['done', 'cancelled', 'cancelled', 'finished'],
      ['done', 'skipped', 'skipped', 'finished'],
      ['done', 'skipped', 'neutral', 'finished'],
      ['done', 'failure', 'action_required', 'finished'],
      ['done', 'failure', 'stale', 'finished'],
    ]);
    expectDeadLetter(map('paused', null), 'workflow_run.status');
  });

  it('maps a real completed job to a full row', () => {
    const body = example('workflow_job', (e) => (e['workflow_job'] as Json)['conclusion'] === 'failure');
    const events = hookEvents('workflow_job', body);
    expect(only(mappedOk(events, ctx), 'pipeline_jobs')).toEqual({
      source: 'github',
      job_id: '289782451',
      run_id: '2202229078',
      repo: 'codertocat/hello-world',
      pipeline: '',
      name: 'linters',
      sha: '3484a3fb816e0859fd6e1cea078d76385ff50625',
      status: 'done',
      result: 'failure',
      raw_result: 'failure',
      started_at: '2021-08-05T10:34:58.000Z',
      finished_at: '2021-08-05T10:38:16.000Z',
      ...CHECKOUT,
      url: 'https://github.com/octo-org/octo-repo/runs/1291536064',
      raw_event_id: events[0]!.id,
      version: rowVersion('2021-08-05T10:38:16Z', 3),
    } satisfies PipelineJobRow);
  });

  it('maps every real job delivery (queued, waiting, in progress, completed)', () => {
    const jobs = examples.find((e) => e.name === 'workflow_job')!.examples;
    const rows = rowsIn(
      mappedOk(
        jobs.flatMap((b) => hookEvents('workflow_job', b)),
        ctx,
      ),
      'pipeline_jobs',
    );
    expect(rows.map((r) => r.status)).toEqual(['running', 'done', 'done', 'running', 'running', 'queued', 'queued', 'queued']);
  });
});

// ---------------------------------------------------------------------------------------------
// The demo organisation: REST objects of every kind, as a pull reads them

const demo = generateDemoOrg({ teams: 2, months: 2 });
const demoCtx = mapContext({ org: orgSchema.parse({ programs: demo.org.programs }) });
const demoRecords = demo.records.filter((r) => r.source === 'github');
const demoOf = (type: string): SourceRecord[] => demoRecords.filter((r) => r.type === type);
const fullNameOf = (subject: string): string => {
  const repo = demoOf('github.repository').find((r) => subject.startsWith(`${r.subject}`))!;
  return (repo.payload as Json)['full_name'] as string;
};
const repoPayloadOf = (subject: string): Json => demoOf('github.repository').find((r) => subject.startsWith(r.subject))!.payload;

describe('the demo organisation', () => {
  it('maps every GitHub event of the demo, of every type, without a dead letter', async () => {
    const events = eventsOf(demoRecords, 'demo/github');
    // The demo organisation plans in Jira: it has no GitHub milestones or issues (plan.test.ts maps those).
    const planned = new Set(['github.milestone', 'github.issue', 'github.issue_event']);
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(ENTITY_TYPES.github.filter((t) => !planned.has(t))));
    const tables = mappedOk(events, demoCtx);
    await insertTables(store, tables);
    const prs = rowsIn(tables, 'pull_requests');
    expect(prs.every((r) => r.team !== '' && r.author.startsWith('github:'))).toBe(true);
    expect(rowsIn(tables, 'pipeline_runs').every((r) => r.team !== '' && /^github:[^:]+\/[^:]+:[\w.-]+\.ya?ml$/.test(r.pipeline))).toBe(
      true,
    );
    expect(rowsIn(tables, 'pipeline_runs').some((r) => r.service !== '')).toBe(true);
    expect(rowsIn(tables, 'deployments').some((r) => r.is_production === 1)).toBe(true);
    // Every entity converges on one row under FINAL.
    const count = async (table: string, key: string) =>
      (await queryRows<{ rows: string; keys: string }>(store, `SELECT count() AS rows, uniqExact(${key}) AS keys FROM ${table} FINAL`))[0]!;
    for (const [table, key] of [
      ['repositories', 'repo'],
      ['pull_requests', '(repo, number)'],
      ['pull_request_commits', '(repo, number)'],
      ['reviews', 'review_id'],
      ['commits', '(repo, sha)'],
      ['deployments', 'deployment_id'],
      ['deployment_statuses', 'status_id'],
      ['releases', 'release_id'],
      ['pipeline_runs', 'run_id'],
      ['pipeline_jobs', 'job_id'],
    ] as const) {
      const c = await count(table, key);
      expect(Number(c.rows), table).toBeGreaterThan(0);
      expect(c.rows, table).toBe(c.keys);
    }
  });
});

describe('pull and webhook shapes of the same version', () => {
  /** Maps the pull record and the webhook delivery; both must be one event and give identical rows. */
  function same(pull: SourceRecord, event: string, body: Json, type = pull.type): Record<string, Row[]> {
    const [pulled] = pullEvents('stream', pull);
    const hooked = hookEvents(event, body).filter((e) => e.type === type);
    expect(hooked).toHaveLength(1);
    expect(hooked[0]!.id).toBe(pulled!.id);
    const a = mappedOk([pulled!], demoCtx);
    const b = mappedOk(hooked, demoCtx);
    expect(b).toEqual(a);
    return a;
  }

  it('pull_request', () => {
    const rec = demoOf('github.pull_request').at(-1)!;
    const pr = rec.payload as Json;
    const name = fullNameOf(rec.subject);
    same(toRecord.pullRequest(name, pullSchema.parse(pr), pr), 'pull_request', {
      action: 'closed',
      number: pr['number'],
      pull_request: pr,
      repository: repoPayloadOf(rec.subject),
    });
  });

  it('review (REST upper-case, webhook lower-case state)', () => {
    for (const rec of [demoOf('github.review').find((r) => (r.payload as Json)['state'] === 'APPROVED')!, demoOf('github.review')[0]!]) {
      const r = rec.payload as Json;
      const number = Number(/#(\d+)\//.exec(rec.subject)![1]);
      const rows = same(
        toRecord.review(fullNameOf(rec.subject), number, reviewSchema.parse(r), r['submitted_at'] as string, r),
        'pull_request_review',
        {
          action: 'submitted',
          review: { ...r, state: (r['state'] as string).toLowerCase() },
          pull_request: { number },
          repository: repoPayloadOf(rec.subject),
        },
      );
      expect(rows['reviews']).toHaveLength(1);
    }
  });

  it('deployment and deployment_status', () => {
    const dep = demoOf('github.deployment')[0]!;
    const d = dep.payload as Json;
    const name = fullNameOf(dep.subject);
    const repository = repoPayloadOf(dep.subject);
    const deployed = same(toRecord.deployment(name, deploymentSchema.parse(d), d), 'deployment', {
      action: 'created',
      deployment: d,
      repository,
    });
    const st = demoOf('github.deployment_status').find((r) => r.subject.startsWith(`${dep.subject}/`))!;
    const s = st.payload as Json;
    const [pulled] = pullEvents('deployments', toRecord.deploymentStatus(name, d['id'] as number, deploymentStatusSchema.parse(s), s));
    const hooked = hookEvents('deployment_status', { action: 'created', deployment_status: s, deployment: d, repository });
    expect(hooked[0]!.id).toBe(pulled!.id);
    const a = mappedOk([pulled!], demoCtx);
    const b = mappedOk(hooked, demoCtx);
    expect(b['deployment_statuses']).toEqual(a['deployment_statuses']);
    // The delivery's deployment row is the deployment event's row.
    expect(b['deployments']).toEqual(
      deployed['deployments']!.map((r) => ({ ...r, raw_event_id: hooked[0]!.id, version: (r['version'] as number) - 1 })),
    );
  });

  it('release', () => {
    const rec = demoOf('github.release')[0]!;
    const r = rec.payload as Json;
    same(toRecord.release(fullNameOf(rec.subject), releaseSchema.parse(r), r), 'release', {
      action: 'published',
      release: r,
      repository: repoPayloadOf(rec.subject),
    });
  });

  it('workflow_run and workflow_job', () => {
    const run = demoOf('github.workflow_run')[0]!;
    const r = run.payload as Json;
    const name = fullNameOf(run.subject);
    const rows = same(toRecord.workflowRun(name, runSchema.parse(r), r), 'workflow_run', {
      action: 'completed',
      workflow_run: r,
      workflow: { path: r['path'] },
      repository: repoPayloadOf(run.subject),
    });
    expect(rowsIn(rows, 'pipeline_runs')[0]?.pipeline).toMatch(/^github:/);
    const job = demoOf('github.workflow_job').find((j) => (j.payload as Json)['run_id'] === r['id'])!;
    const j = job.payload as Json;
    same(toRecord.workflowJob(name, jobSchema.parse(j), j), 'workflow_job', {
      action: 'completed',
      workflow_job: j,
      repository: repoPayloadOf(job.subject),
    });
  });

  it('repository', () => {
    const rec = demoOf('github.repository')[0]!;
    const repo = rec.payload as Json;
    same(toRecord.repository(repoSchema.parse(repo), repo), 'repository', { action: 'edited', repository: repo });
  });
});

describe('versions under FINAL', () => {
  /** Inserts the events' rows in the order given, then reads the table back with FINAL. */
  async function finalRows<T>(events: RawEvent[], table: string, where: string): Promise<T[]> {
    await insertTables(store, mappedOk(events, demoCtx));
    return queryRows<T>(store, `SELECT * FROM ${table} FINAL WHERE ${where}`);
  }

  it('out-of-order and duplicate pull request versions converge on the latest', async () => {
    const subject = demoOf('github.pull_request').find(
      (r) => demoOf('github.pull_request').filter((x) => x.subject === r.subject).length >= 3,
    )!.subject;
    const versions = pullEvents('pulls', ...demoOf('github.pull_request').filter((r) => r.subject === subject));
    const latest = only(mappedOk([versions.at(-1)!], demoCtx), 'pull_requests');
    const shuffled = [versions.at(-1)!, ...versions.slice().reverse(), versions[0]!, versions.at(-1)!];
    const rows = await finalRows<PullRequestRow>(shuffled, 'pull_requests', `repo = '${latest.repo}' AND number = ${latest.number}`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ state: latest.state, raw_event_id: latest.raw_event_id, version: String(latest.version) });
  });

  it('a run written three times within one second ends done, whatever the order', async () => {
    const rec = demoOf('github.workflow_run')[1]!;
    const r = rec.payload as Json;
    const name = fullNameOf(rec.subject);
    const at = (status: string, conclusion: string | null) => {
      const v = { ...r, status, conclusion };
      return toRecord.workflowRun(name, runSchema.parse(v), v);
    };
    const events = pullEvents('runs', at('completed', 'failure'), at('in_progress', null), at('queued', null), at('in_progress', null));
    const rows = await finalRows<PipelineRunRow>(events, 'pipeline_runs', `run_id = '${String(r['id'])}'`);
    expect(rows.map((x) => [x.status, x.result])).toEqual([['done', 'failure']]);
  });

  it('a dismissal outranks the review it dismisses; a deleted release is dropped', async () => {
    const submitted = example('pull_request_review', (e) => (e['review'] as Json)['state'] === 'commented');
    const dismissed = example('pull_request_review', action('dismissed'));
    const reviews = [...hookEvents('pull_request_review', dismissed), ...hookEvents('pull_request_review', submitted)];
    expect((await finalRows<ReviewRow>(reviews, 'reviews', "review_id = '237895671'")).map((x) => x.state)).toEqual(['dismissed']);
    const releases = [
      ...hookEvents('release', example('release', action('deleted'))),
      ...hookEvents('release', example('release', action('published'))),
    ];
    expect(await finalRows<ReleaseRow>(releases, 'releases', "release_id = '17372790'")).toEqual([]);
  });

  it('a REST commit outranks the push commit of the same sha, inserted before or after it', async () => {
    const c = demoOf('github.commit').at(-1)!;
    const commit = c.payload as Json;
    const sha = commit['sha'] as string;
    const name = fullNameOf(c.subject);
    const repository = { ...repoPayloadOf(c.subject), default_branch: 'main' };
    const inner = commit['commit'] as { message: string; committer: { date: string } };
    const push = {
      ref: 'refs/heads/main',
      before: '0'.repeat(40),
      repository,
      commits: [{ id: sha, message: inner.message, timestamp: inner.committer.date, author: { name: 'x', email: 'x@example.com' } }],
    };
    const hooked = hookEvents('push', push);
    const pulled = pullEvents('commits', toRecord.commit(name, sha, inner.committer.date, commit));
    for (const order of [
      [...pulled, ...hooked],
      [...hooked, ...pulled],
    ]) {
      const rows = await finalRows<CommitRow>(order, 'commits', `sha = '${sha}'`);
      expect(rows.map((x) => [x.parents_known, x.parents])).toEqual([[1, (commit['parents'] as Array<{ sha: string }>).map((p) => p.sha)]]);
    }
  });

  it('a later commit list of a pull request replaces the earlier one', async () => {
    const subject = demoOf('github.pull_request_commits').find(
      (r) => demoOf('github.pull_request_commits').filter((x) => x.subject === r.subject).length >= 2,
    )!.subject;
    const lists = pullEvents('pulls', ...demoOf('github.pull_request_commits').filter((r) => r.subject === subject));
    const latest = only(mappedOk([lists.at(-1)!], demoCtx), 'pull_request_commits');
    const rows = await finalRows<PullRequestCommitsRow>(
      lists.slice().reverse(),
      'pull_request_commits',
      `repo = '${latest.repo}' AND number = ${latest.number}`,
    );
    expect(rows.map((x) => x.head_sha)).toEqual([latest.head_sha]);
  });
});
