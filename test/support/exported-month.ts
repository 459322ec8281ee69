import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { DemoOrg } from '../../connectors/demo/generator.js';
import { fixedClock } from '../../infra/clock.js';
import { defaultMetricsConfig, defaultModel } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import { runExport, type ExportSettings, type KpiExport } from '../../workers/export/export.js';
import { tempDir, testStore } from './harness.js';
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
