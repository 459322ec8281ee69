import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Figures } from '../../bench/figures.js';
import { githubConnector } from '../../connectors/github/index.js';
import { memoryCursorStore } from '../../connectors/core/cursor-store.js';
import { runSync, type StreamProgress } from '../../connectors/core/runner.js';
import { createLocalBus } from '../../infra/bus/local.js';
import { loadConfig } from '../../infra/config/load.js';
import { createLogger } from '../../infra/observability/logger.js';
import { startGithubFake, type FakeGithub, type FakeRepo } from './github.js';

const sum = (results: StreamProgress[], f: (r: StreamProgress) => number): number => results.reduce((n, r) => n + f(r), 0);

/** The most items GitHub serves a page, in REST and in a GraphQL connection. */
const PAGE = 100;
const pages = (n: number): number => Math.max(1, Math.ceil(n / PAGE));
/** Pages of a nested list past the first, which came with its parent. */
const more = (n: number): number => pages(n) - 1;

/**
 * The fewest requests each stream of a full sync can make of the data the fake serves, by the API it
 * uses: a listing is a request per 100; a pull request's commits, reviews and labels come with it in
 * GraphQL (a follow-up per further 100), while REST needs its own listings of them; a deployment's
 * statuses and a run's jobs are a listing each (GraphQL has no status ids, nor Actions jobs).
 */
export function requestBound(repos: Iterable<FakeRepo>, api: 'graphql' | 'rest'): Map<string, number> {
  const bound = new Map<string, number>();
  const add = (stream: string, n: number): void => void bound.set(stream, (bound.get(stream) ?? 0) + n);
  for (const r of repos) {
    add('repository', 1);
    let pulls = pages(r.pulls.size);
    for (const n of r.pulls.keys()) {
      const commits = r.pullCommits.get(n)?.length ?? 0;
      const reviews = r.reviews.get(n)?.length ?? 0;
      const labels = (r.pulls.get(n)?.['labels'] as unknown[] | undefined)?.length ?? 0;
      pulls += api === 'graphql' ? more(commits) + more(reviews) + more(labels) : pages(commits) + pages(reviews);
    }
    add('pull_requests', pulls);
    add('commits', pages(r.commits.length));
    add(
      'deployments',
      pages(r.deployments.size) + [...r.deployments.keys()].reduce((n, id) => n + pages(r.statuses.get(id)?.length ?? 0), 0),
    );
    add('releases', pages(r.releases.size));
    add('workflow_runs', pages(r.runs.size) + [...r.runs.keys()].reduce((n, id) => n + pages(r.jobs.get(id)?.length ?? 0), 0));
    add('milestones', pages(r.milestones.size));
    add('issues', pages(r.issues.size));
    add('issue_events', pages(r.issueEvents.length));
  }
  return bound;
}

interface Run {
  records: number;
  requests: number;
  perStream: Map<string, { records: number; requests: number }>;
  seconds: number;
  failed: string[];
}

async function syncOnce(fake: FakeGithub, base: Parameters<typeof runSync>[0]): Promise<Run> {
  fake.resetCounts();
  const started = performance.now();
  const results = await runSync(base);
  const seconds = (performance.now() - started) / 1000;
  return {
    records: sum(results, (r) => r.records),
    requests: fake.requests.total,
    perStream: perStream(results),
    seconds,
    failed: results.filter((r) => r.status !== 'ok').map((r) => `${r.stream} ${r.scope}: ${r.error ?? ''}`),
  };
}

/**
 * Full sync, then a no-change incremental sync, of the demo organisation's GitHub data (six
 * repositories, some five thousand entity versions) served by the fake API, into an in-process bus:
 * once with pull requests through GraphQL (the default), once through REST, each beside the request
 * bound of its API for the data served. With `figures`, the GraphQL full sync's requests are handed on
 * beside that bound, in all and for the pull requests.
 */
export async function benchGithub(out: NodeJS.WritableStream, figures?: Figures): Promise<void> {
  const token = 'ghp_bench';
  const fake = await startGithubFake({ token, prefix: '/api/v3' });
  const dir = mkdtempSync(path.join(tmpdir(), 'ptel-github-bench-'));
  try {
    const repositories = [...fake.repos.values()].map((r) => String(r.repo['full_name']));
    for (const api of ['graphql', 'rest'] as const) {
      const bus = createLocalBus({ dir: path.join(dir, api), pollMs: 50 });
      try {
        const config = loadConfig({
          env: { PTEL_GITHUB_TOKEN: token },
          overrides: { 'sources.github': { baseUrl: fake.baseUrl, repositories, concurrency: 8, initialDays: 3650, api } },
          cwd: dir,
        });
        const base = {
          config,
          connectors: [githubConnector],
          bus,
          cursors: memoryCursorStore(),
          logger: createLogger({ level: 'silent' }),
        };
        const bound = requestBound(fake.repos.values(), api);
        const total = [...bound.values()].reduce((a, b) => a + b, 0);
        const points = fake.graphql.budget.remaining;

        const full = await syncOnce(fake, base);
        out.write(`github full sync, pull requests through ${api}: ${repositories.length} repositories\n`);
        out.write(
          `  records ${full.records}, requests ${full.requests}, requests/record ${(full.requests / Math.max(1, full.records)).toFixed(3)}, `,
        );
        out.write(
          `request bound ${total} (ratio ${(full.requests / total).toFixed(2)}), records/s ${Math.round(full.records / full.seconds)} `,
        );
        out.write(
          `(${full.seconds.toFixed(2)} s)${api === 'graphql' ? `, GraphQL points ${points - fake.graphql.budget.remaining}` : ''}\n`,
        );
        for (const [stream, n] of full.perStream) {
          out.write(`  ${stream}: ${n.records} records, ${n.requests} requests, bound ${bound.get(stream) ?? 0}\n`);
        }
        if (full.failed.length > 0) out.write(`  FAILED: ${full.failed.join('; ')}\n`);

        const again = await syncOnce(fake, base);
        const pairs = repositories.length * githubConnector.streams.length;
        out.write(
          `github no-change sync, ${api}: records ${again.records}, requests ${again.requests} ` +
            `(${fake.requests.notModified} answered 304), bound ${pairs} (one conditional request per stream and repository)\n`,
        );

        if (api === 'graphql' && figures !== undefined) {
          const what = 'GitHub GraphQL request bound';
          const goal = { ratio: 1.1, atMost: true };
          const pulls = full.perStream.get('pull_requests')?.requests ?? 0;
          const note = 'each repository adds one conditional REST listing of its pull requests, which makes an unchanged poll a free 304';
          figures.add({ name: 'github full sync', value: full.requests, unit: 'requests', limit: { value: total, what }, goal });
          figures.add({
            name: 'github pull requests with commits and reviews',
            value: pulls,
            unit: 'requests',
            limit: { value: bound.get('pull_requests') ?? 0, what },
            goal,
            ...(pulls > 1.1 * (bound.get('pull_requests') ?? 0) ? { note } : {}),
          });
        }
      } finally {
        await bus.close();
      }
    }
  } finally {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function perStream(results: StreamProgress[]): Map<string, { records: number; requests: number }> {
  const m = new Map<string, { records: number; requests: number }>();
  for (const r of results) {
    const e = m.get(r.stream) ?? { records: 0, requests: 0 };
    e.records += r.records;
    e.requests += r.requests;
    m.set(r.stream, e);
  }
  return m;
}
