/**
 * A fake PagerDuty REST API on 127.0.0.1 for the connector's tests and bench. It serves the latest
 * state of each incident, every log entry and every service of a dataset (by default the demo
 * organisation's PagerDuty records) with PagerDuty's offset paging (limit, offset, more; total only
 * with total=true), its 10000-record paging cap (400 past it), the since/until filters (6 months at
 * most, 1 month by default, date_range=all to ignore them), the rate-limit headers
 * (ratelimit-limit, ratelimit-remaining, ratelimit-reset), and on demand 429 + Retry-After, 5xx and 401.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateDemoOrg, type DemoOptions } from '../../connectors/demo/generator.js';
import { createFaults } from './faults.js';

export type Json = Record<string, unknown>;

export interface PagerdutyFault {
  /** Requests whose path matches; every request when absent. */
  path?: RegExp;
  kind: 'rate_limit' | 'server_error' | 'unauthorized';
  /** How many matching requests fail; Infinity for all. */
  times: number;
  /** Matching requests that pass before the fault starts. */
  after?: number;
  retryAfterSeconds?: number;
  status?: number;
}

export interface PagerdutyDataset {
  services: Json[];
  incidents: Json[];
  logEntries: Json[];
}

export interface FakePagerdutyOptions {
  /** Expected REST API key; any other Authorization is 401. */
  token?: string;
  data?: PagerdutyDataset;
  demo?: DemoOptions;
  /** The clock for default since/until; real time unless given. */
  now?: () => Date;
}

export interface FakePagerduty {
  url: string;
  incidents: Map<string, Json>;
  logEntries: Map<string, Json>;
  services: Map<string, Json>;
  requests: { total: number; byPath: Map<string, number>; log: Array<{ path: string; query: string; status: number; at: number }> };
  fault(f: PagerdutyFault): void;
  clearFaults(): void;
  resetCounts(): void;
  /** Moves an incident to a new status at `at`, with the log entry PagerDuty writes for it. */
  changeStatus(id: string, status: 'triggered' | 'acknowledged' | 'resolved', at: Date): Json;
  close(): Promise<void>;
}

const MONTH_MS = 30 * 86_400_000;
const MAX_RANGE_MS = 183 * 86_400_000;
const CAP = 10_000;

/** The demo organisation's PagerDuty data: the last version of each incident and service, every log entry. */
export function demoPagerdutyData(options: DemoOptions = {}): PagerdutyDataset {
  const latest = new Map<string, Json>();
  const services = new Map<string, Json>();
  const logEntries: Json[] = [];
  for (const r of generateDemoOrg(options).records) {
    if (r.source !== 'pagerduty') continue;
    if (r.type === 'pagerduty.incident') latest.set(r.subject, r.payload);
    else if (r.type === 'pagerduty.service') services.set(r.subject, r.payload);
    else logEntries.push(r.payload);
  }
  return { services: [...services.values()], incidents: [...latest.values()], logEntries };
}

export interface SyntheticOptions {
  services: number;
  incidentsPerService: number;
  /** Incidents are spread evenly over the `days` before `end`. */
  days: number;
  end?: Date;
}

const isoSecond = (t: number): string => new Date(Math.floor(t / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/**
 * A large dataset in the REST shapes of the demo organisation: every incident resolved, with its
 * trigger, acknowledge and resolve log entries. Ids are derived from positions, so equal options
 * give equal data.
 */
export function syntheticPagerdutyData(options: SyntheticOptions): PagerdutyDataset {
  const end = (options.end ?? new Date()).getTime() - 3_600_000;
  const span = options.days * 86_400_000;
  const services: Json[] = [];
  const incidents: Json[] = [];
  const logEntries: Json[] = [];
  const total = options.services * options.incidentsPerService;
  for (let s = 0; s < options.services; s++) {
    const id = `PSVC${String(s).padStart(4, '0')}`;
    const ref = { id, type: 'service_reference', summary: `service ${s}`, self: `https://api.pagerduty.com/services/${id}` };
    services.push({ ...ref, type: 'service', name: `service ${s}`, status: 'active', created_at: isoSecond(end - span - 86_400_000) });
    for (let n = 0; n < options.incidentsPerService; n++) {
      const k = s * options.incidentsPerService + n;
      const created = end - span + Math.floor((span * k) / total);
      const incidentId = `PINC${String(k).padStart(7, '0')}`;
      const resolved = created + 45 * 60_000;
      incidents.push({
        id: incidentId,
        type: 'incident',
        incident_number: 1000 + k,
        title: `Synthetic incident ${k}`,
        created_at: isoSecond(created),
        updated_at: isoSecond(resolved),
        last_status_change_at: isoSecond(resolved),
        resolved_at: isoSecond(resolved),
        status: 'resolved',
        urgency: k % 3 === 0 ? 'high' : 'low',
        service: ref,
      });
      (['trigger', 'acknowledge', 'resolve'] as const).forEach((kind, i) => {
        logEntries.push({
          id: `RLOG${String(k * 3 + i).padStart(8, '0')}`,
          type: `${kind}_log_entry`,
          created_at: isoSecond(created + i * 15 * 60_000),
          service: ref,
          incident: { id: incidentId, type: 'incident_reference' },
        });
      });
    }
  }
  return { services, incidents, logEntries };
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The longest since/until span a pull asks for (the connector's window): PagerDuty allows 6 months. */
const WINDOW_DAYS = 180;

export interface RequestBound {
  services: number;
  incidents: number;
  logEntries: number;
  total: number;
}

/**
 * The fewest requests a full pull of `services` over [from, to) needs from this data, at PagerDuty's
 * 100 records a page: the service listing; per service, its incidents created since `from` (newest
 * first from the whole listing; within one window when the range is one) plus the open incidents'
 * listing, or its whole listing when that is fewer and shows the open ones too; the account's log
 * entries at ceil(entries/100) per window of at most 6 months (one at least).
 */
export function pagerdutyRequestBound(data: PagerdutyDataset, services: string[], from: Date, to: Date): RequestBound {
  const pages = (n: number): number => Math.max(1, Math.ceil(n / 100));
  const window = WINDOW_DAYS * 86_400_000;
  const long = to.getTime() - from.getTime() > window;
  let incidents = 0;
  for (const id of services) {
    const own = data.incidents.filter((i) => refId(i['service']) === id);
    const created = own.map((i) => ms(i['created_at']));
    const open = own.filter((i) => ['triggered', 'acknowledged'].includes(str(i['status']))).length;
    const recent = created.filter((t) => t >= from.getTime() && (long || t < to.getTime())).length;
    incidents += long && own.length <= CAP ? Math.min(pages(own.length), pages(recent) + pages(open)) : pages(recent) + pages(open);
  }
  let logEntries = 0;
  const logTimes = data.logEntries.map((e) => ms(e['created_at']));
  for (let t = from.getTime(); t < to.getTime(); t += window) {
    const until = Math.min(t + window, to.getTime());
    logEntries += pages(logTimes.filter((x) => x >= t && x < until).length);
  }
  const listing = pages(data.services.length);
  return { services: listing, incidents, logEntries, total: listing + incidents + logEntries };
}

const ms = (v: unknown): number => Date.parse(str(v));
const refId = (v: unknown): string => (typeof v === 'object' && v !== null ? str((v as Json)['id']) : '');

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const invalid = (res: ServerResponse, errors: string[], headers: Record<string, string>): void =>
  send(res, 400, { error: { message: 'Invalid Input Provided', code: 2001, errors } }, headers);

export async function startPagerdutyFake(options: FakePagerdutyOptions = {}): Promise<FakePagerduty> {
  const token = options.token ?? 'pd-test-token';
  const now = options.now ?? (() => new Date());
  const data = options.data ?? demoPagerdutyData(options.demo);
  const incidents = new Map(data.incidents.map((i) => [str(i['id']), i]));
  const logEntries = new Map(data.logEntries.map((e) => [str(e['id']), e]));
  const services = new Map(data.services.map((s) => [str(s['id']), s]));
  const requests: FakePagerduty['requests'] = { total: 0, byPath: new Map(), log: [] };
  const faults = createFaults<PagerdutyFault>(requests);
  let budget = { remaining: 960, resetAt: Date.now() + 60_000 };

  const rateHeaders = (): Record<string, string> => {
    if (Date.now() >= budget.resetAt) budget = { remaining: 960, resetAt: Date.now() + 60_000 };
    budget.remaining = Math.max(0, budget.remaining - 1);
    return {
      'ratelimit-limit': '960',
      'ratelimit-remaining': String(budget.remaining),
      'ratelimit-reset': String(Math.max(1, Math.ceil((budget.resetAt - Date.now()) / 1000))),
    };
  };

  /** Offset paging as PagerDuty does it; 400 past the cap. */
  const page = (res: ServerResponse, q: URLSearchParams, key: string, all: Json[], headers: Record<string, string>): void => {
    const limit = Math.min(100, Math.max(1, Number(q.get('limit') ?? 25)));
    const offset = Math.max(0, Number(q.get('offset') ?? 0));
    if (offset + limit > CAP) {
      invalid(res, [`Offset must be less than ${CAP - limit + 1}. Offset + limit must not exceed ${CAP}.`], headers);
      return;
    }
    const items = all.slice(offset, offset + limit);
    send(
      res,
      200,
      { [key]: items, limit, offset, more: offset + items.length < all.length, total: q.get('total') === 'true' ? all.length : null },
      headers,
    );
  };

  /** since/until on `field`; undefined after answering 400. */
  const inRange = (res: ServerResponse, q: URLSearchParams, headers: Record<string, string>): ((t: number) => boolean) | undefined => {
    if (q.get('date_range') === 'all') return () => true;
    const until = q.has('until') ? Date.parse(q.get('until') ?? '') : now().getTime();
    const since = q.has('since') ? Date.parse(q.get('since') ?? '') : until - MONTH_MS;
    if (Number.isNaN(since) || Number.isNaN(until) || since > until) {
      invalid(res, ['Since and until must be valid dates, since before until'], headers);
      return undefined;
    }
    if (until - since > MAX_RANGE_MS) {
      invalid(res, ['The maximum range is 6 months'], headers);
      return undefined;
    }
    return (t) => t >= since && t < until;
  };

  const handle = (req: IncomingMessage, res: ServerResponse, path: string, q: URLSearchParams): number => {
    const f = faults.next(path);
    if (f !== undefined) {
      if (f.kind === 'rate_limit') {
        const wait = String(f.retryAfterSeconds ?? 1);
        send(
          res,
          429,
          { error: { message: 'Rate Limit Exceeded', code: 2020 } },
          {
            'ratelimit-limit': '960',
            'ratelimit-remaining': '0',
            'ratelimit-reset': wait,
            'retry-after': wait,
          },
        );
        return 429;
      }
      if (f.kind === 'unauthorized') {
        send(res, 401, { error: { message: 'Unauthenticated', code: 2006 } });
        return 401;
      }
      const status = f.status ?? 503;
      res.writeHead(status, { 'content-type': 'text/html' });
      res.end('<html><body>upstream unavailable</body></html>');
      return status;
    }
    if (req.headers.authorization !== `Token token=${token}`) {
      send(res, 401, { error: { message: 'Unauthenticated', code: 2006 } });
      return 401;
    }
    const headers = rateHeaders();
    const services_ = q.getAll('service_ids[]');
    const statuses = q.getAll('statuses[]');
    let m: RegExpExecArray | null;
    if (path === '/incidents') {
      const range = inRange(res, q, headers);
      if (range === undefined) return 400;
      const desc = (q.get('sort_by') ?? '').endsWith(':desc');
      const all = [...incidents.values()]
        .filter((i) => services_.length === 0 || services_.includes(refId(i['service'])))
        .filter((i) => statuses.length === 0 || statuses.includes(str(i['status'])))
        .filter((i) => range(ms(i['created_at'])))
        .sort((a, b) => (ms(a['created_at']) - ms(b['created_at']) || str(a['id']).localeCompare(str(b['id']))) * (desc ? -1 : 1));
      page(res, q, 'incidents', all, headers);
      return 200;
    }
    if ((m = /^\/incidents\/([^/]+)$/.exec(path)) !== null) {
      const incident = incidents.get(decodeURIComponent(m[1]!));
      if (incident === undefined) send(res, 404, { error: { message: 'Not Found', code: 2100 } }, headers);
      else send(res, 200, { incident }, headers);
      return incident === undefined ? 404 : 200;
    }
    if (path === '/log_entries') {
      const range = inRange(res, q, headers);
      if (range === undefined) return 400;
      // Newest first, as PagerDuty lists them.
      const all = [...logEntries.values()]
        .filter((e) => range(ms(e['created_at'])))
        .sort((a, b) => ms(b['created_at']) - ms(a['created_at']) || str(a['id']).localeCompare(str(b['id'])));
      page(res, q, 'log_entries', all, headers);
      return 200;
    }
    if (path === '/services') {
      page(res, q, 'services', [...services.values()], headers);
      return 200;
    }
    if ((m = /^\/services\/([^/]+)$/.exec(path)) !== null) {
      const service = services.get(decodeURIComponent(m[1]!));
      if (service === undefined) send(res, 404, { error: { message: 'Not Found', code: 2100 } }, headers);
      else send(res, 200, { service }, headers);
      return service === undefined ? 404 : 200;
    }
    if (path === '/abilities') {
      send(res, 200, { abilities: ['teams', 'urgencies', 'read_only_users'] }, headers);
      return 200;
    }
    send(res, 404, { error: { message: 'Not Found', code: 2100 } }, headers);
    return 404;
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const status = handle(req, res, url.pathname, url.searchParams);
    requests.log.push({ path: url.pathname, query: url.search, status, at: now().getTime() });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  let nextLogId = 1;
  return {
    url: `http://127.0.0.1:${port}`,
    incidents,
    logEntries,
    services,
    requests,
    fault: (f) => faults.add(f),
    clearFaults: () => faults.clear(),
    resetCounts: () => {
      requests.total = 0;
      requests.byPath.clear();
      requests.log.splice(0);
    },
    changeStatus(id, status, at) {
      const incident = incidents.get(id);
      if (incident === undefined) throw new Error(`no incident ${id}`);
      const time = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
      const updated: Json = {
        ...incident,
        status,
        updated_at: time,
        last_status_change_at: time,
        resolved_at: status === 'resolved' ? time : null,
      };
      incidents.set(id, updated);
      const entryId = `RFAKE${String(nextLogId++).padStart(8, '0')}`;
      const kind = status === 'triggered' ? 'trigger' : status === 'acknowledged' ? 'acknowledge' : 'resolve';
      logEntries.set(entryId, {
        id: entryId,
        type: `${kind}_log_entry`,
        summary: `${kind} by the fake`,
        created_at: time,
        service: incident['service'],
        incident: { id, type: 'incident_reference' },
      });
      return updated;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
