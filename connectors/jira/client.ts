import { AgileClient, HttpException, Version2Client, Version3Client, type Config as JiraJsConfig } from 'jira.js';
import type { z } from 'zod';
import { systemClock, type Clock } from '../../infra/clock.js';
import type { Config } from '../../infra/config/schema.js';
import type { Logger } from '../../infra/observability/logger.js';
import { classifyHttpFailure, createLimiter, SourceError, withRetries, type HeaderBag } from '../../infra/http-retry.js';

type JiraSettings = NonNullable<Config['sources']['jira']>;

export interface CallOptions {
  signal?: AbortSignal;
  /** Counts the requests sent (retries included), for a page's request figure. */
  counter?: { n: number };
}

/** The jira.js clients for one site, and the one way requests are sent through them. */
export interface JiraClient {
  deployment: 'cloud' | 'datacenter';
  /** The host of baseUrl: the site part of every subject. */
  site: string;
  /** REST v3 on Cloud; undefined on Data Center, which serves v2 only. */
  v3: Version3Client | undefined;
  v2: Version2Client;
  agile: AgileClient;
  /**
   * Sends one request through the limiter, with rate-limit waits and transient retries, and checks the
   * answer against `schema`. `what` names the request in error messages.
   */
  call<S extends z.ZodType>(what: string, schema: S, send: () => Promise<unknown>, options?: CallOptions): Promise<z.infer<S>>;
  /** Requests sent so far, retries included. */
  readonly requests: number;
  /**
   * How changelogs a search truncated are completed: `bulkfetch` (POST /rest/api/3/changelog/bulkfetch) or
   * `per-issue` (GET /issue/{id}/changelog). Under sources.jira.changelogs `auto` it starts as bulkfetch and
   * turns to per-issue at the first 404 (`fallback`), for the life of the client.
   */
  changelogs: { plan: 'bulkfetch' | 'per-issue'; fallback: boolean };
}

export function jiraSettings(config: Config): JiraSettings {
  const settings = config.sources.jira;
  if (settings === undefined) throw new Error('the jira source is not configured (sources.jira is missing)');
  return settings;
}

export const jiraSite = (config: Config): string => new URL(jiraSettings(config).baseUrl).host;

function clientConfig(config: Config): JiraJsConfig {
  const settings = jiraSettings(config);
  const host = settings.baseUrl.replace(/\/+$/, '');
  const token = config.secrets.jiraApiToken ?? '';
  // Requests that hang would hold a scope's slot forever: bound each one.
  const base = { timeout: 60_000 };
  if (settings.deployment === 'datacenter') {
    // Data Center personal access tokens are sent as a bearer token; jira.js has no option for it.
    return { host, baseRequestConfig: { ...base, headers: { Authorization: `Bearer ${token}` } } };
  }
  return { host, baseRequestConfig: base, authentication: { basic: { email: settings.email ?? '', apiToken: token } } };
}

/** Wait from Jira Cloud's rate-limit headers: Retry-After (seconds), else X-RateLimit-Reset / RateLimit-Reset. */
function jiraRetryAfterMs(headers: HeaderBag | undefined, now: number): number | undefined {
  const get = (name: string): string | undefined => {
    if (headers === undefined) return undefined;
    if (headers instanceof Headers) return headers.get(name) ?? undefined;
    const v = headers[name] ?? headers[name.toLowerCase()];
    return v === undefined ? undefined : String(Array.isArray(v) ? v[0] : v);
  };
  const retryAfter = get('retry-after');
  if (retryAfter !== undefined && /^\d+(\.\d+)?$/.test(retryAfter.trim())) return Math.ceil(Number(retryAfter) * 1000);
  // Jira Cloud sends X-RateLimit-Reset as an ISO 8601 time (yyyy-MM-ddTHH:mmZ), not epoch seconds.
  for (const name of ['x-ratelimit-reset', 'ratelimit-reset']) {
    const v = get(name);
    if (v === undefined) continue;
    const at = /^\d+$/.test(v) ? (Number(v) > 1e9 ? Number(v) * 1000 : now + Number(v) * 1000) : Date.parse(v);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  return undefined;
}

/** A jira.js failure as a SourceError, classified from the status and headers. */
export function toSourceError(err: unknown, what: string, now: number = systemClock.now()): SourceError {
  if (err instanceof SourceError) return err;
  if (err instanceof HttpException) {
    const cause = err.cause as { response?: { headers?: HeaderBag; data?: unknown } } | undefined;
    const headers = cause?.response?.headers;
    const data = cause?.response?.data as { errorMessages?: unknown } | undefined;
    const detail = Array.isArray(data?.errorMessages) ? data.errorMessages.filter((m) => typeof m === 'string').join('; ') : '';
    const status = cause?.response === undefined ? undefined : err.status;
    const classified = classifyHttpFailure(status, headers, what, detail, now);
    const wait = jiraRetryAfterMs(headers, now);
    if (classified.kind === 'rate_limited' && wait !== undefined) {
      return new SourceError(classified.message, 'rate_limited', classified.status, wait);
    }
    return classified;
  }
  // No response at all (reset, refused, timeout): worth another try.
  const message = err instanceof Error ? err.message : String(err);
  return classifyHttpFailure(undefined, undefined, what, message, now);
}

export function createJiraClient(config: Config, logger: Logger, options: { clock?: Clock } = {}): JiraClient {
  const clock = options.clock ?? systemClock;
  const settings = jiraSettings(config);
  const cfg = clientConfig(config);
  const limit = createLimiter(settings.concurrency);
  let requests = 0;
  const deployment = settings.deployment;
  const bulk = deployment === 'cloud' && settings.changelogs !== 'per-issue';
  return {
    deployment,
    changelogs: { plan: bulk ? 'bulkfetch' : 'per-issue', fallback: settings.changelogs === 'auto' },
    site: jiraSite(config),
    v3: deployment === 'cloud' ? new Version3Client(cfg) : undefined,
    v2: new Version2Client(cfg),
    agile: new AgileClient(cfg),
    get requests() {
      return requests;
    },
    async call(what, schema, send, options = {}) {
      const body = await withRetries(
        () =>
          limit(async () => {
            requests++;
            if (options.counter !== undefined) options.counter.n++;
            try {
              return await send();
            } catch (err) {
              throw toSourceError(err, what, clock.now());
            }
          }),
        {
          clock,
          ...(options.signal !== undefined ? { signal: options.signal } : {}),
          onRetry: (error, waitMs, attempt) => logger.warn({ status: error.status, waitMs, attempt }, `${error.message}; retrying`),
        },
      );
      const parsed = schema.safeParse(body);
      if (!parsed.success) {
        throw new SourceError(`${what}: unexpected response: ${parsed.error.issues[0]?.message ?? 'invalid'}`, 'fatal', undefined);
      }
      return parsed.data;
    },
  };
}
