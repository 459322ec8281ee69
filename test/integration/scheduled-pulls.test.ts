import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createScheduler, pullHandlers, pullSchedules } from '../../app/jobs.js';
import { generateDemoOrg } from '../../connectors/demo/generator.js';
import { loadConfig } from '../../infra/config/load.js';
import { createRuntime, type Runtime } from '../../app/runtime.js';
import { startJiraFake, type JiraFake } from '../fakes/jira.js';
import { queryRows, quietLogger, tempDir, uniqueName, waitFor } from '../support/harness.js';
import { STORES, type StoreUnderTest } from '../support/stores.js';

/**
 * Scheduled pulls as the main job and `ptel connect` run them: the pull schedule of a configured
 * source fires, its streams are pulled from the (fake) vendor API onto the bus, and each run is
 * recorded. Embedded mode schedules in process; distributed mode on the real Redis with BullMQ. Each
 * mode records its runs on either store.
 */
describe('scheduled pulls', () => {
  let jira: JiraFake;
  const dataDir = tempDir('ptel-sched-');
  beforeAll(async () => {
    jira = await startJiraFake({ token: 'jira-test-token' });
  });
  afterAll(() => jira.close());

  function config(mode: 'embedded' | 'distributed', target: StoreUnderTest, database: string) {
    const { org } = generateDemoOrg();
    return loadConfig({
      env: {
        PTEL_JIRA_API_TOKEN: 'jira-test-token',
        PTEL_DATA_DIR: dataDir,
        PTEL_MODE: mode,
        ...target.env(database),
        PTEL_KAFKA_BROKERS: inject('kafkaBrokers'),
        PTEL_KAFKA_TOPIC_PREFIX: `${uniqueName('sched')}.`,
        PTEL_REDIS_URL: inject('redisUrl'),
        PTEL_REDIS_QUEUE: uniqueName('sched'),
      },
      overrides: { 'sources.jira': { baseUrl: jira.url, email: 'bot@acme.example' }, org: { programs: org.programs } },
      cwd: dataDir,
    });
  }

  async function pullOnSchedule(rt: Runtime): Promise<Array<{ stream: string; status: string; error: string }>> {
    const schedules = pullSchedules(rt.config);
    expect(schedules).toEqual([{ id: 'pull-jira', job: 'pull', everyMs: 15 * 60_000, data: { source: 'jira' }, attempts: 10 }]);
    const scheduler = createScheduler(rt, schedules, pullHandlers(rt));
    expect(scheduler.kind).toBe(rt.config.mode === 'distributed' ? 'bullmq' : 'local');
    await scheduler.start();
    try {
      // Every stream and project of the source has a finished run once the first scheduled pull is done.
      const streams = rt.config.org.programs.flatMap((p) => p.teams.flatMap((t) => t.jira.projects)).length * 3;
      return await waitFor(
        'the first scheduled pull to finish',
        () =>
          queryRows<{ stream: string; status: string; error: string }>(
            rt.store,
            "SELECT stream, status, error FROM sync_runs WHERE source = 'jira' ORDER BY stream",
          ),
        (rows) => rows.length >= streams,
        { timeoutMs: 60_000, intervalMs: 200 },
      );
    } finally {
      await scheduler.stop();
    }
  }

  const cases = (['embedded', 'distributed'] as const).flatMap((mode) => STORES.map((target) => [mode, target.title, target] as const));

  it.each(cases)('pulls a configured source on its schedule (%s mode, runs recorded on %s)', async (mode, _title, target) => {
    const database = target.database('sched');
    const rt = await createRuntime(config(mode, target, database), { logger: quietLogger(), migrate: true });
    try {
      const runs = await pullOnSchedule(rt);
      expect(runs.filter((r) => r.status !== 'ok')).toEqual([]);
      expect(new Set(runs.map((r) => r.stream))).toEqual(new Set(['issue_deletions', 'issues', 'versions']));
      const lag = await rt.bus.lag(uniqueName('reader'), `${rt.config.kafka.topicPrefix}raw.jira`);
      expect(lag.reduce((n, p) => n + p.end, 0)).toBeGreaterThan(100);
    } finally {
      await rt.close();
      await target.drop(database);
    }
  });
});
