import { randomUUID } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import type { PipelineMetrics } from '../observability/metrics.js';
import { validateSchedules, type JobHandler, type ScheduleSpec, type Scheduler } from './types.js';

export interface BullSchedulerOptions {
  schedules: ScheduleSpec[];
  handlers: Record<string, JobHandler>;
  redisUrl: string;
  /** One queue per deployment; tests use their own. */
  queueName?: string;
  logger: Logger;
  metrics?: PipelineMetrics;
  /** Jobs one process runs at once. */
  concurrency?: number;
}

type JobData = Record<string, unknown> & { scheduleId: string };

/**
 * Distributed schedules: BullMQ job schedulers on Redis. On start the declared list is reconciled
 * (each schedule upserted under its id, schedulers no longer declared removed), so restarts and
 * several `ptel jobs` processes never register a schedule twice. Any process with a worker runs the
 * jobs; a failed job is retried with exponential back-off up to its attempts.
 */
export function createBullScheduler(options: BullSchedulerOptions): Scheduler {
  validateSchedules(options.schedules, options.handlers);
  const name = options.queueName ?? 'ptel-jobs';
  const log = options.logger.child({ component: 'scheduler', queue: name });
  const connections: Redis[] = [];
  const connect = (): Redis => {
    // BullMQ needs blocking commands to wait without a per-request retry limit.
    const c = new Redis(options.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
    c.on('error', (err) => log.warn({ err }, 'redis connection error'));
    connections.push(c);
    return c;
  };
  let queue: Queue<JobData> | undefined;
  let worker: Worker<JobData> | undefined;
  const abort = new AbortController();
  const exclusive = new Set(options.schedules.filter((s) => s.exclusive === true).map((s) => s.id));
  let locks: Redis | undefined;

  return {
    kind: 'bullmq',
    async start() {
      queue = new Queue<JobData>(name, { connection: connect() });
      await reconcile(queue, options.schedules);
      worker = new Worker<JobData>(
        name,
        async (job: Job<JobData>) => {
          const handler = options.handlers[job.name];
          if (handler === undefined) throw new Error(`no handler for job '${job.name}'`);
          const { scheduleId, ...data } = job.data;
          const end = options.metrics?.jobDuration.startTimer({ job: job.name });
          try {
            const run = (): Promise<void> => handler(data, { scheduleId, attempt: job.attemptsMade, signal: abort.signal });
            if (!exclusive.has(scheduleId)) await run();
            else if (!(await whileLocked((locks ??= connect()), `${name}:lock:${scheduleId}`, run))) {
              log.info({ job: job.name, scheduleId }, 'run skipped: the previous run of this schedule is still going');
            }
          } finally {
            end?.();
          }
        },
        { connection: connect(), concurrency: options.concurrency ?? 2 },
      );
      worker.on('completed', (job) => options.metrics?.jobRuns.inc({ job: job.name, outcome: 'ok' }));
      worker.on('failed', (job, err) => {
        if (job === undefined) return;
        const last = job.attemptsMade >= (job.opts.attempts ?? 1);
        options.metrics?.jobRuns.inc({ job: job.name, outcome: last ? 'failed' : 'retried' });
        log.warn({ err, job: job.name, attempt: job.attemptsMade }, last ? 'job failed' : 'job failed; retrying');
      });
      worker.on('error', (err) => log.error({ err }, 'worker error'));
      await worker.waitUntilReady();
    },
    async stop() {
      abort.abort(new Error('scheduler stopped'));
      await worker?.close();
      await queue?.close();
      await Promise.allSettled(connections.map((c) => c.quit()));
    },
  };
}

const LOCK_TTL_MS = 60_000;
const RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * Runs `fn` holding the lock `key` (a token with a time to live, renewed while `fn` runs, released
 * only by its holder); resolves false without running it when another holder has the lock.
 */
export async function whileLocked(redis: Redis, key: string, fn: () => Promise<void>): Promise<boolean> {
  const token = randomUUID();
  if ((await redis.set(key, token, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') return false;
  const renew = setInterval(() => {
    redis.eval(RENEW, 1, key, token, String(LOCK_TTL_MS)).catch(() => undefined);
  }, LOCK_TTL_MS / 3);
  try {
    await fn();
  } finally {
    clearInterval(renew);
    await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
  }
  return true;
}

/** Upserts every declared schedule and removes the schedulers no longer declared. */
export async function reconcile(queue: Queue<JobData>, schedules: ScheduleSpec[]): Promise<{ removed: string[] }> {
  for (const s of schedules) {
    await queue.upsertJobScheduler(s.id, s.everyMs !== undefined ? { every: s.everyMs } : { pattern: s.cron!, tz: s.tz ?? 'UTC' }, {
      name: s.job,
      data: { ...(s.data ?? {}), scheduleId: s.id },
      opts: {
        attempts: s.attempts ?? 3,
        backoff: { type: 'exponential', delay: 1_000 },
        removeOnComplete: { count: 1_000 },
        removeOnFail: { count: 5_000 },
      },
    });
  }
  const wanted = new Set(schedules.map((s) => s.id));
  const removed: string[] = [];
  for (const existing of await queue.getJobSchedulers(0, -1)) {
    const id = existing.id ?? existing.key;
    if (!wanted.has(id)) {
      await queue.removeJobScheduler(id);
      removed.push(id);
    }
  }
  return { removed };
}
