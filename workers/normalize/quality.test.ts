import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMapperRegistry } from '../../connectors/mappers.js';
import { pagerdutyWebhookRecords } from '../../connectors/pagerduty/webhook.js';
import { createLocalBus } from '../../infra/bus/local.js';
import type { Bus } from '../../infra/bus/types.js';
import { PipelineMetrics } from '../../infra/observability/metrics.js';
import { BatchWriter } from '../../infra/store/batch-writer.js';
import type { Store } from '../../infra/store/client.js';
import { mapContext } from '../../mapping/registry.js';
import type { RawEvent } from '../../schemas/raw-event.js';
import { ManualClock } from '../../test/support/clock.js';
import { queryRows, repoRoot, tempDir, testStore } from '../../test/support/harness.js';
import { eventsOf } from '../../test/support/mapping.js';
import { batchNormalizer } from '../../test/support/normalize.js';
import { dataQualitySummary } from './quality.js';
import { replay } from './replay.js';

/** Real PagerDuty v3 deliveries: most carry no created_at, which the incident row then notes. */
const delivery = (name: string): RawEvent[] =>
  eventsOf(
    pagerdutyWebhookRecords(JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures/pagerduty', name), 'utf8')) as unknown),
    'webhook/pagerduty',
  );

describe('data-quality notes', () => {
  let store: Store;
  let bus: Bus;
  const clock = new ManualClock('2026-06-01T10:00:00.000Z');
  const metrics = new PipelineMetrics({ defaultMetrics: false });
  const noted = [...delivery('resolved_v3.json'), ...delivery('acknowledged_v3.json')];
  // A trigger is its own start: nothing to note.
  const clean = delivery('triggered_v3.json');

  beforeAll(async () => {
    store = await testStore();
    bus = createLocalBus({ dir: tempDir(), pollMs: 10 });
  });
  afterAll(async () => {
    await bus.close();
    await store.close();
  });

  it('are counted per source, entity and field by the normalizer, in the store and as a metric', async () => {
    const writer = new BatchWriter(store, { flushRows: 1000, flushIntervalMs: 20 });
    const normalize = batchNormalizer({ bus, writer, metrics, clock, topic: 'raw.pagerduty' });
    await normalize([...noted, ...clean]);
    await clock.set('2026-06-01T11:30:00.000Z');
    await normalize(noted.slice(0, 1));
    await writer.close();

    const summary = await dataQualitySummary(store);
    expect(summary).toEqual([
      {
        source: 'pagerduty',
        entity: 'incident',
        field: 'created_at',
        problem: expect.stringContaining('missing') as unknown,
        notes: 3,
        lastSeen: '2026-06-01T11:30:00.000Z',
        exampleEventId: expect.any(String) as unknown,
      },
    ]);
    expect(noted.map((e) => e.id)).toContain(summary[0]!.exampleEventId);
    // The rows were written all the same, with created_at standing in.
    const incidents = await queryRows<{ n: string }>(store, 'SELECT count() AS n FROM incidents FINAL');
    expect(Number(incidents[0]!.n)).toBe(3);
    const metric = await metrics.registry.getSingleMetricAsString('ptel_data_quality_notes_total');
    expect(metric).toContain('ptel_data_quality_notes_total{source="pagerduty",entity="incident",field="created_at"} 3');
    expect(await dataQualitySummary(store, { source: 'jira' })).toEqual([]);
  });

  it('are counted again by a replay that still cannot read the field, seen at the replay', async () => {
    const writer = new BatchWriter(store, { flushRows: 1000, flushIntervalMs: 20 });
    await clock.set('2026-06-02T08:00:00.000Z');
    const result = await replay({ store, writer, registry: createMapperRegistry(), context: mapContext(), clock });
    expect(result.outcomes).toEqual({ ok: 3 });
    const [row] = await dataQualitySummary(store);
    // raw_events holds each event once: the two noted ones add two notes.
    expect(row).toMatchObject({ notes: 5, lastSeen: '2026-06-02T08:00:00.000Z' });
    await writer.close();
  });
});
