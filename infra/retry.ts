import { systemClock, type Clock } from './clock.js';

/** Exponential back-off with full jitter: a random delay up to base * 2^attempt, capped. */
export function backoffDelay(attempt: number, baseMs = 200, capMs = 30_000, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export interface SleepUnlessStoppedOptions {
  /** Where the wait and the ticks are measured (default: the wall clock). */
  clock?: Clock;
  /** Ends the wait at once when it aborts, without waiting for the next look at `stopped()`. */
  signal?: AbortSignal;
}

/**
 * Waits `ms` on the clock's timers, waking early when `stopped()` turns true (looked at every 100 ms)
 * or the signal aborts; calls `tick` about every 2 s so a consumer keeps its group membership while it
 * waits. The wait is counted in timer steps rather than read off the clock's "now", so a clock whose
 * "now" stands still still lets it end.
 */
export async function sleepUnlessStopped(
  ms: number,
  stopped: () => boolean,
  tick?: () => Promise<void>,
  options: SleepUnlessStoppedOptions = {},
): Promise<void> {
  const { clock = systemClock, signal } = options;
  let waited = 0;
  let sinceTick = 0;
  while (!stopped() && signal?.aborted !== true) {
    const step = Math.min(ms - waited, 100);
    if (step <= 0) return;
    try {
      await clock.sleep(step, signal);
    } catch {
      return; // the signal aborted
    }
    waited += step;
    sinceTick += step;
    if (tick !== undefined && sinceTick >= 2_000) {
      sinceTick = 0;
      await tick();
    }
  }
}
