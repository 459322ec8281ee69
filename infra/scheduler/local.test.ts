import { describe, expect, it } from 'vitest';
import { quietLogger, waitFor } from '../../test/support/harness.js';
import { PipelineMetrics } from '../observability/metrics.js';
import { createLocalScheduler } from './local.js';
import { nextCronTime, validateSchedules } from './types.js';

describe('in-process scheduler', () => {
  it('runs each schedule repeatedly without overlapping runs, and retries a failed run', async () => {
    const metrics = new PipelineMetrics({ defaultMetrics: false });
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    let failures = 0;
    const s = createLocalScheduler({
      schedules: [
        { id: 'slow', job: 'slow', everyMs: 5 },
        { id: 'flaky', job: 'flaky', everyMs: 60_000, attempts: 3 },
      ],
      handlers: {
        slow: async () => {
          active++;
          maxActive = Math.max(maxActive, active);
          await new Promise((r) => setTimeout(r, 30));
          active--;
          runs++;
        },
        flaky: () => (++failures < 2 ? Promise.reject(new Error('once')) : Promise.resolve()),
      },
      logger: quietLogger(),
      metrics,
      runAtStart: true,
    });
    await s.start();
    await waitFor(
      'three slow runs',
      () => runs,
      (n) => n >= 3,
      { timeoutMs: 10_000 },
    );
    await waitFor(
      'the flaky job to succeed',
      () => failures,
      (n) => n >= 2,
      { timeoutMs: 10_000 },
    );
    await s.stop();
    expect(maxActive).toBe(1);
    const counted = await metrics.registry.getSingleMetricAsString('ptel_job_runs_total');
    expect(counted).toContain('ptel_job_runs_total{job="flaky",outcome="retried"} 1');
    expect(counted).toContain('ptel_job_runs_total{job="flaky",outcome="ok"} 1');
  });

  it('refuses a schedule list with a mistake, naming it', () => {
    const h = { a: () => Promise.resolve() };
    expect(() => validateSchedules([{ id: 'x', job: 'b', everyMs: 1 }], h)).toThrow("schedule 'x' names job 'b', which has no handler");
    expect(() => validateSchedules([{ id: 'x', job: 'a' }], h)).toThrow('exactly one of everyMs and cron');
    expect(() => validateSchedules([{ id: 'x', job: 'a', cron: 'every day' }], h)).toThrow("cron pattern 'every day' is not valid");
    expect(() =>
      validateSchedules(
        [
          { id: 'x', job: 'a', everyMs: 1 },
          { id: 'x', job: 'a', everyMs: 2 },
        ],
        h,
      ),
    ).toThrow("schedule id 'x' is listed twice");
  });

  it('computes the next cron time in the given time zone', () => {
    const from = new Date('2026-03-31T23:30:00Z');
    expect(nextCronTime('0 3 1 * *', 'UTC', from).toISOString()).toBe('2026-04-01T03:00:00.000Z');
    expect(nextCronTime('0 3 1 * *', 'Europe/Berlin', from).toISOString()).toBe('2026-04-01T01:00:00.000Z');
  });
});
