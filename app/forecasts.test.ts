import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../infra/clock.js';
import { loadConfig } from '../infra/config/load.js';
import { queryRows, quietLogger, tempDir } from '../test/support/harness.js';
import { insertTables } from '../test/support/mapping.js';
import { historyRow, milestoneDateRow, milestoneRow, workItemMaker } from '../test/support/rows.js';
import type { JobContext } from '../infra/scheduler/types.js';
import { jobHandlers, jobSchedules } from './jobs.js';
import { jobFreshness } from './job-runs.js';
import { createRuntime, type Runtime } from './runtime.js';

const T = new Date('2026-03-16T12:00:00.000Z');
const wi = workItemMaker({
  programOf: { checkout: 'payments' },
  createdAt: '2026-01-10T09:00:00.000Z',
  updatedAt: '2026-03-15T09:00:00.000Z',
});

describe('the scheduled forecast job', () => {
  let rt: Runtime;
  beforeAll(async () => {
    const config = loadConfig({
      env: { PTEL_DATA_DIR: tempDir() },
      cwd: tempDir(),
      overrides: { metrics: { recomputeMinutes: 20, forecast: { trials: 200, minDoneItems: 2, minWeeks: 2, windowWeeks: 4 } } },
    });
    rt = await createRuntime(config, { logger: quietLogger(), clock: fixedClock(T) });
    await insertTables(rt.store, {
      milestones: [
        milestoneRow('version/1', 'Checkout 2.0', 'checkout', 'payments', { start_date: '2026-02-02', committed_date: '2026-04-30' }),
        milestoneRow('version/2', 'Checkout 3.0', 'checkout', 'payments', { start_date: '2026-03-09' }),
      ],
      milestone_dates: [milestoneDateRow('version/1', '2026-02-01T00:00:00.000Z', '2026-04-30')],
      work_items: [
        wi('CHK-1', 'story', 'checkout', { status: 'Done', status_category: 'done', fix_versions: ['version/1'] }),
        wi('CHK-2', 'story', 'checkout', { status: 'Done', status_category: 'done', fix_versions: ['version/1'] }),
        wi('CHK-3', 'story', 'checkout', { fix_versions: ['version/1'] }),
        wi('CHK-4', 'story', 'checkout', { fix_versions: ['version/2'] }),
      ],
      work_item_history: [
        historyRow('CHK-1', '2026-03-03T10:00:00.000Z', 'status', 'To Do', 'Done'),
        historyRow('CHK-2', '2026-03-10T10:00:00.000Z', 'status', 'To Do', 'Done'),
      ],
    });
  });
  afterAll(() => rt.close());

  it('is scheduled as often as the recent metrics', () => {
    expect(jobSchedules(rt.config).find((s) => s.id === 'forecasts')).toMatchObject({ job: 'forecasts', everyMs: 20 * 60_000 });
  });

  it('writes the forecasts at the clock instant and records the run with what it did', async () => {
    const signal = new AbortController().signal;
    await jobHandlers(rt)['forecasts']!({}, { signal } as JobContext);
    const stored = await queryRows<{ milestone_id: string; ok: number; computed_at: string }>(
      rt.store,
      'SELECT milestone_id, ok, toString(computed_at) AS computed_at FROM milestone_forecasts ORDER BY milestone_id',
    );
    // Checkout 3.0 has no done item of its own: it is forecast on the checkout team's pace (2 done in the window).
    expect(stored).toEqual([
      { milestone_id: 'version/1', ok: 1, computed_at: '2026-03-16 12:00:00.000' },
      { milestone_id: 'version/2', ok: 1, computed_at: '2026-03-16 12:00:00.000' },
    ]);
    const runs = await queryRows<{ job: string; outcome: string; detail: string }>(rt.store, 'SELECT job, outcome, detail FROM job_runs');
    expect(runs.map((r) => [r.job, r.outcome])).toEqual([['forecasts', 'ok']]);
    expect(runs[0]!.detail).toMatch(/^2 of 2 open milestones forecast \(\d off track, \d at risk, \d on track\)$/);
    const fresh = (await jobFreshness(rt)).find((j) => j.job === 'forecasts');
    expect(fresh?.last?.at).toEqual(T);
  });
});
