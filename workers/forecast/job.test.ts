import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config/load.js';
import type { Store } from '../../infra/store/client.js';
import { FORECAST_T, FORECAST_T2, seedForecastScenario } from '../../test/support/forecasts.js';
import { queryRows, tempDir, testStore } from '../../test/support/harness.js';
import { forecastMilestone } from './engine.js';
import { describeChange } from './history.js';
import { forecastHistory, forecastSettings, readForecasts, runForecasts, type StoredForecast } from './job.js';

/** The forecast scenario (test/support/forecasts.ts), forecast at T and again a week later. */
const T = FORECAST_T;
const T2 = FORECAST_T2;

const config = loadConfig({
  env: {},
  cwd: tempDir(),
  overrides: { dataDir: tempDir(), metrics: { forecast: { trials: 500, seed: 7, windowWeeks: 4, minDoneItems: 3, minWeeks: 2 } } },
});

let store: Store;
let first: StoredForecast[];
let second: StoredForecast[];

beforeAll(async () => {
  store = await testStore();
  await seedForecastScenario(store);
  first = await runForecasts(store, config, T);
  second = await runForecasts(store, config, T2);
});

afterAll(async () => {
  await store.close();
});

describe('the forecast run', () => {
  it("forecasts the blocker's milestone first and writes one row per milestone and run", async () => {
    expect(first.map((f) => f.milestoneId)).toEqual(['version/2', 'version/1']);
    const rows = await queryRows<{ run: string; n: string }>(
      store,
      `SELECT toString(computed_at) AS run, count() AS n FROM milestone_forecasts GROUP BY run ORDER BY run`,
    );
    expect(rows).toEqual([
      { run: '2026-03-16 12:00:00.000', n: '2' },
      { run: '2026-03-23 12:00:00.000', n: '2' },
    ]);
  });

  it('stores the reason when there is no number, and the simulation of the inputs when there is', () => {
    const ledger = first.find((f) => f.milestoneId === 'version/2')!;
    expect(ledger).toMatchObject({ ok: false, p50: null, confidence: null, band: null, program: 'payments', team: 'ledger' });
    expect(ledger.reason).toBe('1 done item and 4 weeks of history; a forecast needs 3 and 2');

    const checkout = first.find((f) => f.milestoneId === 'version/1')!;
    // LED-2's milestone has no number: the blocker finishes at its due date, two weeks out.
    expect(checkout.inputs).toMatchObject({ remainingItems: 4, doneItems: 5, throughput: [1, 1, 1, 2], committed: '2026-04-30' });
    expect(checkout.inputs.blockers.map((b) => [b.blocker, b.blocked, b.finishWeeks])).toEqual([['LED-2', ['CHK-8'], [2]]]);
    const simulated = forecastMilestone(checkout.inputs, forecastSettings(config));
    if (!simulated.ok) throw new Error(simulated.reason);
    expect(checkout).toMatchObject({
      ok: true,
      p50: simulated.p50,
      p85: simulated.p85,
      p95: simulated.p95,
      confidence: simulated.confidence,
      band: simulated.band,
      drivers: simulated.drivers,
      criticalPath: simulated.criticalPath,
      trials: 500,
      seed: 7,
    });
  });

  it('reads the latest run at or before an instant, one milestone by name or id', async () => {
    const before = await readForecasts(store, { asOf: new Date('2026-03-20T00:00:00Z') });
    expect(before.runAt).toBe(T.toISOString());
    // Soonest committed date first.
    expect(before.forecasts.map((f) => f.name)).toEqual(['Ledger 1.0', 'Checkout 2.0']);
    const latest = await readForecasts(store, { milestone: 'checkout 2.0' });
    expect(latest.runAt).toBe(T2.toISOString());
    expect(latest.forecasts.map((f) => [f.milestoneId, f.inputs.remainingItems])).toEqual([['version/1', 5]]);
    expect((await readForecasts(store, { milestone: 'jira:version/2', team: 'checkout' })).forecasts).toEqual([]);
    expect((await readForecasts(store, { asOf: new Date('2026-03-01T00:00:00Z') })).forecasts).toEqual([]);
  });

  it('explains the change between runs in a sentence', async () => {
    const history = await forecastHistory(store, 'jira:version/1');
    expect(history.map((h) => h.runAt)).toEqual([T.toISOString(), T2.toISOString()]);
    expect(history[0]!.change).toBe('first forecast');
    // Scope 9 -> 11 items, CHK-9 done; throughput (1+1+1+2)/4 = 1.25 -> CHK-2, CHK-3, CHK-4 and CHK-5, CHK-9: 1.25 as well.
    expect(second.find((f) => f.milestoneId === 'version/1')!.inputs.throughput).toEqual([1, 1, 2, 1]);
    expect(history[1]!.change).toMatch(/^P\(on time\) (fell from|rose from|held at) .*: scope \+2 items, 1 item done$/);
  });
});

describe('the change sentence', () => {
  const point = (confidence: number | null, remaining: number, throughput: number[], extra = {}) => ({
    ok: true,
    reason: '',
    committed: '2026-04-30',
    p50: '2026-04-20',
    confidence,
    inputs: { remainingItems: remaining, doneItems: 10, throughput, blockers: [] },
    ...extra,
  });

  it('names the fall of P(on time) with its causes', () => {
    expect(describeChange(point(0.82, 20, [7, 7]), point(0.41, 32, [4, 4]))).toBe(
      'P(on time) fell from 0.82 to 0.41: scope +12 items, throughput 4/week from 7',
    );
  });

  it('compares the P50 date without a committed date, and a forecast that lost its number', () => {
    expect(describeChange(point(null, 20, [3]), point(null, 20, [3], { p50: '2026-05-04' }))).toBe(
      'P50 moved from 2026-04-20 to 2026-05-04; its inputs did not change',
    );
    expect(describeChange(point(0.5, 20, [3]), point(null, 20, [3], { ok: false, reason: 'too little history' }))).toBe(
      'no number any more (too little history)',
    );
  });
});
