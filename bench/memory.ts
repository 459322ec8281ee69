/**
 * Samples the resident memory while running, every 50 ms; `sample` reads it at once (for loops that
 * keep the event loop busy, where the timer cannot fire); the peak also reads it once more at the end.
 */
export function rssSampler(): { peak: () => number; sample: () => void; stop: () => void } {
  let peak = process.memoryUsage.rss();
  const sample = (): void => {
    peak = Math.max(peak, process.memoryUsage.rss());
  };
  const timer = setInterval(sample, 50);
  timer.unref();
  return { peak: () => Math.max(peak, process.memoryUsage.rss()), sample, stop: () => clearInterval(timer) };
}

/** A full garbage collection when the process runs with --expose-gc (the benchmarks do), between measured phases. */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Resident memory and JS heap now, in MB, for a benchmark's notes. */
export function memoryNow(): string {
  const m = process.memoryUsage();
  const mb = (n: number): string => Math.round(n / 2 ** 20).toLocaleString('en-US');
  return `RSS ${mb(m.rss)} MB, JS heap ${mb(m.heapUsed)} MB, buffers ${mb(m.arrayBuffers)} MB`;
}
