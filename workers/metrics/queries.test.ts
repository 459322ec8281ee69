import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultModel } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import { readMigrations, migrate } from '../../infra/store/migrate.js';
import { queryRows, testStore } from '../../test/support/harness.js';
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

const month = (store: Store, metric: string, scope: string, asOf?: Date) =>
  readMetricValues(store, {
    metric,
    period: 'month',
    scope: { kind: scope.split(':')[0] as 'org' | 'team', id: scope.split(':')[1]! },
    ...(asOf !== undefined ? { asOf } : {}),
  }).then((rows) => rows.map((r) => [r.period_start, r.value, r.computed_at]));

/** The number of rows in the history, of the org and team scopes only with `orgAndTeams`. */
const historyRows = async (store: Store, orgAndTeams = false) =>
  (
    await queryRows<{ n: string }>(
      store,
      `SELECT count() AS n FROM metric_value_history WHERE NOT {narrow:Bool} OR scope_kind IN ('org', 'team')`,
      { narrow: orgAndTeams },
    )
  )[0]!.n;

const at = (day: string) => new Date(`${day}T00:00:00Z`);

/**
 * March, recomputed each day from 1 April: team a's deployment of 03-02 at first; team b's of 03-03 from
 * 2 April (the org deployed 1 time, then 2); from 3 April b's deployment has failed (1 again, and team
 * b's change failure rate is retracted); then nothing changes.
 */
describe('the history of the values: changes only', () => {
  let store: Store;
  const scopes = [
    { kind: 'org' as const, id: 'org' },
    { kind: 'team' as const, id: 'a' },
    { kind: 'team' as const, id: 'b' },
  ];
  const run = (day: string) =>
    computeMetrics({
      store,
      definitions: [deploymentFrequency, changeFailureRate],
      params: testParams(),
      from: '2026-03-01',
      to: '2026-04-01',
      periods: ['month'],
      scopes,
      now: at(day),
    });
  // After each run: the rows of the org and the teams, and all rows.
  const counts: Array<[number, number]> = [];
  const count = async () => counts.push([Number(await historyRows(store, true)), Number(await historyRows(store))]);

  beforeAll(async () => {
    store = await testStore();
    await insertTables(store, { deployments: [deployment('a1', 'a', '2026-03-02')], deployment_statuses: [status('a1', '2026-03-02')] });
    await link({ store, model: defaultModel() });
    await run('2026-04-01');
    await count();
    await insertTables(store, { deployments: [deployment('b1', 'b', '2026-03-03')], deployment_statuses: [status('b1', '2026-03-03')] });
    await link({ store, model: defaultModel() });
    await run('2026-04-02');
    await count();
    await insertTables(store, { deployment_statuses: [status('b1', '2026-03-03', 'failure', 2)] });
    await link({ store, model: defaultModel() });
    await run('2026-04-03');
    await count();
    for (const day of ['2026-04-04', '2026-04-05', '2026-04-06']) {
      await run(day);
      await count();
    }
    await store.client.command({ query: 'OPTIMIZE TABLE metric_values FINAL' });
  });
  afterAll(() => store.close());

  it('does not grow when a recompute finds every value as it was', async () => {
    // 1 April: deployment frequency of org, a, b (b: 0) and change failure rate of org and a (0 of 1).
    // 2 April: the org's and b's frequency change, the org's change failure rate is 0 of 2, b gets one.
    // 3 April: those change back, and b's change failure rate is retracted. 4 to 6 April: nothing changes.
    expect(counts.map(([orgAndTeams]) => orgAndTeams)).toEqual([5, 9, 13, 13, 13, 13]);
    // Nor does it for the program, the services and the repositories.
    expect(new Set(counts.slice(2).map(([, all]) => all)).size).toBe(1);
    // The recomputes happened: the stored values are those of the last one.
    expect(await month(store, 'deployment_frequency', 'org:org')).toEqual([['2026-03-01', 1, '2026-04-06 00:00:00.000']]);
  });

  it('reads a value that changed and changed back as it was between the computes', async () => {
    const org = (asOf: string) => month(store, 'deployment_frequency', 'org:org', new Date(asOf)).then((r) => r.map((x) => x[1]));
    expect(await org('2026-03-31T23:59:59Z')).toEqual([]);
    expect(await org('2026-04-01T12:00:00Z')).toEqual([1]);
    expect(await org('2026-04-02T00:00:00Z')).toEqual([2]);
    expect(await org('2026-04-02T23:59:59Z')).toEqual([2]);
    expect(await org('2026-04-03T00:00:00Z')).toEqual([1]);
    expect(await org('2026-04-05T12:00:00Z')).toEqual([1]);
    // An as-of read gives the computation that set the value (or a later one that found it unchanged).
    expect(await month(store, 'deployment_frequency', 'team:b', new Date('2026-04-02T12:00:00Z'))).toEqual([
      ['2026-03-01', 1, '2026-04-02 00:00:00.000'],
    ]);
    expect(await month(store, 'deployment_frequency', 'team:b', new Date('2026-04-05T12:00:00Z'))).toEqual([
      ['2026-03-01', 0, '2026-04-03 00:00:00.000'],
    ]);
  });

  it('keeps a retraction in the history: the value still reads as it was before it, and not after', async () => {
    expect(await month(store, 'change_failure_rate', 'team:b', new Date('2026-04-02T12:00:00Z'))).toEqual([
      ['2026-03-01', 0, '2026-04-02 00:00:00.000'],
    ]);
    expect(await month(store, 'change_failure_rate', 'team:b', new Date('2026-04-03T00:00:00Z'))).toEqual([]);
    expect(await month(store, 'change_failure_rate', 'team:b', new Date('2026-04-06T12:00:00Z'))).toEqual([]);
    const rows = await queryRows<{ computed_at: string; value: number | null; is_deleted: number }>(
      store,
      `SELECT toString(computed_at) AS computed_at, value, is_deleted FROM metric_value_history
       WHERE metric = 'change_failure_rate' AND scope_kind = 'team' AND scope_id = 'b' ORDER BY version`,
    );
    // Recomputes after the retraction do not retract it again.
    expect(rows).toEqual([
      { computed_at: '2026-04-02 00:00:00.000', value: 0, is_deleted: 0 },
      { computed_at: '2026-04-03 00:00:00.000', value: 0, is_deleted: 1 },
    ]);
  });
});

/**
 * March is running. On 03-25 the store knows team a's deployments of 03-02 and 03-05: the run counts 2.
 * Then the one of 03-05 turns out to have failed, and one of 03-27 arrives: on 03-28 the run counts 2
 * again (a recompute finding the value unchanged). A run as of 03-26 then counts 1 (only 03-02 had
 * succeeded by then), below the version of 03-28, and one on 03-30 counts 2.
 */
describe('the history of the values: a run as of a past instant', () => {
  it('still reads a value recomputed unchanged after the instant from its recompute on', async () => {
    const store = await testStore();
    try {
      await insertTables(store, {
        deployments: [deployment('a1', 'a', '2026-03-02'), deployment('a3', 'a', '2026-03-05')],
        deployment_statuses: [status('a1', '2026-03-02'), status('a3', '2026-03-05')],
      });
      await link({ store, model: defaultModel() });
      const run = (instant: Date) =>
        computeMetrics({
          store,
          definitions: [deploymentFrequency],
          params: testParams(),
          from: '2026-03-01',
          to: '2026-04-01',
          periods: ['month'],
          now: instant,
        });
      await run(at('2026-03-25'));
      await insertTables(store, {
        deployments: [deployment('a2', 'a', '2026-03-27')],
        deployment_statuses: [status('a3', '2026-03-05', 'failure', 2), status('a2', '2026-03-27')],
      });
      await link({ store, model: defaultModel() });
      await run(at('2026-03-28'));
      await run(new Date('2026-03-26T12:00:00Z'));
      await run(at('2026-03-30'));
      await store.client.command({ query: 'OPTIMIZE TABLE metric_values FINAL' });
      const org = (instant: string) =>
        month(store, 'deployment_frequency', 'org:org', new Date(instant)).then((r) => r.map((x) => [x[1], x[2]]));
      expect(await org('2026-03-25T12:00:00Z')).toEqual([[2, '2026-03-25 00:00:00.000']]);
      expect(await org('2026-03-27T00:00:00Z')).toEqual([[1, '2026-03-26 12:00:00.000']]);
      // On 03-29 the store said 2, computed on 03-28, whatever the run as of 03-26 wrote below it.
      expect(await org('2026-03-29T00:00:00Z')).toEqual([[2, '2026-03-28 00:00:00.000']]);
      expect(await org('2026-03-30T12:00:00Z')).toEqual([[2, '2026-03-30 00:00:00.000']]);
    } finally {
      await store.close();
    }
  });
});

describe('the history of the values on a store computed before it existed', () => {
  it('starts with the values stored then, once, and records a key it lacks once', async () => {
    const store = await testStore(undefined, { migrate: false });
    try {
      await migrate(
        store,
        readMigrations().filter((m) => m.version < 9),
      );
      // What a metrics run before the history wrote on 31 March: the org deployed once in March.
      const row = {
        metric: 'deployment_frequency',
        period_kind: 'month',
        period_start: '2026-03-01',
        value: 1,
        numerator: 1,
        denominator: null,
        sample_size: 1,
        unit: 'count',
        definition_version: deploymentFrequency.version,
        computed_at: '2026-03-31 00:00:00.000',
        version: at('2026-03-31').getTime() * 1000,
        is_deleted: 0,
      };
      await store.client.insert({
        table: 'metric_values',
        values: [
          { ...row, scope_kind: 'org', scope_id: 'org' },
          { ...row, scope_kind: 'team', scope_id: 'a' },
        ],
        format: 'JSONEachRow',
      });
      await migrate(store);
      expect(await historyRows(store)).toBe('2');

      await insertTables(store, { deployments: [deployment('a1', 'a', '2026-03-02')], deployment_statuses: [status('a1', '2026-03-02')] });
      await link({ store, model: defaultModel() });
      const run = (day: string) =>
        computeMetrics({
          store,
          definitions: [deploymentFrequency],
          params: testParams(),
          from: '2026-03-01',
          to: '2026-04-01',
          periods: ['month'],
          scopes: [{ kind: 'org', id: 'org' }],
          now: at(day),
        });
      await run('2026-04-01');
      // The org's and team a's values are unchanged: only the program, service and repository are new.
      expect(await historyRows(store)).toBe('5');
      await store.client.command({ query: 'OPTIMIZE TABLE metric_values FINAL' });
      expect(await month(store, 'deployment_frequency', 'org:org', new Date('2026-03-31T12:00:00Z'))).toEqual([
        ['2026-03-01', 1, '2026-03-31 00:00:00.000'],
      ]);

      // A key the history lacks (its rows lost) is recorded by the next run, once.
      await store.client.command({ query: `DELETE FROM metric_value_history WHERE scope_kind = 'org'` });
      await run('2026-04-02');
      await run('2026-04-03');
      expect(
        await queryRows(store, `SELECT toString(computed_at) AS computed_at, value FROM metric_value_history WHERE scope_kind = 'org'`),
      ).toEqual([{ computed_at: '2026-04-02 00:00:00.000', value: 1 }]);
    } finally {
      await store.close();
    }
  });
});
