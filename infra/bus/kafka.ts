import { Kafka, Partitioners, logLevel, type Consumer, type LogEntry, type Producer, type SASLOptions } from 'kafkajs';
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../observability/logger.js';
import { backoffDelay, sleepUnlessStopped } from '../retry.js';
import {
  headerValue,
  type Bus,
  type BusMessage,
  type ConsumeOptions,
  type OutgoingMessage,
  type Subscription,
  type TopicSpec,
} from './types.js';

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  ssl?: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | undefined;
  defaultPartitions?: number;
  replicationFactor?: number;
  logger: Logger;
  /** Bytes of message values per produce request; the broker rejects record batches over ~1 MB. */
  maxRequestBytes?: number;
  /** Where a failed handler's back-off before the batch is handled again is waited (default: the wall clock). */
  clock?: Clock;
}

const KAFKA_TO_PINO: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export function createKafkaBus(options: KafkaBusOptions): Bus {
  const log = options.logger.child({ component: 'kafka' });
  const clock = options.clock ?? systemClock;
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    ssl: options.ssl ?? false,
    ...(options.sasl !== undefined ? { sasl: options.sasl as SASLOptions } : {}),
    retry: { initialRetryTime: 200, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        log[KAFKA_TO_PINO[level] ?? 'info'](rest, message);
      },
  });
  const admin = kafka.admin();
  let adminConnected: Promise<void> | undefined;
  const withAdmin = async (): Promise<typeof admin> => {
    adminConnected ??= admin.connect();
    await adminConnected;
    return admin;
  };
  let producer: Producer | undefined;
  let producerConnected: Promise<void> | undefined;
  const getProducer = async (): Promise<Producer> => {
    if (producer === undefined) {
      // Idempotent: the broker drops a retried duplicate, so a retry after a lost ack writes once.
      producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      producerConnected = producer.connect();
    }
    await producerConnected;
    return producer;
  };
  /** Drops the producer, so that the next send starts a new one (a new producer id, sequences from 0). */
  const resetProducer = async (): Promise<void> => {
    const old = producer;
    producer = undefined;
    producerConnected = undefined;
    await old?.disconnect().catch((err: unknown) => log.warn({ err }, 'disconnecting a broken producer failed'));
  };
  /**
   * One produce request at a time on the idempotent producer. kafkajs numbers each partition's batches
   * itself; two sends at once (streams of one pull publish concurrently) can be given the same sequence
   * number, which the broker refuses (OUT_OF_ORDER_SEQUENCE_NUMBER) for the rest of that producer's life.
   * Should it happen all the same, the producer is replaced and the batch sent again: the event ids are
   * deterministic, so a batch the broker had already taken converges in the store.
   */
  let sendTail: Promise<unknown> = Promise.resolve();
  const send = (record: Parameters<Producer['send']>[0]): Promise<void> => {
    const attempt = async (): Promise<void> => {
      try {
        await (await getProducer()).send(record);
      } catch (err) {
        if (!brokeSequence(err)) throw err;
        log.warn({ err, topic: record.topic }, 'the broker refused the producer sequence; sending again with a new producer');
        await resetProducer();
        await (await getProducer()).send(record);
      }
    };
    const run = sendTail.then(attempt, attempt);
    sendTail = run.catch(() => undefined);
    return run;
  };
  const consumers = new Set<Consumer>();
  /** Topics known to exist; a publisher may be the first to use one (a puller runs before any consumer). */
  const known = new Set<string>();
  const maxRequestBytes = options.maxRequestBytes ?? 768 * 1024;

  return {
    kind: 'kafka',

    async ensureTopics(topics: TopicSpec[]): Promise<void> {
      if (topics.every((t) => known.has(t.topic))) return;
      const a = await withAdmin();
      const existing = new Set(await a.listTopics());
      const missing = topics.filter((t) => !existing.has(t.topic));
      if (missing.length > 0) {
        await a.createTopics({
          waitForLeaders: true,
          topics: missing.map((t) => ({
            topic: t.topic,
            numPartitions: t.partitions ?? options.defaultPartitions ?? 6,
            replicationFactor: options.replicationFactor ?? 1,
          })),
        });
      }
      for (const t of topics) known.add(t.topic);
    },

    async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
      if (messages.length === 0) return;
      if (!known.has(topic)) await this.ensureTopics([{ topic }]);
      // Sequential chunks keep per-key order (one request in flight) and stay under the broker's limit.
      let chunk: OutgoingMessage[] = [];
      let bytes = 0;
      const flush = async (): Promise<void> => {
        if (chunk.length === 0) return;
        await send({
          topic,
          acks: -1,
          messages: chunk.map((m) => ({ key: m.key, value: m.value, headers: m.headers ?? {} })),
        });
        chunk = [];
        bytes = 0;
      };
      for (const m of messages) {
        const size = Buffer.byteLength(m.value) + (m.key?.length ?? 0) + 64;
        if (bytes + size > maxRequestBytes) await flush();
        chunk.push(m);
        bytes += size;
      }
      await flush();
    },

    async consume(opts: ConsumeOptions): Promise<Subscription> {
      const consumer = kafka.consumer({
        groupId: opts.groupId,
        allowAutoTopicCreation: false,
        sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
        heartbeatInterval: 3_000,
        maxBytesPerPartition: 4 * 1024 * 1024,
        maxBytes: 16 * 1024 * 1024,
        retry: { retries: 10, initialRetryTime: 300 },
      });
      consumers.add(consumer);
      let stopping = false;
      let resolveReady!: () => void;
      const ready = new Promise<void>((r) => (resolveReady = r));
      consumer.on(consumer.events.GROUP_JOIN, () => resolveReady());
      await consumer.connect();
      await consumer.subscribe({ topics: opts.topics, fromBeginning: opts.fromBeginning ?? true });
      const maxBatch = opts.maxBatchMessages ?? 5_000;
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: opts.concurrency ?? 1,
        eachBatch: async (payload) => {
          const { batch } = payload;
          const heartbeat = (): Promise<void> => payload.heartbeat();
          const isRunning = (): boolean => payload.isRunning();
          const isStale = (): boolean => payload.isStale();
          const resolveOffset = (offset: string): void => payload.resolveOffset(offset);
          const all = batch.messages;
          for (let start = 0; start < all.length; start += maxBatch) {
            if (!isRunning() || isStale() || stopping) return;
            const slice = all.slice(start, start + maxBatch);
            const messages: BusMessage[] = slice.map((m) => ({
              topic: batch.topic,
              partition: batch.partition,
              offset: m.offset,
              key: m.key ?? null,
              value: m.value ?? null,
              headers: Object.fromEntries(
                Object.entries(m.headers ?? {}).flatMap(([k, v]) => {
                  const s = headerValue(v);
                  return s === undefined ? [] : [[k, s]];
                }),
              ),
              timestamp: Number(m.timestamp),
            }));
            const last = slice[slice.length - 1]!;
            const high = BigInt(batch.highWatermark);
            const lag = Number(high - BigInt(last.offset) - 1n);
            const b = { topic: batch.topic, partition: batch.partition, messages, lag };
            // Retry the same messages until they are handled: nothing is skipped, nothing committed early.
            for (let attempt = 0; ; attempt++) {
              try {
                await opts.handler(b, { heartbeat });
                break;
              } catch (err) {
                opts.onError?.(err, b);
                if (!isRunning() || isStale() || stopping) return;
                await sleepUnlessStopped(backoffDelay(attempt), () => !isRunning() || stopping, heartbeat, { clock });
                if (!isRunning() || stopping) return;
              }
            }
            const next = (BigInt(last.offset) + 1n).toString();
            await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
            resolveOffset(last.offset);
            await heartbeat();
          }
        },
      });
      return {
        ready,
        async stop(): Promise<void> {
          stopping = true;
          await consumer.disconnect();
          consumers.delete(consumer);
        },
      };
    },

    async lag(groupId: string, topic: string) {
      const a = await withAdmin();
      const [committed, ends] = await Promise.all([a.fetchOffsets({ groupId, topics: [topic] }), a.fetchTopicOffsets(topic)]);
      const byPartition = new Map<number, number>();
      for (const t of committed) for (const p of t.partitions) byPartition.set(p.partition, Number(p.offset));
      return ends.map((e) => {
        const c = byPartition.get(e.partition) ?? -1;
        return { partition: e.partition, committed: c < 0 ? Number(e.low) : c, end: Number(e.high) };
      });
    },

    async close(): Promise<void> {
      await Promise.allSettled([...consumers].map((c) => c.disconnect()));
      consumers.clear();
      if (producer !== undefined) await producer.disconnect();
      if (adminConnected !== undefined) await admin.disconnect();
    },
  };
}

/** Whether a failed send means the idempotent producer's sequence numbers no longer match the broker's. */
function brokeSequence(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; depth++) {
    if ((e as { type?: unknown }).type === 'OUT_OF_ORDER_SEQUENCE_NUMBER') return true;
    e = (e as { cause?: unknown; originalError?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
  }
  return false;
}
