import { z } from 'zod';
import type { Config } from '../../infra/config/schema.js';
import { SourceError } from '../../infra/http-retry.js';
import type { SourceRecord } from '../../schemas/raw-event.js';
import type { Cursor, Page, Stream, StreamContext } from '../core/types.js';
import { OFFSET_CAP, PAGE_LIMIT, type PagerdutyClient, type Query } from './client.js';
import {
  contentHash,
  incidentRecord,
  incidentSchema,
  incidentVersion,
  logEntryRecord,
  serviceRecord,
  serviceSchema,
  type Incident,
} from './records.js';

/** Windows stay inside PagerDuty's longest since/until span (6 months, never fewer than 181 days). */
export const WINDOW_MS = 180 * 86_400_000;
const OPEN_STATUSES = ['triggered', 'acknowledged'];
/** The scope of the account-wide streams. */
export const ACCOUNT_SCOPE = 'account';

/**
 * The end of this sync's windows: now, down to the second. PagerDuty renders times to the second,
 * so a record of this second is left to the next window rather than risked.
 */
const windowEnd = (now: number): Date => new Date(Math.floor(now / 1000) * 1000);

const listSchema = z.looseObject({
  more: z.boolean().nullish(),
  total: z.number().nullish(),
});

/** The services to pull: those configured for PagerDuty, else every service of the org's teams. */
export function configuredServices(config: Config): string[] {
  const explicit = config.sources.pagerduty?.services;
  if (explicit !== undefined) return [...new Set(explicit)];
  return [...new Set(config.org.programs.flatMap((p) => p.teams.flatMap((t) => t.pagerduty.services)))];
}

interface Chunk {
  items: unknown[];
  requests: number;
  /** Set on the last chunk of a window: every record before this time has been yielded. */
  windowEnd?: Date;
}

function listOf(body: unknown, key: string, what: string): { items: unknown[]; more: boolean; total: number | undefined } {
  const meta = listSchema.parse(body);
  const items = (body as Record<string, unknown>)[key];
  if (!Array.isArray(items)) throw new SourceError(`${what}: the response has no '${key}' list`, 'fatal', undefined);
  return { items, more: meta.more === true, total: meta.total ?? undefined };
}

/** Offset paging of one listing from `start`, refusing to go past PagerDuty's offset cap. */
async function* offsetPages(
  client: PagerdutyClient,
  path: string,
  key: string,
  query: Query,
  signal: AbortSignal,
  start = 0,
): AsyncGenerator<Chunk> {
  for (let offset = start; ; offset += PAGE_LIMIT) {
    if (offset + PAGE_LIMIT > OFFSET_CAP) {
      throw new SourceError(`GET ${path}: more than ${OFFSET_CAP} results, PagerDuty's paging limit`, 'fatal', undefined);
    }
    const body = await client.get(path, { ...query, limit: String(PAGE_LIMIT), offset: String(offset), total: 'false' }, signal);
    const page = listOf(body, key, `GET ${path}`);
    yield { items: page.items, requests: 1 };
    if (!page.more || page.items.length === 0) return;
  }
}

/**
 * A time range read window by window, in time order. Each window's first page asks for the total
 * (one request either way); a window holding more than the offset cap allows is cut into parts of
 * about half the cap each before any of it is read, so every window can be paged to its end. After each window, an empty chunk carries
 * its end.
 */
async function* windowed(
  client: PagerdutyClient,
  path: string,
  key: string,
  query: Query,
  from: Date,
  to: Date,
  signal: AbortSignal,
): AsyncGenerator<Chunk> {
  const pending: Array<[Date, Date]> = [];
  for (let start = from.getTime(); start < to.getTime(); start += WINDOW_MS) {
    pending.push([new Date(start), new Date(Math.min(start + WINDOW_MS, to.getTime()))]);
  }
  for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
    const [since, until] = next;
    const windowQuery: Query = { ...query, since: since.toISOString(), until: until.toISOString() };
    const body = await client.get(path, { ...windowQuery, limit: String(PAGE_LIMIT), offset: '0', total: 'true' }, signal);
    const first = listOf(body, key, `GET ${path}`);
    const total = first.total ?? 0;
    if (total > OFFSET_CAP) {
      // Parts that would each hold about half the cap if the records were spread evenly, on whole seconds.
      const parts = Math.max(2, Math.ceil((2 * total) / OFFSET_CAP));
      const bounds = [since.getTime()];
      for (let k = 1; k < parts; k++) {
        const t = Math.floor((since.getTime() + ((until.getTime() - since.getTime()) * k) / parts) / 1000) * 1000;
        if (t > bounds[bounds.length - 1]!) bounds.push(t);
      }
      if (bounds.length === 1) {
        throw new SourceError(`GET ${path}: more than ${OFFSET_CAP} results within one second at ${since.toISOString()}`, 'fatal', 400);
      }
      bounds.push(until.getTime());
      pending.unshift(...bounds.slice(0, -1).map((t, k): [Date, Date] => [new Date(t), new Date(bounds[k + 1]!)]));
      yield { items: [], requests: 1 };
      continue;
    }
    yield { items: first.items, requests: 1 };
    if (first.more && first.items.length > 0) yield* offsetPages(client, path, key, windowQuery, signal, PAGE_LIMIT);
    yield { items: [], requests: 0, windowEnd: until };
  }
}

/** Open incidents known at the last sync, by id, with the version emitted for each. */
const openSchema = z.record(z.string(), z.string());

function parseOpen(raw: unknown): Record<string, string> {
  if (typeof raw !== 'string') return {};
  const parsed = openSchema.safeParse(JSON.parse(raw));
  return parsed.success ? parsed.data : {};
}

const isOpen = (i: Incident): boolean => OPEN_STATUSES.includes(i.status);

/**
 * Incidents of one service. Created ones are read by time window from the cursor on. Incidents
 * change after creation, so every sync also lists the service's open incidents (any creation date)
 * and emits those whose version moved; an incident open at the last sync and missing from that list
 * now has left the open states (resolved), and is read by id, so a resolution is never missed.
 *
 * A range longer than one window (a backfill, a long pause) would cost at least a request per
 * window, so it is read instead from the service's whole listing, newest first (date_range=all),
 * down to the first incident created before the range: a request per 100 incidents of the range,
 * whatever its length. When that listing ends first, it has shown every open incident, and the open
 * listing is not needed. Past PagerDuty's offset cap, the older rest of the range is read by windows.
 */
async function* pullIncidents(
  client: PagerdutyClient,
  serviceId: string,
  cursor: Cursor | undefined,
  ctx: StreamContext,
): AsyncGenerator<Page> {
  const now = windowEnd(ctx.clock.now());
  const resume = ctx.backfill || typeof cursor?.['until'] !== 'string' ? undefined : new Date(cursor['until']);
  const from = resume ?? ctx.since;
  const open = ctx.backfill ? {} : parseOpen(cursor?.['open']);
  const base: Query = { 'service_ids[]': [serviceId], sort_by: 'created_at:asc', time_zone: 'UTC' };
  const saved = (until: Date): Cursor => ({ until: until.toISOString(), open: JSON.stringify(open) });
  let skip: Map<string, boolean> | undefined;

  let current: Listing | undefined;
  // The windows' end: before it nothing has been read yet.
  let end = now;
  if (now.getTime() - from.getTime() > WINDOW_MS) {
    const listing: Listing = { seen: new Map(), requests: 0 };
    const all: Query = { ...base, sort_by: 'created_at:desc', date_range: 'all' };
    let oldest = Infinity;
    let complete = false;
    for (let offset = 0; offset + PAGE_LIMIT <= OFFSET_CAP; offset += PAGE_LIMIT) {
      const body = await client.get(
        '/incidents',
        { ...all, limit: String(PAGE_LIMIT), offset: String(offset), total: 'false' },
        ctx.signal,
      );
      const page = listOf(body, 'incidents', 'GET /incidents');
      for (const raw of page.items) oldest = Math.min(oldest, Date.parse(incidentSchema.parse(raw).created_at));
      yield { records: sortOut(page.items, from, now, open, listing), requests: 1 };
      complete = !page.more || page.items.length === 0;
      if (complete || oldest < from.getTime()) break;
    }
    if (complete) current = listing;
    // Past the offset cap: the rest of the range, older than what was read, goes by windows.
    else end = oldest < from.getTime() ? from : new Date(Math.floor(oldest / 1000) * 1000 + 1000);
    skip = listing.seen;
  }
  if (current === undefined) {
    for await (const chunk of windowed(client, '/incidents', 'incidents', base, from, end, ctx.signal)) {
      const records = chunk.items.flatMap((raw) => {
        const record = incidentRecord(raw);
        const incident = record.payload as Incident;
        if (skip?.has(incident.id) === true) return [];
        if (isOpen(incident)) open[incident.id] = record.version;
        else delete open[incident.id];
        return [record];
      });
      const done = chunk.windowEnd !== undefined && end === now;
      yield { records, requests: chunk.requests, cursor: done ? saved(chunk.windowEnd!) : undefined };
    }
    current = await openListing(client, base, open, ctx.signal);
    for (const [id, wasOpen] of skip ?? []) if (!current.seen.has(id)) current.seen.set(id, wasOpen);
  }
  const { records, requests } = await missingOpen(client, serviceId, open, current, ctx);
  yield { records: [...(current.records ?? []), ...records], requests: current.requests + requests, cursor: saved(now) };
}

/** What a listing of a service's incidents showed: each incident seen with its status, and what it emits. */
interface Listing {
  seen: Map<string, boolean>;
  requests: number;
  records?: SourceRecord[];
}

/**
 * The records of a page of the service's whole listing: every incident created within [from, to),
 * and, as the open listing would give them, others that are open with a version not yet emitted or
 * that were open at the last sync.
 */
function sortOut(items: unknown[], from: Date, to: Date, open: Record<string, string>, listing: Listing): SourceRecord[] {
  const out: SourceRecord[] = [];
  for (const raw of items) {
    const record = incidentRecord(raw);
    const incident = record.payload as Incident;
    const created = Date.parse(incident.created_at);
    const inRange = created >= from.getTime() && created < to.getTime();
    listing.seen.set(incident.id, isOpen(incident));
    if (isOpen(incident)) {
      if (inRange || open[incident.id] !== record.version) out.push(record);
      open[incident.id] = record.version;
    } else {
      if (inRange || open[incident.id] !== undefined) out.push(record);
      delete open[incident.id];
    }
  }
  return out;
}

/** The service's open incidents (any creation date): those whose version moved since they were emitted. */
async function openListing(client: PagerdutyClient, base: Query, open: Record<string, string>, signal: AbortSignal): Promise<Listing> {
  const listing: Listing = { seen: new Map(), requests: 0, records: [] };
  for await (const chunk of offsetPages(
    client,
    '/incidents',
    'incidents',
    { ...base, 'statuses[]': OPEN_STATUSES, date_range: 'all' },
    signal,
  )) {
    listing.requests += chunk.requests;
    for (const raw of chunk.items) {
      const record = incidentRecord(raw);
      const { id } = record.payload as Incident;
      listing.seen.set(id, true);
      if (open[id] !== record.version) listing.records!.push(record);
      open[id] = record.version;
    }
  }
  return listing;
}

/** Incidents open at the last sync that the listing did not show open: each is read by id. */
async function missingOpen(
  client: PagerdutyClient,
  serviceId: string,
  open: Record<string, string>,
  listing: Listing,
  ctx: StreamContext,
): Promise<{ records: SourceRecord[]; requests: number }> {
  const records: SourceRecord[] = [];
  let requests = 0;
  for (const id of Object.keys(open)) {
    if (listing.seen.get(id) === true) continue;
    delete open[id];
    let body: unknown;
    try {
      body = await client.get(`/incidents/${encodeURIComponent(id)}`, { time_zone: 'UTC' }, ctx.signal);
    } catch (err) {
      requests++;
      // Deleted, or moved out of the token's sight: nothing more to learn about it here.
      if (err instanceof SourceError && err.status === 404) continue;
      throw err;
    }
    requests++;
    const incident = incidentSchema.parse((body as { incident?: unknown }).incident);
    if (incident.service?.id !== undefined && incident.service.id !== serviceId)
      ctx.logger.info({ id }, 'incident moved to another service');
    records.push(incidentRecord(incident));
    if (isOpen(incident)) open[id] = incidentVersion(incident).version;
  }
  return { records, requests };
}

/** Log entries of the whole account (the endpoint has no service filter), kept for the configured services. */
async function* pullLogEntries(
  client: PagerdutyClient,
  _scope: string,
  cursor: Cursor | undefined,
  ctx: StreamContext,
): AsyncGenerator<Page> {
  const now = windowEnd(ctx.clock.now());
  const from = ctx.backfill || typeof cursor?.['until'] !== 'string' ? ctx.since : new Date(cursor['until']);
  const services = new Set(configuredServices(ctx.config));
  const query: Query = { is_overview: 'false', time_zone: 'UTC' };
  for await (const chunk of windowed(client, '/log_entries', 'log_entries', query, from, now, ctx.signal)) {
    const records = chunk.items
      .map(logEntryRecord)
      .filter((r) => services.size === 0 || services.has((r.payload as { service?: { id?: string } | null }).service?.id ?? ''));
    yield {
      records,
      requests: chunk.requests,
      cursor: chunk.windowEnd !== undefined ? { until: chunk.windowEnd.toISOString() } : undefined,
    };
  }
}

/**
 * Services have no `since` filter and no updated time: the list is read whole (a few pages), and a
 * service is emitted when its content digest differs from the one in the cursor.
 */
async function* pullServices(
  client: PagerdutyClient,
  _scope: string,
  cursor: Cursor | undefined,
  ctx: StreamContext,
): AsyncGenerator<Page> {
  const wanted = new Set(configuredServices(ctx.config));
  const known = ctx.backfill ? {} : parseOpen(cursor?.['digests']);
  for await (const chunk of offsetPages(client, '/services', 'services', { time_zone: 'UTC' }, ctx.signal)) {
    const records = [];
    for (const raw of chunk.items) {
      const { id } = serviceSchema.parse(raw);
      if (wanted.size > 0 && !wanted.has(id)) continue;
      const hash = contentHash(raw);
      if (known[id] === hash) continue;
      known[id] = hash;
      records.push(serviceRecord(raw, hash));
    }
    yield { records, requests: chunk.requests, cursor: { digests: JSON.stringify(known) } };
  }
}

/** Failures name the service they stopped, so the message says which scope to fix. */
async function* pullServiceIncidents(
  client: PagerdutyClient,
  serviceId: string,
  cursor: Cursor | undefined,
  ctx: StreamContext,
): AsyncGenerator<Page> {
  try {
    yield* pullIncidents(client, serviceId, cursor, ctx);
  } catch (err) {
    if (err instanceof SourceError) throw new SourceError(`service ${serviceId}: ${err.message}`, err.kind, err.status, err.retryAfterMs);
    throw err;
  }
}

export const pagerdutyStreams: Array<Stream<PagerdutyClient>> = [
  { name: 'services', scopes: () => [ACCOUNT_SCOPE], pull: pullServices },
  { name: 'incidents', scopes: configuredServices, pull: pullServiceIncidents },
  { name: 'log_entries', scopes: () => [ACCOUNT_SCOPE], pull: pullLogEntries },
];
