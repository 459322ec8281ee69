import { createAppAuth } from '@octokit/auth-app';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import type { Config } from '../../infra/config/schema.js';
import type { Logger } from '../../infra/observability/logger.js';
import { classifyHttpFailure, createLimiter, SourceError, withRetries, type RetryOptions } from '../../infra/http-retry.js';

const GithubOctokit = Octokit.plugin(throttling, retry);
export type GithubOctokit = InstanceType<typeof GithubOctokit>;

/** The largest page GitHub serves: a full sync costs about one request per 100 records. */
export const PER_PAGE = 100;

export interface GithubClient {
  octokit: GithubOctokit;
  logger: Logger;
  /** Bounds the requests in flight across every stream of this client. */
  limit: <T>(task: () => Promise<T>) => Promise<T>;
  retry: RetryOptions;
}

export interface ClientOptions {
  /** Rate-limit retries the throttling plugin makes before the failure goes to withRetries. */
  throttleRetries?: number;
  /** 5xx retries plugin-retry makes (1 s, 4 s, ...) before the failure goes to withRetries. */
  serverErrorRetries?: number;
  retry?: RetryOptions;
}

/**
 * An Octokit with GitHub's own rate-limit handling (primary and secondary limits, from the headers
 * and messages GitHub sends) and 5xx retries, as the first line; every call is also wrapped in
 * withRetries, which classifies what the plugins give up on (a plain 429 with Retry-After, a 5xx that
 * persists, 401/403/404) so fatal failures stop the stream with a clear message.
 */
export function createGithubClient(config: Config, logger: Logger, options: ClientOptions = {}): GithubClient {
  const settings = config.sources.github;
  if (settings === undefined) throw new Error("sources.github is not configured; add a 'sources: github:' section");
  const throttleRetries = options.throttleRetries ?? 2;
  const retryOptions: RetryOptions = { attempts: 3, ...options.retry };
  const maxWaitMs = retryOptions.maxRateLimitWaitMs ?? 15 * 60_000;
  const onLimit =
    (kind: string) =>
    (retryAfter: number, opts: { method: string; url: string }, _octokit: unknown, retryCount: number): boolean => {
      logger.warn({ retryAfter, url: opts.url, retryCount }, `GitHub ${kind} rate limit hit`);
      // A wait beyond withRetries' bound is left to it, which reports it instead of sleeping for an hour.
      return retryCount < throttleRetries && retryAfter * 1000 <= maxWaitMs;
    };
  const auth =
    settings.auth === 'app'
      ? {
          authStrategy: createAppAuth,
          auth: { appId: settings.appId, installationId: settings.installationId, privateKey: config.secrets.githubAppPrivateKey },
        }
      : { auth: config.secrets.githubToken };
  const octokit = new GithubOctokit({
    ...auth,
    baseUrl: settings.baseUrl.replace(/\/+$/, ''),
    userAgent: 'ptel-github-connector',
    log: {
      debug: (msg: string) => logger.debug(msg),
      info: (msg: string) => logger.debug(msg),
      warn: (msg: string) => logger.warn(msg),
      // The request log reports every answer outside 2xx at error level; a 304 is the "unchanged"
      // answer to a conditional request, as routine as a 200, so it goes to debug with those.
      error: (msg: string) => (isNotModifiedLine(msg) ? logger.debug(msg) : logger.error(msg)),
    },
    // The global Bottleneck groups are keyed by id: one per server, so tests and instances do not share a queue.
    throttle: { id: settings.baseUrl, onRateLimit: onLimit('primary'), onSecondaryRateLimit: onLimit('secondary') },
    // 429 is left to the throttler and withRetries, which honour Retry-After; 304 is an answer, not a failure.
    retry: { retries: options.serverErrorRetries ?? 2, doNotRetry: [304, 400, 401, 403, 404, 410, 422, 429, 451] },
  });
  return { octokit, logger, limit: createLimiter(settings.concurrency), retry: retryOptions };
}

/** A request-log line of a 304 answer: 'GET /repos/o/r/pulls?... - 304 with id ... in 3ms'. */
export function isNotModifiedLine(msg: unknown): boolean {
  return typeof msg === 'string' && / - 304 with id /.test(msg);
}

interface OctokitFailure {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

function failureOf(err: unknown): OctokitFailure {
  return typeof err === 'object' && err !== null ? err : {};
}

export interface Fetched {
  status: number;
  data: unknown;
  headers: Record<string, string | number | undefined>;
  /** Absolute URL of the next page (Link rel="next"), if any. */
  next: string | undefined;
  etag: string | undefined;
}

/** The rel="next" target of a Link header. */
export function nextLink(link: string | number | undefined): string | undefined {
  if (typeof link !== 'string') return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (m !== null) return m[1];
  }
  return undefined;
}

/**
 * One GET, retried as its failure allows. `url` is a route template ('/repos/{owner}/{repo}/pulls')
 * or an absolute next-page URL. With `etag`, a 304 comes back as status 304 and no data: GitHub does
 * not count it against the rate limit.
 */
export interface GetOptions {
  params?: Record<string, string | number>;
  etag?: string | undefined;
  signal?: AbortSignal | undefined;
  /** The permission the request needs, named in a 403/404 message: 'Pull requests: read'. */
  needs?: string;
}

export async function get(client: GithubClient, url: string, options: GetOptions = {}): Promise<Fetched> {
  const { params = {}, etag, signal } = options;
  const what = `GET ${url.startsWith('http') ? new URL(url).pathname : url.replace(/\{(\w+)\}/g, (_, k: string) => String(params[k] ?? k))}`;
  return withRetries(
    () =>
      client.limit(async () => {
        try {
          const res = await client.octokit.request({
            method: 'GET',
            url,
            ...params,
            headers: etag !== undefined ? { 'if-none-match': etag } : {},
            ...(signal !== undefined ? { request: { signal } } : {}),
          });
          const headers = res.headers as Record<string, string | number | undefined>;
          return { status: res.status, data: res.data as unknown, headers, next: nextLink(headers.link), etag: str(headers.etag) };
        } catch (err) {
          const f = failureOf(err);
          if (f.status === 304) return { status: 304, data: undefined, headers: f.response?.headers ?? {}, next: undefined, etag };
          if (err instanceof SourceError) throw err;
          throw classifyHttpFailure(
            f.status,
            f.response?.headers,
            what,
            [detailOf(f), fixFor(f.status, options.needs)].filter(Boolean).join('; '),
          );
        }
      }),
    { ...client.retry, ...(signal !== undefined ? { signal } : {}) },
  );
}

function str(v: string | number | undefined): string | undefined {
  return v === undefined ? undefined : String(v);
}

function detailOf(f: OctokitFailure): string {
  const data = f.response?.data;
  if (typeof data === 'object' && data !== null && 'message' in data && typeof data.message === 'string') return data.message;
  return f.status === undefined ? (f.message ?? '') : '';
}

/** What to change, for the failures that waiting does not heal. */
function fixFor(status: number | undefined, needs: string | undefined): string {
  const permission = needs !== undefined ? ` (fine-grained token or GitHub App: '${needs}'; classic token: the 'repo' scope)` : '';
  if (status === 401)
    return 'set a valid token in PTEL_GITHUB_TOKEN, or check the GitHub App id, installation id and PTEL_GITHUB_APP_PRIVATE_KEY';
  if (status === 403) return `grant the token access${permission}`;
  if (status === 404) return `check the repository name and that the token can see it${permission}`;
  return '';
}
