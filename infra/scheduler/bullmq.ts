import { randomUUID } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../observability/logger.js';
import type { PipelineMetrics } from '../observability/metrics.js';
import { RETRY_BASE_MS, validateSchedules, type JobHandler, type ScheduleSpec, type Scheduler } from './types.js';

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
  /** The clock the periodic schedule check runs on (default: the wall clock). */
  clock?: Clock;
  /** How often the declared schedules are looked up on Redis and put back when missing (default one minute). */
  checkEveryMs?: number;
  /**
   * How long a stop waits on the clock for the running jobs to end and Redis to take the last commands
   * before it cuts the connections (default 20 s, inside the 30 s a container gets after SIGTERM).
   */
  stopGraceMs?: number;
}

export const DEFAULT_SCHEDULE_CHECK_MS = 60_000;
export const DEFAULT_STOP_GRACE_MS = 20_000;

type JobData = Record<string, unknown> & { scheduleId: string };

/**
 * Distributed schedules: BullMQ job schedulers on Redis. On start the declared list is reconciled
 * (each schedule upserted under its id, schedulers no longer declared removed), so restarts and
 * several `ptel jobs` processes never register a schedule twice. Any process with a worker runs the
 * jobs; a failed job is retried with exponential back-off up to its attempts.
 *
 * Redis may lose its data while the process runs (a restart without persistence, a failover to a
 * replica behind, a FLUSHALL): the schedules are looked up again whenever the connection comes back
 * and every `checkEveryMs` on the clock (one small read), and the missing ones are recreated under
 * their ids, so no schedule stops silently and none is registered twice.
 */
export function createBullScheduler(options: BullSchedulerOptions): Scheduler {
  validateSchedules(options.schedules, options.handlers);
  const name = options.queueName ?? 'ptel-jobs';
  const clock = options.clock ?? systemClock;
  const checkEveryMs = options.checkEveryMs ?? DEFAULT_SCHEDULE_CHECK_MS;
  if (!(checkEveryMs > 0)) throw new Error(`checkEveryMs must be a positive number of milliseconds, not ${checkEveryMs}`);
  const stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
  if (!(stopGraceMs >= 0)) throw new Error(`stopGraceMs must be a number of milliseconds, not ${stopGraceMs}`);
  const where = redactedUrl(options.redisUrl);
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
  let started = false;
  let stopped = false;
  let cancelCheck: (() => void) | undefined;
  let restoring: Promise<void> | undefined;
  let restoreAgain = false;
  /** The handlers running now, which a stop waits for (within its grace period). */
  const running = new Set<Promise<void>>();

  /** Recreates the declared schedules Redis no longer holds; one pass at a time, another one after it when asked meanwhile. */
  const restore = (why: string): Promise<void> => {
    if (restoring !== undefined) {
      restoreAgain = true;
      return restoring;
    }
    restoring = (async () => {
      do {
        restoreAgain = false;
        if (stopped || queue === undefined) return;
        try {
          const { created, removed } = await restoreSchedules(queue, options.schedules);
          if (created.length > 0) log.warn({ created, removed, why }, `recreated ${created.length} job schedule(s) missing on redis`);
          else if (removed.length > 0) log.info({ removed, why }, 'removed job schedules no longer declared');
        } catch (err) {
          if (!stopped) log.warn({ err, why }, 'could not check the job schedules on redis; checking again later');
        }
      } while (restoreAgain && !stopped);
    })().finally(() => {
      restoring = undefined;
    });
    return restoring;
  };
  const armCheck = (): void => {
    if (stopped) return;
    cancelCheck = clock.setTimer(() => {
      cancelCheck = undefined;
      void restore('periodic check').finally(armCheck);
    }, checkEveryMs);
  };

  return {
    server: `redis at ${where}`,
    kind: 'bullmq',
    async start() {
      const conn = connect();
      // Every 'ready' after the first is a reconnect: the server may have come back without its data.
      conn.on('ready', () => {
        if (started) void restore('reconnected to redis');
      });
      queue = new Queue<JobData>(name, { connection: conn });
      // The queue repeats its connection's errors (logged above); without a listener it prints them to stderr.
      queue.on('error', (err) => log.debug({ err }, 'queue error'));
      const { created } = await reconcile(queue, options.schedules);
      if (created.length > 0) log.info({ created }, 'created job schedules');
      worker = new Worker<JobData>(
        name,
        async (job: Job<JobData>) => {
          const handler = options.handlers[job.name];
          if (handler === undefined) throw new Error(`no handler for job '${job.name}'`);
          const { scheduleId, ...data } = job.data;
          const end = options.metrics?.jobDuration.startTimer({ job: job.name });
          try {
            const run = (): Promise<void> => {
              const p = handler(data, { scheduleId, attempt: job.attemptsMade, signal: abort.signal });
              running.add(p);
              return p.finally(() => running.delete(p));
            };
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
      started = true;
      armCheck();
    },
    async checkReady() {
      if (connections.length === 0) throw new Error(`not connected to redis at ${where} yet: the scheduler has not started`);
      const down = connections.find((c) => c.status !== 'ready');
      if (down !== undefined) throw new Error(`redis at ${where} is not connected (${down.status})`);
      // Connected is not yet answering: a server that hangs fails the check on the caller's timeout.
      try {
        await connections[0]!.ping();
      } catch (err) {
        throw new Error(`redis at ${where} did not answer: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    },
    async stop() {
      stopped = true;
      cancelCheck?.();
      abort.abort(new Error('scheduler stopped'));
      // Closing waits on Redis (the jobs' completion, their locks, the queue's last commands): while
      // Redis cannot be reached it would never end. So the running jobs get the grace period on the
      // clock to end, and the connections are cut when Redis is down at the stop or drops during it,
      // or when the grace period is over: a stop (SIGTERM) always ends.
      let cancelGrace: (() => void) | undefined;
      const listeners: Array<() => void> = [];
      const redisLost = new Promise<string>((resolve) => {
        const down = connections.find((c) => c.status !== 'ready');
        if (down !== undefined) resolve(`redis at ${where} is not connected (${down.status})`);
        const onLost = (): void => resolve(`the connection to redis at ${where} dropped`);
        for (const c of connections) {
          c.on('reconnecting', onLost);
          listeners.push(() => c.off('reconnecting', onLost));
        }
        cancelGrace = clock.setTimer(() => resolve(`the running jobs did not end within ${stopGraceMs} ms`), stopGraceMs);
      });
      const unlessLost = (step: Promise<unknown>): Promise<string | undefined> => Promise.race([step.then(() => undefined), redisLost]);
      let cut = await unlessLost(Promise.allSettled(running));
      if (cut === undefined) {
        // No job runs: what is left is BullMQ's bookkeeping and the connections' goodbyes.
        const closing = (async () => {
          await worker?.close();
          await queue?.close();
        })();
        cut = await unlessLost(closing);
        closing.catch(() => undefined);
      }
      cancelGrace?.();
      for (const off of listeners) off();
      if (cut === undefined) {
        await Promise.allSettled(connections.map((c) => c.quit()));
        return;
      }
      log.warn(
        { why: cut, running: running.size },
        'stopping without waiting for redis: its connections are cut and the running jobs abandoned',
      );
      for (const c of connections) c.disconnect();
      // With its shared connections cut, a forced close ends at once (it drops its own blocking one).
      await worker?.close(true);
      await queue?.close();
    },
  };
}

/** The Redis URL without its credentials, for messages. */
function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return 'the configured address';
  }
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

function upsertSchedule(queue: Queue<JobData>, s: ScheduleSpec): Promise<unknown> {
  return queue.upsertJobScheduler(s.id, s.everyMs !== undefined ? { every: s.everyMs } : { pattern: s.cron!, tz: s.tz ?? 'UTC' }, {
    name: s.job,
    data: { ...(s.data ?? {}), scheduleId: s.id },
    opts: {
      attempts: s.attempts ?? 3,
      backoff: { type: 'exponential', delay: RETRY_BASE_MS },
      removeOnComplete: { count: 1_000 },
      removeOnFail: { count: 5_000 },
    },
  });
}

async function schedulerIdsOn(queue: Queue<JobData>): Promise<Set<string>> {
  return new Set((await queue.getJobSchedulers(0, -1)).map((s) => s.id ?? s.key));
}

async function removeUndeclared(queue: Queue<JobData>, present: Set<string>, schedules: ScheduleSpec[]): Promise<string[]> {
  const wanted = new Set(schedules.map((s) => s.id));
  const removed: string[] = [];
  for (const id of present) {
    if (!wanted.has(id)) {
      await queue.removeJobScheduler(id);
      removed.push(id);
    }
  }
  return removed;
}

/**
 * Upserts every declared schedule (a changed interval or pattern takes effect) and removes the
 * schedulers no longer declared; says which ones Redis did not hold before.
 */
export async function reconcile(queue: Queue<JobData>, schedules: ScheduleSpec[]): Promise<{ created: string[]; removed: string[] }> {
  const present = await schedulerIdsOn(queue);
  for (const s of schedules) await upsertSchedule(queue, s);
  const removed = await removeUndeclared(queue, present, schedules);
  return { created: schedules.filter((s) => !present.has(s.id)).map((s) => s.id), removed };
}

/**
 * The running check: creates only the declared schedules Redis does not hold (the others keep their
 * next run) and removes the undeclared ones, so processes of one deployment converge on its list.
 * Costs one read of the scheduler list when nothing is missing.
 */
export async function restoreSchedules(
  queue: Queue<JobData>,
  schedules: ScheduleSpec[],
): Promise<{ created: string[]; removed: string[] }> {
  const present = await schedulerIdsOn(queue);
  const missing = schedules.filter((s) => !present.has(s.id));
  for (const s of missing) await upsertSchedule(queue, s);
  const removed = await removeUndeclared(queue, present, schedules);
  return { created: missing.map((s) => s.id), removed };
}
