import { z } from 'zod';
import { systemClock, type Clock } from '../../infra/clock.js';
import type { Config } from '../../infra/config/schema.js';
import { classifyHttpFailure, SourceError, withRetries, type RetryOptions } from '../../infra/http-retry.js';
import type { Logger } from '../../infra/observability/logger.js';

/**
 * The query endpoints outcome actuals are read from: a Prometheus-compatible HTTP API (instant queries)
 * and a ClickHouse server's HTTP interface. Each answers one number for an instant, or none.
 */
export interface QueryEndpoint {
  /** What the endpoint is called in messages: 'Prometheus https://prom.example.com'. */
  name: string;
  /**
   * The value of `query` at `at` (the endpoint's "now" when undefined): undefined when it has none at
   * that instant. `what` names the query's owner in the error (the outcome). Throws SourceError naming
   * `what`, the endpoint and its error.
   */
  value(query: string, at: Date | undefined, what: string, signal?: AbortSignal): Promise<number | undefined>;
}

export interface OutcomesClient {
  prometheus?: QueryEndpoint;
  clickhouse?: QueryEndpoint;
  /** The sync's clock: where `ptel doctor` takes the instant it runs each query at. */
  clock: Clock;
}

export interface OutcomesClientOptions {
  timeoutMs?: number;
  retry?: RetryOptions;
  clock?: Clock;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A finite number from an endpoint's text or number; NaN and infinities are no value. */
function finite(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

interface Http {
  timeoutMs: number;
  retry: RetryOptions | undefined;
  clock: Clock;
  logger: Logger;
}

/**
 * One request, retried when waiting can heal it (429, 5xx, no answer); `detail` reads an error answer's
 * body into the message. Every error names `what`, the request and the endpoint's own words.
 */
async function request(
  http: Http,
  what: string,
  req: {
    method: 'GET' | 'POST';
    url: string;
    label: string;
    headers: Record<string, string>;
    body?: string;
    /** The error of an answer the endpoint's own rules classify (else by its HTTP status). */
    failure?: (res: Response, text: string) => SourceError | undefined;
  },
  detail: (text: string) => string,
  signal: AbortSignal | undefined,
): Promise<string> {
  const once = async (): Promise<string> => {
    const timeout = AbortSignal.timeout(http.timeoutMs);
    let res: Response;
    try {
      res = await fetch(req.url, {
        method: req.method,
        headers: req.headers,
        ...(req.body !== undefined ? { body: req.body } : {}),
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      });
    } catch (err) {
      if (signal?.aborted === true) throw err;
      throw classifyHttpFailure(undefined, undefined, `${what}: ${req.label}`, message(err), http.clock.now());
    }
    const text = await res.text();
    if (!res.ok)
      throw (
        req.failure?.(res, text) ?? classifyHttpFailure(res.status, res.headers, `${what}: ${req.label}`, detail(text), http.clock.now())
      );
    return text;
  };
  return withRetries(once, {
    ...http.retry,
    clock: http.clock,
    ...(signal !== undefined ? { signal } : {}),
    onRetry: (err, waitMs, attempt) => http.logger.warn({ status: err.status, waitMs, attempt }, err.message),
  });
}

const promAnswer = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.discriminatedUnion('resultType', [
      z.object({
        resultType: z.literal('vector'),
        result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) })),
      }),
      z.object({ resultType: z.literal('scalar'), result: z.tuple([z.number(), z.string()]) }),
      z.object({ resultType: z.enum(['matrix', 'string']), result: z.unknown() }),
    ]),
  }),
  z.object({ status: z.literal('error'), errorType: z.string().optional(), error: z.string().optional() }),
]);

/** Prometheus' own words from an error answer ({status: 'error', error}), else the answer's start. */
function promError(text: string): string {
  try {
    const body = JSON.parse(text) as unknown;
    const parsed = promAnswer.safeParse(body);
    if (parsed.success && parsed.data.status === 'error') return `${parsed.data.errorType ?? 'error'}: ${parsed.data.error ?? ''}`;
  } catch {
    // Not JSON: a proxy's page.
  }
  return text.trim().slice(0, 300);
}

/** Unix seconds, with milliseconds when there are any. */
const unixSeconds = (at: Date): string => (at.getTime() % 1000 === 0 ? String(at.getTime() / 1000) : (at.getTime() / 1000).toFixed(3));

function prometheusEndpoint(url: string, token: string | undefined, http: Http): QueryEndpoint {
  const base = url.replace(/\/+$/, '');
  const headers: Record<string, string> = {
    accept: 'application/json',
    ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
  };
  const name = `Prometheus ${base}`;
  return {
    name,
    async value(query, at, what, signal) {
      const params = new URLSearchParams({ query, ...(at !== undefined ? { time: unixSeconds(at) } : {}) });
      const label = `GET ${base}/api/v1/query`;
      const text = await request(
        http,
        what,
        { method: 'GET', url: `${base}/api/v1/query?${params.toString()}`, label, headers },
        promError,
        signal,
      );
      let parsed: z.infer<typeof promAnswer>;
      try {
        parsed = promAnswer.parse(JSON.parse(text));
      } catch (err) {
        throw new SourceError(`${what}: ${label}: not a Prometheus query answer (${message(err).slice(0, 200)})`, 'fatal', 200);
      }
      if (parsed.status === 'error') throw new SourceError(`${what}: ${label}: ${promError(text)}`, 'fatal', 200);
      const { data } = parsed;
      if (data.resultType === 'scalar') return finite(data.result[1]);
      if (data.resultType !== 'vector')
        throw new SourceError(
          `${what}: ${label}: query '${query}' gives a ${data.resultType}; expected one sample or a scalar`,
          'fatal',
          200,
        );
      if (data.result.length > 1) {
        const labels = data.result.slice(0, 3).map((s) => JSON.stringify(s.metric));
        throw new SourceError(
          `${what}: ${label}: query '${query}' gives ${data.result.length} series (${labels.join(', ')}${data.result.length > 3 ? ', ...' : ''}); it must give one, e.g. aggregated with sum()`,
          'fatal',
          200,
        );
      }
      return data.result[0] === undefined ? undefined : finite(data.result[0].value[1]);
    },
  };
}

const chAnswer = z.object({ meta: z.array(z.object({ name: z.string() })), data: z.array(z.record(z.string(), z.unknown())) });

/** A ClickHouse exception's message without its stack: 'Code: 62. DB::Exception: Syntax error: ...'. */
const chError = (text: string): string => text.trim().split('\n')[0]!.slice(0, 500);

/** ClickHouse exception codes that waiting can heal: too many queries, timeouts, network errors, memory limit. */
const TRANSIENT_CODES = new Set(['159', '202', '209', '210', '241']);

function clickhouseEndpoint(
  settings: { url: string; user: string; database?: string | undefined },
  password: string | undefined,
  http: Http,
): QueryEndpoint {
  const base = settings.url.replace(/\/+$/, '');
  const headers: Record<string, string> = {
    'x-clickhouse-user': settings.user,
    ...(password !== undefined ? { 'x-clickhouse-key': password } : {}),
    'content-type': 'text/plain; charset=utf-8',
  };
  return {
    name: `ClickHouse ${base}`,
    async value(sql, at, what, signal) {
      // The instant as unix seconds, which ClickHouse reads for a DateTime64 parameter whatever its time zone.
      const params = new URLSearchParams({
        default_format: 'JSON',
        param_at: unixSeconds(at ?? http.clock.date()),
        ...(settings.database !== undefined ? { database: settings.database } : {}),
      });
      const label = `POST ${base}`;
      // An exception in the query (unknown table, syntax, types) is the query's fault whatever the status: not retried.
      const failure = (res: Response, text: string): SourceError | undefined => {
        const code = res.headers.get('x-clickhouse-exception-code');
        return code === null || TRANSIENT_CODES.has(code)
          ? undefined
          : new SourceError(`${what}: ${label}: ${chError(text)}`, 'fatal', res.status);
      };
      const url = `${base}/?${params.toString()}`;
      const text = await request(http, what, { method: 'POST', url, label, headers, body: sql, failure }, chError, signal);
      let answer: z.infer<typeof chAnswer>;
      try {
        answer = chAnswer.parse(JSON.parse(text));
      } catch (err) {
        throw new SourceError(
          `${what}: ${label}: not a JSON answer (${message(err).slice(0, 200)}); does the query set its own FORMAT?`,
          'fatal',
          200,
        );
      }
      if (!answer.meta.some((c) => c.name === 'value'))
        throw new SourceError(
          `${what}: ${label}: the query has no column 'value' (columns: ${answer.meta.map((c) => c.name).join(', ')})`,
          'fatal',
          200,
        );
      if (answer.data.length > 1)
        throw new SourceError(
          `${what}: ${label}: the query gives ${answer.data.length} rows; it must give one row with column 'value'`,
          'fatal',
          200,
        );
      const v = answer.data[0]?.['value'];
      return v === null || v === undefined ? undefined : finite(v);
    },
  };
}

/** The endpoints sources.outcomes configures; none when it names neither (targets and adopters only). */
export function createOutcomesClient(config: Config, logger: Logger, options: OutcomesClientOptions = {}): OutcomesClient {
  const settings = config.sources.outcomes;
  const http: Http = { timeoutMs: options.timeoutMs ?? 60_000, retry: options.retry, clock: options.clock ?? systemClock, logger };
  return {
    clock: http.clock,
    ...(settings?.prometheus !== undefined
      ? { prometheus: prometheusEndpoint(settings.prometheus.url, config.secrets.outcomesPrometheusToken, http) }
      : {}),
    ...(settings?.clickhouse !== undefined
      ? { clickhouse: clickhouseEndpoint(settings.clickhouse, config.secrets.outcomesClickhousePassword, http) }
      : {}),
  };
}
