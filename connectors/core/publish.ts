import type { Bus, BusMessage } from '../../infra/bus/types.js';
import { systemClock, type Clock } from '../../infra/clock.js';
import type { PipelineMetrics } from '../../infra/observability/metrics.js';
import { buildRawEvent, rawTopic, type RawEvent, type Source, type SourceRecord } from '../../schemas/raw-event.js';

/** Bus message for a RawEvent: keyed by entity so versions of one entity stay in order. */
export function rawEventMessage(event: RawEvent): { key: string; value: string; headers: Record<string, string> } {
  return rawEventMessageWithData(event, undefined);
}

/**
 * The same message as rawEventMessage, given `dataJson`, the JSON text of `event.data` (a webhook's
 * body as received): only the envelope is serialized, and the payload's text put in as its last
 * member, where JSON.stringify puts `data`.
 */
function rawEventMessageWithData(event: RawEvent, dataJson: string | undefined): ReturnType<typeof rawEventMessage> {
  // JSON.stringify leaves out a member whose value is undefined: the envelope in the same order, without data.
  const value =
    dataJson === undefined ? JSON.stringify(event) : `${JSON.stringify({ ...event, data: undefined }).slice(0, -1)},"data":${dataJson}}`;
  return {
    key: event.partitionkey,
    value,
    headers: { 'ce-id': event.id, 'ce-type': event.type, 'ce-source': event.source },
  };
}

/** A RawEvent as the normalizer receives it from `topic` at `offset` (replays, benches and tests feed it these). */
export function rawEventBusMessage(event: RawEvent, offset: number, topicPrefix = ''): BusMessage {
  const m = rawEventMessage(event);
  return {
    topic: rawTopic(event.source, topicPrefix),
    partition: 0,
    offset: String(offset),
    key: Buffer.from(m.key),
    value: Buffer.from(m.value),
    headers: m.headers,
    timestamp: 0,
  };
}

/** Chunks publishRecords keeps in flight at once unless told otherwise. */
export const DEFAULT_PUBLISH_IN_FLIGHT = 4;

/**
 * Turns records into RawEvents and publishes them on their sources' topics, `chunk` events per
 * publish. Up to `inFlight` chunks are in flight at once: the next chunk is built while earlier ones
 * are sent, and the bus keeps the order of the calls, so each key's versions stay in order. Resolves
 * once the bus acknowledged every one: only then may a connector move its cursor or answer a webhook.
 * After a failed chunk no further chunk is started; the chunks in flight are awaited, then the first
 * failure is thrown.
 */
export async function publishRecords(
  bus: Bus,
  records: Iterable<SourceRecord>,
  connector: string,
  options: {
    metrics?: PipelineMetrics;
    chunk?: number;
    inFlight?: number;
    now?: () => Date;
    clock?: Clock;
    topicPrefix?: string;
    /** The JSON text of a record's payload when the caller has it already (a webhook's body), so it is not serialized again. */
    payloadJson?: (payload: SourceRecord['payload']) => string | undefined;
  } = {},
): Promise<Map<Source, number>> {
  const chunk = options.chunk ?? 2_000;
  const maxInFlight = Math.max(1, options.inFlight ?? DEFAULT_PUBLISH_IN_FLIGHT);
  const clock = options.clock ?? systemClock;
  const now = options.now ?? (() => clock.date());
  const bySource = new Map<Source, RawEvent[]>();
  const counts = new Map<Source, number>();
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const start = (source: Source, events: RawEvent[]): void => {
    if (events.length === 0 || failure !== undefined) return;
    const topic = rawTopic(source, options.topicPrefix);
    const sent: Promise<void> = bus
      .publish(
        topic,
        events.map((e) => rawEventMessageWithData(e, options.payloadJson?.(e.data))),
      )
      .then(
        () => {
          inFlight.delete(sent);
          options.metrics?.published.inc({ topic }, events.length);
          counts.set(source, (counts.get(source) ?? 0) + events.length);
        },
        (error: unknown) => {
          inFlight.delete(sent);
          failure ??= { error };
        },
      );
    inFlight.add(sent);
  };
  try {
    for (const record of records) {
      const event = buildRawEvent(record, connector, now());
      let list = bySource.get(record.source);
      if (list === undefined) bySource.set(record.source, (list = []));
      list.push(event);
      if (list.length >= chunk) {
        bySource.set(record.source, []);
        start(record.source, list);
        while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
        if (failure !== undefined) break;
      }
    }
    for (const [source, events] of bySource) start(source, events);
  } finally {
    // Nothing is left publishing behind the caller's back, whatever ended the loop.
    await Promise.all(inFlight);
  }
  if (failure !== undefined) throw failure.error;
  return counts;
}
