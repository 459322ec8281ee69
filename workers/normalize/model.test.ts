import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoOrg } from '../../connectors/demo/generator.js';
import { defaultModel } from '../../infra/config/schema.js';
import { BatchWriter } from '../../infra/store/batch-writer.js';
import type { Store } from '../../infra/store/client.js';
import { buildRawEvent, type RawEvent } from '../../schemas/raw-event.js';
import { ENTITY_TABLES } from '../../schemas/domain.js';
import { queryRows, testStore } from '../../test/support/harness.js';
import { link, LINK_TABLES } from '../link/linker.js';
import { createMapperRegistry } from '../../connectors/mappers.js';
import { normalizeBatch } from './normalizer.js';
import { replay } from './replay.js';
import { mapContext } from '../../mapping/registry.js';
import { rawEventBusMessage } from '../../connectors/core/publish.js';

/** Every live row of a table under FINAL, in a fixed order; link tables without the run's own stamp. */
async function snapshot(store: Store, table: string): Promise<string[]> {
  const except = (LINK_TABLES as readonly string[]).includes(table) ? ' EXCEPT (version, linked_at)' : '';
  const rows = await queryRows<Record<string, unknown>>(store, `SELECT *${except} FROM ${table} FINAL`);
  return rows.map((r) => JSON.stringify(r)).sort();
}

/**
 * The demo organisation through the live path (shuffled, with every event delivered twice), then the
 * same raw events replayed into emptied tables: the domain and link tables must come out row for row
 * the same, and the model must be complete and linked.
 */
describe('the domain model from the demo organisation', () => {
  let store: Store;
  const demo = generateDemoOrg({ seed: 7, now: new Date('2026-10-01T00:00:00Z'), months: 3, teams: 2 });
  const context = mapContext({ org: demo.org, jiraFields: demo.jiraFields });
  const events: RawEvent[] = demo.records.map((r) => buildRawEvent(r, 'demo', new Date('2026-10-01T00:00:00Z')));
  const live = new Map<string, string[]>();
  const outcomes: Record<string, number> = {};

  beforeAll(async () => {
    store = await testStore();
    const writer = new BatchWriter(store, { flushRows: 10_000, flushIntervalMs: 100 });
    // Twice each, in an order that puts later versions first for many entities.
    const doubled = [...events, ...events].map((e, i) => ({ e, k: (i * 7919) % 104_729 })).sort((a, b) => a.k - b.k);
    const registry = createMapperRegistry();
    for (let i = 0; i < doubled.length; i += 2_000) {
      const messages = doubled.slice(i, i + 2_000).map(({ e }, j) => rawEventBusMessage(e, i + j));
      const r = normalizeBatch(messages, registry, context, { keepRaw: true, failedAt: '2026-10-01T00:00:00.000Z' });
      for (const c of r.counts) outcomes[c.outcome] = (outcomes[c.outcome] ?? 0) + c.n;
      await writer.write([...r.tables].map(([table, rows]) => ({ table, rows })));
    }
    await writer.close();
    await link({ store, model: defaultModel(), now: new Date('2026-10-02T00:00:00Z') });
    for (const t of [...ENTITY_TABLES, ...LINK_TABLES]) live.set(t, await snapshot(store, t));
  }, 120_000);
  afterAll(() => store.close());

  it('maps every demo event (no dead letter, nothing dropped)', () => {
    expect(outcomes).toEqual({ ok: events.length * 2 });
  });

  it('fills every table the demo has facts for, with owners', async () => {
    const empty = ENTITY_TABLES.filter((t) => live.get(t)!.length === 0);
    expect(empty).toEqual([]);
    const unowned = await queryRows<{ t: string; n: string }>(
      store,
      `SELECT 'pull_requests' AS t, countIf(team = '') AS n FROM pull_requests FINAL
       UNION ALL SELECT 'deployments', countIf(team = '' OR service = '') FROM deployments FINAL
       UNION ALL SELECT 'incidents', countIf(team = '' OR service = '') FROM incidents FINAL
       UNION ALL SELECT 'work_items', countIf(team = '') FROM work_items FINAL`,
    );
    for (const r of unowned) expect(Number(r.n), r.t).toBe(0);
  });

  it('links the model: commits to pull requests, deployments to commits, incidents to deployments', async () => {
    const methods = await queryRows<{ t: string; method: string; n: string }>(
      store,
      `SELECT 'commit_pull_requests' AS t, method, count() AS n FROM commit_pull_requests FINAL GROUP BY method
       UNION ALL SELECT 'deployment_commits', method, count() FROM deployment_commits FINAL GROUP BY method
       UNION ALL SELECT 'incident_deployments', method, count() FROM incident_deployments FINAL GROUP BY method`,
    );
    const n = (t: string, method: string): number => Number(methods.find((m) => m.t === t && m.method === method)?.n ?? 0);
    expect(n('commit_pull_requests', 'explicit')).toBeGreaterThan(0);
    expect(n('deployment_commits', 'explicit')).toBeGreaterThan(0);
    expect(n('incident_deployments', 'explicit') + n('incident_deployments', 'inferred')).toBeGreaterThan(0);
    // Every merged pull request's merge commit reached production in some deployment, except the most recent ones.
    const [shipped] = await queryRows<{ merged: string; shipped: string }>(
      store,
      `SELECT count() AS merged,
              countIf((p.repo, p.merge_commit_sha) IN (SELECT repo, sha FROM deployment_commits FINAL WHERE method != 'none')) AS shipped
       FROM pull_requests AS p FINAL WHERE p.state = 'merged'`,
    );
    expect(Number(shipped!.shipped) / Number(shipped!.merged)).toBeGreaterThan(0.8);
  });

  it('re-normalizing from raw_events gives the same tables, row for row', async () => {
    for (const t of [...ENTITY_TABLES, ...LINK_TABLES]) await store.client.command({ query: `TRUNCATE TABLE ${t}` });
    const writer = new BatchWriter(store, { flushRows: 10_000, flushIntervalMs: 100 });
    const result = await replay({ store, writer, registry: createMapperRegistry(), context, pageSize: 1_500 });
    expect(result.events).toBe(events.length);
    await link({ store, model: defaultModel(), now: new Date('2026-10-03T00:00:00Z') });
    for (const t of [...ENTITY_TABLES, ...LINK_TABLES]) {
      const now = await snapshot(store, t);
      const before = live.get(t)!;
      expect(now.filter((r) => !before.includes(r)).slice(0, 2), t).toEqual(before.filter((r) => !now.includes(r)).slice(0, 2));
      expect(now, t).toEqual(before);
    }
  });
});
