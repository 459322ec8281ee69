import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config/load.js';
import type { Store } from '../../infra/store/client.js';
import { queryRows, tempDir, testStore } from '../../test/support/harness.js';
import { insertTables } from '../../test/support/mapping.js';
import { historyRow, milestoneDateRow, milestoneRow, workItemMaker } from '../../test/support/rows.js';
import { backtest, calibrationReading, dayStart, scoreForecast, weekStarts, type BacktestResult, type Calibration } from './backtest.js';

/**
 * Two teams whose every week is the same, so each forecast is one date in every trial (P50 = P85, and a
 * confidence of 0 or 1) and the scores can be checked by hand. Weeks start on Monday 00:00 in Berlin
 * (23:00 UTC on the Sunday before, in March 2026).
 *
 * - Checkout (program payments) finishes 2 items a week, every Wednesday, on each of its versions:
 *   Checkout 2.0 (version/1, own throughput, committed 2026-03-24, released 2026-03-25): 6 open items
 *   on 2026-03-02 (3 weeks: P50 = P85 = 03-23), 4 on 03-09 (2 weeks: 03-23); confidence 1 both times.
 *   Checkout 3.0 (version/3, own throughput, committed 2026-04-10, released 2026-04-06, after now):
 *   10 open items on 03-02 (5 weeks: 04-06), 8 on 03-09 (4 weeks: 04-06).
 * - Ledger (program core) finishes 2 items a week, one of them in Ledger 1.0 from 02-23 on: Ledger 1.0
 *   (version/2, started 02-23, committed 2026-03-27, released 2026-03-20) has too few done items for
 *   its own pace and takes half the team's: 1 a week. 3 open items on 03-02 (3 weeks: 03-23), 2 on 03-09
 *   (2 weeks: 03-23); confidence 1 both times.
 * Scored at now = 2026-03-30 10:00 UTC:
 *   Checkout 2.0: P85 missed (done 03-25 > 03-23), late for 03-24 (Brier (1 - 0)^2 = 1), P50 error +2 days.
 *   Ledger 1.0: P85 hit (03-20 <= 03-23), on time (Brier 0), P50 error -3 days.
 *   Checkout 3.0: not finished at now, P85 04-06 and committed 04-10 still ahead: unresolved, no Brier.
 */
const NOW = new Date('2026-03-30T10:00:00Z');
const wi = workItemMaker({
  programOf: { checkout: 'payments', ledger: 'core' },
  createdAt: '2026-01-10T09:00:00.000Z',
  updatedAt: '2026-03-15T09:00:00.000Z',
});
const done = { status: 'Done', status_category: 'done' } as const;

const config = loadConfig({
  env: {},
  cwd: tempDir(),
  overrides: {
    dataDir: tempDir(),
    metrics: { timeZone: 'Europe/Berlin', forecast: { trials: 200, seed: 5, windowWeeks: 4, minDoneItems: 4, minWeeks: 2 } },
  },
});

/** Items of a version done on the given days (10:00 UTC), and open ones. */
function version(prefix: string, team: string, fixVersion: string | null, doneOn: string[], open: number, first = 1) {
  const items = [];
  const history = [];
  let n = first;
  for (const day of doneOn) {
    const key = `${prefix}-${n++}`;
    items.push(wi(key, 'story', team, { ...done, fix_versions: fixVersion === null ? [] : [fixVersion] }));
    history.push(historyRow(key, `${day}T10:00:00.000Z`, 'status', 'To Do', 'Done'));
  }
  for (let i = 0; i < open; i++)
    items.push(wi(`${prefix}-${n++}`, 'story', team, { fix_versions: fixVersion === null ? [] : [fixVersion] }));
  return { items, history };
}

const TWICE_WEEKLY = ['2026-02-04', '2026-02-04', '2026-02-11', '2026-02-11', '2026-02-18', '2026-02-18', '2026-02-25', '2026-02-25'];

let store: Store;
let result: BacktestResult;

beforeAll(async () => {
  store = await testStore();
  const checkout2 = version('CHK', 'checkout', 'version/1', [...TWICE_WEEKLY, '2026-03-04', '2026-03-04'], 4);
  const checkout3 = version('CHK', 'checkout', 'version/3', [...TWICE_WEEKLY, '2026-03-04', '2026-03-04'], 8, 101);
  // The ledger team: one item a week in no milestone, and from 02-23 one in Ledger 1.0.
  const ledgerOther = version(
    'LED',
    'ledger',
    null,
    ['2026-02-04', '2026-02-04', '2026-02-11', '2026-02-11', '2026-02-18', '2026-02-18', '2026-02-25', '2026-03-04'],
    0,
  );
  const ledger1 = version('LED', 'ledger', 'version/2', ['2026-02-25', '2026-03-04'], 2, 101);
  const released = (at: string) => ({ state: 'done' as const, raw_state: 'released', completed_at: `${at}T00:00:00.000Z` });
  await insertTables(store, {
    milestones: [
      milestoneRow('version/1', 'Checkout 2.0', 'checkout', 'payments', {
        start_date: '2026-02-02',
        committed_date: '2026-03-24',
        ...released('2026-03-25'),
      }),
      milestoneRow('version/2', 'Ledger 1.0', 'ledger', 'core', {
        start_date: '2026-02-23',
        committed_date: '2026-03-27',
        ...released('2026-03-20'),
      }),
      milestoneRow('version/3', 'Checkout 3.0', 'checkout', 'payments', {
        start_date: '2026-02-02',
        committed_date: '2026-04-10',
        ...released('2026-04-06'),
      }),
    ],
    milestone_dates: [
      milestoneDateRow('version/1', '2026-02-01T00:00:00.000Z', '2026-03-24'),
      milestoneDateRow('version/2', '2026-02-20T00:00:00.000Z', '2026-03-27'),
      milestoneDateRow('version/3', '2026-02-01T00:00:00.000Z', '2026-04-10'),
    ],
    work_items: [...checkout2.items, ...checkout3.items, ...ledgerOther.items, ...ledger1.items],
    work_item_history: [...checkout2.history, ...checkout3.history, ...ledgerOther.history, ...ledger1.history],
  });
  result = await backtest(store, config, { from: '2026-03-01', to: '2026-03-11', now: NOW });
});

afterAll(async () => {
  await store.close();
});

const row = (r: BacktestResult, kind: string, id: string, basis: string): Calibration | undefined =>
  r.calibration.find((c) => c.scopeKind === kind && c.scopeId === id && c.basis === basis);

describe('the forecast backtest', () => {
  it('forecasts as of each Monday 00:00 in the time zone from `from` to `to`, with what was known then', () => {
    expect(result.weeks).toEqual(['2026-03-02', '2026-03-09']);
    expect(result.noNumber).toBe(0);
    const shown = result.scores.map((s) => [s.asOf, s.name, s.basis, s.p50, s.p85, s.confidence]);
    expect(shown).toEqual([
      ['2026-03-01T23:00:00.000Z', 'Checkout 2.0', 'milestone', '2026-03-23', '2026-03-23', 1],
      ['2026-03-01T23:00:00.000Z', 'Ledger 1.0', 'team share', '2026-03-23', '2026-03-23', 1],
      ['2026-03-01T23:00:00.000Z', 'Checkout 3.0', 'milestone', '2026-04-06', '2026-04-06', 1],
      ['2026-03-08T23:00:00.000Z', 'Checkout 2.0', 'milestone', '2026-03-23', '2026-03-23', 1],
      ['2026-03-08T23:00:00.000Z', 'Ledger 1.0', 'team share', '2026-03-23', '2026-03-23', 1],
      ['2026-03-08T23:00:00.000Z', 'Checkout 3.0', 'milestone', '2026-04-06', '2026-04-06', 1],
    ]);
  });

  it('scores each forecast against what is known at now; a milestone finished after now is unresolved', () => {
    const byName = (name: string) =>
      result.scores.filter((s) => s.name === name).map((s) => [s.doneDay, s.p85Hit, s.onTime, s.brier, s.p50ErrorDays]);
    expect(byName('Checkout 2.0')).toEqual([
      ['2026-03-25', false, false, 1, 2],
      ['2026-03-25', false, false, 1, 2],
    ]);
    expect(byName('Ledger 1.0')).toEqual([
      ['2026-03-20', true, true, 0, -3],
      ['2026-03-20', true, true, 0, -3],
    ]);
    // Released 04-06, after now: not finished as known at now, and P85 and the committed date are ahead.
    expect(byName('Checkout 3.0')).toEqual([
      [null, null, null, null, null],
      [null, null, null, null, null],
    ]);
  });

  it('sums the scores per organisation, program and throughput basis', () => {
    expect(row(result, 'org', 'org', '')).toEqual({
      scopeKind: 'org',
      scopeId: 'org',
      basis: '',
      forecasts: 6,
      resolved: 4,
      p85Hits: 2,
      p85HitRate: 0.5,
      brier: 0.5,
      brierForecasts: 4,
      maeDays: 2.5,
      biasDays: -0.5,
      maeForecasts: 4,
      unresolved: 2,
    });
    expect(row(result, 'org', 'org', 'milestone')).toMatchObject({
      forecasts: 4,
      resolved: 2,
      p85Hits: 0,
      p85HitRate: 0,
      brier: 1,
      maeDays: 2,
      unresolved: 2,
    });
    expect(row(result, 'org', 'org', 'team share')).toMatchObject({
      forecasts: 2,
      resolved: 2,
      p85Hits: 2,
      p85HitRate: 1,
      brier: 0,
      maeDays: 3,
      biasDays: -3,
    });
    expect(row(result, 'program', 'payments', '')).toMatchObject({ forecasts: 4, p85HitRate: 0, brier: 1, maeDays: 2, unresolved: 2 });
    expect(row(result, 'program', 'core', '')).toMatchObject({ forecasts: 2, p85HitRate: 1, brier: 0, maeDays: 3 });
    // A program lists only the bases it has.
    expect(row(result, 'program', 'core', 'milestone')).toBeUndefined();
    expect(result.calibration.map((c) => `${c.scopeKind}:${c.scopeId}:${c.basis}`)).toEqual([
      'org:org:',
      'org:org:milestone',
      'org:org:team share',
      // The organisation lists every basis, forecasts by cadence too (none here).
      'org:org:cadence',
      'program:core:',
      'program:core:team share',
      'program:payments:',
      'program:payments:milestone',
    ]);
    expect(calibrationReading(row(result, 'org', 'org', 'milestone')!)).toBe(
      'P85 too early (overconfident); confidence worse than a coin toss',
    );
    // The reading names what else is wrong: a P50 a week or more off on average, a Brier score above 0.25.
    const reading = (p85HitRate: number, biasDays: number | null, brier: number | null): string =>
      calibrationReading({ p85HitRate, resolved: 10, biasDays, brier });
    expect(reading(0.85, -46, 0.5)).toBe(
      'P85 well calibrated; P50 46 days late (pessimistic) on average; confidence worse than a coin toss',
    );
    expect(reading(0.95, 8.4, 0.1)).toBe('P85 too late (too cautious); P50 8 days early (optimistic) on average');
    expect(reading(0.85, -6.9, 0.25)).toBe('P85 well calibrated');
  });

  it('stores the calibration and the per-forecast scores of the run', async () => {
    const stored = await queryRows<Record<string, unknown>>(
      store,
      `SELECT toString(run_at) AS run, toString(from_day) AS from_day, toString(to_day) AS to_day, scope_kind, scope_id, toString(basis) AS basis,
              forecasts, resolved, p85_hits, p85_hit_rate, brier, mae_days, unresolved
       FROM forecast_calibration WHERE run_at = {at:DateTime64(3)} AND scope_kind = 'org' ORDER BY basis`,
      { at: NOW.getTime() / 1000 },
    );
    expect(stored).toEqual([
      {
        run: '2026-03-30 10:00:00.000',
        from_day: '2026-03-01',
        to_day: '2026-03-11',
        scope_kind: 'org',
        scope_id: 'org',
        basis: '',
        forecasts: 6,
        resolved: 4,
        p85_hits: 2,
        p85_hit_rate: 0.5,
        brier: 0.5,
        mae_days: 2.5,
        unresolved: 2,
      },
      {
        run: '2026-03-30 10:00:00.000',
        from_day: '2026-03-01',
        to_day: '2026-03-11',
        scope_kind: 'org',
        scope_id: 'org',
        basis: 'cadence',
        forecasts: 0,
        resolved: 0,
        p85_hits: 0,
        p85_hit_rate: null,
        brier: null,
        mae_days: null,
        unresolved: 0,
      },
      {
        run: '2026-03-30 10:00:00.000',
        from_day: '2026-03-01',
        to_day: '2026-03-11',
        scope_kind: 'org',
        scope_id: 'org',
        basis: 'milestone',
        forecasts: 4,
        resolved: 2,
        p85_hits: 0,
        p85_hit_rate: 0,
        brier: 1,
        mae_days: 2,
        unresolved: 2,
      },
      {
        run: '2026-03-30 10:00:00.000',
        from_day: '2026-03-01',
        to_day: '2026-03-11',
        scope_kind: 'org',
        scope_id: 'org',
        basis: 'team share',
        forecasts: 2,
        resolved: 2,
        p85_hits: 2,
        p85_hit_rate: 1,
        brier: 0,
        mae_days: 3,
        unresolved: 0,
      },
    ]);
    const scores = await queryRows<Record<string, unknown>>(
      store,
      `SELECT toString(as_of) AS as_of, milestone_id, toString(done_day) AS done_day, p85_hit, on_time, brier, p50_error_days
       FROM forecast_backtest_scores WHERE run_at = {at:DateTime64(3)} AND milestone_id != 'version/3' ORDER BY as_of, milestone_id`,
      { at: NOW.getTime() / 1000 },
    );
    expect(scores).toEqual([
      {
        as_of: '2026-03-01 23:00:00.000',
        milestone_id: 'version/1',
        done_day: '2026-03-25',
        p85_hit: 0,
        on_time: 0,
        brier: 1,
        p50_error_days: 2,
      },
      {
        as_of: '2026-03-01 23:00:00.000',
        milestone_id: 'version/2',
        done_day: '2026-03-20',
        p85_hit: 1,
        on_time: 1,
        brier: 0,
        p50_error_days: -3,
      },
      {
        as_of: '2026-03-08 23:00:00.000',
        milestone_id: 'version/1',
        done_day: '2026-03-25',
        p85_hit: 0,
        on_time: 0,
        brier: 1,
        p50_error_days: 2,
      },
      {
        as_of: '2026-03-08 23:00:00.000',
        milestone_id: 'version/2',
        done_day: '2026-03-20',
        p85_hit: 1,
        on_time: 1,
        brier: 0,
        p50_error_days: -3,
      },
    ]);
  });

  it('resolves a milestone once now passes its finish, and keeps to the programs asked for', async () => {
    const later = await backtest(store, config, {
      from: '2026-03-01',
      to: '2026-03-11',
      now: new Date('2026-04-07T08:00:00Z'),
      programs: ['payments'],
    });
    expect(later.scores.map((s) => s.name)).toEqual(['Checkout 2.0', 'Checkout 3.0', 'Checkout 2.0', 'Checkout 3.0']);
    // Checkout 3.0 released on its P85 and P50 day, before its committed date.
    expect(later.scores.filter((s) => s.name === 'Checkout 3.0').map((s) => [s.p85Hit, s.onTime, s.brier, s.p50ErrorDays])).toEqual([
      [true, true, 0, 0],
      [true, true, 0, 0],
    ]);
    expect(row(later, 'org', 'org', '')).toMatchObject({ forecasts: 4, resolved: 4, p85Hits: 2, brier: 0.5, maeDays: 1, unresolved: 0 });
    expect(later.calibration.filter((c) => c.scopeKind === 'program').map((c) => c.scopeId)).toEqual(['payments', 'payments']);
  });

  it('leaves out week starts at or after now', async () => {
    const r = await backtest(store, config, {
      from: '2026-03-02',
      to: '2026-03-31',
      now: new Date('2026-03-09T12:00:00Z'),
      programs: ['core'],
    });
    expect(r.weeks).toEqual(['2026-03-02', '2026-03-09']);
    expect(
      (await backtest(store, config, { from: '2026-03-02', to: '2026-03-31', now: new Date('2026-03-08T22:59:00Z'), programs: ['core'] }))
        .weeks,
    ).toEqual(['2026-03-02']);
  });
});

describe('scoring one forecast', () => {
  const f = { committed: '2026-04-10', p50: '2026-04-01', p85: '2026-04-06', confidence: 0.7 };

  it('counts a P85 passed without a finish as a miss, and a committed date passed as late', () => {
    expect(scoreForecast(f, null, '2026-04-07')).toEqual({ doneDay: null, p85Hit: false, onTime: null, brier: null, p50ErrorDays: null });
    // Brier: (0.7 - 0)^2.
    expect(scoreForecast(f, null, '2026-04-11')).toMatchObject({ p85Hit: false, onTime: false, brier: 0.7 ** 2 });
    // On the P85 day itself it may still finish that day.
    expect(scoreForecast(f, null, '2026-04-06')).toMatchObject({ p85Hit: null, onTime: null });
  });

  it('counts a finish on the P85 or committed day as done by it; a P85 beyond the horizon is met by any finish', () => {
    expect(scoreForecast(f, '2026-04-06', '2026-05-01')).toEqual({
      doneDay: '2026-04-06',
      p85Hit: true,
      onTime: true,
      brier: (0.7 - 1) ** 2,
      p50ErrorDays: 5,
    });
    expect(scoreForecast({ ...f, p85: null, p50: null }, '2026-09-01', '2026-10-01')).toMatchObject({
      p85Hit: true,
      onTime: false,
      p50ErrorDays: null,
    });
    expect(scoreForecast({ ...f, committed: null, confidence: null }, '2026-04-02', '2026-05-01')).toMatchObject({
      onTime: null,
      brier: null,
      p50ErrorDays: 1,
    });
  });
});

describe('week starts', () => {
  it('are the Mondays from `from` to `to`, both included, at 00:00 in the time zone', () => {
    expect(weekStarts('2026-03-02', '2026-03-16')).toEqual(['2026-03-02', '2026-03-09', '2026-03-16']);
    expect(weekStarts('2026-03-03', '2026-03-08')).toEqual([]);
    // Across the change to summer time in Berlin (2026-03-29).
    expect(dayStart('2026-03-30', 'Europe/Berlin').toISOString()).toBe('2026-03-29T22:00:00.000Z');
    expect(dayStart('2026-03-23', 'America/New_York').toISOString()).toBe('2026-03-23T04:00:00.000Z');
  });

  it('say what is wrong with a date', () => {
    expect(() => weekStarts('2026-02-30', '2026-03-08')).toThrow("forecast backtest: from '2026-02-30' is not a date; expected YYYY-MM-DD");
    expect(() => weekStarts('2026-03-08', '2026-03-01')).toThrow('forecast backtest: from 2026-03-08 is after to 2026-03-01');
  });
});
