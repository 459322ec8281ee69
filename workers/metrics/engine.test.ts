import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../infra/clock.js';
import { defaultMetricsConfig, defaultModel } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import { writeLargeOrg, type LargeOrgResult } from '../../test/fakes/large-org.js';
import { observedStore, queryRows, testStore } from '../../test/support/harness.js';
import { insertTables } from '../../test/support/mapping.js';
import { compute, explain, testParams } from '../../test/support/metrics.js';
import { deploymentRow, workItemRow } from '../../test/support/rows.js';
import { link } from '../link/linker.js';
import { changeFailureRate, deploymentDaysMedian, deploymentFrequency, incidentCount } from './definitions/dora.js';
import { FLOW_METRICS } from './definitions/program-flow.js';
import { computeMetrics, explainMetric, nextPeriod, periodStart, periodsBetween } from './engine.js';
import { runMetricsJob } from './job.js';
import { readMetricValues } from './queries.js';

describe('periods', () => {
  it('start on the day, the Monday and the first of the month', () => {
    expect(periodStart('day', '2026-03-04')).toBe('2026-03-04');
    expect(periodStart('week', '2026-03-04')).toBe('2026-03-02');
    expect(periodStart('week', '2026-03-01')).toBe('2026-02-23');
    expect(periodStart('month', '2026-03-31')).toBe('2026-03-01');
    expect(nextPeriod('month', '2026-12-01')).toBe('2027-01-01');
    expect(periodsBetween('week', '2026-03-04', '2026-03-17')).toEqual(['2026-03-02', '2026-03-09', '2026-03-16']);
  });
});

const deployment = (id: string, service: string, team: string, day: string) =>
  deploymentRow({ deployment_id: id, service, sha: id, created_at: `${day}T10:00:00Z`, team, program: 'p' });
const status = (id: string, day: string, state = 'success', version = 1) => ({
  source: 'github',
  deployment_id: id,
  status_id: '1',
  state,
  raw_state: state,
  at: `${day}T11:00:00Z`,
  raw_event_id: '',
  version,
});

describe('computing and recomputing', () => {
  let store: Store;
  const scopes = [
    { kind: 'org' as const, id: 'org' },
    { kind: 'team' as const, id: 'a' },
    { kind: 'team' as const, id: 'b' },
  ];
  const values = (metric: string) =>
    queryRows<{ scope_id: string; period_start: string; value: number | null; sample_size: string }>(
      store,
      `SELECT scope_id, period_start, value, sample_size FROM metric_values FINAL
       WHERE metric = {m:String} AND period_kind = 'month' AND scope_kind IN ('org', 'team') ORDER BY scope_id, period_start`,
      { m: metric },
    );
  beforeAll(async () => {
    store = await testStore();
    // March 2026 Mondays: 2, 9, 16, 23, 30. Team a deploys on the 2nd, 3rd, 17th (twice) and 31st; team b on the 3rd.
    const days: Array<[string, string, string]> = [
      ['a1', 'a', '2026-03-02'],
      ['a2', 'a', '2026-03-03'],
      ['a3', 'a', '2026-03-17'],
      ['a4', 'a', '2026-03-17'],
      ['a5', 'a', '2026-03-31'],
      ['b1', 'b', '2026-03-03'],
    ];
    await insertTables(store, {
      deployments: days.map(([id, team, day]) => deployment(id, `svc-${team}`, team, day)),
      deployment_statuses: days.map(([id, , day]) => status(id, day)),
    });
    await link({ store, model: defaultModel() });
  });
  afterAll(() => store.close());

  it('takes the median of weekly deployment days over the weeks of the month, weeks without one as 0', async () => {
    await computeMetrics({
      store,
      definitions: [deploymentDaysMedian],
      params: testParams(),
      from: '2026-03-01',
      to: '2026-04-01',
      scopes,
    });
    // weeks of 2, 9, 16, 23, 30 March: org 2,0,1,0,1 -> median 1; team b 1,0,0,0,0 -> 0
    expect(await values('deployment_days_per_week_median')).toEqual([
      { scope_id: 'a', period_start: '2026-03-01', value: 1, sample_size: '5' },
      { scope_id: 'b', period_start: '2026-03-01', value: 0, sample_size: '5' },
      { scope_id: 'org', period_start: '2026-03-01', value: 1, sample_size: '5' },
    ]);
  });

  it('replaces a period on recompute: a count drops to 0 for a scope the mapping names, a ratio loses its row', async () => {
    const defs = [deploymentFrequency, changeFailureRate];
    await computeMetrics({
      store,
      definitions: defs,
      params: testParams(),
      from: '2026-03-01',
      to: '2026-04-01',
      scopes,
      now: new Date('2026-04-01T00:00:00Z'),
    });
    expect(await values('deployment_frequency')).toEqual([
      { scope_id: 'a', period_start: '2026-03-01', value: 5, sample_size: '5' },
      { scope_id: 'b', period_start: '2026-03-01', value: 1, sample_size: '1' },
      { scope_id: 'org', period_start: '2026-03-01', value: 6, sample_size: '6' },
    ]);
    expect((await values('change_failure_rate')).map((r) => r.scope_id)).toEqual(['a', 'b', 'org']);

    // Team b's only deployment turns out to have failed: it no longer counts.
    await insertTables(store, { deployment_statuses: [{ ...status('b1', '2026-03-03', 'failure', 2), status_id: '2' }] });
    await link({ store, model: defaultModel() });
    const again = await computeMetrics({
      store,
      definitions: defs,
      params: testParams(),
      from: '2026-03-01',
      to: '2026-04-01',
      scopes,
      now: new Date('2026-04-02T00:00:00Z'),
    });
    expect(await values('deployment_frequency')).toEqual([
      { scope_id: 'a', period_start: '2026-03-01', value: 5, sample_size: '5' },
      { scope_id: 'b', period_start: '2026-03-01', value: 0, sample_size: '0' },
      { scope_id: 'org', period_start: '2026-03-01', value: 5, sample_size: '5' },
    ]);
    // no successful deployment of team b: no change failure rate, not 0%
    expect((await values('change_failure_rate')).map((r) => r.scope_id)).toEqual(['a', 'org']);
    expect(again.retracted).toBeGreaterThan(0);
  });

  it('stops between two metrics when its signal aborts, writing nothing and leaving no staged rows', async () => {
    const before = await values('deployment_frequency');
    const stopping = new AbortController();
    // The stop comes while the run is under way: right after its first metric's rows are staged.
    const watched = observedStore(store, (call) => {
      if (call.query.includes('INSERT INTO metric_value_staging')) stopping.abort(new Error('the process is stopping'));
    });
    await expect(
      computeMetrics({
        store: watched,
        definitions: [deploymentFrequency, changeFailureRate],
        params: testParams(),
        from: '2026-03-01',
        to: '2026-04-01',
        scopes,
        now: new Date('2026-04-03T00:00:00Z'),
        signal: stopping.signal,
      }),
    ).rejects.toThrow('the process is stopping');
    expect(stopping.signal.aborted).toBe(true);
    const staged = await queryRows<{ n: string }>(store, 'SELECT count() AS n FROM metric_value_staging');
    expect(Number(staged[0]!.n)).toBe(0);
    const versions = await queryRows<{ n: string }>(
      store,
      `SELECT count() AS n FROM metric_values
       WHERE metric IN ('deployment_frequency', 'change_failure_rate') AND computed_at >= toDateTime64('2026-04-03 00:00:00', 3, 'UTC')`,
    );
    expect(Number(versions[0]!.n)).toBe(0);
    expect(await values('deployment_frequency')).toEqual(before);
  });
});

describe('incident count', () => {
  it('counts incidents by when they started, on their team and service, open or resolved', async () => {
    const store = await testStore();
    try {
      const fact = (id: string, team: string, service: string, at: string, resolved: string | null) => ({
        source: 'pagerduty',
        incident_id: id,
        number: id,
        title: `incident ${id}`,
        service,
        urgency: 'high',
        severity: 'sev2',
        status: resolved === null ? 'triggered' : 'resolved',
        created_at: at,
        acknowledged_at: null,
        resolved_at: resolved,
        team,
        program: 'p',
        raw_event_id: '',
        linked_at: at,
        version: 1,
        is_deleted: 0,
      });
      await insertTables(store, {
        incident_facts: [
          fact('1', 'a', 'svc-a', '2026-03-02T10:00:00Z', '2026-03-02T12:00:00Z'),
          fact('2', 'a', 'svc-a', '2026-03-09T10:00:00Z', null),
          fact('3', 'b', 'svc-b', '2026-03-09T23:59:59Z', '2026-03-10T01:00:00Z'),
          fact('4', 'b', 'svc-b', '2026-02-28T10:00:00Z', null),
        ],
      });
      const read = await compute(store, [incidentCount], '2026-03-01', '2026-04-01');
      expect((await read('incident_count', 'team:a', 'month', '2026-03-01'))?.value).toBe(2);
      // incident 4 started in February: not in March
      expect((await read('incident_count', 'team:b', 'month', '2026-03-01'))?.value).toBe(1);
      expect((await read('incident_count', 'service:svc-b', 'week', '2026-03-09'))?.value).toBe(1);
      expect((await read('incident_count', 'org:org', 'week', '2026-03-09'))?.value).toBe(2);
      const rows = await explain(store, incidentCount, 'team:a', 'month', '2026-03-01');
      expect(rows.map((r) => r.detail)).toEqual([
        'sev2 high: incident 1 (resolved 2026-03-02 12:00:00.000)',
        'sev2 high: incident 2 (open)',
      ]);
    } finally {
      await store.close();
    }
  });
});

describe('a run as of a past instant', () => {
  // T: Wednesday 2026-03-11 12:00 UTC. The wall clock says 2026-04-02; the store holds facts from after T.
  const T = new Date('2026-03-11T12:00:00Z');
  const WALL = new Date('2026-04-02T00:00:00Z');
  const config = { model: defaultModel(), metrics: defaultMetricsConfig(), org: { programs: [] } };
  const definitions = [deploymentFrequency, ...FLOW_METRICS.filter((m) => m.id === 'risks_open')];
  let store: Store;
  const risk = (key: string, created: string) =>
    workItemRow({
      item_id: `id-${key}`,
      key,
      project: 'R',
      type: 'Risk',
      kind: 'risk',
      status: 'Done',
      status_category: 'done',
      priority: 'High',
      priority_rank: 2,
      created_at: created,
      updated_at: '2026-03-15T00:00:00Z',
      summary: key,
      team: 'a',
      program: 'p',
      raw_event_id: 'e',
      version: 1,
    });
  const month = async (metric: string, asOf?: Date) =>
    (await readMetricValues(store, { metric, period: 'month', scope: { kind: 'org', id: 'org' }, ...(asOf ? { asOf } : {}) })).map((r) => [
      r.period_start,
      r.value,
      r.computed_at,
    ]);

  beforeAll(async () => {
    store = await testStore();
    // a1 finished 03-02, a2 on 03-20 (after T). Risk R-1 raised 03-01, done 03-15 (after T).
    await insertTables(store, {
      deployments: [deployment('a1', 'svc-a', 'a', '2026-03-02'), deployment('a2', 'svc-a', 'a', '2026-03-20')],
      deployment_statuses: [status('a1', '2026-03-02'), status('a2', '2026-03-20')],
      work_items: [risk('R-1', '2026-03-01T00:00:00Z')],
      work_item_history: [
        {
          source: 'jira',
          item_id: 'id-R-1',
          history_id: '1',
          field: 'status',
          field_id: 'status',
          from_value: '',
          from_string: 'To Do',
          to_value: '',
          to_string: 'Done',
          changed_at: '2026-03-15T00:00:00Z',
          author: 'dana',
          raw_event_id: 'e',
          version: 1,
        },
      ],
    });
    await link({ store, model: defaultModel() });
  });
  afterAll(() => store.close());

  it('counts what had happened by the instant, takes the running month as it stood then, and records the values at it', async () => {
    const clock = fixedClock(WALL);
    const r = await runMetricsJob({ store, config, run: { mode: 'recent' }, definitions, periods: ['month'], clock, asOf: T });
    // The recent periods as of T: from the 1st of March (the month) to the day after T.
    expect([r.from, r.to]).toEqual(['2026-03-01', '2026-03-12']);
    // a2 finished after T; R-1 was still open at T.
    expect(await month('deployment_frequency')).toEqual([['2026-03-01', 1, '2026-03-11 12:00:00.000']]);
    expect(await month('risks_open')).toEqual([['2026-03-01', 1, '2026-03-11 12:00:00.000']]);
    // The run itself is recorded at the clock's time.
    const runs = await queryRows<{ job: string; started_at: string; finished_at: string }>(
      store,
      `SELECT job, toString(started_at) AS started_at, toString(finished_at) AS finished_at FROM metric_runs`,
    );
    expect(runs).toEqual([{ job: 'metrics-recent', started_at: '2026-04-02 00:00:00.000', finished_at: '2026-04-02 00:00:00.000' }]);
  });

  it('does not replace values computed after the instant', async () => {
    await runMetricsJob({
      store,
      config,
      run: { mode: 'range', from: '2026-03-01', to: '2026-04-01' },
      definitions,
      periods: ['month'],
      clock: fixedClock(WALL),
    });
    // At the month's end both deployments had finished and R-1 was done.
    expect(await month('deployment_frequency')).toEqual([['2026-03-01', 2, '2026-04-02 00:00:00.000']]);
    expect(await month('risks_open')).toEqual([['2026-03-01', 0, '2026-04-02 00:00:00.000']]);
    // Evaluating T again leaves today's values alone; T's are what the store said then.
    await runMetricsJob({ store, config, run: { mode: 'recent' }, definitions, periods: ['month'], clock: fixedClock(WALL), asOf: T });
    expect(await month('deployment_frequency')).toEqual([['2026-03-01', 2, '2026-04-02 00:00:00.000']]);
    expect(await month('deployment_frequency', T)).toEqual([['2026-03-01', 1, '2026-03-11 12:00:00.000']]);
    expect(await month('risks_open', T)).toEqual([['2026-03-01', 1, '2026-03-11 12:00:00.000']]);
  });

  it('explains a value as of the instant', async () => {
    const rows = await explainMetric({
      store,
      definition: definitions[1]!,
      params: testParams(),
      scope: { kind: 'team', id: 'a' },
      period: { kind: 'month', start: '2026-03-01' },
      asOf: T,
    });
    expect(rows.map((r) => r.detail)).toEqual([
      "open (To Do) at 2026-03-11 12:00:00.000, 10.5 days since raised 2026-03-01 00:00:00.000; severity high (severity '', priority 'High')",
    ]);
    const later = await explainMetric({
      store,
      definition: deploymentFrequency,
      params: testParams(),
      scope: { kind: 'team', id: 'a' },
      period: { kind: 'month', start: '2026-03-01' },
      clock: fixedClock(WALL),
    });
    expect(later.map((r) => r.item)).toHaveLength(2);
  });

  it('refuses an instant after now', async () => {
    await expect(runMetricsJob({ store, config, run: { mode: 'recent' }, definitions, clock: fixedClock(T), asOf: WALL })).rejects.toThrow(
      '--as-of 2026-04-02T00:00:00.000Z is not an instant up to now (2026-03-11T12:00:00.000Z)',
    );
  });
});

/**
 * A recent-periods run reads only what can change the recent periods; what it writes for them must be
 * what a full recompute writes. Two stores hold the same generated organisation, linked alike: on one a
 * full run at T; on the other a full run an hour earlier, then the recent run at T. Every value of the
 * recent run's periods (and every period it does not cover) is the same on both, value by value.
 */
describe('a recent-periods run against a full recompute', () => {
  const stores: Store[] = [];
  let org: LargeOrgResult;
  let range: { from: string | undefined; to: string | undefined };
  const config = { model: defaultModel(), metrics: defaultMetricsConfig(), org: { programs: [] } };
  const seeded = async (): Promise<Store> => {
    const store = await testStore();
    stores.push(store);
    org = await writeLargeOrg(store, { seed: 7, teams: 2, years: 0.3, end: '2026-11-04' });
    await link({ store, model: config.model, now: new Date(`${org.end}T00:00:00Z`) });
    return store;
  };
  const T = new Date('2026-11-04T15:00:00Z');
  const rows = (store: Store) =>
    queryRows<Record<string, unknown>>(
      store,
      `SELECT metric, scope_kind, scope_id, period_kind, toString(period_start) AS ps, value, numerator, denominator, sample_size,
              unit, definition_version, toString(computed_at) AS at
       FROM metric_values FINAL WHERE is_deleted = 0
       ORDER BY metric, scope_kind, scope_id, period_kind, period_start`,
    );

  beforeAll(async () => {
    const full = await seeded();
    const withOrg = { ...config, org: org.org };
    await runMetricsJob({ store: full, config: withOrg, run: { mode: 'full' }, now: T });
    const recent = await seeded();
    await runMetricsJob({ store: recent, config: withOrg, run: { mode: 'full' }, now: new Date(T.getTime() - 3_600_000) });
    const r = await runMetricsJob({ store: recent, config: withOrg, run: { mode: 'recent' }, now: T });
    range = { from: r.from, to: r.to };
  }, 600_000);

  afterAll(async () => {
    for (const s of stores) await s.close();
  });

  it('leaves the same values as a full recompute at the same instant', async () => {
    expect(range).toEqual({ from: '2026-10-26', to: '2026-11-05' });
    const [full, recent] = [await rows(stores[0]!), await rows(stores[1]!)];
    const atT = (r: Record<string, unknown>): boolean => r['at'] === '2026-11-04 15:00:00.000';
    // The recent run wrote the values of October, November, and the weeks and days from 26 October.
    const recentKeys = recent.filter(atT);
    expect(new Set(recentKeys.map((r) => `${String(r['period_kind'])} ${String(r['ps'])}`))).toEqual(
      new Set([
        'month 2026-10-01',
        'month 2026-11-01',
        'week 2026-10-26',
        'week 2026-11-02',
        ...['26', '27', '28', '29', '30', '31'].map((d) => `day 2026-10-${d}`),
        ...['01', '02', '03', '04'].map((d) => `day 2026-11-${d}`),
      ]),
    );
    expect(recentKeys.length).toBeGreaterThan(1000);
    // Older periods keep the earlier full run's values; the values themselves are the same everywhere.
    const content = (r: Record<string, unknown>) => ({ ...r, at: undefined });
    expect(recent.map(content)).toEqual(full.map(content));
    expect(recentKeys).toEqual(full.filter(isRecent));
  });

  const isRecent = (r: Record<string, unknown>): boolean =>
    (r['period_kind'] === 'month' && String(r['ps']) >= '2026-10-01') ||
    (r['period_kind'] === 'week' && String(r['ps']) >= '2026-10-26') ||
    (r['period_kind'] === 'day' && String(r['ps']) >= '2026-10-26');
});
