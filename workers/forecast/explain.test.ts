import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config/load.js';
import type { Store } from '../../infra/store/client.js';
import { FORECAST_T, FORECAST_T2, finishedAt, forecastItem, seedForecastScenario } from '../../test/support/forecasts.js';
import { tempDir, testStore } from '../../test/support/harness.js';
import { insertTables } from '../../test/support/mapping.js';
import { blocksLinkRow, historyRow } from '../../test/support/rows.js';
import { explainForecast, type ForecastExplanation } from './explain.js';
import { readForecasts, runForecasts, type StoredForecast } from './job.js';

/**
 * The forecast scenario (test/support/forecasts.ts) with a few more facts, forecast at T (Monday
 * 2026-03-16 12:00 UTC) and T2 a week later, with a 4-week window: at T, week sample 0 is
 * [02-16 12:00, 02-23 12:00), 1 [02-23, 03-02), 2 [03-02, 03-09), 3 [03-09, 03-16).
 * - CHK-7 moved to In Progress on 03-12; CHK-12 (3 points) is open in Checkout 2.0 from the start.
 * - CHK-13 left Checkout 2.0 on 03-18 (between the runs): open in it at T, a removal at T2.
 * - CHK-10, added on 03-18, was split from CHK-6 (a Jira work item split).
 * - LED-3, ledger work outside Ledger 1.0, done 03-05: Ledger 1.0 did one of the team's two items done
 *   since it began, so its pace is half the team's.
 */
const T = FORECAST_T;
const T2 = FORECAST_T2;
const config = loadConfig({
  env: {},
  cwd: tempDir(),
  overrides: { dataDir: tempDir(), metrics: { forecast: { trials: 500, seed: 5, windowWeeks: 4, minDoneItems: 3, minWeeks: 2 } } },
});

async function seed(store: Store): Promise<void> {
  await seedForecastScenario(store);
  await insertTables(store, {
    work_items: [
      forecastItem('CHK-12', 'story', 'checkout', { fix_versions: ['version/1'], story_points: 3 }),
      forecastItem('CHK-13', 'story', 'checkout'),
      forecastItem('LED-3', 'story', 'ledger', { status: 'Done', status_category: 'done' }),
    ],
    work_item_history: [
      historyRow('CHK-7', '2026-03-12T10:00:00.000Z', 'status', 'To Do', 'In Progress'),
      historyRow('CHK-13', '2026-03-18T10:00:00.000Z', 'Fix Version', '1', ''),
      finishedAt('LED-3', '2026-03-05T10:00:00.000Z'),
    ],
    work_item_links: [blocksLinkRow('CHK-6', 'CHK-10', '2026-03-18T09:00:00.000Z', { link_type: 'splits', raw_type: 'Work item split' })],
  });
}

let store: Store;
let runs: StoredForecast[];

/** The stored forecast of a milestone in the latest run by `asOf`, explained. */
async function explained(milestone: string, asOf: Date, on: Store = store): Promise<{ f: StoredForecast; e: ForecastExplanation }> {
  const { forecasts } = await readForecasts(on, { milestone, asOf });
  expect(forecasts, `one forecast of ${milestone} by ${asOf.toISOString()}`).toHaveLength(1);
  const f = forecasts[0]!;
  return { f, e: await explainForecast(on, config, f) };
}

const keysPerWeek = (e: ForecastExplanation): string[][] => e.throughput.weeks.map((w) => w.items.map((i) => i.key));

beforeAll(async () => {
  store = await testStore();
  await seed(store);
  runs = [...(await runForecasts(store, config, T)), ...(await runForecasts(store, config, T2))];
});

afterAll(async () => {
  await store.close();
});

describe("a forecast explained down to its items, as they stood at the run's instant", () => {
  it('lists the done items of each throughput week with its range; on the milestone basis they count to the sample', async () => {
    const { f, e } = await explained('Checkout 2.0', T);
    expect(f.runAt).toBe(T.toISOString());
    expect(e.asOf).toBe(T.toISOString());
    expect(e.throughput).toMatchObject({ basis: 'milestone', teams: ['checkout'], share: null });
    expect(e.throughput.weeks.map((w) => [w.sample, w.from, w.to, w.value])).toEqual([
      [0, '2026-02-16T12:00:00.000Z', '2026-02-23T12:00:00.000Z', 1],
      [1, '2026-02-23T12:00:00.000Z', '2026-03-02T12:00:00.000Z', 1],
      [2, '2026-03-02T12:00:00.000Z', '2026-03-09T12:00:00.000Z', 1],
      [3, '2026-03-09T12:00:00.000Z', '2026-03-16T12:00:00.000Z', 2],
    ]);
    expect(keysPerWeek(e)).toEqual([['CHK-1'], ['CHK-2'], ['CHK-3'], ['CHK-4', 'CHK-5']]);
    expect(e.throughput.weeks[3]!.items).toEqual([
      { key: 'CHK-4', doneAt: '2026-03-10T10:00:00.000Z' },
      { key: 'CHK-5', doneAt: '2026-03-11T10:00:00.000Z' },
    ]);
    expect(e.throughput.weeks.map((w) => w.items.length)).toEqual(f.inputs.throughput);
    expect(e.differences).toEqual([]);
  });

  it('lists the open items with their status then, points and blockers; an item done after the instant is open', async () => {
    const { f, e } = await explained('jira:version/1', T);
    expect(e.remaining).toEqual([
      { key: 'CHK-6', title: 'CHK-6 title', status: 'To Do', category: 'todo', points: null, blockedBy: [] },
      { key: 'CHK-7', title: 'CHK-7 title', status: 'In Progress', category: 'in_progress', points: null, blockedBy: [] },
      { key: 'CHK-8', title: 'CHK-8 title', status: 'To Do', category: 'todo', points: null, blockedBy: ['LED-2'] },
      // Done on 03-20, after the instant: open then, in its status then.
      { key: 'CHK-9', title: 'CHK-9 title', status: 'To Do', category: 'todo', points: null, blockedBy: [] },
      { key: 'CHK-12', title: 'CHK-12 title', status: 'To Do', category: 'todo', points: 3, blockedBy: [] },
      // Moved out on 03-18, after the instant: in the milestone then.
      { key: 'CHK-13', title: 'CHK-13 title', status: 'To Do', category: 'todo', points: null, blockedBy: [] },
    ]);
    expect(e.remaining).toHaveLength(f.inputs.remainingItems);
    // LED-2's milestone has no number: it finishes at its due date, two weeks out.
    expect(e.blockers.map((b) => [b.blocker, b.blocked, b.finishWeeks])).toEqual([['LED-2', ['CHK-8'], [2]]]);
    expect(e.growth).toEqual({ samples: [0, 0, 0, 0, 0, 0], changes: [] });
  });

  it('a week later: the item done in the last week, the adds and the removal behind growth', async () => {
    const { f, e } = await explained('Checkout 2.0', new Date('2026-03-30T00:00:00Z'));
    expect(f.runAt).toBe(T2.toISOString());
    expect(keysPerWeek(e)).toEqual([['CHK-2'], ['CHK-3'], ['CHK-4', 'CHK-5'], ['CHK-9']]);
    expect(e.throughput.weeks.map((w) => w.value)).toEqual([1, 1, 2, 1]);
    expect(e.remaining.map((r) => r.key)).toEqual(['CHK-6', 'CHK-7', 'CHK-8', 'CHK-10', 'CHK-11', 'CHK-12']);
    expect(e.remaining).toHaveLength(f.inputs.remainingItems);
    // Seven whole weeks since 02-02: every change falls in the last one, net +1.
    expect(e.growth).toEqual({
      samples: [0, 0, 0, 0, 0, 0, 1],
      changes: [
        { key: 'CHK-10', at: '2026-03-18T09:00:00.000Z', change: 'added', sample: 6, splitFrom: 'CHK-6' },
        { key: 'CHK-13', at: '2026-03-18T10:00:00.000Z', change: 'removed', sample: 6, splitFrom: null },
        { key: 'CHK-11', at: '2026-03-19T09:00:00.000Z', change: 'added', sample: 6, splitFrom: null },
      ],
    });
    expect(f.inputs.splitItems).toBe(1);
    expect(f.drivers).toContain('1 item added since the commit point was split from others: the same work cut finer');
  });

  it("on a team-share basis lists the team's done items per week and the share that scales them", async () => {
    const { f, e } = await explained('Ledger 1.0', T);
    expect(f.ok).toBe(false);
    expect(e.throughput).toMatchObject({ basis: 'team share', teams: ['ledger'], share: 0.5 });
    expect(keysPerWeek(e)).toEqual([[], [], ['LED-3'], ['LED-1']]);
    expect(e.throughput.weeks.map((w) => w.value)).toEqual([0, 0, 0.5, 0.5]);
    expect(e.throughput.weeks.map((w) => w.items.length * e.throughput.share!)).toEqual(f.inputs.throughput);
    expect(e.remaining.map((r) => [r.key, r.status])).toEqual([['LED-2', 'To Do']]);
  });

  it('explains every stored forecast of both runs with items that add up to its inputs', async () => {
    expect(runs).toHaveLength(4);
    for (const run of runs) {
      const e = await explainForecast(store, config, run);
      const share = e.throughput.share ?? 1;
      expect(e.differences, e.key).toEqual([]);
      expect(
        e.throughput.weeks.map((w) => Math.round(w.items.length * share * 1000) / 1000),
        `${e.key} at ${run.runAt}`,
      ).toEqual(run.inputs.throughput);
      expect(e.remaining.length).toBe(run.inputs.remainingItems);
    }
  });
});

describe('a forecast explained after the store changed', () => {
  let late: Store;
  beforeAll(async () => {
    late = await testStore();
    await seed(late);
    await runForecasts(late, config, T);
    // Stored after the run, though created before its instant: the run did not see it.
    await insertTables(late, {
      work_items: [forecastItem('CHK-14', 'story', 'checkout', { fix_versions: ['version/1'], created_at: '2026-01-20T09:00:00.000Z' })],
    });
  });
  afterAll(async () => {
    await late.close();
  });

  it('says where the store now reads differently from the inputs the run stored', async () => {
    const { f, e } = await explained('Checkout 2.0', T, late);
    expect(f.inputs.remainingItems).toBe(6);
    expect(e.remaining.map((r) => r.key)).toContain('CHK-14');
    expect(e.differences).toEqual(['the run counted 6 remaining items; the store now reads 7']);
  });
});
