import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus } from '../../infra/bus/types.js';
import { loadConfig } from '../../infra/config/load.js';
import type { Config } from '../../infra/config/schema.js';
import { deterministicEventId, type RawEvent } from '../../schemas/raw-event.js';
import {
  demoPagerdutyData,
  startPagerdutyFake,
  syntheticPagerdutyData,
  type FakePagerduty,
  type Json,
  type PagerdutyDataset,
} from '../../test/fakes/pagerduty.js';
import type { ManualClock } from '../../test/support/clock.js';
import { quietLogger, tempDir, repoRoot, waitFor } from '../../test/support/harness.js';
import { startPagerdutySync, type PagerdutySync } from '../../test/support/pagerduty.js';
import type { CursorStore } from '../core/cursor-store.js';
import { runSync } from '../core/runner.js';
import { pagerdutyConnector as connector, pagerdutyWebhook } from './index.js';
import { contentHash, incidentRecord, logEntryRecord, serviceRecord } from './records.js';
import { readTopic, startWebhookServer } from '../../test/support/bus.js';

const FIXTURES = path.join(repoRoot, 'test/fixtures/pagerduty');
const TOKEN = 'pd-test-token';
const SECRETS = ['old-secret', 'new-secret'];
const TOPIC = 'raw.pagerduty';
const logger = quietLogger();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Where every sync of these tests starts: the connector reads "now" from a clock at this instant. */
const T0 = Date.parse('2026-11-20T12:00:00.000Z');

/** The demo organisation, its history ending an hour before T0, so the clock-relative windows cover it. */
let demo: PagerdutyDataset | undefined;
const demoData = (): PagerdutyDataset => {
  demo ??= demoPagerdutyData({ now: new Date(T0 - 3_600_000) });
  return structuredClone(demo);
};

function config(fake: FakePagerduty | undefined, services: string[] | undefined, extra: Record<string, unknown> = {}): Config {
  return loadConfig({
    env: { PTEL_PAGERDUTY_TOKEN: TOKEN, PTEL_PAGERDUTY_WEBHOOK_SECRETS: SECRETS.join(',') },
    overrides: {
      'sources.pagerduty': {
        baseUrl: fake?.url ?? 'https://api.pagerduty.com',
        initialDays: 200,
        ...(services ? { services } : {}),
        ...extra,
      },
    },
    cwd: tempDir(),
  });
}

async function setup(data: PagerdutyDataset = demoData()): Promise<PagerdutySync & { cfg: Config }> {
  const e = await startPagerdutySync(data, { token: TOKEN, at: T0, cleanups });
  return { ...e, cfg: config(e.fake, e.services) };
}

const sync = (cfg: Config, bus: Bus, cursors: CursorStore, clock: ManualClock) =>
  runSync({ config: cfg, connectors: [connector], bus, cursors, logger, clock });

const eventId = (r: { type: string; subject: string; version: string }): string =>
  deterministicEventId('pagerduty', r.type, r.subject, r.version);

/** The ids a full pull of the fake's current data must give. */
function expectedIds(fake: FakePagerduty, since: number): Set<string> {
  const ids = new Set<string>();
  for (const s of fake.services.values()) ids.add(eventId(serviceRecord(s, contentHash(s))));
  for (const i of fake.incidents.values()) if (Date.parse(String(i['created_at'])) >= since) ids.add(eventId(incidentRecord(i)));
  for (const e of fake.logEntries.values()) if (Date.parse(String(e['created_at'])) >= since) ids.add(eventId(logEntryRecord(e)));
  return ids;
}

const ids = (events: RawEvent[]): Set<string> => new Set(events.map((e) => e.id));
const total = (results: Array<{ records: number }>): number => results.reduce((n, r) => n + r.records, 0);

function openIncident(fake: FakePagerduty, at: Date): Json {
  const incident = [...fake.incidents.values()][0]!;
  return fake.changeStatus(String(incident['id']), 'acknowledged', at);
}

describe('pagerduty pull', () => {
  it('a full sync publishes every service, incident and log entry; a no-change sync publishes nothing at two requests per service and one per account stream', async () => {
    const { fake, bus, cursors, cfg, clock } = await setup();
    const since = clock.now() - 200 * 86_400_000;
    const results = await sync(cfg, bus, cursors, clock);
    expect(results.filter((r) => r.status !== 'ok')).toEqual([]);
    const events = await readTopic(bus, TOPIC);
    expect(ids(events)).toEqual(expectedIds(fake, since));
    expect(events.length).toBe(ids(events).size);
    const incident = events.find((e) => e.type === 'pagerduty.incident')!;
    expect(incident.data).toEqual(fake.incidents.get(incident.subject.replace('incident/', '')));
    expect(incident.connector).toBe('pagerduty/incidents');

    fake.resetCounts();
    await clock.advance(60_000);
    const again = await sync(cfg, bus, cursors, clock);
    expect(again.every((r) => r.status === 'ok')).toBe(true);
    expect(total(again)).toBe(0);
    expect(fake.requests.total).toBe(1 + 2 * fake.services.size + 1);
    expect(await readTopic(bus, TOPIC)).toHaveLength(events.length);
  });

  it('an incremental sync picks up exactly the change: a new incident, and the resolution of one that was open', async () => {
    const { fake, bus, cursors, cfg, clock } = await setup();
    const acked = openIncident(fake, new Date(clock.now() - 60_000));
    await sync(cfg, bus, cursors, clock);
    const before = ids(await readTopic(bus, TOPIC));

    // Changes made in the second the last sync's windows ended in, then a sync a minute later.
    const resolved = fake.changeStatus(String(acked['id']), 'resolved', clock.date());
    const template = [...fake.incidents.values()][1]!;
    const created = clock
      .date()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    const fresh: Json = {
      ...template,
      id: 'PNEW001',
      status: 'triggered',
      created_at: created,
      last_status_change_at: created,
      updated_at: created,
    };
    fake.incidents.set('PNEW001', fresh);
    await clock.advance(60_000);
    const results = await sync(cfg, bus, cursors, clock);
    expect(total(results)).toBe(3);
    const added = (await readTopic(bus, TOPIC)).filter((e) => !before.has(e.id));
    const resolveEntry = [...fake.logEntries.values()].at(-1)!;
    expect(ids(added)).toEqual(
      new Set([eventId(incidentRecord(resolved)), eventId(incidentRecord(fresh)), eventId(logEntryRecord(resolveEntry))]),
    );
    expect(added.find((e) => e.subject === `incident/${String(acked['id'])}`)?.data).toMatchObject({ status: 'resolved' });
    // The resolution of an incident that was open is read by id.
    expect(fake.requests.byPath.get(`/incidents/${String(acked['id'])}`)).toBe(1);
  });

  it('pages through offset listings, and halves a window that holds more than the 10000-record cap', async () => {
    const data = syntheticPagerdutyData({ services: 1, incidentsPerService: 3_400, days: 20, end: new Date(T0) });
    const { fake, bus, cursors, cfg, clock } = await setup(data);
    const results = await sync(cfg, bus, cursors, clock);
    expect(results.filter((r) => r.status !== 'ok')).toEqual([]);
    const events = await readTopic(bus, TOPIC);
    expect(ids(events)).toEqual(expectedIds(fake, 0));
    expect(events).toHaveLength(1 + 3_400 + 3 * 3_400);
    // No request went past the cap, and the 10200-entry window was split.
    expect(fake.requests.log.filter((r) => r.status !== 200)).toEqual([]);
    const firstPages = fake.requests.log.filter((r) => r.path === '/log_entries' && r.query.includes('total=true'));
    expect(firstPages.length).toBeGreaterThan(3);
  });

  it("waits out a 429 until ratelimit-reset on the sync's clock, not a moment before, and retries 5xx with back-off on it", async () => {
    const { fake, bus, cursors, cfg, clock } = await setup();
    const t0 = clock.now();
    // 429 with ratelimit-reset and Retry-After: 30 s; the fake's request log reads the same clock.
    fake.fault({ path: /^\/services$/, kind: 'rate_limit', times: 1, retryAfterSeconds: 30 });
    fake.fault({ path: /^\/log_entries$/, kind: 'server_error', times: 2, status: 502 });
    const running = sync(cfg, bus, cursors, clock);
    let done = false;
    void running.finally(() => (done = true)).catch(() => undefined);
    const services = () => fake.requests.log.filter((r) => r.path === '/services');
    // The 429 is answered; its retry waits on the clock, and holding the clock short of the reset sends nothing.
    await waitFor(
      'the 429',
      () => services().length === 1 && clock.pending > 0,
      (v) => v,
      { timeoutMs: 10_000, intervalMs: 5 },
    );
    expect(services().map((r) => r.status)).toEqual([429]);
    // Every wait ends at its due time: time moves to each in turn whenever the sync waits on the clock.
    let heldBeforeReset = false;
    for (let steps = 0; ; steps++) {
      expect(steps).toBeLessThan(50);
      await waitFor(
        'the sync to finish or wait on the clock',
        () => done || clock.pending > 0,
        (v) => v,
        { timeoutMs: 10_000, intervalMs: 5 },
      );
      if (done) break;
      const due = clock.nextDue()!;
      if (services().length === 1 && due >= t0 + 30_000) {
        await clock.set(t0 + 30_000 - 1);
        expect(services()).toHaveLength(1);
        expect(clock.pending).toBeGreaterThan(0);
        heldBeforeReset = true;
      }
      await clock.set(due);
    }
    expect(heldBeforeReset).toBe(true);
    const results = await running;
    expect(results.filter((r) => r.status !== 'ok')).toEqual([]);
    expect(ids(await readTopic(bus, TOPIC))).toEqual(expectedIds(fake, t0 - 200 * 86_400_000));
    expect(services().map((r) => r.status)).toEqual([429, 200]);
    expect(services()[1]!.at - services()[0]!.at).toBeGreaterThanOrEqual(30_000);
    expect(services()[1]!.at - services()[0]!.at).toBeLessThanOrEqual(30_250);
    expect(fake.requests.log.filter((r) => r.path === '/log_entries').map((r) => r.status)).toEqual(
      expect.arrayContaining([502, 502, 200]),
    );
  });

  it('a 401 stops the incidents stream with a clear message while the other streams complete', async () => {
    const { fake, bus, cursors, cfg, clock } = await setup();
    fake.fault({ path: /^\/incidents/, kind: 'unauthorized', times: Infinity });
    const results = await sync(cfg, bus, cursors, clock);
    const failed = results.filter((r) => r.status === 'failed');
    expect(failed.map((r) => r.stream)).toEqual(Array(fake.services.size).fill('incidents'));
    expect(failed[0]!.error).toMatch(/^service P\w+: GET \/incidents: 401 unauthorized.*PTEL_PAGERDUTY_TOKEN/);
    expect(results.filter((r) => r.status === 'ok').map((r) => r.stream)).toEqual(['services', 'log_entries']);
    const events = await readTopic(bus, TOPIC);
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(['pagerduty.service', 'pagerduty.log_entry']));
  });

  it('after a crash in the middle of a sync, a restart leaves exactly the ids of a clean sync', async () => {
    const data = syntheticPagerdutyData({ services: 3, incidentsPerService: 150, days: 150, end: new Date(T0) });
    const clean = await setup(structuredClone(data));
    await sync(clean.cfg, clean.bus, clean.cursors, clean.clock);
    const cleanIds = ids(await readTopic(clean.bus, TOPIC));

    const { fake, bus, cursors, cfg, clock } = await setup(structuredClone(data));
    let publishes = 0;
    const failing: Bus = {
      ...bus,
      kind: bus.kind,
      publish: async (topic, messages) => {
        if (++publishes > 4) throw new Error('bus down');
        await bus.publish(topic, messages);
      },
    };
    const crashed = await sync(cfg, failing, cursors, clock);
    expect(crashed.some((r) => r.status === 'failed')).toBe(true);
    await clock.advance(60_000);
    const resumed = await sync(cfg, bus, cursors, clock);
    expect(resumed.every((r) => r.status === 'ok')).toBe(true);
    expect(ids(await readTopic(bus, TOPIC))).toEqual(cleanIds);
    expect(cleanIds).toEqual(expectedIds(fake, 0));
  });

  it('sends the token and the v2 media type, repeats a list parameter, and refuses an answer that is not JSON', async () => {
    const seen: Array<{ url: string; accept: string | undefined; authorization: string | undefined }> = [];
    const server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', accept: req.headers.accept, authorization: req.headers.authorization });
      if (req.url?.startsWith('/services') === true) {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html>sign in</html>');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"incidents":[]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = connector.client(config(undefined, ['P1'], { baseUrl: url }), logger);
    await expect(client.get('/incidents', { 'statuses[]': ['triggered', 'resolved'], limit: '100' })).resolves.toEqual({ incidents: [] });
    expect(seen[0]).toEqual({
      url: '/incidents?statuses%5B%5D=triggered&statuses%5B%5D=resolved&limit=100',
      accept: 'application/vnd.pagerduty+json;version=2',
      authorization: `Token token=${TOKEN}`,
    });
    await expect(client.get('/services', {})).rejects.toMatchObject({
      kind: 'fatal',
      message: 'GET /services: HTTP 200: the body is not JSON',
    });
    expect(seen).toHaveLength(2);
  });

  it('doctor checks the token with /abilities and each configured service', async () => {
    const { fake, cfg } = await setup();
    const client = connector.client(cfg, logger);
    const checks = await connector.doctor(client, {
      ...cfg,
      sources: { ...cfg.sources, pagerduty: { ...cfg.sources.pagerduty!, services: ['PMISSING', ...fake.services.keys()] } },
    });
    expect(checks[0]).toMatchObject({ name: 'pagerduty token', ok: true });
    expect(checks.find((c) => c.name === 'pagerduty service PMISSING')).toMatchObject({ ok: false });
    expect(checks.filter((c) => c.ok)).toHaveLength(1 + fake.services.size);
    const bad = connector.client(
      loadConfig({ env: { PTEL_PAGERDUTY_TOKEN: 'wrong' }, overrides: { 'sources.pagerduty': { baseUrl: fake.url } }, cwd: tempDir() }),
      logger,
    );
    expect(await connector.doctor(bad, cfg)).toEqual([
      expect.objectContaining({ ok: false, detail: expect.stringMatching(/401/) as unknown }),
    ]);
  });
});

const fixture = (name: string): Buffer => readFileSync(path.join(FIXTURES, name));
const sign = (body: Buffer, secret: string): string => `v1=${createHmac('sha256', secret).update(body).digest('hex')}`;

async function webhookServer(): Promise<{ url: string; bus: Bus }> {
  const server = await startWebhookServer([pagerdutyWebhook], config(undefined, []));
  cleanups.push(() => server.close());
  return { url: `${server.url}/webhooks/pagerduty`, bus: server.bus };
}

const post = (url: string, body: Buffer, signature?: string): Promise<Response> =>
  fetch(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...(signature !== undefined ? { 'x-pagerduty-signature': signature } : {}) },
  });

describe('pagerduty webhook', () => {
  const incidentEvents: Array<[string, string, string]> = [
    ['triggered_v3.json', 'PFQZPSY', '2021-06-04T13:35:29.000Z|triggered'],
    ['acknowledged_v3.json', '', ''],
    ['resolved_v3.json', 'PCPZE64', '2021-06-04T13:16:53.000Z|resolved'],
    ['reassigned_v3.json', '', ''],
    ['escalate_v3.json', 'Q3B15VLMF3ASBD', '2026-04-01T02:08:04.642Z|triggered|incident.escalated'],
  ];

  it.each(incidentEvents)('%s with a valid signature -> 202 and a pagerduty.incident record', async (file, id, version) => {
    const { url, bus } = await webhookServer();
    const body = fixture(file);
    const res = await post(url, body, sign(body, 'new-secret'));
    expect(res.status).toBe(202);
    const events = await readTopic(bus, TOPIC);
    expect(events).toHaveLength(1);
    const delivery = JSON.parse(body.toString('utf8')) as { event: { data: { id: string } } };
    expect(events[0]).toMatchObject({
      type: 'pagerduty.incident',
      subject: `incident/${delivery.event.data.id}`,
      connector: 'webhook/pagerduty',
    });
    expect(events[0]!.data).toEqual(delivery);
    if (id !== '') expect(events[0]).toMatchObject({ subject: `incident/${id}`, entityversion: version });
  });

  it('accepts any of several signatures against any configured secret (rotation)', async () => {
    const { url, bus } = await webhookServer();
    const body = fixture('triggered_v3.json');
    const res = await post(url, body, `v1=${'0'.repeat(64)}, ${sign(body, 'old-secret')}`);
    expect(res.status).toBe(202);
    expect(await readTopic(bus, TOPIC)).toHaveLength(1);
  });

  it('deliveries without incident state are accepted with no records', async () => {
    const { url, bus } = await webhookServer();
    for (const file of ['annotated_v3.json', 'service_created_v3.json', 'responder_added.json', 'trigger.json']) {
      const body = fixture(file);
      const res = await post(url, body, sign(body, 'old-secret'));
      expect(res.status, file).toBe(202);
      expect(await res.json()).toEqual({ accepted: 0 });
    }
    expect(await readTopic(bus, TOPIC)).toHaveLength(0);
  });

  it('a wrong or missing signature -> 401 and nothing published', async () => {
    const { url, bus } = await webhookServer();
    const body = fixture('resolved_v3.json');
    expect((await post(url, body, sign(body, 'not-the-secret'))).status).toBe(401);
    expect((await post(url, body)).status).toBe(401);
    const tampered = Buffer.from(body.toString('utf8').replace('"resolved"', '"triggered"'));
    expect((await post(url, tampered, sign(body, 'new-secret'))).status).toBe(401);
    expect(await readTopic(bus, TOPIC)).toHaveLength(0);
  });

  it('malformed JSON with a valid signature -> 400', async () => {
    const { url, bus } = await webhookServer();
    const body = Buffer.from(fixture('triggered_v3.json').toString('utf8').slice(0, -10));
    expect((await post(url, body, sign(body, 'new-secret'))).status).toBe(400);
    const noEvent = Buffer.from('{"event":{"event_type":"incident.triggered"}}');
    expect((await post(url, noEvent, sign(noEvent, 'new-secret'))).status).toBe(400);
    expect(await readTopic(bus, TOPIC)).toHaveLength(0);
  });

  it('a delivery sent twice (PagerDuty signs no timestamp, so a replay is a retry) gives the same event id', async () => {
    const { url, bus } = await webhookServer();
    const body = fixture('acknowledged_v3.json');
    expect((await post(url, body, sign(body, 'new-secret'))).status).toBe(202);
    expect((await post(url, body, sign(body, 'new-secret'))).status).toBe(202);
    const events = await readTopic(bus, TOPIC);
    expect(events).toHaveLength(2);
    expect(new Set(events.map((e) => e.id)).size).toBe(1);
  });

  it('a pull and a webhook of the same status change collide on one event id', async () => {
    const fake = await startPagerdutyFake({ token: TOKEN, data: demoData() });
    cleanups.push(() => fake.close());
    const at = new Date(Date.UTC(2026, 9, 20, 10, 15, 42, 0));
    const pulled = openIncident(fake, at);
    const delivery = JSON.parse(fixture('acknowledged_v3.json').toString('utf8')) as { event: { occurred_at: string; data: Json } };
    delivery.event.occurred_at = '2026-10-20T10:15:42.318Z';
    delivery.event.data['id'] = pulled['id'];
    const { url, bus } = await webhookServer();
    const body = Buffer.from(JSON.stringify(delivery));
    expect((await post(url, body, sign(body, 'new-secret'))).status).toBe(202);
    const [pushed] = await readTopic(bus, TOPIC);
    expect(pushed?.id).toBe(eventId(incidentRecord(pulled)));
  });
});
