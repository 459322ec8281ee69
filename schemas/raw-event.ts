import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * The systems a RawEvent can come from. Each has its own bus topic `raw.<source>`.
 * The demo organisation emits events under the real source names, because its payloads
 * have the vendors' shapes and go through the same mappers.
 */
export const SOURCES = ['github', 'jira', 'pagerduty', 'gitlab', 'jenkins', 'cdevents', 'ingest'] as const;
export const sourceSchema = z.enum(SOURCES);
export type Source = z.infer<typeof sourceSchema>;

/** A vendor payload: any JSON value but null. */
export type Payload = NonNullable<unknown>;

const isoTime = z.iso.datetime({ offset: true });

/**
 * The envelope every connector emits: CloudEvents 1.0 attributes plus the extensions this pipeline
 * needs. `data` is the vendor payload exactly as the vendor sent it (parsed JSON, not reshaped).
 *
 * `type` names the entity kind (`github.pull_request`, `jira.issue`), not the delivery: a webhook
 * and a pull of the same entity version therefore get the same `type`, `subject` and `id`.
 */
export const rawEventSchema = z.strictObject({
  specversion: z.literal('1.0'),
  id: z.uuid(),
  source: sourceSchema,
  type: z.string().regex(/^[a-z]+\.[a-z0-9_]+$/, 'expected <source>.<entity kind>, e.g. github.pull_request'),
  subject: z.string().min(1).max(1024),
  time: isoTime,
  datacontenttype: z.literal('application/json'),
  /** Version of the entity this event carries; orders versions of one subject. */
  entityversion: z.string().min(1).max(256),
  /** Bus partition key: versions of one entity stay in one partition, in order. */
  partitionkey: z.string().min(1).max(1024),
  /** What produced the event: `<connector>/<stream>` for pulls, `webhook/<source>` for deliveries. */
  connector: z.string().min(1).max(128),
  ingesttime: isoTime,
  data: z.custom<Payload>((v) => v !== undefined && v !== null, 'data (the vendor payload) is missing'),
});
export type RawEvent = z.infer<typeof rawEventSchema>;

/** What a connector knows about one entity version before it becomes a RawEvent. */
export interface SourceRecord {
  source: Source;
  /** `<source>.<entity kind>` */
  type: string;
  /** Stable key of the entity inside its source, see connectors/core/entities.ts. */
  subject: string;
  /** Orders versions of the subject; equal for a pull and a webhook of the same version. */
  version: string;
  /** When this version came to be (the vendor's updated or created time), ISO 8601. */
  time: string;
  payload: Payload;
}

/** RFC 9562 UUIDv8 from a SHA-256 of the identifying fields, so equal inputs give equal ids. */
export function deterministicEventId(source: string, type: string, subject: string, version: string): string {
  const h = createHash('sha256').update(`${source}\u0000${type}\u0000${subject}\u0000${version}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x80; // version 8
  h[8] = (h[8]! & 0x3f) | 0x80; // RFC variant
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The digest of a payload: SHA-256, lower-case hex, of its JSON text as raw_events stores it
 * (`JSON.stringify` of the parsed payload), the same value as the column's default
 * `lower(hex(SHA256(data)))`. Of payloads that share an event id and rank alike otherwise, the one
 * with the greatest digest is kept (workers/normalize/collisions.ts), so which one wins depends on
 * the content alone, never on arrival order.
 */
export function payloadDigest(json: string): string {
  return createHash('sha256').update(json, 'utf8').digest('hex');
}

/** The RawEvent of a record; `ingestTime` is when the pipeline received it (a pull's or a delivery's "now", from the clock). */
export function buildRawEvent(record: SourceRecord, connector: string, ingestTime: Date): RawEvent {
  const time = new Date(record.time);
  if (Number.isNaN(time.getTime())) {
    throw new RangeError(`${record.type} ${record.subject}: time '${record.time}' is not a valid date`);
  }
  if (Number.isNaN(ingestTime.getTime())) {
    throw new RangeError(`${record.type} ${record.subject}: the ingest time is not a valid date`);
  }
  return {
    specversion: '1.0',
    id: deterministicEventId(record.source, record.type, record.subject, record.version),
    source: record.source,
    type: record.type,
    subject: record.subject,
    time: time.toISOString(),
    datacontenttype: 'application/json',
    entityversion: record.version,
    partitionkey: `${record.type}:${record.subject}`,
    connector,
    ingesttime: ingestTime.toISOString(),
    data: record.payload,
  };
}

/** The topic of a source's raw events: `<prefix>raw.<source>`. */
export function rawTopic(source: Source, prefix = ''): string {
  return `${prefix}raw.${source}`;
}

const RAW_TOPIC = /^(.*)raw\.([a-z]+)$/;

/** The source a raw topic carries, or undefined for a topic that is not a raw topic. */
export function sourceOfRawTopic(topic: string): string | undefined {
  return RAW_TOPIC.exec(topic)?.[2];
}

/** The dead-letter topic beside an input topic: `<prefix>raw.<source>` -> `<prefix>dlq.<source>`. */
export function deadLetterTopic(inputTopic: string): string {
  const m = RAW_TOPIC.exec(inputTopic);
  return m !== null ? `${m[1]}dlq.${m[2]}` : `dlq.${inputTopic}`;
}
