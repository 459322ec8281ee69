import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_TEXT } from '../../test/support/exported-month.js';
import { scenarioReport, statusScenario, type StatusScenario } from '../../test/support/status-report.js';
import { escapeHtml } from '../export/html.js';
import { statusHtml } from './html.js';
import type { Listed, ReportItem, StatusReport } from './status.js';

let s: StatusScenario;
let report: StatusReport;
let doc: string;

const reportOf = (program: string): Promise<StatusReport> => scenarioReport(s, program);

beforeAll(async () => {
  s = await statusScenario();
  report = await reportOf('payments');
  doc = statusHtml(report);
});

afterAll(async () => {
  await s.store.close();
});

function lists(r: StatusReport): Array<Listed<ReportItem>> {
  return [
    r.summary.changes,
    r.summary.asks,
    r.accomplishments.milestones,
    r.accomplishments.epics,
    r.accomplishments.notable,
    r.accomplishments.deployments,
    r.accomplishments.incidentsResolved,
    r.nextMilestones,
    r.risks.highRisks,
    r.risks.signals,
    r.risks.stalledDependencies,
    r.risks.incidents,
    r.decisions.decisions,
    r.decisions.overdueActions,
  ];
}

/** Every command the report names: its lists', its items', the confidence's, the items done's and the metrics'. */
function commands(r: StatusReport): string[] {
  const all = lists(r).flatMap((l) => [...(l.total > 0 ? [l.command] : []), ...l.items.map((i) => i.command)]);
  all.push(r.summary.confidence.command, r.accomplishments.itemsDone.command, ...r.metrics.items.map((k) => k.command));
  return [...new Set(all.filter((c) => c !== ''))];
}

/** The sections in document order: their data-section and the text of their heading. */
const sections = (d: string): Array<[string, string]> =>
  [...d.matchAll(/data-section="([^"]+)"[^>]*>\s*<h2[^>]*>([^<]*)<\/h2>/g)].map((m) => [m[1]!, m[2]!]);

/** The text of one section, tags removed and entities decoded. */
function sectionText(d: string, id: string): string {
  const start = d.indexOf('>', d.indexOf(`data-section="${id}"`)) + 1;
  const next = d.indexOf('data-section=', start);
  return d
    .slice(start, next === -1 ? undefined : d.lastIndexOf('<', next))
    .replace(/<\/t[dh]>/g, ' ')
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

describe('the status report as email-ready HTML', () => {
  it('is one document with the six sections in order, each under its heading', () => {
    expect(doc).toMatch(/^<!DOCTYPE html>\s*<html lang="en">/);
    expect(doc.endsWith('</html>\n')).toBe(true);
    expect(doc).toContain('<title>Payments status, week 2026-W44</title>');
    expect(sections(doc)).toEqual([
      ['summary', '1. Summary'],
      ['accomplishments', '2. Accomplishments'],
      ['milestones', '3. Next milestones'],
      ['risks', '4. Top risks and issues'],
      ['decisions', '5. Decisions needed'],
      ['metrics', '6. Metrics'],
    ]);
    // each section holds its own facts
    expect(sectionText(doc, 'summary')).toContain(report.summary.text);
    expect(sectionText(doc, 'accomplishments')).toContain('Checkout 1.9: done on time 2026-10-29');
    expect(sectionText(doc, 'milestones')).toContain('P(on time) fell from 0.55 to 0.42');
    expect(sectionText(doc, 'risks')).toContain('R-1 Card network certification may lapse: no owner');
    expect(sectionText(doc, 'decisions')).toContain('A-1 Book the freeze window with operations: 10 days past its due date');
    expect(sectionText(doc, 'metrics')).toContain('33% 5%, 10%, 0%, 5% +28 pp, worse lower');
  });

  it('links every item, and every deployment linked to an incident, to its source with an href', () => {
    const urls = lists(report).flatMap((l) => l.items.flatMap((i) => [i.url, ...(i.related ?? []).map((r) => r.url)]));
    const known = [...new Set(urls.filter((u) => u !== ''))];
    expect(known.length).toBeGreaterThanOrEqual(15);
    for (const url of known) expect(doc, url).toContain(`<a href="${escapeHtml(url)}"`);
    // and nothing links anywhere else
    const hrefs = [...doc.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!);
    expect(new Set(hrefs)).toEqual(new Set(known.map(escapeHtml)));
  });

  it('shows every command behind a number in <code>', () => {
    const all = commands(report);
    expect(all.length).toBeGreaterThanOrEqual(12);
    for (const c of all) expect(doc, c).toContain(`>${escapeHtml(c)}</code>`);
    // the metric and milestone commands each sit in a row of their own under their row
    expect(doc.match(/<td colspan="\d+"[^>]*>explain: <code/g)).toHaveLength(report.metrics.items.length);
    expect(doc.match(/<td colspan="\d+"[^>]*>source: <code/g)).toHaveLength(report.nextMilestones.items.length);
  });

  it('asks for nothing from the network and needs no stylesheet: no script, link, src, url(), <style> or class', () => {
    expect(doc).not.toMatch(/<script/i);
    expect(doc).not.toMatch(/<link/i);
    expect(doc).not.toMatch(/<style/i);
    expect(doc).not.toMatch(/<img|<iframe|<object|<embed/i);
    expect(doc).not.toMatch(/\ssrc=/i);
    expect(doc).not.toMatch(/url\(/i);
    expect(doc).not.toMatch(/@import|@font-face/i);
    expect(doc).not.toMatch(/\sclass=/i);
    // every element that shows text is styled where it stands
    for (const tag of ['h1', 'h2', 'h3', 'p', 'li', 'a', 'code', 'th', 'td', 'table'])
      for (const m of doc.matchAll(new RegExp(`<${tag}(\\s[^>]*)?>`, 'g'))) expect(m[0], tag).toMatch(/style="[^"]+"/);
  });

  it('fits an A4 page: the content is at most 640 px wide, in a table as email clients need', () => {
    expect(doc).toMatch(/<table\s+role="presentation"[^>]*width="640"[^>]*max-width:640px;/);
    const widths = [...doc.matchAll(/width="(\d+)"/g)].map((m) => Number(m[1]));
    expect(Math.max(...widths)).toBeLessThanOrEqual(640);
  });

  it('says so in one line for each empty section of a program with nothing in its week', async () => {
    const empty = await reportOf('growth');
    const d = statusHtml(empty);
    expect(sections(d).map(([id]) => id)).toEqual(['summary', 'accomplishments', 'milestones', 'risks', 'decisions', 'metrics']);
    for (const [id, none] of [
      ['accomplishments', empty.accomplishments.none],
      ['milestones', empty.nextMilestones.none],
      ['risks', empty.risks.none],
      ['decisions', empty.decisions.none],
      ['metrics', empty.metrics.none],
    ] as const) {
      expect(none, id).not.toBeNull();
      expect(sectionText(d, id).trim(), id).toBe(`${sections(d).find(([s]) => s === id)![1]} ${none}`);
    }
  });

  it('keeps text from the sources as text: markup, quotes and a script stay escaped, a non-web address is no link', () => {
    const hostile = structuredClone(report);
    hostile.program.name = HOSTILE_TEXT;
    hostile.summary.text = HOSTILE_TEXT;
    const risk = hostile.risks.highRisks.items[0]!;
    risk.name = HOSTILE_TEXT;
    risk.title = `Title ${HOSTILE_TEXT}`;
    risk.detail = HOSTILE_TEXT;
    risk.url = `https://acme.atlassian.net/browse/R-1?x="><script>alert(1)</script>`;
    const incident = hostile.risks.incidents.items[0]!;
    incident.url = 'javascript:alert(1)';
    incident.related = [{ name: HOSTILE_TEXT, url: 'data:text/html,<script>alert(1)</script>' }];
    hostile.risks.signals.items[0]!.command = `ptel metrics explain x </code><script>alert(1)</script>`;
    hostile.metrics.items[0]!.title = HOSTILE_TEXT;
    const d = statusHtml(hostile);

    expect(d).not.toMatch(/<script/i);
    expect(d).not.toContain('javascript:');
    expect(d).not.toContain('data:text/html');
    const escaped = escapeHtml(HOSTILE_TEXT);
    expect(escaped).toBe('&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt; &amp; &quot;more&quot;');
    expect(d).toContain(`<title>${escaped} status, week 2026-W44</title>`);
    expect(d).toContain(`<a href="https://acme.atlassian.net/browse/R-1?x=&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`);
    expect(d.split(escaped).length - 1).toBeGreaterThanOrEqual(8);
    // the incident's name stays, as text, where its link would be
    expect(sectionText(d, 'risks')).toContain(`#101 Checkout errors after deploy: sev2`);
    expect(sectionText(d, 'risks')).toContain(`linked deployment ${HOSTILE_TEXT}`);
    expect(sectionText(d, 'risks')).toContain(`${HOSTILE_TEXT} Title ${HOSTILE_TEXT}: ${HOSTILE_TEXT}`);
  });
});
