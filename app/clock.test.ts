import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../infra/clock.js';
import { loadConfig } from '../infra/config/load.js';
import { startHttpServer } from '../infra/observability/http.js';
import { PipelineMetrics } from '../infra/observability/metrics.js';
import { SCENARIO_T0, seedStallScenario } from '../test/support/alerts.js';
import { readTopic } from '../test/support/bus.js';
import { queryRows, quietLogger, tempDir, waitFor } from '../test/support/harness.js';
import { insertTables } from '../test/support/mapping.js';
import { deploymentRow } from '../test/support/rows.js';
import { linkNow, stallAlertsNow, webhookRoutesFor } from './jobs.js';
import { createRuntime, type Runtime } from './runtime.js';
import { cdeventExample, structuredCloudEvent } from '../test/support/cdevents.js';

const TOKEN = 'clock-test-token';
const AT = '2026-03-20T09:00:00.000Z';

/** A CDEvent from the spec's examples, as a structured-mode CloudEvent. */
function cloudEvent(): string {
  return structuredCloudEvent(cdeventExample('pipelinerun_finished'));
}

describe("the composition root hands the runtime's clock down", () => {
  let rt: Runtime;
  beforeAll(async () => {
    const dataDir = tempDir();
    const config = loadConfig({
      env: { PTEL_DATA_DIR: dataDir, PTEL_CDEVENTS_WEBHOOK_TOKEN: TOKEN },
      overrides: { 'sources.cdevents': {} },
      cwd: tempDir(),
    });
    rt = await createRuntime(config, { logger: quietLogger(), clock: fixedClock(SCENARIO_T0) });
  });
  afterAll(() => rt.close());

  it('a webhook delivery: its ingest time and its bus timestamp', async () => {
    const running = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      metrics: new PipelineMetrics({ defaultMetrics: false }),
      logger: rt.logger,
      readiness: {},
      routes: webhookRoutesFor(rt),
    });
    try {
      const r = await fetch(`${running.url}/webhooks/cdevents`, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${TOKEN}` },
        body: cloudEvent(),
      });
      expect(r.status).toBe(202);
    } finally {
      await running.close();
    }
    expect((await readTopic(rt.bus, 'raw.cdevents')).map((e) => e.ingesttime)).toEqual([AT]);
    const stamps: number[] = [];
    const sub = await rt.bus.consume({
      groupId: 'stamps',
      topics: ['raw.cdevents'],
      handler: (b) => Promise.resolve(void stamps.push(...b.messages.map((m) => m.timestamp))),
    });
    await waitFor(
      'the stamps to be read',
      () => rt.bus.lag('stamps', 'raw.cdevents'),
      (parts) => parts.every((p) => p.committed >= p.end),
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    await sub.stop();
    expect(stamps).toEqual([SCENARIO_T0]);
  });

  it("the demo organisation's anchor", async () => {
    // Nothing pulls and no org mapping is configured: the demo organisation, anchored at the clock's day.
    expect(rt.organisation.kind).toBe('demo');
    expect((await rt.organisation.demoRecords(rt.store))?.now).toBe('2026-03-20T00:00:00.000Z');
  });

  it('the linker and the stall detector', async () => {
    await insertTables(rt.store, {
      deployments: [
        deploymentRow({
          deployment_id: 'D1',
          service: 'api',
          sha: 'a'.repeat(40),
          created_at: '2026-03-19T10:00:00.000Z',
          team: 'checkout',
          program: 'payments',
        }),
      ],
    });
    await linkNow(rt);
    const facts = await queryRows<{ linked_at: string }>(rt.store, 'SELECT toString(linked_at) AS linked_at FROM deployment_facts FINAL');
    expect(facts).toEqual([{ linked_at: '2026-03-20 09:00:00.000' }]);

    await seedStallScenario(rt.store);
    const r = await stallAlertsNow(rt, new Map());
    expect(r.opened.length).toBe(3);
    expect(new Set(r.opened.map((a) => a.openedAt))).toEqual(new Set([SCENARIO_T0]));
  });
});
