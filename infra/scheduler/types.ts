import { CronExpressionParser } from 'cron-parser';

/** One entry of the declarative schedule list: which job runs, how often, with what data. */
export interface ScheduleSpec {
  /** Stable id: the same id across restarts means the same schedule (updated, not duplicated). */
  id: string;
  /** The job handler's name. */
  job: string;
  /** Run every N milliseconds... */
  everyMs?: number;
  /** ...or on a cron pattern (minute hour day month weekday), in `tz` (default UTC). */
  cron?: string;
  tz?: string;
  data?: Record<string, unknown>;
  /** Attempts before a run counts as failed (retried with exponential back-off). */
  attempts?: number;
  /**
   * At most one run of this schedule at a time across every process: a run that finds another one
   * still going is skipped. (Runs of one schedule never overlap within a process.)
   */
  exclusive?: boolean;
}

/** The first retry of a failed run waits this long; each next one twice as long as the one before. */
export const RETRY_BASE_MS = 1_000;

/**
 * The attempts a run of a schedule repeating every `everyMs` can make before its next run is due: its
 * retries' back-off (RETRY_BASE_MS, doubling) fits within the interval. A pull that fails while a server
 * is down for minutes is then tried again once the server is back, not a whole interval later.
 */
export function attemptsWithin(everyMs: number): number {
  let attempts = 1;
  let waited = 0;
  while (waited + RETRY_BASE_MS * 2 ** (attempts - 1) <= everyMs) {
    waited += RETRY_BASE_MS * 2 ** (attempts - 1);
    attempts++;
  }
  return attempts;
}

export interface JobContext {
  /** The schedule's id, and the run's attempt (0 first). */
  scheduleId: string;
  attempt: number;
  signal: AbortSignal;
}

export type JobHandler = (data: Record<string, unknown>, ctx: JobContext) => Promise<void>;

export interface Scheduler {
  readonly kind: 'local' | 'bullmq';
  /** Registers the schedules (replacing stale ones) and starts running their jobs. */
  start(): Promise<void>;
  /** Stops starting runs and waits for the running ones. */
  stop(): Promise<void>;
  /** Throws, saying what is wrong, while a server the schedules live on cannot be used (distributed: Redis). */
  checkReady?(): Promise<void>;
  /** The server `checkReady` asks, as a readiness message names it when it does not answer in time (distributed: `redis at URL`). */
  readonly server?: string;
}

export function validateSchedules(specs: ScheduleSpec[], handlers: Record<string, JobHandler>): void {
  const ids = new Set<string>();
  for (const s of specs) {
    if (ids.has(s.id)) throw new Error(`schedule id '${s.id}' is listed twice`);
    ids.add(s.id);
    if (handlers[s.job] === undefined) throw new Error(`schedule '${s.id}' names job '${s.job}', which has no handler`);
    if ((s.everyMs === undefined) === (s.cron === undefined)) throw new Error(`schedule '${s.id}' needs exactly one of everyMs and cron`);
    if (s.cron !== undefined) nextCronTime(s.cron, s.tz, new Date(0));
  }
}

/** The next time a cron pattern fires after `from`. */
export function nextCronTime(pattern: string, tz: string | undefined, from: Date): Date {
  try {
    return CronExpressionParser.parse(pattern, { currentDate: from, tz: tz ?? 'UTC' })
      .next()
      .toDate();
  } catch (err) {
    throw new Error(`cron pattern '${pattern}' is not valid: ${(err as Error).message}`, { cause: err });
  }
}

/** The latest time a cron pattern fired at or before `at`. */
export function previousCronTime(pattern: string, tz: string | undefined, at: Date): Date {
  try {
    // prev() is strictly before its start: start a millisecond later so a firing exactly at `at` counts.
    return CronExpressionParser.parse(pattern, { currentDate: new Date(at.getTime() + 1), tz: tz ?? 'UTC' })
      .prev()
      .toDate();
  } catch (err) {
    throw new Error(`cron pattern '${pattern}' is not valid: ${(err as Error).message}`, { cause: err });
  }
}
