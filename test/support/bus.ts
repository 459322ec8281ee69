import type { Bus } from '../../infra/bus/types.js';
import type { Config } from '../../infra/config/schema.js';
import { createLocalBus } from '../../infra/bus/local.js';
import { startHttpServer } from '../../infra/observability/http.js';
import { PipelineMetrics } from '../../infra/observability/metrics.js';
import { webhookRoutes } from '../../connectors/core/webhooks.js';
import { clickhouseCursorStore, type CursorStore } from '../../connectors/core/cursor-store.js';
import type { WebhookSource } from '../../connectors/core/types.js';
import type { RawEvent } from '../../schemas/raw-event.js';
import { quietLogger, tempDir, testStore, uniqueName, waitFor } from './harness.js';
import type { Clock } from '../../infra/clock.js';

/** Everything on a topic so far, read by a fresh consumer group until it caught up with the end. */
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
    { timeoutMs: 20_000, intervalMs: 20 },
  );
  await sub.stop();
  return events;
}

export interface WebhookServer {
  /** Base URL of the server; endpoints are `${url}/webhooks/<path>`. */
  url: string;
  bus: Bus;
  close(): Promise<void>;
}

/** The real HTTP server with the webhook routes of `sources` (on `clock` when given), publishing to a fresh in-process bus. */
export async function startWebhookServer(sources: WebhookSource[], config: Config, clock?: Clock): Promise<WebhookServer> {
  const logger = quietLogger();
  const bus = createLocalBus({ dir: tempDir(), pollMs: 10 });
  const running = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    metrics: new PipelineMetrics({ defaultMetrics: false }),
    logger,
    readiness: {},
    routes: webhookRoutes({ sources, config, bus, logger, ...(clock !== undefined ? { clock } : {}) }),
  });
  return {
    url: running.url,
    bus,
    async close() {
      await running.close();
      await bus.close();
    },
  };
}

export interface SyncTarget {
  bus: Bus;
  cursors: CursorStore;
  close(): Promise<void>;
}

/** Where a test sync goes: a fresh in-process bus, and cursors in a fresh database of the real engine. */
export async function syncTarget(): Promise<SyncTarget> {
  const bus = createLocalBus({ dir: tempDir(), pollMs: 10 });
  const store = await testStore();
  return {
    bus,
    cursors: clickhouseCursorStore(store),
    async close() {
      await bus.close();
      await store.close();
    },
  };
}
