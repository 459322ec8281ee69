import { formatKey } from '../../infra/config/load.js';
import type { Batch, BatchHandler, Bus, BusMessage, Subscription } from '../../infra/bus/types.js';
import type { BatchWriter, Row } from '../../infra/store/batch-writer.js';
import type { Store } from '../../infra/store/client.js';
import type { Logger } from '../../infra/observability/logger.js';
import type { PipelineMetrics } from '../../infra/observability/metrics.js';
import { deadLetterTopic, payloadDigest, rawEventSchema, sourceOfRawTopic, type RawEvent } from '../../schemas/raw-event.js';
import type { MapContext, MapperRegistry, TableRows } from '../../mapping/registry.js';
import { systemClock, type Clock } from '../../infra/clock.js';
import { rawKey, rawRowMessage, storedDigests, storedPayloads, type RawKey } from './stored-raw.js';

export interface NormalizerDeps {
  bus: Bus;
  writer: BatchWriter;
  /** Where raw_events is read to settle payloads that share an event id; the writer's store unless given. */
  store?: Store;
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

/** A payload's JSON text as raw_events stores it, and its digest (payloadDigest). */
export interface EncodedPayload {
  data: string;
  digest: string;
}

export const encodePayload = (event: RawEvent): EncodedPayload => {
  const data = JSON.stringify(event.data);
  return { data, digest: payloadDigest(data) };
};

/** The raw_events row of an event; `payload` is its encoded payload, when the caller has it already. */
export function rawEventRow(
  event: RawEvent,
  msg: Pick<BusMessage, 'topic' | 'partition' | 'offset'>,
  payload: EncodedPayload = encodePayload(event),
): Row {
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
    data: payload.data,
    digest: payload.digest,
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

/** A raw key and the digest of one of its payloads. */
export type KeyedDigest = RawKey & { digest: string };

export interface NormalizedBatch {
  tables: Map<string, Row[]>;
  dead: DeadLetter[];
  counts: Array<{ source: string; type: string; outcome: string; n: number }>;
  notes: NoteCount[];
  /** Per raw key of the batch, the payload that was kept (the greatest digest) and mapped. */
  kept: KeyedDigest[];
  /** Per raw key (rawKey), the digests of every payload known under it: the batch's and the stored ones given. */
  digests: Map<string, Set<string>>;
}

/** A bus message decoded: the RawEvent with its encoded payload, or what is wrong with it. */
export type DecodedMessage =
  { msg: BusMessage; ok: true; event: RawEvent; payload: EncodedPayload } | { msg: BusMessage; ok: false; code: string; reason: string };

export function decodeBatch(messages: readonly BusMessage[]): DecodedMessage[] {
  return messages.map((msg) => {
    const d = decodeMessage(msg);
    return d.ok ? { msg, ok: true, event: d.event, payload: encodePayload(d.event) } : { msg, ...d };
  });
}

/** The outcome counted for an event whose id holds a payload with a greater digest: neither stored nor mapped. */
export const SUPERSEDED = 'superseded';

/** The greatest of a non-empty set of digests (hex of one length: text order is number order). */
export const greatest = (digests: Iterable<string>): string => {
  let max = '';
  for (const d of digests) if (d > max) max = d;
  return max;
};

/** A raw_event_collisions row: the digests of the payloads seen under one id, noticed at `seenAt`. */
export function collisionRow(key: RawKey, digests: Iterable<string>, seenAt: string): Row {
  return {
    source: key.source,
    type: key.type,
    subject: key.subject,
    id: key.id,
    digests: [...digests].sort(),
    first_seen: seenAt,
    last_seen: seenAt,
  };
}

/**
 * Decodes and maps a batch, with no I/O: see normalizeDecoded. `stored` are the digests raw_events
 * already holds per raw key (storedDigests), when the caller looked them up.
 */
export function normalizeBatch(
  messages: BusMessage[],
  registry: MapperRegistry,
  context: MapContext,
  options: { keepRaw: boolean; failedAt: string; stored?: ReadonlyMap<string, ReadonlySet<string>> },
): NormalizedBatch {
  return normalizeDecoded(decodeBatch(messages), registry, context, options);
}

/**
 * Maps decoded messages, with no I/O: rows per table (raw_events first, when asked), the dead letters
 * with their reasons, counts per (source, type, outcome), and the data-quality notes of the rows
 * written (as data_quality_notes rows, seen at `failedAt`, the batch's instant). Live consumption and
 * replay both go through here, so they cannot disagree.
 *
 * Payloads that share an event id but differ: of the batch's and the `stored` ones, the payload with
 * the greatest digest is kept. Only events carrying it are stored and mapped; the others are counted
 * as superseded, and the id gets a raw_event_collisions row listing every digest. Identical payloads
 * share a digest, so re-deliveries are no collision.
 */
export function normalizeDecoded(
  decoded: readonly DecodedMessage[],
  registry: MapperRegistry,
  context: MapContext,
  options: { keepRaw: boolean; failedAt: string; stored?: ReadonlyMap<string, ReadonlySet<string>> },
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
  const digests = new Map<string, Set<string>>();
  const keys = new Map<string, RawKey>();
  for (const d of decoded) {
    if (!d.ok) continue;
    const k = rawKey(d.event);
    let known = digests.get(k);
    if (known === undefined) {
      known = new Set(options.stored?.get(k) ?? []);
      digests.set(k, known);
      keys.set(k, { source: d.event.source, type: d.event.type, subject: d.event.subject, id: d.event.id });
    }
    known.add(d.payload.digest);
  }
  const winners = new Map([...digests].map(([k, set]) => [k, greatest(set)]));
  const kept = new Map<string, KeyedDigest>();
  const notes = new Map<string, NoteCount>();
  for (const d of decoded) {
    if (!d.ok) {
      dead.push({ msg: d.msg, code: d.code, reason: d.reason });
      count(sourceOfTopic(d.msg.topic), 'unknown', 'dead_letter');
      continue;
    }
    const { event, msg } = d;
    const k = rawKey(event);
    if (d.payload.digest !== winners.get(k)) {
      count(event.source, event.type, SUPERSEDED);
      continue;
    }
    kept.set(k, { ...keys.get(k)!, digest: d.payload.digest });
    if (options.keepRaw) add({ table: 'raw_events', rows: [rawEventRow(event, msg, d.payload)] });
    const outcome = registry.apply(event, context);
    count(event.source, event.type, outcome.kind);
    if (outcome.kind === 'ok') {
      for (const t of outcome.rows) add(t);
      for (const note of outcome.notes) {
        const nk = `${event.source}\u0000${note.entity}\u0000${note.field}\u0000${note.problem}`;
        const c = notes.get(nk);
        if (c === undefined) notes.set(nk, { source: event.source, ...note, n: 1, example: event.id });
        else {
          c.n++;
          c.example = event.id;
        }
      }
    } else if (outcome.kind === 'dead_letter') dead.push({ msg, code: outcome.code, reason: outcome.reason, event });
  }
  if (dead.length > 0) add({ table: 'dead_letters', rows: dead.map((d) => deadLetterRow(d, options.failedAt)) });
  if (notes.size > 0) add({ table: 'data_quality_notes', rows: [...notes.values()].map((n) => noteRow(n, options.failedAt)) });
  const collided = [...digests].filter(([, set]) => set.size > 1);
  if (collided.length > 0) {
    add({ table: 'raw_event_collisions', rows: collided.map(([k, set]) => collisionRow(keys.get(k)!, set, options.failedAt)) });
  }
  return { tables, dead, counts: [...counts.values()], notes: [...notes.values()], kept: [...kept.values()], digests };
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
  const store = deps.store ?? writer.store;
  const clock = deps.clock ?? systemClock;
  return async (batch: Batch) => {
    const failedAt = clock.date().toISOString();
    const decoded = decodeBatch(batch.messages);
    const stored = await storedDigests(
      store,
      decoded.flatMap((d) => (d.ok ? [d.event] : [])),
    );
    const { tables, dead, counts, notes, kept, digests } = normalizeDecoded(decoded, registry, context, {
      keepRaw: true,
      failedAt,
      stored,
    });
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
    await settleCollisions({ store, writer, registry, context, failedAt }, kept, digests);
    for (const c of counts) metrics.events.inc({ source: c.source, type: c.type, outcome: c.outcome }, c.n);
    for (const d of dead) metrics.deadLetters.inc({ topic: batch.topic, reason: d.code });
    for (const n of notes) metrics.dataQualityNotes.inc({ source: n.source, entity: n.entity, field: n.field }, n.n);
    if (batch.lag !== undefined)
      metrics.consumerLag.set({ group: deps.groupId, topic: batch.topic, partition: String(batch.partition) }, batch.lag);
  };
}

/** How many times settleCollisions looks again before it fails the batch (which the bus then redelivers). */
const SETTLE_ROUNDS = 5;

/**
 * Runs after a batch's rows are in the store, for the payloads it kept. Another normalizer may have
 * stored a different payload under the same id at the same time (two partitions, a rebalance, a
 * replayed batch), unseen by the look-up before the write. Both tables keep, on a tie, the row
 * inserted last, so for every key whose stored digests now hold one this batch did not know of, or
 * one greater than the payload it kept, the greatest payload is read back from raw_events and written
 * again (raw row and domain rows), then the key is looked at again. Whichever normalizer writes last
 * thereby sees the other's payload and leaves the greatest on top, so the outcome does not depend on
 * how the writes interleave. New digests are recorded in raw_event_collisions.
 */
async function settleCollisions(
  deps: { store: Store; writer: BatchWriter; registry: MapperRegistry; context: MapContext; failedAt: string },
  kept: readonly KeyedDigest[],
  known: Map<string, Set<string>>,
): Promise<void> {
  let pending = kept;
  for (let round = 0; pending.length > 0; round++) {
    const now = await storedDigests(deps.store, pending);
    const again: KeyedDigest[] = [];
    const noticed: Row[] = [];
    for (const p of pending) {
      const k = rawKey(p);
      const digests = now.get(k) ?? new Set([p.digest]);
      const before = known.get(k) ?? new Set<string>();
      const unseen = [...digests].some((d) => !before.has(d));
      const top = greatest(digests);
      if (unseen) {
        const all = new Set([...before, ...digests]);
        known.set(k, all);
        if (all.size > 1) noticed.push(collisionRow(p, all, deps.failedAt));
      }
      if (top !== p.digest || (unseen && digests.size > 1))
        again.push({ source: p.source, type: p.type, subject: p.subject, id: p.id, digest: top });
    }
    if (noticed.length > 0) await deps.writer.write([{ table: 'raw_event_collisions', rows: noticed }]);
    if (again.length === 0) return;
    if (round + 1 >= SETTLE_ROUNDS) {
      const first = again[0]!;
      throw new Error(
        `the payloads of ${first.type} ${first.subject} (event ${first.id}) still changed after ${SETTLE_ROUNDS} looks; the batch is retried`,
      );
    }
    const rows = await storedPayloads(deps.store, again);
    const rewritten = normalizeDecoded(decodeBatch(rows.map(rawRowMessage)), deps.registry, deps.context, {
      keepRaw: true,
      failedAt: deps.failedAt,
      stored: known,
    });
    // The event was counted, noted and dead-lettered when it was first handled: only its rows again.
    const tables = [...rewritten.tables].filter(([t]) => !REWRITE_SKIPS.has(t));
    await deps.writer.write(tables.map(([table, r]) => ({ table, rows: r })));
    pending = rewritten.kept;
  }
}

const REWRITE_SKIPS = new Set(['dead_letters', 'data_quality_notes', 'raw_event_collisions']);

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
