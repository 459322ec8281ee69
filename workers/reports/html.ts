import { html, type Html } from '../export/html.js';
import { formatValue } from '../metrics/format.js';
import type { KpiLine, Listed, NextMilestone, ReportItem, StatusReport } from './status.js';

/**
 * The status report as one self-contained HTML document for email: inline styles only (email clients
 * strip <style> blocks and ignore classes), no script, no font, image or stylesheet fetched, tables for
 * layout, 640 px wide so it reads in a mail pane and prints on A4 within its margins. Every item links to
 * its source, every command is in <code>, and every text from the data is escaped by the `html` tag.
 * The words around the facts are the Markdown's (markdown.ts); this adds none of its own.
 */

/** The content width in CSS pixels: A4 is 794 px wide at 96 dpi, 680 px inside 15 mm margins. */
export const WIDTH = 640;

const FONT = 'Arial,Helvetica,sans-serif';
const MONO = 'Consolas,Menlo,Monaco,monospace';
const INK = '#1f2328';
const MUTED = '#57606a';
const RULE = '#d0d7de';
const LINK = '#0b5cad';
export const COLOURS = { red: '#b71c1c', amber: '#8a5300', green: '#1a6b30' } as const;

export const S = {
  body: `margin:0;padding:0;background:#ffffff;color:${INK};font-family:${FONT};font-size:14px;line-height:1.45;`,
  h1: `margin:0 0 6px 0;font-family:${FONT};font-size:22px;line-height:1.25;color:${INK};`,
  h2: `margin:22px 0 8px 0;padding:0 0 4px 0;border-bottom:1px solid ${RULE};font-family:${FONT};font-size:18px;line-height:1.3;color:${INK};`,
  h3: `margin:12px 0 4px 0;font-family:${FONT};font-size:14px;line-height:1.4;color:${INK};`,
  p: `margin:0 0 8px 0;font-family:${FONT};font-size:14px;line-height:1.45;color:${INK};`,
  muted: `margin:0 0 8px 0;font-family:${FONT};font-size:12px;line-height:1.4;color:${MUTED};`,
  ul: 'margin:0 0 8px 0;padding:0 0 0 20px;',
  li: `margin:0 0 4px 0;font-family:${FONT};font-size:14px;line-height:1.45;color:${INK};`,
  a: `color:${LINK};text-decoration:underline;`,
  code: `font-family:${MONO};font-size:12px;color:${INK};background:#f3f4f6;padding:1px 3px;word-break:break-word;overflow-wrap:anywhere;`,
  table: `border-collapse:collapse;width:100%;margin:0 0 8px 0;`,
  th: `padding:4px 6px;border:1px solid ${RULE};background:#f3f4f6;text-align:left;vertical-align:bottom;font-family:${FONT};font-size:12px;line-height:1.3;color:${INK};`,
  td: `padding:4px 6px;border:1px solid ${RULE};text-align:left;vertical-align:top;font-family:${FONT};font-size:12px;line-height:1.35;color:${INK};`,
  sub: `padding:2px 6px 6px 6px;border:1px solid ${RULE};border-top:0;font-family:${FONT};font-size:12px;line-height:1.35;color:${MUTED};`,
} as const;

/** Only a web address becomes a link: anything else in a url field stays text. */
const linkable = (url: string): boolean => /^https?:\/\/[^\s]+$/i.test(url);

export const code = (command: string): Html => html`<code style="${S.code}">${command}</code>`;

/** An item's name, linked to its source when it has one. */
export const named = (i: Pick<ReportItem, 'name' | 'url'>): Html =>
  linkable(i.url) ? html`<a href="${i.url}" style="${S.a}">${i.name}</a>` : html`${i.name}`;

const titled = (i: ReportItem): Html => (i.title === '' || i.title === i.name ? named(i) : html`${named(i)} ${i.title}`);

const dash = (v: string | null | undefined): string => (v === null || v === undefined || v === '' ? '-' : v);

/** An item's related things, linked: '; linked deployment checkout-api 9002'; nothing when it has none to tell. */
function related(i: ReportItem): Html {
  if (i.related === undefined) return html``;
  if (i.related.length === 0) return html`; no linked deployment`;
  return html`; linked deployment${i.related.length === 1 ? '' : 's'} ${i.related.map((r, n) => html`${n > 0 ? ', ' : ''}${named(r)}`)}`;
}

const itemLine = (i: ReportItem): Html => html`${titled(i)}: ${i.detail}${related(i)}`;

/** A release's readiness or an outcome's standing, with the command explaining it once it is counted. */
const factLine = (i: ReportItem): Html => html`${named(i)}: ${i.detail}${i.command === '' ? '' : html`, from ${code(i.command)}`}`;

/** A list under its label and count, with the command that lists it all; nothing when it is empty. */
export function listOf<T>(label: string, l: Listed<T>, line: (item: T) => Html): Html {
  if (l.total === 0) return html``;
  const from = l.command === '' ? html`` : html`, from ${code(l.command)}`;
  return html`<h3 style="${S.h3}">${label} (${l.total})${from}</h3>
    <ul style="${S.ul}">
      ${l.items.map((i) => html`<li style="${S.li}">${line(i)}</li>`)}${l.more > 0 ? html`<li style="${S.li}">and ${l.more} more</li>` : ''}
    </ul> `;
}

const list = (label: string, l: Listed<ReportItem>, line: (i: ReportItem) => Html = itemLine): Html => listOf(label, l, line);

const more = (l: Listed<unknown>): Html => (l.more > 0 ? html`<p style="${S.p}">and ${l.more} more: ${code(l.command)}</p>` : html``);

/** A table whose rows each carry a second, full-width line (the command behind the row). */
function table(headers: string[], rows: Array<{ cells: Array<Html | string>; below: Html }>): Html {
  return html`<table role="presentation" cellpadding="0" cellspacing="0" border="0" width="100%" style="${S.table}">
    <tr>
      ${headers.map((h) => html`<th style="${S.th}">${h}</th>`)}
    </tr>
    ${rows.map(
      (r) =>
        html`<tr>
            ${r.cells.map((c) => html`<td style="${S.td}">${c}</td>`)}
          </tr>
          <tr>
            <td colspan="${headers.length}" style="${S.sub}">${r.below}</td>
          </tr> `,
    )}
  </table> `;
}

function milestonesTable(l: Listed<NextMilestone>): Html {
  return html`${table(
    ['milestone', 'committed', 'P50', 'P85', 'confidence', 'band', 'since last week'],
    l.items.map((m) => ({
      cells: [
        named(m),
        dash(m.committed),
        dash(m.p50),
        dash(m.p85),
        m.confidence === null ? (m.noNumber === '' ? '-' : `no number: ${m.noNumber}`) : m.confidence.toFixed(2),
        dash(m.band),
        m.change,
      ],
      below: html`source: ${code(m.command)}`,
    })),
  )}${more(l)}`;
}

function metricsTable(l: Listed<KpiLine>): Html {
  return html`${table(
    ['metric', 'this week', 'previous 4 weeks (oldest first)', 'against their mean', 'better when'],
    l.items.map((k) => ({
      cells: [
        k.title,
        formatValue(k.unit, k.value),
        k.previous.map((p) => formatValue(k.unit, p.value)).join(', '),
        k.direction === null ? 'no earlier value' : `${k.change}, ${k.direction}`,
        k.better,
      ],
      below: html`explain: ${code(k.command)}`,
    })),
  )}${more(l)}`;
}

export const section = (id: string, heading: string, body: Html): Html =>
  html`<tr>
    <td data-section="${id}" style="padding:0;">
      <h2 style="${S.h2}">${heading}</h2>
      ${body}
    </td>
  </tr> `;

export const none = (text: string): Html => html`<p style="${S.p}">${text}</p>`;

/** A report as a self-contained email-ready document: its title, the line about its instants, then its sections; ending with a line break. */
export function page(title: string, about: Html, sections: Html): string {
  const doc = html`<!DOCTYPE html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title}</title>
      </head>
      <body style="${S.body}">
        <table
          role="presentation"
          cellpadding="0"
          cellspacing="0"
          border="0"
          width="100%"
          style="border-collapse:collapse;background:#ffffff;"
        >
          <tr>
            <td align="center" style="padding:16px 8px;">
              <table
                role="presentation"
                cellpadding="0"
                cellspacing="0"
                border="0"
                width="${WIDTH}"
                style="border-collapse:collapse;width:100%;max-width:${WIDTH}px;"
              >
                <tr>
                  <td style="padding:0;">
                    <h1 style="${S.h1}">${title}</h1>
                    <p style="${S.muted}">${about}</p>
                  </td>
                </tr>
                ${sections}
              </table>
            </td>
          </tr>
        </table>
      </body>
    </html>`;
  return `${doc.html.trimEnd()}\n`;
}

/** The report as an HTML document, ending with a line break. */
export function statusHtml(r: StatusReport): string {
  const title = `${r.program.name} status, week ${r.week.id}`;
  const colour = r.summary.colour;

  const summary = html`<p style="${S.p}">
      <span
        data-colour="${colour}"
        style="display:inline-block;padding:1px 8px;background:${COLOURS[colour]};color:#ffffff;font-weight:bold;"
        >${colour.toUpperCase()}</span
      >
    </p>
    <p style="${S.p}">${r.summary.text}</p>
    <p style="${S.p}">Confidence from ${code(r.summary.confidence.command)}.</p>
    ${list('Changes since last week', r.summary.changes, (i) => html`${named(i)} ${i.detail}, from ${code(i.command)}`)}${list(
      'Asks',
      r.summary.asks,
      (i) => html`${named(i)}: ${i.detail}, from ${code(i.command)}`,
    )}`;

  const a = r.accomplishments;
  const accomplishments =
    a.none !== null
      ? none(a.none)
      : html`${list('Milestones reached', a.milestones)}${list('Epics done', a.epics)}
          <h3 style="${S.h3}">Work items done: ${a.itemsDone.count}, from ${code(a.itemsDone.command)}</h3>
          ${list('Notable items done (high priority)', a.notable)}${list(
            'Services deployed to production',
            a.deployments,
            (i) => html`${named(i)}: ${i.detail}, from ${code(i.command)}`,
          )}${list('Incidents resolved', a.incidentsResolved)}`;

  const m = r.nextMilestones;
  const milestones = html`${
    m.none !== null
      ? none(m.none)
      : html`<p style="${S.p}">${m.total} open, soonest committed date first, from ${code(m.command)}:</p>
          ${milestonesTable(m)}`
  }${list('Readiness before the go/no-go', m.readiness, factLine)}`;

  const k = r.risks;
  const risks =
    k.none !== null
      ? none(k.none)
      : html`${list('Open high risks, unowned first', k.highRisks)}${list(
          'Active risk signals',
          k.signals,
          (i) => html`${i.detail} Explained by ${code(i.command)}.`,
        )}${list('Stalled cross-team dependencies', k.stalledDependencies)}${list('Incidents of the week', k.incidents)}`;

  const d = r.decisions;
  const decisions =
    d.none !== null
      ? none(d.none)
      : html`${list('Open decisions, release critical and oldest first', d.decisions)}${list('Overdue action items', d.overdueActions)}`;

  const metrics = html`${
    r.metrics.none !== null
      ? none(r.metrics.none)
      : html`<p style="${S.p}">The program's KPIs for ${r.week.id} against the four weeks before, most moved first:</p>
          ${metricsTable(r.metrics)}`
  }${list('Outcomes against their targets', r.metrics.outcomes, factLine)}`;

  return page(
    title,
    html`${r.week.first} to ${r.week.last} (${r.timeZone}), from the store as of ${r.asOf.slice(0, 16).replace('T', ' ')} UTC; "since last
    week" compares with the same report as of ${r.previousAsOf.slice(0, 16).replace('T', ' ')} UTC. Lists name at most ${r.cap} items.`,
    html`${section('summary', '1. Summary', summary)}${section('accomplishments', '2. Accomplishments', accomplishments)}${section(
      'milestones',
      '3. Next milestones',
      milestones,
    )}${section('risks', '4. Top risks and issues', risks)}${section('decisions', '5. Decisions needed', decisions)}${section(
      'metrics',
      '6. Metrics',
      metrics,
    )}`,
  );
}
