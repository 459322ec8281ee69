import { describe, expect, it } from 'vitest';
import { ManualClock, nodeLikeTimerHost } from '../../test/support/clock.js';
import { quietLogger } from '../../test/support/harness.js';
import { timerClock } from '../clock.js';
import { PipelineMetrics } from '../observability/metrics.js';
import { createLocalScheduler } from './local.js';
import { attemptsWithin, nextCronTime, RETRY_BASE_MS, validateSchedules } from './types.js';

const iso = (ms: number): string => new Date(ms).toISOString();

describe('in-process scheduler', () => {
  it('runs a monthly cron once on the 1st of each month and not before, from a start mid-month', async () => {
    const clock = new ManualClock('2026-03-03T10:00:00Z');
    const runs: string[] = [];
    const s = createLocalScheduler({
      schedules: [{ id: 'month-close', job: 'close', cron: '0 3 1 * *' }],
      handlers: {
        close: () => {
          runs.push(clock.date().toISOString());
          return Promise.resolve();
        },
      },
      logger: quietLogger(),
      clock,
    });
    await s.start();
    expect(clock.nextDue()).toBe(Date.parse('2026-04-01T03:00:00Z'));

    await clock.set('2026-04-01T02:59:59.999Z');
    expect(runs).toEqual([]);
    await clock.set('2026-04-01T03:00:00Z');
    expect(runs).toEqual(['2026-04-01T03:00:00.000Z']);
    await clock.set('2026-04-30T23:59:59Z');
    expect(runs).toHaveLength(1);
    await clock.set('2026-07-15T00:00:00Z');
    expect(runs).toEqual(['2026-04-01T03:00:00.000Z', '2026-05-01T03:00:00.000Z', '2026-06-01T03:00:00.000Z', '2026-07-01T03:00:00.000Z']);
    expect(clock.pending).toBe(1);
    await s.stop();
  });

  it('waits out a month on timers that clamp long delays as Node does', async () => {
    // The wall clock's timer logic over manual time: a delay above 2^31-1 ms asked of the host fires after 1 ms.
    const manual = new ManualClock('2026-03-03T10:00:00Z');
    const clock = timerClock(nodeLikeTimerHost(manual));
    const runs: string[] = [];
    const s = createLocalScheduler({
      schedules: [{ id: 'month-close', job: 'close', cron: '0 3 1 * *' }],
      handlers: {
        close: () => {
          runs.push(clock.date().toISOString());
          return Promise.resolve();
        },
      },
      logger: quietLogger(),
      clock,
    });
    await s.start();
    await manual.set('2026-03-31T00:00:00Z');
    expect(runs).toEqual([]);
    await manual.set('2026-05-15T00:00:00Z');
    expect(runs).toEqual(['2026-04-01T03:00:00.000Z', '2026-05-01T03:00:00.000Z']);
    await s.stop();
  });

  it('runs an everyMs schedule every interval after the previous run', async () => {
    const clock = new ManualClock('2026-06-01T00:00:00Z');
    const t0 = clock.now();
    const runs: number[] = [];
    const s = createLocalScheduler({
      schedules: [{ id: 'pull', job: 'pull', everyMs: 60_000 }],
      handlers: {
        pull: () => {
          runs.push(clock.now() - t0);
          return Promise.resolve();
        },
      },
      logger: quietLogger(),
      clock,
    });
    await s.start();
    await clock.advance(59_999);
    expect(runs).toEqual([]);
    await clock.advance(1);
    expect(runs).toEqual([60_000]);
    await clock.set(t0 + 300_000);
    expect(runs).toEqual([60_000, 120_000, 180_000, 240_000, 300_000]);
    await s.stop();
  });

  it('with runAtStart runs each schedule at once, then on its own times', async () => {
    const clock = new ManualClock('2026-03-03T10:00:00Z');
    const runs: string[] = [];
    const s = createLocalScheduler({
      schedules: [
        { id: 'month-close', job: 'close', cron: '0 3 1 * *' },
        { id: 'pull', job: 'pull', everyMs: 3_600_000 },
      ],
      handlers: {
        close: () => {
          runs.push(`close ${clock.date().toISOString()}`);
          return Promise.resolve();
        },
        pull: () => {
          runs.push(`pull ${clock.date().toISOString()}`);
          return Promise.resolve();
        },
      },
      logger: quietLogger(),
      runAtStart: true,
      clock,
    });
    await s.start();
    await clock.advance(0);
    expect(runs.sort()).toEqual(['close 2026-03-03T10:00:00.000Z', 'pull 2026-03-03T10:00:00.000Z']);
    runs.length = 0;
    await clock.set('2026-04-01T03:00:00Z');
    expect(runs.filter((r) => r.startsWith('close'))).toEqual(['close 2026-04-01T03:00:00.000Z']);
    expect(runs.filter((r) => r.startsWith('pull'))).toHaveLength(
      (Date.parse('2026-04-01T03:00:00Z') - Date.parse('2026-03-03T10:00:00Z')) / 3_600_000,
    );
    await s.stop();
  });

  it('never overlaps runs of one schedule, and retries a failed run after a back-off on the clock', async () => {
    const clock = new ManualClock('2026-06-01T00:00:00Z');
    const t0 = clock.now();
    const metrics = new PipelineMetrics({ defaultMetrics: false });
    let active = 0;
    let maxActive = 0;
    let slowRuns = 0;
    const flakyAt: number[] = [];
    const s = createLocalScheduler({
      schedules: [
        { id: 'slow', job: 'slow', everyMs: 5_000 },
        { id: 'flaky', job: 'flaky', everyMs: 3_600_000, attempts: 3 },
      ],
      handlers: {
        slow: async (_data, ctx) => {
          active++;
          maxActive = Math.max(maxActive, active);
          await clock.sleep(30_000, ctx.signal);
          active--;
          slowRuns++;
        },
        flaky: () => {
          flakyAt.push(clock.now() - t0);
          return flakyAt.length < 3 ? Promise.reject(new Error('not yet')) : Promise.resolve();
        },
      },
      logger: quietLogger(),
      metrics,
      runAtStart: true,
      clock,
    });
    await s.start();
    await clock.advance(0);
    expect(flakyAt).toEqual([0]);
    await clock.advance(400);
    expect(flakyAt).toEqual([0]); // the first back-off is at least half its 1 s ceiling
    await clock.advance(600);
    expect(flakyAt).toHaveLength(2);
    expect(flakyAt[1]).toBeGreaterThanOrEqual(500);
    await clock.advance(2_000);
    expect(flakyAt).toHaveLength(3);
    expect(flakyAt[2]! - flakyAt[1]!).toBeGreaterThanOrEqual(1_000);

    await clock.set(t0 + 140_000);
    // 0-30 s, 35-65 s, 70-100 s, 105-135 s: four runs, one at a time.
    expect(slowRuns).toBe(4);
    expect(maxActive).toBe(1);
    const counted = await metrics.registry.getSingleMetricAsString('ptel_job_runs_total');
    expect(counted).toContain('ptel_job_runs_total{job="flaky",outcome="retried"} 2');
    expect(counted).toContain('ptel_job_runs_total{job="flaky",outcome="ok"} 1');
    await s.stop();
  });

  it('tries a run that fails while a server is down for minutes again within its interval', async () => {
    const every = 15 * 60_000;
    // The back-off (1 s, doubling) of every attempt fits within the interval, and one more would not.
    const attempts = attemptsWithin(every);
    const waits = Array.from({ length: attempts - 1 }, (_, i) => RETRY_BASE_MS * 2 ** i);
    expect(waits.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(every);
    expect(waits.reduce((a, b) => a + b, 0) + RETRY_BASE_MS * 2 ** (attempts - 1)).toBeGreaterThan(every);
    expect(attemptsWithin(60_000)).toBe(6);

    const clock = new ManualClock('2026-06-01T00:00:00Z');
    const t0 = clock.now();
    const downUntil = t0 + 3 * 60_000;
    const tried: number[] = [];
    let pulled: number | undefined;
    const s = createLocalScheduler({
      schedules: [{ id: 'pull-x', job: 'pull', everyMs: every, attempts }],
      handlers: {
        pull: () => {
          tried.push(clock.now() - t0);
          if (clock.now() < downUntil) return Promise.reject(new Error('connect ECONNREFUSED'));
          pulled = clock.now() - t0;
          return Promise.resolve();
        },
      },
      logger: quietLogger(),
      runAtStart: true,
      clock,
    });
    await s.start();
    for (let t = 0; t < every && pulled === undefined; t += 1_000) await clock.advance(1_000);
    await s.stop();
    // Pulled once the server was back, before the next run of the schedule was due.
    expect(pulled).toBeDefined();
    expect(pulled!).toBeGreaterThanOrEqual(3 * 60_000);
    expect(pulled!).toBeLessThan(every);
    expect(tried.length).toBeLessThanOrEqual(attempts);
  });

  it('stop() cancels every timer and ends a back-off wait without running the job again', async () => {
    const clock = new ManualClock('2026-06-01T00:00:00Z');
    let attempts = 0;
    let cronRuns = 0;
    const s = createLocalScheduler({
      schedules: [
        { id: 'failing', job: 'failing', everyMs: 60_000, attempts: 5 },
        { id: 'nightly', job: 'nightly', cron: '0 2 * * *' },
      ],
      handlers: {
        failing: () => {
          attempts++;
          return Promise.reject(new Error('down'));
        },
        nightly: () => {
          cronRuns++;
          return Promise.resolve();
        },
      },
      logger: quietLogger(),
      clock,
    });
    await s.start();
    await clock.advance(60_000);
    expect(attempts).toBe(1);
    expect(clock.pending).toBe(2); // the back-off and the nightly timer
    await s.stop();
    expect(clock.pending).toBe(0);
    await clock.advance(7 * 86_400_000);
    expect(attempts).toBe(1);
    expect(cronRuns).toBe(0);
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

  it('computes the next cron time in the given time zone, strictly after the given instant', () => {
    const from = new Date('2026-03-31T23:30:00Z');
    expect(nextCronTime('0 3 1 * *', 'UTC', from).toISOString()).toBe('2026-04-01T03:00:00.000Z');
    expect(nextCronTime('0 3 1 * *', 'Europe/Berlin', from).toISOString()).toBe('2026-04-01T01:00:00.000Z');
    expect(iso(nextCronTime('0 3 1 * *', 'UTC', new Date('2026-04-01T03:00:00Z')).getTime())).toBe('2026-05-01T03:00:00.000Z');
  });
});
