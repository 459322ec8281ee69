import { formatKey } from '../../infra/config/load.js';
import type { Batch, BatchHandler, Bus, BusMessage, Subscription } from '../../infra/bus/types.js';
import type { BatchWriter, Row } from '../../infra/store/batch-writer.js';
import type { Logger } from '../../infra/observability/logger.js';
import type { PipelineMetrics } from '../../infra/observability/metrics.js';
import { deadLetterTopic, rawEventSchema, sourceOfRawTopic, type RawEvent } from '../../schemas/raw-event.js';
import type { MapContext, MapperRegistry, TableRows } from '../../mapping/registry.js';
import { systemClock, type Clock } from '../../infra/clock.js';

export interface NormalizerDeps {
  bus: Bus;
  writer: BatchWriter;
  registry: MapperRegistry;
  metrics: PipelineMetrics;
  logger: Logger;
  context: MapContext;
  /** Consumer group, for the lag metric's label. */
  groupId: string;
  /** When dead letters failed and notes were seen; the system clock unless given. */
  clock?: Clock;
}

export const DLQ_HEADERS = {
  code: 'ptel-dlq-reason-code',
  reason: 'ptel-dlq-reason',
  topic: 'ptel-dlq-topic',
  partition: 'ptel-dlq-partition',
  offset: 'ptel-dlq-offset',
  failedAt: 'ptel-dlq-failed-at',
} as const;

type Decoded = { ok: true; event: RawEvent } | { ok: false; code: string; reason: string };

/** Parses and validates one bus message; says exactly what is wrong when it cannot. */
export function decodeMessage(msg: BusMessage): Decoded {
  if (msg.value === null || msg.value.length === 0) return { ok: false, code: 'empty_message', reason: 'the message has no value' };
  let json: unknown;
  try {
    json = JSON.parse(msg.value.toString('utf8'));
  } catch (err) {
    return { ok: false, code: 'invalid_json', reason: `the message value is not JSON: ${(err as Error).message}` };
  }
  const parsed = rawEventSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((i) => `'${formatKey(i.path)}': ${i.message}`);
    return { ok: false, code: 'invalid_envelope', reason: `not a valid RawEvent: ${problems.join('; ')}` };
  }
  const event = parsed.data;
  const topicSource = sourceOfRawTopic(msg.topic);
  if (topicSource !== undefined && topicSource !== event.source) {
    return {
      ok: false,
      code: 'wrong_topic',
      reason: `event of source '${event.source}' arrived on ${msg.topic}, the topic of '${topicSource}'`,
    };
  }
  if (!event.type.startsWith(`${event.source}.`)) {
    return { ok: false, code: 'invalid_envelope', reason: `type '${event.type}' does not belong to source '${event.source}'` };
  }
  return { ok: true, event };
}

export function rawEventRow(event: RawEvent, msg: Pick<BusMessage, 'topic' | 'partition' | 'offset'>): Row {
  return {
    id: event.id,
    source: event.source,
    type: event.type,
    subject: event.subject,
    entity_version: event.entityversion,
    time: event.time,
    partition_key: event.partitionkey,
    connector: event.connector,
    ingest_time: event.ingesttime,
    data: JSON.stringify(event.data),
    topic: msg.topic,
    bus_partition: msg.partition,
    bus_offset: msg.offset,
  };
}

export interface DeadLetter {
  msg: BusMessage;
  code: string;
  reason: string;
  event?: RawEvent;
}

/** The data-quality notes of a batch, counted per source, entity type, field and problem. */
export interface NoteCount {
  source: string;
  entity: string;
  field: string;
  problem: string;
  n: number;
  /** The last event of the batch that raised it. */
  example: string;
}

export interface NormalizedBatch {
  tables: Map<string, Row[]>;
  dead: DeadLetter[];
  counts: Array<{ source: string; type: string; outcome: string; n: number }>;
  notes: NoteCount[];
}

/**
 * Decodes and maps a batch, with no I/O: rows per table (raw_events first, when asked), the dead
 * letters with their reasons, counts per (source, type, outcome), and the data-quality notes of the
 * rows written (as data_quality_notes rows, seen at `failedAt`, the batch's instant). Live consumption
 * and replay both go through here, so they cannot disagree.
 */
export function normalizeBatch(
  messages: BusMessage[],
  registry: MapperRegistry,
  context: MapContext,
  options: { keepRaw: boolean; failedAt: string },
): NormalizedBatch {
  const tables = new Map<string, Row[]>();
  const add = (t: TableRows): void => {
    const list = tables.get(t.table);
    if (list === undefined) tables.set(t.table, [...t.rows]);
    else list.push(...t.rows);
  };
  const dead: DeadLetter[] = [];
  const counts = new Map<string, { source: string; type: string; outcome: string; n: number }>();
  const count = (source: string, type: string, outcome: string): void => {
    const k = `${source}\u0000${type}\u0000${outcome}`;
    const c = counts.get(k);
    if (c === undefined) counts.set(k, { source, type, outcome, n: 1 });
    else c.n++;
  };
  const notes = new Map<string, NoteCount>();
  for (const msg of messages) {
    const decoded = decodeMessage(msg);
    if (!decoded.ok) {
      dead.push({ msg, code: decoded.code, reason: decoded.reason });
      count(sourceOfTopic(msg.topic), 'unknown', 'dead_letter');
      continue;
    }
    const { event } = decoded;
    if (options.keepRaw) add({ table: 'raw_events', rows: [rawEventRow(event, msg)] });
    const outcome = registry.apply(event, context);
    count(event.source, event.type, outcome.kind);
    if (outcome.kind === 'ok') {
      for (const t of outcome.rows) add(t);
      for (const note of outcome.notes) {
        const k = `${event.source}\u0000${note.entity}\u0000${note.field}\u0000${note.problem}`;
        const c = notes.get(k);
        if (c === undefined) notes.set(k, { source: event.source, ...note, n: 1, example: event.id });
        else {
          c.n++;
          c.example = event.id;
        }
      }
    } else if (outcome.kind === 'dead_letter') dead.push({ msg, code: outcome.code, reason: outcome.reason, event });
  }
  if (dead.length > 0) add({ table: 'dead_letters', rows: dead.map((d) => deadLetterRow(d, options.failedAt)) });
  if (notes.size > 0) add({ table: 'data_quality_notes', rows: [...notes.values()].map((n) => noteRow(n, options.failedAt)) });
  return { tables, dead, counts: [...counts.values()], notes: [...notes.values()] };
}

/** A data_quality_notes row: the batch's count of one note, first and last seen at the batch's instant. */
export function noteRow(n: NoteCount, seenAt: string): Row {
  return {
    source: n.source,
    entity: n.entity,
    field: n.field,
    problem: n.problem,
    notes: n.n,
    first_seen: seenAt,
    last_seen: seenAt,
    example_event_id: n.example,
  };
}

export function deadLetterRow({ msg, code, reason, event }: DeadLetter, failedAt: string): Row {
  return {
    topic: msg.topic,
    bus_partition: msg.partition,
    bus_offset: msg.offset,
    message_key: msg.key?.toString('utf8') ?? null,
    message_value: msg.value?.toString('utf8') ?? '',
    headers: msg.headers,
    reason_code: code,
    reason,
    event_id: event?.id ?? null,
    source: event?.source ?? sourceOfTopic(msg.topic),
    type: event?.type ?? '',
    failed_at: failedAt,
  };
}

/**
 * The normalizer's batch handler: decode, map, then make everything durable (dead letters on their
 * topic, rows in the store) before it resolves and the bus commits the batch's offsets. A bad
 * message never holds back the rest of its batch; a failing store write fails the whole batch, which
 * the bus then delivers again.
 */
export function createBatchHandler(deps: NormalizerDeps): BatchHandler {
  const { bus, writer, registry, metrics, context } = deps;
  const clock = deps.clock ?? systemClock;
  return async (batch: Batch) => {
    const failedAt = clock.date().toISOString();
    const { tables, dead, counts, notes } = normalizeBatch(batch.messages, registry, context, { keepRaw: true, failedAt });
    await Promise.all([
      dead.length === 0
        ? Promise.resolve()
        : bus.publish(
            deadLetterTopic(batch.topic),
            dead.map(({ msg, code, reason }) => ({
              key: msg.key?.toString('utf8') ?? null,
              value: msg.value ?? Buffer.alloc(0),
              headers: {
                ...msg.headers,
                [DLQ_HEADERS.code]: code,
                [DLQ_HEADERS.reason]: reason,
                [DLQ_HEADERS.topic]: msg.topic,
                [DLQ_HEADERS.partition]: String(msg.partition),
                [DLQ_HEADERS.offset]: msg.offset,
                [DLQ_HEADERS.failedAt]: failedAt,
              },
            })),
          ),
      writer.write([...tables].map(([table, rows]) => ({ table, rows }))),
    ]);
    for (const c of counts) metrics.events.inc({ source: c.source, type: c.type, outcome: c.outcome }, c.n);
    for (const d of dead) metrics.deadLetters.inc({ topic: batch.topic, reason: d.code });
    for (const n of notes) metrics.dataQualityNotes.inc({ source: n.source, entity: n.entity, field: n.field }, n.n);
    if (batch.lag !== undefined)
      metrics.consumerLag.set({ group: deps.groupId, topic: batch.topic, partition: String(batch.partition) }, batch.lag);
  };
}

function sourceOfTopic(topic: string): string {
  return sourceOfRawTopic(topic) ?? topic;
}

export interface NormalizerOptions extends NormalizerDeps {
  topics: string[];
  concurrency: number;
  maxBatchMessages?: number;
  sessionTimeoutMs?: number;
}

export async function startNormalizer(options: NormalizerOptions): Promise<Subscription> {
  const handler = createBatchHandler(options);
  const log = options.logger.child({ component: 'normalizer' });
  await options.bus.ensureTopics([...options.topics, ...options.topics.map(deadLetterTopic)].map((topic) => ({ topic })));
  return options.bus.consume({
    groupId: options.groupId,
    topics: options.topics,
    concurrency: options.concurrency,
    ...(options.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: options.sessionTimeoutMs } : {}),
    maxBatchMessages: options.maxBatchMessages ?? 5_000,
    handler,
    onError: (err, batch) => {
      options.metrics.batchFailures.inc({ topic: batch.topic });
      log.warn({ err, topic: batch.topic, partition: batch.partition, first: batch.messages[0]?.offset }, 'batch failed; retrying');
    },
  });
}
