import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config/load.js';
import type { Store } from '../../infra/store/client.js';
import {
  backtest,
  calibrationReading,
  weekStarts,
  type BacktestResult,
  type Calibration,
  type ForecastScore,
} from '../../workers/forecast/backtest.js';
import { writeLargeOrg, type LargeOrgResult } from '../fakes/large-org.js';
import { queryRows, tempDir, testStore } from '../support/harness.js';

/**
 * The forecast backtest over a small generated organisation: three teams, six months of history, the
 * Mondays of its last eight weeks as as-of points, scored at the end of history. The generated teams
 * plan as Jira sites do (monthly versions released about five weeks after they open, their unresolved
 * items moved to the next version; monthly epics with children; committed dates re-committed now and
 * then), so the backtest has open milestones with a pace to forecast and finished ones to score against.
 */
const config = loadConfig({
  env: {},
  cwd: tempDir(),
  overrides: { dataDir: tempDir(), metrics: { forecast: { trials: 500, seed: 3 } } },
});

let store: Store;
let org: LargeOrgResult;
let result: BacktestResult;
let now: Date;
const FROM = '2026-09-07';

beforeAll(async () => {
  store = await testStore();
  org = await writeLargeOrg(store, { seed: 11, teams: 3, years: 0.5 });
  now = new Date(`${org.end}T00:00:00Z`);
  result = await backtest(store, config, { from: FROM, to: org.lastDay, now });
}, 120_000);

afterAll(async () => {
  await store.close();
});

const orgRow = (basis: Calibration['basis']): Calibration => {
  const row = result.calibration.find((c) => c.scopeKind === 'org' && c.basis === basis);
  expect(row, `the organisation's calibration, basis '${basis}'`).toBeDefined();
  return row!;
};

const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

describe('a forecast backtest of the generated organisation', () => {
  it("forecasts every team's open versions and epics from each Monday, and prints the calibration", () => {
    const every = orgRow('');
    console.log(
      `backtest of ${org.org.programs.flatMap((p) => p.teams).length} teams (${org.firstDay} .. ${org.lastDay}) from ${result.weeks.length} Mondays, ` +
        `scored at ${result.runAt}: ${result.scores.length} forecasts with a number, ${result.noNumber} without`,
    );
    for (const c of result.calibration.filter((x) => x.scopeKind === 'org'))
      console.log(
        `  ${c.basis === '' ? 'every basis' : c.basis}: ${c.forecasts} forecasts, ${c.resolved} resolved, P85 hit rate ` +
          `${c.p85HitRate === null ? '-' : c.p85HitRate.toFixed(3)}, Brier ${c.brier?.toFixed(3) ?? '-'} (${c.brierForecasts}), ` +
          `P50 MAE ${c.maeDays?.toFixed(1) ?? '-'} days, bias ${c.biasDays?.toFixed(1) ?? '-'} days (${c.maeForecasts}): ${calibrationReading(c)}`,
      );

    expect(result.weeks).toEqual(weekStarts(FROM, org.lastDay));
    expect(result.weeks.length).toBe(8);
    expect(every.forecasts).toBe(result.scores.length);
    // Each as-of point forecasts some of every team's milestones, versions and epics alike.
    const teams = org.org.programs.flatMap((p) => p.teams.map((t) => t.id));
    for (const week of result.weeks) {
      const those = result.scores.filter((s) => s.weekStart === week);
      expect(new Set(those.map((s) => s.team)), week).toEqual(new Set(teams));
    }
    const kinds = new Set(result.scores.map((s) => s.milestoneId.split('/')[0]));
    expect(kinds).toEqual(new Set(['version', 'epic']));
    for (const s of result.scores) {
      expect(s.asOf).toBe(`${s.weekStart}T00:00:00.000Z`);
      if (s.p50 !== null && s.p85 !== null) expect(s.p50 <= s.p85, `${s.milestoneId} as of ${s.weekStart}`).toBe(true);
      if (s.confidence !== null) expect(s.confidence).toBeGreaterThanOrEqual(0);
    }
  });

  it('scores the forecasts against the milestones as they finished', async () => {
    const finished = await queryRows<{ key: string; kind: string; done_day: string }>(
      store,
      `SELECT concat(source, ':', milestone_id) AS key, toString(kind) AS kind, toString(toDate(assumeNotNull(completed_at), 'UTC')) AS done_day
       FROM milestones FINAL WHERE completed_at IS NOT NULL AND kind IN ('version', 'epic')`,
    );
    const doneDay = new Map(finished.map((r) => [r.key, r.done_day]));
    const nowDay = org.end;
    const resolved = result.scores.filter((s) => s.p85Hit !== null);
    expect(resolved.length).toBeGreaterThan(result.scores.length / 4);
    expect(resolved.some((s) => s.p85Hit === true)).toBe(true);
    expect(result.scores.some((s) => s.p85Hit === null)).toBe(true);
    for (const s of result.scores) {
      const at = `${s.milestoneId} as of ${s.weekStart}`;
      // Metrics' time zone is UTC here, so a version and an epic both finish on their UTC day.
      expect(s.doneDay, at).toBe(doneDay.get(`${s.source}:${s.milestoneId}`) ?? null);
      if (s.doneDay !== null) {
        expect(s.doneDay > s.weekStart, `${at} was open then`).toBe(true);
        expect(s.p85Hit, at).toBe(s.p85 === null || s.doneDay <= s.p85);
        if (s.p50 !== null) expect(s.p50ErrorDays, at).toBe((Date.parse(s.doneDay) - Date.parse(s.p50)) / 86_400_000);
      } else {
        expect(s.p85Hit, at).toBe(s.p85 !== null && s.p85 < nowDay ? false : null);
      }
      if (s.committed !== null && s.confidence !== null && s.onTime !== null)
        expect(s.brier, at).toBeCloseTo((s.confidence - (s.onTime ? 1 : 0)) ** 2, 12);
    }
  });

  it("sums the scores into the organisation's calibration, and stores it", async () => {
    const check = (row: Calibration, scores: ForecastScore[]): void => {
      const resolved = scores.filter((s) => s.p85Hit !== null);
      const hits = resolved.filter((s) => s.p85Hit === true).length;
      const briers = scores.flatMap((s) => (s.brier === null ? [] : [s.brier]));
      const errors = scores.flatMap((s) => (s.p50ErrorDays === null ? [] : [s.p50ErrorDays]));
      expect(row).toMatchObject({
        forecasts: scores.length,
        resolved: resolved.length,
        p85Hits: hits,
        unresolved: scores.length - resolved.length,
      });
      expect(row.p85HitRate).toBe(resolved.length === 0 ? null : hits / resolved.length);
      expect(row.brierForecasts).toBe(briers.length);
      expect(row.maeForecasts).toBe(errors.length);
      if (briers.length > 0) expect(row.brier).toBeCloseTo(mean(briers), 12);
      if (errors.length > 0) {
        expect(row.maeDays).toBeCloseTo(mean(errors.map(Math.abs)), 12);
        expect(row.biasDays).toBeCloseTo(mean(errors), 12);
      }
    };
    const every = orgRow('');
    check(every, result.scores);
    expect(every.resolved).toBeGreaterThan(0);
    expect(every.brierForecasts).toBeGreaterThan(0);
    expect(every.maeForecasts).toBeGreaterThan(0);
    for (const row of result.calibration.filter((c) => c.scopeKind === 'org' && c.basis !== ''))
      check(
        row,
        result.scores.filter((s) => s.basis === row.basis),
      );
    for (const p of org.org.programs) {
      const row = result.calibration.find((c) => c.scopeKind === 'program' && c.scopeId === p.id && c.basis === '');
      check(
        row!,
        result.scores.filter((s) => s.program === p.id),
      );
    }

    const [stored] = await queryRows<{ forecasts: string; resolved: string; p85_hits: string; p85_hit_rate: number | null }>(
      store,
      `SELECT forecasts, resolved, p85_hits, p85_hit_rate FROM forecast_calibration
       WHERE run_at = {at:DateTime64(3)} AND scope_kind = 'org' AND basis = ''`,
      { at: now.toISOString().replace('T', ' ').replace('Z', '') },
    );
    expect(stored).toBeDefined();
    expect(Number(stored!.forecasts)).toBe(every.forecasts);
    expect(Number(stored!.resolved)).toBe(every.resolved);
    expect(Number(stored!.p85_hits)).toBe(every.p85Hits);
    expect(stored!.p85_hit_rate).toBeCloseTo(every.p85HitRate!, 6);
  });
});
