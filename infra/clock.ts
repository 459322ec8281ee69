/**
 * The one source of "now". Every rule that depends on the current instant (periods, ages, stalls,
 * schedules, cursors, versions) reads it from a Clock that the composition root builds and passes in,
 * so tests and backtests move time freely and `--as-of` evaluates a past instant.
 */
export interface Clock {
  /** The current instant, epoch milliseconds. */
  now(): number;
  /** The current instant as a Date. */
  date(): Date;
  /**
   * Calls `fn` once after `ms` (any length: delays beyond the 2^31-1 ms a Node timer takes are chained).
   * Returns a function that cancels it.
   */
  setTimer(fn: () => void, ms: number): () => void;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The longest delay a Node timer honours; a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/** What a clock needs from a timer host: a time source and one-shot timers that honour up to MAX_TIMER_MS. */
export interface TimerHost<H = unknown> {
  now(): number;
  setTimeout(fn: () => void, ms: number): H;
  clearTimeout(handle: H): void;
}

/**
 * A clock over a timer host. A delay longer than MAX_TIMER_MS is armed as a chain of shorter timers,
 * each re-reading the host's time, so the callback fires at its due instant and never before it.
 */
export function timerClock<H>(host: TimerHost<H>): Clock {
  const clock: Clock = {
    now: () => host.now(),
    date: () => new Date(host.now()),
    setTimer(fn, ms) {
      let handle: H | undefined;
      let cancelled = false;
      const due = host.now() + (Number.isFinite(ms) ? Math.max(0, ms) : ms > 0 ? Infinity : 0);
      const arm = (): void => {
        if (cancelled) return;
        const left = due - host.now();
        if (left > MAX_TIMER_MS) {
          handle = host.setTimeout(arm, MAX_TIMER_MS);
          return;
        }
        handle = host.setTimeout(
          () => {
            if (cancelled) return;
            // A host timer may fire a little before its delay is up: wait out the rest.
            if (host.now() < due) arm();
            else fn();
          },
          Math.max(0, left),
        );
      };
      arm();
      return () => {
        cancelled = true;
        if (handle !== undefined) host.clearTimeout(handle);
      };
    },
    sleep(ms, signal) {
      return sleepWith(clock, ms, signal);
    },
  };
  return clock;
}

/** The wall clock with Node's timers. */
export const systemClock: Clock = timerClock<NodeJS.Timeout>({
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle),
});

/** A sleep built on a clock's timer, for clocks that implement only setTimer. */
export function sleepWith(clock: Pick<Clock, 'setTimer'>, ms: number, signal?: AbortSignal): Promise<void> {
  const reason = (): Error => {
    const r: unknown = signal?.reason;
    return r instanceof Error ? r : new Error('aborted', { cause: r });
  };
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(reason());
      return;
    }
    const onAbort = (): void => {
      cancel();
      reject(reason());
    };
    const cancel = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A clock stopped at one instant: what `--as-of` evaluates against. Its timers run on the wall clock
 * (a read command waits for nothing scheduled), so only `now` is fixed.
 */
export function fixedClock(at: Date | number): Clock {
  const ms = typeof at === 'number' ? at : at.getTime();
  if (!Number.isFinite(ms)) throw new RangeError(`not an instant: ${String(at)}`);
  return {
    now: () => ms,
    date: () => new Date(ms),
    setTimer: (fn, delay) => systemClock.setTimer(fn, delay),
    sleep: (delay, signal) => systemClock.sleep(delay, signal),
  };
}
