import type { Bus } from '../../infra/bus/types.js';
import { systemClock, type Clock } from '../../infra/clock.js';

export interface DrainOptions {
  /** How long to wait before giving up (default 5 minutes). */
  timeoutMs?: number;
  /** Whose timers measure the time bound and the pauses between looks (default: the wall clock). */
  clock?: Clock;
}

/**
 * Waits, with bounded polling, until the group has committed everything on the topics: every event
 * published before the call has then been handled and is durable in the store. `options` may be the
 * time bound alone.
 */
export async function waitUntilDrained(bus: Bus, groupId: string, topics: string[], options: number | DrainOptions = {}): Promise<void> {
  const { timeoutMs = 300_000, clock = systemClock } = typeof options === 'number' ? { timeoutMs: options } : options;
  let expired = false;
  const cancel = clock.setTimer(() => {
    expired = true;
  }, timeoutMs);
  try {
    for (;;) {
      const lags = await Promise.all(topics.map((t) => bus.lag(groupId, t)));
      const behind = lags.flat().reduce((sum, p) => sum + Math.max(0, p.end - p.committed), 0);
      if (behind === 0) return;
      if (expired) throw new Error(`consumer group ${groupId} is still ${behind} messages behind after ${timeoutMs} ms`);
      await clock.sleep(100);
    }
  } finally {
    cancel();
  }
}
