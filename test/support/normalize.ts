import { createMapperRegistry } from '../../connectors/mappers.js';
import { rawEventBusMessage } from '../../connectors/core/publish.js';
import type { Batch, Bus } from '../../infra/bus/types.js';
import type { Clock } from '../../infra/clock.js';
import type { PipelineMetrics } from '../../infra/observability/metrics.js';
import type { BatchWriter } from '../../infra/store/batch-writer.js';
import { mapContext } from '../../mapping/registry.js';
import type { RawEvent } from '../../schemas/raw-event.js';
import { createBatchHandler, type NormalizerDeps } from '../../workers/normalize/normalizer.js';
import { quietLogger } from './harness.js';

/** What a normalizer runs with in tests: the product's mappers and mapping context, a quiet logger. */
export function normalizerDeps(deps: Pick<NormalizerDeps, 'bus' | 'writer' | 'metrics' | 'groupId' | 'clock'>): NormalizerDeps {
  return { ...deps, registry: createMapperRegistry(), logger: quietLogger(), context: mapContext() };
}

/**
 * A normalizer's batch handler on `topic`, partition 0, fed events directly: each call hands it the
 * events as one batch, their offsets following those of the calls before.
 */
export function batchNormalizer(options: {
  bus: Bus;
  writer: BatchWriter;
  metrics: PipelineMetrics;
  clock: Clock;
  topic: string;
  groupId?: string;
}): (events: RawEvent[]) => Promise<void> {
  const { topic, groupId = 'normalizer', ...deps } = options;
  const handle = createBatchHandler(normalizerDeps({ ...deps, groupId }));
  let offset = 0;
  return async (events) => {
    const batch: Batch = { topic, partition: 0, messages: events.map((e) => rawEventBusMessage(e, offset++)), lag: 0 };
    await handle(batch, { heartbeat: () => Promise.resolve() });
  };
}
