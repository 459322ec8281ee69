import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderStatusReport } from '../../app/status-report.js';
import { runForecast } from '../../cli/forecast-command.js';
import { runMetrics } from '../../cli/metrics-commands.js';
import { fixedClock } from '../../infra/clock.js';
import { loadConfig } from '../../infra/config/load.js';
import type { Store } from '../../infra/store/client.js';
import { FORECAST_ORG, seedForecastScenario } from '../../test/support/forecasts.js';
import { copiedTestStore, queryRows, repoRoot, tempDir, testStore } from '../../test/support/harness.js';
import { insertTables } from '../../test/support/mapping.js';
import { workItemMaker } from '../../test/support/rows.js';
import {
  CHECKOUT_HISTORY,
  scenarioReport,
  statusScenario,
  statusScenarioComputedLater,
  STATUS_NOW,
  STATUS_WEEK,
  STATUS_WEEK_END,
  type StatusScenario,
} from '../../test/support/status-report.js';
import { programConfidence } from '../forecast/confidence.js';
import { describeChange } from '../forecast/history.js';
import { planForecasts, readForecasts, runForecasts, storedOf, type StoredForecast } from '../forecast/job.js';
import { metricById } from '../metrics/definitions/index.js';
import { explainMetric, metricParams, scopesOf, unitsArithmetic } from '../metrics/engine.js';
import { arithmeticText } from '../metrics/format.js';
import { runMetricsJob } from '../metrics/job.js';
import { readMetricValues } from '../metrics/queries.js';
import { parseScope } from '../metrics/types.js';
import { readRegister, registerById } from '../registers/index.js';
import { statusMarkdown } from './markdown.js';
import { CAP, statusReport, type Listed, type ReportItem, type StatusReport } from './status.js';
import { isoWeekOf, lastWholeWeek, parseIsoWeek, reportWeek } from './week.js';

const GOLDEN = path.join(repoRoot, 'test/fixtures/status-report/payments-2026-W44.md');

let s: StatusScenario;
let report: StatusReport;

const reportOf = (program: string, until: Date = STATUS_NOW, week = lastWholeWeek(until, 'UTC')): Promise<StatusReport> =>
  scenarioReport(s, program, until, week);

beforeAll(async () => {
  s = await statusScenario();
  report = await reportOf('payments');
});

afterAll(async () => {
  await s.store.close();
});

/** A `ptel <tool> ...` line as the report writes it, parsed into positionals and option values (--compute is a flag). */
function commandLine(command: string, tool: string): { positionals: string[]; values: Record<string, string | boolean> } {
  const words = command.split(' ');
  expect(words.slice(0, 2)).toEqual(['ptel', tool]);
  const positionals: string[] = [];
  const values: Record<string, string | boolean> = {};
  for (let i = 2; i < words.length; i++) {
    const w = words[i]!;
    if (!w.startsWith('--')) positionals.push(w);
    else if (w === '--compute') values['compute'] = true;
    else values[w.slice(2)] = words[++i]!;
  }
  return { positionals, values };
}

/** Every list of a report, by its path. */
function lists(r: StatusReport): Array<[string, Listed<ReportItem>]> {
  return [
    ['summary.changes', r.summary.changes],
    ['summary.asks', r.summary.asks],
    ['accomplishments.milestones', r.accomplishments.milestones],
    ['accomplishments.epics', r.accomplishments.epics],
    ['accomplishments.notable', r.accomplishments.notable],
    ['accomplishments.deployments', r.accomplishments.deployments],
    ['accomplishments.incidentsResolved', r.accomplishments.incidentsResolved],
    ['nextMilestones', r.nextMilestones],
    ['risks.highRisks', r.risks.highRisks],
    ['risks.signals', r.risks.signals],
    ['risks.stalledDependencies', r.risks.stalledDependencies],
    ['risks.incidents', r.risks.incidents],
    ['decisions.decisions', r.decisions.decisions],
    ['decisions.overdueActions', r.decisions.overdueActions],
  ];
}

/** The option values of a command line: --name value. */
function options(command: string): { words: string[]; values: Record<string, string> } {
  const words = command.split(' ');
  const values: Record<string, string> = {};
  for (let i = 0; i < words.length; i++) if (words[i]!.startsWith('--')) values[words[i]!.slice(2)] = words[++i] ?? '';
  return { words, values };
}

/**
 * What is wrong with a link of the report, or undefined when it resolves in the store: a URL names a
 * stored work item, milestone, incident or deployment; a command names a register holding the item, a
 * metric with units or a stored value for the scope and week, or a stored forecast.
 */
async function unresolved(link: { url?: string; command?: string; itemUrl?: string }): Promise<string | undefined> {
  if (link.url !== undefined && link.url !== '') {
    const [hit] = await queryRows<{ n: string }>(
      s.store,
      `SELECT count() AS n FROM (SELECT url FROM work_items FINAL UNION ALL SELECT url FROM milestones FINAL
                                  UNION ALL SELECT url FROM incidents FINAL UNION ALL SELECT url FROM deployments FINAL) WHERE url = {url:String}`,
      { url: link.url },
    );
    return Number(hit?.n) > 0 ? undefined : `no entity with url ${link.url}`;
  }
  const command = link.command ?? '';
  const { words, values } = options(command);
  const asOf = new Date(values['as-of'] ?? '');
  if (words[0] !== 'ptel' || Number.isNaN(asOf.getTime())) return `not a ptel command read as of an instant: ${command}`;
  const params = metricParams(s.config);
  if (words[1] === 'list') {
    const definition = registerById(words[2] ?? '');
    if (definition === undefined) return `no register in ${command}`;
    const { rows } = await readRegister(s.store, definition, { params, asOf, recentDays: 8, program: values['program'] ?? '' });
    if (link.itemUrl !== undefined && link.itemUrl !== '')
      return rows.some((r) => r['url'] === link.itemUrl) ? undefined : `${link.itemUrl} not in ${command}`;
    return rows.length > 0 ? undefined : `nothing in ${command}`;
  }
  if (words[1] === 'metrics' && words[2] === 'explain') {
    const definition = metricById(words[3] ?? '');
    const scope = parseScope(values['scope'] ?? '');
    if (definition === undefined || typeof scope === 'string' || scope.id === undefined) return `no metric or scope in ${command}`;
    const start = values['start'] ?? '';
    const units = await explainMetric({
      store: s.store,
      definition,
      params,
      scope: { kind: scope.kind, id: scope.id },
      period: { kind: 'week', start },
      asOf,
    });
    const stored = await readMetricValues(s.store, {
      metric: definition.id,
      scope,
      period: 'week',
      from: start,
      to: start.replace(/\d\d$/, (d) => String(Number(d) + 1).padStart(2, '0')),
      asOf,
    });
    return units.length + stored.length > 0 ? undefined : `no unit and no stored value behind ${command}`;
  }
  if (words[1] === 'metrics' && words[2] === 'show') {
    const scope = parseScope(values['scope'] ?? '');
    if (typeof scope === 'string') return scope;
    const rows = await readMetricValues(s.store, { scope, period: 'week', from: values['from'] ?? '', to: values['to'] ?? '', asOf });
    return rows.length > 0 ? undefined : `no value behind ${command}`;
  }
  if (words[1] === 'forecast') {
    const milestone = words[2] === 'show' ? words[3] : undefined;
    const { forecasts } = await readForecasts(s.store, {
      asOf,
      ...(milestone !== undefined ? { milestone } : { program: values['program'] ?? '' }),
    });
    return forecasts.length > 0 ? undefined : `no forecast behind ${command}`;
  }
  return `an unknown command: ${command}`;
}

describe('the weekly status report', () => {
  it('reads the last whole week by default, at its end, against the report a week earlier', () => {
    expect(report.week).toEqual({ id: STATUS_WEEK, first: '2026-10-26', last: '2026-11-01' });
    expect(report.asOf).toBe('2026-11-02T00:00:00.000Z');
    expect(report.previousAsOf).toBe('2026-10-26T00:00:00.000Z');
  });

  it('renders the hand-built week to the Markdown of the golden file, word for word', () => {
    // UPDATE_GOLDEN=1 rewrites the file from the report; read the diff before committing it.
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(GOLDEN, statusMarkdown(report));
    expect(statusMarkdown(report)).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('holds each section as data: the JSON is the report itself', () => {
    const json = JSON.parse(renderStatusReport(report, 'json')) as StatusReport;
    expect(json).toEqual(JSON.parse(JSON.stringify(report)));
    expect(json.summary).toMatchObject({ colour: 'red', lastWeekColour: 'red' });
    expect(json.summary.confidence).toMatchObject({
      value: 0.42,
      band: 'off track',
      lastWeek: 0.55,
      setBy: { key: 'jira:version/1', committed: '2026-11-20' },
    });
    expect(json.summary.confidence.rule).toBe(
      'lowest confidence among its open milestones due by 2027-01-31 (the next 90 days, overdue ones included)',
    );
    expect(json.summary.changes.items.map((i) => [i.name, i.detail])).toEqual([
      ['Wallet launch', 'finished: done late 2026-10-30'],
      ['Checkout 1.9', 'finished: done on time 2026-10-29'],
      ['R-3', 'raised: medium severity, owner dana'],
    ]);
    expect(json.summary.asks.items.map((i) => i.name)).toEqual(['D-1', 'R-1', 'LED-5 blocks CHK-20', 'A-1']);
    // An epic that is a milestone is listed as a milestone reached, not again as an epic done.
    expect(json.accomplishments.milestones.items.map((i) => [i.key, i.detail])).toEqual([
      ['jira:epic/id-PAY-200', 'done late 2026-10-30'],
      ['jira:version/2', 'done on time 2026-10-29'],
    ]);
    expect(json.accomplishments.epics.items.map((i) => i.key)).toEqual(['jira:PAY-100']);
    expect(json.accomplishments.notable.items.map((i) => i.key)).toEqual(['jira:CHK-11']);
    expect(json.accomplishments.itemsDone.count).toBe(2);
    expect(json.accomplishments.deployments.items.map((i) => [i.name, i.detail])).toEqual([
      ['checkout-api', '2 production deployments, the last 2026-10-29 10:05 UTC'],
      ['ledger-api', '1 production deployment, the last 2026-10-30 10:05 UTC'],
    ]);
    expect(json.accomplishments.incidentsResolved.items[0]).toMatchObject({
      key: 'pagerduty:PINC101',
      related: [{ name: 'checkout-api 9002', url: 'https://github.com/acme/checkout-api/deployments/9002' }],
    });
    expect(json.nextMilestones.items.map((m) => [m.key, m.committed, m.p50, m.p85, m.confidence, m.band])).toEqual([
      ['jira:version/1', '2026-11-20', '2026-11-18', '2026-12-04', 0.42, 'off track'],
      ['jira:version/3', '2026-12-10', '2026-11-25', '2026-12-04', 0.9, 'on track'],
    ]);
    expect(json.nextMilestones.items[0]!.change).toBe(
      'P(on time) fell from 0.55 to 0.42: scope +4 items, 3 items done, throughput 3/week from 4',
    );
    expect(json.risks.highRisks.items.map((i) => i.name)).toEqual(['R-1', 'R-2']);
    expect(json.risks.highRisks.items[0]!.detail).toMatch(/^no owner, open 31\.6 days, mitigation: not started$/);
    expect(json.risks.signals.items.map((i) => i.key)).toEqual(['program:payments/change_failure_rate']);
    expect(json.risks.stalledDependencies.items.map((i) => i.name)).toEqual(['LED-5 blocks CHK-20']);
    expect(json.risks.incidents.items.map((i) => i.key)).toEqual(['pagerduty:PINC101']);
    expect(json.decisions.decisions.items.map((i) => i.name)).toEqual(['D-1']);
    expect(json.decisions.overdueActions.items.map((i) => i.name)).toEqual(['A-1']);
    expect(json.metrics.items.map((k) => [k.metric, k.value, k.baseline, k.direction])).toEqual([
      ['change_failure_rate', 0.33, 0.05, 'worse'],
      ['change_lead_time_p50', 24, 30, 'better'],
      ['deployment_frequency', 3, 2.5, 'better'],
    ]);
    for (const k of Object.values({ accomplishments: json.accomplishments, risks: json.risks, decisions: json.decisions }))
      expect(k.none).toBeNull();
  });

  it('links every item to its source or to the command behind it, and every link resolves in the store', async () => {
    const problems: string[] = [];
    const check = async (where: string, link: { url?: string; command?: string; itemUrl?: string }): Promise<void> => {
      const p = await unresolved(link);
      if (p !== undefined) problems.push(`${where}: ${p}`);
    };
    let links = 0;
    for (const [where, l] of lists(report)) {
      if (l.total > l.items.length || l.command !== '') await check(`${where} list`, { command: l.command });
      for (const i of l.items) {
        expect(i.url !== '' || i.command !== '', `${where} ${i.key} has a link`).toBe(true);
        if (i.url !== '') await check(`${where} ${i.key}`, { url: i.url });
        if (i.command !== '') await check(`${where} ${i.key}`, { command: i.command, itemUrl: i.url });
        for (const r of i.related ?? []) await check(`${where} ${i.key} ${r.name}`, { url: r.url });
        links += 1 + (i.related?.length ?? 0);
      }
    }
    await check('confidence', { command: report.summary.confidence.command });
    await check('items done', { command: report.accomplishments.itemsDone.command });
    await check('metrics', { command: report.metrics.command });
    for (const k of report.metrics.items) await check(`metric ${k.metric}`, { command: k.command });
    expect(problems).toEqual([]);
    expect(links).toBeGreaterThan(15);
  });

  it('gives every number its command: a count of a list that names fewer than all has one, each KPI has one', () => {
    for (const [where, l] of lists(report)) if (l.more > 0) expect(l.command, where).not.toBe('');
    for (const i of report.accomplishments.deployments.items)
      expect(i.command).toMatch(/^ptel metrics explain deployment_frequency --scope service:/);
    for (const m of report.nextMilestones.items) expect(m.command).toMatch(/^ptel forecast show jira:version\/\d /);
    for (const k of report.metrics.items) expect(k.command).toMatch(new RegExp(`^ptel metrics explain ${k.metric} `));
  });

  it('says so in one line per section for a program with nothing in the week', async () => {
    const empty = await reportOf('growth');
    const md = statusMarkdown(empty);
    expect(empty.summary.text).toContain(
      'Since last week: no change in the milestones, risks, decisions or dependencies. No asks this week.',
    );
    expect(empty.summary.text).toContain('Program confidence: none');
    for (const none of [
      empty.accomplishments.none,
      empty.nextMilestones.none,
      empty.risks.none,
      empty.decisions.none,
      empty.metrics.none,
    ]) {
      expect(none).not.toBeNull();
      expect(md.split('\n').filter((line) => line === none)).toHaveLength(1);
    }
    expect(md.match(/^## /gm)).toHaveLength(6);
  });

  it('reads the store as of an instant inside the week: what had not happened by then is not in it', async () => {
    const mid = await reportOf('payments', new Date('2026-10-29T12:00:00Z'), reportWeek('2026-10-26', 'UTC'));
    expect(mid.asOf).toBe('2026-10-29T12:00:00.000Z');
    expect(mid.accomplishments.deployments.items.map((i) => i.name)).toEqual(['checkout-api']);
    expect(mid.accomplishments.itemsDone.count).toBe(2);
    expect(mid.nextMilestones.items.map((m) => [m.key, m.detail, m.change])).toEqual([
      ['jira:epic/id-PAY-200', 'overdue', 'no forecast'],
      ['jira:version/1', 'on plan', 'no forecast run since last week'],
      ['jira:version/3', 'on plan', 'no forecast run since last week'],
    ]);
    expect(mid.summary.confidence.value).toBe(0.55);
    expect(mid.decisions.decisions.items[0]!.command).toContain('--as-of 2026-10-29T12:00:00Z');
  });

  it('refuses a week that has not begun by the instant', async () => {
    await expect(reportOf('payments', STATUS_NOW, reportWeek('2026-11-09', 'UTC'))).rejects.toThrow(
      /week 2026-W46 has not started by 2026-11-04T09:00:00Z/,
    );
  });
});

describe('a busier week: more high risks than the cap, a forecast run without its inputs', () => {
  let busy: StatusScenario;
  let r: StatusReport;
  beforeAll(async () => {
    busy = await statusScenario();
    const item = workItemMaker({
      programOf: { checkout: 'payments' },
      createdAt: '2026-10-02T09:00:00.000Z',
      updatedAt: '2026-10-02T09:00:00.000Z',
    });
    const run = (id: string, name: string, confidence: number): object => ({
      source: 'jira',
      milestone_id: id,
      name,
      program: 'payments',
      team: 'checkout',
      as_of: '2026-10-31 06:00:00.000',
      computed_at: '2026-10-31 06:00:00.000',
      committed: id === 'version/1' ? '2026-11-20' : '2026-12-10',
      p50: '2026-11-25',
      p85: '2026-12-04',
      p95: '2026-12-04',
      confidence,
      band: 'on track',
      method: 'throughput',
      ok: 1,
      reason: '',
      drivers: [],
      critical_path: [],
      inputs: '{}',
      trials: 1000,
      seed: 1,
      version: 1,
    });
    await insertTables(busy.store, {
      work_items: Array.from({ length: CAP + 2 }, (_, n) => item(`RX-${n + 1}`, 'risk', 'checkout', { severity: 'High', assignee: 'kim' })),
      milestone_forecasts: [run('version/1', 'Checkout 2.0', 0.7), run('version/3', 'Ledger GA', 0.8)],
    });
    r = await scenarioReport(busy);
  });
  afterAll(async () => {
    await busy.store.close();
  });

  it('names the first CAP items of a list and says how many more', () => {
    expect(r.risks.highRisks).toMatchObject({ total: CAP + 4, more: 4 });
    expect(r.risks.highRisks.items).toHaveLength(CAP);
    expect(statusMarkdown(r)).toContain('- and 4 more\n');
  });

  it('tells the change of a forecast whose inputs were not recorded from its numbers alone', () => {
    expect(r.nextMilestones.items.map((m) => m.change)).toEqual([
      "P(on time) rose from 0.55 to 0.70 (the runs' inputs were not recorded)",
      "P(on time) fell from 0.90 to 0.80 (the runs' inputs were not recorded)",
    ]);
  });
});

describe("a week before any forecast run was stored: the forecasts are computed as of the report's instant", () => {
  // The forecast scenario (test/support/forecasts.ts): Checkout 2.0 gets a number, Ledger 1.0 has too little
  // history. Week 2026-W11 ends on Monday 03-16 00:00 UTC, before any forecast run.
  const config = loadConfig({
    env: {},
    cwd: tempDir(),
    overrides: {
      dataDir: tempDir(),
      metrics: { timeZone: 'UTC', forecast: { trials: 500, seed: 3, windowWeeks: 4, minDoneItems: 3, minWeeks: 2 } },
    },
  });
  const reportConfig = { model: config.model, metrics: config.metrics, org: FORECAST_ORG };
  const END = new Date('2026-03-16T00:00:00Z');
  const WEEK_BEFORE = new Date('2026-03-09T00:00:00Z');
  const UNTIL = new Date('2026-03-18T09:00:00Z');
  let store: Store;
  let r: StatusReport;
  const w11 = (): Promise<StatusReport> =>
    statusReport({ store, config: reportConfig, program: 'payments', week: reportWeek('2026-03-09', 'UTC'), until: UNTIL });
  /** The program's forecasts as a run at `at` would have stored them. */
  const planned = async (at: Date): Promise<StoredForecast[]> =>
    (await planForecasts(store, config, at)).map((p) => storedOf(at, p)).filter((f) => f.program === 'payments');

  /** `ptel forecast ...` on the store, its words as the report writes them; the JSON document it prints. */
  async function ptel(
    command: string,
  ): Promise<{ code: number; out: string; json: () => { runAt: string | null; rows: Array<Record<string, unknown>> } }> {
    const { positionals, values } = commandLine(command, 'forecast');
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const rt = { store, clock: fixedClock(UNTIL), config, organisation: { org: FORECAST_ORG } };
    const code = await runForecast({ config, values, positionals, out, err: new PassThrough() }, (fn) => fn(rt));
    return { code, out: text, json: () => JSON.parse(text) as { runAt: string | null; rows: Array<Record<string, unknown>> } };
  }

  beforeAll(async () => {
    store = await testStore();
    await seedForecastScenario(store);
    r = await w11();
  });
  afterAll(async () => {
    await store.close();
  });

  it("gives each milestone the P50, P85 and confidence planForecasts gives as of the week's end", async () => {
    const expected = await planned(END);
    const checkout = expected.find((f) => f.milestoneId === 'version/1')!;
    expect(checkout.ok).toBe(true);
    expect(r.asOf).toBe(END.toISOString());
    expect(r.summary.confidence.forecasts).toEqual({ kind: 'computed', at: END.toISOString() });
    expect(r.summary.confidence.lastWeekForecasts).toEqual({ kind: 'computed', at: WEEK_BEFORE.toISOString() });
    expect(r.nextMilestones.items.map((m) => [m.key, m.p50, m.p85, m.confidence, m.band, m.noNumber])).toEqual(
      [...expected]
        .sort((a, b) => (a.committed! < b.committed! ? -1 : 1))
        .map((f) => [`${f.source}:${f.milestoneId}`, f.p50, f.p85, f.ok ? f.confidence : null, f.ok ? f.band : null, f.reason]),
    );
    const [program] = programConfidence(expected, { now: END, timeZone: 'UTC' });
    expect(r.summary.confidence).toMatchObject({ value: program!.confidence, band: program!.band, due: program!.due });
    expect(r.summary.confidence.value).toBe(checkout.confidence);
    // a week earlier was computed the same way, and the change is told against it
    const before = (await planned(WEEK_BEFORE)).find((f) => f.milestoneId === 'version/1')!;
    expect(r.summary.confidence.lastWeek).toBe(before.ok ? before.confidence : null);
    expect(r.nextMilestones.items.find((m) => m.key === 'jira:version/1')!.change).toBe(describeChange(before, checkout));
  });

  it('says so in one clause of the summary, with the command that gives the same numbers', async () => {
    const now = 'ptel forecast list --program payments --as-of 2026-03-16T00:00:00Z --compute';
    const then = 'ptel forecast list --program payments --as-of 2026-03-09T00:00:00Z --compute';
    expect(r.summary.confidence.computed).toBe(
      'No forecast run had been stored by 2026-03-16 00:00 UTC, so the forecasts were computed as of that instant for this report, ' +
        `and those a week earlier as of 2026-03-09 00:00 UTC, from the store as it stood then (stored nowhere; ${now} and ${then} give the same numbers)`,
    );
    expect(r.summary.text).toContain(` ${r.summary.confidence.computed}. `);
    expect(r.summary.confidence.command).toBe(now);
    expect(r.nextMilestones.command).toBe(now);
    for (const m of r.nextMilestones.items) expect(m.command).toBe(now);
    expect(statusMarkdown(r)).toContain('No forecast run had been stored by 2026-03-16 00:00 UTC');

    // The command the report names prints the report's numbers; without --compute there is no run to read.
    const listed = await ptel(`${now} --format json`);
    expect(listed.code).toBe(0);
    const rows = listed.json().rows;
    expect(rows.map((x) => [x['key'], x['p50'], x['p85']])).toEqual(r.nextMilestones.items.map((m) => [m.key, m.p50, m.p85]));
    expect(rows.map((x) => x['confidence'])).toEqual(
      r.nextMilestones.items.map((m) => (m.confidence === null ? null : Math.round(m.confidence * 100) / 100)),
    );
    const table = await ptel(now);
    expect(table.out).toContain(
      'Computed as of 2026-03-16 00:00 UTC from the store as it stood then, not read from a stored run; nothing stored\n',
    );
    expect(table.out).toContain(`payments: ${r.summary.confidence.value!.toFixed(2)} `);
    expect((await ptel(now.replace(' --compute', ''))).out).toContain('no forecast stored by then');
    expect((await ptel(`${then} --format json`)).json().rows.find((x) => x['key'] === 'jira:version/1')!['p50']).toBe(
      (await planned(WEEK_BEFORE)).find((f) => f.milestoneId === 'version/1')!.p50,
    );
  });

  it('gives the same report when asked again later, a forecast run stored since', async () => {
    await runForecasts(store, config, UNTIL);
    const again = await w11();
    expect(again).toEqual(r);
  });

  it("reads a run stored by the week's end instead, when there is one", async () => {
    const at = new Date('2026-03-13T06:00:00Z');
    const run = (await planned(at)).map((f) =>
      f.milestoneId === 'version/1' ? { ...f, p50: '2026-12-31', p85: '2027-01-29', confidence: 0.123 } : f,
    );
    await insertTables(store, {
      milestone_forecasts: run.map((f) => ({
        source: f.source,
        milestone_id: f.milestoneId,
        name: f.name,
        program: f.program,
        team: f.team,
        as_of: '2026-03-13 06:00:00.000',
        computed_at: '2026-03-13 06:00:00.000',
        committed: f.committed,
        p50: f.p50,
        p85: f.p85,
        p95: f.p95,
        confidence: f.confidence,
        band: f.band ?? '',
        method: f.method,
        ok: f.ok ? 1 : 0,
        reason: f.reason,
        drivers: f.drivers,
        critical_path: f.criticalPath,
        inputs: JSON.stringify(f.inputs),
        trials: f.trials,
        seed: f.seed,
        version: at.getTime() * 1000,
      })),
    });
    const stored = await w11();
    expect(stored.summary.confidence.forecasts).toEqual({ kind: 'run', at: at.toISOString() });
    expect(stored.summary.confidence.lastWeekForecasts.kind).toBe('computed');
    expect(stored.nextMilestones.items.find((m) => m.key === 'jira:version/1')).toMatchObject({
      p50: '2026-12-31',
      p85: '2027-01-29',
      confidence: 0.123,
      command: 'ptel forecast show jira:version/1 --as-of 2026-03-16T00:00:00Z',
    });
    expect(stored.summary.confidence.value).toBe(0.123);
    expect(stored.summary.confidence.command).toBe('ptel forecast list --program payments --as-of 2026-03-16T00:00:00Z');
    expect(stored.summary.confidence.computed).toBe(
      'No forecast run had been stored by 2026-03-09 00:00 UTC, so the forecasts a week earlier were computed as of that instant for this report, ' +
        'from the store as it stood then (stored nowhere; ptel forecast list --program payments --as-of 2026-03-09T00:00:00Z --compute gives the same numbers)',
    );
    expect((await ptel(`${stored.summary.confidence.command} --format json`)).json().runAt).toBe(at.toISOString());
  });
});

describe("a week whose metrics were computed after its end: the KPIs and the risk signals are computed as of the report's instant", () => {
  // statusScenarioComputedLater: nothing stored by 2026-11-02 00:00 (the week's end), one full metrics run on
  // 11-04. `ref` holds the same facts and, besides, what a full metrics run as of the week's end stores.
  const END = STATUS_WEEK_END;
  const config = loadConfig({ env: {}, cwd: tempDir(), overrides: { dataDir: tempDir(), metrics: { timeZone: 'UTC' } } });
  let later: StatusScenario;
  let ref: StatusScenario;
  let r: StatusReport;
  const program = { kind: 'program' as const, id: 'payments' };

  /** `ptel metrics ...` on a store, its words as the report writes them: the exit code, what it printed and its errors. */
  async function ptel(store: Store, command: string): Promise<{ code: number; out: string; err: string }> {
    const { positionals, values } = commandLine(command, 'metrics');
    const out = new PassThrough();
    const err = new PassThrough();
    let text = '';
    let errors = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    err.on('data', (d: Buffer) => (errors += d.toString()));
    const rt = { store, clock: fixedClock(STATUS_NOW), organisation: { org: later.config.org } };
    const code = await runMetrics({ config, values, positionals, out, err }, (fn) => fn(rt));
    return { code, out: text, err: errors };
  }

  beforeAll(async () => {
    later = await statusScenarioComputedLater();
    ref = { store: await copiedTestStore(later.store), config: later.config };
    // The signals of the later run would replace those of the run as of the week's end once merged: ref keeps only the latter.
    for (const table of ['risk_signals', 'risk_scores']) await ref.store.client.command({ query: `TRUNCATE TABLE ${table}` });
    await runMetricsJob({ store: ref.store, config: ref.config, run: { mode: 'full' }, now: STATUS_NOW, asOf: END });
    r = await scenarioReport(later);
  }, 300_000);
  afterAll(async () => {
    await Promise.all([later.store.close(), ref.store.close()]);
  });

  it("gives the weekly KPIs the values a metrics run as of the week's end stores", async () => {
    expect(r.asOf).toBe(END.toISOString());
    expect(r.metricSources.values).toEqual({ kind: 'computed', at: END.toISOString() });
    expect(r.metrics.none).toBeNull();
    // by hand: checkout-api deployed on one day in each of W40 to W43, and on three days of W44 with ledger-api
    expect(r.metrics.items.find((k) => k.metric === 'deployment_days')).toMatchObject({
      value: 3,
      previous: [
        { week: '2026-09-28', value: 1 },
        { week: '2026-10-05', value: 1 },
        { week: '2026-10-12', value: 1 },
        { week: '2026-10-19', value: 1 },
      ],
      baseline: 1,
    });
    const engine = await readMetricValues(ref.store, { period: 'week', scope: program, from: '2026-09-28', to: '2026-11-02', asOf: END });
    expect(engine.every((v) => v.computed_at === '2026-11-02 00:00:00.000')).toBe(true);
    const at = (metric: string, week: string): number | null | undefined =>
      engine.find((v) => v.metric === metric && v.period_start === week)?.value;
    expect(r.metrics.total).toBe(engine.filter((v) => v.period_start === '2026-10-26').length);
    expect(r.metrics.total).toBeGreaterThan(10);
    for (const k of r.metrics.items) {
      expect([k.metric, k.value]).toEqual([k.metric, at(k.metric, '2026-10-26')]);
      expect(k.previous.map((p) => [k.metric, p.value])).toEqual(k.previous.map((p) => [k.metric, at(k.metric, p.week) ?? null]));
    }
  });

  it("lists the risk signals a metrics run as of the week's end scores: the program's own first", async () => {
    expect(r.metricSources.signals).toEqual({ kind: 'computed', at: END.toISOString(), values: 'computed' });
    expect(r.risks.signals.items.map((i) => i.key)).toEqual(['program:payments/deployment_count', 'team:checkout/deployment_count']);
    expect(r.risks.signals.items[0]!.detail).toMatch(
      /^Production deployment count for program payments was 3 in the week of 2026-10-26, against 11 expected \(band [\d.]+-\d+\) over 10 of the previous 12 weeks\.$/,
    );
    const stored = await queryRows<{ key: string; explanation: string }>(
      ref.store,
      `SELECT concat(scope_kind, ':', scope_id, '/', indicator) AS key, explanation FROM risk_signals FINAL
       WHERE week_start = '2026-10-26' AND computed_at = '2026-11-02 00:00:00.000' AND active = 1 AND is_deleted = 0
         AND concat(scope_kind, ':', scope_id) IN ('program:payments', 'team:checkout', 'team:ledger')
       ORDER BY scope_kind = 'team', key`,
    );
    expect(r.risks.signals.items.map((i) => [i.key, i.detail])).toEqual(stored.map((x) => [x.key, x.explanation]));
    expect(r.risks.signals.items[0]!.command).toBe(
      'ptel metrics explain deployment_frequency --scope program:payments --period week --start 2026-10-26 --as-of 2026-11-02T00:00:00Z',
    );
  });

  it('says so in one clause of the summary, naming the command that gives the same numbers', async () => {
    const show =
      'ptel metrics show --scope program:payments --period week --from 2026-09-28 --to 2026-11-02 --as-of 2026-11-02T00:00:00Z --compute';
    const history =
      'ptel metrics show --scope program:payments --period week --from 2025-10-27 --to 2026-11-02 --as-of 2026-11-02T00:00:00Z --compute';
    expect(r.metricSources.computed).toBe(
      "No metric value of 2026-W44 had been stored by 2026-11-02 00:00 UTC, so the program's weekly KPIs of 2026-W40 to 2026-W44 " +
        "and the week's risk signals were computed as of that instant for this report, from the facts as they stood then " +
        `(stored nowhere; ${show} gives the same values, and ${history} the program's history the signals were scored from)`,
    );
    expect(r.summary.text).toContain(` ${r.metricSources.computed}.`);
    expect(statusMarkdown(r)).toContain('No metric value of 2026-W44 had been stored by 2026-11-02 00:00 UTC');
    expect(r.metrics.command).toBe(show);
    expect(r.risks.signals.command).toBe(show);

    // The command prints the report's numbers: every KPI of the week and the four weeks before.
    const listed = await ptel(later.store, `${show} --format json`);
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.out) as Array<{ metric: string; period_start: string; value: number | null }>;
    for (const k of r.metrics.items)
      for (const p of [...k.previous, { week: '2026-10-26', value: k.value }])
        expect([k.metric, p.week, rows.find((x) => x.metric === k.metric && x.period_start === p.week)?.value ?? null]).toEqual([
          k.metric,
          p.week,
          p.value,
        ]);
    expect(new Set(rows.filter((x) => x.period_start === '2026-10-26').map((x) => x.metric)).size).toBe(r.metrics.total);
    const table = await ptel(later.store, show);
    expect(table.out).toContain(
      'Computed as of 2026-11-02 00:00 UTC from the facts as they stood then, not read from stored values; nothing stored\n',
    );
    // The history the signals read: ten weeks of about ten deployments before the week's three.
    const past = JSON.parse((await ptel(later.store, `${history} --metric deployment_frequency --format json`)).out) as Array<{
      value: number;
    }>;
    expect(past.map((x) => x.value)).toEqual([...CHECKOUT_HISTORY.map(([, n]) => n), 3]);
    // Without --compute, show reads stored values only: none had been stored by then.
    const stored = await ptel(later.store, show.replace(' --compute', ''));
    expect(stored.err).toContain('no values had been computed by 2026-11-02T00:00:00.000Z');

    // Each row's explain command evaluates the same value as of the instant.
    for (const k of r.metrics.items) {
      const explained = await ptel(later.store, k.command);
      expect(explained.code).toBe(0);
      const definition = metricById(k.metric)!;
      const units = await explainMetric({
        store: later.store,
        definition,
        params: metricParams(later.config),
        scope: program,
        period: { kind: 'week', start: '2026-10-26' },
        scopes: scopesOf(later.config.org),
        asOf: END,
      });
      const arithmetic = unitsArithmetic(definition.aggregate, units);
      expect([k.metric, arithmetic.value]).toEqual([k.metric, k.value]);
      expect(explained.out.split('\n')[0]).toBe(
        `${k.metric} for program payments, week of 2026-10-26 (2026-W44): ${arithmeticText(definition, arithmetic)}`,
      );
    }
  });

  it('gives the same report when asked again later, another metrics run stored since', async () => {
    // The report reads weekly values and the risk signals scored from them: a run of the weekly periods stores both anew.
    await runMetricsJob({
      store: later.store,
      config: later.config,
      run: { mode: 'full' },
      periods: ['week'],
      now: new Date('2026-11-05T09:00:00Z'),
    });
    for (const table of ['metric_values', 'risk_signals']) {
      const [since] = await queryRows<{ n: string }>(
        later.store,
        `SELECT count() AS n FROM ${table} WHERE computed_at = '2026-11-05 09:00:00.000'`,
      );
      expect(Number(since!.n), table).toBeGreaterThan(0);
    }
    const again = await scenarioReport(later, 'payments', new Date('2026-11-05T09:00:00Z'), reportWeek('2026-10-26', 'UTC'));
    expect(again).toEqual(r);
  });

  it("reads the values and signals stored by the week's end instead, when a run stored them", async () => {
    const stored = await scenarioReport(ref);
    expect(stored.metricSources).toEqual({
      values: { kind: 'stored', at: END.toISOString() },
      signals: { kind: 'stored', at: END.toISOString(), values: 'stored' },
      computed: '',
    });
    expect(stored.summary.text).not.toContain('had been stored by 2026-11-02 00:00 UTC, so the');
    expect(stored.metrics.command).toBe(
      'ptel metrics show --scope program:payments --period week --from 2026-09-28 --to 2026-11-02 --as-of 2026-11-02T00:00:00Z',
    );
    // the same numbers as computed for the store that had none
    expect(stored.metrics).toEqual({ ...r.metrics, command: stored.metrics.command });
    expect(stored.risks.signals.items).toEqual(r.risks.signals.items);
  });
});

describe('ISO weeks', () => {
  it('reads YYYY-Www to its Monday and says what is wrong with anything else', () => {
    expect(parseIsoWeek('2026-W44')).toEqual({ monday: '2026-10-26' });
    expect(parseIsoWeek('2026-W01')).toEqual({ monday: '2025-12-29' });
    expect(parseIsoWeek('2026-W53')).toEqual({ monday: '2026-12-28' });
    expect(parseIsoWeek('2027-W53')).toEqual({ problem: "'2027-W53': 2027 has weeks 01 to 52" });
    expect(parseIsoWeek('2026-44')).toEqual({ problem: "'2026-44' is not an ISO week; expected YYYY-Www such as 2026-W44" });
    expect(parseIsoWeek('2026-W00')).toEqual({ problem: "'2026-W00': 2026 has weeks 01 to 53" });
    expect(isoWeekOf('2027-01-01')).toBe('2026-W53');
  });

  it('cuts a week at Monday midnight in the time zone, across a change of offset', () => {
    const w = reportWeek('2026-10-26', 'Europe/Berlin');
    expect([w.from.toISOString(), w.to.toISOString()]).toEqual(['2026-10-25T23:00:00.000Z', '2026-11-01T23:00:00.000Z']);
    const before = reportWeek('2026-10-19', 'Europe/Berlin');
    expect(before.from.toISOString()).toBe('2026-10-18T22:00:00.000Z');
    expect(lastWholeWeek(new Date('2026-11-01T23:30:00Z'), 'Europe/Berlin').id).toBe('2026-W44');
    expect(lastWholeWeek(new Date('2026-11-01T22:30:00Z'), 'Europe/Berlin').id).toBe('2026-W43');
  });
});
