import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { SourceRecord } from '../../schemas/raw-event.js';
import { subjects, timeVersion } from '../core/entities.js';

/** The fields of a REST incident the connector reads; the rest passes through untouched. */
export const incidentSchema = z.looseObject({
  id: z.string().min(1),
  status: z.string().min(1),
  created_at: z.string().min(1),
  last_status_change_at: z.string().nullish(),
  updated_at: z.string().nullish(),
  service: z.looseObject({ id: z.string() }).nullish(),
});
export type Incident = z.infer<typeof incidentSchema>;

export const logEntrySchema = z.looseObject({
  id: z.string().min(1),
  created_at: z.string().min(1),
  service: z.looseObject({ id: z.string() }).nullish(),
});

export const serviceSchema = z.looseObject({
  id: z.string().min(1),
  created_at: z.string().nullish(),
});

/** Second precision: the REST API renders times to the second, webhooks to the millisecond. */
export function toSecond(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new RangeError(`not a valid timestamp: ${iso}`);
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString();
}

/**
 * An incident version: when its status last changed, and the status. A pull and a webhook of the
 * same status change (whose `occurred_at` is that moment) give the same version.
 */
export function incidentVersion(incident: Incident): { version: string; time: string } {
  const at = toSecond(incident.last_status_change_at ?? incident.updated_at ?? incident.created_at);
  return { version: timeVersion(at, incident.status), time: at };
}

export function incidentRecord(raw: unknown): SourceRecord {
  const incident = incidentSchema.parse(raw);
  const { version, time } = incidentVersion(incident);
  return {
    source: 'pagerduty',
    type: 'pagerduty.incident',
    subject: subjects.pagerdutyIncident(incident.id),
    version,
    time,
    payload: incident,
  };
}

/** Log entries never change: their creation time is their only version. */
export function logEntryRecord(raw: unknown): SourceRecord {
  const entry = logEntrySchema.parse(raw);
  const time = new Date(entry.created_at).toISOString();
  return {
    source: 'pagerduty',
    type: 'pagerduty.log_entry',
    subject: subjects.pagerdutyLogEntry(entry.id),
    version: timeVersion(time),
    time,
    payload: entry,
  };
}

/** A short digest of a payload, so an unchanged object always gives the same version. */
export function contentHash(payload: unknown): string {
  return createHash('sha256').update(JSON.stringify(payload)).digest('hex').slice(0, 16);
}

/**
 * Services carry no updated time, so a version is the creation time plus a digest of the content:
 * an unchanged service gives the same event id on every read, a changed one a new id.
 */
export function serviceRecord(raw: unknown, hash: string): SourceRecord {
  const service = serviceSchema.parse(raw);
  const time = new Date(service.created_at ?? 0).toISOString();
  return {
    source: 'pagerduty',
    type: 'pagerduty.service',
    subject: subjects.pagerdutyService(service.id),
    version: timeVersion(time, hash),
    time,
    payload: service,
  };
}
