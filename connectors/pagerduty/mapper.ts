import { z } from 'zod';
import type { IncidentEventKind, IncidentRow, IncidentStatus } from '../../schemas/domain.js';
import type { RawEvent } from '../../schemas/raw-event.js';
import type { MapContext } from '../../mapping/context.js';
import { ok, parsePayload, withPayload, type FieldNotes, type SourceMappers } from '../../mapping/registry.js';
import { iso, ownerColumns, rowsOf, rowVersion } from '../../mapping/rows.js';
import { toSecond } from './records.js';

/**
 * PagerDuty -> incidents, incident_events, services.
 *
 * An incident reaches us in two shapes: the REST object of GET /incidents (a pull) and a v3 webhook
 * delivery `{ event: { event_type, occurred_at, data: <incident> } }`. A status change read both ways
 * has one event id, so only one of them is stored: the rows use only what both shapes carry. The
 * webhook's incident has no last_status_change_at, resolved_at or acknowledgements, but a status
 * event's `occurred_at` is the moment of the change, which a pull reads as `last_status_change_at`
 * (both to the second). The first acknowledgement of a resolved incident is in neither (PagerDuty
 * empties `acknowledgements` on resolution): it comes from the acknowledge log entries.
 */

const STATUS: Record<IncidentStatus, IncidentStatus> = { triggered: 'triggered', acknowledged: 'acknowledged', resolved: 'resolved' };

/** Lifecycle rank inside one second (the version tiebreak): triggered < acknowledged < resolved. */
const STATUS_RANK: Record<IncidentStatus, number> = { triggered: 0, acknowledged: 1, resolved: 2 };

/** The priority's name as the account's standard priority scheme names them; any other scheme has no severity. */
const SEVERITY: Record<string, string> = { P1: 'sev1', P2: 'sev2', P3: 'sev3', P4: 'sev4', P5: 'sev5' };

/** Log entry types (GET /log_entries `type`) -> incident_events.kind; any other type is 'other'. */
const EVENT_KIND: Record<string, IncidentEventKind> = {
  trigger_log_entry: 'trigger',
  acknowledge_log_entry: 'acknowledge',
  resolve_log_entry: 'resolve',
  escalate_log_entry: 'escalate',
  assign_log_entry: 'assign',
  annotate_log_entry: 'annotate',
};

/** Webhook events after which the incident's last_status_change_at is the event's occurred_at. */
const STATUS_EVENTS = new Set([
  'incident.triggered',
  'incident.acknowledged',
  'incident.unacknowledged',
  'incident.resolved',
  'incident.reopened',
]);

const reference = z.looseObject({ id: z.string().min(1), summary: z.string().nullish() });
const status = z.enum(Object.keys(STATUS) as [IncidentStatus, ...IncidentStatus[]]);
const timestamp = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected a timestamp');

/**
 * What an incident cannot exist without, in either shape: its id and status, and the time its version
 * is ordered by (the REST object's created_at, the delivery's occurred_at). The webhook checks the
 * same before it answers.
 */
const restRequired = z.looseObject({ id: z.string().min(1), status, created_at: timestamp });
const webhookRequired = z.looseObject({
  event: z.looseObject({
    event_type: z.string().min(1),
    occurred_at: timestamp,
    data: z.looseObject({ id: z.string().min(1), status }),
  }),
});

/** A webhook delivery is the only shape with an `event` envelope; replayed events are told apart the same way. */
const isDelivery = (data: unknown): boolean => typeof data === 'object' && data !== null && 'event' in data && !('incident_number' in data);

function incidentRequired(data: unknown, event: Pick<RawEvent, 'type' | 'subject'>): void {
  if (isDelivery(data)) parsePayload(webhookRequired, data, event);
  else parsePayload(restRequired, data, event);
}

/** The fields both incident shapes carry; only id and status are required (see incidentRequired). */
interface CommonIncident {
  id: string;
  status: IncidentStatus;
  title: string;
  description: string;
  details: unknown;
  service: z.infer<typeof reference> | null;
  urgency: string;
  priority: string;
  url: string;
}

interface IncidentFacts {
  incident: CommonIncident;
  number: string;
  createdAt: string;
  /** When the current status began (to the second), when the payload says. */
  changedAt: string | null;
  /** The version's time: the status change, or the webhook event that changed something else. */
  versionAt: string;
  /** Orders versions within one second after the status rank (see incidentVersion). */
  within: number;
}

const text = z.string().nullish();
const optionalTime = timestamp.nullish();
// Made once, at load: making a zod schema costs far more than checking a value with it.
const priorityField = z.looseObject({ name: text, summary: text }).nullish();
const bodyField = z.looseObject({ details: z.unknown() }).nullish();
const serviceField = reference.nullable();
const acknowledgementsField = z.array(z.looseObject({ at: timestamp })).nullish();
const numberField = z.number().int().nonnegative().nullish();

/** The fields an incident can do without, read one by one: one that cannot be read is left empty and noted. */
function commonIncident(i: Record<string, unknown> & { id: string; status: IncidentStatus }, notes: FieldNotes): CommonIncident {
  const priority = notes.read(priorityField, i['priority'], 'priority', null);
  const body = notes.read(bodyField, i['body'], 'body', null);
  return {
    id: i.id,
    status: i.status,
    title: notes.read(text, i['title'], 'title', null) ?? '',
    description: notes.read(text, i['description'], 'description', null) ?? '',
    details: body?.details,
    service: notes.read(serviceField, i['service'], 'service', null),
    urgency: notes.read(text, i['urgency'], 'urgency', null) ?? '',
    priority: priority?.name ?? priority?.summary ?? '',
    url: notes.read(text, i['html_url'], 'html_url', null) ?? '',
  };
}

/** The latest acknowledgement: the one that last moved the status, as last_status_change_at would say. */
const latest = (times: string[]): string | undefined =>
  times.reduce<string | undefined>((a, t) => (a === undefined || Date.parse(t) > Date.parse(a) ? t : a), undefined);

/** The REST shape: the connector versions it by last_status_change_at, as records.ts incidentVersion() does. */
function fromRest(data: unknown, event: RawEvent, notes: FieldNotes): IncidentFacts {
  const i = parsePayload(restRequired, data, event);
  const lastChange = notes.read(optionalTime, i['last_status_change_at'], 'last_status_change_at', null);
  const updated = notes.read(optionalTime, i['updated_at'], 'updated_at', null);
  const resolved = notes.read(optionalTime, i['resolved_at'], 'resolved_at', null);
  const acks = notes.read(acknowledgementsField, i['acknowledgements'], 'acknowledgements', null);
  const fallback = i.status === 'resolved' ? resolved : i.status === 'acknowledged' ? latest((acks ?? []).map((a) => a.at)) : null;
  const changed = lastChange ?? fallback ?? null;
  return {
    incident: commonIncident(i, notes),
    number: String(notes.read(numberField, i['incident_number'], 'incident_number', null) ?? ''),
    createdAt: iso(i.created_at, 'created_at'),
    changedAt: changed === null ? null : toSecond(iso(changed, 'last_status_change_at')),
    versionAt: toSecond(iso(lastChange ?? updated ?? i.created_at, 'last_status_change_at')),
    within: 0,
  };
}

/**
 * The v3 webhook shape. A status event versions like a pull of the same state; any other event
 * (reassigned, priority_updated, ...) changes no status and sorts after the status change it follows
 * by its millisecond within the second. Most deliveries carry no created_at: a trigger happened at
 * its occurred_at; for any other event occurred_at is the latest the incident can have begun, which
 * stands in (noted), and the incident's trigger log entry, when pulled, gives the exact time.
 */
function fromWebhook(data: unknown, event: RawEvent, notes: FieldNotes): IncidentFacts {
  const { event: e } = parsePayload(webhookRequired, data, event);
  const i = e.data;
  const occurred = iso(e.occurred_at, 'event.occurred_at');
  const second = toSecond(occurred);
  const isStatusEvent = STATUS_EVENTS.has(e.event_type);
  let created = notes.read(optionalTime, i['created_at'], 'created_at', null);
  if ((created === null || created === undefined) && e.event_type !== 'incident.triggered') {
    notes.note('created_at', 'missing: the event time (occurred_at) stands in as the latest possible start');
  }
  created ??= occurred;
  return {
    incident: commonIncident(i, notes),
    number: String(notes.read(numberField, i['number'], 'number', null) ?? ''),
    createdAt: iso(created, 'created_at'),
    changedAt: isStatusEvent ? second : null,
    versionAt: second,
    within: isStatusEvent ? 0 : 1 + Math.floor((Date.parse(occurred) - Date.parse(second)) / 4),
  };
}

/**
 * Versions order by the second, then the status rank (a same-second event of a lower status came
 * before the change to a higher one), then the millisecond of a non-status event. 2 * 250 + 250 < 1000.
 */
const incidentVersion = (f: IncidentFacts): number => rowVersion(f.versionAt, STATUS_RANK[f.incident.status] * 250 + f.within);

/** The text searched for explicit deployment references: title, description and the alert's details, once each. */
function searchText(i: CommonIncident): string {
  const details = i.details;
  const detailText = typeof details === 'string' ? details : details === undefined || details === null ? '' : JSON.stringify(details);
  return [...new Set([i.title ?? '', i.description ?? '', detailText].map((s) => s.trim()).filter((s) => s !== ''))].join('\n');
}

/**
 * The org mapping's view of a PagerDuty service: the deployable service that lists it under `pagerduty`,
 * else the one named like it (a service reference's summary is its name); the team that lists it, else
 * that service's team.
 */
function serviceOwnership(ctx: MapContext, serviceId: string, name: string | null | undefined) {
  const service = (serviceId === '' ? undefined : ctx.owners.service({ pagerdutyService: serviceId })) ?? ctx.owners.service({ name });
  return { service: service?.service ?? '', ...ownerColumns(ctx.owners.owner('pagerdutyService', serviceId) ?? service) };
}

function incidentRow(f: IncidentFacts, event: RawEvent, ctx: MapContext): IncidentRow {
  const i = f.incident;
  const serviceId = i.service?.id ?? '';
  return {
    source: 'pagerduty',
    incident_id: i.id,
    number: f.number,
    title: i.title,
    service_id: serviceId,
    ...serviceOwnership(ctx, serviceId, i.service?.summary),
    urgency: i.urgency,
    severity: SEVERITY[i.priority] ?? '',
    raw_severity: i.priority,
    status: STATUS[i.status],
    raw_status: i.status,
    created_at: f.createdAt,
    acknowledged_at: i.status === 'acknowledged' ? f.changedAt : null,
    resolved_at: i.status === 'resolved' ? f.changedAt : null,
    description: searchText(i),
    url: i.url,
    raw_event_id: event.id,
    version: incidentVersion(f),
  };
}

const logEntrySchema = z.looseObject({
  id: z.string().min(1),
  type: z.string().min(1),
  created_at: z.string().min(1),
  incident: reference,
});

const serviceSchema = z.looseObject({ id: z.string().min(1), name: z.string() });

export const pagerdutyMappers: SourceMappers = {
  source: 'pagerduty',
  required: { 'pagerduty.incident': incidentRequired },
  mappers: {
    'pagerduty.incident': (event, ctx, notes) => {
      const facts = isDelivery(event.data) ? fromWebhook(event.data, event, notes) : fromRest(event.data, event, notes);
      return ok([rowsOf('incidents', [incidentRow(facts, event, ctx)])]);
    },

    // Log entries never change: the creation time is the only version.
    'pagerduty.log_entry': withPayload(logEntrySchema, (entry, event) =>
      ok([
        rowsOf('incident_events', [
          {
            source: 'pagerduty',
            incident_id: entry.incident.id,
            event_id: entry.id,
            kind: EVENT_KIND[entry.type] ?? 'other',
            raw_type: entry.type,
            at: iso(entry.created_at, 'created_at'),
            raw_event_id: event.id,
            version: rowVersion(iso(entry.created_at, 'created_at')),
          },
        ]),
      ]),
    ),

    // A service has no updated time and the connector emits one only when its content changed, so the
    // read that saw the change (the event's ingest time, stored with it for replay) orders versions.
    // PagerDuty's service webhooks carry no records, so no deletion ever arrives.
    'pagerduty.service': withPayload(serviceSchema, (service, event, ctx) =>
      ok([
        rowsOf('services', [
          {
            source: 'pagerduty',
            service_id: service.id,
            name: service.name,
            ...serviceOwnership(ctx, service.id, service.name),
            raw_event_id: event.id,
            version: rowVersion(iso(event.ingesttime, 'ingesttime')),
            is_deleted: 0,
          },
        ]),
      ]),
    ),
  },
};
