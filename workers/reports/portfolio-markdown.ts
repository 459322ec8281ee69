import { code, escapeMd, named, table } from './markdown.js';
import { colourWords, type CrossProgramLink, type PortfolioProgram, type PortfolioReport, type PortfolioRisk } from './portfolio.js';
import type { Listed } from './status.js';

/**
 * The portfolio view as Markdown: headings, lists, a table, links and inline code only, no HTML, like the
 * program report (markdown.ts, whose escaping and links it uses). Every fact comes from the
 * PortfolioReport; this adds words around them and nothing else.
 */

const instant = (iso: string): string => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

const count = (n: number, what: string, of: string): string => (n === 0 ? 'none' : `${n}${what}${of === '' ? '' : `, ${of}`}`);

/** The words the renderers share: a program's confidence, its decisions and high risks. */
export const portfolioWords = {
  confidence: (p: PortfolioProgram): string =>
    p.confidence.value === null ? 'none' : `${p.confidence.value.toFixed(2)}${p.confidence.band === null ? '' : ` (${p.confidence.band})`}`,
  decisions: (p: PortfolioProgram): string =>
    count(
      p.decisions.open,
      ' open',
      p.decisions.pastTarget === 0 ? '' : `${p.decisions.pastTarget} past ${p.decisions.pastTarget === 1 ? 'its' : 'their'} target`,
    ),
  highRisks: (p: PortfolioProgram): string =>
    count(p.highRisks.open, '', p.highRisks.unowned === 0 ? '' : `${p.highRisks.unowned} without an owner`),
  order: 'red first, then amber, then green (the least confident first among equals)',
  risksOrder: 'highest severity first, unowned first among equals, then oldest',
  about: (r: PortfolioReport): string =>
    `${r.week.first} to ${r.week.last} (${r.timeZone}), from the store as of ${instant(r.asOf)}; ` +
    `"since last week" compares with the same view as of ${instant(r.previousAsOf)}. Lists name at most ${r.cap} items.`,
};

const W = portfolioWords;

function programBlock(p: PortfolioProgram): string[] {
  const c = p.confidence;
  const out = [`### ${escapeMd(p.program.name)}`, '', `${escapeMd(p.health)} From ${code(p.command)}.`, ''];
  out.push(
    c.setBy === null
      ? `- Confidence: none, no milestone due in the window has a forecast number (${escapeMd(c.change)}), from ${code(c.command)}.`
      : `- Confidence: ${W.confidence(p)}, set by ${named({ name: c.setBy.name, url: c.setBy.url })} (committed ${c.setBy.committed}), ` +
          `${escapeMd(c.change)}, from ${code(c.command)}.`,
    `- Decisions waiting: ${W.decisions(p)}, from ${code(p.decisions.command)}.`,
    `- Open high risks: ${W.highRisks(p)}, from ${code(p.highRisks.command)}.`,
  );
  const m = p.milestonesAtRisk;
  if (m.total === 0) out.push(`- Milestones at risk: none, from ${code(m.command)}.`, '');
  else {
    out.push(`- Milestones at risk: ${m.total}, from ${code(m.command)}:`, '');
    for (const i of m.items) out.push(`  - ${named(i)}: ${escapeMd(i.detail)}`);
    if (m.more > 0) out.push(`  - and ${m.more} more`);
    out.push('');
  }
  return out;
}

function linkLine(l: CrossProgramLink): string {
  const side = (x: { key: string; title: string; url: string }): string =>
    `${named({ name: x.key, url: x.url })}${x.title === '' ? '' : ` ${escapeMd(x.title)}`}`;
  return `${side(l.blocker)} blocks ${side(l.blocked)}: ${escapeMd(l.detail)}, from ${code(l.command)}`;
}

const riskLine = (r: PortfolioRisk): string =>
  `${named(r)}${r.title === '' ? '' : ` ${escapeMd(r.title)}`} (${escapeMd(r.program.name)}): ${escapeMd(r.detail)}, from ${code(r.command)}`;

function list<T>(label: string, l: Listed<T>, line: (item: T) => string): string[] {
  const out = [`**${label} (${l.total})**, from ${code(l.command)}:`, ''];
  for (const i of l.items) out.push(`- ${line(i)}`);
  if (l.more > 0) out.push(`- and ${l.more} more`);
  out.push('');
  return out;
}

/** The portfolio as Markdown, ending with a line break. */
export function portfolioMarkdown(r: PortfolioReport): string {
  const out: string[] = [];
  const push = (...lines: string[]): void => void out.push(...lines);
  push(`# Portfolio status, week ${r.week.id}`, '', escapeMd(W.about(r)), '');

  push('## 1. Programs', '');
  if (r.programsNone !== null) push(r.programsNone, '');
  else {
    push(`${r.programs.length} program${r.programs.length === 1 ? '' : 's'}, ${W.order}; each row from the program's own report:`, '');
    push(
      ...table(
        ['program', 'status', 'confidence', 'since last week', 'milestones at risk', 'decisions waiting', 'open high risks'],
        r.programs.map((p) => [
          escapeMd(p.program.name),
          colourWords(p),
          W.confidence(p),
          escapeMd(p.confidence.change),
          String(p.milestonesAtRisk.total),
          W.decisions(p),
          W.highRisks(p),
        ]),
      ),
      '',
    );
    for (const p of r.programs) push(...programBlock(p));
  }

  push('## 2. Cross-program dependencies', '');
  if (r.dependencies.none !== null) push(r.dependencies.none, '');
  else push(...list('Open blocking links between programs, stalled first, then oldest', r.dependencies, linkLine));

  push('## 3. Top risks', '');
  if (r.topRisks.none !== null) push(r.topRisks.none, '');
  else push(...list(`Open risks across the portfolio, ${W.risksOrder}`, r.topRisks, riskLine));

  while (out[out.length - 1] === '') out.pop();
  return `${out.join('\n')}\n`;
}
