import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';
import type { SourceRecord } from '../../schemas/raw-event.js';
import { subjects, timeVersion } from '../core/entities.js';
import type { WebhookSource } from '../core/types.js';
import { verifyBearer, WebhookPayloadError } from '../core/webhooks.js';
import { CDEVENT_TYPES, eventSchema, kindOf, structuredCloudEvent, unusedEventSchema, unusedKindOf } from './schemas.js';

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const firstIssue = (error: z.ZodError, prefix = ''): string => {
  const issue = error.issues[0];
  return `field '${prefix}${issue?.path.join('.') ?? ''}': ${issue?.message ?? 'invalid'}`;
};

/** Validates one CDEvent and turns it into its record; `where` names the event within a batch. */
export function cdeventRecord(event: unknown, where = '', ceType?: string): SourceRecord {
  const type = (event as { context?: { type?: unknown } } | null)?.context?.type;
  if (typeof type !== 'string') throw new WebhookPayloadError(`CDEvent${where}: field 'context.type' is missing`);
  const kind = kindOf(type);
  if (kind === undefined) {
    if (unusedKindOf(type) !== undefined) return unusedRecord(event, type, where, ceType);
    const accepted = Object.entries(CDEVENT_TYPES).map(([k, v]) => `${k}.${v.version.replace(/\.\d+$/, '.x')}`);
    throw new WebhookPayloadError(`CDEvent${where}: field 'context.type': unsupported type '${type}'; accepted: ${accepted.join(', ')}`);
  }
  const parsed = eventSchema(kind).safeParse(event);
  if (!parsed.success) throw new WebhookPayloadError(`CDEvent ${type}${where}: ${firstIssue(parsed.error)}`);
  // The CloudEvents binding of CDEvents sets the CloudEvent type to the CDEvent's type.
  if (ceType !== undefined && ceType !== type)
    throw new WebhookPayloadError(`CDEvent${where}: field 'type' of the CloudEvent (${ceType}) differs from context.type (${type})`);
  const { context, subject } = parsed.data;
  return {
    source: 'cdevents',
    type: `cdevents.${kind.split('.')[0] ?? 'event'}`,
    subject: subjects.cdeventsSubject(subject.source ?? context.source, subject.id),
    // An event is immutable: its own time and id make its version.
    version: timeVersion(context.timestamp, context.id),
    time: new Date(context.timestamp).toISOString(),
    payload: event as Record<string, unknown>,
  };
}

/**
 * A valid event of a spec type the model does not use (approval, branch, repository, ...): recorded as
 * a generic cdevents.event, which the normalizer keeps in raw_events and drops with its reason.
 */
function unusedRecord(event: unknown, type: string, where: string, ceType: string | undefined): SourceRecord {
  const parsed = unusedEventSchema.safeParse(event);
  if (!parsed.success) throw new WebhookPayloadError(`CDEvent ${type}${where}: ${firstIssue(parsed.error)}`);
  if (ceType !== undefined && ceType !== type)
    throw new WebhookPayloadError(`CDEvent${where}: field 'type' of the CloudEvent (${ceType}) differs from context.type (${type})`);
  const { context, subject } = parsed.data;
  return {
    source: 'cdevents',
    type: 'cdevents.event',
    subject: subjects.cdeventsSubject(subject.source ?? context.source, subject.id),
    version: timeVersion(context.timestamp, context.id),
    time: new Date(context.timestamp).toISOString(),
    payload: event as Record<string, unknown>,
  };
}

function fromStructured(body: unknown, where = ''): SourceRecord {
  const ce = structuredCloudEvent.safeParse(body);
  if (!ce.success) throw new WebhookPayloadError(`CloudEvent${where}: ${firstIssue(ce.error)}`);
  return cdeventRecord(ce.data.data, where, ce.data.type);
}

/**
 * CDEvents delivered as CloudEvents over HTTP, from any CI/CD tool: structured mode (the CloudEvent
 * JSON with the CDEvent in `data`), batched mode (a JSON array of structured events) and binary mode
 * (ce-* headers, the CDEvent as the body). Authenticated with a bearer token.
 */
export const cdeventsWebhook: WebhookSource = {
  source: 'cdevents',
  path: 'cdevents',
  enabled: (config) => config.secrets.cdeventsWebhookToken !== undefined && config.sources.cdevents?.enabled !== false,
  verify: (_rawBody, headers, config) =>
    verifyBearer(headers, config.secrets.cdeventsWebhookToken, {
      unset: 'no CDEvents webhook token is configured',
      missing: 'missing Authorization: Bearer token',
      mismatch: 'the bearer token does not match',
    }),
  records(request) {
    const contentType = (header(request.headers, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType === 'application/cloudevents-batch+json') {
      if (!Array.isArray(request.body)) throw new WebhookPayloadError('CloudEvents batch: the body is not a JSON array');
      return request.body.map((ce, i) => fromStructured(ce, ` [${i}]`));
    }
    if (contentType === 'application/cloudevents+json') return [fromStructured(request.body)];
    const specversion = header(request.headers, 'ce-specversion');
    if (specversion === undefined) {
      throw new WebhookPayloadError(
        "not a CloudEvent: send Content-Type application/cloudevents+json, or the 'ce-specversion' and other ce-* headers",
      );
    }
    if (specversion !== '1.0') throw new WebhookPayloadError(`field 'ce-specversion': expected 1.0, got ${specversion}`);
    for (const name of ['ce-id', 'ce-source', 'ce-type']) {
      if (header(request.headers, name) === undefined)
        throw new WebhookPayloadError(`field '${name}': header missing in a binary-mode CloudEvent`);
    }
    return [cdeventRecord(request.body, '', header(request.headers, 'ce-type'))];
  },
};
