import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { DemoOrg } from '../../connectors/demo/generator.js';
import { fixedClock } from '../../infra/clock.js';
import { defaultMetricsConfig, defaultModel, orgSchema, type OrgConfig } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import type { MilestoneRow } from '../../schemas/domain.js';
import { runExport, type ExportSettings, type KpiExport } from '../../workers/export/export.js';
import { kpiRows, readMonthlyValues } from '../../workers/export/kpis.js';
import { readouts, type Readout } from '../../workers/export/readout.js';
import { describeScopes } from '../../workers/export/report-data.js';
import { tempDir, testStore } from './harness.js';
import { insertTables } from './mapping.js';
import { blocksLinkRow, historyRow, milestoneDateRow, milestoneRow, workItemMaker } from './rows.js';
import { seedDemoStore } from './seeded-demo.js';

/** A scope id with a comma, quotes and a line break, and text that would be markup if not escaped. */
export const HOSTILE_SCOPE = '<img src=x onerror="alert(1)">, "quoted"\nsecond line';
export const HOSTILE_TEXT = `<script>document.title='pwned'</script> & "more"`;
export const MONTH = '2026-09';
export const NOW = new Date('2026-10-01T00:00:00Z');

export interface ExportedMonth {
  store: Store;
  demo: DemoOrg;
  settings: ExportSettings;
  /** The export root; the month's files are in <out>/<MONTH>. */
  out: string;
  csv: string;
  json: KpiExport;
  report: string;
}

/**
 * A demo organisation's store, with hostile text in a stored value, a risk explanation and an incident
 * title, exported for September 2026 as of 1 October.
 */
export async function exportedMonth(): Promise<ExportedMonth> {
  const out = tempDir('ptel-export-');
  const store = await testStore();
  const demo = await seedDemoStore(store, { now: NOW, months: 4, teams: 2, seed: 7 });
  const team = demo.org.programs[0]!.teams[0]!.id;
  // A scope id with a comma, quotes and a line break, written as a stored value would be, in September and August.
  await store.client.insert({
    table: 'metric_values',
    values: ['2026-09-01', '2026-08-01'].map((start, i) => ({
      metric: 'incident_count',
      scope_kind: 'team',
      scope_id: HOSTILE_SCOPE,
      period_kind: 'month',
      period_start: start,
      value: i === 0 ? 3 : 5,
      numerator: i === 0 ? 3 : 5,
      denominator: null,
      sample_size: i === 0 ? 3 : 5,
      unit: 'count',
      definition_version: 1,
      computed_at: '2026-10-01 00:00:00.000',
      version: 1,
    })),
    format: 'JSONEachRow',
  });
  // Text that would be markup if the report did not escape it: a risk explanation and an incident title.
  await store.client.insert({
    table: 'risk_signals',
    values: [
      {
        scope_kind: 'team',
        scope_id: team,
        indicator: 'cycle_time',
        week_start: '2026-09-14',
        observed: 9,
        expected: 3,
        lower: 1,
        upper: 5,
        score: 8.5,
        active: 1,
        method: 'robust_z',
        history_weeks: 12,
        explanation: HOSTILE_TEXT,
        computed_at: '2026-10-01 00:00:00.000',
        // above the computed signal of the same week, which it replaces
        version: Number.MAX_SAFE_INTEGER,
      },
    ],
    format: 'JSONEachRow',
  });
  await store.client.insert({
    table: 'incident_facts',
    values: [
      {
        source: 'pagerduty',
        incident_id: 'PHOSTILE',
        number: '9999',
        title: HOSTILE_TEXT,
        service: '',
        urgency: 'high',
        severity: 'sev1',
        status: 'resolved',
        created_at: '2026-09-10 08:00:00.000',
        acknowledged_at: null,
        resolved_at: '2026-09-10 11:30:00.000',
        team,
        program: demo.org.programs[0]!.id,
        raw_event_id: 'test',
        linked_at: '2026-10-01 00:00:00.000',
        version: 1,
      },
    ],
    format: 'JSONEachRow',
  });
  const settings: ExportSettings = {
    model: defaultModel(),
    metrics: defaultMetricsConfig(),
    org: demo.org,
    export: { enabled: true, cron: '30 5 1 * *' },
    dataDir: out,
    configPath: undefined,
  };
  await runExport({ store, config: settings, month: MONTH, out, clock: fixedClock(NOW) });
  const dir = path.join(out, MONTH);
  return {
    store,
    demo,
    settings,
    out,
    csv: readFileSync(path.join(dir, 'kpis.csv'), 'utf8'),
    json: JSON.parse(readFileSync(path.join(dir, 'kpis.json'), 'utf8')) as KpiExport,
    report: readFileSync(path.join(dir, 'report.html'), 'utf8'),
  };
}

/**
 * A hand-built organisation for the readout, exported for September 2026 (every fact below is chosen so
 * the expected readout can be worked out by hand). Programs: payments (teams checkout and ledger) and
 * discovery (team search). At the end of September (2026-10-01 00:00 UTC) against the end of August:
 *
 * - payments: Ledger GA overdue (committed 09-25); Checkout 2.0 slipped (09-20, re-planned on 09-10 to
 *   10-15); Checkout 1.9 finished on time on 09-05. Risk R-1 high with no owner (given one on 10-03, after
 *   the month); R-2 high, raised 09-15, owned by lee; R-3 medium, mitigated on 09-12. Decision D-1 created
 *   09-01 09:00, past its 5-business-day target; D-2 open within its target; D-3 decided late on 09-03.
 * - discovery: Search GA on plan (11-30); SRC-8 blocks SRC-7 since 09-02, SRC-8 idle since then: a stall
 *   within the program.
 * Monthly values for August and September: change lead time p50 (payments 30 h, then 72 h), incidents,
 * and the milestone on-time rates against the original and the latest plan.
 */
export const READOUT_MONTH = '2026-09';
/** When the hand-built export is made: after R-1 got its owner. */
export const READOUT_NOW = new Date('2026-10-10T00:00:00Z');

const TEAM_PROGRAM: Record<string, string> = { checkout: 'payments', ledger: 'payments', search: 'discovery' };

export const readoutOrg = (): OrgConfig =>
  orgSchema.parse({
    programs: [
      {
        id: 'payments',
        name: 'Payments',
        teams: [
          { id: 'checkout', name: 'Checkout' },
          { id: 'ledger', name: 'Ledger' },
        ],
      },
      { id: 'discovery', name: 'Discovery', teams: [{ id: 'search', name: 'Search' }] },
    ],
  });

const item = workItemMaker({ programOf: TEAM_PROGRAM, createdAt: '2026-08-01T09:00:00.000Z', updatedAt: '2026-09-30T09:00:00.000Z' });
const changed = historyRow;
const version = (id: string, name: string, team: string, extra: Partial<MilestoneRow> = {}): MilestoneRow =>
  milestoneRow(id, name, team, TEAM_PROGRAM[team] ?? '', { start_date: '2026-07-01', ...extra });
const planned = milestoneDateRow;

/** Monthly values of August and September for a scope: [metric, unit, August, September]. */
function monthly(scope_kind: string, scope_id: string, values: Array<[string, string, number, number]>): object[] {
  return values.flatMap(([metric, unit, august, september]) =>
    [
      ['2026-08-01', august],
      ['2026-09-01', september],
    ].map(([period_start, value]) => ({
      metric,
      scope_kind,
      scope_id,
      period_kind: 'month',
      period_start,
      value,
      numerator: unit === 'ratio' ? Number(value) * 4 : value,
      denominator: unit === 'ratio' ? 4 : null,
      sample_size: 4,
      unit,
      definition_version: 1,
      computed_at: '2026-10-01 03:00:00.000',
      version: 1,
    })),
  );
}

/** The hand-built organisation's store (see above), with the settings to export it. */
export interface ReadoutStore {
  store: Store;
  settings: ExportSettings;
  /** The export root; the month's files are in <out>/<READOUT_MONTH>. */
  out: string;
}

export async function readoutStore(): Promise<ReadoutStore> {
  const out = tempDir('ptel-readout-');
  const store = await testStore();
  await insertTables(store, {
    milestones: [
      version('version/1', 'Checkout 2.0', 'checkout', { committed_date: '2026-10-15' }),
      version('version/2', 'Ledger GA', 'ledger', { committed_date: '2026-09-25' }),
      version('version/3', 'Checkout 1.9', 'checkout', {
        state: 'done',
        raw_state: 'released',
        committed_date: '2026-09-05',
        completed_at: '2026-09-05T00:00:00.000Z',
      }),
      version('version/4', 'Search GA', 'search', { committed_date: '2026-11-30' }),
    ],
    milestone_dates: [
      planned('version/1', '2026-08-01T00:00:00.000Z', '2026-09-20'),
      planned('version/1', '2026-09-10T00:00:00.000Z', '2026-10-15'),
      planned('version/2', '2026-08-01T00:00:00.000Z', '2026-09-25'),
      planned('version/3', '2026-08-01T00:00:00.000Z', '2026-09-05'),
      planned('version/4', '2026-08-01T00:00:00.000Z', '2026-11-30'),
    ],
    work_items: [
      item('R-1', 'risk', 'checkout', { severity: 'High', assignee: 'sam', created_at: '2026-08-10T12:00:00.000Z' }),
      item('R-2', 'risk', 'ledger', { severity: 'High', assignee: 'lee', created_at: '2026-09-15T12:00:00.000Z' }),
      item('R-3', 'risk', 'checkout', {
        severity: 'Medium',
        status: 'Mitigated',
        status_category: 'done',
        created_at: '2026-07-01T12:00:00.000Z',
      }),
      item('D-1', 'decision', 'checkout', { created_at: '2026-09-01T09:00:00.000Z' }),
      item('D-2', 'decision', 'ledger', { assignee: 'lee', created_at: '2026-09-29T09:00:00.000Z' }),
      item('D-3', 'decision', 'ledger', {
        status: 'Decided',
        status_category: 'done',
        resolution: 'Option B',
        created_at: '2026-08-25T10:00:00.000Z',
      }),
      item('SRC-8', 'task', 'search', {
        status: 'In Progress',
        status_category: 'in_progress',
        created_at: '2026-08-20T09:00:00.000Z',
        updated_at: '2026-09-02T09:00:00.000Z',
      }),
      item('SRC-7', 'task', 'search', { created_at: '2026-08-20T09:00:00.000Z', updated_at: '2026-08-20T09:00:00.000Z' }),
    ],
    work_item_history: [
      changed('R-1', '2026-10-03T10:00:00.000Z', 'assignee', '', 'sam'),
      changed('R-3', '2026-09-12T10:00:00.000Z', 'status', 'To Do', 'Mitigated'),
      changed('D-3', '2026-09-03T10:00:00.000Z', 'status', 'To Do', 'Decided'),
    ],
    work_item_links: [blocksLinkRow('SRC-8', 'SRC-7', '2026-09-02T12:00:00.000Z')],
    metric_values: [
      ...monthly('org', 'org', [
        ['change_lead_time_p50', 'hours', 30, 60],
        ['incident_count', 'count', 6, 3],
      ]),
      ...monthly('program', 'payments', [
        ['change_lead_time_p50', 'hours', 30, 72],
        ['incident_count', 'count', 4, 2],
        ['milestone_on_time_rate_original', 'ratio', 0.5, 0.5],
        ['milestone_on_time_rate_latest', 'ratio', 0.5, 1],
      ]),
      ...monthly('program', 'discovery', [
        ['change_lead_time_p50', 'hours', 20, 24],
        ['incident_count', 'count', 2, 1],
      ]),
    ],
  });
  const settings: ExportSettings = {
    model: defaultModel(),
    metrics: defaultMetricsConfig(),
    org: readoutOrg(),
    export: { enabled: true, cron: '30 5 1 * *' },
    dataDir: out,
    configPath: undefined,
  };
  return { store, settings, out };
}

/** The hand-built organisation exported for September 2026 as of READOUT_NOW, with its readout pages. */
export interface ExportedReadout extends ReadoutStore {
  /** The month's folder of the export. */
  dir: string;
  /** The month's report.html. */
  html: string;
  /** The readout of each scope of the report (org, then each program), at the end of the month. */
  pages: Readout[];
}

/**
 * Exports the hand-built organisation's September 2026 (see readoutStore) as of READOUT_NOW and reads its
 * readout pages; with `forecasts`, the hand-made forecast runs (HAND_FORECAST_RUNS) are stored first.
 */
export async function exportedReadout(options: { forecasts?: boolean } = {}): Promise<ExportedReadout> {
  const hand = await readoutStore();
  if (options.forecasts) await insertHandForecasts(hand.store);
  const { dir } = await runExport({
    store: hand.store,
    config: hand.settings,
    month: READOUT_MONTH,
    out: hand.out,
    clock: fixedClock(READOUT_NOW),
  });
  const rows = kpiRows(await readMonthlyValues(hand.store, READOUT_MONTH), READOUT_MONTH, [], 2024);
  const pages = await readouts({
    store: hand.store,
    month: READOUT_MONTH,
    scopes: describeScopes(rows, hand.settings.org),
    rows,
    config: hand.settings,
    until: READOUT_NOW,
  });
  return { ...hand, dir, html: readFileSync(path.join(dir, 'report.html'), 'utf8'), pages };
}

/** A stored forecast of the hand-built organisation's milestones, as a forecast run writes it (milestone_forecasts). */
export interface HandForecast {
  milestone: 'version/1' | 'version/2' | 'version/4';
  p50?: string;
  p85?: string;
  p95?: string;
  confidence?: number;
  band?: 'on track' | 'at risk' | 'off track';
  /** What its dates come from (default throughput). */
  method?: 'throughput' | 'cadence';
  /** Why there is no number: set for a forecast without one. */
  reason?: string;
}

const HAND_MILESTONES = {
  'version/1': { name: 'Checkout 2.0', team: 'checkout', committed: '2026-10-15' },
  'version/2': { name: 'Ledger GA', team: 'ledger', committed: '2026-09-25' },
  'version/4': { name: 'Search GA', team: 'search', committed: '2026-11-30' },
} as const;

/**
 * Three forecast runs of the hand-built organisation around the end of September: one inside the month
 * (09-20), one at the month's end instant itself (2026-10-01 00:00 UTC) and one after it (10-05), each with
 * its own numbers so a reader can tell which run an export shows.
 */
export const HAND_FORECAST_RUNS: ReadonlyArray<{ at: string; forecasts: HandForecast[] }> = [
  {
    at: '2026-09-20T06:00:00.000Z',
    forecasts: [
      { milestone: 'version/1', p50: '2026-10-12', p85: '2026-10-25', p95: '2026-11-02', confidence: 0.55, band: 'at risk' },
      { milestone: 'version/2', p50: '2026-10-01', p85: '2026-10-09', p95: '2026-10-16', confidence: 0, band: 'off track' },
      { milestone: 'version/4', p50: '2026-11-02', p85: '2026-11-16', p95: '2026-11-23', confidence: 0.9, band: 'on track' },
    ],
  },
  {
    at: '2026-10-01T00:00:00.000Z',
    forecasts: [
      { milestone: 'version/1', p50: '2026-10-20', p85: '2026-11-03', p95: '2026-11-17', confidence: 0.42, band: 'off track' },
      { milestone: 'version/2', reason: '12 done items and 4 weeks of history; a forecast needs 20 and 6' },
      {
        milestone: 'version/4',
        p50: '2026-11-20',
        p85: '2026-11-25',
        p95: '2026-12-09',
        confidence: 0.61,
        band: 'at risk',
        method: 'cadence',
      },
    ],
  },
  {
    at: '2026-10-05T06:00:00.000Z',
    forecasts: [
      { milestone: 'version/1', p50: '2026-10-08', p85: '2026-10-12', p95: '2026-10-14', confidence: 0.95, band: 'on track' },
      { milestone: 'version/2', p50: '2026-10-09', p85: '2026-10-13', p95: '2026-10-15', confidence: 0, band: 'off track' },
      { milestone: 'version/4', p50: '2026-11-01', p85: '2026-11-08', p95: '2026-11-12', confidence: 0.99, band: 'on track' },
    ],
  },
];

/** Writes forecast runs into milestone_forecasts directly, one row per milestone and run. */
export async function insertHandForecasts(store: Store, runs: typeof HAND_FORECAST_RUNS = HAND_FORECAST_RUNS): Promise<void> {
  const instant = (iso: string): string => iso.replace('T', ' ').replace('Z', '');
  await store.client.insert({
    table: 'milestone_forecasts',
    values: runs.flatMap((run) =>
      run.forecasts.map((f) => {
        const m = HAND_MILESTONES[f.milestone];
        const ok = f.reason === undefined;
        return {
          source: 'jira',
          milestone_id: f.milestone,
          name: m.name,
          program: TEAM_PROGRAM[m.team],
          team: m.team,
          as_of: instant(run.at),
          computed_at: instant(run.at),
          committed: m.committed,
          p50: f.p50 ?? null,
          p85: f.p85 ?? null,
          p95: f.p95 ?? null,
          confidence: f.confidence ?? null,
          band: f.band ?? '',
          method: f.method ?? 'throughput',
          ok: ok ? 1 : 0,
          reason: f.reason ?? '',
          drivers: ok ? [`${m.name}: remaining items at the team's pace`] : [],
          critical_path: [],
          inputs: '{}',
          trials: ok ? 1000 : 0,
          seed: ok ? 1 : 0,
          version: Date.parse(run.at) * 1000,
        };
      }),
    ),
    format: 'JSONEachRow',
  });
}
