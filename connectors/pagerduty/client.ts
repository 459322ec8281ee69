import { api } from '@pagerduty/pdjs';
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
  /**
   * pdjs itself retries a 429 three times, `retryTimeout` ms apart, before it hands the response
   * back (it cannot be turned off); after that, withRetries waits as long as ratelimit-reset or
   * Retry-After say. PagerDuty's limit is per minute, so the default spreads pdjs's tries over it.
   */
  pdjsRetryMs?: number;
  /** Longest a single request may take. */
  timeoutMs?: number;
  retry?: RetryOptions;
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

/** The response pdjs rejects with when the body is not JSON (a proxy's 502 page), or a network error. */
function responseOf(err: unknown): Response | undefined {
  return typeof err === 'object' && err !== null && 'status' in err && 'headers' in err ? (err as Response) : undefined;
}

/**
 * A pdjs client. pdjs builds https URLs from its `server` option, so every call passes a full `url`
 * (which also lets tests point it at a local fake); and it only fills `resource` for URLs on `.com/`,
 * so the body is read from `data`. Requests in flight are bounded per client.
 */
export function createPagerdutyClient(config: Config, logger: Logger, options: PagerdutyClientOptions = {}): PagerdutyClient {
  const baseUrl = pagerdutyBaseUrl(config);
  const token = config.secrets.pagerdutyToken ?? '';
  const limit = createLimiter(config.sources.pagerduty?.concurrency ?? 4);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const once = async (path: string, query: Query, signal: AbortSignal | undefined): Promise<unknown> => {
    const what = `GET ${path}`;
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response & { data?: unknown };
    try {
      response = await api({
        token,
        url: `${baseUrl}${path}`,
        method: 'GET',
        queryParameters: query,
        retryTimeout: options.pdjsRetryMs ?? 20_000,
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      });
    } catch (err) {
      if (signal?.aborted === true) throw err;
      const res = responseOf(err);
      if (res !== undefined) throw classifyHttpFailure(res.status, rateLimitHeaders(res.headers), what, 'the body is not JSON');
      throw classifyHttpFailure(undefined, undefined, what, err instanceof Error ? err.message : String(err));
    }
    if (!response.ok) {
      const error = classifyHttpFailure(response.status, rateLimitHeaders(response.headers), what, errorDetail(response.data));
      if (response.status === 401) {
        throw new SourceError(`${error.message}; set PTEL_PAGERDUTY_TOKEN to a valid REST API key`, 'fatal', 401);
      }
      throw error;
    }
    return response.data;
  };
  return {
    baseUrl,
    logger,
    get: (path, query, signal) =>
      limit(() =>
        withRetries(() => once(path, query, signal), {
          ...options.retry,
          ...(signal !== undefined ? { signal } : {}),
          onRetry: (err, waitMs, attempt) => logger.warn({ status: err.status, waitMs, attempt }, `PagerDuty ${err.kind}: ${err.message}`),
        }),
      ),
  };
}
