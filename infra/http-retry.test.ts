import { describe, expect, it } from 'vitest';
import { ManualClock } from '../test/support/clock.js';
import { classifyHttpFailure, createLimiter, retryAfterMs, SourceError, withRetries } from './http-retry.js';

const now = Date.parse('2026-11-24T10:00:00Z');

describe('rate-limit headers', () => {
  it('reads Retry-After in seconds and as an HTTP date', () => {
    expect(retryAfterMs({ 'retry-after': '7' }, now)).toBe(7000);
    expect(retryAfterMs({ 'Retry-After': 'Tue, 24 Nov 2026 10:00:30 GMT' }, now)).toBe(30_000);
  });

  it('reads X-RateLimit-Reset as epoch seconds, seconds from now, or an ISO time, once the budget is spent', () => {
    expect(retryAfterMs({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 90) }, now)).toBe(90_000);
    expect(retryAfterMs({ 'x-ratelimit-reset': '12' }, now)).toBe(12_000);
    expect(retryAfterMs({ 'x-ratelimit-reset': '2026-11-24T10:01:00Z' }, now)).toBe(60_000);
    expect(retryAfterMs({ 'RateLimit-Remaining': '0', 'RateLimit-Reset': String(now / 1000 + 5) }, now)).toBe(5_000);
    expect(retryAfterMs({ 'x-ratelimit-remaining': '40', 'x-ratelimit-reset': String(now / 1000 + 90) }, now)).toBeUndefined();
  });
});

describe('failure classes', () => {
  it.each([
    [429, {}, 'rate_limited'],
    [403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '5' }, 'rate_limited'],
    [403, {}, 'fatal'],
    [401, {}, 'fatal'],
    [404, {}, 'fatal'],
    [502, {}, 'transient'],
    [408, {}, 'transient'],
    [undefined, {}, 'transient'],
  ] as const)('%s %j is %s', (status, headers, kind) => {
    expect(classifyHttpFailure(status, headers, 'GET /x').kind).toBe(kind);
  });

  it('says what to fix for a fatal failure', () => {
    expect(classifyHttpFailure(401, {}, 'GET /repos/acme/api/pulls').message).toBe(
      'GET /repos/acme/api/pulls: 401 unauthorized; the credentials are missing, wrong or expired',
    );
  });
});

describe('retries', () => {
  const waits: number[] = [];
  const sleep = (ms: number): Promise<void> => {
    waits.push(ms);
    return Promise.resolve();
  };

  it('waits as long as the source asks on a rate limit, backs off on transient failures, and stops on fatal ones', async () => {
    waits.length = 0;
    let calls = 0;
    const result = await withRetries(
      () => {
        calls++;
        if (calls === 1) return Promise.reject(new SourceError('limited', 'rate_limited', 429, 2_000));
        if (calls === 2) return Promise.reject(new SourceError('flaky', 'transient', 503));
        return Promise.resolve('done');
      },
      { sleep },
    );
    expect(result).toBe('done');
    expect(waits[0]).toBeGreaterThanOrEqual(2_000);
    expect(waits[0]).toBeLessThan(2_300);
    expect(waits[1]).toBeGreaterThan(0);

    calls = 0;
    await expect(
      withRetries(
        () => {
          calls++;
          return Promise.reject(new SourceError('nope', 'fatal', 401));
        },
        { sleep },
      ),
    ).rejects.toThrow('nope');
    expect(calls).toBe(1);
  });

  it('gives up on a transient failure after the attempts, and on a rate limit longer than allowed', async () => {
    await expect(withRetries(() => Promise.reject(new SourceError('down', 'transient', 502)), { sleep, attempts: 3 })).rejects.toThrow(
      'down (gave up after 3 attempts)',
    );
    await expect(
      withRetries(() => Promise.reject(new SourceError('limited', 'rate_limited', 429, 3_600_000)), { sleep, maxRateLimitWaitMs: 60_000 }),
    ).rejects.toThrow(/asks to wait 3600 s/);
  });
});

describe('retries on a clock', () => {
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

  it('counts a reset time in the headers from the instant it is given', () => {
    const headers = { 'retry-after': 'Tue, 24 Nov 2026 10:00:30 GMT' };
    expect(classifyHttpFailure(429, headers, 'GET /x', '', now).retryAfterMs).toBe(30_000);
    expect(classifyHttpFailure(429, headers, 'GET /x', '', now + 20_000).retryAfterMs).toBe(10_000);
    const reset = { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 90) };
    expect(classifyHttpFailure(403, reset, 'GET /x', '', now + 60_000).retryAfterMs).toBe(30_000);
  });

  it("waits out a rate limit on the clock's timers", async () => {
    const clock = new ManualClock(now);
    let calls = 0;
    const result = withRetries(
      () => (++calls === 1 ? Promise.reject(new SourceError('limited', 'rate_limited', 429, 2_000)) : Promise.resolve(clock.now())),
      { clock },
    );
    expect(await settled(result)).toBe(false);
    await clock.advance(1_999);
    expect(await settled(result)).toBe(false);
    expect(calls).toBe(1);
    // The wait is the 2 s asked plus up to 250 ms of jitter.
    await clock.advance(251);
    expect(await settled(result)).toBe(true);
    expect(calls).toBe(2);
    expect((await result) - now).toBeGreaterThanOrEqual(2_000);
    expect((await result) - now).toBeLessThanOrEqual(2_250);
  });
});

describe('limiter', () => {
  it('runs at most n tasks at once, in order', async () => {
    const limit = createLimiter(2);
    let active = 0;
    let max = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        limit(async () => {
          active++;
          max = Math.max(max, active);
          await new Promise((r) => setTimeout(r, 5));
          order.push(i);
          active--;
        }),
      ),
    );
    expect(max).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
