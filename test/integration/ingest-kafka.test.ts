import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { importFile, type ImportRuntime } from '../../app/import.js';
import { webhookRoutes } from '../../connectors/core/webhooks.js';
import { INGEST_SOURCES } from '../../connectors/ingest/index.js';
import { createKafkaBus } from '../../infra/bus/kafka.js';
import type { Bus } from '../../infra/bus/types.js';
import { fixedClock } from '../../infra/clock.js';
import { loadConfig } from '../../infra/config/load.js';
import type { Config } from '../../infra/config/schema.js';
import { startHttpServer } from '../../infra/observability/http.js';
import { PipelineMetrics } from '../../infra/observability/metrics.js';
import { readTopic } from '../support/bus.js';
import { quietLogger, tempDir, uniqueName } from '../support/harness.js';

const AT = Date.parse('2026-12-07T12:00:00.000Z');
const TOKEN = 'focus-export-token';
const FOCUS = [
  'BilledCost,EffectiveCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,SubAccountId,ServiceName,Tags,x_Discount',
  '120.50,110.00,USD,2026-11-01T00:00:00Z,2026-11-02T00:00:00Z,Usage,111,Compute,"{""program"":""payments""}",0.1',
  '8.25,,USD,2026-11-01T00:00:00Z,2026-11-02T00:00:00Z,Usage,222,"Storage, archive",,',
].join('\r\n');

/** Both intake paths in distributed mode: the rows on Kafka, once per row whatever the path and however often sent. */
describe('the intake on Kafka', () => {
  let bus: Bus;
  let config: Config;
  let topic: string;
  beforeAll(() => {
    const topicPrefix = `${uniqueName('ingest')}.`;
    topic = `${topicPrefix}raw.ingest`;
    config = loadConfig({
      env: { PTEL_INGEST_COST_ROW_TOKEN: TOKEN },
      cwd: tempDir(),
      overrides: {
        mode: 'distributed',
        kafka: { brokers: inject('kafkaBrokers').split(','), topicPrefix },
        // Not used: the intake publishes only.
        clickhouse: { url: inject('clickhouseUrl') },
      },
    });
    bus = createKafkaBus({ brokers: inject('kafkaBrokers').split(','), clientId: uniqueName('ingest'), logger: quietLogger() });
  });
  afterAll(() => bus.close());

  it('ptel import and POST /ingest/cost_row publish the same events for the same rows', async () => {
    const rt: ImportRuntime = { bus, config, clock: fixedClock(AT), metrics: new PipelineMetrics({ defaultMetrics: false }) };
    const file = path.join(tempDir(), 'focus-2026-11.csv');
    writeFileSync(file, FOCUS);
    expect(await importFile(rt, 'cost_row', file)).toMatchObject({ published: 2, refused: [] });
    expect(await importFile(rt, 'cost_row', file)).toMatchObject({ published: 2 });

    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      metrics: new PipelineMetrics({ defaultMetrics: false }),
      logger: quietLogger(),
      readiness: {},
      routes: webhookRoutes({ sources: INGEST_SOURCES, config, bus, logger: quietLogger(), clock: fixedClock(AT) }),
    });
    try {
      const r = await fetch(`${server.url}/ingest/cost_row`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/csv' },
        body: FOCUS,
      });
      expect([r.status, await r.json()]).toEqual([202, { accepted: 2 }]);
    } finally {
      await server.close();
    }

    const events = await readTopic(bus, topic);
    // Partitions keep the order per row (per key), not across rows.
    expect(events.map((e) => e.connector).sort()).toEqual([
      ...Array<string>(4).fill('import/cost_row'),
      'ingest/cost_row',
      'ingest/cost_row',
    ]);
    const ids = events.map((e) => e.id);
    expect(new Set(ids).size).toBe(2);
    const byCost = (cost: number) => events.find((e) => (e.data as { BilledCost: number }).BilledCost === cost)!.data;
    expect(byCost(120.5)).toEqual({
      BilledCost: 120.5,
      EffectiveCost: 110,
      BillingCurrency: 'USD',
      ChargePeriodStart: '2026-11-01T00:00:00Z',
      ChargePeriodEnd: '2026-11-02T00:00:00Z',
      ChargeCategory: 'Usage',
      SubAccountId: '111',
      ServiceName: 'Compute',
      Tags: { program: 'payments' },
    });
    expect(byCost(8.25)).toMatchObject({ ServiceName: 'Storage, archive', Tags: {} });
  });
});
