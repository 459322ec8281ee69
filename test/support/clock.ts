import { MAX_TIMER_MS, sleepWith, type Clock, type TimerHost } from '../../infra/clock.js';

/**
 * A clock that moves only when a test moves it. Timers fire, in due order, while `advance` or `set`
 * passes their due time; each fired timer's callbacks (and the promises they settle) run before the
 * next one fires.
 */
export class ManualClock implements Clock {
  private ms: number;
  private seq = 0;
  private readonly timers = new Map<number, { due: number; fn: () => void }>();

  constructor(start: Date | string | number) {
    this.ms = typeof start === 'number' ? start : new Date(start).getTime();
    if (!Number.isFinite(this.ms)) throw new RangeError(`not an instant: ${String(start)}`);
  }

  now(): number {
    return this.ms;
  }

  date(): Date {
    return new Date(this.ms);
  }

  setTimer(fn: () => void, ms: number): () => void {
    const id = ++this.seq;
    this.timers.set(id, { due: this.ms + Math.max(0, ms), fn });
    return () => {
      this.timers.delete(id);
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.timers.size;
  }

  /** The due time of the next timer, if any. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const t of this.timers.values()) if (next === undefined || t.due < next) next = t.due;
    return next;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    await this.set(this.ms + ms);
  }

  /** Moves time forward to `to`, firing every timer that falls due on the way. */
  async set(to: Date | string | number): Promise<void> {
    const target = typeof to === 'number' ? to : new Date(to).getTime();
    if (target < this.ms) throw new RangeError('a clock does not go back');
    for (;;) {
      await settle();
      let nextId: number | undefined;
      let next: { due: number; fn: () => void } | undefined;
      for (const [id, t] of this.timers) {
        if (t.due <= target && (next === undefined || t.due < next.due || (t.due === next.due && id < nextId!))) {
          next = t;
          nextId = id;
        }
      }
      if (next === undefined || nextId === undefined) break;
      this.timers.delete(nextId);
      this.ms = Math.max(this.ms, next.due);
      next.fn();
    }
    this.ms = target;
    await settle();
  }
}

/** Lets pending promise callbacks and I/O callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * A timer host on a manual clock that clamps like Node's: a delay above MAX_TIMER_MS fires after
 * 1 ms. `timerClock(nodeLikeTimerHost(manual))` is the wall clock's timer logic on manual time.
 */
export function nodeLikeTimerHost(clock: ManualClock): TimerHost<() => void> {
  return {
    now: () => clock.now(),
    setTimeout: (fn, ms) => clock.setTimer(fn, ms > MAX_TIMER_MS || !(ms >= 1) ? 1 : ms),
    clearTimeout: (cancel) => cancel(),
  };
}
