import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createScheduler, jobHandlers, jobSchedules } from '../../app/jobs.js';
import { createRuntime, type Runtime } from '../../app/runtime.js';
import { loadConfig } from '../../infra/config/load.js';
import type { Config } from '../../infra/config/schema.js';
import { PipelineMetrics } from '../../infra/observability/metrics.js';
import { createBullScheduler } from '../../infra/scheduler/bullmq.js';
import type { Scheduler } from '../../infra/scheduler/types.js';
import { startAlertReceiver, type AlertReceiver } from '../support/alerts.js';
import { ManualClock } from '../support/clock.js';
import { queryRows, quietLogger, tempDir, uniqueName, waitFor } from '../support/harness.js';
import { STORES } from '../support/stores.js';

/**
 * The weekly status reports on the product's schedule, in both modes: in process (embedded) and on the
 * real Redis (distributed, two workers sharing the schedule). Each program's report reaches each of its
 * channels once per week however many runs and restarts follow, and the next week's once the cron fires.
 * Each on either store, which keeps the runs and deliveries.
 */
const ORG = {
  programs: [
    { id: 'alpha', name: 'Alpha', teams: [{ id: 'a', name: 'A' }] },
    { id: 'beta', name: 'Beta', teams: [{ id: 'b', name: 'B' }] },
  ],
};

function reportConfig(receiver: AlertReceiver, over: Record<string, unknown>): Config {
  return loadConfig({
    env: { REPORT_SLACK_URL: `${receiver.httpUrl}/slack`, REPORT_HOOK_SECRET: 'report-secret' },
    cwd: tempDir(),
    overrides: {
      log: { level: 'silent' },
      org: ORG,
      metrics: { timeZone: 'UTC' },
      alerts: {
        channels: {
          team: { type: 'slack', urlEnv: 'REPORT_SLACK_URL' },
          leads: { type: 'webhook', url: `${receiver.httpUrl}/hook`, secretEnv: 'REPORT_HOOK_SECRET' },
        },
        routes: [{ teams: ['a'], channels: ['team'] }],
        defaultChannels: ['leads'],
      },
      ...over,
    },
  });
}

/** What reached the receiver: path, program and week of each report, sorted. */
const deliveries = (r: AlertReceiver): string[] =>
  r.received
    .map((x) =>
      x.path === '/hook'
        ? `hook ${(x.json['program'] as { id: string }).id} ${(x.json['week'] as { id: string }).id}`
        : `slack ${String(x.json['text'])}`,
    )
    .sort();

const runsOf = async (rt: Runtime): Promise<number> =>
  Number((await queryRows<{ n: string }>(rt.store, "SELECT count() AS n FROM job_runs WHERE job = 'status-reports'"))[0]?.n ?? 0);

const W44 = ['hook beta 2026-W44', 'slack Alpha status, week 2026-W44: green, no program confidence.'];
const W45 = ['hook beta 2026-W45', 'slack Alpha status, week 2026-W45: green, no program confidence.'];

describe.each(STORES)('the weekly status reports in process (embedded mode) on $title', (target) => {
  let receiver: AlertReceiver;
  const database = target.database('reports_local');
  beforeAll(async () => {
    receiver = await startAlertReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await target.drop(database);
  });

  it('sends each week once per program and channel across restarts', async () => {
    const config = reportConfig(receiver, { dataDir: tempDir('ptel-reports-local-'), clickhouse: target.clickhouse(database) });
    const schedules = jobSchedules(config).filter((s) => s.id === 'status-reports');
    expect(schedules).toEqual([{ id: 'status-reports', job: 'status-reports', everyMs: 15 * 60_000, attempts: 2, exclusive: true }]);
    /** One process: a runtime on the data folder and its scheduler, run at start; `then` runs while it is up. */
    const process = async (clock: ManualClock, then: (rt: Runtime) => Promise<void>): Promise<void> => {
      // Migrating again finds nothing to do; a server's schema is not applied on start without it.
      const rt = await createRuntime(config, {
        logger: quietLogger(),
        metrics: new PipelineMetrics({ defaultMetrics: false }),
        clock,
        migrate: true,
      });
      const s = createScheduler(rt, schedules, jobHandlers(rt));
      try {
        await s.start();
        await then(rt);
      } finally {
        await s.stop();
        await rt.close();
      }
    };
    const afterRun = async (rt: Runtime, clock: ManualClock, runs: number): Promise<void> => {
      await clock.advance(0);
      await waitFor(
        `${runs} status report runs`,
        () => runsOf(rt),
        (n) => n >= runs,
        { timeoutMs: 60_000 },
      );
    };

    const clock = new ManualClock('2026-11-02T09:00:00Z');
    await process(clock, async (rt) => {
      await afterRun(rt, clock, 1);
      expect(deliveries(receiver)).toEqual(W44);
      // The next run of the same process, 15 minutes on, owes nothing.
      await clock.advance(15 * 60_000);
      await waitFor(
        'a second run',
        () => runsOf(rt),
        (n) => n >= 2,
        { timeoutMs: 60_000 },
      );
    });
    expect(deliveries(receiver)).toEqual(W44);

    // A restart the same week: the run at start finds every report sent.
    const later = new ManualClock('2026-11-04T12:00:00Z');
    await process(later, async (rt) => {
      await afterRun(rt, later, 3);
    });
    expect(deliveries(receiver)).toEqual(W44);

    // A restart after the cron has fired again: the next week, once.
    const next = new ManualClock('2026-11-09T08:00:00Z');
    await process(next, async (rt) => {
      await afterRun(rt, next, 4);
      expect(deliveries(receiver)).toEqual([...W44, ...W45].sort());
    });
    expect(deliveries(receiver)).toEqual([...W44, ...W45].sort());
  }, 240_000);
});

describe.each(STORES)('the weekly status reports on the real Redis (distributed mode) on $title', (target) => {
  let receiver: AlertReceiver;
  let rt: Runtime;
  const database = target.database('reports');
  const clock = new ManualClock('2026-11-02T09:00:00Z');
  let schedulers: Scheduler[] = [];
  const queueName = uniqueName('reports');

  /** Two workers, as two `ptel connect` processes: the same schedule, each with its own handlers. */
  const startWorkers = async (): Promise<void> => {
    schedulers = [];
    for (let i = 0; i < 2; i++) {
      const s = createBullScheduler({
        schedules: [{ id: 'status-reports', job: 'status-reports', everyMs: 250, attempts: 1, exclusive: true }],
        handlers: { 'status-reports': jobHandlers(rt)['status-reports']! },
        redisUrl: inject('redisUrl'),
        queueName,
        logger: quietLogger(),
      });
      await s.start();
      schedulers.push(s);
    }
  };
  const stopWorkers = async (): Promise<void> => {
    for (const s of schedulers) await s.stop();
  };
  const runsMore = async (n: number): Promise<void> => {
    const target = (await runsOf(rt)) + n;
    await waitFor(
      `${n} more status report runs`,
      () => runsOf(rt),
      (r) => r >= target,
      { timeoutMs: 60_000 },
    );
  };

  beforeAll(async () => {
    receiver = await startAlertReceiver();
    const config = reportConfig(receiver, {
      mode: 'distributed',
      kafka: { brokers: inject('kafkaBrokers').split(',') },
      dataDir: tempDir('ptel-reports-redis-'),
      clickhouse: target.clickhouse(database),
      redis: { url: inject('redisUrl'), queue: queueName },
    });
    rt = await createRuntime(config, {
      logger: quietLogger(),
      metrics: new PipelineMetrics({ defaultMetrics: false }),
      migrate: true,
      clock,
    });
    await startWorkers();
  }, 120_000);

  afterAll(async () => {
    await stopWorkers();
    await receiver?.close();
    await rt?.close();
    await target.drop(database);
  });

  it('sends each report once however many runs of both workers follow', async () => {
    await runsMore(1);
    expect(deliveries(receiver)).toEqual(W44);
    await runsMore(5);
    expect(deliveries(receiver)).toEqual(W44);
  });

  it('sends nothing again after both workers restart, and the next week once the cron fires', async () => {
    await stopWorkers();
    await startWorkers();
    await runsMore(4);
    expect(deliveries(receiver)).toEqual(W44);
    await clock.set('2026-11-09T08:00:00Z');
    await waitFor(
      'the next week',
      () => deliveries(receiver).length,
      (n) => n >= 4,
      { timeoutMs: 60_000 },
    );
    await runsMore(4);
    expect(deliveries(receiver)).toEqual([...W44, ...W45].sort());
    const rows = await queryRows<{ week: string; n: string }>(
      rt.store,
      "SELECT week, count() AS n FROM report_deliveries WHERE status = 'sent' AND report = 'status' GROUP BY week ORDER BY week",
    );
    // Per week: each program's folder and its one channel.
    expect(rows.map((r) => `${r.week} ${r.n}`)).toEqual(['2026-W44 4', '2026-W45 4']);
  });
});
