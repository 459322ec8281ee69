import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../infra/clock.js';
import { loadConfig } from '../infra/config/load.js';
import type { Store } from '../infra/store/client.js';
import {
  FORECAST_ORG,
  FORECAST_T,
  FORECAST_T2,
  forecastItem,
  forecastRowCount,
  checkoutTrain,
  seedForecastScenario,
  storedCalibration,
} from '../test/support/forecasts.js';
import { tempDir, testStore } from '../test/support/harness.js';
import { insertTables } from '../test/support/mapping.js';
import { historyRow } from '../test/support/rows.js';
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

/** Runs `ptel forecast` on the scenario's store at T, or on another store at another instant. */
async function forecast(positionals: string[], values: Record<string, string | string[]> = {}, on?: { store: Store; now: Date }) {
  const out = collect();
  const err = collect();
  const rt: ForecastRuntime = { store: on?.store ?? store, clock: fixedClock(on?.now ?? T), config, organisation: { org: ORG } };
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

describe('ptel forecast explain', () => {
  it('prints the headline as show does, then the items behind each throughput week, the open items, growth and blockers', async () => {
    const r = await forecast(['explain', 'Checkout', '2.0']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const shown = (await forecast(['show', 'Checkout 2.0'])).out.split('\n');
    const lines = r.out.split('\n');
    expect(lines.slice(0, 2)).toEqual(shown.slice(0, 2));
    expect(lines[2]).toBe('the items as they stood at the run, 2026-03-16 12:00 UTC');
    const at = (heading: string): number => lines.findIndex((l) => l.startsWith(heading));
    const week = at('throughput:');
    expect(lines[week]).toBe("throughput: 1.25 items/week, the milestone's own items done per week, oldest first");
    expect(lines.slice(week + 1, week + 7).map(cells)).toEqual([
      ['from', 'to', 'done', 'value', 'items'],
      [expect.stringMatching(/^-+$/), expect.stringMatching(/^-+$/), '----', '-----', expect.stringMatching(/^-+$/)],
      ['2026-02-16 12:00', '2026-02-23 12:00', '1', '1', 'CHK-1'],
      ['2026-02-23 12:00', '2026-03-02 12:00', '1', '1', 'CHK-2'],
      ['2026-03-02 12:00', '2026-03-09 12:00', '1', '1', 'CHK-3'],
      ['2026-03-09 12:00', '2026-03-16 12:00', '2', '2', 'CHK-4 CHK-5'],
    ]);
    const left = at('remaining:');
    expect(lines[left]).toBe('remaining: 4 open items');
    expect(lines.slice(left + 1, left + 7).map(cells)).toEqual([
      ['key', 'title', 'status', 'points', 'blocked by'],
      expect.any(Array),
      ['CHK-6', 'CHK-6 title', 'To Do', '-', '-'],
      ['CHK-7', 'CHK-7 title', 'To Do', '-', '-'],
      ['CHK-8', 'CHK-8 title', 'To Do', '-', 'LED-2'],
      ['CHK-9', 'CHK-9 title', 'To Do', '-', '-'],
    ]);
    expect(lines.slice(at('growth:'), at('growth:') + 2)).toEqual([
      'growth: 0 items/week over 6 weeks since the commit point (weekly, oldest first: 0 0 0 0 0 0)',
      '  no item added or removed',
    ]);
    expect(lines.slice(at('blockers:'), at('blockers:') + 2)).toEqual([
      'blockers:',
      '  blocker LED-2 (ledger) "LED-2 title" holds CHK-8; finishes in 2 weeks; idle 0 business days',
    ]);
  });

  it("on a team-share basis says that each week's value is the team's count times the share", async () => {
    const lines = (await forecast(['explain', 'jira:version/2'])).out.split('\n');
    expect(lines).toContain(
      "throughput: 0.25 items/week, the team ledger's items done per week times the milestone's share of them (1): value = done x 1, oldest first",
    );
    expect(cells(lines.find((l) => l.includes('LED-1'))!)).toEqual(['2026-03-09 12:00', '2026-03-16 12:00', '1', '1', 'LED-1']);
  });

  it('gives the explanation as one JSON document, and as CSV rows', async () => {
    const c = checkout();
    const doc = JSON.parse((await forecast(['explain', 'Checkout 2.0'], { format: 'json' })).out) as Record<string, unknown> & {
      throughput: { basis: string; share: number | null; weeks: Array<{ sample: number; value: number; items: Array<{ key: string }> }> };
      remaining: Array<Record<string, unknown>>;
    };
    expect(doc).toMatchObject({
      key: 'jira:version/1',
      milestone: 'Checkout 2.0',
      program: 'payments',
      team: 'checkout',
      runAt: T.toISOString(),
      asOf: T.toISOString(),
      forecast: { ok: true, committed: '2026-04-30', p50: c.p50, p85: c.p85, p95: c.p95, confidence: c.confidence, band: c.band },
      growth: { samples: [0, 0, 0, 0, 0, 0], changes: [] },
      differences: [],
    });
    expect(doc.throughput).toMatchObject({ basis: 'milestone', share: null });
    expect(doc.throughput.weeks.map((w) => [w.sample, w.value, w.items.map((i) => i.key)])).toEqual([
      [0, 1, ['CHK-1']],
      [1, 1, ['CHK-2']],
      [2, 1, ['CHK-3']],
      [3, 2, ['CHK-4', 'CHK-5']],
    ]);
    expect(doc.remaining[2]).toEqual({
      key: 'CHK-8',
      title: 'CHK-8 title',
      status: 'To Do',
      category: 'todo',
      points: null,
      blockedBy: ['LED-2'],
    });
    expect(doc['blockers']).toEqual([
      { blocker: 'LED-2', blockerTeam: 'ledger', blockerTitle: 'LED-2 title', blocked: ['CHK-8'], finishWeeks: [2], idleBusinessDays: 0 },
    ]);

    const csv = (await forecast(['explain', 'Checkout 2.0'], { format: 'csv' })).out.split('\r\n').filter((l) => l !== '');
    expect(csv[0]).toBe('key,section,sample,from,to,value,item,title,status,points,blockedBy,blocks,at,change');
    // Five done items, four open items, one blocker.
    expect(csv.slice(1).map((l) => l.split(',')[1])).toEqual([
      ...Array<string>(5).fill('throughput'),
      ...Array<string>(4).fill('remaining'),
      'blocker',
    ]);
    expect(csv).toContain('remaining:CHK-8,remaining,,,,,CHK-8,CHK-8 title,To Do,,LED-2,,,');
  });

  it('names a milestone it cannot find, and refuses a format it does not print', async () => {
    expect(await forecast(['explain', 'Nothing'])).toMatchObject({
      code: 2,
      out: '',
      err: "ptel forecast: no forecast of 'Nothing' stored by 2026-03-16T12:00:00.000Z; ptel forecast list names the milestones\n",
    });
    expect(await forecast(['explain'])).toMatchObject({
      code: 2,
      err: 'ptel forecast: explain which milestone? give its id (jira:version/10001) or its name\n',
    });
    expect((await forecast(['explain', 'Checkout 2.0'], { format: 'jsonl' })).err).toBe(
      "ptel forecast: --format 'jsonl': explain prints table, json, csv\n",
    );
  });

  describe('with a run a week later', () => {
    let later: Store;
    beforeAll(async () => {
      later = await testStore();
      await seedForecastScenario(later);
      await runForecasts(later, config, T);
      await runForecasts(later, config, FORECAST_T2);
    });
    afterAll(async () => {
      await later.close();
    });
    const explainJson = async (values: Record<string, string>) =>
      JSON.parse((await forecast(['explain', 'Checkout 2.0'], { ...values, format: 'json' }, { store: later, now: FORECAST_T2 })).out) as {
        runAt: string;
        throughput: { weeks: Array<{ items: Array<{ key: string }> }> };
        remaining: Array<{ key: string; status: string }>;
        growth: { changes: Array<{ key: string; change: string }> };
      };

    it('explains the latest run by now, and with --as-of the items as they stood then: an item done since is remaining', async () => {
      const now = await explainJson({});
      expect(now.runAt).toBe(FORECAST_T2.toISOString());
      expect(now.throughput.weeks.at(-1)!.items.map((i) => i.key)).toEqual(['CHK-9']);
      expect(now.remaining.map((r) => r.key)).not.toContain('CHK-9');
      expect(now.growth.changes.map((g) => [g.key, g.change])).toEqual([
        ['CHK-10', 'added'],
        ['CHK-11', 'added'],
      ]);

      // Without --as-of, "now" is the runtime clock's: a run stored after it is not read.
      const atT = JSON.parse((await forecast(['explain', 'Checkout 2.0'], { format: 'json' }, { store: later, now: T })).out) as {
        runAt: string;
      };
      expect(atT.runAt).toBe(T.toISOString());

      const then = await explainJson({ 'as-of': '2026-03-17' });
      expect(then.runAt).toBe(T.toISOString());
      expect(then.remaining.find((r) => r.key === 'CHK-9')).toEqual(expect.objectContaining({ status: 'To Do' }));
      expect(then.throughput.weeks.flatMap((w) => w.items.map((i) => i.key))).not.toContain('CHK-9');
      expect(then.growth.changes).toEqual([]);
    });
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
    ).toEqual([
      'org:org:all',
      'org:org:milestone',
      'org:org:team share',
      'org:org:cadence',
      'program:payments:all',
      'program:payments:milestone',
    ]);
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

describe('ptel forecast show, by cadence', () => {
  // Checkout R1..R3 shipped on 01-16, 02-06 and 02-27, two of them with open work carried over or left; R2
  // four days after the date it had four days before. R4 is due 03-20, four days after T's day.
  const cadenceConfig = loadConfig({
    env: {},
    cwd: tempDir(),
    overrides: {
      dataDir: tempDir(),
      metrics: { forecast: { trials: 500, seed: 3, windowWeeks: 4, minDoneItems: 3, minWeeks: 2, minCadencePeers: 3 } },
    },
  });
  let trainStore: Store;
  beforeAll(async () => {
    trainStore = await testStore();
    const done = { status: 'Done', status_category: 'done' } as const;
    const finished = (key: string, at: string) => historyRow(key, at, 'status', 'To Do', 'Done');
    await insertTables(trainStore, {
      ...checkoutTrain(),
      work_items: [
        forecastItem('A1', 'story', 'checkout', { ...done, fix_versions: ['version/11'], created_at: '2025-12-01T09:00:00.000Z' }),
        forecastItem('A2', 'story', 'checkout', { ...done, fix_versions: ['version/12'], created_at: '2025-12-01T09:00:00.000Z' }),
        forecastItem('A3', 'story', 'checkout', { ...done, fix_versions: ['version/12'], created_at: '2025-12-01T09:00:00.000Z' }),
        forecastItem('A4', 'story', 'checkout', { fix_versions: ['version/13'], created_at: '2025-12-01T09:00:00.000Z' }),
        forecastItem('A5', 'story', 'checkout', { fix_versions: ['version/14'], created_at: '2025-12-01T09:00:00.000Z' }),
        ...['A6', 'A7', 'A8'].map((k) =>
          forecastItem(k, 'story', 'checkout', { ...done, fix_versions: ['version/14'], created_at: '2025-12-01T09:00:00.000Z' }),
        ),
      ],
      work_item_history: [
        finished('A1', '2026-01-10T10:00:00.000Z'),
        historyRow('A2', '2026-01-16T15:00:00.000Z', 'Fix Version', '11', '12'),
        finished('A2', '2026-01-25T10:00:00.000Z'),
        finished('A3', '2026-02-01T10:00:00.000Z'),
        finished('A6', '2026-03-10T10:00:00.000Z'),
        finished('A7', '2026-03-02T10:00:00.000Z'),
        finished('A8', '2026-02-24T10:00:00.000Z'),
      ],
    });
    await runForecasts(trainStore, cadenceConfig, T);
  });
  afterAll(async () => {
    await trainStore.close();
  });

  it("dates the release by how late the team's releases were, and says what is still open at the date", async () => {
    const out = collect();
    const err = collect();
    const rt: ForecastRuntime = { store: trainStore, clock: fixedClock(T), config: cadenceConfig, organisation: { org: ORG } };
    const code = await runForecast(
      { config: cadenceConfig, values: {}, positionals: ['show', 'Checkout R4'], out: out.stream, err: err.stream },
      (fn) => fn(rt),
    );
    expect(err.text()).toBe('');
    expect(code).toBe(0);
    const text = out.text();
    // Slips 0, 4, 0 (lowest first 0, 0, 4): P50 the 2nd (0 days), P85 and P95 the 3rd (+4); on time 2 of 3, the
    // organisation (the same three) 2 of 3: (3 x 2/3 + 4 x 2/3) / 7.
    expect(text).toContain('P50 2026-03-20  P85 2026-03-24  P95 2026-03-24; committed 2026-03-20: P(on time) 0.67, at risk');
    expect(text).toContain(
      "cadence: ships by date (2 of the team's last 3 finished with open items; days late by the date 4 days before: 0 4 0)",
    );
    expect(text).toContain(
      "ships by its date, as the team's last 3 versions did, 2 of them with open items carried over (a median 1): they finished a median 0 days from the date they had 4 days before (0 to +4)",
    );
    // One item left, done in the week of the date in most trials at this pace.
    expect(text).toMatch(/at 2026-03-20 a median [01] items? of its work will still be open/);
  });
});
