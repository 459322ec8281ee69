import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../test/support/clock.js';
import { quietLogger, waitFor } from '../../test/support/harness.js';

/**
 * kafkajs stood in by a consumer whose `run` keeps its eachBatch, so the test hands it a batch
 * itself: no broker is involved, only the bus's own handling of a failed handler.
 */
const consumers = vi.hoisted(() => [] as Array<{ eachBatch?: (payload: unknown) => Promise<void>; commits: unknown[] }>);
/** The producers made, and how each send of theirs answers (a test sets `answer`). */
const producers = vi.hoisted(() => ({
  made: 0,
  inFlight: 0,
  maxInFlight: 0,
  sent: [] as Array<{ producer: number; topic: string; keys: string[] }>,
  disconnected: [] as number[],
  /** An error fails the send, 'hang' leaves it unanswered, undefined acknowledges it. */
  answer: (_producer: number, _sends: number): Error | 'hang' | undefined => undefined,
}));
vi.mock('kafkajs', () => {
  class Kafka {
    admin() {
      return {
        connect: () => Promise.resolve(),
        disconnect: () => Promise.resolve(),
        listTopics: () => Promise.resolve(['raw.jira']),
        createTopics: () => Promise.resolve(true),
      };
    }
    producer() {
      const id = ++producers.made;
      let sends = 0;
      return {
        connect: () => Promise.resolve(),
        disconnect: () => {
          producers.disconnected.push(id);
          return Promise.resolve();
        },
        send: async (record: { topic: string; messages: Array<{ key: string | null }> }) => {
          producers.inFlight++;
          producers.maxInFlight = Math.max(producers.maxInFlight, producers.inFlight);
          await new Promise((r) => setImmediate(r));
          const failure = producers.answer(id, ++sends);
          if (failure === 'hang') return new Promise<never>(() => undefined);
          producers.inFlight--;
          if (failure !== undefined) throw failure;
          producers.sent.push({ producer: id, topic: record.topic, keys: record.messages.map((m) => String(m.key)) });
          return [];
        },
      };
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

const { createKafkaBus, KafkaUnavailableError } = await import('./kafka.js');

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

  it('sends one produce request at a time, and replaces a producer whose sequence the broker refused', async () => {
    const bus = createKafkaBus({ brokers: ['127.0.0.1:9092'], clientId: 'test', logger: quietLogger() });
    const before = producers.made;
    // The first producer's second send is refused as kafkajs reports it.
    producers.answer = (producer, sends) =>
      producer === before + 1 && sends === 2
        ? Object.assign(new Error('The broker received an out of order sequence number'), { type: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })
        : undefined;
    producers.sent.length = 0;
    producers.maxInFlight = 0;
    await Promise.all(Array.from({ length: 6 }, (_, i) => bus.publish('raw.jira', [{ key: `k${i}`, value: JSON.stringify({ i }) }])));
    expect(producers.maxInFlight).toBe(1);
    // Every publish landed: one on the first producer, the rest (the refused one sent again) on its replacement.
    expect(producers.sent).toHaveLength(6);
    expect(producers.made).toBe(before + 2);
    expect(producers.sent.filter((s) => s.producer === before + 2)).toHaveLength(5);
    // Another refusal is no sequence problem: it reaches the caller, and the producer stays.
    producers.answer = () => new Error('the broker is down');
    await expect(bus.publish('raw.jira', [{ key: 'k', value: '{}' }])).rejects.toThrow('the broker is down');
    expect(producers.made).toBe(before + 2);
    await bus.close();
  });

  it('gives up a publish the broker does not acknowledge within its bound, on the clock, and sends the next one with a new producer', async () => {
    const clock = new ManualClock('2026-11-02T00:00:00Z');
    const bus = createKafkaBus({ brokers: ['127.0.0.1:9092'], clientId: 'test', logger: quietLogger(), clock, publishTimeoutMs: 5_000 });
    const before = producers.made;
    producers.answer = (producer) => (producer === before + 1 ? 'hang' : undefined);
    producers.sent.length = 0;
    producers.inFlight = 0;
    const refused = bus.publish('raw.jira', [{ key: 'k1', value: '{}' }]);
    const outcome = refused.then(
      () => 'acknowledged',
      (err: unknown) => err,
    );
    await waitFor(
      'the send to reach the producer',
      () => producers.inFlight,
      (n) => n === 1,
      { timeoutMs: 5_000, intervalMs: 5 },
    );
    await clock.advance(4_999);
    await new Promise((r) => setImmediate(r));
    expect(await Promise.race([outcome, Promise.resolve('pending')])).toBe('pending');
    await clock.advance(1);
    const err = await outcome;
    expect(err).toBeInstanceOf(KafkaUnavailableError);
    expect((err as Error).message).toContain('did not acknowledge 1 message(s) for raw.jira within 5000 ms');
    expect(producers.disconnected).toContain(before + 1);
    // The broker answers again: the next publish goes out on a new producer, the given-up one is not used.
    await bus.publish('raw.jira', [{ key: 'k1', value: '{}' }]);
    expect(producers.made).toBe(before + 2);
    expect(producers.sent).toEqual([{ producer: before + 2, topic: 'raw.jira', keys: ['k1'] }]);
    await bus.close();
  });

  it('does not send a request whose earlier request for one of its keys failed, and sends the others in call order', async () => {
    const bus = createKafkaBus({ brokers: ['127.0.0.1:9092'], clientId: 'test', logger: quietLogger() });
    const before = producers.made;
    producers.answer = (producer, sends) => (producer === before + 1 && sends === 1 ? new Error('NOT_LEADER_FOR_PARTITION') : undefined);
    producers.sent.length = 0;
    const results = await Promise.allSettled([
      bus.publish('raw.jira', [
        { key: 'a', value: '{"v":1}' },
        { key: 'b', value: '{"v":1}' },
      ]),
      bus.publish('raw.jira', [{ key: 'c', value: '{"v":1}' }]),
      bus.publish('raw.jira', [{ key: 'b', value: '{"v":2}' }]),
      bus.publish('raw.jira', [{ key: 'd', value: '{"v":1}' }]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[2] as PromiseRejectedResult).reason)).toContain(
      'not sent: an earlier publish of the same keys to raw.jira failed',
    );
    expect(producers.sent.map((s) => s.keys)).toEqual([['c'], ['d']]);
    await bus.close();
  });
});
