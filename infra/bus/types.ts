/**
 * The bus contract shared by the Kafka and the in-process implementations.
 *
 * - `publish` resolves only once every message is durable on the bus (Kafka: acknowledged by the
 *   in-sync replicas; in-process: written and fsynced to the local log). Callers advance cursors and
 *   answer webhooks only after it resolves.
 * - A consumer hands the handler one batch from one partition at a time, in offset order. When the
 *   handler resolves, the batch's offsets are committed; when it throws, nothing of the batch is
 *   committed and the batch is delivered again (after a back-off), so a handler must be idempotent.
 *   Dead-lettering is the handler's decision: it publishes to the dead-letter topic before it resolves.
 */
export interface OutgoingMessage {
  key: string | null;
  value: Buffer | string;
  headers?: Record<string, string>;
}

export interface BusMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /** Broker or log append time, ms since epoch. */
  timestamp: number;
}

export interface Batch {
  topic: string;
  partition: number;
  messages: BusMessage[];
  /** Messages behind this batch's last one in the partition, when the bus knows it. */
  lag: number | undefined;
}

export type BatchHandler = (batch: Batch, ctx: { heartbeat(): Promise<void> }) => Promise<void>;

export interface ConsumeOptions {
  groupId: string;
  topics: string[];
  handler: BatchHandler;
  /** Partitions worked on at once. */
  concurrency?: number;
  /** Upper bound of messages handed to the handler in one batch. */
  maxBatchMessages?: number;
  /** Start at the earliest offset when the group has no committed offset (default true). */
  fromBeginning?: boolean;
  /** Kafka only: how long the group waits for a silent member before moving its partitions. */
  sessionTimeoutMs?: number;
  /** Called when a batch handler throws, before the batch is retried. */
  onError?: (error: unknown, batch: Batch) => void;
}

export interface Subscription {
  /** Stop fetching, let in-flight batches finish and commit, then leave the group. */
  stop(): Promise<void>;
  /** Resolves once the consumer has joined its group and is fetching. */
  readonly ready: Promise<void>;
}

export interface TopicSpec {
  topic: string;
  partitions?: number;
}

export interface Bus {
  readonly kind: 'kafka' | 'local';
  ensureTopics(topics: TopicSpec[]): Promise<void>;
  publish(topic: string, messages: OutgoingMessage[]): Promise<void>;
  consume(options: ConsumeOptions): Promise<Subscription>;
  /** Committed offset and end offset per partition, for lag reporting and tests. */
  lag(groupId: string, topic: string): Promise<Array<{ partition: number; committed: number; end: number }>>;
  close(): Promise<void>;
}

export function headerValue(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (Array.isArray(v)) return headerValue(v[0]);
  return typeof v === 'string' ? v : JSON.stringify(v);
}
