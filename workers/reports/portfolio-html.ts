import { html, type Html } from '../export/html.js';
import { code, COLOURS, listOf as list, named, none, page, S, section } from './html.js';
import { portfolioWords as W } from './portfolio-markdown.js';
import { colourWords, type CrossProgramLink, type PortfolioProgram, type PortfolioReport, type PortfolioRisk } from './portfolio.js';

/**
 * The portfolio view as one self-contained HTML document for email, with the program report's styles and
 * helpers (html.ts): inline styles only, tables for layout, no script and nothing fetched, every item linked
 * to its source and every command in <code>, every text from the data escaped. The words are the
 * Markdown's (portfolio-markdown.ts).
 */

const badge = (colour: PortfolioProgram['colour']): Html =>
  html`<span
    data-colour="${colour}"
    style="display:inline-block;padding:1px 6px;background:${COLOURS[colour]};color:#ffffff;font-weight:bold;"
    >${colour.toUpperCase()}</span
  >`;

function programsTable(r: PortfolioReport): Html {
  const headers = ['program', 'status', 'confidence', 'since last week', 'milestones at risk', 'decisions waiting', 'open high risks'];
  return html`<table role="presentation" cellpadding="0" cellspacing="0" border="0" width="100%" style="${S.table}">
    <tr>
      ${headers.map((h) => html`<th style="${S.th}">${h}</th>`)}
    </tr>
    ${r.programs.map(
      (p) =>
        html`<tr data-program="${p.program.id}">
          <td style="${S.td}">${p.program.name}</td>
          <td style="${S.td}">${badge(p.colour)} ${colourWords(p)}</td>
          <td style="${S.td}">${W.confidence(p)}</td>
          <td style="${S.td}">${p.confidence.change}</td>
          <td style="${S.td}">${p.milestonesAtRisk.total}</td>
          <td style="${S.td}">${W.decisions(p)}</td>
          <td style="${S.td}">${W.highRisks(p)}</td>
        </tr> `,
    )}
  </table> `;
}

function programBlock(p: PortfolioProgram): Html {
  const c = p.confidence;
  const m = p.milestonesAtRisk;
  const confidence =
    c.setBy === null
      ? html`Confidence: none, no milestone due in the window has a forecast number (${c.change}), from ${code(c.command)}.`
      : html`Confidence: ${W.confidence(p)}, set by ${named({ name: c.setBy.name, url: c.setBy.url })} (committed ${c.setBy.committed}),
        ${c.change}, from ${code(c.command)}.`;
  const milestones =
    m.total === 0
      ? html`Milestones at risk: none, from ${code(m.command)}.`
      : html`Milestones at risk: ${m.total}, from ${code(m.command)}:
          <ul style="${S.ul}">
            ${m.items.map((i) => html`<li style="${S.li}">${named(i)}: ${i.detail}</li>`)}${
              m.more > 0 ? html`<li style="${S.li}">and ${m.more} more</li>` : ''
            }
          </ul>`;
  return html`<div data-program-detail="${p.program.id}">
    <h3 style="${S.h3}">${p.program.name}</h3>
    <p style="${S.p}">${p.health} From ${code(p.command)}.</p>
    <ul style="${S.ul}">
      <li style="${S.li}">${confidence}</li>
      <li style="${S.li}">Decisions waiting: ${W.decisions(p)}, from ${code(p.decisions.command)}.</li>
      <li style="${S.li}">Open high risks: ${W.highRisks(p)}, from ${code(p.highRisks.command)}.</li>
      <li style="${S.li}">${milestones}</li>
    </ul>
  </div> `;
}

const side = (x: { key: string; title: string; url: string }): Html =>
  html`${named({ name: x.key, url: x.url })}${x.title === '' ? '' : ` ${x.title}`}`;

const linkLine = (l: CrossProgramLink): Html => html`${side(l.blocker)} blocks ${side(l.blocked)}: ${l.detail}, from ${code(l.command)}`;

const riskLine = (r: PortfolioRisk): Html =>
  html`${named(r)}${r.title === '' ? '' : ` ${r.title}`} (${r.program.name}): ${r.detail}, from ${code(r.command)}`;

/** The portfolio as an HTML document, ending with a line break. */
export function portfolioHtml(r: PortfolioReport): string {
  const title = `Portfolio status, week ${r.week.id}`;
  const programs =
    r.programsNone !== null
      ? none(r.programsNone)
      : html`<p style="${S.p}">
            ${r.programs.length} program${r.programs.length === 1 ? '' : 's'}, ${W.order}; each row from the program's own report:
          </p>
          ${programsTable(r)}${r.programs.map(programBlock)}`;
  const dependencies =
    r.dependencies.none !== null
      ? none(r.dependencies.none)
      : list('Open blocking links between programs, stalled first, then oldest', r.dependencies, linkLine);
  const risks =
    r.topRisks.none !== null ? none(r.topRisks.none) : list(`Open risks across the portfolio, ${W.risksOrder}`, r.topRisks, riskLine);
  return page(
    title,
    html`${W.about(r)}`,
    html`${section('programs', '1. Programs', programs)}${section(
      'dependencies',
      '2. Cross-program dependencies',
      dependencies,
    )}${section('risks', '3. Top risks', risks)}`,
  );
}
