import type { Logger } from '../observability/logger.js';
import type { PipelineMetrics } from '../observability/metrics.js';
import { backoffDelay } from '../retry.js';
import { nextCronTime, validateSchedules, type JobHandler, type ScheduleSpec, type Scheduler } from './types.js';

/**
 * The in-process scheduler of embedded mode: one timer per schedule, runs of one schedule never
 * overlap, a failed run is retried with exponential back-off up to its attempts.
 */
export function createLocalScheduler(options: {
  schedules: ScheduleSpec[];
  handlers: Record<string, JobHandler>;
  logger: Logger;
  metrics?: PipelineMetrics;
  /** Run each schedule once right at start (embedded default), not only after its first interval. */
  runAtStart?: boolean;
}): Scheduler {
  validateSchedules(options.schedules, options.handlers);
  const log = options.logger.child({ component: 'scheduler' });
  const timers = new Map<string, NodeJS.Timeout>();
  const running = new Set<Promise<void>>();
  const abort = new AbortController();
  let stopped = false;

  const delayFor = (s: ScheduleSpec): number =>
    s.everyMs !== undefined ? s.everyMs : Math.max(0, nextCronTime(s.cron!, s.tz, new Date()).getTime() - Date.now());

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
        if (!last) await new Promise((r) => setTimeout(r, backoffDelay(attempt, 1_000, 60_000)));
      }
    }
  };

  const arm = (s: ScheduleSpec, delay: number): void => {
    if (stopped) return;
    timers.set(
      s.id,
      setTimeout(() => {
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
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      abort.abort(new Error('scheduler stopped'));
      await Promise.allSettled([...running]);
    },
  };
}
