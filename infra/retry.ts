/** Exponential back-off with full jitter: a random delay up to base * 2^attempt, capped. */
export function backoffDelay(attempt: number, baseMs = 200, capMs = 30_000, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Waits `ms`, waking early when `stopped()` turns true; calls `tick` about every 2 s so a consumer
 * keeps its group membership while it waits.
 */
export async function sleepUnlessStopped(ms: number, stopped: () => boolean, tick?: () => Promise<void>): Promise<void> {
  const end = Date.now() + ms;
  let lastTick = Date.now();
  while (!stopped()) {
    const left = end - Date.now();
    if (left <= 0) return;
    await new Promise((r) => setTimeout(r, Math.min(left, 100)));
    if (tick !== undefined && Date.now() - lastTick >= 2_000) {
      lastTick = Date.now();
      await tick();
    }
  }
}
