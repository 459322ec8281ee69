import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Figures } from '../../bench/figures.js';
import { memoryCursorStore } from '../../connectors/core/cursor-store.js';
import { runSync, type StreamProgress } from '../../connectors/core/runner.js';
import type { Connector } from '../../connectors/core/types.js';
import { jiraConnector } from '../../connectors/jira/index.js';
import { createLocalBus } from '../../infra/bus/local.js';
import { loadConfig } from '../../infra/config/load.js';
import { createLogger } from '../../infra/observability/logger.js';
import { addRequestFigure } from './request-figure.js';
import { jiraRequestBound, startJiraFake, type JiraFake } from './jira.js';

const total = (results: StreamProgress[], field: 'records' | 'requests'): number => results.reduce((n, r) => n + r[field], 0);
const DEMO = { teams: 8, months: 12 };
/** Histories a search result carries in the long-changelog run: most demo issues have more. */
const SHORT_SEARCH = 2;

interface Run {
  records: number;
  requests: number;
  seconds: number;
  byPath: Map<string, number>;
}

/** A full sync of every project and board of `fake`, with sources.jira.changelogs = `changelogs`; the fake's counts reset first. */
async function fullSync(fake: JiraFake, changelogs: string, dir: string, noChange = false): Promise<{ full: Run; again?: Run }> {
  const busDir = mkdtempSync(path.join(dir, 'bus-'));
  const bus = createLocalBus({ dir: busDir });
  try {
    const config = loadConfig({
      env: { PTEL_JIRA_API_TOKEN: 'jira-test-token' },
      overrides: {
        'sources.jira': {
          baseUrl: fake.url,
          email: 'bot@acme.example',
          projects: [...fake.data.projects.keys()],
          boards: [...fake.data.sprints.keys()],
          initialDays: 3650,
          changelogs,
        },
      },
      cwd: busDir,
    });
    const options = {
      config,
      connectors: [jiraConnector as Connector],
      bus,
      cursors: memoryCursorStore(),
      logger: createLogger({ level: 'silent' }),
    };
    const run = async (): Promise<Run> => {
      fake.resetCounts();
      const started = process.hrtime.bigint();
      const results = await runSync(options);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const failed = results.filter((r) => r.status !== 'ok');
      if (failed.length > 0) throw new Error(`jira bench: ${failed.map((r) => `${r.stream}/${r.scope}: ${r.error ?? ''}`).join('; ')}`);
      return { records: total(results, 'records'), requests: fake.requests.total, seconds, byPath: new Map(fake.requests.byPath) };
    };
    const full = await run();
    return noChange ? { full, again: await run() } : { full };
  } finally {
    await bus.close();
  }
}

const changelogCalls = (byPath: Map<string, number>): string => {
  const perIssue = [...byPath].filter(([p]) => /\/issue\/[^/]+\/changelog$/.test(p)).reduce((n, [, c]) => n + c, 0);
  return `search (issues and id listings) ${byPath.get('/rest/api/3/search/jql') ?? 0}, bulkfetch ${byPath.get('/rest/api/3/changelog/bulkfetch') ?? 0}, per-issue changelog ${perIssue}`;
};

/**
 * Full Jira syncs of a year of an eight-team demo organisation from the fake API (Cloud), through
 * runSync into a local bus, each beside the request bound of the data served: as Jira serves it
 * (search carries up to 100 histories, none of the demo's changelogs is longer), then with search
 * carrying 2 histories so most changelogs are completed, by bulkfetch and per issue; and a no-change
 * incremental sync.
 */
export async function benchJira(out: NodeJS.WritableStream, figures?: Figures): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ptel-jira-bench-'));
  const fake = await startJiraFake({ demo: DEMO, bulkChangelog: true });
  const short = await startJiraFake({ demo: DEMO, bulkChangelog: true, changelogLimit: SHORT_SEARCH });
  try {
    const projects = [...fake.data.projects.keys()];
    const boards = [...fake.data.sprints.keys()];
    const bound = jiraRequestBound(fake.data, projects, boards);
    const { full, again } = await fullSync(fake, 'auto', dir, true);
    out.write(
      `jira full sync: ${full.records} records, ${full.requests} requests, ${(full.requests / full.records).toFixed(4)} requests/record, ` +
        `${Math.round(full.records / full.seconds)} records/s (${full.seconds.toFixed(2)} s); request bound ${bound.total} ` +
        `(search ${bound.search}, bulkfetch ${bound.bulkfetch}, versions ${bound.versions}, sprints ${bound.sprints}, id listings ${bound.idListings})\n`,
    );
    out.write(`jira no-change incremental sync: ${again!.requests} requests, ${again!.records} records\n`);
    addRequestFigure(figures, 'jira full sync requests', full.requests, bound.total, 'Jira');

    const longBound = jiraRequestBound(short.data, projects, boards, SHORT_SEARCH);
    const bulk = (await fullSync(short, 'bulkfetch', dir)).full;
    const perIssue = (await fullSync(short, 'per-issue', dir)).full;
    out.write(
      `jira full sync, changelogs longer than search carries (${SHORT_SEARCH}): request bound ${longBound.total} ` +
        `(search ${longBound.search}, bulkfetch ${longBound.bulkfetch})\n` +
        `  bulkfetch: ${bulk.requests} requests (${changelogCalls(bulk.byPath)}), ${(bulk.requests / bulk.records).toFixed(4)} requests/record, ${bulk.seconds.toFixed(2)} s\n` +
        `  per-issue: ${perIssue.requests} requests (${changelogCalls(perIssue.byPath)}), ${(perIssue.requests / perIssue.records).toFixed(4)} requests/record, ${perIssue.seconds.toFixed(2)} s\n`,
    );
    addRequestFigure(figures, 'jira full sync requests, long changelogs (bulkfetch)', bulk.requests, longBound.total, 'Jira');
  } finally {
    await fake.close();
    await short.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
