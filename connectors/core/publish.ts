import type { Bus, BusMessage } from '../../infra/bus/types.js';
import { systemClock, type Clock } from '../../infra/clock.js';
import type { PipelineMetrics } from '../../infra/observability/metrics.js';
import { buildRawEvent, rawTopic, type RawEvent, type Source, type SourceRecord } from '../../schemas/raw-event.js';

/** Bus message for a RawEvent: keyed by entity so versions of one entity stay in order. */
export function rawEventMessage(event: RawEvent): { key: string; value: string; headers: Record<string, string> } {
  return {
    key: event.partitionkey,
    value: JSON.stringify(event),
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

/**
 * Turns records into RawEvents and publishes them on their sources' topics. Resolves once the bus
 * acknowledged every one: only then may a connector move its cursor or answer a webhook.
 */
export async function publishRecords(
  bus: Bus,
  records: Iterable<SourceRecord>,
  connector: string,
  options: { metrics?: PipelineMetrics; chunk?: number; now?: () => Date; clock?: Clock; topicPrefix?: string } = {},
): Promise<Map<Source, number>> {
  const chunk = options.chunk ?? 2_000;
  const clock = options.clock ?? systemClock;
  const now = options.now ?? (() => clock.date());
  const bySource = new Map<Source, RawEvent[]>();
  const counts = new Map<Source, number>();
  const flush = async (source: Source, events: RawEvent[]): Promise<void> => {
    if (events.length === 0) return;
    const topic = rawTopic(source, options.topicPrefix);
    await bus.publish(topic, events.map(rawEventMessage));
    options.metrics?.published.inc({ topic }, events.length);
    counts.set(source, (counts.get(source) ?? 0) + events.length);
  };
  for (const record of records) {
    const event = buildRawEvent(record, connector, now());
    let list = bySource.get(record.source);
    if (list === undefined) bySource.set(record.source, (list = []));
    list.push(event);
    if (list.length >= chunk) {
      bySource.set(record.source, []);
      await flush(record.source, list);
    }
  }
  for (const [source, events] of bySource) await flush(source, events);
  return counts;
}
