import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../infra/clock.js';
import type { Store } from '../../infra/store/client.js';
import { queryRows, testStore } from '../../test/support/harness.js';
import { testParams } from '../../test/support/metrics.js';
import { METRICS } from './definitions/index.js';
import { addDays, type Day } from './engine.js';
import { computeRiskSignals, RISK_INDICATORS, scoreRows, type RiskOptions, type SignalRow, spreadFloor } from './risk.js';

/**
 * Hand-built weekly metric_values series. The week under test is 2026-03-02 (a Monday); its 12-week
 * baseline is 2025-12-08 .. 2026-02-23. Options are the config defaults: 12 baseline weeks, 6 weeks of
 * minimum history, threshold 3.5, seasonality from 26 weeks (a 13-week cycle).
 */
const WEEK = '2026-03-02';
const RISK: RiskOptions = { baselineWeeks: 12, minHistoryWeeks: 6, threshold: 3.5, seasonalMinWeeks: 26 };
const T0 = new Date('2026-03-10T00:00:00Z');

/** A risk_signals row as read back (the bookkeeping columns aside). */
type Signal = Omit<SignalRow, 'computed_at' | 'version' | 'is_deleted'>;

interface Score {
  scope_kind: string;
  scope_id: string;
  week_start: string;
  score: number;
  active_signals: number;
  top_indicator: string;
}

/**
 * Weekly values of `metric` for a scope ('team:checkout'), the last one in `lastWeek` and each before it one
 * week earlier; null leaves a week without a value.
 */
async function series(store: Store, metric: string, scope: string, unit: string, values: Array<number | null>, lastWeek: Day = WEEK) {
  const [kind, id] = scope.split(':') as [string, string];
  const rows = values.flatMap((value, i) =>
    value === null
      ? []
      : [
          {
            metric,
            scope_kind: kind,
            scope_id: id,
            period_kind: 'week',
            period_start: addDays(lastWeek, -7 * (values.length - 1 - i)),
            value,
            numerator: null,
            denominator: null,
            sample_size: 1,
            unit,
            definition_version: 1,
            computed_at: '2026-03-09 00:00:00.000',
            version: 1,
            is_deleted: 0,
          },
        ],
  );
  await storeValues(store, rows);
}

/** Stores metric values as a metrics run does: the current versions, and each one in the history of versions. */
async function storeValues(store: Store, rows: Array<Record<string, unknown>>): Promise<void> {
  for (const table of ['metric_values', 'metric_value_history']) await store.client.insert({ table, values: rows, format: 'JSONEachRow' });
}

function run(store: Store, from: Day = WEEK, to: Day = addDays(WEEK, 7), risk: Partial<RiskOptions> = {}, now = T0) {
  return computeRiskSignals({ store, params: testParams(), risk: { ...RISK, ...risk }, weeks: { from, to }, now });
}

async function signals(store: Store): Promise<Signal[]> {
  const rows = await queryRows<Signal>(
    store,
    `SELECT scope_kind, scope_id, indicator, toString(week_start) AS week_start, observed, expected, lower, upper, score, active,
            method, history_weeks, explanation
     FROM risk_signals FINAL ORDER BY scope_kind, scope_id, indicator, week_start`,
  );
  return rows.map((r) => ({ ...r, active: Number(r.active), history_weeks: Number(r.history_weeks) }));
}

async function scores(store: Store): Promise<Score[]> {
  const rows = await queryRows<Score>(
    store,
    `SELECT scope_kind, scope_id, toString(week_start) AS week_start, score, active_signals, toString(top_indicator) AS top_indicator
     FROM risk_scores FINAL ORDER BY scope_kind, scope_id, week_start`,
  );
  return rows.map((r) => ({ ...r, active_signals: Number(r.active_signals) }));
}

const find = (rows: Signal[], scope: string, indicator: string, week = WEEK): Signal | undefined =>
  rows.find((r) => `${r.scope_kind}:${r.scope_id}` === scope && r.indicator === indicator && r.week_start === week);

/**
 * Change failure rate baseline (ratio): 0.04 0.06 0.08 0.10 0.12 0.08 0.06 0.10 0.08 0.04 0.12 0.08.
 * Sorted: .04 .04 .06 .06 .08 .08 .08 .08 .10 .10 .12 .12 -> median .08. Absolute deviations sorted:
 * 0 0 0 0 .02 .02 .02 .02 .04 .04 .04 .04 -> MAD .02, spread .02 / .6745 = .0296516.
 */
const CFR_BASE = [0.04, 0.06, 0.08, 0.1, 0.12, 0.08, 0.06, 0.1, 0.08, 0.04, 0.12, 0.08];
/**
 * Deployment count baseline: 10 12 11 9 10 11 10 12 9 10 11 10 -> sorted 9 9 10 10 10 10 10 11 11 11 12 12,
 * median 10; deviations: five 0, five 1, two 2 -> MAD (1 + 1) / 2 = 1, spread 1 / .6745 = 1.482580.
 */
const DEPLOY_BASE = [10, 12, 11, 9, 10, 11, 10, 12, 9, 10, 11, 10];
/**
 * Lead time baseline (hours): 20 24 22 26 30 22 24 28 20 26 24 22 -> sorted 20 20 22 22 22 24 24 24 26 26 28 30,
 * median 24; deviations sorted 0 0 0 2 2 2 2 2 4 4 4 6 -> MAD 2, spread 2.965159.
 */
const LEAD_BASE = [20, 24, 22, 26, 30, 22, 24, 28, 20, 26, 24, 22];

describe('risk signals (item 20)', () => {
  it('fires on a spike in the harmful direction, with expected value, band, score and a pasteable explanation', async () => {
    const store = await testStore();
    // team checkout: change failure rate 40% in the week (z = .6745 * (.40 - .08) / .02 = 10.792),
    // deployments down to 4 (z = .6745 * (4 - 10) / 1 = -4.047, lower is harmful).
    await series(store, 'change_failure_rate', 'team:checkout', 'ratio', [...CFR_BASE, 0.4]);
    await series(store, 'deployment_frequency', 'team:checkout', 'count', [...DEPLOY_BASE, 4]);
    // org: the same baseline, 15% in the week: z = .6745 * .07 / .02 = 2.361, inside the band.
    await series(store, 'change_failure_rate', 'org:org', 'ratio', [...CFR_BASE, 0.15]);
    // Day and month values are not weekly series and are ignored, however extreme.
    await store.client.insert({
      table: 'metric_values',
      values: ['day', 'month'].map((k) => ({
        metric: 'change_failure_rate',
        scope_kind: 'team',
        scope_id: 'checkout',
        period_kind: k,
        period_start: k === 'day' ? WEEK : '2026-03-01',
        value: 0.9,
        sample_size: 1,
        unit: 'ratio',
        definition_version: 1,
        computed_at: '2026-03-09 00:00:00.000',
        version: 1,
      })),
      format: 'JSONEachRow',
    });

    const result = await run(store);
    // Only the week 2026-03-02 is recomputed: 3 signals (2 active), 2 score rows.
    expect(result).toMatchObject({ signals: 3, active: 2, scores: 2, retracted: 0 });
    const rows = await signals(store);
    expect(rows).toHaveLength(3);

    const cfr = find(rows, 'team:checkout', 'change_failure_rate')!;
    expect(cfr).toMatchObject({ observed: 0.4, active: 1, method: 'robust_z', history_weeks: 12 });
    expect(cfr.expected).toBeCloseTo(0.08, 10);
    expect(cfr.score).toBeCloseTo((0.6745 * 0.32) / 0.02, 6); // 10.792
    // band .08 +- 3.5 * .0296516 = .08 +- .103781: the lower bound is clipped at 0.
    expect(cfr.lower).toBe(0);
    expect(cfr.upper).toBeCloseTo(0.08 + (3.5 * 0.02) / 0.6745, 6); // .183781
    expect(cfr.explanation).toBe(
      'Change failure rate for team checkout was 40% in the week of 2026-03-02, against 8% expected (band 0-18%) over the previous 12 weeks.',
    );

    const dep = find(rows, 'team:checkout', 'deployment_count')!;
    expect(dep).toMatchObject({ observed: 4, expected: 10, active: 1, method: 'robust_z', history_weeks: 12 });
    expect(dep.score).toBeCloseTo(-4.047, 6);
    // band 10 +- 3.5 * 1.482580 = 10 +- 5.189029
    expect(dep.lower).toBeCloseTo(4.810971, 5);
    expect(dep.upper).toBeCloseTo(15.189029, 5);
    expect(dep.explanation).toBe(
      'Production deployment count for team checkout was 4 in the week of 2026-03-02, against 10 expected (band 4.8-15) over the previous 12 weeks.',
    );

    const org = find(rows, 'org:org', 'change_failure_rate')!;
    expect(org).toMatchObject({ observed: 0.15, active: 0 });
    expect(org.score).toBeCloseTo((0.6745 * 0.07) / 0.02, 6); // 2.361
    expect(org.explanation).toBe(
      'Change failure rate across the org was 15% in the week of 2026-03-02, against 8% expected (band 0-18%) over the previous 12 weeks.',
    );

    // Risk score: min(10.792 / 3.5, 3) = 3 (capped) + min(4.047 / 3.5, 3) = 1.156286 -> 4.156286; the top
    // indicator is the capped one. The org has a signal that did not fire: score 0, no top indicator.
    const sc = await scores(store);
    expect(sc).toHaveLength(2);
    expect(sc[0]).toMatchObject({ scope_kind: 'org', scope_id: 'org', week_start: WEEK, score: 0, active_signals: 0, top_indicator: '' });
    expect(sc[1]).toMatchObject({ scope_kind: 'team', scope_id: 'checkout', week_start: WEEK, active_signals: 2 });
    expect(sc[1]!.score).toBeCloseTo(3 + 4.047 / 3.5, 6);
    expect(sc[1]!.top_indicator).toBe('change_failure_rate');
  });

  it('does not fire on the same spike in the good direction', async () => {
    const store = await testStore();
    // Deployments up to 16: z = .6745 * (16 - 10) / 1 = +4.047, past the threshold but in the good direction.
    await series(store, 'deployment_frequency', 'service:cart', 'count', [...DEPLOY_BASE, 16]);
    // Lead time: 44 h is z = .6745 * (44 - 24) / 2 = +6.745 (harmful, fires); 4 h is -6.745 (good, does not).
    await series(store, 'change_lead_time_p50', 'team:checkout', 'hours', [...LEAD_BASE, 44]);
    await series(store, 'change_lead_time_p50', 'team:payments', 'hours', [...LEAD_BASE, 4]);
    await run(store);
    const rows = await signals(store);

    const up = find(rows, 'service:cart', 'deployment_count')!;
    expect(up.score).toBeCloseTo(4.047, 6);
    expect(up.active).toBe(0);
    expect(up.upper).toBeCloseTo(15.189029, 5);
    expect(up.explanation).toBe(
      'Production deployment count for service cart was 16 in the week of 2026-03-02, against 10 expected (band 4.8-15) over the previous 12 weeks.',
    );

    const slow = find(rows, 'team:checkout', 'lead_time')!;
    expect(slow.score).toBeCloseTo(6.745, 6);
    expect(slow.active).toBe(1);
    // band 24 +- 3.5 * 2.965159 = 24 +- 10.378 -> 13.6-34.4 h, shown whole above 10.
    expect(slow.explanation).toBe(
      'Change lead time (p50) for team checkout was 44 hours in the week of 2026-03-02, against 24 hours expected (band 14-34 hours) over the previous 12 weeks.',
    );
    const fast = find(rows, 'team:payments', 'lead_time')!;
    expect(fast.score).toBeCloseTo(-6.745, 6);
    expect(fast.active).toBe(0);

    const sc = await scores(store);
    expect(sc.map((s) => [s.scope_kind, s.scope_id, s.active_signals, s.top_indicator])).toEqual([
      ['service', 'cart', 0, ''],
      ['team', 'checkout', 1, 'lead_time'],
      ['team', 'payments', 0, ''],
    ]);
    expect(sc[1]!.score).toBeCloseTo(6.745 / 3.5, 6); // 1.927143
  });

  it('gives no signal with too little history', async () => {
    const store = await testStore();
    // 5 weeks of history (minimum 6): nothing is stored, however large the spike.
    await series(store, 'change_failure_rate', 'team:a', 'ratio', [0.1, 0.12, 0.08, 0.1, 0.14, 0.9]);
    // A value 13 weeks back is outside the 12-week baseline: still 5 weeks.
    await series(store, 'change_failure_rate', 'team:b', 'ratio', [
      0.1,
      null,
      null,
      null,
      null,
      null,
      null,
      null,
      0.12,
      0.08,
      0.1,
      0.14,
      0.06,
      0.9,
    ]);
    // 6 weeks: .10 .12 .08 .10 .14 .06 -> median .10, deviations 0 .02 .02 0 .04 .04 sorted 0 0 .02 .02 .04 .04,
    // MAD .02; 0.5 is z = .6745 * .4 / .02 = 13.49. The baseline is 6 of the previous 12 weeks.
    await series(store, 'change_failure_rate', 'team:c', 'ratio', [0.1, 0.12, 0.08, 0.1, 0.14, 0.06, 0.5]);
    const result = await run(store);
    expect(result).toMatchObject({ signals: 1, active: 1, scores: 1 });
    const rows = await signals(store);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ scope_id: 'c', history_weeks: 6, active: 1, expected: 0.1 });
    expect(rows[0]!.score).toBeCloseTo((0.6745 * 0.4) / 0.02, 6);
    expect(rows[0]!.explanation).toBe(
      'Change failure rate for team c was 50% in the week of 2026-03-02, against 10% expected (band 0-20%) over 6 of the previous 12 weeks.',
    );
    expect((await scores(store)).map((s) => s.scope_id)).toEqual(['c']);
  });

  it('falls back to the mean absolute deviation when the MAD is 0, and gives no score to a baseline with no variation', async () => {
    const store = await testStore();
    // 2 incidents a week except one week with 6: median 2, MAD 0 (eleven deviations of 0). Mean absolute
    // deviation 4 / 12 = .333333, spread 1.253314 * .333333 = .417771, raised to the floor for counts of
    // half an incident: 6 incidents is z = 4 / .5 = 8, band 2 +- 3.5 * .5 = .25 .. 3.75.
    const oneOutlier = [2, 2, 2, 2, 2, 2, 2, 6, 2, 2, 2, 2];
    await series(store, 'incident_count', 'team:checkout', 'count', [...oneOutlier, 6]);
    await series(store, 'incident_count', 'team:search', 'count', [...oneOutlier, 2]);
    // Every week 2: no spread at all; the week with 6 is stored with score 0 and does not fire.
    await series(store, 'incident_count', 'team:payments', 'count', [...Array<number>(12).fill(2), 6]);
    await run(store);
    const rows = await signals(store);

    const fired = find(rows, 'team:checkout', 'incident_count')!;
    expect(fired.score).toBeCloseTo(8, 6);
    expect(fired.active).toBe(1);
    expect(fired.lower).toBeCloseTo(0.25, 6);
    expect(fired.upper).toBeCloseTo(3.75, 6);
    expect(fired.explanation).toBe(
      'Incident count for team checkout was 6 in the week of 2026-03-02, against 2 expected (band 0.25-3.8) over the previous 12 weeks.',
    );
    const usual = find(rows, 'team:search', 'incident_count')!;
    expect(usual).toMatchObject({ score: 0, active: 0, expected: 2 });

    const flat = find(rows, 'team:payments', 'incident_count')!;
    expect(flat).toMatchObject({ observed: 6, expected: 2, lower: 2, upper: 2, score: 0, active: 0, method: 'robust_z' });
    expect(flat.explanation).toBe(
      'Incident count for team payments was 6 in the week of 2026-03-02, against 2 in each of the previous 12 weeks; a baseline with no variation gives no score.',
    );
    expect((await scores(store)).map((s) => [s.scope_id, s.active_signals])).toEqual([
      ['checkout', 1],
      ['payments', 0],
      ['search', 0],
    ]);
  });

  it('removes a 13-week seasonal cycle: the regular peak does not fire, an off-season peak does', async () => {
    const store = await testStore();
    // 52 weeks of lead time around 10 h (noise -1 .. +1 h) with a 30 h peak every 13 weeks, then the week.
    const noise = (i: number) => (((i * 7) % 5) - 2) * 0.5;
    const cycle = (peakPhase: number) => Array.from({ length: 52 }, (_, i) => 10 + noise(i) + (i % 13 === peakPhase ? 20 : 0));
    // The week is index 52, phase 0 of the cycle. Team q-end peaks at phase 0: 30 h is its regular peak.
    await series(store, 'change_lead_time_p50', 'team:qend', 'hours', [...cycle(0), 30]);
    // Team mid peaks at phase 6: 30 h at phase 0 is off-season.
    await series(store, 'change_lead_time_p50', 'team:mid', 'hours', [...cycle(6), 30]);
    // The regular-peak series with one week missing 10 weeks back: the unbroken run is 9 weeks, too short
    // to decompose, so it is scored against its plain baseline (peak-free in the last 12 weeks) and fires.
    const broken: Array<number | null> = [...cycle(0), 30];
    broken[42] = null;
    await series(store, 'change_lead_time_p50', 'team:gap', 'hours', broken);
    await run(store);
    const rows = await signals(store);

    const regular = find(rows, 'team:qend', 'lead_time')!;
    expect(regular).toMatchObject({ method: 'seasonal', history_weeks: 52, active: 0 });
    // The decomposition expects the peak: about 30 h (29.9 in this engine version).
    expect(regular.expected).toBeGreaterThan(29);
    expect(regular.expected).toBeLessThan(31);
    expect(Math.abs(regular.score)).toBeLessThan(3.5);
    expect(regular.explanation).toMatch(
      /^Change lead time \(p50\) for team qend was 30 hours in the week of 2026-03-02, against \d+ hours expected \(band \d+-\d+ hours\) from the previous 52 weeks, allowing for a 13-week cycle\.$/,
    );

    const off = find(rows, 'team:mid', 'lead_time')!;
    expect(off).toMatchObject({ method: 'seasonal', history_weeks: 52, active: 1 });
    // Off-season the expectation is the base level, about 10 h.
    expect(off.expected).toBeGreaterThan(9);
    expect(off.expected).toBeLessThan(11);
    expect(off.score).toBeGreaterThan(3.5);
    expect(off.observed).toBeGreaterThan(off.upper);

    const gap = find(rows, 'team:gap', 'lead_time')!;
    expect(gap).toMatchObject({ method: 'robust_z', history_weeks: 11, active: 1 });

    // Without seasonal decomposition (it needs 520 weeks here), the regular peak would fire.
    await run(store, WEEK, addDays(WEEK, 7), { seasonalMinWeeks: 520 }, new Date(T0.getTime() + 1000));
    const plain = find(await signals(store), 'team:qend', 'lead_time')!;
    expect(plain).toMatchObject({ method: 'robust_z', history_weeks: 12, active: 1 });
  });

  it('replaces recomputed weeks and retracts what is no longer produced, leaving other weeks alone', async () => {
    const store = await testStore();
    await series(store, 'change_failure_rate', 'team:checkout', 'ratio', [...CFR_BASE, 0.4, 0.08], addDays(WEEK, 7));
    // Weeks 2026-03-02 and 2026-03-09: the spike fires; the week after it (baseline .06 .08 .10 .12 .08 .06 .10
    // .08 .04 .12 .08 .40: median .08, MAD .02) is back at .08, z = 0.
    const first = await run(store, WEEK, addDays(WEEK, 14));
    expect(first).toMatchObject({ signals: 2, active: 1, scores: 2, retracted: 0 });
    const before = await signals(store);

    // The same recompute gives the same rows.
    const again = await run(store, WEEK, addDays(WEEK, 14), {}, new Date(T0.getTime() + 1000));
    expect(again).toMatchObject({ signals: 2, active: 1, scores: 2, retracted: 0 });
    expect(await signals(store)).toEqual(before);

    // The spike week's value is corrected to .08, and the week after loses its value.
    await store.client.insert({
      table: 'metric_values',
      values: [
        { week: WEEK, value: 0.08, is_deleted: 0 },
        { week: addDays(WEEK, 7), value: 0.08, is_deleted: 1 },
      ].map((c) => ({
        metric: 'change_failure_rate',
        scope_kind: 'team',
        scope_id: 'checkout',
        period_kind: 'week',
        period_start: c.week,
        value: c.value,
        sample_size: 1,
        unit: 'ratio',
        definition_version: 1,
        computed_at: '2026-03-20 00:00:00.000',
        version: 2,
        is_deleted: c.is_deleted,
      })),
      format: 'JSONEachRow',
    });
    // Only the first week is recomputed: it no longer fires; the second week's rows stay as they were.
    const narrow = await run(store, WEEK, addDays(WEEK, 7), {}, new Date(T0.getTime() + 2000));
    expect(narrow).toMatchObject({ signals: 1, active: 0, scores: 1, retracted: 0 });
    let rows = await signals(store);
    expect(rows.map((r) => [r.week_start, r.observed, r.active])).toEqual([
      [WEEK, 0.08, 0],
      [addDays(WEEK, 7), 0.08, 0],
    ]);
    expect((await scores(store)).map((s) => [s.week_start, s.score])).toEqual([
      [WEEK, 0],
      [addDays(WEEK, 7), 0],
    ]);

    // Both weeks: the second has no value any more, so its signal and score are retracted.
    const wide = await run(store, WEEK, addDays(WEEK, 14), {}, new Date(T0.getTime() + 3000));
    expect(wide).toMatchObject({ signals: 1, scores: 1, retracted: 2 });
    rows = await signals(store);
    expect(rows.map((r) => r.week_start)).toEqual([WEEK]);
    expect((await scores(store)).map((s) => s.week_start)).toEqual([WEEK]);
  });

  it('scores the active signals: at least 1 and at most 3 each, top indicator by contribution', () => {
    const s = (indicator: string, score: number, active: number) => ({
      scope_kind: 'team',
      scope_id: 'checkout',
      week_start: WEEK,
      indicator,
      score,
      active,
    });
    // 7 / 3.5 = 2; -14 / 3.5 = 4 -> capped at 3; 20 is not active and counts nothing.
    const [row] = scoreRows([s('lead_time', 7, 1), s('deployment_count', -14, 1), s('incident_count', 20, 0)], 3.5);
    expect(row).toEqual({
      scope_kind: 'team',
      scope_id: 'checkout',
      week_start: WEEK,
      score: 5,
      active_signals: 2,
      top_indicator: 'deployment_count',
    });
  });

  it('reads indicators whose harmful direction is the opposite of their metric’s better direction', () => {
    const ids = RISK_INDICATORS.map((i) => i.indicator);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(RISK_INDICATORS.map((i) => i.metric)).size).toBe(ids.length);
    // Every indicator whose metric is defined must read it the right way round.
    for (const ind of RISK_INDICATORS) {
      const def = METRICS.find((m) => m.id === ind.metric);
      if (def !== undefined) expect(ind.harmful, ind.metric).toBe(def.better === 'higher' ? 'lower' : 'higher');
    }
    // The delivery metrics exist today.
    for (const id of ['deployment_frequency', 'change_lead_time_p50', 'change_failure_rate', 'failed_deployment_recovery_time_p50']) {
      expect(METRICS.some((m) => m.id === id)).toBe(true);
    }
  });
});

describe('spread floor', () => {
  it('needs a move a reader would call a change: a tenth of the expected value, half an event, two points of a share', async () => {
    expect(spreadFloor('count', 2)).toBe(0.5);
    expect(spreadFloor('count', 40)).toBe(4);
    expect(spreadFloor('ratio', 0.05)).toBe(0.02);
    expect(spreadFloor('hours', 30)).toBe(3);
    const store = await testStore();
    // A failure rate that sits near 1% (MAD .005): 3% is four MADs out, but only one floor (2 points) above: no signal.
    await series(
      store,
      'change_failure_rate',
      'team:checkout',
      'ratio',
      [0.01, 0.015, 0.005, 0.01, 0.01, 0.015, 0.005, 0.01, 0.01, 0.015, 0.005, 0.01, 0.03],
    );
    await run(store);
    const s = find(await signals(store), 'team:checkout', 'change_failure_rate')!;
    expect(s.active).toBe(0);
    expect(s.score).toBeCloseTo((0.03 - 0.01) / 0.02, 6);
  });
});

describe('risk signals as of a past instant', () => {
  it('scores the whole weeks before the instant from the weekly values the store held then', async () => {
    const store = await testStore();
    // Weeks up to 03-09, all computed on 03-09; on 03-12 the week of 03-02 was recomputed to a 40% failure rate.
    await series(store, 'change_failure_rate', 'team:checkout', 'ratio', [...CFR_BASE, 0.08, 0.08], addDays(WEEK, 7));
    await storeValues(store, [
      {
        metric: 'change_failure_rate',
        scope_kind: 'team',
        scope_id: 'checkout',
        period_kind: 'week',
        period_start: WEEK,
        value: 0.4,
        numerator: null,
        denominator: null,
        sample_size: 1,
        unit: 'ratio',
        definition_version: 1,
        computed_at: '2026-03-12 00:00:00.000',
        version: 2,
        is_deleted: 0,
      },
    ]);
    await store.client.command({ query: 'OPTIMIZE TABLE metric_values FINAL' });

    // As of Tuesday 03-10 12:00 the week of 03-09 was still running: only the week of 03-02 is scored, at .08 (z = 0).
    const asOf = new Date('2026-03-10T12:00:00Z');
    const past = await computeRiskSignals({
      store,
      params: testParams(),
      risk: RISK,
      weeks: { from: WEEK, to: addDays(WEEK, 14) },
      clock: fixedClock(new Date('2026-03-20T00:00:00Z')),
      asOf,
    });
    expect(past).toMatchObject({ signals: 1, active: 0 });
    expect((await signals(store)).map((s) => [s.week_start, s.observed, s.active])).toEqual([[WEEK, 0.08, 0]]);
    const stamped = await queryRows<{ computed_at: string }>(store, 'SELECT toString(computed_at) AS computed_at FROM risk_signals FINAL');
    expect(stamped).toEqual([{ computed_at: '2026-03-10 12:00:00.000' }]);

    // Now (03-16), the corrected week fires and the week of 03-09 has ended.
    await computeRiskSignals({
      store,
      params: testParams(),
      risk: RISK,
      weeks: { from: WEEK, to: addDays(WEEK, 14) },
      clock: fixedClock(new Date('2026-03-16T00:00:00Z')),
    });
    expect((await signals(store)).map((s) => [s.week_start, s.observed, s.active])).toEqual([
      [WEEK, 0.4, 1],
      [addDays(WEEK, 7), 0.08, 0],
    ]);
  });
});
