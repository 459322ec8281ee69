import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultModel } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import { testStore } from '../../test/support/harness.js';
import { insertTables } from '../../test/support/mapping.js';
import { testParams } from '../../test/support/metrics.js';
import { deploymentRow } from '../../test/support/rows.js';
import { link } from '../link/linker.js';
import { changeFailureRate, deploymentFrequency } from './definitions/dora.js';
import { computeMetrics } from './engine.js';
import { kpiSummary, readMetricValues } from './queries.js';

const deployment = (id: string, team: string, day: string) =>
  deploymentRow({ deployment_id: id, service: `svc-${team}`, sha: id, created_at: `${day}T10:00:00Z`, team, program: 'p' });
const status = (id: string, day: string, state = 'success', version = 1) => ({
  source: 'github',
  deployment_id: id,
  status_id: String(version),
  state,
  raw_state: state,
  at: `${day}T11:00:00Z`,
  raw_event_id: '',
  version,
});

/**
 * Two runs over the same store. The first, at T1 = 2026-03-10 00:00, sees team a's deployments of 03-02
 * and 03-03 and team b's of 03-03. Then team a deploys on 03-17 and 04-02, team b's deployment turns out
 * to have failed, and the second run, at T2 = 2026-05-01 00:00, recomputes March and April.
 */
describe('reading the stored values, now and as of an instant', () => {
  let store: Store;
  const T1 = new Date('2026-03-10T00:00:00Z');
  const T2 = new Date('2026-05-01T00:00:00Z');
  const scopes = [
    { kind: 'org' as const, id: 'org' },
    { kind: 'team' as const, id: 'a' },
    { kind: 'team' as const, id: 'b' },
  ];
  const definitions = [deploymentFrequency, changeFailureRate];
  // The org and the teams (the values of the program, services and repositories follow the teams').
  const monthly = (rows: Awaited<ReturnType<typeof readMetricValues>>) =>
    rows
      .filter((r) => r.scope_kind === 'org' || r.scope_kind === 'team')
      .map((r) => [r.metric, `${r.scope_kind}:${r.scope_id}`, r.period_start, r.value, r.computed_at]);

  beforeAll(async () => {
    store = await testStore();
    const first: Array<[string, string, string]> = [
      ['a1', 'a', '2026-03-02'],
      ['a2', 'a', '2026-03-03'],
      ['b1', 'b', '2026-03-03'],
    ];
    await insertTables(store, {
      deployments: first.map(([id, team, day]) => deployment(id, team, day)),
      deployment_statuses: first.map(([id, , day]) => status(id, day)),
    });
    await link({ store, model: defaultModel() });
    await computeMetrics({ store, definitions, params: testParams(), from: '2026-03-01', to: '2026-04-01', scopes, now: T1 });

    const later: Array<[string, string, string]> = [
      ['a3', 'a', '2026-03-17'],
      ['a4', 'a', '2026-04-02'],
    ];
    await insertTables(store, {
      deployments: later.map(([id, team, day]) => deployment(id, team, day)),
      deployment_statuses: [...later.map(([id, , day]) => status(id, day)), status('b1', '2026-03-03', 'failure', 2)],
    });
    await link({ store, model: defaultModel() });
    await computeMetrics({ store, definitions, params: testParams(), from: '2026-03-01', to: '2026-05-01', scopes, now: T2 });
    // The table merges superseded versions away, as it does in the background: the history must not depend on it.
    await store.client.command({ query: 'OPTIMIZE TABLE metric_values FINAL' });
  });
  afterAll(() => store.close());

  it('reads the values the store holds now', async () => {
    const rows = await readMetricValues(store, { metric: 'deployment_frequency', period: 'month' });
    expect(monthly(rows)).toEqual([
      ['deployment_frequency', 'org:org', '2026-03-01', 3, '2026-05-01 00:00:00.000'],
      ['deployment_frequency', 'org:org', '2026-04-01', 1, '2026-05-01 00:00:00.000'],
      ['deployment_frequency', 'team:a', '2026-03-01', 3, '2026-05-01 00:00:00.000'],
      ['deployment_frequency', 'team:a', '2026-04-01', 1, '2026-05-01 00:00:00.000'],
      ['deployment_frequency', 'team:b', '2026-03-01', 0, '2026-05-01 00:00:00.000'],
      ['deployment_frequency', 'team:b', '2026-04-01', 0, '2026-05-01 00:00:00.000'],
    ]);
    expect(rows[0]).toMatchObject({ numerator: 3, denominator: null, sample_size: 3, unit: 'count', definition_version: 1 });
    // Team b has no successful deployment any more: its change failure rate was retracted.
    const cfr = await readMetricValues(store, { metric: 'change_failure_rate', period: 'month', scope: { kind: 'team' } });
    expect(cfr.map((r) => [r.scope_id, r.period_start, r.value])).toEqual([
      ['a', '2026-03-01', 0],
      ['a', '2026-04-01', 0],
    ]);
  });

  it('reads a value recomputed after the instant as it was then', async () => {
    const rows = await readMetricValues(store, { metric: 'deployment_frequency', period: 'month', asOf: new Date('2026-03-20T00:00:00Z') });
    // At 03-20 only the first run had computed: March as it stood on 03-10; April did not exist yet.
    expect(monthly(rows)).toEqual([
      ['deployment_frequency', 'org:org', '2026-03-01', 3, '2026-03-10 00:00:00.000'],
      ['deployment_frequency', 'team:a', '2026-03-01', 2, '2026-03-10 00:00:00.000'],
      ['deployment_frequency', 'team:b', '2026-03-01', 1, '2026-03-10 00:00:00.000'],
    ]);
    // The instant of a run reads that run.
    const atT2 = await readMetricValues(store, {
      metric: 'deployment_frequency',
      period: 'month',
      scope: { kind: 'team', id: 'a' },
      asOf: T2,
    });
    expect(atT2.map((r) => r.value)).toEqual([3, 1]);
    // Before any run, nothing.
    expect(await readMetricValues(store, { period: 'month', asOf: new Date('2026-03-09T23:59:59Z') })).toEqual([]);
  });

  it('still shows at the instant a value retracted after it', async () => {
    const rows = await readMetricValues(store, {
      metric: 'change_failure_rate',
      period: 'month',
      scope: { kind: 'team', id: 'b' },
      asOf: new Date('2026-04-30T23:59:59Z'),
    });
    expect(rows.map((r) => [r.scope_id, r.period_start, r.value, r.numerator, r.denominator])).toEqual([['b', '2026-03-01', 0, 0, 1]]);
    expect(await readMetricValues(store, { metric: 'change_failure_rate', period: 'month', scope: { kind: 'team', id: 'b' } })).toEqual([]);
  });

  it('narrows by scope, period kind and period range', async () => {
    const weeks = await readMetricValues(store, {
      metric: 'deployment_frequency',
      period: 'week',
      scope: { kind: 'team', id: 'a' },
      from: '2026-03-09',
      to: '2026-03-23',
    });
    // Week of 03-09: nothing; week of 03-16: a3.
    expect(weeks.map((r) => [r.period_kind, r.period_start, r.value])).toEqual([
      ['week', '2026-03-09', 0],
      ['week', '2026-03-16', 1],
    ]);
    await expect(readMetricValues(store, { period: 'month', from: '2026-3-1' })).rejects.toThrow(
      "metric values from '2026-3-1': expected a date YYYY-MM-DD",
    );
  });

  it("gives the org's values of the last complete month relative to the given now", async () => {
    // On 04-15 April is still running: March is the last complete month, though April has values.
    expect(await kpiSummary(store, { now: new Date('2026-04-15T12:00:00Z'), tz: 'UTC' })).toEqual([
      { metric: 'change_failure_rate', month: '2026-03-01', value: 0, unit: 'ratio', sample_size: 3 },
      { metric: 'deployment_frequency', month: '2026-03-01', value: 3, unit: 'count', sample_size: 3 },
    ]);
    expect(
      (await kpiSummary(store, { now: new Date('2026-05-03T00:00:00Z'), tz: 'UTC' })).map((r) => [r.metric, r.month, r.value]),
    ).toEqual([
      ['change_failure_rate', '2026-04-01', 0],
      ['deployment_frequency', '2026-04-01', 1],
    ]);
    // In Auckland, 2026-04-30 13:00 UTC is already 1 May: April is complete there.
    expect((await kpiSummary(store, { now: new Date('2026-04-30T13:00:00Z'), tz: 'Pacific/Auckland' }))[0]?.month).toBe('2026-04-01');
    // No month before March has values.
    expect(await kpiSummary(store, { now: new Date('2026-03-20T00:00:00Z'), tz: 'UTC' })).toEqual([]);
  });
});
