import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../infra/store/client.js';
import { queryRows, testStore } from '../../test/support/harness.js';
import { BENCHMARK_YEARS, benchmarkRows, tierOf, writeBenchmarks, type Tier } from './benchmarks.js';

// Units: deployments per week, hours, ratio. A month is 730.5 h, so "once per month" is 168 / 730.5 per week.
const MONTH_H = 730.5;
const MONTHLY = 168 / MONTH_H;
const below = (x: number): number => x * (1 - 1e-9);

/** [value, tier] pairs: each boundary with the values just below it and at it. */
type Cases = Array<[number, Tier | undefined]>;

const CASES: Record<number, Record<string, Cases>> = {
  2023: {
    deployment_frequency: [
      [50, 'elite'], // several deploys per day
      [7, 'elite'], // exactly daily
      [below(7), 'high'],
      [1, 'high'], // exactly weekly
      [below(1), 'medium'],
      [MONTHLY, 'medium'], // exactly monthly
      [below(MONTHLY), 'low'], // medium's words; less than monthly is low
      [0, 'low'],
      [-1, undefined],
    ],
    change_lead_time_p50: [
      [0, 'elite'],
      [below(24), 'elite'],
      [24, 'high'],
      [below(168), 'high'],
      [168, 'medium'],
      [below(MONTH_H), 'medium'],
      [MONTH_H, 'low'],
      [10_000, 'low'],
    ],
    change_failure_rate: [
      [0, 'elite'],
      [0.05, 'elite'],
      [below(0.075), 'elite'],
      [0.075, 'high'],
      [0.1, 'high'],
      [below(0.125), 'high'],
      [0.125, 'medium'],
      [below(0.395), 'medium'],
      [0.395, 'low'],
      [0.64, 'low'],
      [1, 'low'],
    ],
    failed_deployment_recovery_time_p50: [
      [0.5, 'elite'],
      [below(1), 'elite'],
      [1, 'high'],
      [below(24), 'high'],
      [24, 'medium'],
      [168, 'medium'], // the gap between one week and one month is medium's
      [below(MONTH_H), 'medium'],
      [MONTH_H, 'low'],
      [5000, 'low'],
    ],
  },
  2024: {
    deployment_frequency: [
      [7, 'elite'],
      [below(7), 'high'],
      [1, 'high'],
      [below(1), 'medium'],
      [MONTHLY, 'medium'],
      [below(MONTHLY), 'low'],
      [168 / (6 * MONTH_H), 'low'], // once every six months
      [0, 'low'],
    ],
    change_lead_time_p50: [
      [below(24), 'elite'],
      [24, 'high'],
      [below(168), 'high'],
      [168, 'medium'],
      [below(MONTH_H), 'medium'],
      [MONTH_H, 'low'],
      [6 * MONTH_H, 'low'], // past the cluster's six months: still low
    ],
    // centres 5 (elite), 10 (medium), 20 (high), 40 (low) %: the nearest centre decides
    change_failure_rate: [
      [below(0.075), 'elite'],
      [0.075, 'medium'],
      [0.1, 'medium'],
      [below(0.15), 'medium'],
      [0.15, 'high'],
      [0.2, 'high'],
      [below(0.3), 'high'],
      [0.3, 'low'],
      [0.4, 'low'],
    ],
    failed_deployment_recovery_time_p50: [
      [below(1), 'elite'],
      [1, 'high'], // high and medium share "less than one day": the better tier
      [below(24), 'high'],
      [24, 'medium'],
      [below(168), 'medium'],
      [168, 'low'],
      [MONTH_H, 'low'],
    ],
  },
};

describe('DORA benchmark tiers', () => {
  for (const [year, metrics] of Object.entries(CASES)) {
    for (const [metric, cases] of Object.entries(metrics)) {
      it(`${year} ${metric}: every boundary, on both sides`, () => {
        for (const [value, tier] of cases) expect([value, tierOf(Number(year), metric, value)]).toEqual([value, tier]);
      });
    }
  }

  it('knows no other year or metric, and no non-finite value', () => {
    expect(tierOf(2022, 'deployment_frequency', 10)).toBeUndefined();
    expect(tierOf(2024, 'change_lead_time_p90', 10)).toBeUndefined();
    expect(tierOf(2024, 'change_failure_rate', Number.NaN)).toBeUndefined();
    expect(BENCHMARK_YEARS).toEqual([2023, 2024]);
  });

  it('has contiguous ranges without overlap: each tier starts where its neighbour ends', () => {
    const rows = benchmarkRows();
    expect(rows).toHaveLength(2 * 4 * 4);
    for (const year of [2023, 2024]) {
      for (const metric of ['deployment_frequency', 'change_lead_time_p50', 'change_failure_rate', 'failed_deployment_recovery_time_p50']) {
        const ranges = rows.filter((r) => r.report_year === year && r.metric === metric).sort((a, b) => (a.lower ?? 0) - (b.lower ?? 0));
        expect(ranges.map((r) => r.tier).sort()).toEqual(['elite', 'high', 'low', 'medium']);
        expect(ranges[0]!.lower).toBe(0);
        expect(ranges[3]!.upper).toBeNull();
        for (let i = 1; i < 4; i++) expect(ranges[i]!.lower).toBe(ranges[i - 1]!.upper);
      }
    }
  });

  it('uses the metric ids and units of the DORA metrics', () => {
    const units = new Map(benchmarkRows().map((r) => [r.metric, r.unit]));
    expect(Object.fromEntries(units)).toEqual({
      deployment_frequency: 'per_week',
      change_lead_time_p50: 'hours',
      change_failure_rate: 'ratio',
      failed_deployment_recovery_time_p50: 'hours',
    });
  });
});

describe('writeBenchmarks', () => {
  let store: Store;
  beforeAll(async () => {
    store = await testStore();
  });
  afterAll(() => store.close());

  it('inserts the rows once and reads them back', async () => {
    expect(await writeBenchmarks(store)).toEqual({ written: 32 });
    // a second run finds every row stored: nothing to write
    expect(await writeBenchmarks(store)).toEqual({ written: 0 });
    const rows = await queryRows<{
      report_year: number;
      metric: string;
      tier: string;
      lower: number | null;
      upper: number | null;
      unit: string;
      label: string;
      version: number;
    }>(store, 'SELECT * FROM dora_benchmarks ORDER BY report_year, metric, tier');
    expect(rows).toHaveLength(32);
    const byKey = (r: { report_year: number; metric: string; tier: string }): string => `${r.report_year} ${r.metric} ${r.tier}`;
    const expected = new Map(benchmarkRows().map((r) => [byKey(r), r]));
    for (const r of rows) {
      expect({ ...r, report_year: Number(r.report_year), version: Number(r.version) }).toEqual(expected.get(byKey(r)));
    }
    const cfr2024 = rows.find((r) => byKey(r) === '2024 change_failure_rate high');
    expect(cfr2024).toMatchObject({ lower: 0.15, upper: 0.3, unit: 'ratio' });
    // a reader can find a value's tier in SQL with the same half-open ranges
    const [hit] = await queryRows<{ tier: string }>(
      store,
      `SELECT tier FROM dora_benchmarks FINAL
       WHERE report_year = 2023 AND metric = 'change_lead_time_p50'
         AND (lower IS NULL OR {v:Float64} >= lower) AND (upper IS NULL OR {v:Float64} < upper)`,
      { v: 30 },
    );
    expect(hit).toEqual({ tier: 'high' });
  });
});
