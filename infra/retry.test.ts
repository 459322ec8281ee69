import { describe, expect, it } from 'vitest';
import { ManualClock } from '../test/support/clock.js';
import { sleepUnlessStopped } from './retry.js';

/** Whether a promise has settled, after the pending callbacks ran. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
  return done;
}

describe('sleepUnlessStopped', () => {
  it('waits its time on the clock and ticks about every 2 s of it', async () => {
    const clock = new ManualClock('2026-06-01T00:00:00Z');
    const ticks: number[] = [];
    const waiting = sleepUnlessStopped(
      5_000,
      () => false,
      () => {
        ticks.push(clock.now() - Date.parse('2026-06-01T00:00:00Z'));
        return Promise.resolve();
      },
      { clock },
    );
    expect(await settled(waiting)).toBe(false);
    await clock.advance(4_999);
    expect(await settled(waiting)).toBe(false);
    expect(ticks).toEqual([2_000, 4_000]);
    await clock.advance(1);
    expect(await settled(waiting)).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('wakes when stopped turns true, and at once when its signal aborts', async () => {
    const clock = new ManualClock('2026-06-01T00:00:00Z');
    let stopped = false;
    const polled = sleepUnlessStopped(60_000, () => stopped, undefined, { clock });
    stopped = true;
    await clock.advance(100);
    expect(await settled(polled)).toBe(true);

    const stopping = new AbortController();
    const aborted = sleepUnlessStopped(60_000, () => false, undefined, { clock, signal: stopping.signal });
    expect(await settled(aborted)).toBe(false);
    stopping.abort();
    // No clock movement needed: the abort ends the wait.
    expect(await settled(aborted)).toBe(true);
    expect(clock.pending).toBe(0);
  });
});
