/**
 * A local fake of the Prometheus HTTP API's instant queries (GET /api/v1/query), over a stored set of
 * series, answering as Prometheus does: the value of a series at `time` is its last sample at or before
 * `time` within the 5-minute lookback, a selector matching nothing is an empty vector, errors are
 * `{status: 'error', errorType, error}` with Prometheus' status codes. The PromQL it understands is a
 * small subset: a selector `name{label="v", label!="v", label=~"re", label!~"re"}`, `sum(<selector>)`,
 * `vector(<number>)` and a number literal (a scalar).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/** One series: its labels (`__name__` the metric name) and its samples, [unix seconds, value], in time order. */
export interface Series {
  metric: Record<string, string>;
  samples: Array<[number, number]>;
}

export interface FakePrometheusOptions {
  series?: Series[];
  /** The bearer token a request must carry; none: any request is served. */
  token?: string;
  /** The instant of a query without `time`, unix seconds (default: the latest sample's). */
  now?: number;
}

export interface FakePrometheus {
  url: string;
  series: Series[];
  /** The queries answered, in order, with their `time` (unix seconds). */
  queries: Array<{ query: string; time: number }>;
  /** Answers `count` requests, after the next `after` ones, with this HTTP status (and Prometheus' error body). */
  failNext(status: number, count?: number, after?: number): void;
  close(): Promise<void>;
}

const LOOKBACK_S = 300;

class BadData extends Error {}

type Matcher = { name: string; op: '=' | '!=' | '=~' | '!~'; value: string };

function parseSelector(text: string): Matcher[] {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(?:\{(.*)\})?$/s.exec(text.trim());
  if (m === null || (m[1] === undefined && m[2] === undefined)) throw new BadData(`parse error: unexpected input in '${text}'`);
  const matchers: Matcher[] = m[1] === undefined ? [] : [{ name: '__name__', op: '=', value: m[1] }];
  for (const part of (m[2] ?? '').split(',').filter((p) => p.trim() !== '')) {
    const lm = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$/.exec(part);
    if (lm === null) throw new BadData(`parse error: unexpected label matcher '${part.trim()}'`);
    matchers.push({ name: lm[1]!, op: lm[2] as Matcher['op'], value: lm[3]!.replace(/\\(.)/g, '$1') });
  }
  return matchers;
}

const matches = (metric: Record<string, string>, m: Matcher): boolean => {
  const v = metric[m.name] ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return new RegExp(`^(?:${m.value})$`).test(v);
    case '!~':
      return !new RegExp(`^(?:${m.value})$`).test(v);
  }
};

/** The last sample at or before `time`, within the lookback. */
function valueAt(series: Series, time: number): number | undefined {
  let found: number | undefined;
  for (const [t, v] of series.samples) {
    if (t > time) break;
    if (t > time - LOOKBACK_S) found = v;
  }
  return found;
}

const format = (v: number): string => (Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v));

/** An instant query's `data` at `time`. */
export function evaluate(query: string, time: number, series: Series[]): Record<string, unknown> {
  const q = query.trim();
  if (/^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i.test(q)) return { resultType: 'scalar', result: [time, format(Number(q))] };
  const vector = /^vector\(\s*([^)]+)\)$/.exec(q);
  if (vector !== null) {
    const n = Number(vector[1]);
    if (!Number.isFinite(n)) throw new BadData(`parse error: expected a number in vector(), got '${vector[1]}'`);
    return { resultType: 'vector', result: [{ metric: {}, value: [time, format(n)] }] };
  }
  const sum = /^sum\s*\((.*)\)$/s.exec(q);
  const matchers = parseSelector(sum === null ? q : sum[1]!);
  const found = series
    .filter((s) => matchers.every((m) => matches(s.metric, m)))
    .map((s) => ({ metric: s.metric, v: valueAt(s, time) }))
    .filter((s): s is { metric: Record<string, string>; v: number } => s.v !== undefined);
  if (sum !== null)
    return {
      resultType: 'vector',
      result: found.length === 0 ? [] : [{ metric: {}, value: [time, format(found.reduce((a, s) => a + s.v, 0))] }],
    };
  return { resultType: 'vector', result: found.map((s) => ({ metric: s.metric, value: [time, format(s.v)] })) };
}

/** A `time` parameter: unix seconds (with a fraction) or RFC 3339. */
function parseTime(text: string): number {
  const n = Number(text);
  if (text.trim() !== '' && Number.isFinite(n)) return n;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new BadData(`invalid parameter "time": cannot parse "${text}" to a valid timestamp`);
  return ms / 1000;
}

const ERROR_TYPES: Record<number, string> = { 400: 'bad_data', 422: 'execution', 503: 'unavailable', 500: 'internal' };

export async function startPrometheusFake(options: FakePrometheusOptions = {}): Promise<FakePrometheus> {
  const series = options.series ?? [];
  const queries: FakePrometheus['queries'] = [];
  let failures: { status: number; count: number; after: number } | undefined;

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, status: number, message: string): void =>
    send(res, status, { status: 'error', errorType: ERROR_TYPES[status] ?? 'server_error', error: message });

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end('Unauthorized\n');
      return;
    }
    if (failures !== undefined && failures.after > 0) failures.after--;
    else if (failures !== undefined && failures.count > 0) {
      failures.count--;
      error(res, failures.status, `injected failure ${failures.status}`);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/api/v1/status/buildinfo') {
      send(res, 200, { status: 'success', data: { version: '2.55.0-fake', revision: 'fake', branch: 'fake', goVersion: 'go1.23' } });
      return;
    }
    if (req.method !== 'GET' || url.pathname !== '/api/v1/query') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('404 page not found\n');
      return;
    }
    const query = url.searchParams.get('query');
    if (query === null || query.trim() === '') {
      error(res, 400, 'invalid parameter "query": unknown position: parse error: no expression found in input');
      return;
    }
    try {
      const latest = Math.max(0, ...series.flatMap((s) => s.samples.map(([t]) => t)));
      const timeParam = url.searchParams.get('time');
      const time = timeParam === null ? (options.now ?? latest) : parseTime(timeParam);
      const data = evaluate(query, time, series);
      queries.push({ query, time });
      send(res, 200, { status: 'success', data });
    } catch (err) {
      if (err instanceof BadData) error(res, 400, err.message);
      else error(res, 500, err instanceof Error ? err.message : String(err));
    }
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the Prometheus fake has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    series,
    queries,
    failNext(status, count = 1, after = 0) {
      failures = { status, count, after };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
