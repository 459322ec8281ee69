import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HOSTILE_TEXT } from '../../test/support/exported-month.js';
import { scenarioReport, statusScenario, type StatusScenario } from '../../test/support/status-report.js';
import { blockText, SLACK_LIMITS, statusSlack, type SlackMessage } from './slack.js';
import { type KpiLine, type Listed, type NextMilestone, type ReportItem, type StatusReport } from './status.js';

/** The Block Kit shapes the message uses, with Slack's documented limits. */
const mrkdwn = z.object({ type: z.literal('mrkdwn'), text: z.string().min(1).max(3000) }).strict();
const blockSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('header'),
      text: z.object({ type: z.literal('plain_text'), text: z.string().min(1).max(150), emoji: z.boolean() }).strict(),
    })
    .strict(),
  z.object({ type: z.literal('section'), text: mrkdwn }).strict(),
  z.object({ type: z.literal('context'), elements: z.array(mrkdwn).min(1).max(10) }).strict(),
  z.object({ type: z.literal('divider') }).strict(),
]);
const messageSchema = z.object({ text: z.string().min(1), blocks: z.array(blockSchema).min(1).max(50) }).strict();

let s: StatusScenario;
let report: StatusReport;

beforeAll(async () => {
  s = await statusScenario();
  report = await scenarioReport(s);
});

afterAll(async () => {
  await s.store.close();
});

/** Every mrkdwn text of a message, in order. */
const texts = (m: SlackMessage): string[] =>
  m.blocks.flatMap((b) => (b.type === 'section' ? [b.text.text] : b.type === 'context' ? b.elements.map((e) => e.text) : []));

/** The header's plain text ('' without a header). */
const headerText = (m: SlackMessage): string => (m.blocks[0]?.type === 'header' ? m.blocks[0].text.text : '');

/** The Slack links of a text: <url|label>. */
const links = (t: string): Array<{ url: string; label: string }> =>
  [...t.matchAll(/<([^<>|]*)\|([^<>]*)>/g)].map((m) => ({ url: m[1]!, label: m[2]! }));

/**
 * What is malformed in a mrkdwn text, or undefined: every < opens a link to an http(s) URL with a label
 * and is closed by >, no > stands alone, and every & begins one of Slack's three escapes.
 */
function malformed(t: string): string | undefined {
  const outside = t.replace(/<https?:\/\/[^\s<>|]+\|[^<>|]*>/g, '');
  if (/[<>]/.test(outside)) return `a bare < or > or a broken link in: ${outside.slice(0, 200)}`;
  if (/&(?!amp;|lt;|gt;)/.test(t)) return `an & that begins no escape in: ${t.slice(0, 200)}`;
  for (const l of links(t)) if (l.label.includes('|')) return `a label with | in ${l.url}`;
  return undefined;
}

/** Every list of a report with a label, as the message names them. */
function lists(r: StatusReport): Array<[string, Listed<{ command: string }>]> {
  return [
    ['Changes since last week', r.summary.changes],
    ['Asks', r.summary.asks],
    ['Milestones reached', r.accomplishments.milestones],
    ['Epics done', r.accomplishments.epics],
    ['Notable items done (high priority)', r.accomplishments.notable],
    ['Services deployed to production', r.accomplishments.deployments],
    ['Incidents resolved', r.accomplishments.incidentsResolved],
    ['open, soonest committed date first', r.nextMilestones],
    ['Open high risks, unowned first', r.risks.highRisks],
    ['Active risk signals', r.risks.signals],
    ['Stalled cross-team dependencies', r.risks.stalledDependencies],
    ['Incidents of the week', r.risks.incidents],
    ['Open decisions, release critical and oldest first', r.decisions.decisions],
    ['Overdue action items', r.decisions.overdueActions],
    ["The program's KPIs for", r.metrics],
  ];
}

/** The Slack escape of source text. */
const slackEsc = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

describe('the status report as a Slack message', () => {
  it('is a valid Block Kit message with the six sections in order', () => {
    const m = statusSlack(report);
    messageSchema.parse(m);
    expect(m.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Payments status, week 2026-W44', emoji: false } });
    expect(m.text).toBe('Payments status, week 2026-W44: red, program confidence 0.42 (off track).');
    const titles = texts(m)
      .map((t) => /^\*(\d\. [^*]+)\*/.exec(t)?.[1])
      .filter((t) => t !== undefined);
    expect(titles).toEqual([
      '1. Summary',
      '2. Accomplishments',
      '3. Next milestones',
      '4. Top risks and issues',
      '5. Decisions needed',
      '6. Metrics',
    ]);
    // each section starts after a divider
    const dividers = m.blocks.flatMap((b, i) => (b.type === 'divider' ? [i] : []));
    expect(dividers).toHaveLength(6);
    for (const i of dividers) {
      const next = m.blocks[i + 1]!;
      expect(next.type === 'section' && /^\*\d\. /.test(next.text.text)).toBe(true);
    }
    for (const t of texts(m)) expect(malformed(t)).toBeUndefined();
    // nothing was cut: no list says more than the report does
    expect(texts(m).join('\n')).not.toContain('Cut to fit');
  });

  it('links every item to its source, and carries every command of the report', () => {
    const all = texts(statusSlack(report)).join('\n');
    const urls = new Set(links(all).map((l) => l.url));
    const items: Array<ReportItem | NextMilestone> = [
      ...report.summary.changes.items,
      ...report.summary.asks.items,
      ...report.accomplishments.milestones.items,
      ...report.accomplishments.epics.items,
      ...report.accomplishments.notable.items,
      ...report.accomplishments.deployments.items,
      ...report.accomplishments.incidentsResolved.items,
      ...report.nextMilestones.items,
      ...report.risks.highRisks.items,
      ...report.risks.signals.items,
      ...report.risks.stalledDependencies.items,
      ...report.risks.incidents.items,
      ...report.decisions.decisions.items,
      ...report.decisions.overdueActions.items,
    ];
    expect(items.length).toBeGreaterThan(15);
    const commands = new Set<string>([report.summary.confidence.command, report.accomplishments.itemsDone.command, report.metrics.command]);
    for (const i of items) {
      if (i.url !== '') expect(urls, `${i.name} linked`).toContain(i.url);
      else expect(i.command, `${i.name} has a command when it has no URL`).not.toBe('');
      if (i.command !== '') commands.add(i.command);
      for (const r of i.related ?? []) if (r.url !== '') expect(urls).toContain(r.url);
    }
    for (const [, l] of lists(report)) if (l.command !== '') commands.add(l.command);
    for (const k of report.metrics.items) commands.add(k.command);
    for (const c of commands) expect(all, c).toContain(`\`${slackEsc(c)}\``);
    // the incident of the week names its linked deployment, linked
    expect(all).toContain('<https://github.com/acme/checkout-api/deployments/9002|checkout-api 9002>');
  });

  it('escapes hostile source text: no markup, no link, no mention can come from a title', () => {
    const hostile = structuredClone(report);
    hostile.program.name = HOSTILE_TEXT;
    hostile.risks.highRisks.items[0]!.title = `${HOSTILE_TEXT} <https://evil.example|click> <!channel>`;
    hostile.risks.highRisks.items[0]!.url = 'https://acme.atlassian.net/browse/R-1?a=1|b>c';
    hostile.risks.signals.items[0]!.detail = HOSTILE_TEXT;
    const m = statusSlack(hostile);
    messageSchema.parse(m);
    const all = texts(m).join('\n');
    for (const t of texts(m)) expect(malformed(t)).toBeUndefined();
    expect(all).toContain('&lt;script&gt;document.title=\'pwned\'&lt;/script&gt; &amp; "more"');
    expect(all).toContain('&lt;!channel&gt;');
    expect(all).not.toContain('<https://evil.example');
    expect(all).toContain('<https://acme.atlassian.net/browse/R-1?a=1%7Cb%3Ec|R-1>');
    expect(m.text).toBe(`${slackEsc(HOSTILE_TEXT)} status, week 2026-W44: red, program confidence 0.42 (off track).`);
    // the header is plain text: shown as written, never parsed
    expect(m.blocks[0]).toMatchObject({ type: 'header', text: { text: `${HOSTILE_TEXT} status, week 2026-W44` } });
  });

  it('fits an over-long program into Slack limits, cutting the longest lists with "and N more"', () => {
    const long = overLong(report);
    const m = statusSlack(long);
    messageSchema.parse(m);
    expect(m.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    expect(texts(m).join('').length + headerText(m).length).toBeLessThanOrEqual(SLACK_LIMITS.total);
    expect(m.text.length).toBeLessThanOrEqual(SLACK_LIMITS.message);
    for (const t of texts(m)) {
      expect(t.length).toBeLessThanOrEqual(SLACK_LIMITS.text);
      expect(malformed(t)).toBeUndefined();
    }
    const header = m.blocks[0]!;
    expect(header.type === 'header' && header.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.header);
    expect(header.type === 'header' ? header.text.text : '').toMatch(/… status, week 2026-W44$/);

    // every list: the items shown plus its "and N more" is the whole list
    const all = texts(m).join('\n');
    const lines = all.split('\n');
    let dropped = 0;
    for (const [label, l] of lists(long)) {
      if (l.total === 0) continue;
      const start = lines.findIndex((x) => x.startsWith(`*${label} (`) || x.startsWith(label) || x.startsWith(`${l.total} ${label}`));
      expect(start, label).toBeGreaterThanOrEqual(0);
      let shown = 0;
      let more = 0;
      for (const x of lines.slice(start + 1)) {
        const n = /^• and (\d+) more/.exec(x);
        if (n !== null) {
          more = Number(n[1]);
          break;
        }
        if (!x.startsWith('• ')) break;
        shown++;
      }
      expect(shown + more, `${label}: ${shown} shown and ${more} more`).toBe(l.total);
      dropped += l.items.length - shown;
    }
    expect(dropped).toBeGreaterThan(0);
    expect(all).toContain(`Cut to fit Slack's limits (50 blocks, 3000 characters a text, 12000 in all): ${dropped} items left out`);
    // the longest lists gave up items; the short ones kept theirs
    expect(all).toMatch(/• and \d{3} more: `ptel list risks/);
    expect(all).toContain('<https://github.com/acme/checkout-api/deployments/9002|checkout-api 9002>');
    // long titles are cut at a word and before escaping, so no escape or link is broken
    expect(all).toMatch(/Ledger &amp; &lt;freeze&gt; window[^…\n]*…/);
    expect(all).toMatch(/• <https:\/\/acme\.atlassian\.net\/browse\/LED-5\|LED-5 blocks CHK-20>: (&amp;){199}…/);
  });

  it('keeps to a block limit no cut of the lists can meet, ending with the line that names the whole report', () => {
    const m = statusSlack(report, { ...SLACK_LIMITS, blocks: 8 });
    expect(m.blocks).toHaveLength(8);
    const last = m.blocks[7]!;
    expect(last.type === 'context' ? last.elements[0]!.text : '').toMatch(
      /^Cut to fit Slack's limits \(8 blocks, 3000 characters a text, 12000 in all\): \d+ items left out/,
    );
    // the same for a budget of characters in all that no cut of the lists can meet
    const small = statusSlack(report, { ...SLACK_LIMITS, total: 1500 });
    expect(blockText(small.blocks)).toBeLessThanOrEqual(1500);
    expect(small.blocks[0]!.type).toBe('header');
    const end = small.blocks[small.blocks.length - 1]!;
    expect(end.type === 'context' ? end.elements[0]!.text : '').toMatch(
      /^Cut to fit Slack's limits \(50 blocks, 3000 characters a text, 1500 in all\)/,
    );
  });

  it('keeps the blocks within the characters Slack takes in all, though few enough and each short enough', () => {
    // 40 high risks with long titles: about 9 section blocks of under 3,000 characters each, but over
    // 20,000 characters in all, which Slack refuses (msg_blocks_too_long).
    const wordy = structuredClone(report);
    const risk = report.risks.highRisks.items[0]!;
    wordy.risks.highRisks = {
      total: 40,
      more: 0,
      command: report.risks.highRisks.command,
      items: Array.from({ length: 40 }, (_, i) => ({
        ...risk,
        key: `jira:R-${100 + i}`,
        name: `R-${100 + i}`,
        title: `Risk ${i}: ${'the card network may not certify the new checkout flow before the freeze '.repeat(3)}`,
        url: `https://acme.atlassian.net/browse/R-${100 + i}`,
      })),
    };
    const uncut = statusSlack(wordy, { ...SLACK_LIMITS, total: Number.MAX_SAFE_INTEGER });
    expect(uncut.blocks.length).toBeLessThan(SLACK_LIMITS.blocks);
    expect(blockText(uncut.blocks)).toBeGreaterThan(SLACK_LIMITS.total);

    const m = statusSlack(wordy);
    messageSchema.parse(m);
    const total = blockText(m.blocks);
    expect(total).toBeLessThanOrEqual(SLACK_LIMITS.total);
    expect(total).toBe(texts(m).join('').length + headerText(m).length);
    const all = texts(m).join('\n');
    for (const t of texts(m)) expect(malformed(t)).toBeUndefined();
    const shown = all.split('\n').filter((l) => /^• <https:\/\/acme\.atlassian\.net\/browse\/R-1\d\d\|/.test(l)).length;
    expect(shown).toBeGreaterThan(0);
    expect(shown).toBeLessThan(40);
    // the cut is named: the risks list counts what it left out, with the command listing all of them
    expect(all).toContain(`• and ${40 - shown} more: \`${slackEsc(report.risks.highRisks.command)}\``);
    expect(all).toContain(`Cut to fit Slack's limits (50 blocks, 3000 characters a text, 12000 in all): ${40 - shown} items left out`);
    // only the longest list gave up items: every other list shows what the report names
    for (const [label, l] of lists(wordy)) {
      if (l === wordy.risks.highRisks || l.total === 0) continue;
      for (const i of l.items as Array<{ url?: string }>)
        if (i.url !== undefined && i.url !== '') expect(all, label).toContain(`<${i.url}|`);
    }
  });

  it('keeps the notification text within the characters Slack takes for it', () => {
    const m = statusSlack(
      { ...report, program: { ...report.program, name: `Payments & ${'<ledger> '.repeat(40)}` } },
      { ...SLACK_LIMITS, message: 60 },
    );
    expect(m.text.length).toBeLessThanOrEqual(60);
    expect(m.text).toMatch(/^Payments &amp; (&lt;ledger&gt; )*(&lt;ledger&gt;)?…$/);
  });

  it('keeps a long KPI list and a long summary within the limits too', () => {
    const long = overLong(report);
    long.summary.text = `${'Payments & <ledger> '.repeat(400)}end`;
    const m = statusSlack(long);
    messageSchema.parse(m);
    for (const t of texts(m)) expect(malformed(t)).toBeUndefined();
    expect(texts(m).find((t) => t.startsWith('*1. Summary*'))).toMatch(/Payments &amp; &lt;ledger&gt;.*…/s);
  });
});

/** The scenario's report with hundreds of risks, decisions, milestones and KPIs, and long titles full of & < >. */
function overLong(r: StatusReport): StatusReport {
  const long = structuredClone(r);
  const title = (n: number): string => `Ledger & <freeze> window ${n} ${'needs the operations team to agree & sign '.repeat(12)}`;
  const many = <T extends { command: string }>(l: Listed<T>, n: number, make: (i: number) => T): Listed<T> => ({
    total: n + 37,
    items: Array.from({ length: n }, (_, i) => make(i)),
    more: 37,
    command: l.command,
  });
  const risk = r.risks.highRisks.items[0]!;
  long.program.name = `Payments ${'and the ledger platform '.repeat(10)}`;
  long.risks.highRisks = many(r.risks.highRisks, 300, (i) => ({
    ...risk,
    key: `jira:R-${1000 + i}`,
    name: `R-${1000 + i}`,
    title: title(i),
    url: `https://acme.atlassian.net/browse/R-${1000 + i}`,
  }));
  const decision = r.decisions.decisions.items[0]!;
  long.decisions.decisions = many(r.decisions.decisions, 200, (i) => ({
    ...decision,
    key: `jira:D-${1000 + i}`,
    name: `D-${1000 + i}`,
    title: title(i),
    url: `https://acme.atlassian.net/browse/D-${1000 + i}`,
  }));
  const milestone = r.nextMilestones.items[0]!;
  long.nextMilestones = {
    ...many<NextMilestone>(r.nextMilestones, 150, (i) => ({
      ...milestone,
      key: `jira:version/${100 + i}`,
      name: `Release ${i} ${title(i)}`,
      title: `Release ${i} ${title(i)}`,
      url: `https://acme.atlassian.net/projects/version/${100 + i}`,
    })),
    none: null,
    readiness: r.nextMilestones.readiness,
  };
  const kpi = r.metrics.items[0]!;
  long.metrics = {
    ...many<KpiLine>(r.metrics, 60, (i) => ({ ...kpi, metric: `metric_${i}`, title: `${title(i)} ${i}`, command: `${kpi.command} ${i}` })),
    none: null,
    outcomes: r.metrics.outcomes,
  };
  // a detail that escapes to more than one text holds: the line keeps its link and a shorter detail
  long.risks.stalledDependencies.items[0]!.detail = '&'.repeat(700);
  long.summary.asks = many(r.summary.asks, 80, (i) => ({
    ...risk,
    name: `R-${1000 + i}`,
    title: '',
    url: `https://acme.atlassian.net/browse/R-${1000 + i}`,
  }));
  return long;
}
