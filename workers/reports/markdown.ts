import { formatValue } from '../metrics/format.js';
import type { KpiLine, Listed, NextMilestone, ReportItem, StatusReport } from './status.js';

/**
 * The status report as Markdown: headings, lists, tables, links and inline code only, no HTML, so it
 * pastes into Confluence, Notion and GitHub alike. Every fact comes from the StatusReport; this adds words
 * around them and nothing else.
 */

/** Text as Markdown reads it literally: its markup characters escaped, line breaks as spaces. */
export function escapeMd(s: string): string {
  return s.replace(/\s+/g, ' ').replace(/([\\`*_[\]<>|#~])/g, '\\$1');
}

/** A command as inline code (a backtick inside would end it: none of the report's commands has one). */
export const code = (command: string): string => `\`${command.replace(/`/g, "'")}\``;

/** An item's name, linked to its source when it has one. */
export const named = (i: Pick<ReportItem, 'name' | 'url'>): string =>
  i.url === '' ? escapeMd(i.name) : `[${escapeMd(i.name)}](${i.url.replace(/[()\s]/g, encodeURIComponent)})`;

export const titled = (i: ReportItem): string => (i.title === '' || i.title === i.name ? named(i) : `${named(i)} ${escapeMd(i.title)}`);

const dash = (v: string | null | undefined): string => (v === null || v === undefined || v === '' ? '-' : escapeMd(v));

/** An item's related things, linked: '; linked deployment [checkout-api 9002](...)'; '' when it has none to tell. */
function related(i: ReportItem): string {
  if (i.related === undefined) return '';
  if (i.related.length === 0) return '; no linked deployment';
  return `; linked deployment${i.related.length === 1 ? '' : 's'} ${i.related.map(named).join(', ')}`;
}

const itemLine = (i: ReportItem): string => `${titled(i)}: ${escapeMd(i.detail)}${related(i)}`;

/** A release's readiness or an outcome's standing, with the command explaining it once it is counted. */
const factLine = (i: ReportItem): string => `${named(i)}: ${escapeMd(i.detail)}${i.command === '' ? '' : `, from ${code(i.command)}`}`;

function listLines(label: string, l: Listed<ReportItem>, line: (i: ReportItem) => string = itemLine): string[] {
  if (l.total === 0) return [];
  const out = [l.command === '' ? `**${label} (${l.total})**:` : `**${label} (${l.total})**, from ${code(l.command)}:`, ''];
  for (const i of l.items) out.push(`- ${line(i)}`);
  if (l.more > 0) out.push(`- and ${l.more} more`);
  out.push('');
  return out;
}

export function table(headers: string[], rows: string[][]): string[] {
  return [`| ${headers.join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

const more = (l: Listed<unknown>): string[] => (l.more > 0 ? ['', `and ${l.more} more: ${code(l.command)}`] : []);

function milestonesTable(l: Listed<NextMilestone>): string[] {
  return [
    ...table(
      ['milestone', 'committed', 'P50', 'P85', 'confidence', 'band', 'since last week', 'source'],
      l.items.map((m) => [
        named(m),
        dash(m.committed),
        dash(m.p50),
        dash(m.p85),
        m.confidence === null ? (m.noNumber === '' ? '-' : `no number: ${escapeMd(m.noNumber)}`) : m.confidence.toFixed(2),
        dash(m.band),
        escapeMd(m.change),
        code(m.command),
      ]),
    ),
    ...more(l),
  ];
}

const ARROWS = { better: 'better', worse: 'worse', same: 'same' } as const;

function metricsTable(l: Listed<KpiLine>): string[] {
  return [
    ...table(
      ['metric', 'this week', 'previous 4 weeks (oldest first)', 'against their mean', 'better when', 'explain'],
      l.items.map((k) => [
        escapeMd(k.title),
        escapeMd(formatValue(k.unit, k.value)),
        k.previous.map((p) => escapeMd(formatValue(k.unit, p.value))).join(', '),
        k.direction === null ? 'no earlier value' : `${escapeMd(k.change)}, ${ARROWS[k.direction]}`,
        k.better,
        code(k.command),
      ]),
    ),
    ...more(l),
  ];
}

/** The report as Markdown, ending with a line break. */
export function statusMarkdown(r: StatusReport): string {
  const out: string[] = [];
  const push = (...lines: string[]): void => void out.push(...lines);
  push(
    `# ${escapeMd(r.program.name)} status, week ${r.week.id}`,
    '',
    `${r.week.first} to ${r.week.last} (${escapeMd(r.timeZone)}), from the store as of ${r.asOf.slice(0, 16).replace('T', ' ')} UTC; ` +
      `"since last week" compares with the same report as of ${r.previousAsOf.slice(0, 16).replace('T', ' ')} UTC. ` +
      `Lists name at most ${r.cap} items.`,
    '',
  );

  push('## 1. Summary', '', escapeMd(r.summary.text), '', `Confidence from ${code(r.summary.confidence.command)}.`, '');
  push(...listLines('Changes since last week', r.summary.changes, (i) => `${named(i)} ${escapeMd(i.detail)}, from ${code(i.command)}`));
  push(...listLines('Asks', r.summary.asks, (i) => `${named(i)}: ${escapeMd(i.detail)}, from ${code(i.command)}`));

  const a = r.accomplishments;
  push('## 2. Accomplishments', '');
  if (a.none !== null) push(a.none, '');
  else {
    push(...listLines('Milestones reached', a.milestones));
    push(...listLines('Epics done', a.epics));
    push(`**Work items done: ${a.itemsDone.count}**, from ${code(a.itemsDone.command)}.`, '');
    push(...listLines('Notable items done (high priority)', a.notable));
    push(
      ...listLines('Services deployed to production', a.deployments, (i) => `${named(i)}: ${escapeMd(i.detail)}, from ${code(i.command)}`),
    );
    push(...listLines('Incidents resolved', a.incidentsResolved));
  }

  push('## 3. Next milestones', '');
  if (r.nextMilestones.none !== null) push(r.nextMilestones.none, '');
  else
    push(
      `${r.nextMilestones.total} open, soonest committed date first, from ${code(r.nextMilestones.command)}:`,
      '',
      ...milestonesTable(r.nextMilestones),
      '',
    );
  push(...listLines('Readiness before the go/no-go', r.nextMilestones.readiness, factLine));

  const k = r.risks;
  push('## 4. Top risks and issues', '');
  if (k.none !== null) push(k.none, '');
  else {
    push(...listLines('Open high risks, unowned first', k.highRisks));
    push(...listLines('Active risk signals', k.signals, (i) => `${escapeMd(i.detail)} Explained by ${code(i.command)}.`));
    push(...listLines('Stalled cross-team dependencies', k.stalledDependencies));
    push(...listLines('Incidents of the week', k.incidents));
  }

  const d = r.decisions;
  push('## 5. Decisions needed', '');
  if (d.none !== null) push(d.none, '');
  else {
    push(...listLines('Open decisions, release critical and oldest first', d.decisions));
    push(...listLines('Overdue action items', d.overdueActions));
  }

  push('## 6. Metrics', '');
  if (r.metrics.none !== null) push(r.metrics.none, '');
  else push(`The program's KPIs for ${r.week.id} against the four weeks before, most moved first:`, '', ...metricsTable(r.metrics), '');
  push(...listLines('Outcomes against their targets', r.metrics.outcomes, factLine));

  while (out[out.length - 1] === '') out.pop();
  return `${out.join('\n')}\n`;
}
