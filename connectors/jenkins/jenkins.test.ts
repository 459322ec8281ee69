import { afterEach, describe, expect, it } from 'vitest';
import type { Bus } from '../../infra/bus/types.js';
import { loadConfig } from '../../infra/config/load.js';
import type { Config } from '../../infra/config/schema.js';
import { deterministicEventId, type RawEvent } from '../../schemas/raw-event.js';
import { jenkinsDataset, startJenkinsFake, type FakeJenkins, type JenkinsBuild } from '../../test/fakes/jenkins.js';
import { ManualClock } from '../../test/support/clock.js';
import { quietLogger, tempDir, waitFor } from '../../test/support/harness.js';
import type { CursorStore } from '../core/cursor-store.js';
import { subjects } from '../core/entities.js';
import { runSync } from '../core/runner.js';
import { readTopic, startWebhookServer, syncTarget } from '../../test/support/bus.js';
import { buildVersion } from './builds.js';
import { jenkinsConnector, jenkinsWebhook } from './index.js';

const TOPIC = 'raw.jenkins';
const JOBS = ['payments/deploy', 'web/ci'];
const logger = quietLogger();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function config(baseUrl: string, jobs: string[] = JOBS): Config {
  return loadConfig({
    env: { PTEL_JENKINS_API_TOKEN: 'jenkins-token', PTEL_JENKINS_WEBHOOK_TOKEN: 'hook-token' },
    overrides: { 'sources.jenkins': { baseUrl, user: 'ci', jobs, initialDays: 30 } },
    cwd: tempDir(),
  });
}

async function setup(count = 5): Promise<{ fake: FakeJenkins; bus: Bus; cursors: CursorStore; cfg: Config }> {
  const fake = await startJenkinsFake({ jobs: jenkinsDataset(JOBS, count) });
  const target = await syncTarget();
  cleanups.push(
    () => fake.close(),
    () => target.close(),
  );
  return { fake, bus: target.bus, cursors: target.cursors, cfg: config(fake.url) };
}

const sync = (cfg: Config, bus: Bus, cursors: CursorStore) =>
  runSync({ config: cfg, connectors: [jenkinsConnector], bus, cursors, logger });

const host = (fake: FakeJenkins): string => new URL(fake.url).host;
const buildId = (fake: FakeJenkins, job: string, b: JenkinsBuild): string =>
  deterministicEventId(
    'jenkins',
    'jenkins.build',
    subjects.jenkinsBuild(host(fake), job, b.number),
    buildVersion(b.timestamp, b.result, b.building),
  );
const ids = (events: RawEvent[]): Set<string> => new Set(events.map((e) => e.id));
const total = (results: Array<{ records: number }>): number => results.reduce((n, r) => n + r.records, 0);

describe('jenkins pull', () => {
  it('a full sync publishes every build; a no-change sync publishes nothing for one request per job', async () => {
    const { fake, bus, cursors, cfg } = await setup();
    const results = await sync(cfg, bus, cursors);
    expect(results.filter((r) => r.status !== 'ok')).toEqual([]);
    const events = await readTopic(bus, TOPIC);
    expect(ids(events)).toEqual(new Set(JOBS.flatMap((job) => fake.jobs.get(job)!.map((b) => buildId(fake, job, b)))));
    const first = events.find((e) => e.subject === `${host(fake)}/payments/deploy#1`)!;
    expect(first.data).toMatchObject({
      number: 1,
      result: 'SUCCESS',
      actions: expect.arrayContaining([
        expect.objectContaining({ parameters: [{ _class: 'hudson.model.StringParameterValue', name: 'ENV', value: 'production' }] }),
      ]) as unknown,
    });
    expect(first.connector).toBe('jenkins/builds');

    fake.resetCounts();
    const again = await sync(cfg, bus, cursors);
    expect(total(again)).toBe(0);
    expect(fake.requests.total).toBe(JOBS.length);
  });

  it('an incremental sync picks up exactly the new builds, and re-reads a running build until it finishes', async () => {
    const { fake, bus, cursors, cfg } = await setup();
    await sync(cfg, bus, cursors);
    const before = ids(await readTopic(bus, TOPIC));

    const running = fake.startBuild('payments/deploy');
    const done = fake.startBuild('web/ci');
    fake.finishBuild('web/ci', done.number, 'FAILURE', 30_000);
    expect(total(await sync(cfg, bus, cursors))).toBe(2);
    let added = (await readTopic(bus, TOPIC)).filter((e) => !before.has(e.id));
    expect(ids(added)).toEqual(new Set([buildId(fake, 'payments/deploy', running), buildId(fake, 'web/ci', done)]));
    expect(added.find((e) => e.subject.endsWith(`payments/deploy#${running.number}`))?.entityversion).toMatch(/\|0-running$/);

    // Still running: nothing new.
    expect(total(await sync(cfg, bus, cursors))).toBe(0);

    const finished = fake.finishBuild('payments/deploy', running.number, 'SUCCESS', 95_000);
    const seen = ids(await readTopic(bus, TOPIC));
    expect(total(await sync(cfg, bus, cursors))).toBe(1);
    added = (await readTopic(bus, TOPIC)).filter((e) => !seen.has(e.id));
    expect(added.map((e) => [e.id, e.entityversion, e.time])).toEqual([
      [
        buildId(fake, 'payments/deploy', finished),
        buildVersion(finished.timestamp, 'SUCCESS', false),
        new Date(finished.timestamp + 95_000).toISOString(),
      ],
    ]);
    expect(total(await sync(cfg, bus, cursors))).toBe(0);
  });

  it('pages through more than 100 builds with {m,n} ranges over allBuilds', async () => {
    const { fake, bus, cursors, cfg } = await setup(250);
    const results = await sync(cfg, bus, cursors);
    expect(results.filter((r) => r.status !== 'ok')).toEqual([]);
    expect(await readTopic(bus, TOPIC)).toHaveLength(2 * 250);
    const ranges = fake.requests.log
      .filter((r) => r.path === '/job/payments/job/deploy/api/json')
      .map((r) => /%7B(\d+)%2C(\d+)%7D/.exec(r.query)?.slice(1).join(','));
    expect(ranges).toEqual(['0,100', '100,200', '200,300']);
  });

  it('retries a 5xx; a 401 stops that job with a clear message while the other job completes', async () => {
    const { fake, bus, cursors, cfg } = await setup();
    fake.fault({ path: /^\/job\/web\//, kind: 'server_error', times: 1, status: 502 });
    fake.fault({ path: /^\/job\/payments\//, kind: 'unauthorized', times: Infinity });
    const results = await sync(cfg, bus, cursors);
    expect(results.find((r) => r.scope === 'web/ci')).toMatchObject({ status: 'ok', records: 5 });
    const failed = results.find((r) => r.scope === 'payments/deploy');
    expect(failed?.status).toBe('failed');
    expect(failed?.error).toMatch(
      /^job payments\/deploy: GET \/job\/payments\/job\/deploy\/api\/json: 401 unauthorized.*PTEL_JENKINS_API_TOKEN/,
    );
    expect(fake.requests.log.filter((r) => r.path.startsWith('/job/web/')).map((r) => r.status)).toEqual([502, 200]);
  });

  it("backs off from a 5xx on the sync's clock before it sends the request again", async () => {
    const clock = new ManualClock('2026-11-02T00:00:00Z');
    const t0 = clock.now();
    const fake = await startJenkinsFake({ jobs: jenkinsDataset(['web/ci'], 5, t0 - 3_600_000) });
    const target = await syncTarget();
    cleanups.push(
      () => fake.close(),
      () => target.close(),
    );
    fake.fault({ path: /^\/job\/web\//, kind: 'server_error', times: 1, status: 502 });
    const running = runSync({
      config: config(fake.url, ['web/ci']),
      connectors: [jenkinsConnector],
      bus: target.bus,
      cursors: target.cursors,
      logger,
      clock,
    });
    await waitFor(
      'the 502 and a back-off on the clock',
      () => clock.pending === 1,
      (v) => v,
      { timeoutMs: 10_000, intervalMs: 5 },
    );
    // The first back-off is 250 to 500 ms; held short of it, nothing is sent again.
    const due = clock.nextDue()!;
    expect(due).toBeGreaterThanOrEqual(t0 + 250);
    expect(due).toBeLessThanOrEqual(t0 + 500);
    await clock.set(due - 1);
    expect(fake.requests.log.map((r) => r.status)).toEqual([502]);
    await clock.set(due);
    const [result] = await running;
    expect(result).toMatchObject({ scope: 'web/ci', status: 'ok', records: 5 });
    expect(fake.requests.log.map((r) => r.status)).toEqual([502, 200]);
    expect(ids(await readTopic(target.bus, TOPIC))).toEqual(new Set(fake.jobs.get('web/ci')!.map((b) => buildId(fake, 'web/ci', b))));
  });

  it('doctor checks the credentials and each job', async () => {
    const { fake } = await setup();
    const cfg = config(fake.url, [...JOBS, 'missing/job']);
    const checks = await jenkinsConnector.doctor(jenkinsConnector.client(cfg, logger), cfg);
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['jenkins credentials', true],
      ['jenkins job payments/deploy', true],
      ['jenkins job web/ci', true],
      ['jenkins job missing/job', false],
    ]);
  });
});

async function webhookServer(baseUrl: string): Promise<{ url: string; bus: Bus }> {
  const ws = await startWebhookServer([jenkinsWebhook], config(baseUrl));
  const bus = ws.bus;
  const server = { url: ws.url, close: () => ws.close() };
  cleanups.push(
    () => bus.close(),
    () => server.close(),
  );
  return { url: `${server.url}/webhooks/jenkins`, bus };
}

/** A Notification plugin delivery for one build. */
function notification(baseUrl: string, b: JenkinsBuild, phase: string): Record<string, unknown> {
  return {
    name: 'deploy',
    display_name: 'deploy',
    url: 'job/payments/job/deploy/',
    build: {
      full_url: `${baseUrl}/job/payments/job/deploy/${b.number}/`,
      number: b.number,
      queue_id: 7,
      timestamp: b.timestamp,
      phase,
      ...(phase === 'STARTED' ? {} : { status: b.result }),
      url: `job/payments/job/deploy/${b.number}/`,
      scm: { url: 'https://github.com/acme/payments.git', branch: 'origin/main', commit: 'abc123' },
      parameters: { ENV: 'production' },
      log: '',
      artifacts: {},
    },
  };
}

const post = (url: string, body: unknown, token?: string): Promise<Response> =>
  fetch(url, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
  });

describe('jenkins webhook', () => {
  it('accepts a bearer-authenticated notification; started and finalized collide with the pull of the same states', async () => {
    const { fake, bus: pullBus, cursors, cfg } = await setup();
    const build = fake.startBuild('payments/deploy');
    await sync(cfg, pullBus, cursors);
    fake.finishBuild('payments/deploy', build.number, 'FAILURE', 42_000);
    await sync(cfg, pullBus, cursors);
    const pulled = (await readTopic(pullBus, TOPIC)).filter((e) => e.subject.endsWith(`#${build.number}`));
    expect(pulled).toHaveLength(2);

    const { url, bus } = await webhookServer(fake.url);
    const started = notification(fake.url, { ...build, result: null, building: true }, 'STARTED');
    expect((await post(url, started, 'hook-token')).status).toBe(202);
    expect((await post(url, notification(fake.url, build, 'COMPLETED'), 'hook-token')).status).toBe(202);
    expect((await post(url, notification(fake.url, build, 'FINALIZED'), 'hook-token')).status).toBe(202);
    expect((await post(url, notification(fake.url, build, 'QUEUED'), 'hook-token')).status).toBe(202);
    const pushed = await readTopic(bus, TOPIC);
    expect(pushed).toHaveLength(3);
    expect(ids(pushed)).toEqual(ids(pulled));
    expect(pushed[0]!.data).toEqual(started);
    expect(pushed[0]!.connector).toBe('webhook/jenkins');
  });

  it('a wrong or missing token -> 401 and nothing published; a body that is not a notification -> 400', async () => {
    const { url, bus } = await webhookServer('https://ci.example.com');
    const build = jenkinsDataset(['payments/deploy'], 1).get('payments/deploy')![0]!;
    const body = notification('https://ci.example.com', build, 'COMPLETED');
    expect((await post(url, body, 'wrong-token')).status).toBe(401);
    expect((await post(url, body)).status).toBe(401);
    expect((await post(url, '{"build":', 'hook-token')).status).toBe(400);
    expect((await post(url, { name: 'deploy' }, 'hook-token')).status).toBe(400);
    expect(await readTopic(bus, TOPIC)).toHaveLength(0);
    expect((await post(url, body, 'hook-token')).status).toBe(202);
    expect((await post(url, body, 'hook-token')).status).toBe(202);
    const events = await readTopic(bus, TOPIC);
    expect(events.map((e) => e.subject)).toEqual(['ci.example.com/payments/deploy#1', 'ci.example.com/payments/deploy#1']);
    expect(ids(events).size).toBe(1);
  });
});
