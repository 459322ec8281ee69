import { z } from 'zod';
import type { Config } from '../../infra/config/schema.js';
import { SourceError } from '../../infra/http-retry.js';
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

/** Windows stay well inside PagerDuty's longest since/until span (6 months). */
export const WINDOW_MS = 90 * 86_400_000;
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
 * (one request either way); a window holding more than the offset cap allows is halved before any
 * of it is read, so every window can be paged to its end. After each window, an empty chunk carries
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
    if ((first.total ?? 0) > OFFSET_CAP) {
      const mid = new Date(Math.floor((since.getTime() + until.getTime()) / 2000) * 1000);
      if (mid.getTime() <= since.getTime()) {
        throw new SourceError(`GET ${path}: more than ${OFFSET_CAP} results within one second at ${since.toISOString()}`, 'fatal', 400);
      }
      pending.unshift([since, mid], [mid, until]);
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

  for await (const chunk of windowed(client, '/incidents', 'incidents', base, from, now, ctx.signal)) {
    const records = chunk.items.map((raw) => {
      const record = incidentRecord(raw);
      const incident = record.payload as Incident;
      if (isOpen(incident)) open[incident.id] = record.version;
      else delete open[incident.id];
      return record;
    });
    yield { records, requests: chunk.requests, cursor: chunk.windowEnd !== undefined ? saved(chunk.windowEnd) : undefined };
  }

  const stillOpen = new Set<string>();
  const records = [];
  let requests = 0;
  for await (const chunk of offsetPages(
    client,
    '/incidents',
    'incidents',
    { ...base, 'statuses[]': OPEN_STATUSES, date_range: 'all' },
    ctx.signal,
  )) {
    requests += chunk.requests;
    for (const raw of chunk.items) {
      const record = incidentRecord(raw);
      const { id } = record.payload as Incident;
      stillOpen.add(id);
      if (open[id] !== record.version) records.push(record);
      open[id] = record.version;
    }
  }
  for (const id of Object.keys(open)) {
    if (stillOpen.has(id)) continue;
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
  yield { records, requests, cursor: saved(now) };
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
