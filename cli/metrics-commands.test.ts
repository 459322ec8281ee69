import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../infra/clock.js';
import { loadConfig } from '../infra/config/load.js';
import { orgSchema, type OrgConfig } from '../infra/config/schema.js';
import type { Store } from '../infra/store/client.js';
import { tempDir, testStore } from '../test/support/harness.js';
import { insertTables } from '../test/support/mapping.js';
import { compute } from '../test/support/metrics.js';
import { workItemRow } from '../test/support/rows.js';
import { FLOW_METRICS } from '../workers/metrics/definitions/program-flow.js';
import { METRICS_COMMANDS, runMetrics, runScopes, type MetricsRuntime } from './metrics-commands.js';

const ORG: OrgConfig = orgSchema.parse({
  programs: [
    {
      id: 'payments',
      name: 'Payments',
      teams: [
        { id: 'checkout', name: 'Checkout', services: ['api'], repositories: ['acme/api'] },
        { id: 'web', name: 'Web', services: [{ name: 'storefront', repositories: ['acme/Storefront'] }] },
      ],
    },
    { id: 'discovery', name: 'Discovery', teams: [{ id: 'search', name: 'Search', repositories: ['acme/search'] }] },
  ],
});

/** A stored value of a metric, as computeMetrics writes it. */
function value(
  metric: string,
  unit: string,
  scope: string,
  start: string,
  v: number,
  num: number | null = null,
  den: number | null = null,
) {
  const [kind, id] = scope.split(':');
  return {
    metric,
    scope_kind: kind,
    scope_id: id,
    period_kind: 'month',
    period_start: start,
    value: v,
    numerator: num,
    denominator: den,
    sample_size: den ?? 1,
    unit,
    definition_version: 1,
    computed_at: '2026-12-10 09:00:00.000',
    version: 1,
    is_deleted: 0,
  };
}

const VALUES = [
  value('deployment_frequency', 'count', 'org:org', '2026-10-01', 4),
  value('deployment_frequency', 'count', 'org:org', '2026-11-01', 10),
  value('deployment_frequency', 'count', 'org:org', '2026-12-01', 2),
  value('change_failure_rate', 'ratio', 'org:org', '2026-10-01', 0.25, 1, 4),
  value('change_failure_rate', 'ratio', 'org:org', '2026-11-01', 0.4, 4, 10),
  value('change_failure_rate', 'ratio', 'org:org', '2026-12-01', 0.5, 1, 2),
  value('change_lead_time_p50', 'hours', 'org:org', '2026-11-01', 30),
  value('change_lead_time_p50', 'hours', 'org:org', '2026-12-01', 72),
  value('change_failure_rate', 'ratio', 'team:checkout', '2026-11-01', 0.5, 2, 4),
  value('change_failure_rate', 'ratio', 'team:web', '2026-11-01', 0.125, 1, 8),
];

interface Run {
  code: number;
  out: string;
  err: string;
}

const collect = (): { stream: PassThrough; text: () => string } => {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
};

/** The cells of a table line (columns are two or more spaces apart). */
const cells = (line: string): string[] => line.trim().split(/\s{2,}/);

describe('ptel metrics and ptel scopes', () => {
  let store: Store;
  const config = loadConfig({ env: {}, cwd: tempDir(), overrides: { dataDir: tempDir() } });

  beforeAll(async () => {
    store = await testStore();
    await insertTables(store, { metric_values: VALUES });
  });
  afterAll(() => store.close());

  /** Runs `ptel metrics ARGS` on the test store with the clock at `now`. */
  async function metrics(now: string, positionals: string[], values: Record<string, string> = {}): Promise<Run> {
    const out = collect();
    const err = collect();
    const rt: MetricsRuntime = { store, clock: fixedClock(new Date(now)), organisation: { org: ORG } };
    const code = await runMetrics({ config, values, positionals, out: out.stream, err: err.stream }, (fn) => fn(rt));
    return { code, out: out.text(), err: err.text() };
  }

  it('show pivots to one row per metric and one column per period, values in their units, the running period marked', async () => {
    const r = await metrics('2026-12-10T09:30:00Z', ['show']);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(cells(lines[0]!)).toEqual(['metric', '2026-10', '2026-11', '2026-12*']);
    const row = (metric: string): string[] => cells(lines.find((l) => l.startsWith(`${metric} `))!);
    // Newest on the right; a ratio as a percentage, a duration in hours (two days and more in days), a count as a whole number.
    expect(row('change_failure_rate')).toEqual(['change_failure_rate', '25.0%', '40.0%', '50.0%']);
    expect(row('change_lead_time_p50')).toEqual(['change_lead_time_p50', '30.0 h', '3.0 d']);
    expect(row('deployment_frequency')).toEqual(['deployment_frequency', '4', '10', '2']);
    // One row per metric: the org's values only, in the definitions' order.
    expect(lines.filter((l) => l.startsWith('change_failure_rate'))).toHaveLength(1);
    expect(lines.findIndex((l) => l.startsWith('deployment_frequency'))).toBeLessThan(
      lines.findIndex((l) => l.startsWith('change_failure_rate')),
    );
    expect(r.out).toContain('* partial: the period is still running (as of 2026-12-10T09:30:00.000Z)\n');
  });

  it('marks no period once the clock is past them all', async () => {
    const r = await metrics('2027-01-05T00:00:00Z', ['show'], { from: '2026-10-01', to: '2027-01-01' });
    expect(r.code).toBe(0);
    expect(cells(r.out.split('\n')[0]!)).toEqual(['metric', '2026-10', '2026-11', '2026-12']);
    expect(r.out).not.toContain('partial');
  });

  it('shows one row per metric and scope when several scopes are shown', async () => {
    const r = await metrics('2026-12-10T09:30:00Z', ['show'], { metric: 'change_failure_rate', scope: 'team' });
    const lines = r.out.split('\n');
    expect(cells(lines[0]!)).toEqual(['metric', 'scope', '2026-11']);
    expect(cells(lines[2]!)).toEqual(['change_failure_rate', 'team:checkout', '50.0%']);
    expect(cells(lines[3]!)).toEqual(['change_failure_rate', 'team:web', '12.5%']);
    expect(r.out).not.toContain('partial');
  });

  it('refuses a scope the organisation does not have, listing the ones it has', async () => {
    const r = await metrics('2026-12-10T09:30:00Z', ['show'], { scope: 'team:nosuch' });
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe("ptel metrics: no team 'nosuch'; teams: checkout, web, search (ptel scopes lists them)\n");
    const explained = await metrics('2026-12-10T09:30:00Z', ['explain', 'change_failure_rate'], { scope: 'program:nosuch' });
    expect(explained.code).toBe(2);
    expect(explained.err).toContain("no program 'nosuch'; programs: payments, discovery");
  });

  it('says which period a metric computed for one period kind only is computed for', async () => {
    const r = await metrics('2026-12-10T09:30:00Z', ['show'], { metric: 'throughput', period: 'month' });
    expect(r.code).toBe(2);
    expect(r.err).toBe('ptel metrics: throughput is computed per week only; use --period week\n');
  });

  it('json is one document with one record per value and its unit; jsonl one object per line', async () => {
    const json = await metrics('2026-12-10T09:30:00Z', ['show'], { format: 'json' });
    expect(json.code).toBe(0);
    const records = JSON.parse(json.out) as Array<Record<string, unknown>>;
    expect(records).toHaveLength(8);
    expect(records).toContainEqual({
      metric: 'change_failure_rate',
      scope_kind: 'org',
      scope_id: 'org',
      period_kind: 'month',
      period_start: '2026-12-01',
      value: 0.5,
      numerator: 1,
      denominator: 2,
      sample_size: 2,
      unit: 'ratio',
      partial: true,
    });
    expect(records.find((x) => x['metric'] === 'change_failure_rate' && x['period_start'] === '2026-11-01')).toMatchObject({
      value: 0.4,
      partial: false,
    });
    const jsonl = await metrics('2026-12-10T09:30:00Z', ['show'], { format: 'jsonl' });
    const lines = jsonl.out.trimEnd().split('\n');
    expect(lines).toHaveLength(8);
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(records);
    const list = await metrics('2026-12-10T09:30:00Z', ['list'], { format: 'json' });
    const metricsListed = JSON.parse(list.out) as Array<{ id: string; unit: string }>;
    expect(metricsListed.find((m) => m.id === 'throughput')).toMatchObject({ unit: 'count', periods: 'week' });
  });

  it('csv has a header of the value columns and partial, in that order; json keeps the same keys in the same order', async () => {
    const header = 'metric,scope_kind,scope_id,period_kind,period_start,value,numerator,denominator,sample_size,unit,partial';
    const csv = await metrics('2026-12-10T09:30:00Z', ['show'], { format: 'csv', metric: 'change_failure_rate' });
    expect(csv.code).toBe(0);
    const [first, ...lines] = csv.out.trimEnd().split('\n');
    expect(first).toBe(header);
    expect(lines).toContain('change_failure_rate,org,org,month,2026-12-01,0.5,1,2,2,ratio,true');
    const json = await metrics('2026-12-10T09:30:00Z', ['show'], { format: 'json', metric: 'change_failure_rate' });
    const records = JSON.parse(json.out) as Array<Record<string, unknown>>;
    expect(records.length).toBe(lines.length);
    for (const r of records) expect(Object.keys(r).join(',')).toBe(header);
  });

  it('refuses an unknown format, naming the formats', async () => {
    const r = await metrics('2026-12-10T09:30:00Z', ['show'], { format: 'yaml' });
    expect(r.code).toBe(2);
    expect(r.err).toBe("ptel metrics: --format 'yaml': expected table, json, jsonl or csv\n");
  });

  it('lists every option of its commands in their usage, one line each', () => {
    for (const [name, command] of Object.entries(METRICS_COMMANDS)) {
      for (const option of Object.keys(command.options ?? {})) {
        const lines = command.usage.split('\n').filter((l) => l.trimStart().startsWith(`--${option} `));
        expect(lines, `${name} --${option}`).toHaveLength(1);
        expect(lines[0]!.trim().length, `${name} --${option}`).toBeGreaterThan(`--${option} `.length + 10);
      }
    }
  });

  it('ptel scopes lists the programs, teams with their program, services and repositories', () => {
    const table = collect();
    expect(runScopes({ config, values: {}, positionals: [], out: table.stream, err: collect().stream }, () => ORG)).toBe(0);
    const lines = table.text().split('\n');
    expect(cells(lines[0]!)).toEqual(['kind', 'id', 'name', 'program', 'team']);
    expect(lines.map((l) => cells(l)).find((c) => c[0] === 'team' && c[1] === 'search')).toEqual([
      'team',
      'search',
      'Search',
      'discovery',
      'search',
    ]);
    const json = collect();
    runScopes({ config, values: { format: 'json' }, positionals: [], out: json.stream, err: collect().stream }, () => ORG);
    const scopes = JSON.parse(json.text()) as Array<{ kind: string; id: string; program: string; team: string }>;
    expect(scopes.map((s) => `${s.kind}:${s.id}`)).toEqual([
      'program:payments',
      'program:discovery',
      'team:checkout',
      'team:web',
      'team:search',
      'service:api',
      'service:storefront',
      'repo:acme/api',
      'repo:acme/storefront',
      'repo:acme/search',
    ]);
    expect(scopes.find((s) => s.id === 'acme/storefront')).toMatchObject({ program: 'payments', team: 'web' });
  });
});

describe('ptel metrics explain', () => {
  let store: Store;
  const config = loadConfig({ env: {}, cwd: tempDir(), overrides: { dataDir: tempDir() } });
  const owner = { team: 'checkout', program: 'payments', raw_event_id: 'e', version: 1 };
  const item = (key: string, kind: string, summary: string, fields: Record<string, unknown>) =>
    workItemRow({
      ...owner,
      item_id: `id-${key}`,
      key,
      project: key.split('-')[0]!,
      type: kind,
      kind: kind as 'action',
      status: 'Done',
      status_category: 'done',
      priority: 'Medium',
      priority_rank: 3,
      created_at: '2026-10-20T00:00:00.000Z',
      updated_at: '2026-10-20T00:00:00.000Z',
      summary,
      ...fields,
    });

  beforeAll(async () => {
    store = await testStore();
    await insertTables(store, {
      work_items: [
        // Action items due in November: closed by their due day, A-2 closed late, A-3 open.
        item('ACT-1', 'action', 'Rotate the payment keys', { due_date: '2026-11-05', resolved_at: '2026-11-04T16:20:31.250Z' }),
        item('ACT-2', 'action', 'Write the outage review', { due_date: '2026-11-10', resolved_at: '2026-11-12T09:00:00.000Z' }),
        item('ACT-3', 'action', 'Add a retry budget', { due_date: '2026-11-20', status: 'To Do', status_category: 'todo' }),
        item('ACT-4', 'action', 'Page the on-call twice', { due_date: '2026-11-25', resolved_at: '2026-11-25T08:00:00.000Z' }),
        // Decisions made in November after 10, 25 and 30 hours: the median is 25 h.
        item('DEC-1', 'decision', 'Keep the old gateway', {
          created_at: '2026-11-02T00:00:00.000Z',
          resolved_at: '2026-11-02T10:00:00.000Z',
        }),
        item('DEC-2', 'decision', 'Move to one region', {
          created_at: '2026-11-03T00:00:00.000Z',
          resolved_at: '2026-11-04T01:00:00.000Z',
        }),
        item('DEC-3', 'decision', 'Drop the legacy API', {
          created_at: '2026-11-05T00:00:00.000Z',
          resolved_at: '2026-11-06T06:00:00.000Z',
        }),
      ],
    });
  });
  afterAll(() => store.close());

  async function explain(metric: string): Promise<Run> {
    const out = collect();
    const err = collect();
    const rt: MetricsRuntime = { store, clock: fixedClock(new Date('2026-12-10T09:30:00Z')), organisation: { org: ORG } };
    const code = await runMetrics(
      {
        config,
        values: { scope: 'team:checkout', start: '2026-11-01' },
        positionals: ['explain', metric],
        out: out.stream,
        err: err.stream,
      },
      (fn) => fn(rt),
    );
    return { code, out: out.text(), err: err.text() };
  }

  it('restates a ratio with its numerator and denominator, the value the metric computes', async () => {
    const r = await explain('action_item_closure_rate');
    expect(r.code).toBe(0);
    const [headline] = r.out.split('\n');
    expect(headline).toBe(
      'action_item_closure_rate for team checkout, month of 2026-11: 50.0% = 2 closed by their due date of 4 action items due',
    );
    const read = await compute(
      store,
      FLOW_METRICS.filter((m) => m.id === 'action_item_closure_rate'),
      '2026-11-01',
      '2026-12-01',
    );
    expect(await read('action_item_closure_rate', 'team:checkout', 'month', '2026-11-01')).toMatchObject({
      value: 0.5,
      numerator: 2,
      denominator: 4,
    });
    // The units name the items by key and title, and say when to the minute.
    expect(r.out).toContain('ACT-1 "Rotate the payment keys"');
    expect(r.out).toContain('closed 2026-11-04 16:20 (on time)');
    expect(r.out).not.toMatch(/\d{2}:\d{2}:\d{2}/);
  });

  it('restates a median with how many values it is taken over', async () => {
    const r = await explain('decision_latency_p50');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe('decision_latency_p50 for team checkout, month of 2026-11: median of 3 values: 25.0 h');
    const read = await compute(
      store,
      FLOW_METRICS.filter((m) => m.id === 'decision_latency_p50'),
      '2026-11-01',
      '2026-12-01',
    );
    expect((await read('decision_latency_p50', 'team:checkout', 'month', '2026-11-01'))?.value).toBe(25);
    const units = r.out.split('\n').filter((l) => l.includes('DEC-'));
    expect(units).toHaveLength(3);
    expect(units[0]).toContain('DEC-1 "Keep the old gateway"');
    expect(cells(units[0]!)).toContain('10.0 h');
  });
});
