import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createScheduler, jobHandlers, jobSchedules } from '../../app/jobs.js';
import { loadConfig } from '../../infra/config/load.js';
import type { Config } from '../../infra/config/schema.js';
import { PipelineMetrics } from '../../infra/observability/metrics.js';
import { createRuntime, type Runtime } from '../../app/runtime.js';
import { migrationsDir } from '../../infra/paths.js';
import { queryRows, quietLogger, tempDir, uniqueName, waitFor, schedulerIds } from '../support/harness.js';
import { STORES } from '../support/stores.js';

/**
 * The product's own schedule list on the real Redis: the pulls, the linker and the metrics runs are
 * registered once however often the workers restart, a schedule that leaves the list leaves Redis, and
 * a failing metrics run is retried with back-off and recorded; with the runs recorded on either store.
 */
describe.each(STORES)('the scheduled jobs on the real Redis, recorded on $title', (target) => {
  const redisUrl = (): string => inject('redisUrl');
  const queue = uniqueName('jobs');
  const database = target.database('jobs');
  const config = (extra: Record<string, unknown> = {}, env: Record<string, string> = {}): Config =>
    loadConfig({
      env,
      cwd: tempDir(),
      overrides: {
        mode: 'distributed',
        kafka: { brokers: inject('kafkaBrokers').split(',') },
        dataDir: tempDir('ptel-jobs-'),
        clickhouse: target.clickhouse(database),
        redis: { url: redisUrl(), queue },
        log: { level: 'silent' },
        ...extra,
      },
    });

  let rt: Runtime;
  const metrics = new PipelineMetrics({ defaultMetrics: false });
  beforeAll(async () => {
    rt = await createRuntime(config(), { logger: quietLogger(), metrics, migrate: true });
  });
  afterAll(async () => {
    await rt?.close();
    await target.drop(database);
  });

  it('registers each job once across restarts, adds a source pull when a source is configured and removes it when it is not', async () => {
    const noHandlers = () => Promise.resolve();
    const start = async (c: Config): Promise<void> => {
      const handlers = Object.fromEntries(Object.keys(jobHandlers(rt)).map((k) => [k, noHandlers]));
      const s = createScheduler({ ...rt, config: c }, jobSchedules(c), handlers);
      await s.start();
      await s.stop();
    };
    // The schedules every deployment has, by id
    const always = [
      'export-monthly',
      'forecasts',
      'link',
      'metrics-daily',
      'metrics-month-close',
      'metrics-recent',
      'registers',
      'stall-alerts',
      'status-reports',
    ];
    const plain = config();
    for (let i = 0; i < 3; i++) await start(plain);
    expect(await schedulerIds(redisUrl(), queue)).toEqual(always);

    const withGithub = config({ sources: { github: { repositories: ['acme/api'] } } }, { PTEL_GITHUB_TOKEN: 'token' });
    await start(withGithub);
    expect(await schedulerIds(redisUrl(), queue)).toEqual([...always, 'pull-github'].sort());

    await start(plain);
    expect(await schedulerIds(redisUrl(), queue)).toEqual(always);
  });

  it('retries a failing metrics run with back-off, records each failure, and succeeds once the cause is gone', async () => {
    // The metrics run cannot write: its table is gone. The first run of a schedule starts at once.
    await rt.store.client.command({ query: 'DROP TABLE metric_values' });
    const handlers = jobHandlers(rt);
    const failing = jobSchedules(rt.config).filter((s) => s.id === 'metrics-recent');
    // A queue of its own: a new schedule's first run starts at once.
    const counters = new PipelineMetrics({ defaultMetrics: false });
    const own = { ...rt, metrics: counters, config: { ...rt.config, redis: { ...rt.config.redis, queue: uniqueName('retry') } } };
    const s = createScheduler(own, failing, { metrics: handlers['metrics']! });
    await s.start();
    try {
      await waitFor(
        'two failed metrics runs',
        () => queryRows<{ n: string }>(rt.store, "SELECT count() AS n FROM metric_runs WHERE job = 'metrics-recent' AND status = 'failed'"),
        (r) => Number(r[0]?.n) >= 2,
        { timeoutMs: 30_000 },
      );
      // Put the table back, as a fixed deployment would: the next attempt succeeds.
      const sql = readFileSync(path.join(migrationsDir(), '0007_metrics.sql'), 'utf8');
      const create = /CREATE TABLE IF NOT EXISTS metric_values[\s\S]*?;\s*$/m.exec(sql)?.[0] ?? '';
      await rt.store.client.command({ query: create.replace(/;\s*$/, '') });
      await waitFor(
        'a successful metrics run',
        () => queryRows<{ n: string }>(rt.store, "SELECT count() AS n FROM metric_runs WHERE job = 'metrics-recent' AND status = 'ok'"),
        (r) => Number(r[0]?.n) >= 1,
        { timeoutMs: 30_000 },
      );
      await waitFor(
        'the success to be counted',
        () => counters.registry.getSingleMetricAsString('ptel_job_runs_total'),
        (t) => t.includes('ptel_job_runs_total{job="metrics",outcome="ok"} 1'),
        { timeoutMs: 10_000 },
      );
    } finally {
      await s.stop();
    }
    const failed = await queryRows<{ error: string }>(rt.store, "SELECT error FROM metric_runs WHERE status = 'failed' LIMIT 1");
    expect(failed[0]?.error).toMatch(/metric_values/);
    const counted = await counters.registry.getSingleMetricAsString('ptel_job_runs_total');
    expect(counted).toMatch(/ptel_job_runs_total\{job="metrics",outcome="retried"\} [2-9]/);
  });
});

describe.each(STORES)('the scheduled jobs in process (embedded mode), recorded on $title', (target) => {
  const database = target.database('jobs_local');
  afterAll(() => target.drop(database));

  it('runs the linker and the three metrics runs from the same list, once each at start', async () => {
    const config = loadConfig({
      env: {},
      cwd: tempDir(),
      overrides: { dataDir: tempDir('ptel-jobs-local-'), clickhouse: target.clickhouse(database), log: { level: 'silent' } },
    });
    // A server's schema is not applied on start by default (`ptel migrate` does it): here it is.
    const rt = await createRuntime(config, {
      logger: quietLogger(),
      metrics: new PipelineMetrics({ defaultMetrics: false }),
      migrate: true,
    });
    try {
      const schedules = jobSchedules(config);
      expect(schedules.map((s) => s.id)).toEqual([
        'link',
        'metrics-recent',
        'metrics-daily',
        'metrics-month-close',
        'forecasts',
        'registers',
        'export-monthly',
        'status-reports',
        'stall-alerts',
      ]);
      const s = createScheduler(rt, schedules, jobHandlers(rt));
      expect(s.kind).toBe('local');
      await s.start();
      try {
        await waitFor(
          'the three metrics runs',
          () => queryRows<{ job: string }>(rt.store, "SELECT DISTINCT job FROM metric_runs WHERE status = 'ok' ORDER BY job"),
          (r) => r.length === 3,
          { timeoutMs: 60_000 },
        );
        // The registers are taken at start too, and the run is recorded for ptel status.
        await waitFor(
          'a recorded registers run',
          () => queryRows<{ detail: string }>(rt.store, "SELECT detail FROM job_runs WHERE job = 'registers' AND outcome = 'ok'"),
          (r) => r.length > 0 && r[0]!.detail.startsWith('milestones 0, risks 0'),
          { timeoutMs: 60_000 },
        );
      } finally {
        await s.stop();
      }
      expect((await queryRows<{ job: string }>(rt.store, 'SELECT DISTINCT job FROM metric_runs ORDER BY job')).map((r) => r.job)).toEqual([
        'metrics-full',
        'metrics-month-close',
        'metrics-recent',
      ]);
    } finally {
      await rt.close();
    }
  });
});
