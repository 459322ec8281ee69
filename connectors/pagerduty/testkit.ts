import type { Bus } from '../../infra/bus/types.js';
import type { RawEvent } from '../../schemas/raw-event.js';
import { uniqueName, waitFor } from '../../test/support/harness.js';

/** Everything on a topic so far, read with a fresh consumer group. */
export async function readTopic(bus: Bus, topic: string): Promise<RawEvent[]> {
  const group = uniqueName('read');
  const events: RawEvent[] = [];
  await bus.ensureTopics([{ topic }]);
  const sub = await bus.consume({
    groupId: group,
    topics: [topic],
    handler: (batch) => {
      for (const m of batch.messages) events.push(JSON.parse(m.value?.toString('utf8') ?? 'null') as RawEvent);
      return Promise.resolve();
    },
  });
  await sub.ready;
  await waitFor(
    `${topic} read to its end`,
    () => bus.lag(group, topic),
    (parts) => parts.every((p) => p.committed >= p.end),
    { timeoutMs: 10_000, intervalMs: 20 },
  );
  await sub.stop();
  return events;
}
