import { describe, expect, inject, it } from 'vitest';
import { PipelineMetrics } from '../../infra/observability/metrics.js';
import { createBullScheduler } from '../../infra/scheduler/bullmq.js';
import type { JobHandler, ScheduleSpec } from '../../infra/scheduler/types.js';
import { quietLogger, uniqueName, waitFor, schedulerIds } from '../support/harness.js';

const logger = quietLogger();

describe('schedules on the real Redis (BullMQ)', () => {
  const redisUrl = (): string => inject('redisUrl');

  it('registers each schedule once across restarts and removes the ones no longer declared', async () => {
    const queueName = uniqueName('sched');
    const noop: JobHandler = () => Promise.resolve();
    const handlers = { pull: noop, recompute: noop, close: noop };
    const v1: ScheduleSpec[] = [
      { id: 'pull-github', job: 'pull', everyMs: 3_600_000, data: { source: 'github' } },
      { id: 'recompute-daily', job: 'recompute', cron: '15 2 * * *' },
      { id: 'month-close', job: 'close', cron: '0 3 1 * *' },
    ];
    for (let i = 0; i < 3; i++) {
      const s = createBullScheduler({ schedules: v1, handlers, redisUrl: redisUrl(), queueName, logger });
      await s.start();
      await s.stop();
    }
    expect(await schedulerIds(redisUrl(), queueName)).toEqual(['month-close', 'pull-github', 'recompute-daily']);

    const v2 = v1.filter((s) => s.id !== 'month-close');
    const s = createBullScheduler({ schedules: v2, handlers, redisUrl: redisUrl(), queueName, logger });
    await s.start();
    await s.stop();
    expect(await schedulerIds(redisUrl(), queueName)).toEqual(['pull-github', 'recompute-daily']);
  });

  it('retries a failing job with back-off until it succeeds, and counts the outcomes', async () => {
    const queueName = uniqueName('retry');
    const attempts: number[] = [];
    const metrics = new PipelineMetrics({ defaultMetrics: false });
    const flaky: JobHandler = (data, ctx) => {
      attempts.push(ctx.attempt);
      expect(data).toEqual({ source: 'jira' });
      return attempts.length < 3 ? Promise.reject(new Error(`failure ${attempts.length}`)) : Promise.resolve();
    };
    const s = createBullScheduler({
      schedules: [{ id: 'flaky', job: 'flaky', everyMs: 3_600_000, attempts: 4, data: { source: 'jira' } }],
      handlers: { flaky },
      redisUrl: redisUrl(),
      queueName,
      logger,
      metrics,
    });
    await s.start();
    try {
      await waitFor(
        'three attempts',
        () => attempts.length,
        (n) => n >= 3,
        { timeoutMs: 30_000 },
      );
      await waitFor(
        'the success to be counted',
        () => metrics.registry.getSingleMetricAsString('ptel_job_runs_total'),
        (t) => t.includes('outcome="ok"} 1'),
        { timeoutMs: 10_000 },
      );
    } finally {
      await s.stop();
    }
    expect(attempts).toEqual([0, 1, 2]);
    const counted = await metrics.registry.getSingleMetricAsString('ptel_job_runs_total');
    expect(counted).toContain('ptel_job_runs_total{job="flaky",outcome="retried"} 2');
  });
});
