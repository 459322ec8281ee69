import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { rawEventMessage } from '../../connectors/core/publish.js';
import { createKafkaBus } from '../../infra/bus/kafka.js';
import { createLocalBus } from '../../infra/bus/local.js';
import type { Bus, BusMessage, Subscription } from '../../infra/bus/types.js';
import { PipelineMetrics } from '../../infra/observability/metrics.js';
import { BatchWriter } from '../../infra/store/batch-writer.js';
import type { Store } from '../../infra/store/client.js';
import { deadLetterTopic, rawTopic } from '../../schemas/raw-event.js';
import { waitUntilDrained } from '../../workers/normalize/drain.js';
import { DLQ_HEADERS, startNormalizer } from '../../workers/normalize/normalizer.js';
import { MapperRegistry, mapContext } from '../../mapping/registry.js';
import { queryRows, quietLogger, sampleEvents, tempDir, uniqueName } from '../support/harness.js';
import { STORES } from '../support/stores.js';

const logger = quietLogger();

/** The same scenarios on the real Kafka broker and on the in-process bus of embedded mode, each into both stores. */
const buses: Array<[string, () => Bus]> = [
  [
    'the real Kafka broker',
    () => createKafkaBus({ brokers: inject('kafkaBrokers').split(','), clientId: uniqueName('it'), logger, defaultPartitions: 3 }),
  ],
  ['the in-process bus', () => createLocalBus({ dir: tempDir('ptel-bus-'), pollMs: 20 })],
];

const cases = buses.flatMap(([busName, makeBus]) => STORES.map((target) => [busName, target.title, makeBus, target] as const));

describe.each(cases)('raw events through %s into %s', (_bus, _store, makeBus, target) => {
  let bus: Bus;
  let store: Store;

  beforeAll(async () => {
    bus = makeBus();
    store = await target.fresh();
  });
  afterAll(async () => {
    await bus.close();
    await store.close();
  });

  async function normalize(prefix: string, groupId: string): Promise<{ sub: Subscription; writer: BatchWriter; metrics: PipelineMetrics }> {
    const metrics = new PipelineMetrics({ defaultMetrics: false });
    const writer = new BatchWriter(store, { flushRows: 500, flushIntervalMs: 200, metrics });
    const sub = await startNormalizer({
      bus,
      writer,
      registry: new MapperRegistry(),
      metrics,
      logger,
      context: mapContext(),
      groupId,
      topics: [rawTopic('github', prefix), rawTopic('jira', prefix)],
      concurrency: 3,
      maxBatchMessages: 400,
    });
    await sub.ready;
    return { sub, writer, metrics };
  }

  it('stores every event once per entity version, also when the same events are published again', async () => {
    const prefix = `${uniqueName('land')}.`;
    const groupId = uniqueName('g');
    const github = sampleEvents('github', 'github.pull_request', 300, 3);
    const jira = sampleEvents('jira', 'jira.issue', 200, 2);
    await bus.ensureTopics([{ topic: rawTopic('github', prefix) }, { topic: rawTopic('jira', prefix) }]);
    await bus.publish(rawTopic('github', prefix), github.map(rawEventMessage));
    await bus.publish(rawTopic('jira', prefix), jira.map(rawEventMessage));

    const { sub, writer, metrics } = await normalize(prefix, groupId);
    await waitUntilDrained(bus, groupId, [rawTopic('github', prefix), rawTopic('jira', prefix)], 120_000);
    // The same events again, as a re-pull or a redelivered webhook would send them.
    await bus.publish(rawTopic('github', prefix), github.map(rawEventMessage));
    await waitUntilDrained(bus, groupId, [rawTopic('github', prefix), rawTopic('jira', prefix)], 120_000);
    await sub.stop();
    await writer.close();

    const stored = await queryRows<{ source: string; rows: string; ids: string; subjects: string }>(
      store,
      `SELECT source, count() AS rows, uniqExact(id) AS ids, uniqExact(subject) AS subjects
       FROM raw_events FINAL WHERE topic LIKE {p:String} GROUP BY source ORDER BY source`,
      { p: `${prefix}%` },
    );
    expect(stored).toEqual([
      { source: 'github', rows: '900', ids: '900', subjects: '300' },
      { source: 'jira', rows: '400', ids: '400', subjects: '200' },
    ]);
    // Before merges the duplicates are physically there; FINAL is what makes them one.
    const physical = await queryRows<{ n: string }>(store, 'SELECT count() AS n FROM raw_events WHERE topic LIKE {p:String}', {
      p: `${prefix}%`,
    });
    expect(Number(physical[0]!.n)).toBeGreaterThanOrEqual(1300);
    // Each stored payload is the vendor payload as it was sent.
    const one = await queryRows<{ data: string }>(store, 'SELECT data FROM raw_events FINAL WHERE id = {id:String}', { id: github[5]!.id });
    expect(JSON.parse(one[0]!.data)).toEqual(github[5]!.data);
    const counted = await metrics.registry.getSingleMetricAsString('ptel_events_total');
    expect(counted).toContain('ptel_events_total{source="github",type="github.pull_request",outcome="ok"} 1800');
  });

  it('sends a malformed message to the dead-letter topic and dead_letters with its reason, and stores the rest of its batch', async () => {
    const prefix = `${uniqueName('dlq')}.`;
    const groupId = uniqueName('g');
    const topic = rawTopic('github', prefix);
    await bus.ensureTopics([
      { topic, partitions: 1 },
      { topic: rawTopic('jira', prefix), partitions: 1 },
    ]);
    const good = sampleEvents('github', 'github.pull_request', 50);
    const wrongSource = sampleEvents('jira', 'jira.issue', 1)[0]!;
    const missingTime = { ...good[0]!, id: '1b4e28ba-2fa1-8d2e-a3f0-000000000001', subject: 'no-time' } as Record<string, unknown>;
    delete missingTime['time'];
    const messages = [
      ...good.slice(0, 20).map(rawEventMessage),
      { key: 'broken', value: '{"specversion":"1.0", "id": ', headers: { origin: 'test' } },
      { key: 'no-time', value: JSON.stringify(missingTime) },
      rawEventMessage(wrongSource),
      ...good.slice(20).map(rawEventMessage),
    ];
    await bus.publish(topic, messages);

    const { sub, writer } = await normalize(prefix, groupId);
    await waitUntilDrained(bus, groupId, [topic], 120_000);
    await sub.stop();
    await writer.close();

    const stored = await queryRows<{ n: string }>(store, 'SELECT count() AS n FROM raw_events FINAL WHERE topic = {t:String}', {
      t: topic,
    });
    expect(stored[0]!.n).toBe('50');
    const dead = await queryRows<{ bus_offset: string; reason_code: string; reason: string; message_value: string; message_key: string }>(
      store,
      'SELECT bus_offset, reason_code, reason, message_value, message_key FROM dead_letters FINAL WHERE topic = {t:String} ORDER BY bus_offset',
      { t: topic },
    );
    expect(dead.map((d) => [d.bus_offset, d.reason_code])).toEqual([
      ['20', 'invalid_json'],
      ['21', 'invalid_envelope'],
      ['22', 'wrong_topic'],
    ]);
    expect(dead[0]!.message_value).toBe('{"specversion":"1.0", "id": ');
    expect(dead[0]!.message_key).toBe('broken');
    expect(dead[1]!.reason).toContain("'time'");

    // The dead-letter topic keeps the original key and value and adds the reason in headers.
    const seen: BusMessage[] = [];
    const reader = await bus.consume({
      groupId: uniqueName('dlq-reader'),
      topics: [deadLetterTopic(topic)],
      handler: (b) => {
        seen.push(...b.messages);
        return Promise.resolve();
      },
    });
    const deadline = Date.now() + 60_000;
    while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await reader.stop();
    expect(seen).toHaveLength(3);
    const first = seen.find((m) => m.key?.toString() === 'broken')!;
    expect(first.value?.toString()).toBe('{"specversion":"1.0", "id": ');
    expect(first.headers[DLQ_HEADERS.code]).toBe('invalid_json');
    expect(first.headers[DLQ_HEADERS.topic]).toBe(topic);
    expect(first.headers[DLQ_HEADERS.offset]).toBe('20');
    expect(first.headers['origin']).toBe('test');
    expect(seen.map((m) => m.headers[DLQ_HEADERS.code]).sort()).toEqual(['invalid_envelope', 'invalid_json', 'wrong_topic']);
  });
});
