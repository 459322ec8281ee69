import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_TEXT } from '../../test/support/exported-month.js';
import { statusScenario, STATUS_NOW, type StatusScenario } from '../../test/support/status-report.js';
import { escapeHtml } from '../export/html.js';
import { portfolioHtml } from './portfolio-html.js';
import { portfolioMarkdown } from './portfolio-markdown.js';
import { portfolioSlack } from './portfolio-slack.js';
import { portfolioReport, type PortfolioProgram, type PortfolioReport } from './portfolio.js';
import { blockText, SLACK_LIMITS, type SlackBlock } from './slack.js';
import { lastWholeWeek } from './week.js';

let s: StatusScenario;
let view: PortfolioReport;
let empty: PortfolioReport;

beforeAll(async () => {
  s = await statusScenario();
  const week = lastWholeWeek(STATUS_NOW, 'UTC');
  view = await portfolioReport({ store: s.store, config: s.config, week, until: STATUS_NOW });
  empty = await portfolioReport({
    store: s.store,
    config: { ...s.config, org: { ...s.config.org, programs: [] } },
    week,
    until: STATUS_NOW,
  });
});

afterAll(async () => {
  await s.store.close();
});

/** Every URL and every command the view names. */
function links(r: PortfolioReport): { urls: string[]; commands: string[] } {
  const urls: string[] = [];
  const commands: string[] = [];
  for (const p of r.programs) {
    commands.push(p.command, p.confidence.command, p.decisions.command, p.highRisks.command, p.milestonesAtRisk.command);
    if (p.confidence.setBy !== null) urls.push(p.confidence.setBy.url);
    for (const m of p.milestonesAtRisk.items) urls.push(m.url);
  }
  for (const d of r.dependencies.items) {
    urls.push(d.blocker.url, d.blocked.url);
    commands.push(d.command);
  }
  for (const k of r.topRisks.items) {
    urls.push(k.url);
    commands.push(k.command);
  }
  commands.push(r.dependencies.command, r.topRisks.command);
  return { urls: [...new Set(urls)], commands: [...new Set(commands)] };
}

/** A copy of the view with `n` programs, each a renamed copy of the scenario's payments row. */
function manyPrograms(n: number): PortfolioReport {
  const base = structuredClone(view);
  const payments = base.programs[0]!;
  base.programs = Array.from({ length: n }, (_, i): PortfolioProgram => ({
    ...structuredClone(payments),
    program: { id: `p${i + 1}`, name: `Program ${i + 1} ${'x'.repeat(60)}` },
  }));
  return base;
}

describe('the portfolio as HTML', () => {
  it('is one document with the three sections in order, each under its heading, a table row per program with its colour', () => {
    const doc = portfolioHtml(view);
    expect(doc.startsWith('<!DOCTYPE html>\n')).toBe(true);
    expect(doc).toContain('<title>Portfolio status, week 2026-W44</title>');
    const sections = [...doc.matchAll(/data-section="([^"]+)"[^>]*>\s*<h2[^>]*>([^<]*)<\/h2>/g)].map((m) => [m[1], m[2]]);
    expect(sections).toEqual([
      ['programs', '1. Programs'],
      ['dependencies', '2. Cross-program dependencies'],
      ['risks', '3. Top risks'],
    ]);
    expect([...doc.matchAll(/<tr data-program="([^"]+)">/g)].map((m) => m[1])).toEqual(['payments', 'growth']);
    expect([...doc.matchAll(/data-colour="([^"]+)"/g)].map((m) => m[1])).toEqual(['red', 'green']);
    expect(doc.endsWith('</html>\n')).toBe(true);
  });

  it('links every item to its source with an href and shows every command in <code>', () => {
    const doc = portfolioHtml(view);
    const { urls, commands } = links(view);
    expect(urls.length).toBeGreaterThanOrEqual(8);
    for (const u of urls) expect(doc, u).toContain(`<a href="${escapeHtml(u)}"`);
    for (const c of commands)
      expect(doc, c).toMatch(new RegExp(`<code [^>]*>${escapeHtml(c).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}</code>`));
  });

  it('asks for nothing from the network and needs no stylesheet, and keeps text from the sources as text', () => {
    const hostile = structuredClone(view);
    hostile.programs[0]!.program.name = HOSTILE_TEXT;
    hostile.topRisks.items[0]!.title = HOSTILE_TEXT;
    hostile.topRisks.items[1]!.url = 'javascript:alert(1)';
    hostile.dependencies.items[0]!.blocked.title = HOSTILE_TEXT;
    const doc = portfolioHtml(hostile);
    expect(doc).not.toMatch(/<script|<link|<style|\ssrc=|\sclass=|url\(/i);
    expect(doc).toContain(escapeHtml(HOSTILE_TEXT));
    expect(doc).not.toContain('href="javascript:');
    // an address that is not a web address stays text
    expect(doc).toMatch(/>R-2 Ledger migration needs a freeze window \(Payments\)/);
  });

  it('says so in one line for each empty part', () => {
    const doc = portfolioHtml(empty);
    for (const none of [empty.programsNone, empty.dependencies.none, empty.topRisks.none]) {
      expect(none).not.toBeNull();
      expect(doc.split(`>${none!}</p>`)).toHaveLength(2);
    }
    expect(doc).not.toContain('<tr data-program=');
  });
});

describe('the portfolio as a Slack message', () => {
  const within = (blocks: SlackBlock[]): void => {
    expect(blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    expect(blockText(blocks)).toBeLessThanOrEqual(SLACK_LIMITS.total);
    for (const b of blocks) {
      if (b.type === 'header') expect(b.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.header);
      if (b.type === 'section') expect(b.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.text);
    }
  };

  it('has a header, the three parts after dividers, every item linked and the command printing the whole view', () => {
    const m = portfolioSlack(view);
    within(m.blocks);
    expect(m.text).toBe('Portfolio status, week 2026-W44: 2 programs (1 red, 0 amber, 1 green), 1 blocking link across programs.');
    expect(m.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Portfolio status, week 2026-W44', emoji: false } });
    expect(m.blocks.filter((b) => b.type === 'divider')).toHaveLength(3);
    const all = JSON.stringify(m.blocks);
    for (const u of links(view).urls) expect(all, u).toContain(`<${u}|`);
    expect(all).toContain('<https://acme.atlassian.net/browse/R-1|R-1>');
    expect(all).toContain('`ptel status-report --program payments --week 2026-W44 --as-of 2026-11-02T00:00:00Z`');
    const last = m.blocks[m.blocks.length - 1]!;
    expect(last).toEqual({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: 'The whole view: `ptel status-report --portfolio --week 2026-W44 --as-of 2026-11-02T00:00:00Z --format md`',
        },
      ],
    });
  });

  it('keeps within Slack\'s limits with many programs, cutting the healthiest last rows and counting them in "and N more"', () => {
    const big = manyPrograms(200);
    const m = portfolioSlack(big);
    within(m.blocks);
    const all = m.blocks.map((b) => (b.type === 'section' ? b.text.text : b.type === 'context' ? b.elements[0]!.text : '')).join('\n');
    const shown = [...all.matchAll(/^• \*Program (\d+) /gm)].map((x) => Number(x[1]));
    expect(shown.length).toBeGreaterThan(5);
    expect(shown).toEqual(shown.map((_, i) => i + 1));
    const more = /• and (\d+) more: `ptel status-report --portfolio /.exec(all);
    expect(Number(more?.[1])).toBe(200 - shown.length);
    expect(all).toMatch(new RegExp(`Cut to fit Slack's limits: ${200 - shown.length} lines left out`));
    // a tighter block budget cuts further, still counting every program
    const tight = portfolioSlack(big, { ...SLACK_LIMITS, blocks: 10 });
    expect(tight.blocks.length).toBeLessThanOrEqual(10);
    const tightText = tight.blocks.map((b) => (b.type === 'section' ? b.text.text : '')).join('\n');
    const kept = [...tightText.matchAll(/^• \*Program (\d+) /gm)].length;
    expect(kept).toBeLessThan(shown.length);
    expect(tightText).toContain(`• and ${200 - kept} more: \`ptel status-report --portfolio `);
  });

  it('says so in one line for each empty part', () => {
    const m = portfolioSlack(empty);
    within(m.blocks);
    const texts = m.blocks.filter((b) => b.type === 'section').map((b) => (b.type === 'section' ? b.text.text : ''));
    expect(texts).toEqual([
      `*1. Programs*\n\n${empty.programsNone!}`,
      `*2. Cross-program dependencies*\n\n${empty.dependencies.none!}`,
      `*3. Top risks*\n\n${empty.topRisks.none!}`,
    ]);
  });
});

describe('the portfolio as Markdown', () => {
  it('escapes text from the sources, so a name cannot become a link or a table cell', () => {
    const hostile = structuredClone(view);
    hostile.programs[0]!.program.name = 'Pay|ments [x](http://evil)';
    const md = portfolioMarkdown(hostile);
    expect(md).toContain('| Pay\\|ments \\[x\\](http://evil) | Red, as last week |');
    expect(md).not.toContain('[x](http://evil)');
  });
});
