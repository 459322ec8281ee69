import { z } from 'zod';
import type { SourceRecord } from '../../schemas/raw-event.js';
import { subjects, timeVersion } from '../core/entities.js';
import type { VerifyResult, WebhookSource } from '../core/types.js';
import { hmacMatches, WebhookPayloadError } from '../core/webhooks.js';
import { missingRequired } from '../../mapping/registry.js';
import { pagerdutyMappers } from './mapper.js';
import { toSecond } from './records.js';

/**
 * PagerDuty v3 webhooks. X-PagerDuty-Signature holds one or more comma separated
 * `v1=<hex HMAC-SHA256(secret, raw body)>` values (several while a subscription's secret rotates);
 * a delivery is accepted when any of them matches any configured secret. PagerDuty signs no
 * timestamp, so a replay cannot be told from a retry; replays are harmless here because the same
 * delivery always gives the same event ids.
 */
export function verifyPagerdutySignature(rawBody: Buffer, header: string | string[] | undefined, secrets: string[]): VerifyResult {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value === undefined || value.trim() === '') return { ok: false, reason: 'missing X-PagerDuty-Signature header' };
  const signatures = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('v1='));
  if (signatures.length === 0) return { ok: false, reason: 'X-PagerDuty-Signature has no v1= signature' };
  let matched = false;
  // Every pair is compared, so the time taken does not say which secret or signature matched.
  for (const secret of secrets) for (const signature of signatures) matched = hmacMatches(secret, rawBody, signature, 'v1=') || matched;
  return matched ? { ok: true } : { ok: false, reason: 'X-PagerDuty-Signature does not match any configured secret' };
}

const deliverySchema = z.looseObject({
  event: z.looseObject({
    id: z.string().min(1),
    event_type: z.string().min(1),
    resource_type: z.string().min(1),
    occurred_at: z.iso.datetime({ offset: true }),
    data: z.unknown(),
  }),
});

const webhookIncidentSchema = z.looseObject({
  id: z.string().min(1),
  type: z.literal('incident'),
  status: z.string().min(1),
});

/** Events after which the incident's `last_status_change_at` is the event's `occurred_at`. */
const STATUS_EVENTS = new Set([
  'incident.triggered',
  'incident.acknowledged',
  'incident.unacknowledged',
  'incident.resolved',
  'incident.reopened',
]);

/**
 * The records of one delivery: an incident event whose `data` is the incident (triggered,
 * acknowledged, resolved, reassigned, escalated, priority_updated, ...) gives a pagerduty.incident
 * record. For a status change the version is the change's second and the new status, as a pull of
 * the same state computes it from `last_status_change_at`, so both get the same event id. Other
 * changes (reassigned, escalated, ...) do not move `last_status_change_at`, which is all a pull can
 * see; they get a version of their own (their millisecond time and the event type) that sorts after
 * the status change they follow. Events about notes, responders, workflows and services carry no
 * incident state, and v1/v2 deliveries are no longer sent by PagerDuty: none gives records.
 */
export function pagerdutyWebhookRecords(body: unknown): SourceRecord[] {
  if (typeof body === 'object' && body !== null && 'messages' in body && !('event' in body)) return [];
  const parsed = deliverySchema.safeParse(body);
  if (!parsed.success) throw new WebhookPayloadError(`not a PagerDuty v3 webhook delivery: ${parsed.error.issues[0]?.message ?? ''}`);
  const { event } = parsed.data;
  if (event.resource_type !== 'incident') return [];
  const incident = webhookIncidentSchema.safeParse(event.data);
  if (!incident.success) return [];
  const second = toSecond(event.occurred_at);
  const version = STATUS_EVENTS.has(event.event_type)
    ? timeVersion(second, incident.data.status)
    : timeVersion(event.occurred_at, `${incident.data.status}|${event.event_type}`);
  return [
    {
      source: 'pagerduty',
      type: 'pagerduty.incident',
      subject: subjects.pagerdutyIncident(incident.data.id),
      version,
      time: STATUS_EVENTS.has(event.event_type) ? second : new Date(event.occurred_at).toISOString(),
      payload: body as object,
    },
  ];
}

export const pagerdutyWebhook: WebhookSource = {
  source: 'pagerduty',
  path: 'pagerduty',
  enabled: (config) => config.secrets.pagerdutyWebhookSecrets.length > 0,
  verify: (rawBody, headers, config) =>
    verifyPagerdutySignature(rawBody, headers['x-pagerduty-signature'], config.secrets.pagerdutyWebhookSecrets),
  records: (request) => pagerdutyWebhookRecords(request.body),
  check: (record) => missingRequired(pagerdutyMappers, record),
};
