import { orgSchema } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import type { MilestoneDateRow, MilestoneRow, WorkItemHistoryRow } from '../../schemas/domain.js';
import { queryRows } from './harness.js';
import { insertTables } from './mapping.js';
import { blocksLinkRow, historyRow, milestoneDateRow, milestoneRow, workItemMaker } from './rows.js';

/** How many forecast rows the store holds (every run, every milestone). */
export async function forecastRowCount(store: Store): Promise<number> {
  const [row] = await queryRows<{ n: string }>(store, 'SELECT count() AS n FROM milestone_forecasts');
  return Number(row?.n ?? 0);
}

/** The calibration a backtest run at `at` stored, every basis together, by scope. */
export function storedCalibration(
  store: Store,
  at: Date,
): Promise<Array<{ scope_id: string; basis: string; forecasts: number; unresolved: number }>> {
  return queryRows(
    store,
    `SELECT scope_id, toString(basis) AS basis, forecasts, unresolved FROM forecast_calibration
     WHERE run_at = {at:DateTime64(3)} AND basis = '' ORDER BY scope_kind, scope_id`,
    { at: at.getTime() / 1000 },
  );
}

/**
 * The forecast scenario: two milestones of the payments program, read at Monday 2026-03-16 12:00 UTC
 * (FORECAST_T) and a week later (FORECAST_T2).
 * - Checkout 2.0 (jira:version/1, team checkout, started 02-02, committed 04-30): CHK-1..5 done on 02-20,
 *   02-26, 03-03, 03-10 and 03-11, so with a 4-week window its own throughput at T is [1, 1, 1, 2]; CHK-6..9
 *   open at T, CHK-8 blocked by LED-2 (due 03-30). Between T and T2: CHK-9 done on 03-20, CHK-10 and
 *   CHK-11 created into the version on 03-18 and 03-19.
 * - Ledger 1.0 (jira:version/2, team ledger, committed 04-15): LED-1 done on 03-11, LED-2 open: too little
 *   history for a number with 3 done items needed.
 */
export const FORECAST_T = new Date('2026-03-16T12:00:00Z');
export const FORECAST_T2 = new Date('2026-03-23T12:00:00Z');

/** The organisation of the forecast scenario. */
export const FORECAST_ORG = orgSchema.parse({
  programs: [
    {
      id: 'payments',
      name: 'Payments',
      teams: [
        { id: 'checkout', name: 'Checkout' },
        { id: 'ledger', name: 'Ledger' },
      ],
    },
  ],
});

/** Makes a work item of the forecast scenario (created 01-10, last updated 03-15 unless told). */
export const forecastItem = workItemMaker({
  programOf: { checkout: 'payments', ledger: 'payments' },
  createdAt: '2026-01-10T09:00:00.000Z',
  updatedAt: '2026-03-15T09:00:00.000Z',
});

/** A status change to Done at `at`. */
export const finishedAt = (key: string, at: string): WorkItemHistoryRow => historyRow(key, at, 'status', 'To Do', 'Done');

/** Writes the forecast scenario's milestones, work items, history and links to `store`. */
export async function seedForecastScenario(store: Store): Promise<void> {
  const wi = forecastItem;
  const done = { status: 'Done', status_category: 'done' } as const;
  await insertTables(store, {
    milestones: [
      milestoneRow('version/1', 'Checkout 2.0', 'checkout', 'payments', { start_date: '2026-02-02', committed_date: '2026-04-30' }),
      milestoneRow('version/2', 'Ledger 1.0', 'ledger', 'payments', { start_date: '2026-02-02', committed_date: '2026-04-15' }),
    ],
    milestone_dates: [
      milestoneDateRow('version/1', '2026-02-01T00:00:00.000Z', '2026-04-30'),
      milestoneDateRow('version/2', '2026-02-01T00:00:00.000Z', '2026-04-15'),
    ],
    work_items: [
      ...['CHK-1', 'CHK-2', 'CHK-3', 'CHK-4', 'CHK-5'].map((k) => wi(k, 'story', 'checkout', { ...done, fix_versions: ['version/1'] })),
      ...['CHK-6', 'CHK-7', 'CHK-8'].map((k) => wi(k, 'story', 'checkout', { fix_versions: ['version/1'] })),
      wi('CHK-9', 'story', 'checkout', { fix_versions: ['version/1'], ...done }),
      // Created into the version between T and T2.
      wi('CHK-10', 'story', 'checkout', { fix_versions: ['version/1'], created_at: '2026-03-18T09:00:00.000Z' }),
      wi('CHK-11', 'story', 'checkout', { fix_versions: ['version/1'], created_at: '2026-03-19T09:00:00.000Z' }),
      wi('LED-1', 'story', 'ledger', { ...done, fix_versions: ['version/2'] }),
      wi('LED-2', 'story', 'ledger', { fix_versions: ['version/2'], due_date: '2026-03-30' }),
    ],
    work_item_history: [
      finishedAt('CHK-1', '2026-02-20T10:00:00.000Z'),
      finishedAt('CHK-2', '2026-02-26T10:00:00.000Z'),
      finishedAt('CHK-3', '2026-03-03T10:00:00.000Z'),
      finishedAt('CHK-4', '2026-03-10T10:00:00.000Z'),
      finishedAt('CHK-5', '2026-03-11T10:00:00.000Z'),
      // Done between T and T2: open at T.
      finishedAt('CHK-9', '2026-03-20T10:00:00.000Z'),
      finishedAt('LED-1', '2026-03-11T10:00:00.000Z'),
    ],
    work_item_links: [blocksLinkRow('LED-2', 'CHK-8', '2026-03-01T10:00:00.000Z')],
  });
}

/** A team's versions: each released on a day (none: open), with each date seen for it ([day seen, date]). */
export function releaseRows(
  team: string,
  versions: Array<{ n: number; name: string; released?: string; dates: Array<[string, string]> }>,
): { milestones: MilestoneRow[]; milestone_dates: MilestoneDateRow[] } {
  const id = (n: number): string => `version/${n}`;
  return {
    milestones: versions.map((v) =>
      milestoneRow(
        id(v.n),
        v.name,
        team,
        'payments',
        v.released === undefined
          ? { start_date: '2026-02-27' }
          : { state: 'done', raw_state: 'released', completed_at: `${v.released}T00:00:00.000Z` },
      ),
    ),
    milestone_dates: versions.flatMap((v) => v.dates.map(([seen, date]) => milestoneDateRow(id(v.n), `${seen}T00:00:00.000Z`, date))),
  };
}

/**
 * Checkout R1..R3, released on 01-16, 02-06 and 02-27 2026, and R4 open, due 03-20. R2's date was 02-02
 * until 02-03, when it moved to 02-06; the others kept the date they were first given.
 */
export const checkoutTrain = (): ReturnType<typeof releaseRows> =>
  releaseRows('checkout', [
    { n: 11, name: 'Checkout R1', released: '2026-01-16', dates: [['2025-12-01', '2026-01-16']] },
    {
      n: 12,
      name: 'Checkout R2',
      released: '2026-02-06',
      dates: [
        ['2026-01-05', '2026-02-02'],
        ['2026-02-03', '2026-02-06'],
      ],
    },
    { n: 13, name: 'Checkout R3', released: '2026-02-27', dates: [['2026-02-01', '2026-02-27']] },
    { n: 14, name: 'Checkout R4', dates: [['2026-02-20', '2026-03-20']] },
  ]);
