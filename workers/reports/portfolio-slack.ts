import { esc } from '../alerts/channels.js';
import { portfolioWords as W } from './portfolio-markdown.js';
import { colourWords, type CrossProgramLink, type PortfolioProgram, type PortfolioReport, type PortfolioRisk } from './portfolio.js';
import {
  clip,
  code,
  context,
  droppedLines,
  escFit,
  fitBlocks,
  groupLines,
  link,
  pack,
  section,
  SLACK_LIMITS,
  type Group,
  type SlackBlock,
  type SlackLimits,
  type SlackMessage,
} from './slack.js';
import { instantText, type Listed } from './status.js';

/**
 * The portfolio view as a Slack Block Kit message, within the limits and with the cutting of the program
 * report's message (slack.ts): source text clipped before it is escaped, each part's lines packed into
 * section texts of at most `limits.text` characters, and while the message has too many blocks (or too
 * much text in all), the longest list gives up its last line, its "and N more"
 * growing by it. Programs are listed worst first, so the ones cut are the healthiest.
 */

const DETAIL_MAX = 600;
const TITLE_MAX = 200;

function programLine(p: PortfolioProgram): string {
  const m = p.milestonesAtRisk;
  const named = m.items.map((i) => link(i.name, i.url)).join(', ');
  const atRisk = m.total === 0 ? 'none' : `${m.total}: ${named}${m.more > 0 ? ` and ${m.more} more` : ''}`;
  return (
    `• *${esc(clip(p.program.name, 150))}*: ${colourWords(p)}; confidence ${W.confidence(p)}, ${esc(p.confidence.change)}; ` +
    `milestones at risk ${atRisk}; decisions waiting ${W.decisions(p)}; open high risks ${W.highRisks(p)}. Report: ${code(p.command)}`
  );
}

const side = (x: { key: string; title: string; url: string }): string =>
  `${link(x.key, x.url)}${x.title === '' ? '' : ` ${esc(clip(x.title, TITLE_MAX))}`}`;

const linkLine = (l: CrossProgramLink): string =>
  `• ${side(l.blocker)} blocks ${side(l.blocked)}: ${esc(clip(l.detail, DETAIL_MAX))}, from ${code(l.command)}`;

const riskLine = (r: PortfolioRisk): string =>
  `• ${link(r.name, r.url)}${r.title === '' ? '' : ` ${esc(clip(r.title, TITLE_MAX))}`} (${esc(clip(r.program.name, 150))}): ` +
  `${esc(clip(r.detail, DETAIL_MAX))}, from ${code(r.command)}`;

function group<T>(heading: string, l: Listed<T>, line: (item: T) => string, max: number): Group {
  // A line too long for one text keeps its start, cut at a word.
  const lines = l.items.map((i) => {
    const full = line(i);
    return full.length <= max ? full : escFit(full, max - 1, max);
  });
  return { heading, lines, shown: lines.length, more: l.more, command: l.command };
}

/** The portfolio as a Slack message within `limits` (Slack's, by default). */
export function portfolioSlack(r: PortfolioReport, limits: SlackLimits = SLACK_LIMITS): SlackMessage {
  const title = `Portfolio status, week ${r.week.id}`;
  const header: SlackBlock = { type: 'header', text: { type: 'plain_text', text: clip(title, limits.header), emoji: false } };
  const about = context(esc(W.about(r)));
  const whole = `ptel status-report --portfolio --week ${r.week.id} --as-of ${instantText(new Date(r.asOf))} --format md`;
  const max = limits.text;
  const parts: Array<{ title: string; none: string | null; group: Group | null }> = [
    {
      title: '*1. Programs*',
      none: r.programsNone,
      group:
        r.programsNone === null
          ? group(
              `${r.programs.length} program${r.programs.length === 1 ? '' : 's'}, ${W.order}:`,
              { total: r.programs.length, items: r.programs, more: 0, command: whole },
              programLine,
              max,
            )
          : null,
    },
    {
      title: '*2. Cross-program dependencies*',
      none: r.dependencies.none,
      group:
        r.dependencies.none === null
          ? group(`*Open blocking links between programs (${r.dependencies.total})*, stalled first:`, r.dependencies, linkLine, max)
          : null,
    },
    {
      title: '*3. Top risks*',
      none: r.topRisks.none,
      group:
        r.topRisks.none === null
          ? group(`*Open risks across the portfolio (${r.topRisks.total})*, ${W.risksOrder}:`, r.topRisks, riskLine, max)
          : null,
    },
  ];
  const groups = parts.map((p) => p.group).filter((g): g is Group => g !== null);
  const render = (): SlackBlock[] => {
    const dropped = droppedLines(groups);
    const blocks: SlackBlock[] = [header, about];
    for (const p of parts) {
      const lines = [p.title, '', ...(p.group === null ? [esc(p.none ?? '')] : groupLines(p.group))];
      blocks.push({ type: 'divider' }, ...pack(lines, max).map(section));
    }
    blocks.push(
      context(
        dropped === 0
          ? `The whole view: ${code(whole)}`
          : `Cut to fit Slack's limits: ${dropped} line${dropped === 1 ? '' : 's'} left out, each counted in its list's "and N more". ` +
              `The whole view: ${code(whole)}`,
      ),
    );
    return blocks;
  };
  const blocks = fitBlocks(groups, render, limits);
  const n = (colour: PortfolioProgram['colour']): number => r.programs.filter((p) => p.colour === colour).length;
  const text = escFit(
    `${title}: ${r.programs.length} program${r.programs.length === 1 ? '' : 's'} (${n('red')} red, ${n('amber')} amber, ${n('green')} green), ` +
      `${r.dependencies.total} blocking link${r.dependencies.total === 1 ? '' : 's'} across programs.`,
    limits.message,
    limits.message,
  );
  return { text, blocks };
}
