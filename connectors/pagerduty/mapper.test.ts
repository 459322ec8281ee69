import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orgSchema } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import type { IncidentRow } from '../../schemas/domain.js';
import type { RawEvent, SourceRecord } from '../../schemas/raw-event.js';
import { queryRows, repoRoot, testStore } from '../../test/support/harness.js';
import { eventsOf, insertTables, mapEvents, mappedOk } from '../../test/support/mapping.js';
import { mapContext } from '../../mapping/registry.js';
import { rowVersion } from '../../mapping/rows.js';
import { generateDemoOrg } from '../demo/generator.js';
import { contentHash, incidentRecord, logEntryRecord, serviceRecord } from './records.js';
import { pagerdutyWebhookRecords } from './webhook.js';

type Json = Record<string, unknown>;

const FIXTURES = path.join(repoRoot, 'test/fixtures/pagerduty');
const fixture = (name: string): Json => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as Json;

const webhookEvents = (body: unknown, ingest?: Date): RawEvent[] => eventsOf(pagerdutyWebhookRecords(body), 'webhook/pagerduty', ingest);
const pulled = (records: SourceRecord[], stream: string, ingest?: Date): RawEvent[] => eventsOf(records, `pagerduty/${stream}`, ingest);

/** A real v3 delivery with its event and incident changed: another status event of the same incident. */
function delivery(base: Json, eventType: string, occurredAt: string, incident: Json): Json {
  const event = base['event'] as Json;
  return { event: { ...event, event_type: eventType, occurred_at: occurredAt, data: { ...(event['data'] as Json), ...incident } } };
}

/**
 * The REST object (GET /incidents) of the incident in a v3 delivery, as PagerDuty documents it: the same
 * fields, `incident_number` for `number`, and the status change's time to the second.
 */
function restOf(body: Json, extra: Json): Json {
  const i = (body['event'] as Json)['data'] as Json;
  return {
    id: i['id'],
    type: 'incident',
    summary: `[#${String(i['number'])}] ${String(i['title'])}`,
    self: i['self'],
    html_url: i['html_url'],
    incident_number: i['number'],
    title: i['title'],
    description: i['title'],
    created_at: i['created_at'],
    status: i['status'],
    incident_key: i['incident_key'],
    service: i['service'],
    assignments: [],
    assigned_via: 'escalation_policy',
    acknowledgements: [],
    alert_counts: { all: 1, triggered: 0, resolved: 1 },
    pending_actions: [],
    escalation_policy: i['escalation_policy'],
    teams: i['teams'],
    priority: i['priority'],
    urgency: i['urgency'],
    resolve_reason: null,
    conference_bridge: null,
    ...extra,
  };
}

const priorityUpdated = fixture('priority_updated_v3.json');
const CHECKOUT = 'PLVTM9H';
const org = orgSchema.parse({
  programs: [
    {
      id: 'commerce',
      name: 'Commerce',
      teams: [
        {
          id: 'checkout',
          name: 'Checkout',
          pagerduty: { services: [CHECKOUT] },
          services: [{ name: 'checkout-api', pagerduty: [CHECKOUT] }],
        },
        { id: 'platform', name: 'Platform', services: ['APIs'] },
      ],
    },
  ],
});
const ctx = mapContext({ org });

let store: Store;
beforeAll(async () => {
  store = await testStore();
});
afterAll(async () => {
  await store.close();
});

describe('pagerduty.incident', () => {
  it('maps a real v3 delivery that is not a status change (priority_updated) to a full row', () => {
    const events = webhookEvents(priorityUpdated);
    const { incidents } = mappedOk(events, ctx);
    expect(incidents).toEqual([
      {
        source: 'pagerduty',
        incident_id: 'Q3B15VLMF3ASBD',
        number: '5',
        title: 'Critical: Checkout API High Latency',
        service_id: CHECKOUT,
        service: 'checkout-api',
        urgency: 'high',
        severity: 'sev2',
        raw_severity: 'P2',
        status: 'triggered',
        raw_status: 'triggered',
        created_at: '2026-04-01T02:07:30.000Z',
        acknowledged_at: null,
        resolved_at: null,
        description: 'Critical: Checkout API High Latency',
        team: 'checkout',
        program: 'commerce',
        url: 'https://harsh0303.pagerduty.com/incidents/Q3B15VLMF3ASBD',
        raw_event_id: events[0]!.id,
        // Its second, then triggered (rank 0) and 1 + 315 ms / 4 within it.
        version: rowVersion('2026-04-01T02:15:36.000Z', 1 + 78),
      } satisfies IncidentRow,
    ]);
  });

  it('maps every real v3 incident delivery that carries the incident and its creation time', () => {
    const names = ['delegated_v3.json', 'escalate_v3.json', 'reopened_v3.json', 'service_updated_v3.json', 'priority_updated_v3.json'];
    const events = names.flatMap((n) => webhookEvents(fixture(n)));
    expect(events).toHaveLength(names.length);
    const { incidents } = mappedOk(events, ctx);
    expect(incidents!.map((r) => [r['incident_id'], r['status'], r['service_id'], r['service'], r['team']])).toEqual([
      ['Q3B15VLMF3ASBD', 'triggered', CHECKOUT, 'checkout-api', 'checkout'],
      ['Q3B15VLMF3ASBD', 'triggered', CHECKOUT, 'checkout-api', 'checkout'],
      ['Q05XJA8GDXGOB3', 'triggered', CHECKOUT, 'checkout-api', 'checkout'],
      // Moved to the 'APIs' service, which the org mapping knows by name only.
      ['Q3B15VLMF3ASBD', 'triggered', 'P844A2S', 'APIs', 'platform'],
      ['Q3B15VLMF3ASBD', 'triggered', CHECKOUT, 'checkout-api', 'checkout'],
    ]);
  });

  it('a status change read by a pull and by a webhook gives one event and identical rows', () => {
    // Reopened (a real delivery) and resolved (the same incident's resolution).
    const reopened = fixture('reopened_v3.json');
    const resolved = delivery(priorityUpdated, 'incident.resolved', '2026-04-01T03:01:02.734Z', { status: 'resolved' });
    const pairs: Array<[Json, Json]> = [
      [
        reopened,
        restOf(reopened, { last_status_change_at: '2026-04-01T02:15:02Z', updated_at: '2026-04-01T02:15:02Z', resolved_at: null }),
      ],
      [
        resolved,
        restOf(resolved, {
          last_status_change_at: '2026-04-01T03:01:02Z',
          updated_at: '2026-04-01T03:01:05Z',
          resolved_at: '2026-04-01T03:01:02Z',
        }),
      ],
    ];
    for (const [body, rest] of pairs) {
      const hook = webhookEvents(body);
      const pull = pulled([incidentRecord(rest)], 'incidents');
      expect(pull[0]!.id).toBe(hook[0]!.id);
      expect(mappedOk(pull, ctx)).toEqual(mappedOk(hook, ctx));
    }
    const row = mappedOk(webhookEvents(resolved), ctx)['incidents']![0]!;
    expect(row).toMatchObject({ status: 'resolved', resolved_at: '2026-04-01T03:01:02.000Z', acknowledged_at: null });
  });

  it('an acknowledgement: the change time from the status event or last_status_change_at, never the richer acknowledgements list', () => {
    const acked = delivery(priorityUpdated, 'incident.acknowledged', '2026-04-01T02:20:11.120Z', { status: 'acknowledged' });
    const rest = restOf(acked, {
      last_status_change_at: '2026-04-01T02:20:11Z',
      acknowledgements: [{ at: '2026-04-01T02:20:11Z', acknowledger: { id: 'PXRUEF2', type: 'user_reference' } }],
    });
    const hook = mappedOk(webhookEvents(acked), ctx)['incidents']!;
    expect(mappedOk(pulled([incidentRecord(rest)], 'incidents'), ctx)['incidents']).toEqual(hook);
    expect(hook[0]).toMatchObject({ status: 'acknowledged', acknowledged_at: '2026-04-01T02:20:11.000Z', resolved_at: null });
    expect(hook[0]!['version']).toBe(rowVersion('2026-04-01T02:20:11Z', 250));
  });

  it('maps PagerDuty documented REST incident (body details searched, priority by name, unmapped service)', () => {
    const rest = {
      id: 'PT4KHLK',
      type: 'incident',
      summary: '[#1234] The server is on fire.',
      self: 'https://api.pagerduty.com/incidents/PT4KHLK',
      html_url: 'https://subdomain.pagerduty.com/incidents/PT4KHLK',
      incident_number: 1234,
      title: 'The server is on fire.',
      description: 'The server is on fire.',
      created_at: '2015-10-06T21:30:42Z',
      updated_at: '2015-10-06T21:40:23Z',
      status: 'resolved',
      incident_key: 'baf7cf21b1da41b4b0221008339ff357',
      service: { id: 'PIJ90N7', type: 'service_reference', summary: 'My Mail Service' },
      last_status_change_at: '2015-10-06T21:38:23Z',
      resolved_at: '2015-10-06T21:38:23Z',
      acknowledgements: [],
      urgency: 'high',
      priority: { id: 'P53ZZH5', type: 'priority', name: 'P1', summary: 'P1' },
      body: { type: 'incident_body', details: 'Started after deployment 1234567 of mail-api' },
    };
    const events = pulled([incidentRecord(rest)], 'incidents');
    expect(mappedOk(events, ctx)['incidents']).toEqual([
      {
        source: 'pagerduty',
        incident_id: 'PT4KHLK',
        number: '1234',
        title: 'The server is on fire.',
        service_id: 'PIJ90N7',
        service: '',
        urgency: 'high',
        severity: 'sev1',
        raw_severity: 'P1',
        status: 'resolved',
        raw_status: 'resolved',
        created_at: '2015-10-06T21:30:42.000Z',
        acknowledged_at: null,
        resolved_at: '2015-10-06T21:38:23.000Z',
        description: 'The server is on fire.\nStarted after deployment 1234567 of mail-api',
        team: '',
        program: '',
        url: 'https://subdomain.pagerduty.com/incidents/PT4KHLK',
        raw_event_id: events[0]!.id,
        version: rowVersion('2015-10-06T21:38:23Z', 500),
      } satisfies IncidentRow,
    ]);
  });

  it('priority names map P1..P5 -> sev1..sev5 exactly; any other scheme keeps only the raw name', () => {
    const names = ['P1', 'P2', 'P3', 'P4', 'P5', 'SEV-1', 'p1'];
    const events = names.flatMap((name, n) =>
      webhookEvents(
        delivery(priorityUpdated, 'incident.priority_updated', `2026-04-01T02:3${n}:00.000Z`, {
          id: `Q${n}`,
          priority: { id: `PR${n}`, type: 'priority_reference', summary: name },
        }),
      ),
    );
    const rows = mappedOk(events, ctx)['incidents']!;
    expect(rows.map((r) => [r['raw_severity'], r['severity']])).toEqual([
      ['P1', 'sev1'],
      ['P2', 'sev2'],
      ['P3', 'sev3'],
      ['P4', 'sev4'],
      ['P5', 'sev5'],
      ['SEV-1', ''],
      ['p1', ''],
    ]);
  });

  it('maps the real v3 deliveries without created_at: a trigger is its own start, a later event stands in and is noted', () => {
    const names = ['triggered_v3.json', 'acknowledged_v3.json', 'unacknowledged_v3.json', 'resolved_v3.json', 'reassigned_v3.json'];
    const { outcomes } = mapEvents(
      names.flatMap((n) => webhookEvents(fixture(n))),
      ctx,
    );
    expect(outcomes.map((o) => o.outcome.kind)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    const row = (i: number) => (outcomes[i]!.outcome.kind === 'ok' ? outcomes[i]!.outcome.rows[0]!.rows[0]! : {});
    const notes = (i: number) => (outcomes[i]!.outcome.kind === 'ok' ? outcomes[i]!.outcome.notes : []);
    // A trigger happened when it occurred: exact, nothing to note.
    expect(row(0)).toMatchObject({ incident_id: 'PFQZPSY', status: 'triggered', created_at: '2021-06-04T13:35:29.781Z', number: '9' });
    expect(notes(0)).toEqual([]);
    // A resolution's own time is the latest the incident can have begun; the timeline corrects it when pulled.
    const resolved = fixture('resolved_v3.json')['event'] as Json;
    expect(row(3)).toMatchObject({ status: 'resolved', created_at: new Date(resolved['occurred_at'] as string).toISOString() });
    expect(notes(3)).toEqual([{ entity: 'incident', field: 'created_at', problem: expect.stringContaining('missing') as unknown }]);
  });

  it('a field that cannot be read leaves that column empty, with a note; the id, status or version time missing is a dead letter', () => {
    const rest = restOf(priorityUpdated, { last_status_change_at: '2026-04-01T02:07:30Z' });
    delete rest['incident_number'];
    const noService = restOf(priorityUpdated, {
      last_status_change_at: '2026-04-01T02:07:30Z',
      service: { summary: 'nameless' },
      urgency: 7,
    });
    const noStatus = restOf(priorityUpdated, { last_status_change_at: '2026-04-01T02:07:30Z' });
    delete noStatus['status'];
    const noTime = delivery(priorityUpdated, 'incident.priority_updated', 'yesterday', {});
    // Each payload as the record of the same incident version, as a replay of a stored event would carry it.
    const base = incidentRecord(restOf(priorityUpdated, { last_status_change_at: '2026-04-01T02:07:30Z' }));
    const as = (payload: Json): SourceRecord => ({ ...base, payload });
    const { outcomes } = mapEvents(pulled([as(rest), as(noService), as(noStatus), as(noTime)], 'incidents'), ctx);
    const [noNumber, unreadable, withoutStatus, withoutTime] = outcomes.map((o) => o.outcome);
    expect(noNumber).toMatchObject({ kind: 'ok', notes: [] });
    expect(noNumber!.kind === 'ok' && noNumber!.rows[0]!.rows[0]).toMatchObject({ number: '' });
    expect(unreadable).toMatchObject({
      kind: 'ok',
      notes: [
        { entity: 'incident', field: 'service.id', problem: expect.any(String) as unknown },
        { entity: 'incident', field: 'urgency', problem: expect.any(String) as unknown },
      ],
    });
    expect(unreadable!.kind === 'ok' && unreadable!.rows[0]!.rows[0]).toMatchObject({ service_id: '', service: '', team: '', urgency: '' });
    expect(withoutStatus).toMatchObject({ kind: 'dead_letter', reason: expect.stringContaining("field 'status'") as unknown });
    expect(withoutTime).toMatchObject({ kind: 'dead_letter', reason: expect.stringContaining("field 'event.occurred_at'") as unknown });
  });
});

describe('pagerduty.log_entry and pagerduty.service', () => {
  it('maps log entry types to kinds, keeping the raw type', () => {
    const types = [
      'trigger_log_entry',
      'acknowledge_log_entry',
      'resolve_log_entry',
      'escalate_log_entry',
      'assign_log_entry',
      'annotate_log_entry',
      'notify_log_entry',
      'snooze_log_entry',
    ];
    const records = types.map((type, n) =>
      logEntryRecord({
        id: `R${n}`,
        type,
        summary: 'x',
        created_at: `2015-11-20T22:0${n}:00Z`,
        service: { id: 'PIJ90N7', type: 'service_reference' },
        incident: { id: 'PT4KHLK', type: 'incident_reference' },
      }),
    );
    const events = pulled(records, 'log_entries');
    const rows = mappedOk(events, ctx)['incident_events']!;
    expect(rows.map((r) => r['kind'])).toEqual(['trigger', 'acknowledge', 'resolve', 'escalate', 'assign', 'annotate', 'other', 'other']);
    expect(rows[1]).toEqual({
      source: 'pagerduty',
      incident_id: 'PT4KHLK',
      event_id: 'R1',
      kind: 'acknowledge',
      raw_type: 'acknowledge_log_entry',
      at: '2015-11-20T22:01:00.000Z',
      raw_event_id: events[1]!.id,
      version: rowVersion('2015-11-20T22:01:00Z'),
    });
    const orphan = pulled([logEntryRecord({ id: 'RX', type: 'trigger_log_entry', created_at: '2015-11-20T22:00:00Z' })], 'log_entries');
    expect(mapEvents(orphan, ctx).outcomes[0]!.outcome).toMatchObject({
      kind: 'dead_letter',
      reason: expect.stringContaining("field 'incident'") as unknown,
    });
  });

  it('maps a REST service (PagerDuty documented shape) to its org service and team; a service without a name is a dead letter', () => {
    const raw = {
      id: CHECKOUT,
      type: 'service',
      summary: 'Checkout API',
      self: `https://api.pagerduty.com/services/${CHECKOUT}`,
      html_url: `https://subdomain.pagerduty.com/service-directory/${CHECKOUT}`,
      name: 'Checkout API',
      description: 'Production alerts',
      auto_resolve_timeout: 14400,
      acknowledgement_timeout: 600,
      created_at: '2015-11-06T11:12:51-05:00',
      status: 'active',
      teams: [],
    };
    const events = pulled([serviceRecord(raw, contentHash(raw))], 'services');
    expect(mappedOk(events, ctx)['services']).toEqual([
      {
        source: 'pagerduty',
        service_id: CHECKOUT,
        name: 'Checkout API',
        service: 'checkout-api',
        team: 'checkout',
        program: 'commerce',
        raw_event_id: events[0]!.id,
        version: rowVersion(events[0]!.ingesttime),
        is_deleted: 0,
      },
    ]);
    const other = { ...raw, id: 'PAPIS', name: 'APIs' };
    expect(mappedOk(pulled([serviceRecord(other, contentHash(other))], 'services'), ctx)['services']![0]).toMatchObject({
      service: 'APIs',
      team: 'platform',
    });
    const nameless = { id: 'PNONAME', type: 'service' };
    const outcome = mapEvents(pulled([serviceRecord(nameless, contentHash(nameless))], 'services'), ctx).outcomes[0]!.outcome;
    expect(outcome).toMatchObject({ kind: 'dead_letter', reason: expect.stringContaining("field 'name'") as unknown });
  });
});

describe('pagerduty in the store', () => {
  it('every demo PagerDuty event maps ok, and the rows fit the schema', async () => {
    const demo = generateDemoOrg({ months: 2, teams: 2 });
    const records = demo.records.filter((r) => r.source === 'pagerduty');
    const events = eventsOf(records, 'demo/pagerduty');
    const demoCtx = mapContext({ org: orgSchema.parse({ programs: demo.org.programs }) });
    const tables = mappedOk(events, demoCtx);
    const types = new Set(records.map((r) => r.type));
    expect(types).toEqual(new Set(['pagerduty.incident', 'pagerduty.log_entry', 'pagerduty.service']));
    expect(tables['incidents']!.length).toBe(records.filter((r) => r.type === 'pagerduty.incident').length);
    // The demo's PagerDuty services carry the deployable service's name, its teams list the ids.
    expect(tables['incidents']!.every((r) => r['service'] !== '' && r['team'] !== '' && /^sev[1-4]$/.test(String(r['severity'])))).toBe(
      true,
    );
    expect(tables['services']!.every((r) => r['service'] !== '' && r['team'] !== '')).toBe(true);
    expect(new Set(tables['incident_events']!.map((r) => r['kind']))).toEqual(new Set(['trigger', 'acknowledge', 'resolve']));
    await insertTables(store, tables);
    const [latest] = await queryRows<{ n: string; resolved: string }>(
      store,
      "SELECT count() AS n, countIf(status = 'resolved') AS resolved FROM incidents FINAL WHERE incident_id IN {ids:Array(String)}",
      { ids: [...new Set(tables['incidents']!.map((r) => String(r['incident_id'])))] },
    );
    expect(Number(latest!.n)).toBe(new Set(tables['incidents']!.map((r) => r['incident_id'])).size);
    expect(Number(latest!.resolved)).toBeGreaterThan(0);
  });

  it('out-of-order and duplicate versions converge on the latest under FINAL', async () => {
    const id = 'QCONVERGE';
    const at = (type: string, occurred: string, status: string): Json => delivery(priorityUpdated, type, occurred, { id, status });
    const bodies = [
      at('incident.triggered', '2026-05-01T10:00:00.100Z', 'triggered'),
      // Acknowledged in the same second as the trigger: the status rank orders them.
      at('incident.acknowledged', '2026-05-01T10:00:00.900Z', 'acknowledged'),
      at('incident.reassigned', '2026-05-01T10:05:00.500Z', 'acknowledged'),
      at('incident.resolved', '2026-05-01T10:30:00.000Z', 'resolved'),
    ];
    const events = bodies.flatMap((b) => webhookEvents(b));
    const shuffled = [events[3]!, events[0]!, events[2]!, events[3]!, events[1]!, events[0]!];
    for (const e of shuffled) await insertTables(store, mappedOk([e], ctx));
    const rows = await queryRows<{ status: string; resolved_at: string; n: string }>(
      store,
      'SELECT status, resolved_at, (SELECT count() FROM incidents FINAL WHERE incident_id = {id:String}) AS n FROM incidents FINAL WHERE incident_id = {id:String}',
      { id },
    );
    expect(rows).toEqual([{ status: 'resolved', resolved_at: '2026-05-01 10:30:00.000', n: '1' }]);

    // Without the resolution, the same-second acknowledgement outranks the trigger, the later reassignment both.
    const versions = events.map((e) => Number(mappedOk([e], ctx)['incidents']![0]!['version']));
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);

    const service = { id: 'PSVC1', type: 'service', name: 'Old name', created_at: '2020-01-01T00:00:00Z' };
    const renamed = { ...service, name: 'New name' };
    const first = pulled([serviceRecord(service, contentHash(service))], 'services', new Date('2026-06-01T00:00:00Z'));
    const second = pulled([serviceRecord(renamed, contentHash(renamed))], 'services', new Date('2026-06-02T00:00:00Z'));
    await insertTables(store, mappedOk([...second, ...first, ...second], ctx));
    expect(await queryRows(store, "SELECT name FROM services FINAL WHERE service_id = 'PSVC1'")).toEqual([{ name: 'New name' }]);
  });
});
