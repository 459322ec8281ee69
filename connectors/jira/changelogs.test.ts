import { afterEach, describe, expect, it } from 'vitest';
import { createLocalBus } from '../../infra/bus/local.js';
import type { Bus } from '../../infra/bus/types.js';
import { loadConfig } from '../../infra/config/load.js';
import type { RawEvent } from '../../schemas/raw-event.js';
import { startJiraFake, type JiraFake, type JiraFakeOptions, type Json } from '../../test/fakes/jira.js';
import { readTopic } from '../../test/support/bus.js';
import { quietLogger, tempDir } from '../../test/support/harness.js';
import { mappedOk } from '../../test/support/mapping.js';
import { memoryCursorStore } from '../core/cursor-store.js';
import { subjects } from '../core/entities.js';
import { runSync, type StreamProgress } from '../core/runner.js';
import { jiraConnector } from './index.js';

const TOKEN = 'jira-test-token';
const EMAIL = 'bot@acme.example';
/** Histories a search result carries here: most demo issues have more, so their changelogs are completed. */
const SEARCH_LIMIT = 2;
const logger = quietLogger();
const fakes: JiraFake[] = [];
const buses: Bus[] = [];

afterEach(async () => {
  for (const f of fakes.splice(0)) await f.close();
  for (const b of buses.splice(0)) await b.close();
});

async function fake(options: JiraFakeOptions = {}): Promise<JiraFake> {
  const f = await startJiraFake({ demo: { teams: 2, months: 2 }, changelogLimit: SEARCH_LIMIT, token: TOKEN, email: EMAIL, ...options });
  fakes.push(f);
  return f;
}

/** A full sync of every project of `f` with sources.jira.changelogs = `changelogs`: its results and the events it published. */
async function pull(f: JiraFake, changelogs: string): Promise<{ results: StreamProgress[]; events: RawEvent[] }> {
  const dir = tempDir();
  const config = loadConfig({
    env: { PTEL_JIRA_API_TOKEN: TOKEN },
    overrides: {
      'sources.jira': {
        email: EMAIL,
        baseUrl: f.url,
        projects: [...f.data.projects.keys()].sort(),
        boards: [],
        concurrency: 4,
        changelogs,
      },
    },
    cwd: dir,
  });
  const bus = createLocalBus({ dir, pollMs: 10 });
  buses.push(bus);
  const results = await runSync({
    config,
    connectors: [jiraConnector],
    bus,
    cursors: memoryCursorStore(),
    logger,
    backfillSince: undefined,
  });
  return { results, events: await readTopic(bus, 'raw.jira') };
}

const allOk = (results: StreamProgress[]): void => {
  for (const r of results) expect(r.status, `${r.stream}/${r.scope}: ${r.error ?? ''}`).toBe('ok');
};

const historiesOf = (issue: Json): Json[] => ((issue['changelog'] as Json | undefined)?.['histories'] as Json[] | undefined) ?? [];

/** Issue id -> the history ids its published event carries, in order. */
function publishedHistories(events: RawEvent[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of events) {
    if (e.type !== 'jira.issue') continue;
    const data = e.data as Json;
    out.set(
      String(data['id']),
      historiesOf(data).map((h) => String(h['id'])),
    );
  }
  return out;
}

/** Every issue's histories as the fake holds them (newest first, as Cloud's search lists them). */
const fullHistories = (f: JiraFake): Map<string, string[]> =>
  new Map([...f.data.issues].map(([id, issue]) => [id, historiesOf(issue).map((h) => String(h['id']))]));

/** The work item history and link rows the events map to, in a stable order. */
function historyRows(events: RawEvent[]): string[] {
  const tables = mappedOk(events);
  return ['work_item_history', 'work_item_links'].flatMap((t) => (tables[t] ?? []).map((row) => `${t} ${JSON.stringify(row)}`)).sort();
}

/** Histories of the issues a search truncates, per project. */
function truncatedHistories(f: JiraFake): Map<string, number> {
  const out = new Map<string, number>();
  for (const issue of f.data.issues.values()) {
    const n = historiesOf(issue).length;
    if (n <= SEARCH_LIMIT) continue;
    const project = String(((issue['fields'] as Json)['project'] as Json)['key']);
    out.set(project, (out.get(project) ?? 0) + n);
  }
  return out;
}

const BULK = '/rest/api/3/changelog/bulkfetch';
const perIssueCalls = (f: JiraFake): number =>
  [...f.requests.byPath].filter(([path]) => /^\/rest\/api\/3\/issue\/[^/]+\/changelog$/.test(path)).reduce((n, [, c]) => n + c, 0);

describe('jira changelogs', () => {
  it('bulk and per-issue changelogs publish the same complete histories and map to the same history rows', async () => {
    const f = await fake({ bulkChangelog: true });
    const truncated = truncatedHistories(f);
    expect(truncated.size).toBeGreaterThan(0);

    const perIssue = await pull(f, 'per-issue');
    allOk(perIssue.results);
    expect(f.requests.byPath.get(BULK)).toBeUndefined();
    const completed = [...f.data.issues.values()].filter((i) => historiesOf(i).length > SEARCH_LIMIT).length;
    expect(perIssueCalls(f)).toBe(completed);

    f.resetCounts();
    const bulk = await pull(f, 'bulkfetch');
    allOk(bulk.results);
    expect(perIssueCalls(f)).toBe(0);
    // One bulkfetch per project (each under 1000 issues), its histories in one page of 1000.
    expect(f.requests.byPath.get(BULK)).toBe([...truncated.values()].reduce((n, h) => n + Math.ceil(h / 1000), 0));

    expect(publishedHistories(bulk.events)).toEqual(fullHistories(f));
    expect(publishedHistories(perIssue.events)).toEqual(fullHistories(f));
    expect(bulk.events.map((e) => e.id).sort()).toEqual(perIssue.events.map((e) => e.id).sort());
    const rows = historyRows(bulk.events);
    expect(rows.filter((r) => r.startsWith('work_item_history ')).length).toBeGreaterThan(f.data.issues.size);
    expect(rows).toEqual(historyRows(perIssue.events));
  });

  it('follows nextPageToken through histories longer than a bulkfetch page, never truncating one', async () => {
    const page = 7;
    const f = await fake({ bulkChangelog: true, bulkChangelogPage: page });
    const [p0] = [...f.data.projects.keys()].sort() as [string];
    const long = f.addIssue(p0, 'a long story', new Date(Date.now() - 3_600_000));
    for (let i = 0; i < 3 * page + 2; i++) {
      f.updateIssue(String(long['id']), (fields) => {
        fields['summary'] = `edit ${i}`;
      });
    }
    const { results, events } = await pull(f, 'auto');
    allOk(results);
    const published = publishedHistories(events);
    expect(published.get(String(long['id']))).toHaveLength(3 * page + 2);
    expect(published).toEqual(fullHistories(f));
    const expected = [...truncatedHistories(f).values()].reduce((n, h) => n + Math.ceil(h / page), 0);
    expect(f.requests.byPath.get(BULK)).toBe(expected);
    expect(perIssueCalls(f)).toBe(0);
  });

  it('falls back to per-issue changelogs on a site without bulkfetch under auto, and says so under bulkfetch', async () => {
    const f = await fake();
    const { results, events } = await pull(f, 'auto');
    allOk(results);
    expect(publishedHistories(events)).toEqual(fullHistories(f));
    // The 404 turns the client's plan: at most one refused bulkfetch per project searched before it.
    expect(f.requests.byPath.get(BULK)).toBeGreaterThanOrEqual(1);
    expect(f.requests.byPath.get(BULK)).toBeLessThanOrEqual(f.data.projects.size);
    expect(perIssueCalls(f)).toBe([...f.data.issues.values()].filter((i) => historiesOf(i).length > SEARCH_LIMIT).length);

    const forced = await pull(f, 'bulkfetch');
    const failed = forced.results.filter((r) => r.status !== 'ok');
    expect(failed.map((r) => r.stream)).toEqual(failed.map(() => 'issues'));
    expect(failed.length).toBe(f.data.projects.size);
    expect(failed[0]!.error).toMatch(/changelog\/bulkfetch: 404.*set sources\.jira\.changelogs to auto or per-issue/);
  });

  it('keeps the order search lists histories in, newest first', async () => {
    const f = await fake({ bulkChangelog: true });
    const { events } = await pull(f, 'bulkfetch');
    const site = new URL(f.url).host;
    const long = [...f.data.issues.values()].find((i) => historiesOf(i).length > SEARCH_LIMIT + 1)!;
    const event = events.find((e) => e.subject === subjects.jiraIssue(site, String(long['id'])))!;
    const created = historiesOf(event.data as Json).map((h) => Date.parse(String(h['created'])));
    expect(created).toEqual([...created].sort((a, b) => b - a));
    expect((event.data as Json)['changelog']).toMatchObject({ startAt: 0, total: created.length, maxResults: created.length });
  });
});
