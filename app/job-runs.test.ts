import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../infra/clock.js';
import { loadConfig } from '../infra/config/load.js';
import { defaultModel } from '../infra/config/schema.js';
import type { Store } from '../infra/store/client.js';
import { queryRows, quietLogger, tempDir, testStore } from '../test/support/harness.js';
import { insertTables } from '../test/support/mapping.js';
import { link } from '../workers/link/linker.js';
import { metricById } from '../workers/metrics/definitions/index.js';
import { runMetricsJob } from '../workers/metrics/job.js';
import { exportNow, linkNow, metricsNow, stallAlertsNow } from './jobs.js';
import { jobFreshness, lastExport, lastWritten, RECORDED_JOBS, recordedRun } from './job-runs.js';
import { createRuntime, type Runtime } from './runtime.js';

const T0 = new Date('2026-12-06T12:00:00.000Z');
const at = (minutes: number): Date => new Date(T0.getTime() + minutes * 60_000);
/** The runtime with its clock stopped at `d`: a job run at that instant. */
const on = (rt: Runtime, d: Date): Runtime => ({ ...rt, clock: fixedClock(d) });

describe('job runs: every run of a job is recorded, also one that changed nothing', () => {
  let rt: Runtime;
  let exportDir: string;
  beforeAll(async () => {
    exportDir = tempDir('ptel-exports-');
    const config = loadConfig({ env: { PTEL_DATA_DIR: tempDir() }, overrides: { 'export.dir': exportDir }, cwd: tempDir() });
    rt = await createRuntime(config, { logger: quietLogger(), clock: fixedClock(T0) });
  });
  afterAll(() => rt.close());

  it('has no run of any job on a new store', async () => {
    const jobs = await jobFreshness(rt);
    expect(jobs.map((j) => j.job)).toEqual([...RECORDED_JOBS]);
    expect(jobs.filter((j) => j.last !== undefined || j.failed !== undefined || j.unreadable !== undefined)).toEqual([]);
  });

  it('records the linker, the metrics, the stall detector and the export at their clock instants, on an empty store', async () => {
    await linkNow(on(rt, at(5)));
    await metricsNow(on(rt, at(10)), { mode: 'recent' });
    await stallAlertsNow(on(rt, at(20)));
    await exportNow(on(rt, at(30)));
    const rows = await queryRows<{ job: string; started_at: string; finished_at: string; outcome: string; detail: string }>(
      rt.store,
      'SELECT job, toString(started_at) AS started_at, toString(finished_at) AS finished_at, outcome, detail FROM job_runs ORDER BY started_at',
    );
    expect(rows.map((r) => [r.job, r.started_at, r.finished_at, r.outcome])).toEqual([
      ['link', '2026-12-06 12:05:00.000', '2026-12-06 12:05:00.000', 'ok'],
      ['metrics', '2026-12-06 12:10:00.000', '2026-12-06 12:10:00.000', 'ok'],
      ['stall-alerts', '2026-12-06 12:20:00.000', '2026-12-06 12:20:00.000', 'ok'],
      ['export', '2026-12-06 12:30:00.000', '2026-12-06 12:30:00.000', 'ok'],
    ]);
    // Nothing to link, compute, alert or export: each run still says what it did.
    expect(rows.map((r) => r.detail)).toEqual([
      '0 link rows written, 0 retracted (0 deployments, 0 commits in pull requests)',
      expect.stringMatching(/^recent: \d+ values of \d+ metrics, 2026-11-23 \.\. 2026-12-07$/),
      '0 links stalled, 0 alerts opened, 0 resolved, 0 messages sent',
      'nothing written: the month just ended is exported already, or the store holds nothing from before its end',
    ]);
    const fresh = new Map((await jobFreshness(rt)).map((j) => [j.job, j]));
    expect(fresh.get('link')?.last?.at).toEqual(at(5));
    expect(fresh.get('metrics')?.last?.at).toEqual(at(10));
    expect(fresh.get('stall-alerts')?.last?.at).toEqual(at(20));
    expect(fresh.get('export')?.last?.at).toEqual(at(30));
    expect(fresh.get('pull')?.last).toBeUndefined();
    // As of an instant before the metrics run: only the linker had run.
    const before = (await jobFreshness(rt, { asOf: at(7) })).flatMap((j) => (j.last !== undefined ? [[j.job, j.last.at]] : []));
    expect(before).toEqual([['link', at(5)]]);
  });

  it('records a run that failed with its error, passes the error on, and says it failed after the last good run', async () => {
    const failing = recordedRun(
      on(rt, at(40)),
      'link',
      () => Promise.reject(new Error('the store went away')),
      () => 'never said',
    );
    await expect(failing).rejects.toThrow('the store went away');
    const linkFresh = (await jobFreshness(rt)).find((j) => j.job === 'link')!;
    expect(linkFresh.last?.at).toEqual(at(5));
    expect(linkFresh.failed).toEqual({ at: at(40), detail: 'the store went away' });
    // A run that ends well later clears it.
    await linkNow(on(rt, at(45)));
    const again = (await jobFreshness(rt)).find((j) => j.job === 'link')!;
    expect(again.last?.at).toEqual(at(45));
    expect(again.failed).toBeUndefined();
  });

  it('takes what a job wrote when it is later than its recorded runs (runs outside the job table)', async () => {
    // A metrics run outside the job table records itself in metric_runs.
    await runMetricsJob({
      store: rt.store,
      config: { ...rt.config, org: rt.organisation.org },
      run: { mode: 'recent' },
      definitions: [metricById('incident_count')!],
      clock: fixedClock(at(50)),
    });
    const metrics = (await jobFreshness(rt)).find((j) => j.job === 'metrics')!;
    expect(metrics.last).toEqual({ at: at(50), detail: 'values computed' });
    // The link tables hold rows only once there is something to link: on an empty store a linker run
    // outside the job table leaves no trace, and the recorded run is what tells.
    await link({ store: rt.store, model: defaultModel(), now: at(55) });
    expect((await jobFreshness(rt)).find((j) => j.job === 'link')!.last?.at).toEqual(at(45));
  });

  it('reads the last export from the export folder: the month written last, by its generated_at', () => {
    for (const [month, generated] of [
      ['2026-10', '2026-11-01T06:00:00.000Z'],
      ['2026-11', '2026-12-01T06:00:00.000Z'],
      ['2026-09', '2026-12-03T09:00:00.000Z'], // an older month written again later
    ] as const) {
      mkdirSync(path.join(exportDir, month), { recursive: true });
      writeFileSync(path.join(exportDir, month, 'kpis.json'), JSON.stringify({ month, generated_at: generated }));
    }
    mkdirSync(path.join(exportDir, '2026-12.tmp-abc'), { recursive: true }); // not a month folder
    mkdirSync(path.join(exportDir, '2026-08'), { recursive: true }); // no kpis.json: not an export
    expect(lastExport(rt.config)).toEqual({
      at: new Date('2026-12-03T09:00:00.000Z'),
      detail: `2026-09 in ${path.join(exportDir, '2026-09')}`,
    });
    expect(lastExport(rt.config, new Date('2026-12-02T00:00:00Z'))?.detail).toBe(`2026-11 in ${path.join(exportDir, '2026-11')}`);
  });
});

describe('what the jobs wrote, read when no run of theirs was recorded', () => {
  let store: Store;
  const config = { export: { enabled: false, cron: '30 5 1 * *' }, dataDir: tempDir(), configPath: undefined };
  const ch = (d: Date): string => d.toISOString().replace('T', ' ').replace('Z', '');
  const lastOf = async (asOf?: Date): Promise<Record<string, Date | undefined>> =>
    Object.fromEntries((await jobFreshness({ store, config }, asOf ? { asOf } : {})).map((j) => [j.job, j.last?.at]));

  beforeAll(async () => {
    store = await testStore();
    const sync = (finished: Date, status: string) => ({
      source: 'jira',
      stream: 'issues',
      scope: 'PAY',
      started_at: ch(at(0)),
      finished_at: ch(finished),
      status,
      records: 1,
      requests: 1,
      backfill: 0,
      error: status === 'ok' ? '' : 'HTTP 503',
    });
    const alert = (key: string, lastSeen: Date, resolved: Date | null) => ({
      link_key: key,
      opened_at: ch(at(0)),
      source: 'jira',
      blocker: 'B-1',
      blocked: 'D-1',
      status: resolved === null ? 'opened' : 'resolved',
      last_seen_at: ch(lastSeen),
      resolved_at: resolved === null ? null : ch(resolved),
      version: 1,
    });
    await insertTables(store, {
      // a pull that failed after the last good one is not what the pulls wrote
      sync_runs: [sync(at(10), 'ok'), sync(at(15), 'failed')],
      // one alert still open, one resolved later than any run saw a stall
      stall_alerts: [alert('jira:B-1>D-1', at(20), null), alert('jira:B-2>D-2', at(18), at(25))],
      register_rows: [{ register: 'risks', row_key: 'R-1', item: 'R-1', computed_at: ch(at(30)), version: 1 }],
      milestone_forecasts: [
        { source: 'jira', milestone_id: 'version/1', name: 'Checkout 2.0', as_of: ch(at(35)), computed_at: ch(at(35)), version: 1 },
      ],
    });
  });
  afterAll(() => store.close());

  it("takes each job's latest instant from its own table, passing over runs that failed and alerts not yet resolved", async () => {
    expect(await lastOf()).toEqual({
      pull: at(10),
      link: undefined,
      metrics: undefined,
      forecasts: at(35),
      'stall-alerts': at(25),
      registers: at(30),
      export: undefined,
    });
    // as of an instant before the resolution: the last run that saw a stall
    expect(await lastOf(at(22))).toMatchObject({ pull: at(10), 'stall-alerts': at(20), registers: undefined, forecasts: undefined });
    expect(await lastOf(at(5))).toMatchObject({ pull: undefined, 'stall-alerts': undefined });
  });

  it('reads a nullable column with only nulls as nothing written, and names a table or column that is not a plain name', async () => {
    expect(await lastWritten(store, 'stall_alerts', 'resolved_at', { where: `status = 'opened'` })).toBeUndefined();
    expect(await lastWritten(store, 'sync_runs', 'finished_at', { where: `status = 'failed'` })).toEqual(at(15));
    await expect(lastWritten(store, 'sync_runs; DROP TABLE x', 'finished_at')).rejects.toThrow(
      'lastWritten: table "sync_runs; DROP TABLE x" is not a plain name',
    );
    await expect(lastWritten(store, 'sync_runs', 'max(finished_at)')).rejects.toThrow('column "max(finished_at)"');
  });
});
