import { createRequire } from 'node:module';
import net from 'node:net';
import tls from 'node:tls';
import {
  Kafka,
  Partitioners,
  logLevel,
  type Consumer,
  type ISocketFactory,
  type KafkaConfig,
  type LogEntry,
  type Producer,
  type SASLOptions,
} from 'kafkajs';
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
  /**
   * Longest one `publish` waits for the broker to acknowledge every message, from the call on: the
   * queue before it, creating its topic and connecting included (default 5,000 ms). Past it the
   * publish fails with KafkaUnavailableError, and the request still in flight is given up, not
   * retried behind the caller's back.
   */
  publishTimeoutMs?: number;
}

/** Kafka did not acknowledge a publish within its bound: the broker is down, unreachable or too slow. */
export class KafkaUnavailableError extends Error {
  override readonly name = 'KafkaUnavailableError';
  /** The dependency that failed, for answers that name it. */
  readonly dependency = 'kafka';
}

export const DEFAULT_PUBLISH_TIMEOUT_MS = 5_000;

const KAFKA_TO_PINO: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** Group errors the consumer answers by joining the group again (kafkajs does not flag them retriable). */
const REJOINED = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

/**
 * The messages of the Kafka protocol errors the client recovers from by itself (a partition's leader
 * moved, a coordinator is loading, the group is rebalancing): from kafkajs's own table of protocol
 * errors, those its retrier retries and those its consumer answers by rejoining the group. The client
 * logs a response carrying one at error level; it is routine while a broker restarts or the group
 * rebalances, and is logged at warn here.
 */
const RETRIABLE_PROTOCOL_ERRORS: ReadonlySet<string> = (() => {
  try {
    const table = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
      errorCodes?: Array<{ type?: unknown; message?: unknown; retriable?: unknown }>;
    };
    return new Set(
      (table.errorCodes ?? []).filter((e) => e.retriable === true || REJOINED.has(String(e.type))).map((e) => String(e.message)),
    );
  } catch {
    return new Set<string>();
  }
})();

/** The level a client log entry is written at: a retried protocol error is a warning, not an error. */
export function kafkaLogLevel(level: number, entry: { error?: unknown }): 'error' | 'warn' | 'info' | 'debug' {
  const mapped = KAFKA_TO_PINO[level] ?? 'info';
  return mapped === 'error' && typeof entry.error === 'string' && RETRIABLE_PROTOCOL_ERRORS.has(entry.error) ? 'warn' : mapped;
}

export function createKafkaBus(options: KafkaBusOptions): Bus {
  const log = options.logger.child({ component: 'kafka' });
  const clock = options.clock ?? systemClock;
  const publishTimeoutMs = options.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  const clientConfig: KafkaConfig = {
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
        log[kafkaLogLevel(level, rest as { error?: unknown })](rest, message);
      },
  };
  const kafka = new Kafka(clientConfig);
  const consumers = new Set<Consumer>();
  /** Topics known to exist; a publisher may be the first to use one (a puller runs before any consumer). */
  const known = new Set<string>();
  const maxRequestBytes = options.maxRequestBytes ?? 768 * 1024;
  let admin = kafka.admin();
  let adminConnected: Promise<void> | undefined;
  const withAdmin = async (): Promise<typeof admin> => {
    const current = admin;
    if (adminConnected === undefined) {
      const connecting = current.connect();
      adminConnected = connecting;
      // A failed connect is not kept: the next call connects again (the broker may be back by then).
      connecting.catch(() => {
        if (adminConnected === connecting) adminConnected = undefined;
      });
    }
    await adminConnected;
    return current;
  };
  /** Drops an admin whose call outlived its caller's bound; the next call connects a new one. */
  const replaceAdmin = (): void => {
    const old = admin;
    admin = kafka.admin();
    adminConnected = undefined;
    void old.disconnect().catch(() => undefined);
  };

  /**
   * The idempotent producer, one generation at a time. A generation whose request outlived its
   * publish's bound is given up: it opens no connection and finds no broker from then on, so the
   * unlimited retries kafkajs needs for idempotence end at their next attempt instead of sending
   * the given-up request once the broker is back (its caller was told it failed and sends it again).
   */
  interface Generation {
    id: number;
    producer: Producer;
    connected: Promise<void>;
    givenUp: boolean;
  }
  let generations = 0;
  let current: Generation | undefined;
  const newGeneration = (): Generation => {
    const gen = { id: ++generations, givenUp: false } as Generation;
    const connectSocket = plainOrTlsSocket();
    const socketFactory: ISocketFactory = (args) => {
      if (gen.givenUp) throw new Error('this producer was given up');
      return connectSocket(args);
    };
    const client = new Kafka({ ...clientConfig, brokers: () => (gen.givenUp ? [] : options.brokers), socketFactory });
    // Idempotent: the broker drops a retried duplicate, so a retry after a lost ack writes once. kafkajs
    // keeps that guarantee only with unlimited retries; the caller's bound comes from publishTimeoutMs.
    gen.producer = client.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      retry: { retries: Number.MAX_SAFE_INTEGER },
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    gen.connected = gen.producer.connect();
    gen.connected.catch((err: unknown) => {
      // kafkajs gave up connecting: the next send starts a new producer.
      if (current === gen) current = undefined;
      log.warn({ err, producer: gen.id }, 'the producer could not connect');
    });
    return gen;
  };
  const giveUp = (gen: Generation, pending: Promise<unknown> | undefined, reason: string): void => {
    if (gen.givenUp) return;
    gen.givenUp = true;
    if (current === gen) current = undefined;
    const since = clock.now();
    pending?.then(
      () =>
        log.warn(
          { producer: gen.id, afterMs: clock.now() - since },
          `a given-up send was acknowledged after all (${reason}); its messages may be on the topic twice`,
        ),
      (err: unknown) => log.info({ producer: gen.id, afterMs: clock.now() - since, err }, `a given-up send ended unsent (${reason})`),
    );
    void gen.producer.disconnect().catch((err: unknown) => log.warn({ err }, 'disconnecting a given-up producer failed'));
  };

  /**
   * Produce requests go one at a time, in the order the publishes were called, on the idempotent
   * producer. kafkajs numbers each partition's batches itself and, when a request fails, takes its
   * numbers back for the retry: a second request to the same partition sent meanwhile would be given
   * them, and the broker would take it for a duplicate of the first if that had been written. Several
   * publishes may be pending at once (publishRecords keeps chunks in flight); each waits its turn here.
   * A request whose earlier request for one of the same keys failed is not sent, so a key's versions
   * never land out of order. Should the broker refuse the sequence all the same, the producer is
   * replaced and the request sent again: the event ids are deterministic, so the store converges.
   */
  interface Job {
    failed: unknown;
  }
  let sendTail: Promise<unknown> = Promise.resolve();
  const lastByKey = new Map<string, Job>();
  const enqueue = (topic: string, messages: OutgoingMessage[], limit: Deadline): Promise<void> => {
    const keys = [...new Set(messages.flatMap((m) => (m.key === null ? [] : [`${topic}\u0000${m.key}`])))];
    const before = new Set(keys.flatMap((k) => lastByKey.get(k) ?? []));
    const job: Job = { failed: undefined };
    for (const k of keys) lastByKey.set(k, job);
    const attempt = async (): Promise<void> => {
      try {
        const earlier = [...before].find((j) => j.failed !== undefined);
        if (earlier !== undefined) {
          throw new Error(`not sent: an earlier publish of the same keys to ${topic} failed (${errorMessage(earlier.failed)})`, {
            cause: earlier.failed,
          });
        }
        if (limit.expired) throw limit.error;
        if (!known.has(topic)) await ensureBounded([{ topic }], limit);
        await sendBounded(
          { topic, acks: -1, messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers ?? {} })) },
          limit,
        );
      } catch (err) {
        job.failed = err;
        throw err;
      } finally {
        for (const k of keys) if (lastByKey.get(k) === job) lastByKey.delete(k);
      }
    };
    const run = sendTail.then(attempt, attempt);
    sendTail = run.catch(() => undefined);
    return run;
  };
  const sendBounded = async (record: Parameters<Producer['send']>[0], limit: Deadline): Promise<void> => {
    const once = async (): Promise<void> => {
      const gen = (current ??= newGeneration());
      const sending = gen.connected.then(() => gen.producer.send(record));
      sending.catch(() => undefined);
      try {
        await limit.race(sending);
      } catch (err) {
        if (err === limit.error) giveUp(gen, sending, `no acknowledgement within ${publishTimeoutMs} ms`);
        throw err;
      }
    };
    try {
      await once();
    } catch (err) {
      if (!brokeSequence(err)) throw err;
      log.warn({ err, topic: record.topic }, 'the broker refused the producer sequence; sending again with a new producer');
      if (current !== undefined) giveUp(current, undefined, 'sequence refused');
      await once();
    }
  };
  const ensureBounded = async (topics: TopicSpec[], limit: Deadline): Promise<void> => {
    try {
      await limit.race(ensureTopics(topics));
    } catch (err) {
      if (err === limit.error) replaceAdmin();
      throw err;
    }
  };
  const deadline = (what: string): Deadline => {
    let expired = false;
    const error = new KafkaUnavailableError(
      `Kafka (${options.brokers.join(', ')}) did not acknowledge ${what} within ${publishTimeoutMs} ms`,
    );
    let fire!: (e: Error) => void;
    const fired = new Promise<never>((_, reject) => (fire = reject));
    fired.catch(() => undefined);
    const cancel = clock.setTimer(() => {
      expired = true;
      fire(error);
    }, publishTimeoutMs);
    return {
      get expired() {
        return expired;
      },
      error,
      race: <T>(p: Promise<T>): Promise<T> => Promise.race([p, fired]),
      done: cancel,
    };
  };
  const ensureTopics = async (topics: TopicSpec[]): Promise<void> => {
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
  };

  return {
    kind: 'kafka',

    ensureTopics,

    async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
      if (messages.length === 0) return;
      const limit = deadline(`${messages.length} message(s) for ${topic}`);
      // Every request of this publish is queued now, before anything is awaited, so the queue keeps
      // the order of the calls; each request stays under the broker's size limit.
      const sends: Array<Promise<void>> = [];
      let chunk: OutgoingMessage[] = [];
      let bytes = 0;
      for (const m of messages) {
        const size = Buffer.byteLength(m.value) + (m.key?.length ?? 0) + 64;
        if (bytes + size > maxRequestBytes && chunk.length > 0) {
          sends.push(enqueue(topic, chunk, limit));
          chunk = [];
          bytes = 0;
        }
        chunk.push(m);
        bytes += size;
      }
      sends.push(enqueue(topic, chunk, limit));
      try {
        const results = await Promise.allSettled(sends);
        const failed = results.find((r) => r.status === 'rejected');
        if (failed !== undefined) throw failed.reason;
      } finally {
        limit.done();
      }
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
      if (current !== undefined) await current.producer.disconnect();
      current = undefined;
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

/** The end of a publish's bound: `race` rejects with `error` once it passed. */
interface Deadline {
  readonly expired: boolean;
  readonly error: KafkaUnavailableError;
  race<T>(p: Promise<T>): Promise<T>;
  done(): void;
}

const KEEP_ALIVE_MS = 60_000;

/** Opens a broker connection as kafkajs does by default: TLS when configured, keep-alive on. */
function plainOrTlsSocket(): ISocketFactory {
  return ({ host, port, ssl, onConnect }) => {
    const socket = ssl
      ? tls.connect({ host, port, ...(net.isIP(host) === 0 ? { servername: host } : {}), ...ssl }, onConnect)
      : net.connect({ host, port }, onConnect);
    socket.setKeepAlive(true, KEEP_ALIVE_MS);
    return socket;
  };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
