import { systemClock, type Clock } from '../../infra/clock.js';
import type { Config } from '../../infra/config/schema.js';
import type { Logger } from '../../infra/observability/logger.js';
import { classifyHttpFailure, createLimiter, SourceError, withRetries, type RetryOptions } from '../../infra/http-retry.js';

export interface JenkinsClient {
  /** The configured base URL without a trailing slash, e.g. https://ci.example.com/jenkins. */
  baseUrl: string;
  /** The host part of subjects. */
  host: string;
  logger: Logger;
  /** GET `path` (relative to the base URL, starting with '/'), parsed JSON; SourceError for anything but 2xx. */
  get(path: string, signal?: AbortSignal): Promise<unknown>;
}

export interface JenkinsClientOptions {
  timeoutMs?: number;
  retry?: RetryOptions;
  /** Where a proxy's rate-limit reset is counted from and every retry wait runs (default: the wall clock). */
  clock?: Clock;
}

/** 'folder/job' -> '/job/folder/job/job', each name URL-encoded. */
export function jobUrlPath(jobPath: string): string {
  return jobPath
    .split('/')
    .filter((s) => s !== '')
    .map((name) => `/job/${encodeURIComponent(name)}`)
    .join('');
}

/** A job path as the configuration writes it: names joined by '/', no leading or trailing slash. */
export const normaliseJobPath = (jobPath: string): string =>
  jobPath
    .split('/')
    .filter((s) => s !== '')
    .join('/');

/**
 * A plain fetch client with basic auth (user + API token). Jenkins has no rate limit of its own, but
 * a proxy in front of it may answer 429 or 5xx: those are retried by withRetries like any source.
 */
export function createJenkinsClient(config: Config, logger: Logger, options: JenkinsClientOptions = {}): JenkinsClient {
  const settings = config.sources.jenkins;
  if (settings === undefined) throw new Error("sources.jenkins is not configured; add a 'sources: jenkins:' section with baseUrl and jobs");
  const baseUrl = settings.baseUrl.replace(/\/+$/, '');
  const user = settings.user ?? '';
  const token = config.secrets.jenkinsApiToken ?? '';
  const authorization = `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;
  const limit = createLimiter(settings.concurrency);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const clock = options.clock ?? systemClock;

  const once = async (path: string, signal: AbortSignal | undefined): Promise<unknown> => {
    const what = `GET ${path.split('?')[0] ?? path}`;
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await fetch(`${baseUrl}${path}`, {
        headers: { authorization, accept: 'application/json' },
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      });
    } catch (err) {
      if (signal?.aborted === true) throw err;
      throw classifyHttpFailure(undefined, undefined, what, err instanceof Error ? err.message : String(err), clock.now());
    }
    if (!res.ok) {
      await res.body?.cancel();
      const error = classifyHttpFailure(res.status, res.headers, what, '', clock.now());
      if (res.status === 401 || res.status === 403) {
        throw new SourceError(
          `${error.message}; set sources.jenkins.user and PTEL_JENKINS_API_TOKEN to a user with Job/Read`,
          'fatal',
          res.status,
        );
      }
      throw error;
    }
    try {
      return await res.json();
    } catch (err) {
      throw new SourceError(
        `${what}: the response is not JSON (${(err as Error).message}); is baseUrl the Jenkins root?`,
        'fatal',
        res.status,
      );
    }
  };

  return {
    baseUrl,
    host: new URL(baseUrl).host,
    logger,
    get: (path, signal) =>
      limit(() =>
        withRetries(() => once(path, signal), {
          ...options.retry,
          clock,
          ...(signal !== undefined ? { signal } : {}),
          onRetry: (err, waitMs, attempt) => logger.warn({ status: err.status, waitMs, attempt }, `Jenkins ${err.kind}: ${err.message}`),
        }),
      ),
  };
}
