import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { generateDemoOrg } from '../../connectors/demo/generator.js';
import { systemClock } from '../../infra/clock.js';
import type { StoredForecast } from '../../workers/forecast/job.js';
import { startGithubFake, type FakeGithub } from '../fakes/github.js';
import { startGitlabFake, type GitlabFake } from '../fakes/gitlab.js';
import { startJiraFake, type JiraFake, type Json } from '../fakes/jira.js';
import { startPagerdutyFake, type FakePagerduty } from '../fakes/pagerduty.js';
import { queryRows, runCli, tempDir } from '../support/harness.js';
import { STORES } from '../support/stores.js';

/** `ptel forecast list --format json`: a row per milestone, its confidence rounded, the reason null with a number. */
interface ForecastList {
  runAt: string;
  rows: Array<
    Pick<StoredForecast, 'program' | 'team' | 'committed' | 'p50' | 'p85' | 'p95' | 'confidence' | 'band'> & {
      key: string;
      milestone: string;
      reason: string | null;
    }
  >;
}

const asRecord = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const text = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const asList = (v: unknown): Json[] => (Array.isArray(v) ? v.map(asRecord) : []);
const fieldsOf = (issue: Json): Json => asRecord(issue['fields']);
const statusCategory = (fields: Json): string => text(asRecord(asRecord(fields['status'])['statusCategory'])['key']);

const DAY_MS = 86_400_000;

/**
 * The main job with real connectors: GitHub, Jira, PagerDuty and GitLab fake APIs stand in for the
 * vendors; `ptel run --once`, `ptel sync` and `ptel doctor` run as a user would run them, in embedded mode,
 * storing into either store.
 */
describe.each(STORES)('the main job with configured sources, stored on $title', (target) => {
  let github: FakeGithub;
  let jira: JiraFake;
  let pagerduty: FakePagerduty;
  let gitlab: GitlabFake;
  let dir: string;
  let configFile: string;
  const database = target.database('e2e');
  const env = {
    ...process.env,
    PTEL_GITHUB_TOKEN: 'gh-e2e-token',
    PTEL_JIRA_API_TOKEN: 'jira-test-token',
    PTEL_PAGERDUTY_TOKEN: 'pd-e2e-token',
    PTEL_GITLAB_TOKEN: 'gl-e2e-token',
    PTEL_LOG_LEVEL: 'warn',
    ...target.env(database),
  };

  beforeAll(async () => {
    github = await startGithubFake({ token: 'gh-e2e-token' });
    // The CLI runs on the system clock: Jira's demo data ends at the start of today, so its forecasts are
    // made just after the last activity pulled, whatever the date the suite runs on.
    jira = await startJiraFake({
      token: 'jira-test-token',
      demo: { now: new Date(Math.floor(systemClock.now() / DAY_MS) * DAY_MS), teams: 2, months: 3 },
    });
    pagerduty = await startPagerdutyFake({ token: 'pd-e2e-token' });
    gitlab = await startGitlabFake({ token: 'gl-e2e-token' });
    dir = tempDir('ptel-e2e-');
    const { org } = generateDemoOrg({ teams: 2, months: 3 });
    configFile = path.join(dir, 'ptel.yaml');
    writeFileSync(
      configFile,
      stringify({
        dataDir: './data',
        sources: {
          github: { baseUrl: github.baseUrl },
          jira: { baseUrl: jira.url, email: 'bot@acme.example' },
          pagerduty: { baseUrl: pagerduty.url },
          gitlab: { baseUrl: gitlab.url, projects: gitlab.projects.map((p) => p.path_with_namespace) },
        },
        org: { programs: org.programs },
      }),
    );
    await migrateServer(env);
  });
  afterAll(async () => {
    await Promise.all([github?.close(), jira?.close(), pagerduty?.close(), gitlab?.close()]);
    await target.drop(database);
    await target.drop(syncDatabase);
  });

  const ptel = (...args: string[]) => runCli([...args, '--config', configFile], { env, cwd: dir });
  /** A server's schema is applied once, by `ptel migrate`, as a deployment does; the engine's on start. */
  const migrateServer = async (environment: NodeJS.ProcessEnv): Promise<void> => {
    if (target.kind !== 'server') return;
    const r = await runCli(['migrate', '--config', configFile], { env: environment, cwd: dir });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  };
  const syncDatabase = target.database('e2e_sync');

  it('checks every source with doctor', async () => {
    const r = await ptel('doctor');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    for (const source of ['github', 'jira', 'pagerduty', 'gitlab']) expect(r.stdout).toMatch(new RegExp(`^${source}: ok `, 'm'));
    expect(r.stdout).toContain('jenkins: not configured (add sources.jenkins to the config file');
  });

  it('pulls every source into the store, and a second pull finds nothing new', async () => {
    const first = await ptel('run', '--once');
    expect(first.status, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toContain('sources: github, jira, pagerduty, gitlab');
    expect(first.stdout).toMatch(/^Ingested: [\d,]+ events from 4 sources \(0 dead letters\)/m);
    expect(first.stdout).toMatch(/^Next: .*ptel status$/m);
    // Short however many streams were pulled: the per-stream lines are ptel sync's, the tables ptel status's.
    expect(first.stdout.trimEnd().split('\n').length, first.stdout).toBeLessThanOrEqual(30);
    // Every payload the fake APIs serve maps to the model, and the linker links it.
    const model = /^Model: (.*)$/m.exec(first.stdout)?.[1] ?? '';
    for (const kind of ['pull requests', 'commits', 'deployments', 'pipeline runs', 'incidents', 'work items', 'milestones']) {
      expect(Number(new RegExp(`([\\d,]+) ${kind}`).exec(model)?.[1]?.replaceAll(',', '') ?? 0), `${kind} in "${model}"`).toBeGreaterThan(
        0,
      );
    }
    const links = await ptel('link');
    expect(links.stdout).toMatch(/^links: commits -> pull requests: explicit [1-9]/m);
    expect(links.stdout).toMatch(/^links: deployments -> commits: explicit [1-9]/m);

    const store = await target.open(database, path.join(dir, 'data'));
    let before: Array<{ source: string; n: string }>;
    try {
      before = await queryRows<{ source: string; n: string }>(
        store,
        'SELECT source, count() AS n FROM raw_events FINAL GROUP BY source ORDER BY source',
      );
      expect(before.map((r) => r.source)).toEqual(['github', 'gitlab', 'jira', 'pagerduty']);
      for (const r of before) expect(Number(r.n)).toBeGreaterThan(10);
      const runs = await queryRows<{ status: string; n: string }>(store, 'SELECT status, count() AS n FROM sync_runs GROUP BY status');
      expect(runs.map((r) => r.status)).toEqual(['ok']);
      const cursors = await queryRows<{ n: string }>(store, 'SELECT count() AS n FROM sync_cursors FINAL');
      expect(Number(cursors[0]!.n)).toBeGreaterThan(0);
    } finally {
      await store.close();
    }

    const again = await ptel('sync');
    expect(again.status, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^0 records from \d+ requests; (\d+) of \1 streams ok; stored$/m);
  });

  it('forecasts the open Jira versions and epics it pulled: numbers, drivers, and why a milestone has none', async () => {
    // What the fake Jira serves open: versions neither released nor archived, epics not done; with their items.
    const open = new Map<string, { name: string; committed: string | null; openItems: string[]; items: number }>();
    const issues = [...jira.data.issues.values()].map((i) => ({ id: text(i['id']), key: text(i['key']), f: fieldsOf(i) }));
    const milestone = (name: string, committed: unknown, inIt: (f: Json) => boolean) => {
      const items = issues.filter((i) => inIt(i.f));
      return {
        name,
        committed: typeof committed === 'string' ? committed : null,
        openItems: items.filter((i) => statusCategory(i.f) !== 'done').map((i) => i.key),
        items: items.length,
      };
    };
    for (const v of [...jira.data.versions.values()].flat()) {
      if (v['released'] === true || v['archived'] === true) continue;
      const id = text(v['id']);
      const inVersion = (f: Json): boolean => asList(f['fixVersions']).some((x) => text(x['id']) === id);
      open.set(`jira:version/${id}`, milestone(text(v['name']), v['releaseDate'], inVersion));
    }
    for (const e of issues) {
      if (text(asRecord(e.f['issuetype'])['name']) !== 'Epic' || statusCategory(e.f) === 'done') continue;
      open.set(
        `jira:epic/${e.id}`,
        milestone(text(e.f['summary']), e.f['duedate'], (f) => text(asRecord(f['parent'])['id']) === e.id),
      );
    }
    const openKeys = [...open.keys()].sort();
    expect(openKeys.length).toBeGreaterThan(0);

    const listed = await ptel('forecast', 'list', '--format', 'json');
    expect(listed.status, listed.stderr).toBe(0);
    const first = JSON.parse(listed.stdout) as ForecastList;
    // One forecast per open milestone pulled, under its Jira name and committed date.
    expect(first.rows.map((r) => r.key).sort()).toEqual(openKeys);
    for (const r of first.rows) expect([r.milestone, r.committed], r.key).toEqual([open.get(r.key)!.name, open.get(r.key)!.committed]);
    const day = first.runAt.slice(0, 10);
    const numbered = first.rows.filter((r) => r.reason === null);
    expect(numbered.length, JSON.stringify(first.rows)).toBeGreaterThan(0);
    for (const r of numbered) {
      expect(day <= r.p50! && r.p50! <= r.p85! && r.p85! <= r.p95!, `${r.key}: ${day} ${r.p50} ${r.p85} ${r.p95}`).toBe(true);
      if (r.committed === null) {
        expect([r.confidence, r.band], r.key).toEqual([null, null]);
        continue;
      }
      const c = r.confidence!;
      expect(c >= 0 && c <= 1, `${r.key}: ${c}`).toBe(true);
      expect(r.band, r.key).toBe(c >= 0.8 ? 'on track' : c >= 0.5 ? 'at risk' : 'off track');
      // The confidence agrees with the dates: none done by a date already past, under half before the P50, most by the P85.
      if (r.committed < day) expect(c, r.key).toBe(0);
      if (r.committed < r.p50!) expect(c, r.key).toBeLessThan(0.5);
      if (r.committed >= r.p85!) expect(c, r.key).toBeGreaterThanOrEqual(0.85);
    }
    for (const r of first.rows.filter((x) => x.reason !== null)) {
      expect([r.p50, r.p85, r.p95, r.confidence, r.band], r.key).toEqual([null, null, null, null, null]);
      expect(r.reason, r.key).not.toBe('');
    }

    // One milestone shown: its fan of dates, the pulled items left in it, and the drivers.
    const one = numbered[0]!;
    const shown = await ptel('forecast', 'show', one.milestone);
    expect(shown.status, shown.stderr).toBe(0);
    const lines = shown.stdout.split('\n');
    const runMinute = `${first.runAt.slice(0, 16).replace('T', ' ')} UTC`;
    expect(lines[0]).toBe(`${one.milestone} (${one.key}), program ${one.program}, team ${one.team}; forecast of ${runMinute}`);
    expect(lines[1]).toContain(`P50 ${one.p50}  P85 ${one.p85}  P95 ${one.p95}`);
    const left = open.get(one.key)!.openItems;
    expect(shown.stdout).toContain(`remaining: ${left.length} open items`);
    expect(lines).toContain('drivers:');
    const drivers = lines.slice(
      lines.indexOf('drivers:') + 1,
      lines.findIndex((l) => l.startsWith('critical path:')),
    );
    expect(drivers.length).toBeGreaterThan(0);
    for (const d of drivers) expect(d).toMatch(/^ {2}- \S/);
    // the items behind the remaining scope are the open issues Jira has in the milestone
    const explained = await ptel('forecast', 'explain', one.key, '--format', 'json');
    expect(explained.status, explained.stderr).toBe(0);
    const remaining = (JSON.parse(explained.stdout) as { remaining: Array<{ key: string }> }).remaining.map((r) => r.key);
    expect(remaining.sort()).toEqual([...left].sort());

    // Asked for more history than the pulled data holds, each milestone says why it has no number.
    const strict = path.join(dir, 'ptel-strict.yaml');
    const settings = parse(readFileSync(configFile, 'utf8')) as object;
    writeFileSync(strict, stringify({ ...settings, metrics: { forecast: { minDoneItems: 1000 } } }));
    const again = await runCli(['run', '--once', '--config', strict], { env, cwd: dir });
    expect(again.status, again.stdout + again.stderr).toBe(0);
    const second = JSON.parse((await ptel('forecast', 'list', '--format', 'json')).stdout) as ForecastList;
    expect(second.runAt > first.runAt).toBe(true);
    expect(second.rows.map((r) => r.key).sort()).toEqual(openKeys);
    for (const r of second.rows) {
      expect([r.p50, r.p85, r.p95, r.confidence, r.band], r.key).toEqual([null, null, null, null, null]);
      // A milestone with no item at all has no team to take a pace from; the others count the pulled done items.
      if (open.get(r.key)!.items === 0) {
        expect(r.reason, r.key).not.toBe('');
        continue;
      }
      const why = /^(\d+) done items and (\d+) weeks of history; a forecast needs 1000 and 6$/.exec(r.reason ?? '');
      expect(why, `${r.key}: ${r.reason}`).not.toBeNull();
      expect(Number(why![1]), r.key).toBeGreaterThan(0);
      expect(Number(why![2]), r.key).toBeGreaterThanOrEqual(1);
      expect(Number(why![2]), r.key).toBeLessThanOrEqual(12);
    }
    const whyNot = await ptel('forecast', 'show', one.milestone);
    expect(whyNot.stdout.split('\n')[1]).toBe(`  no number: ${second.rows.find((r) => r.key === one.key)!.reason}`);
    // the earlier run is kept: as of its instant the milestone has its numbers
    const before = JSON.parse((await ptel('forecast', 'list', '--format', 'json', '--as-of', first.runAt)).stdout) as ForecastList;
    expect(before.rows.find((r) => r.key === one.key)).toEqual(one);
  });

  it('leaves what a sync pulled stored in embedded mode, with no normalizer running', async () => {
    const dataDir = path.join(dir, 'sync-only');
    const syncEnv = { ...env, PTEL_DATA_DIR: dataDir, ...target.env(syncDatabase) };
    await migrateServer(syncEnv);
    const r = await runCli(['sync', 'github', '--config', configFile], { env: syncEnv, cwd: dir });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const pulled = Number(/^(\d+) records from/m.exec(r.stdout)?.[1] ?? 0);
    expect(pulled).toBeGreaterThan(10);
    expect(r.stdout).toMatch(/; stored$/m);
    const store = await target.open(syncDatabase, dataDir);
    try {
      const [events] = await queryRows<{ n: string }>(store, "SELECT count() AS n FROM raw_events FINAL WHERE source = 'github'");
      expect(Number(events!.n)).toBe(pulled);
      const [prs] = await queryRows<{ n: string }>(store, 'SELECT count() AS n FROM pull_requests FINAL');
      expect(Number(prs!.n)).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });

  it('stops a stream whose credentials are refused and says so, while the other sources go on', async () => {
    const r = await runCli(['sync', '--config', configFile], { env: { ...env, PTEL_GITLAB_TOKEN: 'wrong' }, cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/failed: gitlab\/\w+ .*401/);
    expect(r.stdout).toMatch(/sync github\/pull_requests .*: done/);
  });
});
