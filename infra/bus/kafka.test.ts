import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../test/support/clock.js';
import { quietLogger, waitFor } from '../../test/support/harness.js';

/**
 * kafkajs stood in by a consumer whose `run` keeps its eachBatch, so the test hands it a batch
 * itself: no broker is involved, only the bus's own handling of a failed handler.
 */
const consumers = vi.hoisted(() => [] as Array<{ eachBatch?: (payload: unknown) => Promise<void>; commits: unknown[] }>);
vi.mock('kafkajs', () => {
  class Kafka {
    admin() {
      return { connect: () => Promise.resolve(), disconnect: () => Promise.resolve() };
    }
    producer() {
      return { connect: () => Promise.resolve(), disconnect: () => Promise.resolve() };
    }
    consumer() {
      const state: (typeof consumers)[number] = { commits: [] };
      consumers.push(state);
      return {
        events: { GROUP_JOIN: 'consumer.group_join' },
        on: (_event: string, fn: () => void) => fn(),
        connect: () => Promise.resolve(),
        subscribe: () => Promise.resolve(),
        run: (opts: { eachBatch: (payload: unknown) => Promise<void> }) => {
          state.eachBatch = opts.eachBatch;
          return Promise.resolve();
        },
        commitOffsets: (offsets: unknown[]) => {
          state.commits.push(...offsets);
          return Promise.resolve();
        },
        disconnect: () => Promise.resolve(),
      };
    }
  }
  return { Kafka, Partitioners: { DefaultPartitioner: () => undefined }, logLevel: { ERROR: 1, WARN: 2, INFO: 4, DEBUG: 5 } };
});

const { createKafkaBus } = await import('./kafka.js');

describe('the kafka bus', () => {
  it('backs off on its clock before it hands a failed batch to the handler again, and commits only after it was handled', async () => {
    const clock = new ManualClock('2026-11-02T00:00:00Z');
    const bus = createKafkaBus({ brokers: ['127.0.0.1:9092'], clientId: 'test', logger: quietLogger(), clock });
    const calls: number[] = [];
    const sub = await bus.consume({
      groupId: 'g',
      topics: ['raw.github'],
      handler: () => {
        calls.push(clock.now());
        return calls.length === 1 ? Promise.reject(new Error('the store went away')) : Promise.resolve();
      },
    });
    await sub.ready;
    const consumer = consumers[consumers.length - 1]!;
    const handled = consumer.eachBatch!({
      batch: {
        topic: 'raw.github',
        partition: 0,
        highWatermark: '8',
        messages: [{ offset: '7', key: Buffer.from('k'), value: Buffer.from('{}'), headers: {}, timestamp: String(clock.now()) }],
      },
      heartbeat: () => Promise.resolve(),
      isRunning: () => true,
      isStale: () => false,
      resolveOffset: () => undefined,
    });
    await waitFor(
      'the failure and a back-off on the clock',
      () => calls.length === 1 && clock.pending === 1,
      (v) => v,
      {
        timeoutMs: 5_000,
        intervalMs: 5,
      },
    );
    expect(consumer.commits).toEqual([]);
    // The first back-off is 100 to 200 ms; it is slept in steps of at most 100 ms on the clock.
    await clock.advance(99);
    expect(calls).toHaveLength(1);
    for (let step = 0; calls.length < 2; step++) {
      expect(step).toBeLessThan(10);
      await clock.advance(clock.nextDue()! - clock.now());
    }
    await handled;
    expect(calls[1]! - calls[0]!).toBeGreaterThanOrEqual(100);
    expect(calls[1]! - calls[0]!).toBeLessThanOrEqual(200);
    expect(consumer.commits).toEqual([{ topic: 'raw.github', partition: 0, offset: '8' }]);
    await bus.close();
  });
});
