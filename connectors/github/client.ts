import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import { systemClock, type Clock } from '../../infra/clock.js';
import type { Config } from '../../infra/config/schema.js';
import type { Logger } from '../../infra/observability/logger.js';
import { classifyHttpFailure, createLimiter, retryAfterMs, SourceError, withRetries, type RetryOptions } from '../../infra/http-retry.js';

export type GithubOctokit = Octokit;

/** The largest page GitHub serves: a full sync costs about one request per 100 records. */
export const PER_PAGE = 100;

export interface GithubClient {
  octokit: GithubOctokit;
  logger: Logger;
  /** Bounds the requests in flight across every stream of this client. */
  limit: <T>(task: () => Promise<T>) => Promise<T>;
  /** How failures are retried; its clock is where rate-limit resets are counted from and waits run. */
  retry: RetryOptions & { clock: Clock };
  /** How pull requests with their commits and reviews are read (sources.github.api). */
  api: 'graphql' | 'rest';
  /** The GraphQL endpoint of this GitHub: https://api.github.com/graphql, or https://HOST/api/graphql. */
  graphqlUrl: string;
  /** The GraphQL point budget as GitHub last reported it, shared by every stream of this client. */
  points: PointBudget;
}

/** What GitHub's `rateLimit { cost remaining resetAt }` last said, and what each query last cost. */
export interface PointBudget {
  remaining: number | undefined;
  /** Epoch ms when the budget is refilled. */
  resetAt: number | undefined;
  /** The points each named query last cost: what the next one is expected to cost. */
  costs: Map<string, number>;
}

/** The GraphQL endpoint beside a REST base URL: GitHub Enterprise Server serves it at /api/graphql beside /api/v3. */
export function graphqlUrlOf(baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  if (/\/api\/v3$/.test(base)) return base.replace(/\/v3$/, '/graphql');
  return `${base}/graphql`;
}

export interface ClientOptions {
  retry?: RetryOptions;
  /** Where rate-limit resets are counted from and retry waits run (default: the wall clock). */
  clock?: Clock;
}

/** GitHub waits at least a minute after a secondary rate limit that names no time. */
const SECONDARY_LIMIT_WAIT_MS = 60_000;

/**
 * An Octokit whose every call is wrapped in withRetries: rate limits (429, a 403 with
 * x-ratelimit-remaining: 0 until x-ratelimit-reset, a secondary limit with or without Retry-After)
 * are waited out and 5xx retried with back-off, all on the client's clock, so a reset is counted
 * from the same "now" the sync reads; 401/403/404 stop the stream with a clear message.
 */
export function createGithubClient(config: Config, logger: Logger, options: ClientOptions = {}): GithubClient {
  const settings = config.sources.github;
  if (settings === undefined) throw new Error("sources.github is not configured; add a 'sources: github:' section");
  const clock = options.clock ?? systemClock;
  const retryOptions: RetryOptions & { clock: Clock } = {
    attempts: 3,
    onRetry: (err, waitMs, attempt) =>
      logger.warn({ status: err.status, kind: err.kind, waitMs, attempt }, `GitHub ${err.message}; retrying`),
    ...options.retry,
    clock,
  };
  const auth =
    settings.auth === 'app'
      ? {
          authStrategy: createAppAuth,
          auth: { appId: settings.appId, installationId: settings.installationId, privateKey: config.secrets.githubAppPrivateKey },
        }
      : { auth: config.secrets.githubToken };
  const octokit = new Octokit({
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
  });
  return {
    octokit,
    logger,
    limit: createLimiter(settings.concurrency),
    retry: retryOptions,
    api: settings.api,
    graphqlUrl: graphqlUrlOf(settings.baseUrl),
    points: { remaining: undefined, resetAt: undefined, costs: new Map() },
  };
}

/** A request-log line of a 304 answer: 'GET /repos/o/r/pulls?... - 304 with id ... in 3ms'. */
export function isNotModifiedLine(msg: unknown): boolean {
  return typeof msg === 'string' && / - 304 with id /.test(msg);
}

export interface OctokitFailure {
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

/** The rel="next" target of a Link header (or of another `rel`). */
export function nextLink(link: string | number | undefined, rel = 'next'): string | undefined {
  if (typeof link !== 'string') return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?(\w+)"?/.exec(part);
    if (m !== null && m[2] === rel) return m[1];
  }
  return undefined;
}

/** The number of the last page a Link header names (rel="last"), if any. */
export function lastPage(link: string | number | undefined): number | undefined {
  const url = nextLink(link, 'last');
  const page = url === undefined ? NaN : Number(new URL(url).searchParams.get('page'));
  return Number.isInteger(page) && page > 0 ? page : undefined;
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
          throw failureError(f, what, options.needs, client.retry.clock.now());
        }
      }),
    { ...client.retry, ...(signal !== undefined ? { signal } : {}) },
  );
}

/** A failed request as a SourceError; `now` (epoch ms) is when the answer came, from which a reset is counted. */
export function failureError(f: OctokitFailure, what: string, needs: string | undefined, now: number): SourceError {
  const detail = detailOf(f);
  // A secondary rate limit is a 403 that says so in its message, with or without Retry-After.
  if (f.status === 403 && /\bsecondary rate limit\b/i.test(detail)) {
    const wait = retryAfterMs(f.response?.headers, now) ?? SECONDARY_LIMIT_WAIT_MS;
    return new SourceError(`${what}: secondary rate limit (403): ${detail}`, 'rate_limited', 403, wait);
  }
  return classifyHttpFailure(f.status, f.response?.headers, what, [detail, fixFor(f.status, needs)].filter(Boolean).join('; '), now);
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
