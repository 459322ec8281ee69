import type { Logger } from '../observability/logger.js';
import type { PipelineMetrics } from '../observability/metrics.js';
import type { Store } from './client.js';

export type Row = Record<string, unknown>;

export interface BatchWriterOptions {
  /** Rows buffered (all tables together) before a flush starts. */
  flushRows: number;
  /** Longest a buffered row waits for its flush. */
  flushIntervalMs: number;
  /**
   * A flush also starts once no write has come for this long. Callers block on their writes, so a
   * pause means every concurrent caller has handed in its rows: waiting longer only adds latency.
   */
  lingerMs?: number;
  metrics?: PipelineMetrics | undefined;
  logger?: Logger | undefined;
}

interface Pending {
  rows: Map<string, Row[]>;
  count: number;
  waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }>;
}

/**
 * Collects rows for many tables and writes them in few large inserts. `write` resolves only when the
 * rows it was given are in the store (or rejects when their insert failed), which is what lets a
 * consumer commit its offsets after the write and not before. While one flush runs, new rows gather
 * for the next one; callers that await `write` are held back, so memory stays bounded by the number
 * of batches in flight.
 */
export class BatchWriter {
  private pending: Pending = emptyPending();
  private timer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    readonly store: Store,
    private readonly options: BatchWriterOptions,
  ) {}

  write(batches: Array<{ table: string; rows: Row[] }>): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the batch writer is closed'));
    let added = 0;
    for (const { table, rows } of batches) {
      if (rows.length === 0) continue;
      const list = this.pending.rows.get(table);
      if (list === undefined) this.pending.rows.set(table, [...rows]);
      else for (const r of rows) list.push(r);
      added += rows.length;
    }
    if (added === 0) return Promise.resolve();
    this.pending.count += added;
    const done = new Promise<void>((resolve, reject) => this.pending.waiters.push({ resolve, reject }));
    if (this.pending.count >= this.options.flushRows) {
      this.startFlush();
    } else {
      this.timer ??= setTimeout(() => this.startFlush(), this.options.flushIntervalMs);
      if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => this.startFlush(), this.options.lingerMs ?? 20);
    }
    return done;
  }

  /** Writes whatever is buffered now and resolves when it, and every earlier flush, is done. */
  async flush(): Promise<void> {
    if (this.pending.count > 0) this.startFlush();
    await this.inFlight;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private startFlush(): void {
    clearTimeout(this.timer);
    clearTimeout(this.idleTimer);
    this.timer = undefined;
    this.idleTimer = undefined;
    const batch = this.pending;
    if (batch.count === 0) return;
    this.pending = emptyPending();
    // Flushes run one after the other, so rows of one table reach the store in the order written.
    this.inFlight = this.inFlight.then(() => this.insert(batch));
  }

  private async insert(batch: Pending): Promise<void> {
    const end = this.options.metrics?.flushSeconds.startTimer();
    try {
      // The tables of one flush are written side by side. Each table's rows still reach the store in
      // the order written: a flush ends only once every insert of it has ended (failed ones included),
      // and the next starts after it. The waiters hear only when all are in.
      const inserts = await Promise.allSettled(
        [...batch.rows].map(async ([table, rows]) => {
          await this.store.client.insert({ table, values: rows, format: 'JSONEachRow' });
          this.options.metrics?.rowsWritten.inc({ table }, rows.length);
        }),
      );
      const failed = inserts.find((r) => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      for (const w of batch.waiters) w.resolve();
    } catch (err) {
      this.options.logger?.warn({ err, rows: batch.count }, 'store write failed; the batches behind it will be retried');
      for (const w of batch.waiters) w.reject(err);
    } finally {
      end?.();
    }
  }
}

function emptyPending(): Pending {
  return { rows: new Map(), count: 0, waiters: [] };
}
