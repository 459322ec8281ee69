import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus } from '../../infra/bus/types.js';
import { loadConfig } from '../../infra/config/load.js';
import type { Config } from '../../infra/config/schema.js';
import { deterministicEventId, type RawEvent } from '../../schemas/raw-event.js';
import {
  gitlabDataset,
  startGitlabFake,
  type FakeIssue,
  type FakeMilestone,
  type FakeProject,
  type GitlabFake,
} from '../../test/fakes/gitlab.js';
import { ManualClock } from '../../test/support/clock.js';
import { quietLogger, tempDir, repoRoot, waitFor } from '../../test/support/harness.js';
import type { CursorStore } from '../core/cursor-store.js';
import { subjects } from '../core/entities.js';
import { runSync, type SyncFilter } from '../core/runner.js';
import { gitlabConnector, gitlabWebhook } from './index.js';
import { deploymentVersion, issueVersion, jobVersion, mergeRequestVersion, pipelineVersion } from './records.js';
import { timeVersion } from '../core/entities.js';
import { readTopic, startWebhookServer, syncTarget } from '../../test/support/bus.js';

const FIXTURES = path.join(repoRoot, 'test/fixtures/gitlab');
const logger = quietLogger();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function config(fake: GitlabFake | undefined, projects: string[], env: Record<string, string> = {}): Config {
  return loadConfig({
    env: { PTEL_GITLAB_TOKEN: 'test-token', PTEL_GITLAB_WEBHOOK_TOKEN: 'hook-secret', ...env },
    overrides: { 'sources.gitlab': { baseUrl: fake?.url ?? 'https://gitlab.example', projects } },
    cwd: tempDir(),
  });
}

/** Two projects, each with two milestones and three issues besides its CI entities. */
async function setup(
  projects: FakeProject[] = gitlabDataset({ milestones: 2, issues: 3 }),
): Promise<{ fake: GitlabFake; bus: Bus; cursors: CursorStore }> {
  const fake = await startGitlabFake({ projects });
  const target = await syncTarget();
  cleanups.push(
    () => fake.close(),
    () => target.close(),
  );
  return { fake, bus: target.bus, cursors: target.cursors };
}

const sync = (cfg: Config, bus: Bus, cursors: CursorStore, filter?: SyncFilter) =>
  runSync({ config: cfg, connectors: [gitlabConnector], bus, cursors, logger, ...(filter ? { filter } : {}) });

const id = (type: string, subject: string, version: string): string => deterministicEventId('gitlab', type, subject, version);

/** The ids a full pull of the dataset must produce. */
function expectedIds(host: string, projects: FakeProject[]): Set<string> {
  const ids = new Set<string>();
  for (const p of projects) {
    const path = p.path_with_namespace;
    for (const pl of p.pipelines) {
      ids.add(id('gitlab.pipeline', subjects.gitlabPipeline(host, path, pl.id), pipelineVersion(pl.created_at, pl.status)));
      for (const j of p.jobs.get(pl.id) ?? []) ids.add(id('gitlab.job', subjects.gitlabJob(host, path, j.id), jobVersion(j.status)));
    }
    for (const d of p.deployments)
      ids.add(id('gitlab.deployment', subjects.gitlabDeployment(host, path, d.id), deploymentVersion(d.status)));
    for (const mr of p.mergeRequests) {
      const v = mergeRequestVersion(mr.updated_at, mr.state);
      ids.add(id('gitlab.merge_request', subjects.gitlabMergeRequest(host, path, mr.iid), v));
      ids.add(id('gitlab.merge_request_commits', subjects.gitlabMergeRequest(host, path, mr.iid), v));
    }
    for (const m of p.milestones) ids.add(milestoneId(host, path, m));
    for (const i of p.issues) for (const t of ['gitlab.issue', 'gitlab.issue_events']) ids.add(issueId(t, host, path, i));
  }
  return ids;
}

/** Versions of issues and milestones are their updated_at to the second, and their state. */
const toSecond = (at: string): string => new Date(Math.floor(Date.parse(at) / 1000) * 1000).toISOString();
const milestoneId = (host: string, path: string, m: FakeMilestone): string =>
  id('gitlab.milestone', subjects.gitlabMilestone(host, path, m.id), timeVersion(toSecond(m.updated_at), m.state));
const issueId = (type: string, host: string, path: string, i: FakeIssue): string =>
  id(type, subjects.gitlabIssue(host, path, i.iid), issueVersion(i.updated_at, i.state));

const hostOf = (fake: GitlabFake): string => new URL(fake.url).host;
const projectPaths = (ps: FakeProject[]): string[] => ps.map((p) => p.path_with_namespace);

describe('gitlab pull', () => {
  it('full sync publishes every entity; a no-change sync publishes nothing for one request per stream and project', async () => {
    const { fake, bus, cursors } = await setup();
    const cfg = config(fake, projectPaths(fake.projects));
    const first = await sync(cfg, bus, cursors);
    expect(first.every((r) => r.status === 'ok')).toBe(true);
    const events = await readTopic(bus, 'raw.gitlab');
    expect(new Set(events.map((e) => e.id))).toEqual(expectedIds(hostOf(fake), fake.projects));
    // Per project: pipelines, jobs, deployments, merge requests and their commit lists, milestones, issues and their events.
    expect(events).toHaveLength(2 * (5 + 10 + 3 + 3 + 3 + 2 + 3 + 3));
    const pipeline = events.find((e) => e.type === 'gitlab.pipeline');
    // Projects are pulled concurrently: the first pipeline event may be any project's.
    const project = fake.projects.find((p) => pipeline?.subject.includes(`/${p.path_with_namespace}/`));
    expect(project).toBeDefined();
    expect(pipeline?.data).toEqual(project?.pipelines.find((p) => pipeline?.subject.endsWith(`/pipelines/${p.id}`)));
    expect(pipeline?.connector).toBe('gitlab/pipelines');

    fake.resetCounts();
    const second = await sync(cfg, bus, cursors);
    expect(second.reduce((n, r) => n + r.records, 0)).toBe(0);
    expect(fake.requests.total).toBe(5 * 2);
    expect(await readTopic(bus, 'raw.gitlab')).toHaveLength(events.length);
  });

  it('an incremental sync picks up exactly the changed entities', async () => {
    const { fake, bus, cursors } = await setup();
    const cfg = config(fake, projectPaths(fake.projects));
    await sync(cfg, bus, cursors);
    const before = new Set((await readTopic(bus, 'raw.gitlab')).map((e) => e.id));
    const project = fake.projects[1]!;
    const pl = project.pipelines[2]!;
    pl.status = 'running';
    pl.updated_at = fake.tick();
    for (const j of project.jobs.get(pl.id)!) j.status = 'running';
    const dep = project.deployments[0]!;
    dep.status = 'failed';
    dep.updated_at = fake.tick();
    const results = await sync(cfg, bus, cursors);
    expect(results.reduce((n, r) => n + r.records, 0)).toBe(1 + 2 + 1);
    const added = (await readTopic(bus, 'raw.gitlab')).filter((e) => !before.has(e.id));
    const host = hostOf(fake);
    const path = project.path_with_namespace;
    expect(new Set(added.map((e) => e.id))).toEqual(
      new Set([
        id('gitlab.pipeline', subjects.gitlabPipeline(host, path, pl.id), pipelineVersion(pl.created_at, 'running')),
        ...project.jobs.get(pl.id)!.map((j) => id('gitlab.job', subjects.gitlabJob(host, path, j.id), jobVersion('running'))),
        id('gitlab.deployment', subjects.gitlabDeployment(host, path, dep.id), deploymentVersion('failed')),
      ]),
    );
  });

  it('a changed issue costs two requests beyond the listings and brings its new events; a changed milestone comes alone', async () => {
    const { fake, bus, cursors } = await setup();
    const cfg = config(fake, projectPaths(fake.projects));
    await sync(cfg, bus, cursors);
    const before = new Set((await readTopic(bus, 'raw.gitlab')).map((e) => e.id));
    const project = fake.projects[0]!;
    // Issue 2 (open, in the second milestone) is closed and taken out of its milestone.
    const issue = project.issues[1]!;
    const left = issue.milestone!;
    const at = fake.tick();
    Object.assign(issue, { state: 'closed', closed_at: at, updated_at: at, milestone: null });
    const base = { user: { id: 1, username: 'dev' }, resource_type: 'Issue' as const, resource_id: issue.id, created_at: at };
    project.stateEvents.get(issue.iid)!.push({ ...base, id: 90_001, state: 'closed' });
    project.milestoneEvents.get(issue.iid)!.push({ ...base, id: 90_002, milestone: left, action: 'remove' });
    // The first milestone is planned a week later.
    const milestone = project.milestones[0]!;
    milestone.due_date = '2099-01-08';
    milestone.updated_at = fake.tick();
    fake.resetCounts();
    const results = await sync(cfg, bus, cursors);
    expect(results.every((r) => r.status === 'ok')).toBe(true);
    expect(fake.requests.total).toBe(5 * 2 + 2);
    const path = project.path_with_namespace;
    const encoded = encodeURIComponent(path);
    expect(fake.requests.byPath.get(`/api/v4/projects/${encoded}/issues/${issue.iid}/resource_state_events`)).toBe(1);
    expect(fake.requests.lastQuery.get(`/api/v4/projects/${encoded}/milestones`)?.get('updated_after')).toBe(
      new Date(Math.max(...project.milestones.filter((m) => m !== milestone).map((m) => Date.parse(m.updated_at)))).toISOString(),
    );
    const added = (await readTopic(bus, 'raw.gitlab')).filter((e) => !before.has(e.id));
    const host = hostOf(fake);
    expect(new Set(added.map((e) => e.id))).toEqual(
      new Set([
        issueId('gitlab.issue', host, path, issue),
        issueId('gitlab.issue_events', host, path, issue),
        milestoneId(host, path, milestone),
      ]),
    );
    const events = added.find((e) => e.type === 'gitlab.issue_events')?.data as Record<string, unknown[]>;
    expect(events['resource_state_events']).toHaveLength(1);
    expect(events['resource_milestone_events']?.map((e) => (e as { action: string }).action)).toEqual(['add', 'remove']);
    expect(added.find((e) => e.type === 'gitlab.milestone')?.data).toMatchObject({ id: milestone.id, due_date: '2099-01-08' });
    expect(added.find((e) => e.type === 'gitlab.issue')?.connector).toBe('gitlab/issues');
  });

  it('the first sync lists every milestone, however old, over several pages; the next asks from the newest update and gets none', async () => {
    // Far older than the initial window of the other streams.
    const projects = gitlabDataset({
      projects: 1,
      pipelines: 0,
      deployments: 0,
      mergeRequests: 0,
      issues: 0,
      milestones: 230,
      start: Date.UTC(2020, 0, 1),
    });
    const { fake, bus, cursors } = await setup(projects);
    const cfg = config(fake, projectPaths(projects));
    const [first] = await sync(cfg, bus, cursors, { stream: 'milestones' });
    expect(first).toMatchObject({ status: 'ok', records: 230, requests: 3 });
    const events = await readTopic(bus, 'raw.gitlab');
    expect(new Set(events.map((e) => e.id))).toEqual(expectedIds(hostOf(fake), projects));
    fake.resetCounts();
    const [again] = await sync(cfg, bus, cursors, { stream: 'milestones' });
    expect(again).toMatchObject({ status: 'ok', records: 0, requests: 1 });
    const newest = Math.max(...projects[0]!.milestones.map((m) => Date.parse(m.updated_at)));
    expect(fake.requests.lastQuery.get('/api/v4/projects/acme%2Fservice-0/milestones')?.get('updated_after')).toBe(
      new Date(newest).toISOString(),
    );
  });

  it('pages through long listings, including a page of items that share one updated_at', async () => {
    const projects = gitlabDataset({ projects: 1, pipelines: 250, jobsPerPipeline: 1, deployments: 0, mergeRequests: 0 });
    // 150 pipelines updated at the same instant: only X-Next-Page can get past them.
    const shared = projects[0]!.pipelines[50]!.updated_at;
    for (const p of projects[0]!.pipelines.slice(50, 200)) p.updated_at = shared;
    const { fake, bus, cursors } = await setup(projects);
    const cfg = config(fake, projectPaths(projects));
    const [result] = await sync(cfg, bus, cursors, { stream: 'pipelines' });
    expect(result?.status).toBe('ok');
    expect(result?.pages).toBeGreaterThanOrEqual(3);
    const events = await readTopic(bus, 'raw.gitlab');
    expect(events.filter((e) => e.type === 'gitlab.pipeline')).toHaveLength(250);
    expect(new Set(events.map((e) => e.id)).size).toBe(500);
    fake.resetCounts();
    const again = await sync(cfg, bus, cursors, { stream: 'pipelines' });
    expect(again[0]?.records).toBe(0);
    expect(fake.requests.total).toBe(1);
  });

  it('honours 429 Retry-After and retries 5xx', async () => {
    const { fake, bus, cursors } = await setup();
    fake.inject({ status: 429, retryAfter: 1, match: '/deployments' });
    fake.inject({ status: 502, match: '/merge_requests', times: 2 });
    const results = await sync(config(fake, projectPaths(fake.projects)), bus, cursors);
    expect(results.map((r) => r.status)).toEqual(results.map(() => 'ok'));
    expect(new Set((await readTopic(bus, 'raw.gitlab')).map((e) => e.id))).toEqual(expectedIds(hostOf(fake), fake.projects));
  });

  describe("on the sync's clock", () => {
    /** A day after the dataset; far from the wall clock, so a wait counted from it would show. */
    const T0 = Date.UTC(2026, 10, 2);
    /** Three pipelines of one job each: the pipelines stream reads them in four requests (the list, then each one's jobs). */
    const pipelinesOnly = () =>
      gitlabDataset({
        projects: 1,
        pipelines: 3,
        jobsPerPipeline: 1,
        deployments: 0,
        mergeRequests: 0,
        milestones: 0,
        issues: 0,
        start: T0 - 86_400_000,
      });

    async function onClock(options: { rateLimit?: number } = {}) {
      const clock = new ManualClock(T0);
      const projects = pipelinesOnly();
      const fake = await startGitlabFake({ projects, ...options, rateWindowSeconds: 60, now: () => clock.now() });
      const target = await syncTarget();
      cleanups.push(
        () => fake.close(),
        () => target.close(),
      );
      // One request at a time, so each window's budget is spent by one request.
      const cfg = loadConfig({
        env: { PTEL_GITLAB_TOKEN: 'test-token' },
        overrides: { 'sources.gitlab': { baseUrl: fake.url, projects: projectPaths(projects), concurrency: 1 } },
        cwd: tempDir(),
      });
      const running = runSync({
        config: cfg,
        connectors: [gitlabConnector],
        bus: target.bus,
        cursors: target.cursors,
        logger,
        clock,
        filter: { stream: 'pipelines' },
      });
      let done = false;
      void running.finally(() => (done = true)).catch(() => undefined);
      /** Until the sync has finished, or sends nothing more until the clock moves. */
      const idle = () =>
        waitFor(
          'the sync to finish or wait on the clock',
          () => done || clock.pending > 0,
          (v) => v,
          { timeoutMs: 10_000, intervalMs: 5 },
        );
      const expected = expectedIds(hostOf(fake), projects);
      expect(expected.size).toBe(6);
      return { clock, fake, bus: target.bus, running, idle, isDone: () => done, expected };
    }

    it('spends the last request of a window, then waits for RateLimit-Reset before the next, and not a moment before', async () => {
      // One request a minute: every answer says ratelimit-remaining: 0 and the reset at the window's end.
      const h = await onClock({ rateLimit: 1 });
      await h.idle();
      expect(h.fake.requests.total).toBe(1);
      expect(h.clock.pending).toBe(1);
      expect(h.clock.nextDue()).toBe(T0 + 60_000);
      await h.clock.set(T0 + 59_999);
      expect(h.fake.requests.total).toBe(1);
      expect(h.clock.pending).toBe(1);
      // Each step moves the clock to the next reset: one more request per window, never one a window has no room for.
      for (let windows = 1; ; windows++) {
        expect(windows).toBeLessThan(10);
        await h.clock.set(h.clock.nextDue()!);
        await h.idle();
        if (h.isDone()) break;
        expect(h.fake.requests.total).toBe(windows + 1);
        expect(h.clock.nextDue()).toBe(T0 + (windows + 1) * 60_000);
      }
      const results = await h.running;
      expect(results.map((r) => r.status)).toEqual(['ok']);
      expect(h.fake.requests.total).toBe(4);
      // The last answer also spent its window: the sync ended at that window's reset.
      expect(h.clock.now()).toBe(T0 + 4 * 60_000);
      expect(new Set((await readTopic(h.bus, 'raw.gitlab')).map((e) => e.id))).toEqual(h.expected);
    });

    it('waits out a 429 for its Retry-After on the clock, and not a moment before', async () => {
      const h = await onClock();
      h.fake.inject({ status: 429, retryAfter: 120, match: '/pipelines' });
      await h.idle();
      expect(h.fake.requests.total).toBe(1);
      const due = h.clock.nextDue()!;
      expect(due).toBeGreaterThanOrEqual(T0 + 120_000);
      expect(due).toBeLessThanOrEqual(T0 + 120_250);
      await h.clock.set(T0 + 119_999);
      expect(h.fake.requests.total).toBe(1);
      expect(h.clock.pending).toBe(1);
      await h.clock.set(due);
      const results = await h.running;
      expect(results.map((r) => r.status)).toEqual(['ok']);
      expect(h.fake.requests.total).toBeGreaterThan(1);
      expect(new Set((await readTopic(h.bus, 'raw.gitlab')).map((e) => e.id))).toEqual(h.expected);
    });
  });

  it('a 401 stops that stream with a clear message while the others complete', async () => {
    const { fake, bus, cursors } = await setup();
    fake.inject({ status: 401, match: 'acme%2Fservice-1/deployments', times: 100 });
    const results = await sync(config(fake, projectPaths(fake.projects)), bus, cursors);
    const failed = results.filter((r) => r.status === 'failed');
    expect(failed.map((r) => `${r.stream} ${r.scope}`)).toEqual(['deployments acme/service-1']);
    expect(failed[0]?.error).toMatch(/401 unauthorized.*PTEL_GITLAB_TOKEN/);
    expect(results.filter((r) => r.status === 'ok')).toHaveLength(9);
  });

  it('an unknown project fails with a 404 naming the setting', async () => {
    const { fake, bus, cursors } = await setup();
    const results = await sync(config(fake, ['acme/missing']), bus, cursors, { stream: 'pipelines' });
    expect(results[0]?.error).toMatch(/404 not found.*sources\.gitlab\.projects/);
  });

  it('a numeric project id gives the same subjects as its path', async () => {
    const { fake, bus, cursors } = await setup(gitlabDataset({ projects: 1 }));
    await sync(config(fake, ['100']), bus, cursors);
    expect(new Set((await readTopic(bus, 'raw.gitlab')).map((e) => e.id))).toEqual(expectedIds(hostOf(fake), fake.projects));
  });

  it('after a crash mid-sync, a restart emits nothing missing and nothing under a new id', async () => {
    const base = gitlabDataset({ projects: 1, pipelines: 350, jobsPerPipeline: 1, deployments: 0, mergeRequests: 0 });
    const dataset = (): FakeProject[] => structuredClone(base);
    const clean = await setup(dataset());
    await sync(config(clean.fake, ['acme/service-0']), clean.bus, clean.cursors);
    // The two fakes listen on different ports, so compare what the ids are made of, less the host.
    const keys = (events: RawEvent[], fake: GitlabFake): Set<string> =>
      new Set(events.map((e) => `${e.type} ${e.subject.replace(hostOf(fake), '')} ${e.entityversion}`));
    const cleanIds = keys(await readTopic(clean.bus, 'raw.gitlab'), clean.fake);

    const { fake, bus, cursors } = await setup(dataset());
    let publishes = 0;
    const failing: Bus = {
      ...bus,
      kind: bus.kind,
      publish: (topic, messages) => (++publishes > 2 ? Promise.reject(new Error('bus down')) : bus.publish(topic, messages)),
    };
    const crashed = await sync(config(fake, ['acme/service-0']), failing, cursors);
    expect(crashed[0]?.status).toBe('failed');
    const partial = await readTopic(bus, 'raw.gitlab');
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(cleanIds.size);
    await sync(config(fake, ['acme/service-0']), bus, cursors);
    const all = await readTopic(bus, 'raw.gitlab');
    expect(keys(all, fake)).toEqual(cleanIds);
    // Re-read pages give the same ids: at most the page in flight at the crash appears twice.
    expect(new Set(all.map((e) => e.id)).size).toBe(cleanIds.size);
  });

  it('doctor reports the token, each project and its pipelines', async () => {
    const { fake } = await setup();
    const cfg = config(fake, ['acme/service-0', 'acme/nope']);
    const checks = await gitlabConnector.doctor(gitlabConnector.client(cfg, logger), cfg);
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['gitlab token', true],
      ['gitlab project acme/service-0', true],
      ['gitlab pipelines of acme/service-0', true],
      ['gitlab project acme/nope', false],
      ['gitlab pipelines of acme/nope', false],
    ]);
    const bad = config(fake, ['acme/service-0'], { PTEL_GITLAB_TOKEN: 'wrong' });
    const [token] = await gitlabConnector.doctor(gitlabConnector.client(bad, logger), bad);
    expect(token?.ok).toBe(false);
    expect(token?.detail).toMatch(/401/);
  });
});

describe('gitlab webhooks', () => {
  async function server(cfg: Config): Promise<{ url: string; bus: Bus }> {
    const ws = await startWebhookServer([gitlabWebhook], cfg);
    const bus = ws.bus;
    const running = { url: ws.url, close: () => ws.close() };
    cleanups.push(
      () => running.close(),
      () => bus.close(),
    );
    return { url: `${running.url}/webhooks/gitlab`, bus };
  }
  const fixture = (name: string): string => readFileSync(path.join(FIXTURES, name), 'utf8');
  const post = (url: string, body: string, event: string, token: string | null = 'hook-secret') =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-gitlab-event': event, ...(token !== null ? { 'x-gitlab-token': token } : {}) },
      body,
    });
  const cfg = () => config(undefined, []);
  const host = 'gitlab.example';

  it('maps real deliveries of each kind to the expected records', async () => {
    const { url, bus } = await server(cfg());
    const cases: Array<[string, string, Array<[string, string, string]>]> = [
      [
        'pipeline_hook__pipeline_succeeded.json',
        'Pipeline Hook',
        [
          [
            'gitlab.pipeline',
            subjects.gitlabPipeline(host, 'TomaszKolek/my-awesome-project', 4414206),
            pipelineVersion('2016-09-28 20:04:55 UTC', 'success'),
          ],
          ['gitlab.job', subjects.gitlabJob(host, 'TomaszKolek/my-awesome-project', 4541113), jobVersion('success')],
          ['gitlab.job', subjects.gitlabJob(host, 'TomaszKolek/my-awesome-project', 4541112), jobVersion('success')],
        ],
      ],
      [
        'build_succeeded.json',
        'Job Hook',
        [['gitlab.job', subjects.gitlabJob(host, 'TomaszKolek/my-awesome-project', 4537823), jobVersion('success')]],
      ],
      [
        'job_hook__build_created.json',
        'Job Hook',
        [['gitlab.job', subjects.gitlabJob(host, 'gitlab-org/gitlab-test', 1977), jobVersion('created')]],
      ],
      [
        'deployment_hook__succeeded.json',
        'Deployment Hook',
        [['gitlab.deployment', subjects.gitlabDeployment(host, 'vedant8600317/test', 988572802), deploymentVersion('success')]],
      ],
      [
        'merge_request_merged.json',
        'Merge Request Hook',
        [
          [
            'gitlab.merge_request',
            subjects.gitlabMergeRequest(host, 'tomaszkolek0/my-awesome-project', 3),
            mergeRequestVersion('2016-08-22T20:41:06Z', 'merged'),
          ],
        ],
      ],
      [
        'issue_hook__incident_closed.json',
        'Issue Hook',
        [['gitlab.issue', subjects.gitlabIssue(host, 'sathwikshetty33-group/mVc', 6), issueVersion('2026-05-28T06:11:46.241Z', 'closed')]],
      ],
      ['push_hook.json', 'Push Hook', []],
    ];
    const expected = new Set<string>();
    for (const [file, event, records] of cases) {
      const res = await post(url, fixture(file), event);
      expect(res.status, file).toBe(202);
      expect(await res.json()).toEqual({ accepted: records.length });
      for (const [type, subject, version] of records) expected.add(id(type, subject, version));
    }
    const events = await readTopic(bus, 'raw.gitlab');
    expect(new Set(events.map((e) => e.id))).toEqual(expected);
    const deployment = events.find((e) => e.type === 'gitlab.deployment');
    expect(deployment?.data).toEqual(JSON.parse(fixture('deployment_hook__succeeded.json')));
    expect(deployment?.time).toBe('2025-05-02T11:55:16.000Z');
    expect(deployment?.connector).toBe('webhook/gitlab');
  });

  it('refuses a wrong or missing token with 401 and publishes nothing', async () => {
    const { url, bus } = await server(cfg());
    expect((await post(url, fixture('deployment_hook.json'), 'Deployment Hook', 'nope')).status).toBe(401);
    expect((await post(url, fixture('deployment_hook.json'), 'Deployment Hook', null)).status).toBe(401);
    expect(await readTopic(bus, 'raw.gitlab')).toHaveLength(0);
  });

  it('answers 400 to malformed JSON and to a delivery lacking a field it needs', async () => {
    const { url } = await server(cfg());
    expect((await post(url, '{"object_kind": "pipeline",', 'Pipeline Hook')).status).toBe(400);
    const body = JSON.parse(fixture('deployment_hook.json')) as Record<string, unknown>;
    delete body['deployment_id'];
    const res = await post(url, JSON.stringify(body), 'Deployment Hook');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/deployment_id/);
  });

  it('a delivery sent twice gives the same event ids', async () => {
    const { url, bus } = await server(cfg());
    for (let i = 0; i < 2; i++) expect((await post(url, fixture('pipeline_started.json'), 'Pipeline Hook')).status).toBe(202);
    const events = await readTopic(bus, 'raw.gitlab');
    expect(events.length).toBe(2 * (events.length / 2));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length / 2);
  });

  it('a pulled merge request and its webhook of the same version share one event id', async () => {
    const delivery = JSON.parse(fixture('merge_request_merged.json')) as { object_attributes: { iid: number; id: number } };
    const projects = gitlabDataset({ projects: 1, pipelines: 0, deployments: 0, mergeRequests: 3 });
    const project = projects[0]!;
    project.path_with_namespace = 'tomaszkolek0/my-awesome-project';
    const mr = project.mergeRequests[2]!;
    Object.assign(mr, {
      iid: delivery.object_attributes.iid,
      id: delivery.object_attributes.id,
      state: 'merged',
      updated_at: '2016-08-22T20:41:06.482Z',
    });
    project.commits.set(mr.iid, []);
    const { fake, bus: pullBus, cursors } = await setup(projects);
    const c = loadConfig({
      env: { PTEL_GITLAB_TOKEN: 'test-token', PTEL_GITLAB_WEBHOOK_TOKEN: 'hook-secret' },
      overrides: { 'sources.gitlab': { baseUrl: fake.url, projects: [project.path_with_namespace] } },
      cwd: tempDir(),
    });
    await runSync({
      config: c,
      connectors: [gitlabConnector],
      bus: pullBus,
      cursors,
      logger,
      backfillSince: new Date('2016-01-01'),
    });
    const { url, bus } = await server(c);
    expect((await post(url, fixture('merge_request_merged.json'), 'Merge Request Hook')).status).toBe(202);
    const [hooked] = await readTopic(bus, 'raw.gitlab');
    const pulled = (await readTopic(pullBus, 'raw.gitlab')).filter((e) => e.type === 'gitlab.merge_request');
    expect(pulled.map((e) => e.id)).toContain(hooked?.id);
  });
});
