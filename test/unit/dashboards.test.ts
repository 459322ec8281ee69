import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { rawEventBusMessage } from '../../connectors/core/publish.js';
import { generateDemoOrg } from '../../connectors/demo/generator.js';
import { defaultMetricsConfig, defaultModel } from '../../infra/config/schema.js';
import { BatchWriter } from '../../infra/store/batch-writer.js';
import type { Store } from '../../infra/store/client.js';
import { buildRawEvent } from '../../schemas/raw-event.js';
import { link } from '../../workers/link/linker.js';
import { writeBenchmarks } from '../../workers/metrics/benchmarks.js';
import { runMetricsJob } from '../../workers/metrics/job.js';
import { createMapperRegistry } from '../../workers/normalize/mappers.js';
import { normalizeBatch } from '../../workers/normalize/normalizer.js';
import { mapContext } from '../../workers/normalize/registry.js';
import { expandMacros, type Variables } from '../support/grafana.js';
import { queryRows, repoRoot, testStore } from '../support/harness.js';

const DIR = path.join(repoRoot, 'dashboards');
const DATASOURCE_UID = 'ptel-clickhouse';

const target = z.object({
  refId: z.string(),
  datasource: z.object({ type: z.literal('grafana-clickhouse-datasource'), uid: z.string() }),
  rawSql: z.string().min(1),
  format: z.number().int(),
});
const panel = z.object({
  id: z.number().int(),
  title: z.string().min(1),
  type: z.string(),
  datasource: z.object({ uid: z.string() }),
  targets: z.array(target).min(1),
});
const variable = z.object({
  name: z.string(),
  type: z.literal('query'),
  datasource: z.object({ uid: z.string() }),
  query: z.object({ rawSql: z.string() }),
  includeAll: z.boolean(),
  allValue: z.literal(''),
});
const dashboard = z.object({
  uid: z.string().min(1),
  title: z.string().min(1),
  panels: z.array(panel).min(1),
  templating: z.object({ list: z.array(variable) }),
});

const files = readdirSync(path.join(DIR, 'json')).filter((f) => f.endsWith('.json'));
const dashboards = files.map((f) => ({ file: f, json: dashboard.parse(JSON.parse(readFileSync(path.join(DIR, 'json', f), 'utf8'))) }));

describe('dashboard provisioning', () => {
  it('provisions the data source with the uid every dashboard names, and loads the dashboards folder', () => {
    const ds = parse(readFileSync(path.join(DIR, 'provisioning/datasources/clickhouse.yaml'), 'utf8')) as {
      datasources: Array<{ uid: string; type: string; jsonData: { protocol: string; defaultDatabase: string } }>;
    };
    expect(ds.datasources).toHaveLength(1);
    expect(ds.datasources[0]).toMatchObject({
      uid: DATASOURCE_UID,
      type: 'grafana-clickhouse-datasource',
      jsonData: { protocol: 'http', defaultDatabase: 'ptel' },
    });
    const providers = parse(readFileSync(path.join(DIR, 'provisioning/dashboards/ptel.yaml'), 'utf8')) as {
      providers: Array<{ options: { path: string } }>;
    };
    // docker-compose.yml mounts dashboards/json there
    expect(providers.providers[0]!.options.path).toBe('/var/lib/grafana/dashboards');
    expect(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')).toContain('./dashboards/json:/var/lib/grafana/dashboards:ro');
  });

  it.each(dashboards)('$file: unique ids, the data source by uid, program/team/service variables', ({ json }) => {
    expect(new Set(dashboards.map((d) => d.json.uid)).size).toBe(dashboards.length);
    const ids = json.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of json.panels) {
      expect(p.datasource.uid).toBe(DATASOURCE_UID);
      for (const t of p.targets) expect(t.datasource.uid).toBe(DATASOURCE_UID);
    }
    expect(json.templating.list.map((v) => v.name)).toEqual(['program', 'team', 'service']);
    for (const v of json.templating.list) expect(v.datasource.uid).toBe(DATASOURCE_UID);
  });
});

/**
 * Every panel query of every dashboard, with the data source's macros and the dashboard's variables
 * expanded, run against a store filled by the demo organisation through the normalizer, the linker and the
 * metrics: it must run, return rows, and give the columns its panel needs.
 */
describe('every panel query against a seeded store', () => {
  let store: Store;
  const now = new Date('2026-10-01T00:00:00Z');
  const range = { from: new Date(now.getTime() - 90 * 86_400_000), to: now, intervalSeconds: 86_400 };
  let values: Variables[];

  beforeAll(async () => {
    store = await testStore();
    const demo = generateDemoOrg({ seed: 11, now, months: 3, teams: 2 });
    const context = mapContext({ org: demo.org, jiraFields: demo.jiraFields });
    const writer = new BatchWriter(store, { flushRows: 10_000, flushIntervalMs: 100 });
    const events = demo.records.map((r) => buildRawEvent(r, 'demo', new Date(Date.parse(r.time) + 60_000)));
    const messages = events.map((e, i) => rawEventBusMessage(e, i));
    // one message no mapper accepts, so the dead-letter panels have a row
    messages.push({
      topic: 'raw.github',
      partition: 0,
      offset: String(messages.length),
      key: Buffer.from('k'),
      value: Buffer.from('not json'),
      headers: {},
      timestamp: 0,
    });
    const r = normalizeBatch(messages, createMapperRegistry(), context, { keepRaw: true, failedAt: '2026-09-30T12:00:00.000Z' });
    await writer.write([...r.tables].map(([table, rows]) => ({ table, rows })));
    await writer.close();
    await store.client.insert({
      table: 'sync_runs',
      values: [
        {
          source: 'github',
          stream: 'pull_requests',
          scope: 'acme/api',
          started_at: '2026-09-30T10:00:00Z',
          finished_at: '2026-09-30T10:01:00Z',
          status: 'ok',
          records: 10,
          requests: 3,
          backfill: 0,
          error: '',
        },
        {
          source: 'jira',
          stream: 'issues',
          scope: 'CHK',
          started_at: '2026-09-30T11:00:00Z',
          finished_at: '2026-09-30T11:00:05Z',
          status: 'failed',
          records: 0,
          requests: 1,
          backfill: 0,
          error: '401 Unauthorized',
        },
      ],
      format: 'JSONEachRow',
    });
    await link({ store, model: defaultModel() });
    await writeBenchmarks(store);
    await runMetricsJob({
      store,
      config: { model: defaultModel(), metrics: defaultMetricsConfig(), org: demo.org },
      run: { mode: 'range', from: '2026-07-01', to: '2026-10-01' },
      now,
    });
    await store.client.insert({
      table: 'metric_runs',
      // the job's own run is stamped with the wall clock, outside the dashboards' range here
      values: [
        {
          job: 'metrics-recent',
          started_at: '2026-09-30T12:00:00Z',
          finished_at: '2026-09-30T12:00:01Z',
          period_from: '2026-09-29',
          period_to: '2026-10-01',
          metrics: 0,
          rows_written: 0,
          status: 'failed',
          error: 'table metric_values is gone',
        },
        {
          job: 'metrics-recent',
          started_at: '2026-09-30T12:10:00Z',
          finished_at: '2026-09-30T12:10:04Z',
          period_from: '2026-09-29',
          period_to: '2026-10-01',
          metrics: 50,
          rows_written: 900,
          status: 'ok',
          error: '',
        },
      ],
      format: 'JSONEachRow',
    });
    const team = demo.org.programs[0]!.teams[0]!;
    values = [
      { program: '', team: '', service: '' },
      { program: demo.org.programs[0]!.id, team: team.id, service: team.services[0]!.name },
    ];
  }, 120_000);
  afterAll(() => store.close());

  const cases = dashboards.flatMap(({ file, json }) => json.panels.flatMap((p) => p.targets.map((t) => ({ file, panel: p, target: t }))));

  it.each(cases)('$file: $panel.title', async ({ panel: p, target: t }) => {
    for (const vars of values) {
      const rows = await queryRows<Record<string, unknown>>(store, expandMacros(t.rawSql, range, vars));
      if (vars['program'] === '') expect(rows.length, `${p.title} with every variable at All`).toBeGreaterThan(0);
      if (rows.length === 0) continue;
      const columns = Object.keys(rows[0]!);
      // 64-bit integers arrive quoted (as the server sends them); Grafana reads both as numbers
      const numeric = (v: unknown): boolean => typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(v));
      if (t.format === 0) {
        // a time series needs its time column and at least one numeric field
        expect(columns).toContain('time');
        expect(columns.some((c) => c !== 'time' && numeric(rows[0]![c]))).toBe(true);
      }
      if (p.type === 'stat' || p.type === 'gauge') expect(columns.some((c) => numeric(rows[0]![c]))).toBe(true);
    }
  });

  it('places the last complete month in a DORA tier', async () => {
    const tiers = dashboards.find((d) => d.json.uid === 'ptel-delivery')!.json.panels.find((p) => p.title.startsWith('DORA tiers'))!;
    // The range ends on 2026-10-01, but "last complete month" is relative to today: give the engine the seeded month.
    const sql = expandMacros(tiers.targets[0]!.rawSql, range, values[0]).replace('toStartOfMonth(today())', "toDate('2026-10-01')");
    const rows = await queryRows<{ metric: string; tier: string }>(store, sql);
    expect(rows.map((r) => r.metric)).toEqual([
      'change_failure_rate',
      'change_lead_time_p50',
      'deployment_frequency',
      'failed_deployment_recovery_time_p50',
    ]);
    expect(rows.filter((r) => ['elite', 'high', 'medium', 'low'].includes(r.tier)).length).toBeGreaterThanOrEqual(3);
  });

  it('resolves every variable from the store', async () => {
    for (const { json } of dashboards) {
      for (const v of json.templating.list) {
        const rows = await queryRows<{ scope_id: string }>(store, v.query.rawSql);
        expect(rows.length, `${json.title}: $${v.name}`).toBeGreaterThan(0);
      }
    }
  });
});
