import { formatKey } from '../../infra/config/load.js';
import type { Batch, BatchHandler, Bus, BusMessage, Subscription } from '../../infra/bus/types.js';
import type { BatchWriter, Row } from '../../infra/store/batch-writer.js';
import type { Store } from '../../infra/store/client.js';
import type { Logger } from '../../infra/observability/logger.js';
import type { PipelineMetrics } from '../../infra/observability/metrics.js';
import { deadLetterTopic, payloadDigest, rawEventSchema, sourceOfRawTopic, type RawEvent } from '../../schemas/raw-event.js';
import type { MapContext, MapperRegistry, TableRows } from '../../mapping/registry.js';
import { systemClock, type Clock } from '../../infra/clock.js';
import { collisionRow, compareRanks, rankPayload, SUPERSEDED, type KeyedDigest, type PayloadRank } from './collisions.js';
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

/** A payload as it arrived: the event and the bus message that carried it. */
export interface Arrival {
  event: RawEvent;
  msg: BusMessage;
}

/** A payload kept under its raw key: the one that ranks highest (see collisions.ts), as it arrived. */
export type KeptPayload = KeyedDigest & Arrival;

export interface NormalizedBatch {
  tables: Map<string, Row[]>;
  dead: DeadLetter[];
  counts: Array<{ source: string; type: string; outcome: string; n: number }>;
  notes: NoteCount[];
  /** Per raw key of the batch whose payload was kept and mapped, that payload. */
  kept: KeptPayload[];
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

/** What raw_events already holds under the keys of a batch, when the caller looked it up. */
export interface StoredPayloads {
  /** Per raw key (rawKey), the digests of the payloads stored under it (storedDigests). */
  digests: ReadonlyMap<string, ReadonlySet<string>>;
  /** The stored payloads that differ from the batch's, by rawKey and digest joined with NUL. */
  events: ReadonlyMap<string, Arrival>;
}

const digestKey = (key: string, digest: string): string => `${key}\u0000${digest}`;

/**
 * The stored payloads a batch must be ranked against: under every key where the store holds a digest
 * the batch does not carry (the batch's other events, and identical payloads, need no look-up).
 */
export async function storedPayloadsFor(store: Store, decoded: readonly DecodedMessage[]): Promise<StoredPayloads> {
  const inBatch = new Map<string, { key: RawKey; digests: Set<string> }>();
  for (const d of decoded) {
    if (!d.ok) continue;
    const k = rawKey(d.event);
    const entry = inBatch.get(k) ?? { key: d.event, digests: new Set<string>() };
    entry.digests.add(d.payload.digest);
    inBatch.set(k, entry);
  }
  const digests = await storedDigests(
    store,
    [...inBatch.values()].map((e) => e.key),
  );
  const wanted: KeyedDigest[] = [];
  for (const [k, stored] of digests) {
    const batch = inBatch.get(k)!;
    for (const digest of stored) if (!batch.digests.has(digest)) wanted.push({ ...pickKey(batch.key), digest });
  }
  return { digests, events: await fetchPayloads(store, wanted) };
}

const pickKey = (k: RawKey): RawKey => ({ source: k.source, type: k.type, subject: k.subject, id: k.id });

/** The stored payloads with these digests, decoded, by rawKey and digest; one that no longer decodes is left out. */
async function fetchPayloads(store: Store, wanted: readonly KeyedDigest[]): Promise<Map<string, Arrival>> {
  const out = new Map<string, Arrival>();
  for (const row of await storedPayloads(store, wanted)) {
    // Keyed by the digest stored with it, the one the look-up of digests found.
    const msg = rawRowMessage(row);
    const d = decodeMessage(msg);
    if (d.ok) out.set(digestKey(rawKey(d.event), row.digest), { event: d.event, msg });
  }
  return out;
}

/**
 * Decodes and maps a batch, with no I/O: see normalizeDecoded. `stored` is what raw_events already
 * holds under the batch's keys (storedPayloadsFor), when the caller looked it up.
 */
export function normalizeBatch(
  messages: BusMessage[],
  registry: MapperRegistry,
  context: MapContext,
  options: { keepRaw: boolean; failedAt: string; stored?: StoredPayloads },
): NormalizedBatch {
  return normalizeDecoded(decodeBatch(messages), registry, context, options);
}

/**
 * Maps decoded messages, with no I/O: rows per table (raw_events first, when asked), the dead letters
 * with their reasons, counts per (source, type, outcome), and the data-quality notes of the rows
 * written (as data_quality_notes rows, seen at `failedAt`, the batch's instant). Live consumption and
 * replay both go through here, so they cannot disagree.
 *
 * Payloads that share an event id but differ (collisions.ts): of the batch's and the `stored` ones,
 * the one that ranks highest is kept. Only events carrying it are stored and mapped; the others are
 * counted as superseded, and the id gets a raw_event_collisions row listing every digest. Identical
 * payloads share a digest, so re-deliveries are no collision.
 */
export function normalizeDecoded(
  decoded: readonly DecodedMessage[],
  registry: MapperRegistry,
  context: MapContext,
  options: { keepRaw: boolean; failedAt: string; stored?: StoredPayloads },
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
  // Every payload known per key: the batch's (first event of each digest) and the stored ones.
  const candidates = new Map<string, { key: RawKey; digests: Set<string>; events: Map<string, RawEvent> }>();
  for (const d of decoded) {
    if (!d.ok) continue;
    const k = rawKey(d.event);
    let c = candidates.get(k);
    if (c === undefined) {
      c = { key: pickKey(d.event), digests: new Set(options.stored?.digests.get(k) ?? []), events: new Map() };
      candidates.set(k, c);
    }
    c.digests.add(d.payload.digest);
    if (!c.events.has(d.payload.digest)) c.events.set(d.payload.digest, d.event);
  }
  const winners = new Map<string, string>();
  for (const [k, c] of candidates) {
    for (const digest of c.digests) {
      const stored = options.stored?.events.get(digestKey(k, digest));
      if (stored !== undefined && !c.events.has(digest)) c.events.set(digest, stored.event);
    }
    winners.set(k, c.events.size === 1 ? [...c.events.keys()][0]! : keptOf(c.events, registry, context));
  }
  const kept = new Map<string, KeptPayload>();
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
    kept.set(k, { ...pickKey(event), digest: d.payload.digest, event, msg });
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
  const collided = [...candidates.values()].filter((c) => c.digests.size > 1);
  if (collided.length > 0)
    add({ table: 'raw_event_collisions', rows: collided.map((c) => collisionRow(c.key, c.digests, options.failedAt)) });
  const digests = new Map([...candidates].map(([k, c]) => [k, c.digests]));
  return { tables, dead, counts: [...counts.values()], notes: [...notes.values()], kept: [...kept.values()], digests };
}

/** The digest of the payload that ranks highest among several under one id. */
function keptOf(events: ReadonlyMap<string, RawEvent>, registry: MapperRegistry, context: MapContext): string {
  let best: PayloadRank | undefined;
  for (const [digest, event] of events) {
    const rank = rankPayload(event, digest, registry, context);
    if (best === undefined || compareRanks(rank, best) > 0) best = rank;
  }
  return best!.digest;
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
    const { tables, dead, counts, notes, kept, digests } = await normalizeBeside(store, decoded, registry, context, failedAt);
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

/**
 * normalizeDecoded of a batch against what raw_events holds under its keys (storedPayloadsFor),
 * mapping while the store looks up: the batch is mapped as if nothing else were stored, and mapped
 * again with the stored payloads only when some key holds a digest the batch does not carry. Where
 * every stored digest is one of the batch's, the stored payloads change nothing of the outcome.
 */
async function normalizeBeside(
  store: Store,
  decoded: readonly DecodedMessage[],
  registry: MapperRegistry,
  context: MapContext,
  failedAt: string,
): Promise<NormalizedBatch> {
  const lookup = storedPayloadsFor(store, decoded);
  // The look-up's request leaves before the mapping holds the thread.
  await new Promise<void>((resolve) => setImmediate(resolve));
  let alone: NormalizedBatch;
  try {
    alone = normalizeDecoded(decoded, registry, context, { keepRaw: true, failedAt });
  } catch (err) {
    await lookup.catch(() => undefined);
    throw err;
  }
  const stored = await lookup;
  const unknown = [...stored.digests].some(([k, ds]) => [...ds].some((d) => alone.digests.get(k)?.has(d) !== true));
  return unknown ? normalizeDecoded(decoded, registry, context, { keepRaw: true, failedAt, stored }) : alone;
}

/** How many times settleCollisions looks again before it fails the batch (which the bus then redelivers). */
const SETTLE_ROUNDS = 5;

/**
 * Runs after a batch's rows are in the store, for the payloads it kept. Another normalizer may have
 * stored a different payload under the same id at the same time (two partitions, a rebalance, a
 * replayed batch), unseen by the look-up before the write. Both tables keep, on a tie, the row
 * inserted last, so for every key whose stored digests now hold one this batch did not know of, the
 * payload that ranks highest of the kept one and the new ones (collisions.ts) is written again, raw
 * row and domain rows, and the key looked at again. Whichever normalizer writes last thereby sees the
 * other's payload and leaves the one that ranks highest on top, so the outcome does not depend on how
 * the writes interleave. New digests are recorded in raw_event_collisions.
 */
async function settleCollisions(
  deps: { store: Store; writer: BatchWriter; registry: MapperRegistry; context: MapContext; failedAt: string },
  kept: readonly KeptPayload[],
  known: Map<string, Set<string>>,
): Promise<void> {
  let pending = kept;
  for (let round = 0; pending.length > 0; round++) {
    const now = await storedDigests(deps.store, pending);
    const changed: Array<{ kept: KeptPayload; unseen: string[] }> = [];
    const noticed: Row[] = [];
    for (const p of pending) {
      const k = rawKey(p);
      const before = known.get(k) ?? new Set([p.digest]);
      const unseen = [...(now.get(k) ?? [])].filter((d) => !before.has(d));
      if (unseen.length === 0) continue;
      const all = new Set([...before, ...unseen]);
      known.set(k, all);
      noticed.push(collisionRow(p, all, deps.failedAt));
      changed.push({ kept: p, unseen });
    }
    if (noticed.length > 0) await deps.writer.write([{ table: 'raw_event_collisions', rows: noticed }]);
    if (changed.length === 0) return;
    if (round + 1 >= SETTLE_ROUNDS) {
      const first = changed[0]!.kept;
      throw new Error(
        `the payloads of ${first.type} ${first.subject} (event ${first.id}) still changed after ${SETTLE_ROUNDS} looks; the batch is retried`,
      );
    }
    const others = await fetchPayloads(
      deps.store,
      changed.flatMap((c) => c.unseen.map((digest) => ({ ...pickKey(c.kept), digest }))),
    );
    // The one that ranks highest of what this batch kept and what came meanwhile, written once more.
    const top = changed.map(({ kept: p, unseen }) => {
      const arrivals = new Map<string, Arrival>([[p.digest, p]]);
      for (const digest of unseen) {
        const other = others.get(digestKey(rawKey(p), digest));
        if (other !== undefined) arrivals.set(digest, other);
      }
      const events = new Map([...arrivals].map(([digest, a]) => [digest, a.event]));
      return arrivals.get(keptOf(events, deps.registry, deps.context))!.msg;
    });
    const rewritten = normalizeBatch(top, deps.registry, deps.context, {
      keepRaw: true,
      failedAt: deps.failedAt,
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
