import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startConnect } from '../../app/roles.js';
import { createRuntime, type Runtime } from '../../app/runtime.js';
import { loadConfig } from '../../infra/config/load.js';
import { PipelineMetrics } from '../../infra/observability/metrics.js';
import { createBullScheduler } from '../../infra/scheduler/bullmq.js';
import type { JobHandler, ScheduleSpec } from '../../infra/scheduler/types.js';
import { ManualClock } from '../support/clock.js';
import { quietLogger, repoRoot, schedulerIds, tempDir, uniqueName, waitFor } from '../support/harness.js';
import { STORES } from '../support/stores.js';

const run = promisify(execFile);

/** Stops or starts the shared Redis through services.sh (its data is kept across a stop). */
async function services(action: 'stop' | 'up', ...names: string[]): Promise<void> {
  // Bounded: a script that hangs fails the test with its own step named, not with the test's timeout.
  await run('bash', [path.join(repoRoot, 'infra/scripts/services.sh'), action, ...names], {
    env: { ...process.env, PTEL_SERVICES_HOME: inject('servicesHome') },
    timeout: 120_000,
  });
}

/**
 * Distributed mode when Redis fails: the job schedules come back after Redis lost its data, on the
 * periodic check and on a reconnect, each once; and /readyz of `connect` names Redis while it is down.
 */
describe('the schedules and the readiness when Redis fails', () => {
  const redisUrl = (): string => inject('redisUrl');
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
    // It reconnects on its own after the restarts below.
    admin.on('error', () => undefined);
  });
  afterAll(async () => {
    await admin.quit();
  });

  /** Two schedules whose runs are counted, one every half second, one every 700 ms. */
  const counted = (): { schedules: ScheduleSpec[]; handlers: Record<string, JobHandler>; runs: Record<string, number> } => {
    const runs: Record<string, number> = { often: 0, sometimes: 0 };
    const count =
      (id: string): JobHandler =>
      () => {
        runs[id]!++;
        return Promise.resolve();
      };
    return {
      schedules: [
        { id: 'often', job: 'often', everyMs: 500 },
        { id: 'sometimes', job: 'sometimes', everyMs: 700 },
      ],
      handlers: { often: count('often'), sometimes: count('sometimes') },
      runs,
    };
  };
  const bothRanTwiceSince = (runs: Record<string, number>, since: Record<string, number>) =>
    waitFor(
      'both schedules to run twice more',
      () => ({ ...runs }),
      (r) => r['often']! >= since['often']! + 2 && r['sometimes']! >= since['sometimes']! + 2,
      { timeoutMs: 20_000 },
    );

  it('recreates the schedules a FLUSHALL wiped on its next periodic check, once each, and their runs resume', async () => {
    const queueName = uniqueName('flushed');
    const clock = new ManualClock('2026-06-01T09:00:00Z');
    const { schedules, handlers, runs } = counted();
    const s = createBullScheduler({
      schedules,
      handlers,
      redisUrl: redisUrl(),
      queueName,
      logger: quietLogger(),
      clock,
      checkEveryMs: 30_000,
    });
    await s.start();
    try {
      await bothRanTwiceSince(runs, { often: 0, sometimes: 0 });
      expect(await admin.flushall()).toBe('OK');
      expect(await schedulerIds(redisUrl(), queueName)).toEqual([]);
      const afterFlush = { ...runs };

      // Short of the check interval nothing is looked at; at it, the missing schedules are recreated.
      await clock.advance(29_000);
      expect(await schedulerIds(redisUrl(), queueName)).toEqual([]);
      await clock.advance(1_000);
      await waitFor(
        'the schedules on Redis again',
        () => schedulerIds(redisUrl(), queueName),
        (ids) => ids.length >= 2,
        { timeoutMs: 10_000 },
      );
      await bothRanTwiceSince(runs, afterFlush);
      // A later check finds them all and adds none.
      await clock.advance(30_000);
      expect(await schedulerIds(redisUrl(), queueName)).toEqual(['often', 'sometimes']);
    } finally {
      await s.stop();
    }
  });

  it('recreates the schedules when Redis comes back without its data, without waiting for the periodic check', async () => {
    const queueName = uniqueName('restarted');
    // A clock that never moves: only the reconnect can bring the schedules back.
    const clock = new ManualClock('2026-06-01T09:00:00Z');
    const { schedules, handlers, runs } = counted();
    const s = createBullScheduler({ schedules, handlers, redisUrl: redisUrl(), queueName, logger: quietLogger(), clock });
    await s.start();
    try {
      await bothRanTwiceSince(runs, { often: 0, sometimes: 0 });
      // A restart without persistence: the server comes back empty.
      try {
        expect(await admin.flushall()).toBe('OK');
        await services('stop', 'redis');
      } finally {
        await services('up', 'redis');
      }
      const afterRestart = { ...runs };
      await waitFor(
        'the schedules on Redis again',
        () => schedulerIds(redisUrl(), queueName),
        (ids) => ids.length >= 2,
        { timeoutMs: 20_000 },
      );
      expect(await schedulerIds(redisUrl(), queueName)).toEqual(['often', 'sometimes']);
      await bothRanTwiceSince(runs, afterRestart);
      expect(await schedulerIds(redisUrl(), queueName)).toEqual(['often', 'sometimes']);
    } finally {
      await s.stop();
    }
  });

  /** Resolves once `stop` has ended, failing the test when it has not within the bound. */
  const ended = async (stop: Promise<void>, what: string, timeoutMs = 15_000): Promise<void> => {
    let done = false;
    void stop.then(() => (done = true));
    await waitFor(
      what,
      () => done,
      (d) => d,
      { timeoutMs },
    );
  };

  describe('a stop', () => {
    it('ends at once when Redis is down, and the scheduler starts again once it is back', async () => {
      const queueName = uniqueName('stop-down');
      const { schedules, handlers, runs } = counted();
      const s = createBullScheduler({ schedules, handlers, redisUrl: redisUrl(), queueName, logger: quietLogger() });
      await s.start();
      try {
        await bothRanTwiceSince(runs, { often: 0, sometimes: 0 });
        await services('stop', 'redis');
        await ended(s.stop(), 'the stop to end while Redis is down');
      } finally {
        await services('up', 'redis');
      }
      const again = createBullScheduler({ schedules, handlers, redisUrl: redisUrl(), queueName, logger: quietLogger() });
      await again.start();
      try {
        await bothRanTwiceSince(runs, { ...runs });
      } finally {
        await again.stop();
      }
    });

    /**
     * A scheduler running one job that ignores the stop's abort: only its end (or the cut) lets the stop
     * finish. Resolves once the job runs.
     */
    const withEndlessJob = async (
      queueName: string,
      more: Partial<Parameters<typeof createBullScheduler>[0]> = {},
    ): Promise<{ s: ReturnType<typeof createBullScheduler>; release: () => void }> => {
      let started = false;
      let release: () => void = () => undefined;
      const s = createBullScheduler({
        schedules: [{ id: 'long', job: 'long', everyMs: 60_000 }],
        handlers: {
          long: () => {
            started = true;
            return new Promise<void>((resolve) => (release = resolve));
          },
        },
        redisUrl: redisUrl(),
        queueName,
        logger: quietLogger(),
        ...more,
      });
      await s.start();
      await waitFor(
        'the job to start',
        () => started,
        (x) => x,
        { timeoutMs: 20_000 },
      );
      return { s, release: () => release() };
    };

    it('waiting for a running job ends when Redis drops meanwhile', async () => {
      const { s, release } = await withEndlessJob(uniqueName('stop-drop'));
      try {
        let stopped = false;
        const stop = s.stop().then(() => (stopped = true));
        await services('stop', 'redis');
        await ended(
          stop.then(() => undefined),
          'the stop to end once Redis dropped',
        );
        expect(stopped).toBe(true);
      } finally {
        release();
        await services('up', 'redis');
      }
    });

    it('waits out its grace period on the clock for a job that does not end, then ends while Redis answers', async () => {
      const clock = new ManualClock('2026-06-01T09:00:00Z');
      const { s, release } = await withEndlessJob(uniqueName('stop-grace'), { clock, stopGraceMs: 5_000 });
      try {
        let stopped = false;
        const stop = s.stop().then(() => (stopped = true));
        await clock.advance(4_999);
        expect(stopped).toBe(false);
        await clock.advance(1);
        await ended(
          stop.then(() => undefined),
          'the stop to end at its grace period',
        );
        expect(await admin.ping()).toBe('PONG');
      } finally {
        release();
      }
    });
  });

  // The readiness checks the store too: on either store it stays 'ok' while Redis is down.
  describe.each(STORES)('the connect role on $title', (target) => {
    let rt: Runtime;
    const database = target.database('redis_faults');
    beforeAll(async () => {
      const config = loadConfig({
        env: {},
        cwd: tempDir(),
        overrides: {
          mode: 'distributed',
          kafka: { brokers: inject('kafkaBrokers').split(',') },
          dataDir: tempDir('ptel-redis-faults-'),
          clickhouse: target.clickhouse(database),
          redis: { url: redisUrl(), queue: uniqueName('connect') },
          http: { host: '127.0.0.1', port: 0 },
          log: { level: 'silent' },
        },
      });
      rt = await createRuntime(config, { logger: quietLogger(), metrics: new PipelineMetrics({ defaultMetrics: false }), migrate: true });
    });
    afterAll(async () => {
      await rt?.close();
      await target.drop(database);
    });

    it('answers /readyz 503 naming redis while Redis is down, and 200 once it is back', async () => {
      const role = await startConnect(rt);
      const readyz = async (): Promise<{ status: number; body: { status: string; checks: Record<string, string> } }> => {
        const res = await fetch(`${role.url!}/readyz`);
        return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, string> } };
      };
      try {
        const up = await waitFor('/readyz 200', readyz, (r) => r.status === 200, { timeoutMs: 30_000 });
        expect(up.body).toEqual({ status: 'ready', checks: { store: 'ok', bus: 'ok', redis: 'ok' } });
        let down: Awaited<ReturnType<typeof readyz>>;
        try {
          await services('stop', 'redis');
          down = await waitFor('/readyz 503', readyz, (r) => r.status === 503, { timeoutMs: 15_000 });
          expect((await fetch(`${role.url!}/healthz`)).status).toBe(200);
        } finally {
          await services('up', 'redis');
        }
        expect(down.body.status).toBe('not ready');
        expect(down.body.checks['redis']).toMatch(/^redis at redis:\/\/127\.0\.0\.1:\d+ is not connected \(\w+\)$/);
        expect(down.body.checks['store']).toBe('ok');
        expect(down.body.checks['bus']).toBe('ok');
        const back = await waitFor('/readyz 200 again', readyz, (r) => r.status === 200, { timeoutMs: 30_000 });
        expect(back.body.checks['redis']).toBe('ok');
      } finally {
        await role.stop();
      }
    });
  });
});
