import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafkaBus } from '../../infra/bus/kafka.js';
import type { Bus, BusMessage } from '../../infra/bus/types.js';
import { quietLogger, uniqueName, waitFor } from '../support/harness.js';

/** The Kafka bus on the real broker, with what its callers do at once. */
describe('the Kafka bus', () => {
  let bus: Bus;
  beforeAll(() => {
    bus = createKafkaBus({
      brokers: inject('kafkaBrokers').split(','),
      clientId: uniqueName('bus'),
      logger: quietLogger(),
      defaultPartitions: 2,
    });
  });
  afterAll(() => bus.close());

  it('takes many publishes at once on its idempotent producer, and every message lands once and in order per key', async () => {
    // A topic the publishers are the first to use, as a first pull is.
    const topic = uniqueName('concurrent');
    // Streams of one sync publish concurrently; each call carries a few small batches for the same keys.
    const callers = 24;
    const perCall = 40;
    await Promise.all(
      Array.from({ length: callers }, (_, c) =>
        bus.publish(
          topic,
          Array.from({ length: perCall }, (_, i) => ({ key: `k${i % 16}`, value: JSON.stringify({ c, i }) })),
        ),
      ),
    );
    const lag = await bus.lag(uniqueName('probe'), topic);
    expect(lag.reduce((n, p) => n + p.end, 0)).toBe(callers * perCall);

    const seen: BusMessage[] = [];
    const sub = await bus.consume({
      groupId: uniqueName('reader'),
      topics: [topic],
      fromBeginning: true,
      handler: (batch) => {
        seen.push(...batch.messages);
        return Promise.resolve();
      },
    });
    try {
      await waitFor(
        'every message',
        () => seen.length,
        (n) => n >= callers * perCall,
        { timeoutMs: 60_000 },
      );
    } finally {
      await sub.stop();
    }
    const values = seen.map((m) => JSON.parse(m.value!.toString()) as { c: number; i: number });
    expect(new Set(values.map((v) => `${v.c}:${v.i}`)).size).toBe(callers * perCall);
    // Within one call, a key's messages keep their order.
    for (let c = 0; c < callers; c++) {
      for (let k = 0; k < 16; k++) {
        const order = values.filter((v) => v.c === c && v.i % 16 === k).map((v) => v.i);
        expect(order).toEqual([...order].sort((a, b) => a - b));
      }
    }
  });
});
