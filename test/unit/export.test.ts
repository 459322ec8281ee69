import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_COMMANDS } from '../../cli/export-command.js';
import { jobHandlers, jobSchedules } from '../../app/jobs.js';
import type { DemoOrg } from '../../connectors/demo/generator.js';
import { loadConfig } from '../../infra/config/load.js';
import type { Runtime } from '../../app/runtime.js';
import { resolveOrganisation } from '../../app/organisation.js';
import { fixedClock } from '../../infra/clock.js';
import { nextCronTime } from '../../infra/scheduler/types.js';
import type { Store } from '../../infra/store/client.js';
import {
  ExportError,
  exportMonthJustEnded,
  monthClosed,
  runExport,
  type ExportSettings,
  EXPORT_FILES,
  type KpiExport,
} from '../../workers/export/export.js';
import { REGISTERS } from '../../workers/registers/index.js';
import { riskRegister } from '../../workers/registers/risks.js';
import { CSV_COLUMNS, kpiRows, readMonthlyValues } from '../../workers/export/kpis.js';
import { daysInMonth, lastCompleteMonth, parseMonth } from '../../workers/export/month.js';
import { tierOf } from '../../workers/metrics/benchmarks.js';
import { metricById } from '../../workers/metrics/definitions/index.js';
import { readouts, type Readout } from '../../workers/export/readout.js';
import { rowTarget } from '../../workers/export/report.js';
import { statusOf } from '../../workers/metrics/targets.js';
import { describeScopes, reportData } from '../../workers/export/report-data.js';
import { queryRows, quietLogger, tempDir, testStore } from '../support/harness.js';
import {
  exportedMonth,
  exportedReadout,
  HAND_FORECAST_RUNS,
  HOSTILE_SCOPE,
  MONTH,
  NOW,
  READOUT_MONTH,
  type ReadoutStore,
} from '../support/exported-month.js';
import { FORECAST_CSV_COLUMNS, forecastCsv, forecastsAt } from '../../workers/export/forecasts.js';

/** RFC 4180: CRLF between records, fields in double quotes may hold commas, CR, LF and doubled quotes. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' && field === '') {
      // a quoted field runs to the quote that is not doubled
      for (i++; ; i++) {
        if (i >= text.length) throw new Error('unterminated quoted field');
        if (text[i] === '"' && text[i + 1] === '"') {
          field += '"';
          i++;
        } else if (text[i] === '"') break;
        else field += text[i];
      }
      i++;
      if (i < text.length && text[i] !== ',' && text[i] !== '\r') throw new Error(`text after a closing quote at ${i}`);
      continue;
    }
    if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else if (c === '\r' || c === '\n' || c === '"') {
      throw new Error(`a bare ${JSON.stringify(c)} outside quotes at ${i}`);
    } else {
      field += c;
    }
    i++;
  }
  if (field !== '' || record.length > 0) throw new Error('the last record does not end with CRLF');
  return records;
}

interface StoredRow {
  metric: string;
  scope_kind: string;
  scope_id: string;
  value: number | null;
  numerator: number | null;
  denominator: number | null;
  sample_size: string;
  unit: string;
  definition_version: number;
}

const storedMonth = (store: Store, start: string): Promise<StoredRow[]> =>
  queryRows<StoredRow>(
    store,
    `SELECT metric, scope_kind, scope_id, value, numerator, denominator, sample_size, unit, definition_version
     FROM metric_values FINAL WHERE period_kind = 'month' AND period_start = {s:Date}`,
    { s: start },
  );

const keyOf = (r: { metric: string; scope_kind: string; scope_id: string }): string => `${r.scope_kind}|${r.scope_id}|${r.metric}`;

/** A CSV field as the number it stands for ('' is no value). */
const num = (field: string): number | null => (field === '' ? null : Number(field));

let store: Store;
let demo: DemoOrg;
let settings: ExportSettings;
let out: string;
let csv: string;
let records: Array<Record<string, string>>;
let json: KpiExport;
let report: string;

beforeAll(async () => {
  ({ store, demo, settings, out, csv, json, report } = await exportedMonth());
  const [header, ...body] = parseCsv(csv);
  records = body.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i] ?? ''])));
}, 120_000);
afterAll(() => store.close());

describe('ptel export: the files', () => {
  it('writes its files into <out>/<YYYY-MM>/, leaving no temporary folder beside it', () => {
    expect(readdirSync(out)).toEqual([MONTH]);
    expect(readdirSync(path.join(out, MONTH)).sort()).toEqual([
      'forecasts.csv',
      'kpis.csv',
      'kpis.json',
      'register-actions.csv',
      'register-decisions.csv',
      'register-dependencies.csv',
      'register-milestones.csv',
      'register-risks.csv',
      'report.html',
    ]);
    expect([...EXPORT_FILES].sort()).toEqual(readdirSync(path.join(out, MONTH)).sort());
  });

  it('kpis.csv holds the month of metric_values FINAL, row for row and number for number', async () => {
    const stored = await storedMonth(store, '2026-09-01');
    expect(stored.length).toBeGreaterThan(300);
    expect(csv.split('\r\n')[0]).toBe(CSV_COLUMNS.join(','));
    expect(records).toHaveLength(stored.length);
    const byKey = new Map(records.map((r) => [keyOf({ metric: r['metric']!, scope_kind: r['scope_kind']!, scope_id: r['scope_id']! }), r]));
    expect(byKey.size).toBe(stored.length);
    for (const s of stored) {
      const r = byKey.get(keyOf(s));
      expect(r, keyOf(s)).toBeDefined();
      expect(r!['month']).toBe(MONTH);
      expect(num(r!['value']!)).toBe(s.value);
      expect(num(r!['numerator']!)).toBe(s.numerator);
      expect(num(r!['denominator']!)).toBe(s.denominator);
      expect(Number(r!['sample_size'])).toBe(Number(s.sample_size));
      expect(r!['unit']).toBe(s.unit);
      expect(Number(r!['definition_version'])).toBe(s.definition_version);
      expect(r!['title']).toBe(metricById(s.metric)?.title ?? '');
    }
  });

  it('kpis.json holds the same rows, in the same order, with its metadata', async () => {
    expect(json).toMatchObject({
      format: 'ptel-kpi-export',
      format_version: 1,
      month: MONTH,
      period_start: '2026-09-01',
      generated_at: NOW.toISOString(),
      time_zone: 'UTC',
      benchmark_year: 2024,
      scope_filter: [],
    });
    expect(json.kpis.map(keyOf)).toEqual(
      records.map((r) => keyOf({ metric: r['metric']!, scope_kind: r['scope_kind']!, scope_id: r['scope_id']! })),
    );
    const stored = new Map((await storedMonth(store, '2026-09-01')).map((s) => [keyOf(s), s]));
    for (const k of json.kpis) {
      const s = stored.get(keyOf(k))!;
      expect([k.value, k.numerator, k.denominator, k.sample_size, k.unit]).toEqual([
        s.value,
        s.numerator,
        s.denominator,
        Number(s.sample_size),
        s.unit,
      ]);
    }
    const program = demo.org.programs[0]!;
    expect(json.scopes.slice(0, 3)).toEqual([
      { kind: 'org', id: 'org', name: 'Organisation' },
      { kind: 'program', id: program.id, name: program.name },
      { kind: 'team', id: program.teams[0]!.id, name: program.teams[0]!.name, program: program.id },
    ]);
  });

  it('orders rows by scope kind, scope id, then the metric catalogue', () => {
    const kinds = json.kpis.map((k) => ['org', 'program', 'team', 'service', 'repo'].indexOf(k.scope_kind));
    expect(kinds).toEqual([...kinds].sort((a, b) => a - b));
    const org = json.kpis.filter((k) => k.scope_kind === 'org').map((k) => k.metric);
    expect(org.slice(0, 2)).toEqual(['deployment_frequency', 'deployment_days_per_week_median']);
  });

  it("gives the previous month's value and the change, better or worse by the metric's direction", async () => {
    const previous = new Map((await storedMonth(store, '2026-08-01')).map((s) => [keyOf(s), s.value]));
    let compared = 0;
    for (const k of json.kpis) {
      const prev = previous.get(keyOf(k)) ?? null;
      expect(k.previous_value, keyOf(k)).toBe(prev);
      if (k.value === null || prev === null) {
        expect(k.change).toBeNull();
        expect(k.change_direction).toBeNull();
        continue;
      }
      compared++;
      expect(k.change).toBe(k.value - prev);
      const better = metricById(k.metric)?.better;
      const expected = k.value === prev ? 'same' : k.value > prev === (better === 'higher') ? 'better' : 'worse';
      expect(k.change_direction, keyOf(k)).toBe(expected);
    }
    expect(compared).toBeGreaterThan(200);
    const hostile = json.kpis.find((k) => k.scope_id === HOSTILE_SCOPE)!;
    expect(hostile).toMatchObject({ value: 3, previous_value: 5, change: -2, change_direction: 'better' });
  });

  it('places the four DORA metrics in the tiers of metrics.benchmarkYear, and no other metric', () => {
    // deployment frequency is benchmarked per week: its tier is the stored weekly rate's, the month's count has none
    const benchmarkOf: Record<string, string> = {
      deployments_per_week: 'deployment_frequency',
      change_lead_time_p50: 'change_lead_time_p50',
      change_failure_rate: 'change_failure_rate',
      failed_deployment_recovery_time_p50: 'failed_deployment_recovery_time_p50',
    };
    for (const k of json.kpis) {
      const benchmark = benchmarkOf[k.metric];
      if (benchmark === undefined || k.value === null) {
        expect(k.tier, keyOf(k)).toBeNull();
        continue;
      }
      expect(k.tier, keyOf(k)).toBe(tierOf(2024, benchmark, k.value) ?? null);
    }
    // the weekly rate is the month's count over its weeks
    for (const k of json.kpis.filter((x) => x.metric === 'deployments_per_week')) {
      const count = json.kpis.find(
        (x) => x.metric === 'deployment_frequency' && x.scope_kind === k.scope_kind && x.scope_id === k.scope_id,
      );
      expect(k.value, keyOf(k)).toBeCloseTo((count?.value ?? 0) / (daysInMonth(MONTH) / 7), 9);
      expect(k.denominator, keyOf(k)).toBeCloseTo(daysInMonth(MONTH) / 7, 9);
    }
    expect(json.kpis.some((k) => k.metric === 'deployments_per_week' && k.scope_kind === 'team')).toBe(true);
    expect(json.kpis.filter((k) => k.scope_kind === 'org' && k.tier !== null)).toHaveLength(4);
    const csvTiers = records.filter((r) => r['tier'] !== '').map((r) => r['tier']);
    expect(csvTiers).toEqual(json.kpis.filter((k) => k.tier !== null).map((k) => k.tier));
  });

  it('quotes a value holding a comma, quotes and a line break, and reads back the same', () => {
    expect(csv).toContain('"<img src=x onerror=""alert(1)"">, ""quoted""\nsecond line"');
    const row = records.find((r) => r['scope_id'] === HOSTILE_SCOPE);
    expect(row).toMatchObject({ scope_kind: 'team', metric: 'incident_count', value: '3', previous_value: '5', change: '-2' });
    // a field holding a comma is quoted too
    expect(csv).toContain('"Change lead time, p50 (first commit to production)"');
  });

  it('escapes every value from the data in report.html', () => {
    expect(report).not.toContain('<img');
    expect(report).not.toContain('<script');
    expect(report).toContain('&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt; &amp; &quot;more&quot;');
    expect(report).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;, &quot;quoted&quot;');
    // self-contained: nothing is fetched
    expect(report).not.toMatch(/<link|@import|url\(|src=["']?http/i);
  });

  it("lists under each scope's stalls as many links as its stored dependency_stalls value", async () => {
    const rows = kpiRows(await readMonthlyValues(store, MONTH), MONTH, [], settings.metrics.benchmarkYear);
    const data = await reportData({ store, month: MONTH, scopes: describeScopes(rows, demo.org), rows, filters: [], config: settings });
    const stored = (kind: string, id: string): number =>
      rows.find((r) => r.scope_kind === kind && r.scope_id === id && r.metric === 'dependency_stalls')?.value ?? 0;
    expect(data.some((d) => d.stalls.length > 0)).toBe(true);
    for (const d of data) expect(d.stalls.length, `${d.scope.kind}:${d.scope.id}`).toBe(stored(d.scope.kind, d.scope.id));
  });

  it('has a section per org, program and team with the trends, KPIs (with the DORA tiers), risk signals, stalls and incidents', () => {
    const scopes = [...report.matchAll(/<section class="scope" id="[^"]+" data-scope="([^"]+)"/g)].map((m) => m[1]);
    const teams = demo.org.programs.flatMap((p) => p.teams.map((t) => `team:${t.id}`));
    expect(scopes).toContain('org:org');
    for (const p of demo.org.programs) expect(scopes).toContain(`program:${p.id}`);
    for (const t of teams) expect(scopes).toContain(t);
    for (const name of ['trends', 'kpis', 'risks', 'stalls', 'incidents'])
      expect(report.match(new RegExp(`data-section="${name}"`, 'g'))).toHaveLength(scopes.length);
  });
});

describe('ptel export: choices and errors', () => {
  it('exports only the scopes asked for, and replaces an earlier export of the month', async () => {
    const team = demo.org.programs[0]!.teams[0]!.id;
    const r = await runExport({
      store,
      config: settings,
      month: MONTH,
      out,
      scopes: [{ kind: 'team', id: team }, { kind: 'program' }],
      clock: fixedClock(NOW),
    });
    const doc = JSON.parse(readFileSync(path.join(r.dir, 'kpis.json'), 'utf8')) as KpiExport;
    expect(new Set(doc.kpis.map((k) => `${k.scope_kind}:${k.scope_kind === 'team' ? k.scope_id : '*'}`))).toEqual(
      new Set([`team:${team}`, 'program:*']),
    );
    expect(doc.scope_filter).toEqual([`team:${team}`, 'program']);
    expect(readdirSync(out)).toEqual([MONTH]);
    await runExport({ store, config: settings, month: MONTH, out, clock: fixedClock(NOW) });
    expect(readFileSync(path.join(out, MONTH, 'kpis.csv'), 'utf8')).toBe(csv);
  });

  it('says which month has no values and how to compute them', async () => {
    const err = await runExport({ store, config: settings, month: '2025-01', out }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExportError);
    expect((err as ExportError).code).toBe('no_values');
    expect((err as ExportError).message).toContain('no metric values for 2025-01');
    expect((err as ExportError).message).toContain('ptel metrics backfill --from 2025-01-01 --to 2025-02-01');
    expect(existsSync(path.join(out, '2025-01'))).toBe(false);
    const none = await runExport({ store, config: settings, month: MONTH, out, scopes: [{ kind: 'team', id: 'nobody' }] }).catch(
      (e: unknown) => e,
    );
    expect((none as ExportError).code).toBe('no_scope_values');
    expect((none as ExportError).message).toContain('team:nobody');
  });

  it('refuses a malformed --month or --scope as wrong usage (exit 2), before opening the store', async () => {
    const config = loadConfig({ env: {}, cwd: tempDir(), overrides: { dataDir: tempDir() } });
    const run = async (values: Record<string, string | boolean | undefined>) => {
      const err = new PassThrough();
      let text = '';
      err.on('data', (d: Buffer) => (text += d.toString()));
      const code = await EXPORT_COMMANDS['export']!.run({ config, values, positionals: [], out: new PassThrough(), err });
      return { code, text };
    };
    for (const month of ['2026-13', '2026-9', '26-09', '2026-09-01', 'september']) {
      const r = await run({ month });
      expect(r.code, month).toBe(2);
      expect(r.text).toContain(`--month '${month}': expected a month YYYY-MM`);
    }
    const r = await run({ month: '2026-09', scope: 'squad:x' });
    expect(r.code).toBe(2);
    expect(r.text).toContain("--scope 'squad:x'");
  });

  it('refuses a malformed --as-of as wrong usage (exit 2), saying what an instant looks like', async () => {
    const config = loadConfig({ env: {}, cwd: tempDir(), overrides: { dataDir: tempDir() } });
    for (const asOf of ['yesterday', '2026-13-45', '2026-11-03T25:00', '03/11/2026 10:00', '2026-11-03T10:00:00+0']) {
      const err = new PassThrough();
      let text = '';
      err.on('data', (d: Buffer) => (text += d.toString()));
      const out = new PassThrough();
      let printed = '';
      out.on('data', (d: Buffer) => (printed += d.toString()));
      const code = await EXPORT_COMMANDS['export']!.run({ config, values: { month: MONTH, 'as-of': asOf }, positionals: [], out, err });
      expect(code, asOf).toBe(2);
      expect(text).toBe(`ptel export: --as-of '${asOf}' is not an instant; use ISO 8601, e.g. 2026-10-31 or 2026-10-31T10:00:00Z\n`);
      expect(printed).toBe('');
    }
  });

  it('reads months and knows the last complete one in the time zone', () => {
    expect(parseMonth('2026-09')).toBe('2026-09');
    expect(parseMonth('2026-00')).toBeUndefined();
    expect(lastCompleteMonth('UTC', new Date('2026-10-01T00:30:00Z'))).toBe('2026-09');
    // still September 30 in New York
    expect(lastCompleteMonth('America/New_York', new Date('2026-10-01T00:30:00Z'))).toBe('2026-08');
    expect(lastCompleteMonth('UTC', new Date('2026-01-15T00:00:00Z'))).toBe('2025-12');
  });
});

describe('the scheduled monthly export', () => {
  it('is in the schedule list on export.cron, in the metrics time zone, after the month close; not when disabled', () => {
    const config = loadConfig({ env: {}, cwd: tempDir(), overrides: { metrics: { timeZone: 'Europe/Berlin' } } });
    const entry = jobSchedules(config).find((s) => s.id === 'export-monthly');
    expect(entry).toEqual({ id: 'export-monthly', job: 'export', cron: '30 5 1 * *', tz: 'Europe/Berlin', attempts: 3 });
    const from = new Date('2026-10-31T12:00:00Z');
    const close = nextCronTime(config.metrics.monthCloseCron, 'Europe/Berlin', from);
    const exported = nextCronTime(entry!.cron!, 'Europe/Berlin', from);
    expect(close.toISOString()).toBe('2026-11-01T02:30:00.000Z');
    expect(exported.getTime()).toBeGreaterThan(close.getTime());
    expect(exported.toISOString().slice(0, 10)).toBe('2026-11-01');
    const off = loadConfig({ env: {}, cwd: tempDir(), overrides: { export: { enabled: false } } });
    expect(jobSchedules(off).some((s) => s.job === 'export')).toBe(false);
  });

  it('closes the month first when no metrics run has covered it since it ended, then exports it', async () => {
    const root = tempDir('ptel-export-sched-');
    expect(await monthClosed(store, '2026-09', 'UTC')).toBe(true);
    expect(await monthClosed(store, '2026-10', 'UTC')).toBe(false);
    const r = await exportMonthJustEnded({
      store,
      config: { ...settings, export: { ...settings.export, dir: root } },
      clock: fixedClock(new Date('2026-11-01T05:30:00Z')),
    });
    expect(r).toMatchObject({ month: '2026-10', dir: path.join(root, '2026-10') });
    expect(await monthClosed(store, '2026-10', 'UTC')).toBe(true);
    const doc = JSON.parse(readFileSync(path.join(root, '2026-10', 'kpis.json'), 'utf8')) as KpiExport;
    expect(doc.kpis.length).toBe((await storedMonth(store, '2026-10-01')).length);
  }, 120_000);

  it('writes nothing while the store holds no event from before the month ended', async () => {
    const empty = await testStore();
    try {
      const root = tempDir('ptel-export-empty-');
      const r = await exportMonthJustEnded({
        store: empty,
        config: { ...settings, export: { ...settings.export, dir: root } },
        clock: fixedClock(NOW),
      });
      expect(r).toBeUndefined();
      expect(readdirSync(root)).toEqual([]);
      expect(await monthClosed(empty, MONTH, 'UTC')).toBe(false);
    } finally {
      await empty.close();
    }
  });

  it('its handler writes the folder of the month just ended into export.dir', async () => {
    const root = tempDir('ptel-export-handler-');
    const config = loadConfig({
      env: {},
      cwd: tempDir(),
      overrides: { dataDir: tempDir(), org: { programs: demo.org.programs }, export: { dir: root } },
    });
    // The export handler reads the config, the organisation, the clock, the store and the logger of the runtime.
    const clock = fixedClock(new Date());
    const rt = { config, store, logger: quietLogger(), clock, organisation: resolveOrganisation(config, clock) } as unknown as Runtime;
    await jobHandlers(rt)['export']!({}, { scheduleId: 'export-monthly', attempt: 0, signal: new AbortController().signal });
    const month = lastCompleteMonth('UTC', new Date());
    expect(readdirSync(path.join(root, month)).sort()).toEqual([...EXPORT_FILES].sort());
    // Run again (a restart, a retry): the month's export stays as it went out.
    const written = statSync(path.join(root, month, 'kpis.csv')).mtimeMs;
    await jobHandlers(rt)['export']!({}, { scheduleId: 'export-monthly', attempt: 1, signal: new AbortController().signal });
    expect(statSync(path.join(root, month, 'kpis.csv')).mtimeMs).toBe(written);
  }, 120_000);
});

describe('ptel export --as-of: the month as the store held it at an instant', () => {
  /** The instant asked about: a day after the seeded metrics run (NOW), before anything below was written. */
  const T = new Date('2026-10-02T00:00:00Z');
  /** When the values and the signal below were recomputed: after T. */
  const LATER = new Date('2026-10-05T09:00:00Z');
  /**
   * A recompute after T that replaces the row: stamped a minute after LATER or after the row's own
   * computed_at, whichever is later (earlier tests of this file recompute on later clocks), and above its version.
   */
  const recomputed = (row: Record<string, unknown> | undefined): { computed_at: string; version: number } => {
    const at = Math.max(LATER.getTime(), row === undefined ? 0 : Date.parse(`${String(row['computed_at']).replace(' ', 'T')}Z`)) + 60_000;
    return {
      computed_at: new Date(at).toISOString().replace('T', ' ').replace('Z', ''),
      version: Math.max(at * 1000, row === undefined ? 0 : Number(row['version']) + 1),
    };
  };
  const LATE_EXPLANATION = 'Recomputed after the instant: a signal no export as of 2 October may show';

  const exportTo = async (asOf: Date | undefined): Promise<{ csv: string; json: KpiExport; report: string }> => {
    const root = tempDir('ptel-export-asof-');
    const r = await runExport({ store, config: settings, month: MONTH, out: root, clock: fixedClock(LATER), ...(asOf ? { asOf } : {}) });
    return {
      csv: readFileSync(path.join(r.dir, 'kpis.csv'), 'utf8'),
      json: JSON.parse(readFileSync(path.join(r.dir, 'kpis.json'), 'utf8')) as KpiExport,
      report: readFileSync(path.join(r.dir, 'report.html'), 'utf8'),
    };
  };

  let before: { value: number; numerator: number | null };

  let plain: { csv: string; json: KpiExport; report: string };
  let asOf: { csv: string; json: KpiExport; report: string };

  beforeAll(async () => {
    // The org's September incident count, recomputed after T with another value (a new version).
    const [row] = await queryRows<Record<string, unknown>>(
      store,
      `SELECT * EXCEPT (computed_at), toString(computed_at) AS computed_at FROM metric_values FINAL
       WHERE metric = 'incident_count' AND scope_kind = 'org' AND period_kind = 'month' AND period_start = '2026-09-01'`,
    );
    before = { value: Number(row!['value']), numerator: row!['numerator'] === null ? null : Number(row!['numerator']) };
    await store.client.insert({
      table: 'metric_values',
      values: [{ ...row, value: before.value + 7, numerator: (before.numerator ?? 0) + 7, ...recomputed(row) }],
      format: 'JSONEachRow',
    });
    // The team's incident-count signal of the month's last week (a week that ends in October, so first computed
    // after T unless a later run of this file computed it already), written after T as active and the month's strongest.
    const team = demo.org.programs[0]!.teams[0]!.id;
    const key = { scope_kind: 'team', scope_id: team, indicator: 'incident_count', week_start: '2026-09-28' };
    const [latest] = await queryRows<Record<string, unknown>>(
      store,
      `SELECT toString(computed_at) AS computed_at, version FROM risk_signals FINAL
       WHERE scope_kind = 'team' AND scope_id = {id:String} AND indicator = 'incident_count' AND week_start = '2026-09-28'`,
      { id: team },
    );
    await store.client.insert({
      table: 'risk_signals',
      values: [
        {
          ...key,
          observed: 12,
          expected: 2,
          lower: 0,
          upper: 4,
          score: 40,
          active: 1,
          method: 'robust_z',
          history_weeks: 12,
          explanation: LATE_EXPLANATION,
          ...recomputed(latest),
        },
      ],
      format: 'JSONEachRow',
    });
    plain = await exportTo(undefined);
    asOf = await exportTo(T);
  }, 120_000);

  it('gives the values stored at the instant, though they were recomputed since', () => {
    const count = (doc: KpiExport) => doc.kpis.find((k) => k.scope_kind === 'org' && k.metric === 'incident_count');
    expect(count(plain.json)).toMatchObject({ value: before.value + 7 });
    // as the export made on 1 October gave it (before any later recompute)
    expect(count(asOf.json)).toEqual(count(json));
    // Every number as the export made on 1 October gave it, byte for byte.
    expect(asOf.csv).toBe(csv);
    expect(asOf.json.kpis).toEqual(json.kpis);
    expect(plain.csv).not.toBe(csv);
  });

  it('leaves out of the report a risk signal computed after the instant', () => {
    expect(plain.report).toContain(LATE_EXPLANATION);
    expect(asOf.report).not.toContain(LATE_EXPLANATION);
    // the signals computed by then are still there (the hostile one of the fixture, escaped)
    expect(asOf.report).toContain('&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;');
  });

  it('records the instant in kpis.json and the report header; generated_at comes from the clock', () => {
    expect(asOf.json).toMatchObject({ month: MONTH, as_of: T.toISOString(), generated_at: LATER.toISOString() });
    expect(plain.json).toMatchObject({ as_of: null, generated_at: LATER.toISOString() });
    expect(json.as_of).toBeNull();
    expect(asOf.report).toContain(`<strong data-as-of="${T.toISOString()}">as of ${T.toISOString()}</strong>`);
    expect(plain.report).not.toContain('data-as-of');
  });

  it('lists the incidents created by the instant, open while their resolution came later', async () => {
    const rows = kpiRows(await readMonthlyValues(store, MONTH), MONTH, [], settings.metrics.benchmarkYear);
    const scopes = describeScopes(rows, demo.org);
    const read = (at?: Date) =>
      reportData({ store, month: MONTH, scopes, rows, filters: [], config: settings, ...(at ? { asOf: at } : {}) });
    const org = async (at?: Date) => (await read(at)).find((d) => d.scope.kind === 'org')!;
    // The fixture's incident started 2026-09-10 08:00 and was resolved at 11:30.
    const mid = new Date('2026-09-10T10:00:00Z');
    const now = await org();
    const then = await org(mid);
    expect(now.incidents.some((i) => i.created_at > '2026-09-10 10:00:00')).toBe(true);
    expect(then.incidents.length).toBeGreaterThan(0);
    for (const i of then.incidents) expect(i.created_at <= '2026-09-10 10:00:00', i.id).toBe(true);
    const hostile = (await read(mid)).flatMap((d) => d.incidents).find((i) => i.id === 'PHOSTILE')!;
    expect(hostile).toMatchObject({ resolved_at: null, open_at_month_end: true, duration_hours: 2 });
    const resolved = (await read()).flatMap((d) => d.incidents).find((i) => i.id === 'PHOSTILE')!;
    expect(resolved).toMatchObject({ open_at_month_end: false, duration_hours: 3.5 });
  });

  it('shows the deployments linked to an incident only once the linker had recorded the link', async () => {
    const rows = kpiRows(await readMonthlyValues(store, MONTH), MONTH, [], settings.metrics.benchmarkYear);
    const scopes = describeScopes(rows, demo.org);
    const linked = async (at?: Date) =>
      (await reportData({ store, month: MONTH, scopes, rows, filters: [], config: settings, ...(at ? { asOf: at } : {}) }))
        .find((d) => d.scope.kind === 'org')!
        .incidents.map((i) => ({ id: i.id, deployments: i.deployments.map((d) => d.id) }));
    const [span] = await queryRows<{ first: string; last: string }>(
      store,
      `SELECT toString(min(linked_at)) AS first, toString(max(linked_at)) AS last FROM incident_deployments WHERE deployment_id != ''`,
    );
    const first = new Date(`${span!.first.replace(' ', 'T')}Z`);
    const last = new Date(`${span!.last.replace(' ', 'T')}Z`);
    const now = await linked();
    expect(now.some((i) => i.deployments.length > 0)).toBe(true);
    expect(await linked(last)).toEqual(now);
    const earlier = await linked(new Date(first.getTime() - 1));
    expect(earlier.map((i) => i.id)).toEqual(now.map((i) => i.id));
    expect(earlier.every((i) => i.deployments.length === 0)).toBe(true);
  });
});

describe('the report opens with a status readout per program, from the registers at the end of the month', () => {
  let hand: ReadoutStore;
  let pages: Readout[];
  let html: string;
  let firstDir: string;

  const page = (id: string): Readout => pages.find((p) => `${p.scope.kind}:${p.scope.id}` === id)!;
  const names = (list: ReadonlyArray<{ item: string }>): string[] => list.map((i) => i.item);

  beforeAll(async () => {
    ({ dir: firstDir, html, pages, ...hand } = await exportedReadout());
  }, 120_000);
  afterAll(() => hand.store.close());

  it('has a page for the org (it has two programs) and one per program, taken at the end of the month and of the month before', () => {
    expect(pages.map((p) => `${p.scope.kind}:${p.scope.id}`)).toEqual(['org:org', 'program:payments', 'program:discovery']);
    for (const p of pages) expect([p.asOf, p.previousAsOf]).toEqual(['2026-10-01T00:00:00.000Z', '2026-09-01T00:00:00.000Z']);
  });

  it('colours a program red with every reason, naming the items and linking them', () => {
    const payments = page('program:payments');
    expect(payments.health.colour).toBe('red');
    expect(payments.health.reasons.map((r) => [r.rule, r.colour, r.items.map((i) => i.name)])).toEqual([
      ['milestone_overdue', 'red', ['Ledger GA']],
      ['high_risk_unowned', 'red', ['R-1']],
      ['milestone_slipped', 'amber', ['Checkout 2.0']],
      ['decision_overdue', 'amber', ['D-1']],
    ]);
    expect(payments.health.summary).toBe(
      'Red: 1 milestone overdue: Ledger GA; 1 high risk without an owner: R-1. Also amber: 1 milestone slipped: Checkout 2.0; 1 decision past its target: D-1.',
    );
    // a stall inside another program does not colour this one
    expect(page('program:discovery').health).toMatchObject({
      colour: 'amber',
      summary: 'Amber: 1 dependency stalled: SRC-8 blocks SRC-7.',
    });
    expect(page('org:org').health.reasons.map((r) => r.rule)).toEqual([
      'milestone_overdue',
      'high_risk_unowned',
      'milestone_slipped',
      'decision_overdue',
      'dependency_stalled',
    ]);
  });

  it('lists the milestones at risk, the top risks with their owners as they were at the month end, and the decisions needed', () => {
    const payments = page('program:payments');
    expect(payments.milestonesAtRisk.map((m) => [m.item, m.status, m.flag, m.due, m.url])).toEqual([
      ['Ledger GA', 'overdue', 'red', '2026-09-25', 'https://acme.atlassian.net/projects/version/2'],
      ['Checkout 2.0', 'slipped', 'amber', '2026-10-15', 'https://acme.atlassian.net/projects/version/1'],
    ]);
    // R-1 got an owner on 10-03, after the month: at its end it had none. Both are red on the risk register's
    // board (high and not started), only R-1 colours the program (a high risk nobody owns).
    expect(payments.topRisks.map((r) => [r.item, r.owner, r.flag, r.url])).toEqual([
      ['R-1', '', 'red', 'https://acme.atlassian.net/browse/R-1'],
      ['R-2', 'lee', 'red', 'https://acme.atlassian.net/browse/R-2'],
    ]);
    expect(payments.decisionsNeeded.map((d) => [d.item, d.status, d.owner])).toEqual([
      ['D-1', 'overdue', 'dana'],
      ['D-2', 'open', 'lee'],
    ]);
    expect(names(page('program:discovery').milestonesAtRisk)).toEqual([]);
    expect(names(page('program:discovery').topRisks)).toEqual([]);
  });

  it('says what changed since the month before: slips, finished milestones, risks raised and closed, decisions made, new stalls, KPI moves', () => {
    expect(page('program:payments').changes.map((c) => [c.kind, c.item.name, c.detail])).toEqual([
      ['milestone_slipped', 'Checkout 2.0', 'moved from 2026-09-20 to 2026-10-15'],
      ['milestone_finished', 'Checkout 1.9', 'done on time 2026-09-05'],
      ['risk_raised', 'R-2', 'high severity, owner lee'],
      ['risk_closed', 'R-3', 'Mitigated 2026-09-12'],
      ['decision_made', 'D-3', 'decided late 2026-09-03: Option B'],
    ]);
    expect(page('program:discovery').changes.map((c) => [c.kind, c.item.name, c.item.url])).toEqual([
      ['stall_new', 'SRC-8 blocks SRC-7', 'https://acme.atlassian.net/browse/SRC-8'],
    ]);
    // by the size of the change against the previous value: lead time +140%, on time on the latest plan +100%, incidents -50%
    expect(page('program:payments').kpiMoves.map((m) => [m.metric, m.direction])).toEqual([
      ['change_lead_time_p50', 'worse'],
      ['milestone_on_time_rate_latest', 'better'],
      ['incident_count', 'better'],
    ]);
  });

  it('puts the readout first in report.html: the colour as a word, each reason and item linked to its source', () => {
    const first = html.indexOf('<section class="readout"');
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(html.indexOf('<nav class="toc"'));
    expect(first).toBeLessThan(html.indexOf('<section class="scope"'));
    const section = (id: string): string => {
      const at = html.indexOf(`data-readout="${id}"`);
      const next = html.indexOf('<section class="readout"', at);
      return html.slice(at, next > 0 ? next : html.indexOf('<nav class="toc"'));
    };
    const payments = section('program:payments');
    expect(payments).toMatch(/<div class="status red" data-status="red">\s*<span class="badge">Red<\/span>/);
    expect(payments).toContain('<a href="https://acme.atlassian.net/projects/version/2">Ledger GA</a>');
    expect(payments).toContain('<a href="https://acme.atlassian.net/browse/R-1">R-1</a>');
    expect(payments).toContain('<strong>no owner</strong>');
    expect(payments).toContain('<a href="https://acme.atlassian.net/browse/D-1">D-1</a>');
    expect(payments).toContain('moved from 2026-09-20 to 2026-10-15');
    expect(payments).toContain('What changed since August 2026');
    expect(html).toMatch(/data-readout="program:discovery"[\s\S]*?<div class="status amber" data-status="amber">/);
  });

  it('reads the registers at the end of the month, whenever the export is made', async () => {
    const later = await runExport({
      store: hand.store,
      config: hand.settings,
      month: READOUT_MONTH,
      out: tempDir('ptel-readout-later-'),
      clock: fixedClock(new Date('2026-12-01T00:00:00Z')),
    });
    const again = readFileSync(path.join(later.dir, 'report.html'), 'utf8');
    const readoutOf = (text: string): string => text.slice(text.indexOf('<div class="readouts"'), text.indexOf('<nav class="toc"'));
    expect(readoutOf(again)).toBe(readoutOf(html));
    // The registers' CSV files too: each register as it stood at the month's end, every column.
    for (const definition of REGISTERS) {
      const file = `register-${definition.id}.csv`;
      expect(readFileSync(path.join(later.dir, file), 'utf8'), file).toBe(readFileSync(path.join(firstDir, file), 'utf8'));
    }
    const [header, ...risks] = parseCsv(readFileSync(path.join(firstDir, 'register-risks.csv'), 'utf8'));
    expect(header).toEqual(['key', ...riskRegister.columns.map((c) => c.key)]);
    const r1 = risks.find((r) => r[header!.indexOf('item')] === 'R-1')!;
    // R-1 got its owner only after the month: unowned in the month's register.
    expect([r1[header!.indexOf('owner')], r1[header!.indexOf('unowned')]]).toEqual(['', 'true']);
    // Exported as of an instant inside the month, the registers are taken at that instant: the overdue milestone was not yet overdue.
    const mid = await readouts({
      store: hand.store,
      month: READOUT_MONTH,
      scopes: [{ kind: 'program', id: 'payments', name: 'Payments' }],
      rows: [],
      config: hand.settings,
      until: new Date('2026-09-20T00:00:00Z'),
    });
    expect(mid[0]!.asOf).toBe('2026-09-20T00:00:00.000Z');
    expect(mid[0]!.health.reasons.map((r) => r.rule)).toEqual(['high_risk_unowned', 'milestone_slipped', 'decision_overdue']);
  });

  it('shows each KPI row in one unit: hours of 48 and more in the row make the whole row days', () => {
    const row = html.match(/<tr data-metric="change_lead_time_p50">[\s\S]*?<\/tr>/g)!;
    // the payments row: 72 h against 30 h, a change of 42 h
    const payments = row.find((r) => r.includes('<td class="num">3 d</td>'))!;
    expect(payments).toBeDefined();
    expect(payments).toContain('<td class="num">1.3 d</td>');
    expect(payments).toContain('+1.8 d');
    expect(payments).not.toMatch(/\d h\b/);
    // the discovery row stays in hours: 24 h against 20 h
    const discovery = row.find((r) => r.includes('<td class="num">24 h</td>'))!;
    expect(discovery).toContain('<td class="num">20 h</td>');
    expect(discovery).toContain('+4 h');
  });

  it('colours KPI values against their targets (workers/metrics/targets.ts), in a word as well as a colour', () => {
    const at = html.indexOf('id="scope-program-payments"');
    const section = html.slice(at, html.indexOf('<section class="scope"', at + 1));
    const row = (metric: string): string => section.match(new RegExp(`<tr data-metric="${metric}">[\\s\\S]*?</tr>`))![0];
    // on time: red below 80%, green from 90%
    expect(row('milestone_on_time_rate_original')).toContain('<span class="flag red" data-target="red"');
    expect(row('milestone_on_time_rate_latest')).toContain('<span class="flag green" data-target="green"');
    expect(row('milestone_on_time_rate_latest')).toContain('>green</span>');
    // 72 h of lead time: the DORA tier of the targets' year, as its band's colour
    const lead = statusOf('change_lead_time_p50', 72)!;
    expect(row('change_lead_time_p50')).toContain(`data-target="${lead}"`);
    // incidents have no target
    expect(row('incident_count')).not.toContain('data-target');
    // deployment frequency's target is per week: it colours the weekly rate, never the month's count
    expect(rowTarget({ metric: 'deployments_per_week', unit: 'per_week' })?.metric).toBe('deployment_frequency');
    expect(rowTarget({ metric: 'deployment_frequency', unit: 'count' })).toBeUndefined();
  });

  it('draws the milestone chart with the on-time rate against the original plan beside the latest', () => {
    const at = html.indexOf('id="scope-program-payments"');
    const chart = html.slice(html.indexOf('data-chart="Milestones on time: original vs latest plan"', at));
    const figure = chart.slice(0, chart.indexOf('</figure>'));
    expect(figure).toContain('data-line="original plan"');
    expect(figure).toContain('data-line="latest plan"');
    expect(figure).toContain(
      'original plan: Apr —, May —, Jun —, Jul —, Aug 50%, Sep 50%; latest plan: Apr —, May —, Jun —, Jul —, Aug 50%, Sep 100%',
    );
  });
});

describe("milestone forecasts in the export: the latest run at or before the month's end", () => {
  let hand: ReadoutStore;
  let dir: string;
  let html: string;
  let pages: Readout[];

  const records = (file: string): Array<Record<string, string>> => {
    const [header, ...rows] = parseCsv(readFileSync(file, 'utf8'));
    return rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]!])));
  };
  /** One scope's part of report.html: from its heading to the next scope's. */
  const scopePart = (text: string, id: string): string => {
    const at = text.indexOf(`data-scope="${id}"`);
    const next = text.indexOf('<section class="scope"', at);
    return text.slice(at, next > 0 ? next : undefined);
  };
  const forecastPart = (text: string, id: string): string => {
    const part = scopePart(text, id);
    const at = part.indexOf('data-section="forecasts"');
    return at < 0 ? '' : part.slice(at, part.indexOf('</section>', at));
  };

  beforeAll(async () => {
    ({ dir, html, pages, ...hand } = await exportedReadout({ forecasts: true }));
  }, 120_000);
  afterAll(() => hand.store.close());

  it('forecasts.csv holds each open milestone of the run at the month end, not the run made after it', () => {
    const rows = records(path.join(dir, 'forecasts.csv'));
    expect(readFileSync(path.join(dir, 'forecasts.csv'), 'utf8').split('\r\n')[0]).toBe(FORECAST_CSV_COLUMNS.join(','));
    // the run at the month's end instant itself (2026-10-01 00:00 UTC), soonest committed date first
    expect(rows).toEqual([
      {
        month: '2026-09',
        run_at: '2026-10-01T00:00:00.000Z',
        program: 'payments',
        team: 'ledger',
        source: 'jira',
        milestone_id: 'version/2',
        milestone: 'Ledger GA',
        committed: '2026-09-25',
        p50: '',
        p85: '',
        p95: '',
        confidence: '',
        band: '',
        method: '',
        reason: '12 done items and 4 weeks of history; a forecast needs 20 and 6',
      },
      {
        month: '2026-09',
        run_at: '2026-10-01T00:00:00.000Z',
        program: 'payments',
        team: 'checkout',
        source: 'jira',
        milestone_id: 'version/1',
        milestone: 'Checkout 2.0',
        committed: '2026-10-15',
        p50: '2026-10-20',
        p85: '2026-11-03',
        p95: '2026-11-17',
        confidence: '0.42',
        band: 'off track',
        method: 'throughput',
        reason: '',
      },
      {
        month: '2026-09',
        run_at: '2026-10-01T00:00:00.000Z',
        program: 'discovery',
        team: 'search',
        source: 'jira',
        milestone_id: 'version/4',
        milestone: 'Search GA',
        committed: '2026-11-30',
        p50: '2026-11-20',
        p85: '2026-11-25',
        p95: '2026-12-09',
        confidence: '0.61',
        band: 'at risk',
        method: 'cadence',
        reason: '',
      },
    ]);
  });

  it('the readout shows the P85 and confidence of each milestone at risk as at the month end; a forecast at risk puts a milestone among them', () => {
    const atRisk = (id: string) => pages.find((p) => `${p.scope.kind}:${p.scope.id}` === id)!.milestonesAtRisk;
    expect(atRisk('program:payments').map((m) => [m.item, m.status, m.forecast])).toEqual([
      [
        'Ledger GA',
        'overdue',
        {
          runAt: '2026-10-01T00:00:00.000Z',
          ok: false,
          reason: '12 done items and 4 weeks of history; a forecast needs 20 and 6',
          p85: null,
          confidence: null,
          band: null,
        },
      ],
      [
        'Checkout 2.0',
        'slipped',
        { runAt: '2026-10-01T00:00:00.000Z', ok: true, reason: '', p85: '2026-11-03', confidence: 0.42, band: 'off track' },
      ],
    ]);
    // on plan, but its forecast at the month end is at risk (and it was on track in the run after)
    expect(atRisk('program:discovery').map((m) => [m.item, m.status, m.flag, m.forecast?.p85, m.forecast?.confidence])).toEqual([
      ['Search GA', 'on plan', 'amber', '2026-11-25', 0.61],
    ]);
    const payments = html.slice(html.indexOf('data-readout="program:payments"'), html.indexOf('data-readout="program:discovery"'));
    expect(payments).toContain('forecast P85 2026-11-03, P(on time) 0.42 (off track)');
    expect(payments).toContain('no forecast: 12 done items and 4 weeks of history; a forecast needs 20 and 6');
    expect(payments).not.toContain('P(on time) 0.95');
    // the forecast is told once on a line, not again in its why
    expect(payments.match(/P\(on time\) 0\.42/g)).toHaveLength(1);
    expect(atRisk('program:payments').find((m) => m.item === 'Checkout 2.0')!.why).toBe('slipped 25 days over 1 re-plan');
  });

  it("the report has a Forecasts section per program with each open milestone's P50, P85, P95, confidence and band", () => {
    const payments = forecastPart(html, 'program:payments');
    expect(payments).toContain('from the forecast run of 2026-10-01 00:00 UTC');
    const row = (part: string, id: string): string => {
      const at = part.indexOf(`data-milestone="jira:${id}"`);
      return at < 0 ? '' : part.slice(at, part.indexOf('</tr>', at)).replace(/\s+/g, ' ');
    };
    expect(row(payments, 'version/1')).toMatch(
      /Checkout 2\.0.*checkout.*2026-10-15.*2026-10-20.*2026-11-03.*2026-11-17.*0\.42.*<span class="flag red">off track<\/span>/,
    );
    expect(row(payments, 'version/2')).toContain('no number: 12 done items and 4 weeks of history; a forecast needs 20 and 6');
    // each program lists its own milestones only
    expect(row(payments, 'version/4')).toBe('');
    const discovery = forecastPart(html, 'program:discovery');
    expect(row(discovery, 'version/4')).toMatch(
      /Search GA.*2026-11-20.*2026-11-25.*2026-12-09.*0\.61.*<span class="flag amber">at risk<\/span>/,
    );
    expect(row(discovery, 'version/1')).toBe('');
    // the org and the teams have no such section
    expect(forecastPart(html, 'org:org')).toBe('');
    expect(forecastPart(html, 'team:checkout')).toBe('');
    // nothing of the run made after the month
    expect(html).not.toContain('2026-10-12');
    expect(html).not.toMatch(/>\s*0\.95\s*</);
  });

  it('an export made later or as of an instant inside the month shows the run of that instant, never a later one', async () => {
    const later = await runExport({
      store: hand.store,
      config: hand.settings,
      month: READOUT_MONTH,
      out: tempDir('ptel-forecasts-later-'),
      clock: fixedClock(new Date('2026-12-01T00:00:00Z')),
    });
    expect(readFileSync(path.join(later.dir, 'forecasts.csv'), 'utf8')).toBe(readFileSync(path.join(dir, 'forecasts.csv'), 'utf8'));
    // read as of an instant inside the month (an export --as-of then), the run before it
    const mid = new Date('2026-09-25T00:00:00Z');
    const rows = parseCsv(forecastCsv(READOUT_MONTH, await forecastsAt(hand.store, mid)))
      .slice(1)
      .map((r) => [r[0], r[1], r[5], r[9], r[11]]);
    const first = HAND_FORECAST_RUNS[0]!;
    expect(rows).toEqual(
      ['version/2', 'version/1', 'version/4'].map((id) => {
        const f = first.forecasts.find((x) => x.milestone === id)!;
        return [READOUT_MONTH, first.at, id, f.p85, String(f.confidence)];
      }),
    );
    const [payments] = await readouts({
      store: hand.store,
      month: READOUT_MONTH,
      scopes: [{ kind: 'program', id: 'payments', name: 'Payments' }],
      rows: [],
      config: hand.settings,
      until: mid,
    });
    expect(payments!.milestonesAtRisk.find((m) => m.item === 'Checkout 2.0')!.forecast).toMatchObject({
      runAt: first.at,
      p85: '2026-10-25',
      confidence: 0.55,
      band: 'at risk',
    });
    // before any run: the file has its header only
    expect(forecastCsv(READOUT_MONTH, await forecastsAt(hand.store, new Date('2026-09-10T00:00:00Z')))).toBe(
      `${FORECAST_CSV_COLUMNS.join(',')}\r\n`,
    );
  });
});
