import { systemClock, type Clock } from '../../infra/clock.js';
import type { Config } from '../../infra/config/schema.js';
import type { Logger } from '../../infra/observability/logger.js';
import { classifyHttpFailure, createLimiter, SourceError, withRetries, type RetryOptions } from '../../infra/http-retry.js';

/** The largest page PagerDuty serves. */
export const PAGE_LIMIT = 100;
/** PagerDuty refuses (400) any offset paging past offset + limit = 10000. */
export const OFFSET_CAP = 10_000;

export type Query = Record<string, string | string[]>;

export interface PagerdutyClient {
  /** https://api.pagerduty.com, the EU host, or the configured override; without a trailing slash. */
  baseUrl: string;
  logger: Logger;
  /** GET `path` with `query`; resolves with the parsed body, throws SourceError for anything but 2xx. */
  get(path: string, query: Query, signal?: AbortSignal): Promise<unknown>;
}

export interface PagerdutyClientOptions {
  /** Longest a single request may take. */
  timeoutMs?: number;
  retry?: RetryOptions;
  /** Where a rate limit's reset is counted from and every retry wait runs (default: the wall clock). */
  clock?: Clock;
}

export function pagerdutyBaseUrl(config: Config): string {
  const settings = config.sources.pagerduty;
  const url = settings?.baseUrl ?? (settings?.region === 'eu' ? 'https://api.eu.pagerduty.com' : 'https://api.pagerduty.com');
  return url.replace(/\/+$/, '');
}

/** PagerDuty says when to come back in `ratelimit-reset` (seconds); the shared classifier reads Retry-After. */
function rateLimitHeaders(headers: Headers): Record<string, string> {
  const bag: Record<string, string> = {};
  headers.forEach((value, key) => {
    bag[key.toLowerCase()] = value;
  });
  const reset = bag['ratelimit-reset'];
  if (bag['retry-after'] === undefined && reset !== undefined && /^\d+(\.\d+)?$/.test(reset.trim())) bag['retry-after'] = reset;
  return bag;
}

function errorDetail(body: unknown): string {
  if (typeof body !== 'object' || body === null || !('error' in body)) return '';
  const error = body.error;
  if (typeof error !== 'object' || error === null) return typeof error === 'string' ? error : '';
  const { message, errors } = error as { message?: unknown; errors?: unknown };
  const parts = [typeof message === 'string' ? message : '', Array.isArray(errors) ? errors.map(String).join('; ') : ''];
  return parts.filter((p) => p !== '').join(': ');
}

/** `path` under the base URL with the query; a list value repeats its key (`statuses[]=a&statuses[]=b`). */
function requestUrl(baseUrl: string, path: string, query: Query): string {
  const url = new URL(`${baseUrl}${path}`);
  for (const [key, value] of Object.entries(query)) {
    for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, v);
  }
  return url.toString();
}

/**
 * A REST API v2 client over fetch: token auth, the v2 media type, and a full URL for every call (so
 * the EU host or a local fake is reached the same way). A 429 goes straight to withRetries, which
 * waits as long as ratelimit-reset or Retry-After say on the client's clock. Requests in flight are
 * bounded per client.
 */
export function createPagerdutyClient(config: Config, logger: Logger, options: PagerdutyClientOptions = {}): PagerdutyClient {
  const baseUrl = pagerdutyBaseUrl(config);
  const token = config.secrets.pagerdutyToken ?? '';
  const limit = createLimiter(config.sources.pagerduty?.concurrency ?? 4);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const clock = options.clock ?? systemClock;
  const once = async (path: string, query: Query, signal: AbortSignal | undefined): Promise<unknown> => {
    const what = `GET ${path}`;
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await fetch(requestUrl(baseUrl, path, query), {
        method: 'GET',
        headers: { accept: 'application/vnd.pagerduty+json;version=2', authorization: `Token token=${token}` },
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      });
    } catch (err) {
      if (signal?.aborted === true) throw err;
      throw classifyHttpFailure(undefined, undefined, what, err instanceof Error ? err.message : String(err), clock.now());
    }
    const text = await response.text().catch(() => undefined);
    let data: unknown;
    try {
      data = text === undefined || text === '' ? undefined : JSON.parse(text);
    } catch {
      data = undefined;
    }
    if (!response.ok) {
      const detail = data === undefined && text !== undefined && text !== '' ? 'the body is not JSON' : errorDetail(data);
      const error = classifyHttpFailure(response.status, rateLimitHeaders(response.headers), what, detail, clock.now());
      if (response.status === 401) {
        throw new SourceError(`${error.message}; set PTEL_PAGERDUTY_TOKEN to a valid REST API key`, 'fatal', 401);
      }
      throw error;
    }
    if (data === undefined) throw classifyHttpFailure(response.status, undefined, what, 'the body is not JSON', clock.now());
    return data;
  };
  return {
    baseUrl,
    logger,
    get: (path, query, signal) =>
      limit(() =>
        withRetries(() => once(path, query, signal), {
          ...options.retry,
          clock,
          ...(signal !== undefined ? { signal } : {}),
          onRetry: (err, waitMs, attempt) => logger.warn({ status: err.status, waitMs, attempt }, `PagerDuty ${err.kind}: ${err.message}`),
        }),
      ),
  };
}
