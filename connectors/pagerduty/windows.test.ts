import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config/load.js';
import { deterministicEventId, type RawEvent } from '../../schemas/raw-event.js';
import {
  pagerdutyRequestBound,
  syntheticPagerdutyData,
  type FakePagerduty,
  type Json,
  type PagerdutyDataset,
} from '../../test/fakes/pagerduty.js';
import { readTopic } from '../../test/support/bus.js';
import { quietLogger, tempDir } from '../../test/support/harness.js';
import { startPagerdutySync, type PagerdutySync } from '../../test/support/pagerduty.js';
import { runSync, type StreamProgress } from '../core/runner.js';
import { pagerdutyConnector } from './index.js';
import { contentHash, incidentRecord, logEntryRecord, serviceRecord } from './records.js';

const TOKEN = 'pd-test-token';
const T0 = Date.parse('2026-11-20T12:00:00.000Z');
const DAY = 86_400_000;
const logger = quietLogger();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Env = PagerdutySync;

const setup = (data: PagerdutyDataset): Promise<Env> => startPagerdutySync(data, { token: TOKEN, at: T0, cleanups });

function sync(e: Env, initialDays: number): Promise<StreamProgress[]> {
  const config = loadConfig({
    env: { PTEL_PAGERDUTY_TOKEN: TOKEN },
    overrides: { 'sources.pagerduty': { baseUrl: e.fake.url, initialDays, services: e.services } },
    cwd: tempDir(),
  });
  return runSync({ config, connectors: [pagerdutyConnector], bus: e.bus, cursors: e.cursors, logger, clock: e.clock });
}

const eventId = (r: { type: string; subject: string; version: string }): string =>
  deterministicEventId('pagerduty', r.type, r.subject, r.version);
const isOpen = (i: Json): boolean => ['triggered', 'acknowledged'].includes(String(i['status']));

/** What a pull from `since` publishes: services, incidents created since (and open ones of any age), log entries since. */
function expectedIds(fake: FakePagerduty, since: number): Set<string> {
  const ids = new Set<string>();
  for (const s of fake.services.values()) ids.add(eventId(serviceRecord(s, contentHash(s))));
  for (const i of fake.incidents.values()) {
    if (Date.parse(String(i['created_at'])) >= since || isOpen(i)) ids.add(eventId(incidentRecord(i)));
  }
  for (const e of fake.logEntries.values()) if (Date.parse(String(e['created_at'])) >= since) ids.add(eventId(logEntryRecord(e)));
  return ids;
}

const ids = (events: RawEvent[]): Set<string> => new Set(events.map((e) => e.id));
const incidentRequests = (fake: FakePagerduty, service: string): number =>
  fake.requests.log.filter((r) => r.path === '/incidents' && new URLSearchParams(r.query).getAll('service_ids[]').includes(service)).length;

/** A synthetic dataset with its ids prefixed, so two can be served together. */
function prefixed(data: PagerdutyDataset, prefix: string): PagerdutyDataset {
  const re = /"(PSVC|PINC|RLOG)/g;
  return JSON.parse(JSON.stringify(data).replace(re, `"$1${prefix}`)) as PagerdutyDataset;
}

/** Two services in one dataset: a quiet one (5 incidents over ten years) and a busy one (3000 over 800 days). */
function twoServices(): PagerdutyDataset {
  const quiet = prefixed(syntheticPagerdutyData({ services: 1, incidentsPerService: 5, days: 3_600, end: new Date(T0) }), 'Q');
  const busy = prefixed(syntheticPagerdutyData({ services: 1, incidentsPerService: 3_000, days: 800, end: new Date(T0) }), 'B');
  return {
    services: [...quiet.services, ...busy.services],
    incidents: [...quiet.incidents, ...busy.incidents],
    logEntries: [...quiet.logEntries, ...busy.logEntries],
  };
}

describe('pagerduty windows sized to the data', () => {
  it('a quiet service and a busy one are each pulled within their request bound, with every record once', async () => {
    const e = await setup(twoServices());
    const [quiet, busy] = e.services as [string, string];
    // An incident of the quiet service still open from long before the range.
    const old = [...e.fake.incidents.values()].find((i) => (i['service'] as Json)['id'] === quiet)!;
    e.fake.changeStatus(String(old['id']), 'acknowledged', new Date(T0 - 2 * DAY));
    const days = 400;
    const since = T0 - days * DAY;
    const results = await sync(e, days);
    expect(results.filter((r) => r.status !== 'ok')).toEqual([]);
    const events = await readTopic(e.bus, 'raw.pagerduty');
    expect(ids(events)).toEqual(expectedIds(e.fake, since));
    expect(events.length).toBe(ids(events).size);

    const data = {
      services: [...e.fake.services.values()],
      incidents: [...e.fake.incidents.values()],
      logEntries: [...e.fake.logEntries.values()],
    };
    const bound = (services: string[]) => pagerdutyRequestBound(data, services, new Date(since), new Date(T0));
    // The quiet service: its whole listing in one request (by 90-day windows it was five, 41 over ten years).
    expect(incidentRequests(e.fake, quiet)).toBe(1);
    expect(bound([quiet]).incidents).toBe(1);
    // The busy one: a request per 100 incidents of the range, newest first, then its open incidents.
    const inRange = [...e.fake.incidents.values()].filter(
      (i) => (i['service'] as Json)['id'] === busy && Date.parse(String(i['created_at'])) >= since,
    ).length;
    expect(bound([busy]).incidents).toBe(Math.ceil(inRange / 100) + 1);
    expect(incidentRequests(e.fake, busy)).toBeLessThanOrEqual(Math.floor(bound([busy]).incidents * 1.1));
    expect(e.fake.requests.log.filter((r) => r.path === '/log_entries').length).toBe(bound(e.services).logEntries);
    expect(e.fake.requests.log.length).toBeLessThanOrEqual(Math.floor(bound(e.services).total * 1.1));
  });

  it('the resolution of an incident created before the range reaches the next sync from the whole listing, without a read by id', async () => {
    const e = await setup(syntheticPagerdutyData({ services: 1, incidentsPerService: 5, days: 1_000, end: new Date(T0) }));
    const [first] = [...e.fake.incidents.values()];
    e.fake.changeStatus(String(first!['id']), 'triggered', new Date(T0 - DAY));
    expect((await sync(e, 400)).every((r) => r.status === 'ok')).toBe(true);
    const before = (await readTopic(e.bus, 'raw.pagerduty')).length;
    // The cursor is older than a window when the next sync runs: a pause of a year.
    await e.clock.advance(365 * DAY);
    const resolved = e.fake.changeStatus(String(first!['id']), 'resolved', new Date(e.clock.now() - DAY));
    e.fake.resetCounts();
    expect((await sync(e, 400)).every((r) => r.status === 'ok')).toBe(true);
    const fresh = (await readTopic(e.bus, 'raw.pagerduty')).slice(before);
    expect(fresh.filter((ev) => ev.type === 'pagerduty.incident').map((ev) => ev.id)).toEqual([eventId(incidentRecord(resolved))]);
    expect(e.fake.requests.log.filter((r) => r.path.startsWith('/incidents')).map((r) => r.path)).toEqual(['/incidents']);
  });

  it('reads a range holding more incidents than the offset cap newest first, then the older rest by windows, each incident once', async () => {
    const data = syntheticPagerdutyData({ services: 1, incidentsPerService: 10_300, days: 300, end: new Date(T0) });
    const e = await setup({ ...data, logEntries: [] });
    const since = T0 - 320 * DAY;
    const results = await sync(e, 320);
    expect(results.filter((r) => r.status !== 'ok')).toEqual([]);
    const events = await readTopic(e.bus, 'raw.pagerduty');
    expect(ids(events)).toEqual(expectedIds(e.fake, since));
    expect(events.length).toBe(ids(events).size);
    expect(e.fake.requests.log.filter((r) => r.status !== 200)).toEqual([]);
    const bound = pagerdutyRequestBound({ ...data, logEntries: [] }, e.services, new Date(since), new Date(T0));
    expect(incidentRequests(e.fake, e.services[0]!)).toBeLessThanOrEqual(Math.floor(bound.incidents * 1.1));
  });
});
