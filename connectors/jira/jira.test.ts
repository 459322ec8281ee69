import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalBus } from '../../infra/bus/local.js';
import type { Bus } from '../../infra/bus/types.js';
import type { Clock } from '../../infra/clock.js';
import { loadConfig } from '../../infra/config/load.js';
import type { Config } from '../../infra/config/schema.js';
import { buildRawEvent, deterministicEventId, type RawEvent } from '../../schemas/raw-event.js';
import { startJiraFake, type JiraFake, type Json } from '../../test/fakes/jira.js';
import { ManualClock } from '../../test/support/clock.js';
import { quietLogger, tempDir, testStore, waitFor } from '../../test/support/harness.js';
import { readTopic } from '../../test/support/bus.js';
import { clickhouseCursorStore, type CursorStore } from '../core/cursor-store.js';
import { subjects, timeVersion } from '../core/entities.js';
import { runSync, type StreamProgress } from '../core/runner.js';
import type { Connector } from '../core/types.js';
import { createJiraConnector, jiraConnector, type JiraClient } from './index.js';
import { issueDeletedRecord, sprintVersion, versionHash } from './records.js';
import { decodeIds, encodeIds, issuesJql } from './streams.js';
import { jiraWebhook } from './webhook.js';

const TOKEN = 'jira-test-token';
const EMAIL = 'bot@acme.example';

function jiraConfig(cwd: string, jira: Record<string, unknown>): Config {
  return loadConfig({ env: { PTEL_JIRA_API_TOKEN: TOKEN }, overrides: { 'sources.jira': { email: EMAIL, ...jira } }, cwd });
}

const readJira = (bus: Bus, topic = 'raw.jira'): Promise<RawEvent[]> => readTopic(bus, topic);

const str = (v: unknown): string => (typeof v === 'string' ? v : String(v));
const fieldsOf = (i: Json): Json => i['fields'] as Json;
const projectKey = (i: Json): string => str((fieldsOf(i)['project'] as Json)['key']);
const key = (e: { type: string; subject: string; entityversion: string }): string => `${e.type} ${e.subject} ${e.entityversion}`;

interface Env {
  fake: JiraFake;
  config: Config;
  site: string;
  cursors: CursorStore;
  bus: Bus;
  dir: string;
  projects: string[];
  boards: number[];
}

const logger = quietLogger();
let env: Env;
const buses: Bus[] = [];

async function setup(jira: Record<string, unknown> = {}, fakeOptions: Parameters<typeof startJiraFake>[0] = {}): Promise<Env> {
  const fake = await startJiraFake({ demo: { teams: 2, months: 2 }, changelogLimit: 4, token: TOKEN, email: EMAIL, ...fakeOptions });
  const projects = [...fake.data.projects.keys()].sort();
  const boards = [...fake.data.sprints.keys()].sort((a, b) => a - b);
  const dir = tempDir();
  const config = jiraConfig(dir, {
    baseUrl: fake.url,
    projects,
    boards,
    concurrency: 4,
    fields: { storyPoints: 'customfield_10016', sprint: 'customfield_10020' },
    ...jira,
  });
  const store = await testStore();
  const bus = createLocalBus({ dir, pollMs: 10 });
  buses.push(bus);
  return { fake, config, site: new URL(fake.url).host, cursors: clickhouseCursorStore(store), bus, dir, projects, boards };
}

const sync = (e: Env, connector: Connector<JiraClient> = jiraConnector, bus: Bus = e.bus, clock?: Clock): Promise<StreamProgress[]> =>
  runSync({
    config: e.config,
    connectors: [connector],
    bus,
    cursors: e.cursors,
    logger,
    backfillSince: undefined,
    ...(clock ? { clock } : {}),
  });

/** Every record a full pull of the fake's current data must give. */
function expectedKeys(e: Env): string[] {
  const out: string[] = [];
  for (const i of e.fake.data.issues.values()) {
    if (!e.projects.includes(projectKey(i))) continue;
    out.push(`jira.issue ${subjects.jiraIssue(e.site, str(i['id']))} ${timeVersion(str(fieldsOf(i)['updated']))}`);
  }
  for (const p of e.projects) {
    for (const v of e.fake.data.versions.get(p) ?? []) {
      out.push(`jira.version ${subjects.jiraVersion(e.site, str(v['id']))} ${versionHash(v as Parameters<typeof versionHash>[0])}`);
    }
  }
  for (const b of e.boards) {
    for (const s of e.fake.data.sprints.get(b) ?? []) {
      out.push(`jira.sprint ${subjects.jiraSprint(e.site, Number(s['id']))} ${sprintVersion(s as Parameters<typeof sprintVersion>[0])}`);
    }
  }
  return out.sort();
}

const allOk = (results: StreamProgress[]): void => {
  for (const r of results) expect(r.status, `${r.stream}/${r.scope}: ${r.error ?? ''}`).toBe('ok');
};

/** The demo's first project has well over one search page once this many issues are added. */
function addIssues(e: Env, project: string, n: number): void {
  const t0 = Date.now() - 3_600_000;
  for (let i = 0; i < n; i++) e.fake.addIssue(project, `bulk ${i}`, new Date(t0 + i * 1000));
}

beforeEach(async () => {
  env = await setup();
});

afterEach(async () => {
  await env.fake.close();
  for (const b of buses.splice(0)) await b.close();
});

describe('jira pull', () => {
  it('a full sync publishes every issue, version and sprint exactly once, with complete changelogs', async () => {
    const results = await sync(env);
    allOk(results);
    const events = await readJira(env.bus);
    expect(events.map(key).sort()).toEqual(expectedKeys(env));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);

    // Changelogs longer than the search limit (4 here) were completed from /issue/{id}/changelog.
    const long = [...env.fake.data.issues.values()].find((i) => Number((i['changelog'] as Json)['total']) > 6)!;
    const event = events.find((e) => e.subject === subjects.jiraIssue(env.site, str(long['id'])))!;
    const log = (event.data as Json)['changelog'] as { histories: Array<{ id: string }>; total: number };
    const full = (long['changelog'] as { histories: Array<{ id: string }> }).histories;
    expect(log.histories.map((h) => h.id)).toEqual(full.map((h) => h.id));
    expect(env.fake.requests.byPath.get(`/rest/api/3/issue/${str(long['id'])}/changelog`)).toBe(1);
    // Records carry the vendor's object and the pull's connector name.
    expect(event.connector).toBe('jira/issues');
    // A version carries the key of the project it was listed under, which Jira's object names by id only.
    const [p0] = env.projects as [string];
    const listed = env.fake.data.versions.get(p0)![0]!;
    const versionEvent = events.find((e) => e.subject === subjects.jiraVersion(env.site, str(listed['id'])))!;
    expect(versionEvent.data).toEqual({ ...listed, projectKey: p0 });
    expect((event.data as Json)['key']).toBe(long['key']);
    // Issues, versions and sprints per scope, and one id listing per project for deletions.
    const results2 = Object.fromEntries(results.map((r) => [`${r.stream}/${r.scope}`, r.records]));
    expect(results2[`issue_deletions/${env.projects[0]!}`]).toBe(0);
  });

  it('a no-change incremental sync publishes nothing and sends one request per scope', async () => {
    allOk(await sync(env));
    const before = (await readJira(env.bus)).length;
    env.fake.resetCounts();
    const results = await sync(env);
    allOk(results);
    expect(results.reduce((n, r) => n + r.records, 0)).toBe(0);
    expect((await readJira(env.bus)).length).toBe(before);
    // One search per project, one version page per project, one sprint page per board; the id listing waits for its interval.
    const versionPages = env.projects.reduce((n, p) => n + Math.max(1, Math.ceil((env.fake.data.versions.get(p)?.length ?? 0) / 50)), 0);
    const sprintPages = env.boards.reduce((n, b) => n + Math.max(1, Math.ceil((env.fake.data.sprints.get(b)?.length ?? 0) / 50)), 0);
    expect(env.fake.requests.total).toBe(env.projects.length + versionPages + sprintPages);
  });

  it('an incremental sync after changes publishes exactly the changes', async () => {
    allOk(await sync(env));
    const before = await readJira(env.bus);
    const [p0] = env.projects as [string];
    const target = [...env.fake.data.issues.values()].find((i) => projectKey(i) === p0)!;
    const changed = env.fake.updateIssue(str(target['id']), (f) => {
      f['summary'] = 'renamed';
    });
    const added = env.fake.addIssue(p0, 'a new story');
    const version = env.fake.data.versions.get(p0)![0]!;
    version['releaseDate'] = '2030-01-01';
    const results = await sync(env);
    allOk(results);
    const after = await readJira(env.bus);
    const fresh = after.slice(before.length);
    expect(fresh.map(key).sort()).toEqual(
      [
        `jira.issue ${subjects.jiraIssue(env.site, str(changed['id']))} ${timeVersion(str(fieldsOf(changed)['updated']))}`,
        `jira.issue ${subjects.jiraIssue(env.site, str(added['id']))} ${timeVersion(str(fieldsOf(added)['updated']))}`,
        `jira.version ${subjects.jiraVersion(env.site, str(version['id']))} ${versionHash(version as Parameters<typeof versionHash>[0])}`,
      ].sort(),
    );
    expect((fresh.find((e) => e.subject.endsWith(`/${str(changed['id'])}`))!.data as Json)['fields']).toMatchObject({ summary: 'renamed' });
  });

  it('pages through search results with nextPageToken', async () => {
    const [p0] = env.projects as [string];
    addIssues(env, p0, 230);
    allOk(await sync(env));
    const events = await readJira(env.bus);
    expect(events.map(key).sort()).toEqual(expectedKeys(env));
    const inProject = [...env.fake.data.issues.values()].filter((i) => projectKey(i) === p0).length;
    // Every issue search page is a request: at least ceil(n/100) for the project.
    expect(env.fake.requests.byPath.get('/rest/api/3/search/jql')).toBeGreaterThanOrEqual(Math.ceil(inProject / 100) + env.projects.length);
  });

  it('waits out a 429 with Retry-After and retries a 5xx', async () => {
    env.fake.fail({ status: 429, path: '/rest/api/3/search/jql', retryAfter: 1 });
    env.fake.fail({ status: 503, path: '/rest/agile/1.0/board', times: 2 });
    const results = await sync(env);
    allOk(results);
    const events = await readJira(env.bus);
    expect(events.map(key).sort()).toEqual(expectedKeys(env));
    // The refused requests were sent again: two projects' searches, two id listings, plus the 429.
    expect(env.fake.requests.byPath.get('/rest/api/3/search/jql')).toBe(2 * env.projects.length + 1);
  });

  it("waits out a 429 for its Retry-After on the sync's clock, and not a moment before", async () => {
    // A day after the demo's history ends, far from the wall clock.
    const clock = new ManualClock('2026-11-02T00:00:00Z');
    const t0 = clock.now();
    env.fake.fail({ status: 429, path: '/rest/api/3/search/jql', retryAfter: 120 });
    const running = sync(env, jiraConnector, env.bus, clock);
    await waitFor(
      'the 429 and a wait on the clock',
      () => clock.pending === 1,
      (v) => v,
      { timeoutMs: 10_000, intervalMs: 5 },
    );
    const due = clock.nextDue()!;
    expect(due).toBeGreaterThanOrEqual(t0 + 120_000);
    expect(due).toBeLessThanOrEqual(t0 + 120_250);
    await clock.set(t0 + 119_999);
    expect(clock.pending).toBe(1);
    expect(clock.nextDue()).toBe(due);
    await clock.set(due);
    allOk(await running);
    expect((await readJira(env.bus)).map(key).sort()).toEqual(expectedKeys(env));
    expect(env.fake.requests.byPath.get('/rest/api/3/search/jql')).toBe(2 * env.projects.length + 1);
  });

  it('a 401 stops that stream with a clear message while the others complete', async () => {
    const [p0, p1] = env.projects as [string, string];
    env.fake.fail({ status: 401, path: `/rest/api/3/project/${p0}/version`, times: Infinity });
    const results = await sync(env);
    const failed = results.filter((r) => r.status === 'failed');
    expect(failed.map((r) => `${r.stream}/${r.scope}`)).toEqual([`versions/${p0}`]);
    expect(failed[0]!.error).toMatch(new RegExp(`GET /rest/api/3/project/${p0}/version: 401 unauthorized; the credentials are missing`));
    expect(results.find((r) => r.stream === 'versions' && r.scope === p1)!.status).toBe('ok');
    expect(results.find((r) => r.stream === 'issues' && r.scope === p0)!.status).toBe('ok');
  });

  it('a crash mid-sync then a restart leaves nothing missing and nothing under a new id', async () => {
    const [p0] = env.projects as [string];
    addIssues(env, p0, 260);
    // A clean run with its own bus and cursors gives the reference set of ids.
    const cleanBus = createLocalBus({ dir: tempDir(), pollMs: 10 });
    buses.push(cleanBus);
    const clean: Env = { ...env, bus: cleanBus, cursors: clickhouseCursorStore(await testStore()) };
    allOk(await sync(clean));
    const reference = new Set((await readJira(cleanBus)).map((e) => e.id));

    // The bus refuses after two publishes: the runner stops those streams where they were.
    let publishes = 0;
    const flaky: Bus = {
      ...env.bus,
      kind: env.bus.kind,
      publish: (topic, messages) => (++publishes > 2 ? Promise.reject(new Error('broker gone')) : env.bus.publish(topic, messages)),
    };
    const crashed = await sync(env, jiraConnector, flaky);
    expect(crashed.some((r) => r.status === 'failed')).toBe(true);
    allOk(await sync(env));
    const ids = (await readJira(env.bus)).map((e) => e.id);
    // Versions and sprints record when they were observed, so compare ids, not whole events.
    expect(new Set(ids)).toEqual(reference);
    expect(ids.every((id) => reference.has(id))).toBe(true);
  });

  it('detects deleted issues from the periodic id listing, with the id a webhook gives', async () => {
    const connector = createJiraConnector({ deletionScanEveryMs: 0 });
    allOk(await sync(env, connector));
    const before = (await readJira(env.bus)).length;
    const victim = [...env.fake.data.issues.values()].find((i) => projectKey(i) === env.projects[0])!;
    const victimId = str(victim['id']);
    env.fake.deleteIssue(victimId);
    allOk(await sync(env, connector));
    const fresh = (await readJira(env.bus)).slice(before);
    expect(fresh.map((e) => `${e.type} ${e.subject}`)).toEqual([`jira.issue_deleted ${subjects.jiraIssue(env.site, victimId)}`]);
    const fromWebhook = jiraWebhook.records(
      {
        headers: {},
        rawBody: Buffer.from(''),
        body: { webhookEvent: 'jira:issue_deleted', timestamp: Date.now(), issue: victim },
        receivedAt: new Date(),
      },
      env.config,
    );
    expect(fromWebhook.map((r) => buildRawEvent(r, 'webhook/jira', new Date('2026-06-01T00:00:00Z')).id)).toEqual([fresh[0]!.id]);
    expect(issueDeletedRecord(env.site, victimId, new Date(), {}).version).toBe('deleted');
  });

  it('lists ids for deletions at most once per scan interval of the clock', async () => {
    const connector = createJiraConnector({ deletionScanEveryMs: 3_600_000 });
    const clock = new ManualClock(Date.now());
    allOk(await sync(env, connector, env.bus, clock));
    const before = (await readJira(env.bus)).length;
    const victimId = str([...env.fake.data.issues.values()].find((i) => projectKey(i) === env.projects[0])!['id']);
    env.fake.deleteIssue(victimId);
    await clock.advance(3_600_000 - 1);
    allOk(await sync(env, connector, env.bus, clock));
    expect((await readJira(env.bus)).slice(before)).toEqual([]);
    await clock.advance(1);
    allOk(await sync(env, connector, env.bus, clock));
    const fresh = (await readJira(env.bus)).slice(before);
    expect(fresh.map((e) => `${e.type} ${e.subject}`)).toEqual([`jira.issue_deleted ${subjects.jiraIssue(env.site, victimId)}`]);
    expect(fresh[0]!.ingesttime).toBe(clock.date().toISOString());
  });

  it('an issue moved to another project is not reported deleted', async () => {
    const connector = createJiraConnector({ deletionScanEveryMs: 0 });
    allOk(await sync(env, connector));
    const before = (await readJira(env.bus)).length;
    const [p0, p1] = env.projects as [string, string];
    const moved = [...env.fake.data.issues.values()].find((i) => projectKey(i) === p0)!;
    env.fake.updateIssue(str(moved['id']), (f) => {
      f['project'] = { id: env.fake.data.projects.get(p1), key: p1 };
    });
    allOk(await sync(env, connector));
    const fresh = (await readJira(env.bus)).slice(before);
    expect(fresh.map((e) => e.type)).toEqual(['jira.issue']);
  });

  it('pulls a Data Center site through REST v2 with a bearer token', async () => {
    const dc = await setup({ deployment: 'datacenter', email: undefined });
    allOk(await sync(dc));
    const events = await readJira(dc.bus);
    expect(events.map(key).sort()).toEqual(expectedKeys(dc));
    expect(dc.fake.requests.byPath.get('/rest/api/2/search')).toBeGreaterThan(0);
    expect(dc.fake.requests.byPath.get('/rest/api/3/search/jql')).toBeUndefined();
    await dc.fake.close();
  });

  it('a backfill reads from its start date whatever the cursor says', async () => {
    allOk(await sync(env));
    const before = (await readJira(env.bus)).length;
    const results = await runSync({
      config: env.config,
      connectors: [jiraConnector],
      bus: env.bus,
      cursors: env.cursors,
      logger,
      backfillSince: new Date('2020-01-01T00:00:00Z'),
    });
    allOk(results);
    const events = await readJira(env.bus);
    // The same versions again, with the same ids.
    expect(new Set(events.slice(before).map((e) => e.id))).toEqual(new Set(events.slice(0, before).map((e) => e.id)));
  });

  it('doctor says exactly what is missing', async () => {
    const [p0] = env.projects as [string];
    const bad = await setup(
      {
        projects: [p0, 'NOPE'],
        boards: [env.boards[0]!, 999],
        fields: { storyPoints: 'customfield_10016', severity: 'customfield_99999' },
      },
      { noBrowse: [p0] },
    );
    const client = jiraConnector.client(bad.config, logger);
    const checks = await jiraConnector.doctor(client, bad.config);
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(byName['jira credentials']!.ok).toBe(true);
    expect(byName[`jira project ${p0}`]).toMatchObject({ ok: false, detail: expect.stringContaining('Browse projects') as unknown });
    expect(byName['jira project NOPE']).toMatchObject({ ok: false, detail: expect.stringContaining('does not exist') as unknown });
    expect(byName['jira field storyPoints']!.ok).toBe(true);
    expect(byName['jira field severity']).toMatchObject({ ok: false, detail: expect.stringContaining('customfield_99999') as unknown });
    expect(byName[`jira board ${env.boards[0]!}`]!.ok).toBe(true);
    expect(byName['jira board 999']!.ok).toBe(false);
    await bad.fake.close();

    const wrong = jiraConfig(env.dir, { baseUrl: env.fake.url, projects: [p0] });
    const denied = await jiraConnector.doctor(
      jiraConnector.client({ ...wrong, secrets: { ...wrong.secrets, jiraApiToken: 'wrong' } }, logger),
      wrong,
    );
    expect(denied).toEqual([{ name: 'jira credentials', ok: false, detail: expect.stringContaining('401') as unknown }]);
  });
});

describe('jira helpers', () => {
  it('builds JQL with an epoch-millisecond bound and the configured filter', () => {
    expect(issuesJql('PAY', 1_700_000_000_000, 'issuetype != Sub-task')).toBe(
      'project = "PAY" AND updated >= 1700000000000 AND (issuetype != Sub-task) ORDER BY updated ASC',
    );
  });

  it('encodes id sets compactly and losslessly', () => {
    const ids = ['10001', '10005', '10002', '250000'];
    expect(decodeIds(encodeIds(ids))).toEqual(new Set(ids));
    expect(deterministicEventId('jira', 'jira.issue', 's', 'v')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
