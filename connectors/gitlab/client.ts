import { systemClock, type Clock } from '../../infra/clock.js';
import type { Config } from '../../infra/config/schema.js';
import type { Logger } from '../../infra/observability/logger.js';
import { classifyHttpFailure, retryAfterMs, SourceError, withRetries } from '../../infra/http-retry.js';

export type Query = Record<string, string | number | undefined>;

export interface GitlabResponse {
  body: unknown;
  headers: Headers;
}

/** A thin REST v4 client: no GitLab client package is installed, and fetch is all the API needs. */
export interface GitlabClient {
  /** Host of the instance, part of every subject. */
  host: string;
  apiUrl: string;
  get(path: string, query?: Query, signal?: AbortSignal): Promise<GitlabResponse>;
  /** Resolves a configured project (path or numeric id) to its path_with_namespace, once per client. */
  projectPath(scope: string, signal?: AbortSignal): Promise<{ path: string; requests: number }>;
}

/** Longest wait on a rate limit before the stream gives up and reports it. */
const MAX_RATE_LIMIT_WAIT_MS = 15 * 60_000;

/** GitLab names its rate-limit headers without the X- prefix (RateLimit-Reset is epoch seconds). */
function gitlabWaitMs(headers: Headers, now: number): number | undefined {
  const standard = retryAfterMs(headers, now);
  if (standard !== undefined) return standard;
  const reset = Number(headers.get('ratelimit-reset'));
  return Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - now) : undefined;
}

export function projectId(scope: string): string {
  return encodeURIComponent(scope);
}

export function hostOf(baseUrl: string): string {
  return new URL(baseUrl).host.toLowerCase();
}

export function createGitlabClient(config: Config, logger: Logger, options: { clock?: Clock } = {}): GitlabClient {
  const settings = config.sources.gitlab;
  const baseUrl = (settings?.baseUrl ?? 'https://gitlab.com').replace(/\/+$/, '');
  const apiUrl = `${baseUrl}/api/v4`;
  const token = config.secrets.gitlabToken ?? '';
  // Rate-limit resets are counted from this clock, and every wait (a reset, a back-off) runs on it.
  const clock = options.clock ?? systemClock;
  const paths = new Map<string, string>();

  const once = async (path: string, query: Query, signal: AbortSignal | undefined): Promise<GitlabResponse> => {
    const url = new URL(apiUrl + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const what = `GET ${path}`;
    let res: Response;
    try {
      res = await fetch(url, { headers: { 'PRIVATE-TOKEN': token, accept: 'application/json' }, ...(signal ? { signal } : {}) });
    } catch (err) {
      if (signal?.aborted === true) throw err;
      throw classifyHttpFailure(undefined, undefined, what, (err as Error).message, clock.now());
    }
    if (!res.ok) {
      const detail = (await res.text().catch(() => '')).slice(0, 200);
      if (res.status === 429) {
        throw new SourceError(`${what}: rate limited (429)`, 'rate_limited', 429, gitlabWaitMs(res.headers, clock.now()) ?? 60_000);
      }
      const fix =
        res.status === 401
          ? '; set PTEL_GITLAB_TOKEN to a valid token with the read_api scope'
          : res.status === 403 || res.status === 404
            ? `; check that sources.gitlab.projects names a project the token's user can see (read_api scope)`
            : '';
      throw classifyHttpFailure(res.status, res.headers, what, detail + fix, clock.now());
    }
    const body: unknown = await res.json();
    // Spend the last request of a window, then wait for the reset rather than collect a 429.
    if (res.headers.get('ratelimit-remaining') === '0') {
      const wait = gitlabWaitMs(res.headers, clock.now());
      if (wait !== undefined && wait > 0 && wait <= MAX_RATE_LIMIT_WAIT_MS) {
        logger.warn({ waitMs: wait }, 'gitlab rate limit reached; waiting for the reset');
        await clock.sleep(wait, signal);
      }
    }
    return { body, headers: res.headers };
  };

  const client: GitlabClient = {
    host: hostOf(baseUrl),
    apiUrl,
    get: (path, query = {}, signal) =>
      withRetries(() => once(path, query, signal), {
        maxRateLimitWaitMs: MAX_RATE_LIMIT_WAIT_MS,
        clock,
        ...(signal ? { signal } : {}),
        onRetry: (err, waitMs, attempt) => logger.warn({ status: err.status, waitMs, attempt }, err.message),
      }),
    async projectPath(scope, signal) {
      // A configured path is used as is; a numeric id costs one lookup.
      if (!/^\d+$/.test(scope)) return { path: scope, requests: 0 };
      const known = paths.get(scope);
      if (known !== undefined) return { path: known, requests: 0 };
      const { body } = await client.get(`/projects/${scope}`, {}, signal);
      const path = (body as { path_with_namespace?: unknown }).path_with_namespace;
      if (typeof path !== 'string') throw new SourceError(`GET /projects/${scope}: no path_with_namespace in the answer`, 'fatal', 200);
      paths.set(scope, path);
      return { path, requests: 1 };
    },
  };
  return client;
}
