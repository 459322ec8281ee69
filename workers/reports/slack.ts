import { esc, linked } from '../alerts/channels.js';
import { formatValue } from '../metrics/format.js';
import { instantText, type KpiLine, type Listed, type NextMilestone, type ReportItem, type StatusReport } from './status.js';

/**
 * The status report as a Slack message: Block Kit header, section, context and divider blocks, mrkdwn
 * text with <url|text> links, and a `text` line for notifications. Slack refuses a message with more than
 * 50 blocks, a section text over 3,000 characters, a header over 150, or blocks whose texts are too long
 * in all (`msg_blocks_too_long`), and cuts a `text` over 40,000 characters, so the message is fitted to
 * them: source text is clipped before it is escaped (never inside an escape or a link), and while the
 * blocks are still too many or too long in all, items are dropped from the end of the longest lists, each
 * cut list ending with "and N more". Every fact comes from the StatusReport; docs/status-report.md states
 * the rules.
 */

export interface SlackLimits {
  /** Blocks in one message. */
  blocks: number;
  /** Characters in one section's (or context element's) text. */
  text: number;
  /** Characters in a header's plain text. */
  header: number;
  /** Characters of every block's text together (header, sections and context elements). */
  total: number;
  /** Characters in the message's top-level `text` (the notification line). */
  message: number;
}

/**
 * Slack's limits for a message. Blocks, a section's text and a header are documented. The blocks' text
 * in all is not: Slack answers `msg_blocks_too_long` from about 13,200 characters (13,297 with markdown
 * blocks alone, 13,172 with a divider among them: slackapi/bolt-js issue 2509), and its engineers give
 * 12,000 characters of text with a margin for the blocks around it, which is the budget kept here. A
 * top-level `text` over 40,000 characters is cut short by Slack.
 */
export const SLACK_LIMITS: SlackLimits = { blocks: 50, text: 3000, header: 150, total: 12_000, message: 40_000 };

export type SlackBlock =
  | { type: 'header'; text: { type: 'plain_text'; text: string; emoji: boolean } }
  | { type: 'section'; text: { type: 'mrkdwn'; text: string } }
  | { type: 'context'; elements: Array<{ type: 'mrkdwn'; text: string }> }
  | { type: 'divider' };

export interface SlackMessage {
  /** The notification line, shown where blocks are not (push notifications, clients without Block Kit). */
  text: string;
  blocks: SlackBlock[];
}

/** The most characters of source text one name, title or sentence keeps, before escaping. */
const NAME_MAX = 150;
const TITLE_MAX = 200;
const DETAIL_MAX = 600;
const SUMMARY_MAX = 2000;
/** A URL longer than this is not linked (the name stays, as text). */
const URL_MAX = 1000;
/** Related things (an incident's deployments) named on one line. */
const RELATED_MAX = 5;

/** Source text cut to at most `max` characters, at a word boundary when one is near, with an ellipsis. */
export function clip(s: string, max: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  const head = flat.slice(0, max - 1);
  const space = head.lastIndexOf(' ');
  return `${space > max / 2 ? head.slice(0, space) : head}…`;
}

/** A URL Slack can put in <url|text>: http(s), with the characters that would end the link encoded; undefined otherwise. */
function slackUrl(url: string): string | undefined {
  if (url.length === 0 || url.length > URL_MAX || !/^https?:\/\//i.test(url)) return undefined;
  return url.replace(/[<>|\s]/g, (c) => encodeURIComponent(c));
}

/** Source text clipped and escaped to at most `max` characters (clipped shorter while its escapes make it longer). */
export function escFit(s: string, clipAt: number, max: number): string {
  let n = clipAt;
  let out = esc(clip(s, n));
  while (out.length > max && n > 1) {
    n = Math.floor(n * 0.8);
    out = esc(clip(s, n));
  }
  return out;
}

export const link = (name: string, url: string): string => linked(clip(name, NAME_MAX), slackUrl(url));

/** A command as inline code: escaped, a backtick (which would end the span) written as a quote. */
export const code = (command: string): string => `\`${esc(command.replace(/`/g, "'"))}\``;

const titled = (i: ReportItem): string =>
  i.title === '' || i.title === i.name ? link(i.name, i.url) : `${link(i.name, i.url)} ${esc(clip(i.title, TITLE_MAX))}`;

function related(i: ReportItem): string {
  if (i.related === undefined) return '';
  if (i.related.length === 0) return '; no linked deployment';
  const shown = i.related.slice(0, RELATED_MAX).map((r) => link(r.name, r.url));
  const more = i.related.length - shown.length;
  return `; linked deployment${i.related.length === 1 ? '' : 's'} ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/** The item's own command when its list's heading does not already carry it. */
const own = (i: { command: string }, list: string): string => (i.command !== '' && i.command !== list ? `, from ${code(i.command)}` : '');

const itemLine = (i: ReportItem, list: string): string => `• ${titled(i)}: ${esc(clip(i.detail, DETAIL_MAX))}${related(i)}${own(i, list)}`;

/** The same item without its title and related things: what a line too long for one text keeps. */
const shortLine = (i: ReportItem, list: string): string => `• ${link(i.name, i.url)}: ${esc(clip(i.detail, 200))}${own(i, list)}`;

function milestoneLine(m: NextMilestone, list: string): string {
  const number =
    m.confidence !== null
      ? `confidence ${m.confidence.toFixed(2)}${m.band === null ? '' : ` (${m.band})`}`
      : m.noNumber !== ''
        ? `no forecast number: ${esc(clip(m.noNumber, DETAIL_MAX))}`
        : 'no forecast';
  return (
    `• ${link(m.name, m.url)}: committed ${m.committed ?? '-'}, P50 ${m.p50 ?? '-'}, P85 ${m.p85 ?? '-'}, ${number}; ` +
    `since last week: ${esc(clip(m.change, DETAIL_MAX))}${own(m, list)}`
  );
}

function kpiLine(k: KpiLine, list: string): string {
  const previous = k.previous.map((p) => formatValue(k.unit, p.value)).join(', ');
  const against = k.direction === null ? 'no earlier value' : `${k.change} against their mean, ${k.direction}`;
  return (
    `• ${esc(clip(k.title, TITLE_MAX))}: ${esc(formatValue(k.unit, k.value))} this week; previous 4 weeks ${esc(previous)}; ` +
    `${esc(against)} (${k.better} is better)${own(k, list)}`
  );
}

/** A list of a report as the message shows it: all its lines, how many are shown, and how many the report left out. */
export interface Group {
  heading: string;
  lines: string[];
  shown: number;
  /** Items the report itself left out (beyond its cap). */
  more: number;
  command: string;
}

/** A list's heading, its lines shown, and its "and N more" (the lines cut and those the report left out). */
export function groupLines(g: Group): string[] {
  const out = [g.heading, ...g.lines.slice(0, g.shown)];
  const more = g.lines.length - g.shown + g.more;
  if (more > 0) out.push(`• and ${more} more${g.command === '' ? '' : `: ${code(g.command)}`}`);
  return out;
}

/** Lines cut from a group's end, for the closing line that says how many. */
export const droppedLines = (groups: readonly Group[]): number => groups.reduce((n, g) => n + g.lines.length - g.shown, 0);

type Entry = string | Group;

interface Part {
  title: string;
  entries: Entry[];
}

function group<T extends { command: string }>(
  heading: string,
  l: Listed<T>,
  line: (item: T, list: string) => string,
  short: (item: T, list: string) => string,
  max: number,
): Group[] {
  if (l.total === 0) return [];
  const lines = l.items.map((i) => {
    const full = line(i, l.command);
    return full.length <= max ? full : short(i, l.command);
  });
  return [{ heading, lines, shown: lines.length, more: l.more, command: l.command }];
}

const listHeading = (label: string, l: Listed<unknown>): string =>
  l.command === '' ? `*${label} (${l.total})*:` : `*${label} (${l.total})*, from ${code(l.command)}:`;

function items(label: string, l: Listed<ReportItem>, max: number, line = itemLine): Group[] {
  return group(listHeading(label, l), l, line, shortLine, max);
}

function parts(r: StatusReport, max: number): Part[] {
  const s = r.summary;
  const summary: Part = {
    title: '*1. Summary*',
    entries: [
      escFit(s.text, SUMMARY_MAX, max),
      `Confidence from ${code(s.confidence.command)}.`,
      ...items('Changes since last week', s.changes, max),
      ...items('Asks', s.asks, max),
    ],
  };
  const a = r.accomplishments;
  const accomplishments: Part = {
    title: '*2. Accomplishments*',
    entries:
      a.none !== null
        ? [esc(a.none)]
        : [
            ...items('Milestones reached', a.milestones, max),
            ...items('Epics done', a.epics, max),
            `*Work items done: ${a.itemsDone.count}*, from ${code(a.itemsDone.command)}.`,
            ...items('Notable items done (high priority)', a.notable, max),
            ...items('Services deployed to production', a.deployments, max),
            ...items('Incidents resolved', a.incidentsResolved, max),
          ],
  };
  const n = r.nextMilestones;
  const next: Part = {
    title: '*3. Next milestones*',
    entries:
      n.none !== null
        ? [esc(n.none), ...items('Readiness before the go/no-go', n.readiness, max)]
        : [
            ...group(`${n.total} open, soonest committed date first, from ${code(n.command)}:`, n, milestoneLine, shortLine, max),
            ...items('Readiness before the go/no-go', n.readiness, max),
          ],
  };
  const k = r.risks;
  const risks: Part = {
    title: '*4. Top risks and issues*',
    entries:
      k.none !== null
        ? [esc(k.none)]
        : [
            ...items('Open high risks, unowned first', k.highRisks, max),
            ...items(
              'Active risk signals',
              k.signals,
              max,
              (i) => `• ${esc(clip(i.detail, DETAIL_MAX))} Explained by ${i.command === '' ? 'no command' : code(i.command)}.`,
            ),
            ...items('Stalled cross-team dependencies', k.stalledDependencies, max),
            ...items('Incidents of the week', k.incidents, max),
          ],
  };
  const d = r.decisions;
  const decisions: Part = {
    title: '*5. Decisions needed*',
    entries:
      d.none !== null
        ? [esc(d.none)]
        : [
            ...items('Open decisions, release critical and oldest first', d.decisions, max),
            ...items('Overdue action items', d.overdueActions, max),
          ],
  };
  const m = r.metrics;
  const metrics: Part = {
    title: '*6. Metrics*',
    entries:
      m.none !== null
        ? [esc(m.none), ...items('Outcomes against their targets', m.outcomes, max)]
        : [
            ...group(
              `The program's KPIs for ${r.week.id} against the four weeks before, most moved first, from ${code(m.command)}:`,
              m,
              kpiLine,
              (line, list) => `• ${esc(clip(line.title, NAME_MAX))}${own(line, list)}`,
              max,
            ),
            ...items('Outcomes against their targets', m.outcomes, max),
          ],
  };
  return [summary, accomplishments, next, risks, decisions, metrics];
}

/** The lines of a part as shown now: each group's shown lines and its "and N more". */
function partLines(p: Part): string[] {
  const out = [p.title];
  for (const e of p.entries) {
    if (typeof e === 'string') {
      out.push('', e);
      continue;
    }
    out.push('', ...groupLines(e));
  }
  return out;
}

/** Lines packed into texts of at most `max` characters, whole lines only. */
export function pack(lines: string[], max: number): string[] {
  const out: string[] = [];
  let current = '';
  for (const line of lines) {
    const next = current === '' ? line : `${current}\n${line}`;
    if (next.length <= max) current = next;
    else {
      if (current.trim() !== '') out.push(current.trim());
      current = line;
    }
  }
  if (current.trim() !== '') out.push(current.trim());
  return out;
}

export const section = (text: string): SlackBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });
export const context = (text: string): SlackBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });

/**
 * The blocks `render` makes, fitted to `limits`: while there are too many blocks or too much text in all,
 * the longest list shown gives up its last line (among lists as long, the one with the most text shown,
 * then the later one) and the message is made again. A guarantee rather than a step: should the fixed
 * lines alone still not fit (only when each is near 3,000 characters), blocks go from the end, the closing
 * block kept.
 */
export function fitBlocks(groups: readonly Group[], render: () => SlackBlock[], limits: SlackLimits): SlackBlock[] {
  const fits = (blocks: readonly SlackBlock[]): boolean => blocks.length <= limits.blocks && blockText(blocks) <= limits.total;
  let blocks = render();
  while (!fits(blocks)) {
    const longest = groups
      .filter((g) => g.shown > 0)
      .sort(
        (a, b) =>
          b.shown - a.shown ||
          b.lines.slice(0, b.shown).join('').length - a.lines.slice(0, a.shown).join('').length ||
          groups.indexOf(b) - groups.indexOf(a),
      )[0];
    if (longest === undefined) break;
    longest.shown -= 1;
    blocks = render();
  }
  const closing = blocks[blocks.length - 1]!;
  while (!fits(blocks) && blocks.length > 2) blocks = [...blocks.slice(0, -2), closing];
  return blocks;
}

const BAND_WORDS = (r: StatusReport): string => {
  const c = r.summary.confidence;
  return c.value === null ? 'no program confidence' : `program confidence ${c.value.toFixed(2)}${c.band === null ? '' : ` (${c.band})`}`;
};

/** The report as a Slack message within `limits` (Slack's, by default). */
export function statusSlack(r: StatusReport, limits: SlackLimits = SLACK_LIMITS): SlackMessage {
  const suffix = ` status, week ${r.week.id}`;
  const header: SlackBlock = {
    type: 'header',
    text: { type: 'plain_text', text: `${clip(r.program.name, Math.max(1, limits.header - suffix.length))}${suffix}`, emoji: false },
  };
  const about = context(
    esc(
      `${r.week.first} to ${r.week.last} (${clip(r.timeZone, 100)}), from the store as of ${r.asOf.slice(0, 16).replace('T', ' ')} UTC; ` +
        `"since last week" compares with the same report as of ${r.previousAsOf.slice(0, 16).replace('T', ' ')} UTC. ` +
        `Lists name at most ${r.cap} items.`,
    ),
  );
  const whole = `ptel status-report --program ${r.program.id} --week ${r.week.id} --as-of ${instantText(new Date(r.asOf))} --format md`;
  const all = parts(r, limits.text);
  const groups = all.flatMap((p) => p.entries.filter((e): e is Group => typeof e !== 'string'));
  const render = (): SlackBlock[] => {
    const dropped = droppedLines(groups);
    const blocks: SlackBlock[] = [header, about];
    for (const p of all) blocks.push({ type: 'divider' }, ...pack(partLines(p), limits.text).map(section));
    blocks.push(
      context(
        dropped === 0
          ? `The whole report: ${code(whole)}`
          : `Cut to fit Slack's limits (${limits.blocks} blocks, ${limits.text} characters a text, ${limits.total} in all): ` +
              `${dropped} item${dropped === 1 ? '' : 's'} left out, each counted in its list's "and N more". The whole report: ${code(whole)}`,
      ),
    );
    return blocks;
  };
  const blocks = fitBlocks(groups, render, limits);
  const text = escFit(`${clip(r.program.name, NAME_MAX)}${suffix}: ${r.summary.colour}, ${BAND_WORDS(r)}.`, limits.message, limits.message);
  return { text, blocks };
}

/** The characters of every text in the blocks: header, sections and context elements (a divider has none). */
export function blockText(blocks: readonly SlackBlock[]): number {
  let n = 0;
  for (const b of blocks) {
    if (b.type === 'header' || b.type === 'section') n += b.text.text.length;
    else if (b.type === 'context') for (const e of b.elements) n += e.text.length;
  }
  return n;
}
