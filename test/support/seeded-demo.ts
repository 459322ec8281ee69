import { rawEventBusMessage } from '../../connectors/core/publish.js';
import { generateDemoOrg, type DemoOrg } from '../../connectors/demo/generator.js';
import { defaultMetricsConfig, defaultModel } from '../../infra/config/schema.js';
import type { BusMessage } from '../../infra/bus/types.js';
import { BatchWriter } from '../../infra/store/batch-writer.js';
import type { Store } from '../../infra/store/client.js';
import { buildRawEvent } from '../../schemas/raw-event.js';
import { link } from '../../workers/link/linker.js';
import { writeBenchmarks } from '../../workers/metrics/benchmarks.js';
import { addDays, periodStart } from '../../workers/metrics/engine.js';
import { runMetricsJob } from '../../workers/metrics/job.js';
import { createMapperRegistry } from '../../connectors/mappers.js';
import { normalizeBatch } from '../../workers/normalize/normalizer.js';
import { mapContext } from '../../mapping/registry.js';

/**
 * A store filled as production fills it: the demo organisation's payloads through the normalizer, then
 * the linker, the benchmarks and the metrics of every whole month of the history before `now` (the first
 * of a month), with `now` as the metrics run's clock. `extraMessages` go through the normalizer after
 * the demo's (their offsets follow the demo's), stamped as failing at `failedAt` (default `now`) when they
 * become dead letters.
 */
export async function seedDemoStore(
  store: Store,
  options: { now: Date; months: number; teams: number; seed: number; extraMessages?: BusMessage[]; failedAt?: string },
): Promise<DemoOrg> {
  const demo = generateDemoOrg(options);
  const context = mapContext({ org: demo.org, jiraFields: demo.jiraFields });
  const events = demo.records.map((r) => buildRawEvent(r, 'demo', new Date(Date.parse(r.time) + 60_000)));
  const messages = events.map((e, i) => rawEventBusMessage(e, i));
  for (const m of options.extraMessages ?? []) messages.push({ ...m, offset: String(messages.length) });
  const batch = normalizeBatch(messages, createMapperRegistry(), context, {
    keepRaw: true,
    failedAt: options.failedAt ?? options.now.toISOString(),
  });
  const writer = new BatchWriter(store, { flushRows: 10_000, flushIntervalMs: 100 });
  await writer.write([...batch.tables].map(([table, rows]) => ({ table, rows })));
  await writer.close();
  await link({ store, model: defaultModel() });
  await writeBenchmarks(store);
  const to = options.now.toISOString().slice(0, 10);
  let from = to;
  for (let i = 0; i < options.months; i++) from = periodStart('month', addDays(from, -1));
  await runMetricsJob({
    store,
    config: { model: defaultModel(), metrics: defaultMetricsConfig(), org: demo.org },
    run: { mode: 'range', from, to },
    now: options.now,
  });
  return demo;
}
