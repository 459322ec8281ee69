import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../infra/clock.js';
import { loadConfig } from '../infra/config/load.js';
import type { Store } from '../infra/store/client.js';
import { FORECAST_ORG, FORECAST_T, forecastRowCount, seedForecastScenario, storedCalibration } from '../test/support/forecasts.js';
import { tempDir, testStore } from '../test/support/harness.js';
import { runForecasts, type StoredForecast } from '../workers/forecast/job.js';
import { runForecast, type ForecastRuntime } from './forecast-command.js';

/** The forecast scenario (test/support/forecasts.ts), run at T: Checkout 2.0 has a number, Ledger 1.0 too little history. */
const T = FORECAST_T;
const ORG = FORECAST_ORG;
const config = loadConfig({
  env: {},
  cwd: tempDir(),
  overrides: { dataDir: tempDir(), metrics: { forecast: { trials: 500, seed: 3, windowWeeks: 4, minDoneItems: 3, minWeeks: 2 } } },
});

const collect = (): { stream: PassThrough; text: () => string } => {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
};
const cells = (line: string): string[] => line.trim().split(/\s{2,}/);

let store: Store;
let stored: StoredForecast[];

async function forecast(positionals: string[], values: Record<string, string | string[]> = {}) {
  const out = collect();
  const err = collect();
  const rt: ForecastRuntime = { store, clock: fixedClock(T), config, organisation: { org: ORG } };
  const code = await runForecast({ config, values, positionals, out: out.stream, err: err.stream }, (fn) => fn(rt));
  return { code, out: out.text(), err: err.text() };
}

beforeAll(async () => {
  store = await testStore();
  await seedForecastScenario(store);
  stored = await runForecasts(store, config, T);
});

afterAll(async () => {
  await store.close();
});

const checkout = (): StoredForecast => stored.find((f) => f.milestoneId === 'version/1')!;

describe('ptel forecast list', () => {
  it('json has every milestone of the run with its fan, confidence and band, or the reason there is none', async () => {
    const r = await forecast(['list'], { format: 'json' });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { runAt: string; rows: Array<Record<string, unknown>> };
    expect(doc.runAt).toBe(T.toISOString());
    const c = checkout();
    expect(doc.rows).toEqual([
      {
        key: 'jira:version/2',
        milestone: 'Ledger 1.0',
        program: 'payments',
        team: 'ledger',
        committed: '2026-04-15',
        p50: null,
        p85: null,
        p95: null,
        confidence: null,
        band: null,
        reason: '1 done item and 4 weeks of history; a forecast needs 3 and 2',
      },
      {
        key: 'jira:version/1',
        milestone: 'Checkout 2.0',
        program: 'payments',
        team: 'checkout',
        committed: '2026-04-30',
        p50: c.p50,
        p85: c.p85,
        p95: c.p95,
        confidence: Math.round(c.confidence! * 100) / 100,
        band: c.band,
        reason: null,
      },
    ]);
    expect(c.p50).toMatch(/^2026-\d\d-\d\d$/);
  });

  it('csv and jsonl carry one row per milestone; --team narrows the list', async () => {
    const csv = (await forecast(['list'], { format: 'csv' })).out.split('\r\n');
    expect(csv[0]).toBe('key,milestone,program,team,committed,p50,p85,p95,confidence,band,reason');
    expect(csv.filter((l) => l !== '')).toHaveLength(3);
    const lines = (await forecast(['list'], { format: 'jsonl', team: 'checkout' })).out.trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { key: string }).key)).toEqual(['jira:version/1']);
  });

  it('the table gives the fan and the band, and why a milestone has no number', async () => {
    const r = await forecast(['list']);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('Milestone forecasts of 2026-03-16 12:00 UTC: 1 of 2 with a number');
    const c = checkout();
    expect(cells(lines.find((l) => l.startsWith('Checkout 2.0'))!)).toEqual([
      'Checkout 2.0',
      'payments',
      'checkout',
      '2026-04-30',
      c.p50,
      c.p85,
      c.p95,
      c.confidence!.toFixed(2),
      c.band,
    ]);
    expect(lines.find((l) => l.startsWith('Ledger 1.0'))).toContain('no number: 1 done item and 4 weeks of history');
  });

  it("opens with each program's confidence and the milestone that sets it", async () => {
    const c = checkout();
    const lines = (await forecast(['list'])).out.split('\n');
    expect(lines.slice(1, 3)).toEqual([
      'Program confidence: the lowest confidence among its open milestones due by 2026-06-14 (the next 90 days, overdue ones included)',
      `  payments: ${c.confidence!.toFixed(2)} ${c.band!}, set by Checkout 2.0 (jira:version/1, committed 2026-04-30; its only milestone due); 1 due without a number`,
    ]);
    const doc = JSON.parse((await forecast(['list'], { format: 'json' })).out) as { programs: unknown[] };
    expect(doc.programs).toEqual([
      expect.objectContaining({
        program: 'payments',
        confidence: c.confidence,
        setBy: { source: 'jira', milestoneId: 'version/1', name: 'Checkout 2.0', committed: '2026-04-30' },
        due: 1,
        dueWithoutNumber: 1,
      }),
    ]);
  });

  it('says what is wrong with an option, and when no run is stored by then', async () => {
    expect(await forecast(['list'], { format: 'xml' })).toMatchObject({
      code: 2,
      err: "ptel forecast: --format 'xml': expected table, json, csv, jsonl\n",
    });
    expect((await forecast(['list'], { team: 'nope' })).err).toContain("no team 'nope'; teams: checkout, ledger");
    expect((await forecast(['list'], { 'as-of': '2026-03-01' })).out).toContain('no forecast stored by then');
  });
});

describe('ptel forecast show', () => {
  it('prints the fan of dates, the inputs, the drivers, the critical path and the history', async () => {
    const r = await forecast(['show', 'Checkout', '2.0']);
    expect(r.code).toBe(0);
    const c = checkout();
    expect(r.out).toContain('Checkout 2.0 (jira:version/1), program payments, team checkout; forecast of 2026-03-16 12:00 UTC\n');
    expect(r.out).toContain(
      `  P50 ${c.p50!}  P85 ${c.p85!}  P95 ${c.p95!}; committed 2026-04-30: P(on time) ${c.confidence!.toFixed(2)}, ${c.band!}\n`,
    );
    expect(r.out).toContain('  remaining: 4 open items, 5 done\n');
    expect(r.out).toContain('  throughput: 1.25 items/week (milestone: checkout; weekly, oldest first: 1 1 1 2)\n');
    expect(r.out).toContain('  blocker LED-2 (ledger) "LED-2 title" holds CHK-8; finishes in 2 weeks; idle 0 business days\n');
    for (const d of c.drivers) expect(r.out).toContain(`  - ${d}\n`);
    expect(r.out).toMatch(/history:\nrun +P50 +P85 +P95 +confidence +change\n/);
    expect(r.out).toContain('first forecast');
  });

  it('prints a what-if beside the current forecast and writes nothing', async () => {
    const before = await forecastRowCount(store);
    const r = await forecast(['show', 'jira:version/1'], { throughput: 'x2', commit: '2026-06-30', resolve: ['LED-2@2026-03-20'] });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('what if throughput x2, LED-2 resolved 2026-03-20, committed 2026-06-30 (nothing written):\n');
    const lines = r.out.split('\n');
    const current = cells(lines.find((l) => l.startsWith('current'))!);
    const whatIf = cells(lines.find((l) => l.startsWith('what-if'))!);
    const c = checkout();
    expect(current).toEqual(['current', '2026-04-30', c.p50, c.p85, c.p95, c.confidence!.toFixed(2), c.band]);
    // Twice the pace and a later date: done no later, and surely by the end of June.
    expect(whatIf.slice(0, 2)).toEqual(['what-if', '2026-06-30']);
    expect(whatIf[2]! <= c.p50!).toBe(true);
    expect(whatIf.slice(5)).toEqual(['1.00', 'on track']);
    expect(await forecastRowCount(store)).toBe(before);
  });

  it('says what is wrong with a what-if or a milestone', async () => {
    expect((await forecast(['show', 'Checkout 2.0'], { 'scope-change': 'a lot' })).err).toBe(
      "ptel forecast: --scope-change 'a lot': expected a percentage such as -20% or +10%\n",
    );
    expect((await forecast(['show', 'Checkout 2.0'], { resolve: ['CHK-1@2026-03-20'] })).err).toContain(
      'CHK-1 is not a blocker of the milestone (its blockers: LED-2)',
    );
    expect((await forecast(['show', 'Nothing'])).err).toContain("no forecast of 'Nothing' stored");
  });
});

describe('ptel forecast backtest', () => {
  it('forecasts again as of each Monday, prints the calibration per org, program and basis, and stores it', async () => {
    const r = await forecast(['backtest'], { from: '2026-03-01', to: '2026-03-20' });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('Forecast backtest as of 3 week starts from 2026-03-01 to 2026-03-20, scored as known at 2026-03-16 12:00 UTC');
    // On 03-02 Checkout 2.0 had 2 done items (a number needs 3); Ledger 1.0 never has enough; on 03-09 and 03-16 Checkout has a number.
    expect(lines[1]).toMatch(/^2 forecasts with a number, 4 without \(too little history then\)/);
    expect(cells(lines[2]!)).toEqual([
      'scope',
      'basis',
      'forecasts',
      'resolved',
      'done by P85',
      'P85 hit rate',
      'Brier',
      'P50 error (days)',
      'P50 bias (days)',
      'unresolved',
      'reading',
    ]);
    // Nothing has finished by 03-16 and no P85 or committed date has passed: every forecast is unresolved.
    expect(cells(lines[4]!)).toEqual(['org', 'all', '2', '0', '0', '-', '-', '-', '-', '2', 'nothing resolved yet']);
    expect(lines.slice(4).map((l) => cells(l).slice(0, 3).join(' '))).toContain('program payments milestone 2');
    const stored = await storedCalibration(store, T);
    expect(stored).toEqual([
      { scope_id: 'org', basis: '', forecasts: 2, unresolved: 2 },
      { scope_id: 'payments', basis: '', forecasts: 2, unresolved: 2 },
    ]);
  });

  it('gives the calibration as json, csv or jsonl', async () => {
    const doc = JSON.parse((await forecast(['backtest'], { from: '2026-03-09', to: '2026-03-09', format: 'json' })).out) as {
      weeks: string[];
      noNumber: number;
      rows: Array<Record<string, unknown>>;
    };
    expect(doc.weeks).toEqual(['2026-03-09']);
    expect(doc.rows[0]).toEqual({
      key: 'org:org:all',
      scope: 'org',
      basis: 'all',
      forecasts: 1,
      resolved: 0,
      p85Hits: 0,
      p85HitRate: null,
      brier: null,
      brierForecasts: 0,
      maeDays: null,
      biasDays: null,
      maeForecasts: 0,
      unresolved: 1,
      reading: 'nothing resolved yet',
    });
    const csv = (await forecast(['backtest'], { from: '2026-03-09', to: '2026-03-09', format: 'csv' })).out.split('\r\n');
    expect(csv[0]).toBe(
      'key,scope,basis,forecasts,resolved,p85Hits,p85HitRate,brier,brierForecasts,maeDays,biasDays,maeForecasts,unresolved,reading',
    );
    const jsonl = (await forecast(['backtest'], { from: '2026-03-09', to: '2026-03-09', format: 'jsonl', program: 'payments' })).out;
    expect(
      jsonl
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { key: string }).key),
    ).toEqual(['org:org:all', 'org:org:milestone', 'org:org:team share', 'program:payments:all', 'program:payments:milestone']);
  });

  it('says what is wrong with its options', async () => {
    expect((await forecast(['backtest'], { from: '2026-03-01' })).err).toBe(
      'ptel forecast: backtest needs --from DATE and --to DATE (the week starts to forecast from)\n',
    );
    expect((await forecast(['backtest'], { from: '2026-03-01', to: 'March' })).err).toBe(
      "ptel forecast: --to 'March': expected a date YYYY-MM-DD\n",
    );
    expect((await forecast(['backtest'], { from: '2026-03-09', to: '2026-03-01' })).err).toBe(
      'ptel forecast: --from 2026-03-09 is after --to 2026-03-01\n',
    );
    expect((await forecast(['backtest'], { from: '2026-02-30', to: '2026-03-01' })).err).toContain("'2026-02-30' is not a date");
    expect((await forecast(['backtest'], { from: '2026-03-01', to: '2026-03-09', program: 'nope' })).err).toContain("no program 'nope'");
    const none = await forecast(['backtest'], { from: '2026-03-17', to: '2026-03-31' });
    expect(none.out).toContain('no Monday in that range before now: nothing forecast');
  });
});
