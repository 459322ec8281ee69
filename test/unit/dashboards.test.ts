import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import type { Store } from '../../infra/store/client.js';
import { defaultMetricsConfig, defaultModel } from '../../infra/config/schema.js';
import type { StatusCategory, WorkItemRow } from '../../schemas/domain.js';
import { metricParams } from '../../workers/metrics/engine.js';
import { readForecasts, runForecasts, type StoredForecast } from '../../workers/forecast/job.js';
import { FORECAST_CONFIDENCE_TARGET, grafanaThresholds, TARGETS } from '../../workers/metrics/targets.js';
import { writeRegisterSnapshot } from '../../workers/registers/snapshot.js';
import { programConfidence } from '../../workers/forecast/confidence.js';
import { readRegister, registerById } from '../../workers/registers/index.js';
import { milestoneRegister } from '../../workers/registers/milestones.js';
import { yes, type RegisterRow } from '../../workers/registers/types.js';
import {
  expandMacros,
  expandVariables,
  fieldProperty,
  linkedDashboard,
  panelLinks,
  type FieldConfig,
  type Variables,
} from '../support/grafana.js';
import { queryRows, repoRoot, testStore } from '../support/harness.js';
import { blocksLinkRow, workItemRow } from '../support/rows.js';
import { seedDemoStore } from '../support/seeded-demo.js';
import { statusScenario, type StatusScenario } from '../support/status-report.js';

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
  transformations: z.array(z.object({ id: z.string(), options: z.record(z.string(), z.unknown()) })).optional(),
  fieldConfig: z.object({
    defaults: z.record(z.string(), z.unknown()),
    overrides: z.array(
      z.object({
        matcher: z.object({ id: z.string(), options: z.unknown() }),
        properties: z.array(z.object({ id: z.string(), value: z.unknown() })),
      }),
    ),
  }),
  options: z.record(z.string(), z.unknown()).optional(),
});
const variable = z.object({
  name: z.string(),
  type: z.literal('query'),
  datasource: z.object({ uid: z.string() }),
  query: z.object({ rawSql: z.string() }),
  includeAll: z.boolean(),
  allValue: z.literal(''),
});
const dashboardLink = z.object({
  type: z.string(),
  tags: z.array(z.string()).optional(),
  includeVars: z.boolean().optional(),
  keepTime: z.boolean().optional(),
});
const dashboard = z.object({
  uid: z.string().min(1),
  title: z.string().min(1),
  tags: z.array(z.string()),
  links: z.array(dashboardLink).default([]),
  panels: z.array(panel).min(1),
  templating: z.object({ list: z.array(variable) }),
});

const files = readdirSync(path.join(DIR, 'json')).filter((f) => f.endsWith('.json'));
const dashboards = files.map((f) => ({ file: f, json: dashboard.parse(JSON.parse(readFileSync(path.join(DIR, 'json', f), 'utf8'))) }));

/** A Grafana-managed alert rule as file provisioning reads it: one ClickHouse query, then server-side expressions. */
const ruleQuery = z.object({
  refId: z.string(),
  relativeTimeRange: z.object({ from: z.number().int().positive(), to: z.number().int().nonnegative() }),
  datasourceUid: z.literal(DATASOURCE_UID),
  model: z.object({
    refId: z.string(),
    datasource: z.object({ type: z.literal('grafana-clickhouse-datasource'), uid: z.literal(DATASOURCE_UID) }),
    editorType: z.literal('sql'),
    // a table: Grafana makes one alert instance of each row, its string columns the labels
    format: z.literal(1),
    rawSql: z.string().min(1),
  }),
});
const ruleExpression = z.object({
  refId: z.string(),
  datasourceUid: z.literal('__expr__'),
  model: z.object({
    refId: z.string(),
    type: z.enum(['reduce', 'threshold', 'math']),
    expression: z.string(),
    conditions: z.array(z.object({ evaluator: z.object({ type: z.string(), params: z.array(z.number()) }) })).optional(),
  }),
});
const alertRule = z.object({
  uid: z.string().min(1),
  title: z.string().min(1),
  condition: z.string(),
  data: z.tuple([ruleQuery], ruleExpression),
  dashboardUid: z.string(),
  panelId: z.number().int(),
  noDataState: z.literal('OK'),
  execErrState: z.literal('Error'),
  for: z.string().regex(/^\d+[smh]$/),
  annotations: z.object({ summary: z.string().min(1), description: z.string().min(1) }),
  labels: z.record(z.string(), z.string()),
});
const alertRules = z.object({
  apiVersion: z.literal(1),
  groups: z
    .array(z.object({ orgId: z.number(), name: z.string(), folder: z.string(), interval: z.string(), rules: z.array(alertRule).min(1) }))
    .min(1),
});
const ALERTS_FILE = path.join(DIR, 'provisioning/alerting/stall-alerts.yaml');
const rules = alertRules.parse(parse(readFileSync(ALERTS_FILE, 'utf8'))).groups.flatMap((g) => g.rules);

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

  it('provisions alert rules with unique uids on the data source, each expression chain ending in its condition', () => {
    expect(rules.length).toBeGreaterThanOrEqual(3);
    expect(new Set(rules.map((r) => r.uid)).size).toBe(rules.length);
    for (const r of rules) {
      const refs = r.data.map((d) => d.refId);
      expect(new Set(refs).size, r.title).toBe(refs.length);
      expect(refs, r.title).toContain(r.condition);
      for (const d of r.data) expect(d.model.refId, r.title).toBe(d.refId);
      // each expression reads the query or an expression defined before it
      const [, ...expressions] = r.data;
      for (const [i, e] of expressions.entries()) expect(refs.slice(0, i + 1), r.title).toContain(e.model.expression);
      const target = dashboards.find((d) => d.json.uid === r.dashboardUid);
      expect(
        target?.json.panels.map((p) => p.id),
        r.title,
      ).toContain(r.panelId);
    }
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

  it.each(dashboards)('$file: links to every other dashboard, keeping the time range and the variables', ({ json }) => {
    const links = json.links.filter(
      (l) => l.type === 'dashboards' && l.includeVars === true && l.keepTime === true && (l.tags ?? []).length > 0,
    );
    // Grafana lists the dashboards that carry every tag of the link
    const reached = dashboards.filter((d) => d.json.uid !== json.uid && links.some((l) => l.tags!.every((t) => d.json.tags.includes(t))));
    expect(reached.map((d) => d.json.uid).sort()).toEqual(
      dashboards
        .filter((d) => d.json.uid !== json.uid)
        .map((d) => d.json.uid)
        .sort(),
    );
  });

  it.each(dashboards)('$file: every panel states its unit', ({ json }) => {
    for (const p of json.panels) expect(p.fieldConfig.defaults['unit'], p.title).toMatch(/^\S+$/);
  });

  it.each(dashboards)('$file: the pickers show names; Team is narrowed by Program, Service by both', ({ json }) => {
    const [program, team, service] = json.templating.list.map((v) => v.query.rawSql);
    // the ClickHouse data source takes the first column as the value and the second as the text shown
    for (const sql of [program, team, service]) expect(sql).toMatch(/^SELECT id AS __value, name AS __text FROM org_scopes FINAL /);
    expect(program).not.toContain('$');
    expect(team).toContain("program = '${program}'");
    expect(service).toContain("program = '${program}'");
    expect(service).toContain("team = '${team}'");
  });

  it.each(dashboards)("$file: stat panels of a targeted metric carry the target's thresholds and show their colour", ({ json }) => {
    for (const p of json.panels.filter((x) => x.type === 'stat')) {
      const sql = p.targets.map((t) => t.rawSql).join('\n');
      const shown = TARGETS.filter((t) => t.computed && sql.includes(`'${t.metric}'`));
      for (const t of shown) {
        // the column is named after the metric, so the thresholds are found by it
        expect(sql, `${p.title}: a column named ${t.metric}`).toMatch(new RegExp(`AS ${t.metric}\\b`));
        expect(fieldProperty(p.fieldConfig as FieldConfig, t.metric, 'thresholds'), `${p.title}: ${t.metric}`).toEqual(
          grafanaThresholds(t),
        );
      }
      if (shown.length > 0) expect(p.options?.['colorMode'], p.title).not.toBe('none');
    }
  });

  it('shows every computed target on a stat panel', () => {
    const stats = dashboards.flatMap((d) => d.json.panels.filter((p) => p.type === 'stat'));
    for (const t of TARGETS.filter((x) => x.computed)) {
      expect(
        stats.some(
          (p) =>
            fieldProperty(p.fieldConfig as FieldConfig, t.metric, 'thresholds') !== undefined &&
            p.targets[0]!.rawSql.includes(`AS ${t.metric}`),
        ),
        t.metric,
      ).toBe(true);
    }
  });
});

/**
 * Blocking links and dependency-stall alerts beside the demo organisation's own (it has open blocking
 * links, all across its two teams): a same-team link with no creation time (aged from when both items
 * existed), one whose blocker is done and one removed later (neither is open), and stall alerts as the
 * detector writes them, a new version per change: a cross-team alert notified then renotified, one
 * still undelivered after hours of failures, one resolved, and another open one of the other program.
 */
/** One episode of a stalled blocking link, keyed and described as stall_alerts keeps it. */
const episode = (blocker: string, blocked: string, teams: [string, string], program: string, opened_at: string) => ({
  link_key: `jira:${blocker}>${blocked}`,
  opened_at,
  blocker,
  blocked,
  blocker_team: teams[0],
  blocked_team: teams[1],
  program,
  cross_team: teams[0] === teams[1] ? 0 : 1,
});
const STALLS = {
  crossTeam: episode('CHK-724', 'PAY-584', ['checkout', 'payments'], 'checkout-modernization', '2026-09-20T09:00:00Z'),
  undelivered: episode('PAY-9001', 'PAY-9002', ['payments', 'payments'], 'checkout-modernization', '2026-09-30T20:00:00Z'),
  resolved: episode('PAY-599', 'CHK-736', ['payments', 'checkout'], 'platform-reliability', '2026-09-10T09:00:00Z'),
  otherProgram: episode('PAY-611', 'CHK-751', ['payments', 'checkout'], 'platform-reliability', '2026-09-24T09:00:00Z'),
};

/** Keeps every version an insert writes (the engine would otherwise collapse them in the block), so only FINAL reads the latest. */
const KEEP_VERSIONS = { optimize_on_insert: 0 } as const;

async function seedDependencies(store: Store): Promise<void> {
  const item = (key: string, status: string, status_category: StatusCategory, created: string, updated = created): WorkItemRow =>
    workItemRow({
      item_id: `id-${key}`,
      key,
      project: 'PAY',
      type: 'Task',
      kind: 'task',
      status,
      status_category,
      priority: 'Medium',
      priority_rank: 3,
      created_at: created,
      updated_at: updated,
      summary: '',
      team: 'payments',
      program: 'checkout-modernization',
      raw_event_id: 'test',
      version: 1,
    });
  await store.client.insert({
    table: 'work_items',
    values: [
      item('PAY-9001', 'To Do', 'todo', '2026-09-01T09:00:00Z'),
      item('PAY-9002', 'In Progress', 'in_progress', '2026-09-10T09:00:00Z'),
      item('PAY-9003', 'Done', 'done', '2026-08-01T09:00:00Z', '2026-08-20T09:00:00Z'),
      item('PAY-9004', 'To Do', 'todo', '2026-09-02T09:00:00Z'),
    ],
    format: 'JSONEachRow',
  });
  await store.client.insert({
    table: 'work_item_links',
    values: [
      blocksLinkRow('PAY-9001', 'PAY-9002', null),
      blocksLinkRow('PAY-9003', 'PAY-9002', '2026-09-11T09:00:00Z'),
      blocksLinkRow('PAY-9001', 'PAY-9004', '2026-09-12T09:00:00Z'),
      blocksLinkRow('PAY-9001', 'PAY-9004', '2026-09-12T09:00:00Z', { version: 2, is_deleted: 1 }),
    ],
    format: 'JSONEachRow',
    clickhouse_settings: KEEP_VERSIONS,
  });
  const idle = (days: number): string => `idle ${days} business days since 2026-09-10 12:00:00.000 (threshold 5 for priority 'Medium')`;
  const alert = (fields: Record<string, unknown>) => ({
    source: 'jira',
    threshold_days: 5,
    blocker_last_activity: '2026-09-10T12:00:00Z',
    notified_at: null,
    last_notified_at: null,
    notifications: 0,
    resolved_at: null,
    resolution: '',
    ...fields,
  });
  const told = (first: string, last: string, notifications: number) => ({ notified_at: first, last_notified_at: last, notifications });
  await store.client.insert({
    table: 'stall_alerts',
    values: [
      alert({ ...STALLS.crossTeam, status: 'opened', days_stalled: 7, reason: idle(7), last_seen_at: '2026-09-20T09:00:00Z', version: 1 }),
      alert({
        ...STALLS.crossTeam,
        ...told('2026-09-20T09:05:00Z', '2026-09-20T09:05:00Z', 1),
        status: 'notified',
        days_stalled: 8,
        reason: idle(8),
        last_seen_at: '2026-09-21T09:00:00Z',
        version: 2,
      }),
      alert({
        ...STALLS.crossTeam,
        ...told('2026-09-20T09:05:00Z', '2026-09-27T09:05:00Z', 2),
        status: 'renotified',
        days_stalled: 12,
        reason: idle(12),
        last_seen_at: '2026-09-30T23:00:00Z',
        version: 3,
      }),
      alert({
        ...STALLS.undelivered,
        status: 'opened',
        days_stalled: 0,
        blocker_last_activity: '2026-09-01T09:00:00Z',
        reason: 'blocker due 2026-10-20 after blocked item due 2026-10-10',
        last_seen_at: '2026-09-30T23:00:00Z',
        version: 1,
      }),
      alert({
        ...STALLS.resolved,
        ...told('2026-09-10T09:05:00Z', '2026-09-10T09:05:00Z', 1),
        status: 'notified',
        days_stalled: 6,
        reason: idle(6),
        last_seen_at: '2026-09-20T09:00:00Z',
        version: 1,
      }),
      alert({
        ...STALLS.resolved,
        ...told('2026-09-10T09:05:00Z', '2026-09-25T09:05:00Z', 2),
        status: 'resolved',
        days_stalled: 6,
        reason: idle(6),
        last_seen_at: '2026-09-24T09:00:00Z',
        resolved_at: '2026-09-25T09:00:00Z',
        resolution: 'blocker done',
        version: 2,
      }),
      alert({
        ...STALLS.otherProgram,
        ...told('2026-09-24T09:05:00Z', '2026-09-24T09:05:00Z', 1),
        status: 'notified',
        days_stalled: 5,
        reason: idle(5),
        last_seen_at: '2026-09-30T23:00:00Z',
        version: 1,
      }),
    ],
    format: 'JSONEachRow',
    clickhouse_settings: KEEP_VERSIONS,
  });
  const delivery = (
    a: { link_key: string; opened_at: string },
    channel: string,
    sent_at: string,
    fields: Record<string, unknown> = {},
  ) => ({
    link_key: a.link_key,
    opened_at: a.opened_at,
    channel,
    channel_type: channel === 'ops-webhook' ? 'webhook' : 'slack',
    kind: 'opened',
    delivery_id: `${a.link_key}@${a.opened_at}/${channel}`,
    sent_at,
    status: 'sent',
    http_status: 200,
    error: '',
    ...fields,
  });
  const notFound = { status: 'failed', http_status: 404, error: 'channel_not_found' };
  await store.client.insert({
    table: 'alert_notifications',
    values: [
      delivery(STALLS.crossTeam, 'tpm-slack', '2026-09-20T09:05:00Z'),
      delivery(STALLS.crossTeam, 'ops-webhook', '2026-09-20T09:05:00Z', {
        status: 'failed',
        http_status: 502,
        error: 'HTTP 502 Bad Gateway',
      }),
      delivery(STALLS.crossTeam, 'ops-webhook', '2026-09-20T09:10:00Z'),
      delivery(STALLS.crossTeam, 'tpm-slack', '2026-09-27T09:05:00Z', { kind: 'renotified' }),
      delivery(STALLS.undelivered, 'tpm-slack', '2026-09-30T20:05:00Z', notFound),
      delivery(STALLS.undelivered, 'tpm-slack', '2026-09-30T21:05:00Z', notFound),
      delivery(STALLS.resolved, 'tpm-slack', '2026-09-10T09:05:00Z'),
      delivery(STALLS.resolved, 'tpm-slack', '2026-09-25T09:05:00Z', { kind: 'resolved' }),
      delivery(STALLS.otherProgram, 'tpm-slack', '2026-09-24T09:05:00Z'),
    ],
    format: 'JSONEachRow',
  });
}

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
  let org: Awaited<ReturnType<typeof seedDemoStore>>['org'];
  const FORECAST_RUNS = [new Date('2026-09-01T06:00:00Z'), new Date('2026-09-15T06:00:00Z'), now];
  const forecastRuns: StoredForecast[][] = [];

  beforeAll(async () => {
    store = await testStore();
    const demo = await seedDemoStore(store, {
      now,
      months: 3,
      teams: 2,
      seed: 11,
      // one message no mapper accepts, so the dead-letter panels have a row
      extraMessages: [
        {
          topic: 'raw.github',
          partition: 0,
          offset: '0',
          key: Buffer.from('k'),
          value: Buffer.from('not json'),
          headers: {},
          timestamp: 0,
        },
      ],
      failedAt: '2026-09-30T12:00:00.000Z',
    });
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
    await seedDependencies(store);
    // the registers as the application writes them for the dashboards, taken at the same instant
    await writeRegisterSnapshot(store, {
      params: metricParams({ model: defaultModel(), metrics: defaultMetricsConfig() }),
      now,
      recentDays: 14,
    });
    // three forecast runs over the range, the last at its end, as the application's schedule writes them
    for (const at of FORECAST_RUNS)
      forecastRuns.push(await runForecasts(store, { model: defaultModel(), metrics: defaultMetricsConfig() }, at));
    org = demo.org;
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
    // The range ends on 2026-10-01: September is its last complete month.
    const sql = expandMacros(tiers.targets[0]!.rawSql, range, values[0]);
    const rows = await queryRows<{ metric: string; tier: string }>(store, sql);
    expect(rows.map((r) => r.metric)).toEqual([
      'change_failure_rate',
      'change_lead_time_p50',
      'deployments_per_week',
      'failed_deployment_recovery_time_p50',
    ]);
    expect(rows.filter((r) => ['elite', 'high', 'medium', 'low'].includes(r.tier)).length).toBeGreaterThanOrEqual(3);
  });

  it('lists the open stall alerts in their latest version, without the resolved one', async () => {
    for (const [uid, title] of [
      ['ptel-program-health', 'Open dependency stalls'],
      ['ptel-dependencies', 'Open stall alerts'],
    ] as const) {
      const p = dashboards.find((d) => d.json.uid === uid)!.json.panels.find((x) => x.title === title)!;
      const rows = await queryRows<{ blocker: string; blocked: string; status: string; days_stalled: number; notifications: number }>(
        store,
        expandMacros(p.targets[0]!.rawSql, range, values[0]),
      );
      expect(rows.map((r) => `${r.blocker}>${r.blocked}`).sort(), title).toEqual([
        'CHK-724>PAY-584',
        'PAY-611>CHK-751',
        'PAY-9001>PAY-9002',
      ]);
      // three versions of this alert were written: the last one shows, once
      expect(
        rows.find((r) => r.blocker === STALLS.crossTeam.blocker),
        title,
      ).toMatchObject({ status: 'renotified', days_stalled: 12, notifications: 2 });
      // the program is the blocked item's, the team either side's
      const scoped = await queryRows<{ blocker: string }>(
        store,
        expandMacros(p.targets[0]!.rawSql, range, { program: 'platform-reliability', team: 'payments', service: 'checkout-web' }),
      );
      expect(
        scoped.map((r) => r.blocker),
        title,
      ).toEqual(['PAY-611']);
    }
  });

  it('ages an open blocking link from its creation, or from when both items existed, oldest first', async () => {
    const p = dashboards
      .find((d) => d.json.uid === 'ptel-dependencies')!
      .json.panels.find((x) => x.title === 'Open blocking links, oldest first')!;
    const rows = await queryRows<{ blocker: string; blocked: string; since: string; age_days: number; cross_team: string }>(
      store,
      expandMacros(p.targets[0]!.rawSql, range, values[0]),
    );
    expect(rows.map((r) => r.age_days)).toEqual(rows.map((r) => r.age_days).sort((a, b) => b - a));
    // no creation time: the blocked item, created 2026-09-10 09:00, is the later of the two
    expect(rows.find((r) => r.blocker === 'PAY-9001')).toEqual(
      expect.objectContaining({ blocked: 'PAY-9002', since: '2026-09-10 09:00:00.000', age_days: 20.6, cross_team: 'no' }),
    );
    // a done blocker and a removed link are not open
    expect(rows.filter((r) => r.blocker === 'PAY-9003' || r.blocked === 'PAY-9004')).toEqual([]);
  });

  it('counts the open blocking links of each blocker team and blocked team as the links table does', async () => {
    const matrix = dashboards
      .find((d) => d.json.uid === 'ptel-dependencies')!
      .json.panels.find((p) => p.title === 'Blocker team x blocked team')!;
    const shown = await queryRows<{ blocker_team: string; blocked_team: string; links: string }>(
      store,
      expandMacros(matrix.targets[0]!.rawSql, range, values[0]),
    );
    // the latest version of each link and item, read without FINAL; open: neither item done now
    const direct = await queryRows<{ blocker_team: string; blocked_team: string; links: string }>(
      store,
      `WITH items AS (SELECT source, item_id, argMax(team, version) AS team, argMax(status_category, version) AS category, argMax(is_deleted, version) AS deleted
                      FROM work_items GROUP BY source, item_id)
       SELECT b.team AS blocker_team, d.team AS blocked_team, count() AS links
       FROM (SELECT source, argMax(from_item_id, version) AS from_id, argMax(to_item_id, version) AS to_id, argMax(is_deleted, version) AS deleted
             FROM work_item_links WHERE link_type = 'blocks' GROUP BY source, from_key, to_key) AS l
       INNER JOIN items AS b ON b.source = l.source AND b.item_id = l.from_id
       INNER JOIN items AS d ON d.source = l.source AND d.item_id = l.to_id
       WHERE l.deleted = 0 AND b.deleted = 0 AND d.deleted = 0 AND b.category != 'done' AND d.category != 'done'
       GROUP BY blocker_team, blocked_team`,
    );
    const counts = (rows: typeof shown): Record<string, number> =>
      Object.fromEntries(rows.filter((r) => Number(r.links) > 0).map((r) => [`${r.blocker_team}>${r.blocked_team}`, Number(r.links)]));
    expect(counts(shown)).toEqual(counts(direct));
    // the demo's own links cross its two teams; of the three added within payments only one is open
    expect(counts(shown)).toMatchObject({ 'checkout>payments': 2, 'payments>checkout': 2, 'payments>payments': 1 });
    // every cell of the matrix is a row, empty ones with 0
    const teams = new Set(shown.map((r) => r.blocker_team));
    expect(shown).toHaveLength(teams.size * new Set(shown.map((r) => r.blocked_team)).size);
    expect(matrix.transformations?.[0]).toMatchObject({
      id: 'groupingToMatrix',
      options: { rowField: 'blocker_team', columnField: 'blocked_team', valueField: 'links' },
    });
  });

  /** A rule's query as the data source runs it at `now`, over the rule's relative time range. */
  async function ruleResult(rule: (typeof rules)[number]): Promise<{ names: string[]; types: string[]; rows: unknown[][] }> {
    const [query] = rule.data;
    const window = {
      from: new Date(now.getTime() - query.relativeTimeRange.from * 1000),
      to: new Date(now.getTime() - query.relativeTimeRange.to * 1000),
    };
    const rs = await store.client.query({
      query: expandMacros(query.model.rawSql, { ...window, intervalSeconds: 60 }),
      format: 'JSONCompactEachRowWithNamesAndTypes',
    });
    const [names, types, ...rows] = await rs.json<unknown[]>();
    return { names: names as string[], types: types as string[], rows };
  }

  it.each(rules)('alert rule $uid: one instance per row, labelled by its string columns, valued by its one number', async (rule) => {
    const { names, types, rows } = await ruleResult(rule);
    expect(rows.length).toBeGreaterThan(0);
    // Grafana reads a table as alert instances only with exactly one numeric column and every other one a string
    const numeric = types.map((t) => /^(Nullable\()?(U?Int\d+|Float\d+|Decimal)/.test(t));
    expect(numeric.filter(Boolean)).toHaveLength(1);
    for (const [i, t] of types.entries()) if (!numeric[i]) expect(t, names[i]).toBe('String');
    const labels = names.filter((_, i) => !numeric[i]);
    expect(labels).toEqual(expect.arrayContaining(['team', 'program']));
    expect(new Set(rows.map((r) => JSON.stringify(r.filter((_, i) => !numeric[i])))).size).toBe(rows.length);
    // the annotations name only labels the query gives
    for (const text of Object.values(rule.annotations)) {
      for (const [, label] of text.matchAll(/\$labels\.(\w+)/g)) expect(labels, text).toContain(label);
    }
    // what the reduce and threshold expressions make of the rows: at least one instance fires here
    const [, ...expressions] = rule.data;
    const { type, params } = expressions.find((e) => e.model.type === 'threshold')!.model.conditions![0]!.evaluator;
    expect(type).toBe('gt');
    const value = numeric.indexOf(true);
    expect(rows.some((r) => Number(r[value]) > params[0]!)).toBe(true);
  });

  it('alert rules: each open cross-team stall, each team waiting on stalls, and the alert no channel delivered', async () => {
    const instances = async (uid: string): Promise<Array<Record<string, unknown>>> => {
      const { names, rows } = await ruleResult(rules.find((r) => r.uid === uid)!);
      return rows.map((r) => Object.fromEntries(names.map((n, i) => [n, r[i]])));
    };
    const crossTeam = await instances('ptel-stall-cross-team');
    expect(crossTeam.map((r) => r['link'])).toEqual([STALLS.crossTeam.link_key, STALLS.otherProgram.link_key]);
    expect(crossTeam[0]).toMatchObject({
      blocker: 'CHK-724',
      blocked: 'PAY-584',
      blocker_team: 'checkout',
      team: 'payments',
      program: 'checkout-modernization',
      days_stalled: 12,
      // the labels keep still while the idle days grow
      blocker_last_activity: '2026-09-10',
    });
    const teams = await instances('ptel-stall-team');
    expect(teams.map((r) => [r['team'], r['program'], Number(r['open_stalls'])])).toEqual([
      ['checkout', 'platform-reliability', 1],
      ['payments', 'checkout-modernization', 2],
    ]);
    const undelivered = await instances('ptel-stall-undelivered');
    // the cross-team alert's first version was 'opened' too, but it has been told since
    expect(undelivered).toEqual([expect.objectContaining({ link: STALLS.undelivered.link_key, team: 'payments', hours_undelivered: 4 })]);
  });

  it('resolves every variable from the store: ids as values, configured names as text, teams of the chosen program', async () => {
    type Option = { __value: string; __text: string };
    const options = async (sql: string, vars: Variables): Promise<Option[]> => queryRows<Option>(store, expandVariables(sql, vars));
    const all = { program: '', team: '', service: '' };
    for (const { json } of dashboards) {
      const [program, team, service] = json.templating.list.map((v) => v.query.rawSql) as [string, string, string];
      expect(await options(program, all), json.title).toEqual(
        org.programs.map((p) => ({ __value: p.id, __text: p.name })).sort((a, b) => a.__text.localeCompare(b.__text)),
      );
      expect((await options(team, all)).map((o) => o.__value).sort(), json.title).toEqual(
        org.programs.flatMap((p) => p.teams.map((t) => t.id)).sort(),
      );
      for (const p of org.programs) {
        const teams = await options(team, { ...all, program: p.id });
        expect(teams, `${json.title}: teams of ${p.id}`).toEqual(
          p.teams.map((t) => ({ __value: t.id, __text: t.name })).sort((a, b) => a.__text.localeCompare(b.__text)),
        );
        const t = p.teams[0]!;
        const services = await options(service, { ...all, program: p.id, team: t.id });
        expect(services.map((o) => o.__value).sort(), `${json.title}: services of ${t.id}`).toEqual(
          t.services.map((x) => (typeof x === 'string' ? x : x.name)).sort(),
        );
      }
    }
  });

  const tables = dashboards.flatMap(({ file, json }) => json.panels.filter((p) => p.type === 'table').map((panel) => ({ file, panel })));

  it.each(tables)('$file: $panel.title links titles to their source and rows to the dashboard that explains them', async ({ panel: p }) => {
    const config = p.fieldConfig as FieldConfig;
    const rows = await queryRows<Record<string, unknown>>(store, expandMacros(p.targets[0]!.rawSql, range, values[0]));
    const columns = Object.keys(rows[0]!);
    // each url column is hidden and opens from its title column: url from title, blocker_url from blocker_title
    for (const url of columns.filter((c) => /(^|_)url$/.test(c))) {
      const title = url.replace(/url$/, 'title');
      expect(columns, `${p.title}: a ${title} column beside ${url}`).toContain(title);
      const links = (fieldProperty(config, title, 'links') ?? []) as Array<{ url: string; targetBlank?: boolean }>;
      expect(links, `${p.title}: ${title} opens ${url}`).toContainEqual(
        expect.objectContaining({ url: `\${__data.fields.${url}}`, targetBlank: true }),
      );
      expect(fieldProperty(config, url, 'custom.hidden'), `${p.title}: ${url} hidden`).toBe(true);
      expect(
        rows.some((r) => r[title] !== '' && r[url] !== ''),
        `${p.title}: some row has a ${title} and a ${url}`,
      ).toBe(true);
    }
    // every table leads to a dashboard, keeping the time range and narrowing to the selection or the row
    const toDashboards = panelLinks(config).filter((l) => linkedDashboard(l.url) !== undefined);
    expect(toDashboards.length, p.title).toBeGreaterThan(0);
    for (const l of toDashboards) {
      expect(
        dashboards.map((d) => d.json.uid),
        l.url,
      ).toContain(linkedDashboard(l.url));
      expect(l.url).toContain('${__url_time_range}');
      expect(l.url).toMatch(/\$\{__all_variables\}|var-program=/);
    }
    // a link names only fields the query gives
    for (const l of panelLinks(config))
      for (const [, f] of l.url.matchAll(/\$\{__data\.fields\.(\w+)\}/g)) expect(columns, l.url).toContain(f);
  });

  const registerPanels = dashboards
    .find((d) => d.json.uid === 'ptel-program-health')!
    .json.panels.filter((p) => p.targets[0]!.rawSql.includes('register_rows'));

  it('opens Program health with the registers, before the KPI stats', () => {
    expect(registerPanels.map((p) => p.title)).toEqual(['Milestones at risk', 'Top open risks', 'Overdue decisions', 'Cross-team stalls']);
    const raw = JSON.parse(readFileSync(path.join(DIR, 'json/program-health.json'), 'utf8')) as {
      panels: Array<{ id: number; type: string; gridPos: { y: number } }>;
    };
    const registers = raw.panels.filter((p) => registerPanels.some((r) => r.id === p.id));
    const bottom = Math.max(...registers.map((p) => p.gridPos.y));
    const stats = raw.panels.filter((p) => p.type === 'stat');
    expect(stats.length).toBeGreaterThan(0);
    for (const s of stats) expect(s.gridPos.y, String(s.id)).toBeGreaterThan(bottom);
  });

  it.each(registerPanels)('Program health: $title reads the registers, coloured by flag and narrowed by Program and Team', async (p) => {
    const config = p.fieldConfig as FieldConfig;
    expect(fieldProperty(config, 'flag', 'custom.cellOptions')).toMatchObject({ type: 'color-background', applyToRow: true });
    const mapped = (fieldProperty(config, 'flag', 'mappings') as Array<{ options: Record<string, { color: string }> }>)[0]!.options;
    expect(Object.fromEntries(Object.entries(mapped).map(([k, v]) => [k, v.color]))).toEqual({
      red: 'red',
      amber: 'orange',
      green: 'green',
    });

    type Row = { item: string; title: string; program: string; team: string; status: string; flag: string; url: string };
    const rows = await queryRows<Row>(store, expandMacros(p.targets[0]!.rawSql, range, values[0]));
    expect(rows.length, p.title).toBeGreaterThan(0);
    for (const r of rows) expect(r.title, `${p.title}: ${r.item}`).not.toBe('');
    // what each panel keeps, against the register rows themselves
    const stored = await queryRows<{ register: string; item: string; flag: string; status: string; cross_team: number; change: string }>(
      store,
      `SELECT register, item, flag, status, JSONExtractBool(fields, 'cross_team') AS cross_team, JSONExtractString(fields, 'change') AS change
       FROM register_rows FINAL`,
    );
    const expected = {
      'Milestones at risk': stored.filter((r) => r.register === 'milestones' && (r.flag === 'red' || r.flag === 'amber')),
      'Top open risks': stored.filter((r) => r.register === 'risks' && r.change !== 'closed').slice(0, 10),
      'Overdue decisions': stored.filter((r) => r.register === 'decisions' && r.status === 'overdue'),
      'Cross-team stalls': stored.filter((r) => r.register === 'dependencies' && r.status === 'stalled' && Number(r.cross_team) === 1),
    }[p.title]!;
    if (p.title === 'Top open risks') expect(rows).toHaveLength(Math.min(10, expected.length));
    else expect(rows.map((r) => r.item).sort()).toEqual(expected.map((r) => r.item).sort());
    // a program or a team keeps its own rows
    const { program, team } = rows[0]!;
    const narrowed = await queryRows<Row>(store, expandMacros(p.targets[0]!.rawSql, range, { program, team, service: '' }));
    expect(narrowed.length).toBeGreaterThan(0);
    for (const r of narrowed) expect([r.program, r.team]).toEqual([program, team]);
    const elsewhere = await queryRows<Row>(
      store,
      expandMacros(p.targets[0]!.rawSql, range, { program: 'no-such-program', team: '', service: '' }),
    );
    expect(elsewhere).toEqual([]);
  });

  const programHealth = (title: string) =>
    dashboards.find((d) => d.json.uid === 'ptel-program-health')!.json.panels.find((p) => p.title === title)!;
  const forecastTable = programHealth('Milestone forecasts');
  const fan = programHealth('Forecast fan: P50, P85 and P95 against the committed date (days)');
  const history = programHealth('Forecast confidence by run');
  const key = (f: { source: string; milestoneId: string }): string => `${f.source}:${f.milestoneId}`;

  type ForecastCell = {
    title: string;
    url: string;
    program: string;
    team: string;
    committed: string | null;
    p50: string;
    p85: string;
    p95: string;
    confidence: number | null;
    band: string;
    dates_from: string;
    first_driver: string;
  };

  it('Program health: the forecast table shows each milestone of the latest run by the range end, with its url and first driver', async () => {
    const stored = await readForecasts(store, { asOf: now });
    expect(stored.forecasts.length).toBeGreaterThan(1);
    const rows = await queryRows<ForecastCell>(store, expandMacros(forecastTable.targets[0]!.rawSql, range, values[0]));
    const urls = new Map(
      (
        await queryRows<{ id: string; url: string }>(store, `SELECT concat(source, ':', milestone_id) AS id, url FROM milestones FINAL`)
      ).map((r) => [r.id, r.url]),
    );
    const expected = stored.forecasts.map((f) => ({
      title: f.name,
      url: urls.get(key(f)) ?? '',
      program: f.program,
      team: f.team,
      committed: f.committed,
      p50: f.ok ? (f.p50 ?? 'beyond the horizon') : '',
      p85: f.ok ? (f.p85 ?? 'beyond the horizon') : '',
      p95: f.ok ? (f.p95 ?? 'beyond the horizon') : '',
      confidence: f.confidence,
      band: f.band ?? '',
      dates_from: f.method,
      first_driver: f.ok ? (f.drivers[0] ?? '') : `no number: ${f.reason}`,
    }));
    const shown = rows.map((r) => ({ ...r, confidence: r.confidence === null ? null : Number(r.confidence) }));
    expect(
      shown.map(({ title, url, program, team, committed, p50, p85, p95, confidence, band, dates_from, first_driver }) => ({
        title,
        url,
        program,
        team,
        committed,
        p50,
        p85,
        p95,
        confidence,
        band,
        dates_from,
        first_driver,
      })),
    ).toEqual(expect.arrayContaining(expected));
    expect(rows).toHaveLength(expected.length);
    // every milestone opens in its source, and the demo's milestones all have a url
    for (const r of rows) expect(r.url, r.title).toMatch(/^https:\/\//);
    // the least confident first, those without a confidence last
    const confidences = shown.map((r) => r.confidence).filter((c) => c !== null);
    expect(confidences).toEqual([...confidences].sort((a, b) => a - b));
    expect(shown.findIndex((r) => r.confidence === null)).not.toBe(0);
    // the demo has milestones on track and off track, and one without enough history for a number
    expect(new Set(rows.map((r) => r.band))).toEqual(new Set(['on track', 'off track', '']));
    expect(rows.find((r) => r.band === '')!.first_driver).toMatch(/^no number: \S/);

    // a range ending before the last run shows the run before it
    const earlier = await queryRows<ForecastCell>(
      store,
      expandMacros(forecastTable.targets[0]!.rawSql, { ...range, to: new Date('2026-09-20T00:00:00Z') }, values[0]),
    );
    const middle = forecastRuns[1]!;
    expect(earlier.map((r) => r.title).sort()).toEqual(middle.map((f) => f.name).sort());
    expect(earlier.map((r) => r.p85).sort()).toEqual(middle.map((f) => (f.ok ? (f.p85 ?? 'beyond the horizon') : '')).sort());
  });

  it('Program health: the forecast table colours confidence by its bands (red below 0.5, amber from 0.5, green from 0.8) and the band by name', () => {
    const config = forecastTable.fieldConfig as FieldConfig;
    expect(fieldProperty(config, 'confidence', 'thresholds')).toEqual(grafanaThresholds(FORECAST_CONFIDENCE_TARGET));
    expect(grafanaThresholds(FORECAST_CONFIDENCE_TARGET).steps).toEqual([
      { color: 'red', value: null },
      { color: 'orange', value: 0.5 },
      { color: 'green', value: 0.8 },
    ]);
    expect(fieldProperty(config, 'confidence', 'custom.cellOptions')).toMatchObject({ type: 'color-background' });
    expect(fieldProperty(config, 'confidence', 'unit')).toBe('percentunit');
    const mapped = (fieldProperty(config, 'band', 'mappings') as Array<{ options: Record<string, { color: string }> }>)[0]!.options;
    // a band is the colour its confidence takes
    const colourOf = Object.fromEntries(
      FORECAST_CONFIDENCE_TARGET.bands.map((b) => [
        b.label!,
        grafanaThresholds(FORECAST_CONFIDENCE_TARGET).steps.find((s) => s.value === b.from)!.color,
      ]),
    );
    expect(Object.fromEntries(Object.entries(mapped).map(([k, v]) => [k, v.color]))).toEqual(colourOf);
    expect(colourOf).toEqual({ 'off track': 'red', 'at risk': 'orange', 'on track': 'green' });
    // the history draws the same bands
    expect(fieldProperty(history.fieldConfig as FieldConfig, 'confidence', 'thresholds')).toEqual(
      grafanaThresholds(FORECAST_CONFIDENCE_TARGET),
    );
  });

  it('Program health: the fan shows P50, P85 and P95 as days after the committed date, for each milestone with a number and a date', async () => {
    const rows = await queryRows<{ milestone: string; p50: number | null; p85: number | null; p95: number | null }>(
      store,
      expandMacros(fan.targets[0]!.rawSql, range, values[0]),
    );
    const days = (from: string, to: string | null): number | null =>
      to === null ? null : (Date.parse(to) - Date.parse(from)) / 86_400_000;
    const last = forecastRuns[2]!.filter((f) => f.ok && f.committed !== null);
    expect(last.length).toBeGreaterThan(1);
    expect(rows).toEqual(
      [...last]
        .sort((a, b) => a.committed!.localeCompare(b.committed!) || a.name.localeCompare(b.name))
        .map((f) => ({
          milestone: f.name,
          p50: days(f.committed!, f.p50),
          p85: days(f.committed!, f.p85),
          p95: days(f.committed!, f.p95),
        })),
    );
    // a fan: never narrower towards the higher percentile
    for (const r of rows) expect(r.p50! <= r.p85! && r.p85! <= r.p95!, r.milestone).toBe(true);
    // late and early milestones both show: the demo has both
    expect(rows.some((r) => r.p85! > 0) && rows.some((r) => r.p85! < 0)).toBe(true);
    expect(fan.options).toMatchObject({ xField: 'milestone', orientation: 'horizontal' });
  });

  it('Program health: the confidence history has one point per milestone and run in the range, at its run instant', async () => {
    const rows = await queryRows<{ time: string; milestone: string; confidence: number }>(
      store,
      expandMacros(history.targets[0]!.rawSql, range, values[0]),
    );
    const instant = (d: Date): string => d.toISOString().replace('T', ' ').replace('Z', '');
    const expected = FORECAST_RUNS.flatMap((at, i) =>
      forecastRuns[i]!.filter((f) => f.confidence !== null).map((f) => ({
        time: instant(at),
        milestone: f.name,
        confidence: f.confidence,
      })),
    );
    expect(new Set(FORECAST_RUNS.map((d) => instant(d)))).toEqual(new Set(rows.map((r) => r.time)));
    expect(rows.map((r) => ({ ...r, confidence: Number(r.confidence) }))).toEqual(
      [...expected].sort((a, b) => a.time.localeCompare(b.time) || a.milestone.localeCompare(b.milestone)),
    );
    // a range that ends before the last run leaves it out
    const before = await queryRows<{ time: string }>(
      store,
      expandMacros(history.targets[0]!.rawSql, { ...range, to: new Date('2026-09-20T00:00:00Z') }, values[0]),
    );
    expect(new Set(before.map((r) => r.time))).toEqual(new Set(FORECAST_RUNS.slice(0, 2).map((d) => instant(d))));
  });

  it.each([
    ['Milestone forecasts', 'title'],
    ['Forecast fan: P50, P85 and P95 against the committed date (days)', 'milestone'],
    ['Forecast confidence by run', 'milestone'],
  ])('Program health: %s narrows to the Program and Team chosen', async (title, nameColumn) => {
    const p = programHealth(title);
    const last = forecastRuns[2]!;
    const { program, team } = last.find((f) => f.ok && f.committed !== null)!;
    const names = (rows: Array<Record<string, unknown>>): string[] => [...new Set(rows.map((r) => String(r[nameColumn])))].sort();
    const all = await queryRows<Record<string, unknown>>(store, expandMacros(p.targets[0]!.rawSql, range, values[0]));
    const narrowed = await queryRows<Record<string, unknown>>(
      store,
      expandMacros(p.targets[0]!.rawSql, range, { program, team, service: '' }),
    );
    expect(narrowed.length).toBeGreaterThan(0);
    expect(names(narrowed).length).toBeLessThan(names(all).length);
    const own = new Set(
      forecastRuns
        .flat()
        .filter((f) => f.program === program && f.team === team)
        .map((f) => f.name),
    );
    for (const n of names(narrowed)) expect(own.has(n), n).toBe(true);
    const elsewhere = await queryRows(
      store,
      expandMacros(p.targets[0]!.rawSql, range, { program: 'no-such-program', team: '', service: '' }),
    );
    expect(elsewhere).toEqual([]);
  });

  const portfolio = (title: string) => dashboards.find((d) => d.json.uid === 'ptel-portfolio')!.json.panels.find((p) => p.title === title)!;

  it('Portfolio: one row per program, its confidence by the program confidence rule and its counts as the registers give them', async () => {
    type ProgramRow = {
      program: string;
      program_id: string;
      confidence: number | null;
      band: string;
      set_by: string;
      milestones_at_risk: number;
      open_decisions: number;
      decisions_past_target: number;
      open_high_risks: number;
      high_risks_unowned: number;
      blocked_by_other_programs: number;
      of_them_stalled: number;
      blocking_other_programs: number;
    };
    const rows = await queryRows<ProgramRow>(store, expandMacros(portfolio('Programs').targets[0]!.rawSql, range, values[0]));
    expect(rows.map((r) => r.program_id).sort()).toEqual(org.programs.map((p) => p.id).sort());
    expect(rows.map((r) => r.program).sort()).toEqual(org.programs.map((p) => p.name).sort());
    // the confidence is the rule's own (workers/forecast/confidence.ts) over the latest run by the range end
    const { forecasts } = await readForecasts(store, { asOf: range.to });
    const rule = programConfidence(forecasts, { now: range.to, timeZone: 'UTC' });
    expect(rule.some((c) => c.confidence !== null)).toBe(true);
    const params = metricParams({ model: defaultModel(), metrics: defaultMetricsConfig() });
    const register = async (id: string, program: string) =>
      (await readRegister(store, registerById(id)!, { params, asOf: now, recentDays: 14, program })).rows;
    const dependencies = (await readRegister(store, registerById('dependencies')!, { params, asOf: now, recentDays: 14 })).rows.filter(
      (r) => yes(r['cross_program']),
    );
    // milestones as the registers were last taken (before the forecast runs here): their flags are the register's rule
    const taken = (
      await queryRows<{ program: string; fields: string }>(
        store,
        `SELECT program, fields FROM register_rows FINAL WHERE register = 'milestones' AND is_deleted = 0`,
      )
    ).map((x) => ({ program: x.program, row: JSON.parse(x.fields) as RegisterRow }));
    for (const r of rows) {
      const c = rule.find((x) => x.program === r.program_id);
      expect({ confidence: r.confidence === null ? null : Number(r.confidence), band: r.band, set_by: r.set_by }, r.program_id).toEqual({
        confidence: c?.confidence ?? null,
        band: c?.band ?? '',
        set_by: c?.setBy?.name ?? '',
      });
      const milestones = taken.filter((x) => x.program === r.program_id).map((x) => x.row);
      const decisions = await register('decisions', r.program_id);
      const risks = (await register('risks', r.program_id)).filter((x) => x['closed'] === null && x['severity'] === 'high');
      expect(
        [
          r.milestones_at_risk,
          r.open_decisions,
          r.decisions_past_target,
          r.open_high_risks,
          r.high_risks_unowned,
          r.blocked_by_other_programs,
          r.of_them_stalled,
          r.blocking_other_programs,
        ].map(Number),
        r.program_id,
      ).toEqual([
        milestones.filter((x) => !String(x['status']).startsWith('done') && milestoneRegister.board(x).flag !== 'green').length,
        decisions.filter((x) => x['status'] === 'open' || x['status'] === 'overdue').length,
        decisions.filter((x) => x['status'] === 'overdue').length,
        risks.length,
        risks.filter((x) => yes(x['unowned'])).length,
        dependencies.filter((x) => x['blocked_program'] === r.program_id).length,
        dependencies.filter((x) => x['blocked_program'] === r.program_id && yes(x['stalled'])).length,
        dependencies.filter((x) => x['blocker_program'] === r.program_id).length,
      ]);
    }
    expect(rows.some((r) => Number(r.milestones_at_risk) > 0)).toBe(true);
    expect(rows.some((r) => Number(r.open_decisions) + Number(r.open_high_risks) > 0)).toBe(true);
    // least confident first, programs without a confidence last
    const known = rows.filter((r) => r.confidence !== null).map((r) => Number(r.confidence));
    expect(known).toEqual([...known].sort((a, b) => a - b));
    expect(rows.findIndex((r) => r.confidence === null)).not.toBe(0);
    // a program chosen keeps its own row
    const one = await queryRows<ProgramRow>(
      store,
      expandMacros(portfolio('Programs').targets[0]!.rawSql, range, { program: rows[0]!.program_id, team: '', service: '' }),
    );
    expect(one.map((r) => r.program_id)).toEqual([rows[0]!.program_id]);
  });

  it("Portfolio: the top risks are the risk register's first five open risks across the programs, in its order", async () => {
    const rows = await queryRows<{ item: string; program: string; severity: string }>(
      store,
      expandMacros(portfolio('Top risks across the portfolio').targets[0]!.rawSql, range, values[0]),
    );
    const params = metricParams({ model: defaultModel(), metrics: defaultMetricsConfig() });
    const open = (await readRegister(store, registerById('risks')!, { params, asOf: now, recentDays: 14 })).rows.filter(
      (r) => r['closed'] === null,
    );
    expect(open.length).toBeGreaterThanOrEqual(5);
    expect(rows.map((r) => [r.item, r.program, r.severity])).toEqual(open.slice(0, 5).map((r) => [r['item'], r['program'], r['severity']]));
  });
});

/**
 * The Portfolio dashboard's confidence against the program confidence rule on the status report's
 * scenario, with a milestone beyond the rule's 90-day window forecast less confident than every one inside
 * it: the rule leaves it out, and so must the dashboard.
 */
describe('Portfolio confidence: the program confidence rule, window included', () => {
  let s: StatusScenario;
  const to = new Date('2026-11-02T00:00:00Z');
  beforeAll(async () => {
    s = await statusScenario();
    const instant = '2026-10-30 06:00:00.000';
    const far = (id: string, name: string, committed: string, confidence: number) => ({
      source: 'jira',
      milestone_id: id,
      name,
      program: 'payments',
      team: 'ledger',
      as_of: instant,
      computed_at: instant,
      committed,
      p50: committed,
      p85: committed,
      p95: committed,
      confidence,
      band: 'off track',
      method: 'throughput',
      ok: 1,
      reason: '',
      drivers: [],
      critical_path: [],
      inputs: '{}',
      trials: 1000,
      seed: 1,
      version: 2,
    });
    await s.store.client.insert({
      table: 'milestone_forecasts',
      values: [far('version/9', 'Ledger 3.0', '2027-03-01', 0.1)],
      format: 'JSONEachRow',
    });
    await s.store.client.insert({
      table: 'org_scopes',
      values: s.config.org.programs.map((p) => ({
        kind: 'program',
        id: p.id,
        name: p.name,
        program: p.id,
        team: '',
        computed_at: '2026-11-01 00:00:00.000',
        version: 1,
      })),
      format: 'JSONEachRow',
    });
  });
  afterAll(() => s.store.close());

  it('takes the lowest confidence among the milestones due within 90 days of the range end, not the one due after', async () => {
    const panel = dashboards.find((d) => d.json.uid === 'ptel-portfolio')!.json.panels.find((p) => p.title === 'Programs')!;
    const rows = await queryRows<{ program_id: string; confidence: number | null; band: string; set_by: string }>(
      s.store,
      expandMacros(
        panel.targets[0]!.rawSql,
        { from: new Date('2026-08-01T00:00:00Z'), to, intervalSeconds: 86_400 },
        {
          program: '',
          team: '',
          service: '',
        },
      ),
    );
    const { forecasts } = await readForecasts(s.store, { asOf: to });
    expect(forecasts.map((f) => f.name)).toContain('Ledger 3.0');
    const rule = programConfidence(forecasts, { now: to, timeZone: 'UTC' });
    expect(rule.find((c) => c.program === 'payments')).toMatchObject({ confidence: 0.42, setBy: { name: 'Checkout 2.0' } });
    expect(
      rows.map((r) => ({
        program_id: r.program_id,
        confidence: r.confidence === null ? null : Number(r.confidence),
        band: r.band,
        set_by: r.set_by,
      })),
    ).toEqual([
      { program_id: 'payments', confidence: 0.42, band: 'off track', set_by: 'Checkout 2.0' },
      { program_id: 'growth', confidence: null, band: '', set_by: '' },
    ]);
  });
});
