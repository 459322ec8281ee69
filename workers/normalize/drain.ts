import type { Bus } from '../../infra/bus/types.js';

/**
 * Waits, with bounded polling, until the group has committed everything on the topics: every event
 * published before the call has then been handled and is durable in the store.
 */
export async function waitUntilDrained(bus: Bus, groupId: string, topics: string[], timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lags = await Promise.all(topics.map((t) => bus.lag(groupId, t)));
    const behind = lags.flat().reduce((sum, p) => sum + Math.max(0, p.end - p.committed), 0);
    if (behind === 0) return;
    if (Date.now() > deadline) throw new Error(`consumer group ${groupId} is still ${behind} messages behind after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
