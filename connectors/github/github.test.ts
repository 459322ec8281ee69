import { generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLocalBus } from '../../infra/bus/local.js';
import type { Bus } from '../../infra/bus/types.js';
import { loadConfig } from '../../infra/config/load.js';
import { createLogger, type Logger } from '../../infra/observability/logger.js';
import type { Config } from '../../infra/config/schema.js';
import { deterministicEventId, type RawEvent } from '../../schemas/raw-event.js';
import {
  emptyRepo,
  issueEventJson,
  issueJson,
  milestoneJson,
  readEvents,
  startGithubFake,
  type FakeGithub,
  type FakeRepo,
} from '../../test/fakes/github.js';
import { ManualClock } from '../../test/support/clock.js';
import { githubSourceConfig } from '../../test/support/github.js';
import { quietLogger, tempDir, testStore, waitFor } from '../../test/support/harness.js';
import { clickhouseCursorStore } from '../core/cursor-store.js';
import { runSync, type StreamProgress, type SyncFilter } from '../core/runner.js';
import { failureError } from './client.js';
import { githubConnector, githubWebhook } from './index.js';

const TOKEN = 'ghp_testtoken';
const REPOS = ['acme/payments-api', 'acme/payments-ledger'];
const STREAMS = githubConnector.streams.map((s) => s.name);

let fake: FakeGithub | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const githubConfig = (baseUrl: string, repositories: string[], extra: Record<string, unknown> = {}): Config =>
  githubSourceConfig(TOKEN, baseUrl, repositories, extra);

/**
 * A repository's plan, in the weeks the demo's history ends with: an open and a closed milestone, issues
 * in them (and a pull request, which GitHub lists among the issues), and their events: a milestone
 * move, a closing, a label (not history) and a pull request's closing (not an issue's).
 */
function addPlan(repo: FakeRepo, base: number): void {
  const name = String(repo.repo['full_name']);
  const q4 = milestoneJson(name, {
    id: base + 1,
    number: 1,
    title: 'Q4',
    due_on: '2026-12-15T08:00:00Z',
    created_at: '2026-10-01T09:00:00Z',
  });
  const q3 = milestoneJson(name, {
    id: base + 2,
    number: 2,
    title: 'Q3',
    due_on: '2026-09-30T07:00:00Z',
    created_at: '2026-07-01T09:00:00Z',
    updated_at: '2026-10-02T09:00:00Z',
    closed_at: '2026-10-02T09:00:00Z',
  });
  repo.milestones.set(1, q4).set(2, q3);
  const open = issueJson(name, { id: base + 11, number: 11, title: 'Refunds', created_at: '2026-10-03T09:00:00Z', milestone: q4 });
  const done = issueJson(name, {
    id: base + 12,
    number: 12,
    title: 'Receipts',
    created_at: '2026-10-03T10:00:00Z',
    updated_at: '2026-10-20T10:00:00Z',
    closed_at: '2026-10-20T10:00:00Z',
    labels: ['bug'],
    milestone: q4,
  });
  const pr = issueJson(name, { id: base + 13, number: 13, title: 'Fix receipts', created_at: '2026-10-19T10:00:00Z', pull_request: true });
  for (const i of [open, done, pr]) repo.issues.set(Number(i['number']), i);
  repo.issueEvents.push(
    issueEventJson(name, { id: base + 101, event: 'milestoned', created_at: '2026-10-03T09:00:01Z', issue: open, milestone: 'Q4' }),
    issueEventJson(name, { id: base + 102, event: 'labeled', created_at: '2026-10-03T10:00:01Z', issue: done }),
    issueEventJson(name, { id: base + 103, event: 'closed', created_at: '2026-10-20T10:00:00Z', issue: pr }),
    issueEventJson(name, { id: base + 104, event: 'closed', created_at: '2026-10-20T10:00:00Z', issue: done }),
  );
}

async function setup(options: { repos?: FakeRepo[]; repositories?: string[]; logger?: Logger } = {}) {
  fake = await startGithubFake({
    token: TOKEN,
    prefix: '/api/v3',
    ...(options.repos ? { repos: options.repos } : { demo: { teams: 1, months: 1 } }),
  });
  if (options.repos === undefined) [...fake.repos.values()].forEach((r, i) => addPlan(r, (i + 1) * 1000));
  const config = githubConfig(fake.baseUrl, options.repositories ?? REPOS);
  const bus = createLocalBus({ dir: tempDir('ptel-bus-'), pollMs: 10 });
  const cursors = clickhouseCursorStore(await testStore());
  const logger = options.logger ?? quietLogger();
  const sync = (filter?: SyncFilter, via: Bus = bus): Promise<StreamProgress[]> =>
    runSync({ config, connectors: [githubConnector], bus: via, cursors, logger, ...(filter ? { filter } : {}) });
  return { fake, config, bus, sync, events: () => readEvents(bus) };
}

const iso = (t: unknown): string => new Date(String(t)).toISOString();
const key = (e: Pick<RawEvent, 'type' | 'subject' | 'entityversion'>): string => `${e.type} ${e.subject} ${e.entityversion}`;
const keys = (events: RawEvent[]): string[] => events.map(key).sort();

/** What a full sync of one repository must publish, worked out from the fake's data by the rules in entities.ts. */
function expectedKeys(name: string, r: FakeRepo): string[] {
  const s = name.toLowerCase();
  const out = [`github.repository ${s} ${iso(r.repo['updated_at'])}`];
  for (const [n, pr] of r.pulls) {
    out.push(`github.pull_request ${s}#${n} ${iso(pr['updated_at'])}`);
    const commits = r.pullCommits.get(n) ?? [];
    const head = commits[commits.length - 1];
    if (head !== undefined) out.push(`github.pull_request_commits ${s}#${n} ${String(head['sha'])}`);
    for (const rv of r.reviews.get(n) ?? []) {
      out.push(`github.review ${s}#${n}/reviews/${String(rv['id'])} ${iso(rv['submitted_at'])}|${String(rv['state'])}`);
    }
  }
  for (const c of r.commits) out.push(`github.commit ${s}@${String(c['sha'])} ${String(c['sha'])}`);
  for (const [id, d] of r.deployments) {
    out.push(`github.deployment ${s}/deployments/${id} ${iso(d['updated_at'])}`);
    for (const st of r.statuses.get(id) ?? []) {
      out.push(`github.deployment_status ${s}/deployments/${id}/statuses/${String(st['id'])} ${iso(st['created_at'])}`);
    }
  }
  for (const [id, rel] of r.releases) out.push(`github.release ${s}/releases/${id} ${iso(rel['updated_at'])}`);
  for (const [id, run] of r.runs) {
    out.push(`github.workflow_run ${s}/actions/runs/${id} ${iso(run['updated_at'])}|3`);
    for (const j of r.jobs.get(id) ?? []) out.push(`github.workflow_job ${s}/actions/jobs/${String(j['id'])} ${iso(j['completed_at'])}|3`);
  }
  for (const m of r.milestones.values()) out.push(`github.milestone ${s}/milestones/${String(m['id'])} ${iso(m['updated_at'])}`);
  // Issues, not the pull requests GitHub lists with them; of their events, the history of issues.
  for (const [n, i] of r.issues) if (i['pull_request'] === undefined) out.push(`github.issue ${s}/issues/${n} ${iso(i['updated_at'])}`);
  for (const e of r.issueEvents) {
    const issue = e['issue'] as Record<string, unknown>;
    if (['closed', 'reopened', 'milestoned', 'demilestoned'].includes(String(e['event'])) && issue['pull_request'] === undefined)
      out.push(`github.issue_event ${s}/issues/events/${String(e['id'])} ${String(e['id'])}`);
  }
  return out;
}

const allExpected = (f: FakeGithub): string[] => REPOS.flatMap((n) => expectedKeys(n, f.repo(n))).sort();
const okAll = (results: StreamProgress[]): void => {
  for (const r of results) expect(r, `${r.stream} ${r.scope}: ${r.error ?? ''}`).toMatchObject({ status: 'ok' });
};

describe('github pull streams', () => {
  it('a full sync publishes every entity version once, with the ids the entity rules give', async () => {
    const h = await setup();
    const results = await h.sync();
    okAll(results);
    expect(results).toHaveLength(STREAMS.length * REPOS.length);
    const events = await h.events();
    expect(keys(events)).toEqual(allExpected(h.fake));
    for (const e of events) expect(e.id).toBe(deterministicEventId('github', e.type, e.subject, e.entityversion));
    expect(new Set(events.map((e) => e.connector))).toEqual(new Set(STREAMS.map((s) => `github/${s}`)));
    // Through the GHES prefix, every request with per_page=100 and the token.
    expect(h.fake.requests.log.every((l) => l.status === 200)).toBe(true);
  });

  it('a no-change incremental poll is one request per stream and repository, answered 304, and publishes nothing', async () => {
    const h = await setup();
    okAll(await h.sync());
    const before = (await h.events()).length;
    for (const stream of STREAMS) {
      h.fake.resetCounts();
      const results = await h.sync({ stream });
      okAll(results);
      expect(h.fake.requests.total, stream).toBe(REPOS.length);
      expect(h.fake.requests.notModified, stream).toBe(REPOS.length);
      expect(results.reduce((n, r) => n + r.records, 0)).toBe(0);
    }
    expect((await h.events()).length).toBe(before);
  });

  it('logs a no-change poll (every answer a 304) below warn: a healthy poll prints no error', async () => {
    const lines: Array<{ level: string; msg?: string }> = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString('utf8').split('\n'))
          if (line !== '') lines.push(JSON.parse(line) as { level: string; msg?: string });
        cb();
      },
    });
    const h = await setup({ logger: createLogger({ level: 'debug', destination }) });
    okAll(await h.sync());
    h.fake.resetCounts();
    lines.splice(0);
    okAll(await h.sync());
    expect(h.fake.requests.notModified).toBe(REPOS.length * STREAMS.length);
    expect(lines.filter((l) => l.level === 'warn' || l.level === 'error' || l.level === 'fatal')).toEqual([]);
    // The 304s are still there to see at debug level.
    expect(lines.filter((l) => l.level === 'debug' && / - 304 /.test(l.msg ?? ''))).toHaveLength(REPOS.length * STREAMS.length);
  });

  it('an incremental sync after a change publishes exactly the change', async () => {
    const h = await setup();
    okAll(await h.sync());
    const before = new Set((await h.events()).map((e) => e.id));
    const repo = h.fake.repo('acme/payments-api');
    const at = '2026-11-02T10:00:00Z';
    const s = 'acme/payments-api';
    // A pull request gets a new commit and a review.
    const [number, pr] = [...repo.pulls.entries()][0]!;
    const commits = repo.pullCommits.get(number) ?? [];
    const sha = 'f'.repeat(40);
    repo.pullCommits.set(number, [...commits, { ...commits[0], sha, commit: { committer: { date: at } } }]);
    repo.pulls.set(number, { ...pr, updated_at: at });
    repo.reviews.set(number, [...(repo.reviews.get(number) ?? []), { id: 99_000_001, state: 'APPROVED', submitted_at: at }]);
    // The default branch gets a commit, a deployment gets a status, a release and a run are made.
    const csha = 'e'.repeat(40);
    repo.commits.push({ sha: csha, commit: { committer: { date: at } } });
    const [depId, dep] = [...repo.deployments.entries()][0]!;
    repo.deployments.set(depId, { ...dep, updated_at: at });
    repo.statuses.set(depId, [...(repo.statuses.get(depId) ?? []), { id: 99_000_002, state: 'inactive', created_at: at }]);
    repo.releases.set(99_000_003, { id: 99_000_003, created_at: at, updated_at: at, published_at: at });
    repo.runs.set(99_000_004, { id: 99_000_004, status: 'completed', created_at: at, updated_at: at, run_attempt: 1 });
    repo.jobs.set(99_000_004, [{ id: 99_000_005, status: 'completed', created_at: at, started_at: at, completed_at: at }]);
    const t = iso(at);

    okAll(await h.sync());
    const fresh = (await h.events()).filter((e) => !before.has(e.id));
    expect(keys(fresh)).toEqual(
      [
        `github.pull_request ${s}#${number} ${t}`,
        `github.pull_request_commits ${s}#${number} ${sha}`,
        `github.review ${s}#${number}/reviews/99000001 ${t}|APPROVED`,
        `github.commit ${s}@${csha} ${csha}`,
        `github.deployment ${s}/deployments/${depId} ${t}`,
        `github.deployment_status ${s}/deployments/${depId}/statuses/99000002 ${t}`,
        `github.release ${s}/releases/99000003 ${t}`,
        `github.workflow_run ${s}/actions/runs/99000004 ${t}|3`,
        `github.workflow_job ${s}/actions/jobs/99000005 ${t}|3`,
      ].sort(),
    );
    // Known versions published again (same ids, stored once) are only the older reviews of the changed
    // pull request and the statuses of deployments whose statuses were read again.
    const repeats = (await h.events()).slice(before.size).filter((e) => before.has(e.id));
    const expectedRepeat = (e: RawEvent): boolean =>
      e.type === 'github.deployment_status' || (e.type === 'github.review' && e.subject.startsWith(`${s}#${number}/`));
    expect(repeats.filter((e) => !expectedRepeat(e))).toEqual([]);
  });

  it('polls an unfinished deployment for new statuses until it is final, and gives up on one abandoned for a week', async () => {
    const repo = emptyRepo({ full_name: 'acme/dep', updated_at: '2026-10-01T00:00:00Z', default_branch: 'main' });
    const now = Date.now();
    const iso8601 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const young = iso8601(now - 3_600_000);
    const old = iso8601(now - 8 * 86_400_000);
    repo.deployments.set(1, { id: 1, created_at: young, updated_at: young });
    repo.statuses.set(1, [{ id: 11, state: 'in_progress', created_at: young }]);
    repo.deployments.set(2, { id: 2, created_at: old, updated_at: old });
    repo.statuses.set(2, [{ id: 21, state: 'in_progress', created_at: old }]);
    const h = await setup({ repos: [repo], repositories: ['acme/dep'] });
    okAll(await h.sync({ stream: 'deployments' }));
    // Both are unfinished: the next poll reads the list (304) and the young one's statuses only.
    h.fake.resetCounts();
    okAll(await h.sync({ stream: 'deployments' }));
    expect(h.fake.requests.byPath.get('/repos/acme/dep/deployments/1/statuses')).toBe(1);
    expect(h.fake.requests.byPath.get('/repos/acme/dep/deployments/2/statuses')).toBeUndefined();
    // Once final, it is no longer polled.
    repo.statuses.set(1, [{ id: 12, state: 'success', created_at: iso8601(now) }, ...repo.statuses.get(1)!]);
    okAll(await h.sync({ stream: 'deployments' }));
    expect((await h.events()).some((e) => e.subject === 'acme/dep/deployments/1/statuses/12')).toBe(true);
    h.fake.resetCounts();
    okAll(await h.sync({ stream: 'deployments' }));
    expect(h.fake.requests.total).toBe(1);
  });

  it('pages through Link rel="next" with per_page=100', async () => {
    const repo = emptyRepo({ full_name: 'acme/big', updated_at: '2026-10-01T00:00:00Z', default_branch: 'main' });
    const base = Date.parse('2026-10-01T00:00:00Z');
    for (let i = 0; i < 250; i++) {
      const date = new Date(base + i * 60_000).toISOString().replace('.000Z', 'Z');
      repo.commits.push({ sha: i.toString(16).padStart(40, '0'), commit: { committer: { date } } });
    }
    const h = await setup({ repos: [repo], repositories: ['acme/big'] });
    okAll(await h.sync({ stream: 'commits' }));
    // Three pages, then the first page of the next poll's query (since the newest commit) for its ETag.
    expect(h.fake.requests.byPath.get('/repos/acme/big/commits')).toBe(4);
    const events = await h.events();
    expect(new Set(events.map((e) => e.subject)).size).toBe(250);
    expect(events).toHaveLength(250);
  });

  it('honours 429 with Retry-After, a secondary rate limit, and retries a 5xx', async () => {
    const h = await setup();
    h.fake.fault({ path: /^\/repos\/acme\/payments-api\/pulls$/, kind: 'rate_limit', times: 1, retryAfterSeconds: 1 });
    h.fake.fault({ path: /^\/repos\/acme\/payments-api\/releases$/, kind: 'secondary_rate_limit', times: 1, retryAfterSeconds: 1 });
    h.fake.fault({ path: /^\/repos\/acme\/payments-api\/deployments$/, kind: 'server_error', times: 1, status: 502 });
    h.fake.fault({ path: /^\/repos\/acme\/payments-ledger\/commits$/, kind: 'primary_rate_limit', times: 1, retryAfterSeconds: 1 });
    okAll(await h.sync());
    expect(keys(await h.events())).toEqual(allExpected(h.fake));
    const attempts = (path: string) => h.fake.requests.log.filter((l) => l.path === path);
    const pulls = attempts('/repos/acme/payments-api/pulls');
    expect(pulls.map((l) => l.status)).toEqual([429, 200]);
    expect(pulls[1]!.at - pulls[0]!.at).toBeGreaterThanOrEqual(950);
    const releases = attempts('/repos/acme/payments-api/releases');
    expect(releases.map((l) => l.status)).toEqual([403, 200]);
    expect(releases[1]!.at - releases[0]!.at).toBeGreaterThanOrEqual(950);
    expect(attempts('/repos/acme/payments-api/deployments').map((l) => l.status)).toEqual([502, 200]);
    // x-ratelimit-remaining: 0 until x-ratelimit-reset: waited for, then the page is read.
    expect(attempts('/repos/acme/payments-ledger/commits').map((l) => l.status)).toEqual([403, 200, 200]);
  });

  it("waits out an exhausted rate limit until x-ratelimit-reset on the sync's clock, and not a moment before", async () => {
    // A day after the demo's history ends; far from the wall clock, so a wait counted from it would show.
    const clock = new ManualClock('2026-11-02T00:00:00Z');
    fake = await startGithubFake({ token: TOKEN, prefix: '/api/v3', demo: { teams: 1, months: 1 }, now: () => clock.now() });
    const config = githubConfig(fake.baseUrl, ['acme/payments-api']);
    const bus = createLocalBus({ dir: tempDir('ptel-bus-'), pollMs: 10 });
    const path = '/repos/acme/payments-api/commits';
    // 403 with x-ratelimit-remaining: 0 and x-ratelimit-reset ten minutes after the clock's "now".
    fake.fault({ path: /^\/repos\/acme\/payments-api\/commits$/, kind: 'primary_rate_limit', times: 1, retryAfterSeconds: 600 });
    const reset = clock.now() + 600_000;
    const running = runSync({
      config,
      connectors: [githubConnector],
      bus,
      cursors: clickhouseCursorStore(await testStore()),
      logger: quietLogger(),
      filter: { stream: 'commits' },
      clock,
    });
    const attempts = () => fake!.requests.log.filter((l) => l.path === path);
    await waitFor(
      'the 403 and a wait on the clock',
      () => attempts().length === 1 && clock.pending === 1,
      (v) => v,
      { timeoutMs: 10_000, intervalMs: 5 },
    );
    expect(attempts().map((l) => l.status)).toEqual([403]);
    // The wait ends at the reset (plus at most 250 ms of jitter), counted on the clock.
    const due = clock.nextDue()!;
    expect(due).toBeGreaterThanOrEqual(reset);
    expect(due).toBeLessThanOrEqual(reset + 250);
    await clock.set(reset - 1);
    expect(attempts()).toHaveLength(1);
    expect(clock.pending).toBe(1);
    await clock.set(due);
    const results = await running;
    okAll(results);
    const after = attempts();
    expect(after[0]!.status).toBe(403);
    expect(after.slice(1).length).toBeGreaterThan(0);
    expect(after.slice(1).every((l) => l.status === 200 && l.at >= reset)).toBe(true);
    const commits = expectedKeys('acme/payments-api', fake.repo('acme/payments-api')).filter((k) => k.startsWith('github.commit '));
    expect(commits.length).toBeGreaterThan(0);
    expect(keys(await readEvents(bus))).toEqual(commits.sort());
  });

  it('a secondary rate limit without Retry-After is waited out for a minute; a plain 403 is not retried', () => {
    const secondary = failureError(
      { status: 403, response: { headers: {}, data: { message: 'You have exceeded a secondary rate limit. Please wait.' } } },
      'GET /repos/acme/api/pulls',
      'Pull requests: read',
      Date.UTC(2026, 10, 2),
    );
    expect(secondary).toMatchObject({ kind: 'rate_limited', status: 403, retryAfterMs: 60_000 });
    const forbidden = failureError(
      { status: 403, response: { headers: {}, data: { message: 'Resource not accessible by integration' } } },
      'GET /repos/acme/api/pulls',
      'Pull requests: read',
      Date.UTC(2026, 10, 2),
    );
    expect(forbidden.kind).toBe('fatal');
    expect(forbidden.message).toContain("'Pull requests: read'");
  });

  it('a 401 stops the streams it hits with a clear message while the other repository completes; an unknown repository is a 404', async () => {
    const h = await setup();
    h.fake.fault({ path: /^\/repos\/acme\/payments-ledger\//, kind: 'unauthorized', times: Infinity });
    h.fake.fault({ path: /^\/repos\/acme\/payments-ledger$/, kind: 'unauthorized', times: Infinity });
    const results = await h.sync();
    for (const r of results.filter((x) => x.scope === 'acme/payments-api')) expect(r.status).toBe('ok');
    const failed = results.filter((x) => x.scope === 'acme/payments-ledger');
    expect(failed).toHaveLength(STREAMS.length);
    for (const r of failed) {
      expect(r.status).toBe('failed');
      expect(r.error).toContain('/repos/acme/payments-ledger');
      expect(r.error).toContain('401');
      expect(r.error).toContain('PTEL_GITHUB_TOKEN');
    }
    // Fatal: not retried.
    expect(h.fake.requests.log.filter((l) => l.status === 401)).toHaveLength(STREAMS.length);
    const events = await h.events();
    expect(keys(events)).toEqual(expectedKeys('acme/payments-api', h.fake.repo('acme/payments-api')).sort());

    const missing = await setup({ repositories: ['acme/nope'] });
    const [r] = await missing.sync({ stream: 'pull_requests' });
    expect(r).toMatchObject({ status: 'failed', scope: 'acme/nope' });
    expect(r!.error).toContain('404');
    expect(r!.error).toContain("'Pull requests: read'");
  });

  it('after a crash mid-sync, a restart publishes the same set of event ids as a clean sync', async () => {
    const h = await setup();
    let publishes = 0;
    const flaky: Bus = {
      ...h.bus,
      kind: h.bus.kind,
      publish: async (topic, messages) => {
        if (++publishes > 5) throw new Error('the bus went away');
        await h.bus.publish(topic, messages);
      },
    };
    const first = await h.sync(undefined, flaky);
    expect(first.some((r) => r.status === 'failed')).toBe(true);
    okAll(await h.sync());
    const ids = new Set((await h.events()).map((e) => e.id));
    const clean = await setup();
    okAll(await clean.sync());
    expect(ids).toEqual(new Set((await clean.events()).map((e) => e.id)));
  });

  it('doctor reports the token, its scopes and each repository endpoint', async () => {
    fake = await startGithubFake({ token: TOKEN, prefix: '/api/v3', demo: { teams: 1, months: 1 }, scopes: 'read:org' });
    const config = githubConfig(fake.baseUrl, ['acme/payments-api', 'acme/nope']);
    const checks = await githubConnector.doctor(githubConnector.client(config, quietLogger()), config);
    const byName = new Map(checks.map((c) => [c.name, c]));
    expect(byName.get('GitHub token')).toMatchObject({ ok: false });
    expect(byName.get('GitHub token')!.detail).toContain("needs 'repo'");
    expect(byName.get('acme/payments-api Actions runs')).toMatchObject({ ok: true });
    expect(byName.get('acme/payments-api deployments')).toMatchObject({ ok: true });
    expect(byName.get('acme/payments-api issues')).toMatchObject({ ok: true });
    expect(byName.get('acme/nope repository')).toMatchObject({ ok: false });
    expect(byName.get('acme/nope repository')!.detail).toContain('404');

    const bad = githubConfig(fake.baseUrl, ['acme/payments-api']);
    bad.secrets.githubToken = 'wrong';
    const badChecks = await githubConnector.doctor(githubConnector.client(bad, quietLogger()), bad);
    expect(badChecks.every((c) => !c.ok)).toBe(true);
    expect(badChecks[0]!.detail).toContain('401');
  });

  it('authenticates as a GitHub App installation, and doctor reads its permissions', async () => {
    fake = await startGithubFake({
      token: 'ghs_installation',
      prefix: '/api/v3',
      demo: { teams: 1, months: 1 },
      appPermissions: { metadata: 'read', contents: 'read', pull_requests: 'read' },
    });
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const config = loadConfig({
      env: { PTEL_GITHUB_APP_PRIVATE_KEY: privateKey },
      overrides: {
        'sources.github': { baseUrl: fake.baseUrl, auth: 'app', appId: 1, installationId: 42, repositories: ['acme/payments-api'] },
      },
      cwd: tempDir(),
    });
    expect(githubConnector.missing(config)).toBeUndefined();
    const bus = createLocalBus({ dir: tempDir('ptel-bus-'), pollMs: 10 });
    const results = await runSync({
      config,
      connectors: [githubConnector],
      bus,
      cursors: clickhouseCursorStore(await testStore()),
      logger: quietLogger(),
      filter: { stream: 'releases' },
    });
    okAll(results);
    expect(fake.requests.byPath.get('/app/installations/42/access_tokens')).toBe(1);
    const checks = await githubConnector.doctor(githubConnector.client(config, quietLogger()), config);
    const app = checks.find((c) => c.name === 'GitHub App installation');
    expect(app).toMatchObject({ ok: false });
    expect(app!.detail).toContain('deployments, actions, issues');
  });

  it('a webhook of an entity version gets the same event id as its pull', async () => {
    const h = await setup();
    okAll(await h.sync());
    const pulled = new Set((await h.events()).map((e) => e.id));
    const repo = h.fake.repo('acme/payments-api');
    const [, pr] = [...repo.pulls.entries()][0]!;
    const commit = repo.commits[0]!;
    const repository = { ...repo.repo };
    const deliveries: Array<[string, Record<string, unknown>]> = [
      ['pull_request', { action: 'synchronize', pull_request: pr, repository }],
      [
        'push',
        {
          ref: 'refs/heads/main',
          commits: [{ id: commit['sha'], timestamp: (commit['commit'] as { committer: { date: string } }).committer.date }],
          repository,
        },
      ],
    ];
    for (const [event, body] of deliveries) {
      const records = githubWebhook.records(
        { headers: { 'x-github-event': event }, rawBody: Buffer.from(''), body, receivedAt: new Date() },
        h.config,
      );
      expect(records.length, event).toBeGreaterThan(0);
      for (const r of records)
        expect(pulled.has(deterministicEventId(r.source, r.type, r.subject, r.version)), `${event} ${r.type}`).toBe(true);
    }
  });
});

describe('github milestones, issues and issue events', () => {
  const name = 'acme/plan';
  const at = (minute: number): string => new Date(Date.parse('2026-10-01T00:00:00Z') + minute * 60_000).toISOString().replace('.000Z', 'Z');
  const planRepo = (): FakeRepo => {
    const repo = emptyRepo({ full_name: name, updated_at: '2026-10-01T00:00:00Z', default_branch: 'main' });
    // More of each than one page holds: 120 milestones, 250 issues and 20 pull requests, 230 events.
    for (let n = 1; n <= 120; n++) {
      const due = n % 10 === 0 ? null : `2026-12-${String((n % 28) + 1).padStart(2, '0')}T08:00:00Z`;
      repo.milestones.set(n, milestoneJson(name, { id: 5000 + n, number: n, title: `M${n}`, due_on: due, created_at: at(n) }));
    }
    for (let n = 1; n <= 270; n++) {
      const milestone = repo.milestones.get((n % 120) + 1)!;
      const i = issueJson(name, { id: 9000 + n, number: n, title: `Issue ${n}`, created_at: at(n), milestone, pull_request: n > 250 });
      repo.issues.set(n, i);
    }
    for (let k = 1; k <= 230; k++) {
      const issue = repo.issues.get(((k - 1) % 250) + 1)!;
      repo.issueEvents.push(issueEventJson(name, { id: 70_000 + k, event: 'closed', created_at: at(300 + k), issue }));
    }
    return repo;
  };
  const count = (events: RawEvent[], type: string): number => events.filter((e) => e.type === type).length;
  const PLAN = ['milestones', 'issues', 'issue_events'];

  it('a full sync pages through each listing and publishes every milestone, every issue (not the pull requests) and the history events', async () => {
    const h = await setup({ repos: [planRepo()], repositories: [name] });
    for (const stream of PLAN) okAll(await h.sync({ stream }));
    const events = await h.events();
    expect(count(events, 'github.milestone')).toBe(120);
    expect(count(events, 'github.issue')).toBe(250);
    expect(count(events, 'github.issue_event')).toBe(230);
    expect(new Set(events.map((e) => e.subject)).size).toBe(600);
    // Two pages of milestones; three of issues, then the first page of the next query (since the newest update) for its ETag; three of events.
    expect(h.fake.requests.byPath.get(`/repos/${name}/milestones`)).toBe(2);
    expect(h.fake.requests.byPath.get(`/repos/${name}/issues`)).toBe(4);
    expect(h.fake.requests.byPath.get(`/repos/${name}/issues/events`)).toBe(3);
    // Every closing names its issue: no request per issue, and the milestones were not read for it.
    expect([...h.fake.requests.byPath.keys()].filter((p) => !/\/(milestones|issues|issues\/events)$/.test(p))).toEqual([]);
  });

  it('with nothing changed, each stream sends one request, answered 304, and publishes nothing; a change publishes exactly the change', async () => {
    const repo = planRepo();
    // One page of milestones: its ETag is kept.
    for (let n = 30; n <= 120; n++) repo.milestones.delete(n);
    const h = await setup({ repos: [repo], repositories: [name] });
    for (const stream of PLAN) okAll(await h.sync({ stream }));
    const before = new Set((await h.events()).map((e) => e.id));
    for (const stream of PLAN) {
      h.fake.resetCounts();
      const results = await h.sync({ stream });
      okAll(results);
      expect(h.fake.requests.total, stream).toBe(1);
      expect(h.fake.requests.notModified, stream).toBe(1);
      expect(results.reduce((n, r) => n + r.records, 0)).toBe(0);
    }
    expect((await h.events()).length).toBe(before.size);

    // Milestone 1's due date moves; milestone 2 only has its issue counts (and so updated_at) change.
    const later = '2026-11-02T10:00:00Z';
    repo.milestones.set(1, { ...repo.milestones.get(1)!, due_on: '2027-01-15T08:00:00Z', updated_at: later });
    repo.milestones.set(2, { ...repo.milestones.get(2)!, open_issues: 5, updated_at: later });
    // Issue 7 is closed and moved from its milestone into milestone 3, which it names; issue 8 is moved
    // back into milestone 4, which the event names by title only.
    const closed = { ...repo.issues.get(7)!, state: 'closed', closed_at: later, updated_at: later, milestone: repo.milestones.get(3) };
    repo.issues.set(7, closed);
    repo.issueEvents.push(
      issueEventJson(name, { id: 80_001, event: 'demilestoned', created_at: later, issue: closed, milestone: 'M8' }),
      issueEventJson(name, { id: 80_002, event: 'milestoned', created_at: later, issue: closed, milestone: 'M3' }),
      issueEventJson(name, { id: 80_003, event: 'closed', created_at: later, issue: closed }),
      issueEventJson(name, { id: 80_004, event: 'milestoned', created_at: later, issue: repo.issues.get(8)!, milestone: 'M4' }),
      issueEventJson(name, { id: 80_005, event: 'labeled', created_at: later, issue: closed }),
    );
    h.fake.resetCounts();
    for (const stream of PLAN) okAll(await h.sync({ stream }));
    const fresh = (await h.events()).filter((e) => !before.has(e.id));
    expect(keys(fresh)).toEqual(
      [
        `github.milestone ${name}/milestones/5001 ${iso(later)}`,
        `github.issue ${name}/issues/7 ${iso(later)}`,
        `github.issue_event ${name}/issues/events/80001 80001`,
        `github.issue_event ${name}/issues/events/80002 80002`,
        `github.issue_event ${name}/issues/events/80003 80003`,
        `github.issue_event ${name}/issues/events/80004 80004`,
      ].sort(),
    );
    // The milestones GitHub named by title carry their ids: M3 from the issue itself, M8 and M4 from the listing, read once.
    const ids = Object.fromEntries(
      fresh
        .filter((e) => e.type === 'github.issue_event')
        .map((e) => [e.subject, (e.data as { milestone?: { id?: number } }).milestone?.id]),
    );
    expect(ids).toEqual({
      [`${name}/issues/events/80001`]: 5008,
      [`${name}/issues/events/80002`]: 5003,
      [`${name}/issues/events/80003`]: undefined,
      [`${name}/issues/events/80004`]: 5004,
    });
    expect(h.fake.requests.byPath.get(`/repos/${name}/milestones`)).toBe(2);
    // The events listing is read down to the last event seen: its first page, not the 230 events before.
    expect(h.fake.requests.byPath.get(`/repos/${name}/issues/events`)).toBe(1);
    // The issues listing asked only for what changed since the last pull: then the next query's first page for its ETag.
    expect(h.fake.requests.byPath.get(`/repos/${name}/issues`)).toBe(2);
    h.fake.resetCounts();
    for (const stream of PLAN) okAll(await h.sync({ stream }));
    expect(h.fake.requests.notModified).toBe(3);
    expect(h.fake.requests.total).toBe(3);
  });

  it('asks for issues updated since the last pull, and a first pull for events no older than its start', async () => {
    const repo = planRepo();
    const h = await setup({ repos: [repo], repositories: [name] });
    okAll(await h.sync({ stream: 'issues' }));
    const later = '2026-11-03T10:00:00Z';
    repo.issues.set(5, { ...repo.issues.get(5)!, title: 'Renamed', updated_at: later });
    h.fake.resetCounts();
    okAll(await h.sync({ stream: 'issues' }));
    const asked = h.fake.requests.log.filter((l) => l.path === `/repos/${name}/issues`);
    expect(asked).toHaveLength(2);
    expect(h.fake.requests.queries.filter((u) => u.pathname === `/repos/${name}/issues`).map((u) => u.searchParams.get('since'))).toEqual([
      // The mark's second (the first pull's newest update), then the new mark's, whose first page's ETag the next poll compares.
      at(270),
      '2026-11-03T10:00:00Z',
    ]);
    // Events before the start of a first pull (since) are not history it publishes.
    const old = emptyRepo({ full_name: 'acme/old', updated_at: '2026-10-01T00:00:00Z', default_branch: 'main' });
    const issue = issueJson('acme/old', { id: 1, number: 1, title: 'Old', created_at: '2020-01-01T00:00:00Z' });
    old.issues.set(1, issue);
    old.issueEvents.push(issueEventJson('acme/old', { id: 1, event: 'closed', created_at: '2020-01-02T00:00:00Z', issue }));
    await fake?.close();
    const h2 = await setup({ repos: [old], repositories: ['acme/old'] });
    okAll(await h2.sync({ stream: 'issue_events' }));
    expect(count(await h2.events(), 'github.issue_event')).toBe(0);
  });
});
