/** What every injectable fault of a fake API has: where it applies, after how many matches, how often. */
export interface FaultWindow {
  /** Only requests whose path matches. */
  path?: RegExp;
  /** Let this many matching requests through first. */
  after?: number;
  /** Fail this many matching requests, then heal. */
  times: number;
}

export interface RequestCounts {
  total: number;
  byPath: Map<string, number>;
}

/**
 * The fault bookkeeping the fakes share: counts the request, then returns the first armed fault that
 * applies to it (and uses it up), or undefined when the request should be served.
 */
export function createFaults<F extends FaultWindow>(requests: RequestCounts) {
  const faults: Array<F & { seen: number; failed: number }> = [];
  return {
    add: (f: F): void => void faults.push({ ...f, seen: 0, failed: 0 }),
    clear: (): void => void faults.splice(0),
    next(path: string): F | undefined {
      requests.total++;
      requests.byPath.set(path, (requests.byPath.get(path) ?? 0) + 1);
      for (const f of faults) {
        if (f.path !== undefined && !f.path.test(path)) continue;
        f.seen++;
        if (f.seen <= (f.after ?? 0) || f.failed >= f.times) continue;
        f.failed++;
        return f;
      }
      return undefined;
    },
  };
}
