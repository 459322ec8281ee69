import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPortfolio } from '../../app/status-report.js';
import { queryRows, repoRoot } from '../../test/support/harness.js';
import { insertTables } from '../../test/support/mapping.js';
import { historyRow, milestoneDateRow, milestoneRow, workItemMaker, blocksLinkRow } from '../../test/support/rows.js';
import { scenarioReport, statusScenario, STATUS_NOW, type StatusScenario } from '../../test/support/status-report.js';
import { readForecasts } from '../forecast/job.js';
import { metricParams } from '../metrics/engine.js';
import { readRegister, registerById } from '../registers/index.js';
import { milestoneRegister } from '../registers/milestones.js';
import { text, yes, type RegisterRow } from '../registers/types.js';
import { programConfidence } from '../forecast/confidence.js';
import { portfolioMarkdown } from './portfolio-markdown.js';
import { portfolioReport, type PortfolioReport } from './portfolio.js';
import { CAP } from './status.js';
import { lastWholeWeek, parseIsoWeek, reportWeek } from './week.js';

const GOLDEN = path.join(repoRoot, 'test/fixtures/status-report/portfolio-2026-W44.md');

let s: StatusScenario;
let view: PortfolioReport;

const viewOf = (sc: StatusScenario, until: Date = STATUS_NOW, week = lastWholeWeek(until, 'UTC')): Promise<PortfolioReport> =>
  portfolioReport({ store: sc.store, config: sc.config, week, until });

beforeAll(async () => {
  s = await statusScenario();
  view = await viewOf(s);
});

afterAll(async () => {
  await s.store.close();
});

/** The option values of a command line: --name value (a flag with no value reads as ''). */
function options(command: string): { words: string[]; values: Record<string, string> } {
  const words = command.split(' ');
  const values: Record<string, string> = {};
  for (let i = 0; i < words.length; i++)
    if (words[i]!.startsWith('--')) values[words[i]!.slice(2)] = words[i + 1]?.startsWith('--') === false ? words[++i]! : '';
  return { words, values };
}

/**
 * What is wrong with a link of the view, or undefined when it resolves in the scenario's store: a URL names a
 * stored work item or milestone; `ptel list` names a register holding the item (or, for a number, holding as
 * many rows as it says); `ptel forecast list` a stored forecast of the program; `ptel status-report` a
 * program whose own report, read at the same instant, has the colour the view gives it.
 */
async function unresolved(link: {
  url?: string;
  command?: string;
  itemUrl?: string;
  count?: { n: number; rows: (r: RegisterRow) => boolean };
  confidence?: number | null;
  colour?: string;
}): Promise<string | undefined> {
  if (link.url !== undefined && link.url !== '') {
    const [hit] = await queryRows<{ n: string }>(
      s.store,
      `SELECT count() AS n FROM (SELECT url FROM work_items FINAL UNION ALL SELECT url FROM milestones FINAL) WHERE url = {url:String}`,
      { url: link.url },
    );
    return Number(hit?.n) > 0 ? undefined : `no entity with url ${link.url}`;
  }
  const command = link.command ?? '';
  const { words, values } = options(command);
  const asOf = new Date(values['as-of'] ?? '');
  if (words[0] !== 'ptel' || Number.isNaN(asOf.getTime())) return `not a ptel command read as of an instant: ${command}`;
  if (words[1] === 'list') {
    const definition = registerById(words[2] ?? '');
    if (definition === undefined) return `no register in ${command}`;
    const params = metricParams(s.config);
    const program = values['program'];
    const { rows } = await readRegister(s.store, definition, {
      params,
      asOf,
      recentDays: 8,
      ...(program !== undefined ? { program } : {}),
    });
    if (link.itemUrl !== undefined) return rows.some((r) => r['url'] === link.itemUrl) ? undefined : `${link.itemUrl} not in ${command}`;
    if (link.count !== undefined) {
      const n = rows.filter(link.count.rows).length;
      return n === link.count.n ? undefined : `${command} lists ${n}, the view says ${link.count.n}`;
    }
    return rows.length > 0 ? undefined : `nothing in ${command}`;
  }
  if (words[1] === 'forecast' && words[2] === 'list') {
    const { forecasts } = await readForecasts(s.store, { asOf, program: values['program'] ?? '' });
    const [read] = programConfidence(forecasts, { now: asOf, timeZone: 'UTC' });
    const value = read?.confidence ?? null;
    return value === link.confidence ? undefined : `${command} gives confidence ${value}, the view ${link.confidence}`;
  }
  if (words[1] === 'status-report') {
    const week = parseIsoWeek(values['week'] ?? '');
    if ('problem' in week) return `${command}: ${week.problem}`;
    const r = await scenarioReport(s, values['program'] ?? '', asOf, reportWeek(week.monday, 'UTC'));
    return r.summary.colour === link.colour ? undefined : `${command} is ${r.summary.colour}, the view says ${link.colour ?? '?'}`;
  }
  return `an unknown command: ${command}`;
}

describe('the portfolio view', () => {
  it('reads the week by the program report instant rules: the week end, against the week before', () => {
    expect(view.week).toEqual({ id: '2026-W44', first: '2026-10-26', last: '2026-11-01' });
    expect(view.asOf).toBe('2026-11-02T00:00:00.000Z');
    expect(view.previousAsOf).toBe('2026-10-26T00:00:00.000Z');
  });

  it('renders the scenario to the Markdown of the golden file, word for word', () => {
    // UPDATE_GOLDEN=1 rewrites the file from the view; read the diff before committing it.
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(GOLDEN, portfolioMarkdown(view));
    expect(portfolioMarkdown(view)).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('takes each program row from the program report: colour, confidence and its change, decisions and high risks', async () => {
    expect(view.programs.map((p) => p.program.id)).toEqual(['payments', 'growth']);
    for (const p of view.programs) {
      const own = await scenarioReport(s, p.program.id);
      expect(p.colour).toBe(own.summary.colour);
      expect(p.lastWeekColour).toBe(own.summary.lastWeekColour);
      expect([p.confidence.value, p.confidence.band, p.confidence.lastWeek]).toEqual([
        own.summary.confidence.value,
        own.summary.confidence.band,
        own.summary.confidence.lastWeek,
      ]);
      expect(p.decisions.open).toBe(own.decisions.decisions.total);
      expect(p.highRisks.open).toBe(own.risks.highRisks.total);
    }
    const [payments, growth] = view.programs;
    expect(payments).toMatchObject({
      colour: 'red',
      confidence: {
        value: 0.42,
        band: 'off track',
        change: 'down from 0.55',
        setBy: { key: 'jira:version/1', url: 'https://acme.atlassian.net/projects/version/1' },
      },
      decisions: { open: 1, pastTarget: 1 },
      highRisks: { open: 2, unowned: 1 },
    });
    expect(payments!.milestonesAtRisk.items.map((m) => [m.key, m.detail])).toEqual([
      ['jira:version/1', 'on plan, committed 2026-11-20: forecast off track: P(on time) 0.42, P85 2026-12-04'],
    ]);
    expect(growth).toMatchObject({
      colour: 'green',
      confidence: { value: null, setBy: null, change: 'none, as last week' },
      milestonesAtRisk: { total: 0 },
      decisions: { open: 0, pastTarget: 0 },
      highRisks: { open: 0, unowned: 0 },
    });
  });

  it('lists the open blocking links whose blocker is in another program, with both programs, the owner team and the idle days', () => {
    expect(view.dependencies.none).toBeNull();
    expect(view.dependencies.items).toHaveLength(1);
    // LED-5 blocks CHK-20 within payments: not across programs, so not here
    expect(view.dependencies.items[0]).toMatchObject({
      name: 'CHK-30 blocks WEB-7',
      blocker: { key: 'CHK-30', program: 'payments', team: 'checkout', owner: 'dana' },
      blocked: { key: 'WEB-7', program: 'growth', team: 'web', url: 'https://acme.atlassian.net/browse/WEB-7' },
      stalled: false,
      idleDays: 2,
    });
    expect(view.dependencies.items[0]!.detail).toBe(
      'Payments (team checkout, owner dana) holds up Growth (team web); not stalled; the blocker idle 2 business days, open 4.6 days',
    );
  });

  it("ranks the top risks across programs in the risk register's order: high first, unowned first among equals, then oldest", async () => {
    const { rows } = await readRegister(s.store, registerById('risks')!, {
      params: metricParams(s.config),
      asOf: new Date(view.asOf),
      recentDays: 8,
    });
    const open = rows.filter((r) => r['closed'] === null).map((r) => text(r['item']));
    expect(open).toHaveLength(6);
    expect(view.topRisks).toMatchObject({ total: 6, more: 1 });
    expect(view.topRisks.items.map((r) => r.name)).toEqual(open.slice(0, CAP));
    expect(view.topRisks.items.map((r) => [r.name, r.program.id, r.severity])).toEqual([
      ['R-1', 'payments', 'high'],
      ['R-2', 'payments', 'high'],
      ['GRO-1', 'growth', 'medium'],
      ['R-3', 'payments', 'medium'],
      ['GRO-2', 'growth', 'low'],
    ]);
  });

  it('is its own JSON', () => {
    expect(JSON.parse(renderPortfolio(view, 'json'))).toEqual(JSON.parse(JSON.stringify(view)));
  });

  it('links every item and number to its source or the command behind it, and every link resolves in the store', async () => {
    const problems: string[] = [];
    const check = async (where: string, link: Parameters<typeof unresolved>[0]): Promise<void> => {
      const p = await unresolved(link);
      if (p !== undefined) problems.push(`${where}: ${p}`);
    };
    let links = 0;
    for (const p of view.programs) {
      const at = `program ${p.program.id}`;
      await check(`${at} report`, { command: p.command, colour: p.colour });
      await check(`${at} confidence`, { command: p.confidence.command, confidence: p.confidence.value });
      if (p.confidence.setBy !== null) await check(`${at} set by`, { url: p.confidence.setBy.url });
      await check(`${at} decisions`, {
        command: p.decisions.command,
        count: { n: p.decisions.open, rows: (r) => r['status'] === 'open' || r['status'] === 'overdue' },
      });
      await check(`${at} decisions past target`, {
        command: p.decisions.command,
        count: { n: p.decisions.pastTarget, rows: (r) => r['status'] === 'overdue' },
      });
      await check(`${at} high risks`, {
        command: p.highRisks.command,
        count: { n: p.highRisks.open, rows: (r) => r['closed'] === null && r['severity'] === 'high' },
      });
      await check(`${at} milestones at risk`, {
        command: p.milestonesAtRisk.command,
        count: {
          n: p.milestonesAtRisk.total,
          rows: (r) => !text(r['status']).startsWith('done') && milestoneRegister.board(r).flag !== 'green',
        },
      });
      for (const m of p.milestonesAtRisk.items) {
        await check(`${at} ${m.key}`, { url: m.url });
        await check(`${at} ${m.key}`, { command: m.command, itemUrl: m.url });
      }
      links += 6 + p.milestonesAtRisk.items.length;
    }
    await check('dependencies', {
      command: view.dependencies.command,
      count: { n: view.dependencies.total, rows: (r) => yes(r['cross_program']) },
    });
    for (const d of view.dependencies.items) {
      await check(d.name, { url: d.blocker.url });
      await check(d.name, { url: d.blocked.url });
      await check(d.name, { command: d.command, itemUrl: d.blocker.url });
      links += 3;
    }
    await check('top risks', { command: view.topRisks.command, count: { n: view.topRisks.total, rows: (r) => r['closed'] === null } });
    for (const r of view.topRisks.items) {
      await check(r.name, { url: r.url });
      await check(r.name, { command: r.command, itemUrl: r.url });
      links += 2;
    }
    expect(problems).toEqual([]);
    expect(links).toBeGreaterThan(20);
  });

  it('refuses a week that has not begun by the instant', async () => {
    await expect(viewOf(s, STATUS_NOW, reportWeek('2026-11-09', 'UTC'))).rejects.toThrow(
      /week 2026-W46 has not started by 2026-11-04T09:00:00Z/,
    );
  });

  it('reads the store as of an instant inside the week: a milestone overdue then is at risk, and worst first', async () => {
    const mid = await viewOf(s, new Date('2026-10-29T12:00:00Z'), reportWeek('2026-10-26', 'UTC'));
    expect(mid.asOf).toBe('2026-10-29T12:00:00.000Z');
    const payments = mid.programs.find((p) => p.program.id === 'payments')!;
    expect(payments.milestonesAtRisk.items.map((m) => [m.name, m.detail.split(':')[0]])).toEqual([
      ['Wallet launch', 'overdue, committed 2026-10-28'],
      ['Checkout 2.0', 'on plan, committed 2026-11-20'],
    ]);
    expect(payments.command).toBe('ptel status-report --program payments --week 2026-W44 --as-of 2026-10-29T12:00:00Z');
    // the link across programs exists from 10-28
    expect(mid.dependencies.items.map((d) => d.name)).toEqual(['CHK-30 blocks WEB-7']);
  });
});

describe('a busier portfolio: a stalled link across programs, more milestones at risk than the cap, no programs', () => {
  let busy: StatusScenario;
  let r: PortfolioReport;
  beforeAll(async () => {
    busy = await statusScenario();
    const item = workItemMaker({
      programOf: { web: 'growth', checkout: 'payments' },
      createdAt: '2026-09-01T09:00:00.000Z',
      updatedAt: '2026-09-01T09:00:00.000Z',
    });
    const overdue = Array.from({ length: CAP + 2 }, (_, n) => `version/g${n + 1}`);
    await insertTables(busy.store, {
      milestones: overdue.map((id, n) =>
        milestoneRow(id, `Growth drop ${n + 1}`, 'web', 'growth', {
          start_date: '2026-09-01',
          committed_date: `2026-10-${String(10 + n).padStart(2, '0')}`,
        }),
      ),
      milestone_dates: overdue.map((id, n) =>
        milestoneDateRow(id, '2026-09-01T00:00:00.000Z', `2026-10-${String(10 + n).padStart(2, '0')}`),
      ),
      work_items: [
        item('WEB-9', 'task', 'web', {
          status: 'In Progress',
          status_category: 'in_progress',
          summary: 'Consent banner API',
          updated_at: '2026-09-15T09:00:00.000Z',
        }),
        item('CHK-40', 'story', 'checkout', { summary: 'Ask for consent at checkout' }),
      ],
      work_item_history: [historyRow('WEB-9', '2026-09-15T09:00:00.000Z', 'status', 'To Do', 'In Progress')],
      work_item_links: [blocksLinkRow('WEB-9', 'CHK-40', '2026-09-16T09:00:00.000Z')],
    });
    r = await viewOf(busy);
  });
  afterAll(async () => {
    await busy.store.close();
  });

  it('puts the stalled link first, says it is stalled and why, and both programs turn red for it', () => {
    expect(r.dependencies.items.map((d) => [d.name, d.stalled])).toEqual([
      ['WEB-9 blocks CHK-40', true],
      ['CHK-30 blocks WEB-7', false],
    ]);
    expect(r.dependencies.items[0]!.detail).toMatch(
      /^Growth \(team web, owner dana\) holds up Payments \(team checkout\); stalled: idle \d+ business days since 2026-09-15 .*; the blocker idle \d+ business days, open \d+\.\d days$/,
    );
    expect(r.programs.map((p) => [p.program.id, p.colour])).toEqual([
      ['payments', 'red'],
      ['growth', 'red'],
    ]);
    expect(r.programs[1]!.health).toContain('1 dependency across programs stalled: WEB-9 blocks CHK-40');
  });

  it('names the worst CAP milestones at risk, most overdue first, and says how many more', () => {
    const growth = r.programs.find((p) => p.program.id === 'growth')!;
    expect(growth.milestonesAtRisk).toMatchObject({ total: CAP + 2, more: 2 });
    expect(growth.milestonesAtRisk.items.map((m) => m.name)).toEqual([
      'Growth drop 1',
      'Growth drop 2',
      'Growth drop 3',
      'Growth drop 4',
      'Growth drop 5',
    ]);
    expect(portfolioMarkdown(r)).toContain('  - and 2 more\n');
  });

  it('says so in one line for an organisation without programs', async () => {
    const empty = await portfolioReport({
      store: busy.store,
      config: { ...busy.config, org: { ...busy.config.org, programs: [] } },
      week: lastWholeWeek(STATUS_NOW, 'UTC'),
      until: STATUS_NOW,
    });
    const md = portfolioMarkdown(empty);
    for (const none of [empty.programsNone, empty.dependencies.none, empty.topRisks.none]) {
      expect(none).not.toBeNull();
      expect(md.split('\n').filter((line) => line === none)).toHaveLength(1);
    }
    expect(md.match(/^## /gm)).toHaveLength(3);
  });
});
