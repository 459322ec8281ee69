import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../observability/logger.js';
import type { PipelineMetrics } from '../observability/metrics.js';
import { backoffDelay } from '../retry.js';
import { nextCronTime, RETRY_BASE_MS, validateSchedules, type JobHandler, type ScheduleSpec, type Scheduler } from './types.js';

/**
 * The in-process scheduler of embedded mode: one timer per schedule, runs of one schedule never
 * overlap, a failed run is retried with exponential back-off up to its attempts. Times come from the
 * clock: a cron schedule waits on the clock's timer for its next instant, however far away (a monthly
 * job waits weeks), and never runs twice for one instant.
 */
export function createLocalScheduler(options: {
  schedules: ScheduleSpec[];
  handlers: Record<string, JobHandler>;
  logger: Logger;
  metrics?: PipelineMetrics;
  /** Run each schedule once right at start (embedded default), not only after its first interval. */
  runAtStart?: boolean;
  /** Where "now" and the timers come from (default: the wall clock). */
  clock?: Clock;
}): Scheduler {
  validateSchedules(options.schedules, options.handlers);
  const clock = options.clock ?? systemClock;
  const log = options.logger.child({ component: 'scheduler' });
  const timers = new Map<string, () => void>();
  /** Per cron schedule, the instant its last timer was due: the next one comes strictly after it. */
  const lastDue = new Map<string, number>();
  const running = new Set<Promise<void>>();
  const abort = new AbortController();
  let stopped = false;

  const delayFor = (s: ScheduleSpec): number => {
    if (s.everyMs !== undefined) return s.everyMs;
    const now = clock.now();
    const from = Math.max(now, lastDue.get(s.id) ?? now);
    const due = nextCronTime(s.cron!, s.tz, new Date(from)).getTime();
    lastDue.set(s.id, due);
    return Math.max(0, due - now);
  };

  const runOnce = async (s: ScheduleSpec): Promise<void> => {
    const handler = options.handlers[s.job]!;
    const attempts = s.attempts ?? 3;
    for (let attempt = 0; attempt < attempts && !stopped; attempt++) {
      const end = options.metrics?.jobDuration.startTimer({ job: s.job });
      try {
        await handler(s.data ?? {}, { scheduleId: s.id, attempt, signal: abort.signal });
        end?.();
        options.metrics?.jobRuns.inc({ job: s.job, outcome: 'ok' });
        return;
      } catch (err) {
        end?.();
        const last = attempt + 1 >= attempts;
        options.metrics?.jobRuns.inc({ job: s.job, outcome: last ? 'failed' : 'retried' });
        log.warn({ err, schedule: s.id, attempt }, last ? 'job failed' : 'job failed; retrying');
        if (!last) {
          try {
            // The back-off doubles without a ceiling short of an hour: a schedule's attempts are sized to
            // its interval (attemptsWithin), so its retries span the interval, not its first minute.
            await clock.sleep(backoffDelay(attempt, RETRY_BASE_MS, 3_600_000), abort.signal);
          } catch {
            return; // stopped while waiting to retry
          }
        }
      }
    }
  };

  const arm = (s: ScheduleSpec, delay: number): void => {
    if (stopped) return;
    timers.set(
      s.id,
      clock.setTimer(() => {
        timers.delete(s.id);
        if (stopped) return;
        const run = runOnce(s).finally(() => {
          running.delete(run);
          arm(s, delayFor(s));
        });
        running.add(run);
      }, delay),
    );
  };

  return {
    kind: 'local',
    start() {
      for (const s of options.schedules) arm(s, options.runAtStart === true ? 0 : delayFor(s));
      return Promise.resolve();
    },
    async stop() {
      stopped = true;
      for (const cancel of timers.values()) cancel();
      timers.clear();
      abort.abort(new Error('scheduler stopped'));
      await Promise.allSettled([...running]);
    },
  };
}
