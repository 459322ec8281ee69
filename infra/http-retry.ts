import { systemClock, type Clock } from './clock.js';
import { backoffDelay } from './retry.js';

/**
 * How a failed request to a source is handled. Classified from the status and headers, never from
 * message text:
 * - rate_limited: wait until the source says (Retry-After, X-RateLimit-Reset) and try again;
 * - transient: 5xx, timeouts, resets: exponential back-off with jitter, a bounded number of times;
 * - fatal: will not heal by waiting (401, 403 without rate-limit headers, 404 of a configured scope,
 *   400): the stream stops with this message while the others go on.
 */
export type FailureKind = 'rate_limited' | 'transient' | 'fatal';

export class SourceError extends Error {
  override readonly name = 'SourceError';
  constructor(
    message: string,
    readonly kind: FailureKind,
    readonly status: number | undefined,
    /** For rate_limited: how long the source asked us to wait. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export type HeaderBag = Record<string, string | string[] | number | undefined> | Headers;

function header(headers: HeaderBag | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const bag = headers as Record<string, string | string[] | number | undefined>;
  const v = bag[name] ?? bag[name.toLowerCase()] ?? Object.entries(bag).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v[0] : String(v);
}

/**
 * Milliseconds to wait from Retry-After (seconds or an HTTP date) or X-RateLimit-Reset (epoch seconds),
 * counted from `now` (epoch ms; default: the wall clock's).
 */
export function retryAfterMs(headers: HeaderBag | undefined, now: number = systemClock.now()): number | undefined {
  const ra = header(headers, 'retry-after');
  if (ra !== undefined) {
    if (/^\d+(\.\d+)?$/.test(ra.trim())) return Math.ceil(Number(ra) * 1000);
    const at = Date.parse(ra);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  // X-RateLimit-* (GitHub, Jira) or the unprefixed RateLimit-* (GitLab, PagerDuty).
  const remaining = header(headers, 'x-ratelimit-remaining') ?? header(headers, 'ratelimit-remaining');
  const reset = header(headers, 'x-ratelimit-reset') ?? header(headers, 'ratelimit-reset');
  if (reset !== undefined && (remaining === undefined || Number(remaining) === 0)) {
    const secs = Number(reset);
    // Epoch seconds (GitHub, GitLab), seconds from now (small numbers), or an ISO time (Jira Cloud).
    if (Number.isFinite(secs)) return secs > 1e9 ? Math.max(0, secs * 1000 - now) : secs * 1000;
    const at = Date.parse(reset);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  return undefined;
}

/**
 * Classifies an HTTP failure. `what` names the request for the message ("GET /repos/acme/api/pulls");
 * `now` (epoch ms) is when the answer came, from which a reset time in the headers is counted.
 */
export function classifyHttpFailure(
  status: number | undefined,
  headers: HeaderBag | undefined,
  what: string,
  detail = '',
  now: number = systemClock.now(),
): SourceError {
  const suffix = detail !== '' ? `: ${detail}` : '';
  if (status === undefined) return new SourceError(`${what} failed without a response${suffix}`, 'transient', undefined);
  const wait = retryAfterMs(headers, now);
  if (status === 429) return new SourceError(`${what}: rate limited (429)${suffix}`, 'rate_limited', status, wait ?? 60_000);
  if (status === 403 && (wait !== undefined || header(headers, 'x-ratelimit-remaining') === '0')) {
    return new SourceError(`${what}: rate limit exhausted (403)${suffix}`, 'rate_limited', status, wait ?? 60_000);
  }
  if (status >= 500 || status === 408) return new SourceError(`${what}: server error ${status}${suffix}`, 'transient', status);
  if (status === 401)
    return new SourceError(`${what}: 401 unauthorized; the credentials are missing, wrong or expired${suffix}`, 'fatal', status);
  if (status === 403)
    return new SourceError(`${what}: 403 forbidden; the credentials lack a permission this stream needs${suffix}`, 'fatal', status);
  if (status === 404)
    return new SourceError(`${what}: 404 not found; check that it exists and the credentials can see it${suffix}`, 'fatal', status);
  return new SourceError(`${what}: HTTP ${status}${suffix}`, 'fatal', status);
}

export interface RetryOptions {
  /** Attempts for transient failures before giving up. */
  attempts?: number;
  /** Longest single wait for a rate limit before the failure is reported instead. */
  maxRateLimitWaitMs?: number;
  signal?: AbortSignal;
  /** Whose timers the waits run on (default: the wall clock). */
  clock?: Clock;
  /** Waits instead of the clock's sleep. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  onRetry?: (error: SourceError, waitMs: number, attempt: number) => void;
}

export const abortableSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Runs `fn`, retrying what waiting can heal: rate limits after the wait the source asked for, and
 * transient failures with exponential back-off and jitter. Fatal failures are thrown at once.
 * `fn` must throw SourceError (see classifyHttpFailure) for anything it wants retried.
 */
export async function withRetries<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 6;
  const maxWait = options.maxRateLimitWaitMs ?? 15 * 60_000;
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? ((ms: number, signal?: AbortSignal) => clock.sleep(ms, signal));
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof SourceError) || err.kind === 'fatal') throw err;
      let wait: number;
      if (err.kind === 'rate_limited') {
        wait = (err.retryAfterMs ?? 60_000) + Math.round(Math.random() * 250);
        if (wait > maxWait)
          throw new SourceError(
            `${err.message}; the source asks to wait ${Math.round(wait / 1000)} s, longer than allowed`,
            'fatal',
            err.status,
          );
      } else {
        if (attempt + 1 >= attempts) throw new SourceError(`${err.message} (gave up after ${attempts} attempts)`, 'fatal', err.status);
        wait = backoffDelay(attempt, 500, 30_000);
      }
      options.onRetry?.(err, wait, attempt);
      await sleep(wait, options.signal);
    }
  }
}

/** At most `n` tasks at once; the rest queue in order. */
export function createLimiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: Array<() => void> = [];
  const next = (): void => {
    if (active >= n) return;
    const run = queue.shift();
    if (run !== undefined) {
      active++;
      run();
    }
  };
  return <T>(task: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push(() => {
        task()
          .then(resolve, reject)
          .finally(() => {
            active--;
            next();
          });
      });
      next();
    });
}
