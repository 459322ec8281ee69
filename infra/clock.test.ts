import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MS, timerClock, type TimerHost } from './clock.js';

/**
 * A timer host that behaves like Node's: a delay above MAX_TIMER_MS fires after 1 ms (the clamp that
 * made month-long waits fire at once), and time moves only when the test runs the next timer.
 */
class FakeHost implements TimerHost<number> {
  t = 0;
  private seq = 0;
  readonly timers = new Map<number, { due: number; fn: () => void }>();
  /** Every delay asked of the host, in order. */
  readonly asked: number[] = [];
  /** Fire each timer this many ms before its delay is up (Node's rounding can fire one early). */
  early = 0;

  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): number {
    this.asked.push(ms);
    const delay = ms > MAX_TIMER_MS || ms < 1 ? 1 : ms;
    const id = ++this.seq;
    this.timers.set(id, { due: this.t + Math.max(1, delay - this.early), fn });
    return id;
  }
  clearTimeout(handle: number): void {
    this.timers.delete(handle);
  }
  /** Runs the earliest timer, moving time to its due instant; false when none waits. */
  step(): boolean {
    let nextId: number | undefined;
    for (const [id, t] of this.timers) if (nextId === undefined || t.due < this.timers.get(nextId)!.due) nextId = id;
    if (nextId === undefined) return false;
    const { due, fn } = this.timers.get(nextId)!;
    this.timers.delete(nextId);
    this.t = due;
    fn();
    return true;
  }
  runAll(limit = 1_000): void {
    for (let i = 0; i < limit && this.step(); i++);
  }
}

describe('timer clock', () => {
  it('fires a delay longer than a Node timer takes at its due instant, through a chain of timers', () => {
    const host = new FakeHost();
    const clock = timerClock(host);
    const month = 31 * 24 * 3_600_000;
    const fired: number[] = [];
    clock.setTimer(() => fired.push(host.t), month);
    expect(host.asked[0]).toBe(MAX_TIMER_MS);
    host.runAll();
    expect(fired).toEqual([month]);
    expect(host.asked).toEqual([MAX_TIMER_MS, month - MAX_TIMER_MS]);
    expect(host.asked.every((ms) => ms <= MAX_TIMER_MS)).toBe(true);
  });

  it('fires a short delay with one timer', () => {
    const host = new FakeHost();
    const clock = timerClock(host);
    const fired: number[] = [];
    clock.setTimer(() => fired.push(host.t), 1_500);
    host.runAll();
    expect(fired).toEqual([1_500]);
    expect(host.asked).toEqual([1_500]);
  });

  it('never fires before its due instant when the host fires early', () => {
    const host = new FakeHost();
    host.early = 1;
    const clock = timerClock(host);
    const fired: number[] = [];
    clock.setTimer(() => fired.push(host.t), 10_000);
    host.runAll();
    expect(fired).toEqual([10_000]);
  });

  it('cancels at any link of the chain', () => {
    const host = new FakeHost();
    const clock = timerClock(host);
    let fired = 0;
    const cancel = clock.setTimer(() => fired++, 3 * MAX_TIMER_MS);
    host.step();
    host.step();
    expect(host.t).toBe(2 * MAX_TIMER_MS);
    expect(host.timers.size).toBe(1);
    cancel();
    expect(host.timers.size).toBe(0);
    host.runAll();
    expect(fired).toBe(0);
  });

  it('treats a negative or unreadable delay as due now, and an infinite one as never', () => {
    const host = new FakeHost();
    const clock = timerClock(host);
    const fired: string[] = [];
    clock.setTimer(() => fired.push('negative'), -5);
    clock.setTimer(() => fired.push('nan'), Number.NaN);
    const cancel = clock.setTimer(() => fired.push('infinite'), Infinity);
    host.runAll(20);
    expect(fired).toEqual(['negative', 'nan']);
    expect(host.timers.size).toBe(1);
    cancel();
  });

  it('sleeps on its timers and wakes early when aborted', async () => {
    const host = new FakeHost();
    const clock = timerClock(host);
    const slept = clock.sleep(2 * MAX_TIMER_MS);
    host.runAll();
    await expect(slept).resolves.toBeUndefined();
    expect(host.t).toBe(2 * MAX_TIMER_MS);

    const abort = new AbortController();
    const aborted = clock.sleep(MAX_TIMER_MS * 5, abort.signal);
    abort.abort(new Error('stopped'));
    await expect(aborted).rejects.toThrow('stopped');
    expect(host.timers.size).toBe(0);
  });
});
