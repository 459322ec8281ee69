import type { Tier } from '../metrics/benchmarks.js';
import { DORA_METRICS } from '../metrics/definitions/dora.js';
import { metricById } from '../metrics/definitions/index.js';
import { QUALITY_METRICS } from '../metrics/definitions/quality.js';
import { formatChange, formatValue } from '../metrics/format.js';
import { Html, html } from './html.js';
import { TREND_MONTHS, type KpiRow, type StoredValue } from './kpis.js';
import { addMonths, monthStart, type Month } from './month.js';
import type { Incident, RiskScore, ScopeInfo, ScopeReport } from './report-data.js';

/** The value formatting lives with the metrics (workers/metrics/format.ts), shared with the CLI. */
export { formatChange, formatValue };

/**
 * report.html: one self-contained page (inline CSS and SVG, no script, no font or image to fetch) with a
 * section per org, program and team: DORA tiers, trend charts of the key KPIs, the KPI table with the
 * change against the previous month, top risks, stalls at month end and notable incidents. It prints to
 * A4 with each scope on new pages, rows never cut, and every mark readable without colour.
 */

export interface ReportInput {
  month: Month;
  generatedAt: string;
  /** The instant the store was read at (ISO 8601), or null for the store as it was when generated. */
  asOf?: string | null;
  timeZone: string;
  benchmarkYear: number;
  rows: readonly KpiRow[];
  /** The monthly values of the trend months (see TREND_MONTHS). */
  history: readonly StoredValue[];
  scopes: readonly ScopeReport[];
}

/** The DORA metrics with benchmark tiers, in the order the reports list them (deployment frequency as the stored weekly rate). */
const DORA_KEYS = ['deployments_per_week', 'change_lead_time_p50', 'change_failure_rate', 'failed_deployment_recovery_time_p50'] as const;

/** The KPIs that get a trend chart. */
export const TREND_KPIS = [
  ...DORA_KEYS,
  'incident_count',
  'cycle_time_p50',
  'throughput',
  'milestone_on_time_rate_latest',
  'dependency_stalls',
] as const;

const SHORT_NAMES: Record<string, string> = {
  deployments_per_week: 'Deployment frequency',
  change_lead_time_p50: 'Change lead time (p50)',
  change_failure_rate: 'Change failure rate',
  failed_deployment_recovery_time_p50: 'Failed deployment recovery (p50)',
  incident_count: 'Incidents',
  cycle_time_p50: 'Cycle time (p50)',
  throughput: 'Throughput',
  milestone_on_time_rate_latest: 'Milestones on time',
  dependency_stalls: 'Stalled dependencies',
};

const KIND_LABEL: Record<string, string> = { org: 'Organisation', program: 'Program', team: 'Team' };

function groupOf(metric: string): string {
  if (DORA_METRICS.some((m) => m.id === metric)) return 'Delivery (DORA)';
  if (QUALITY_METRICS.some((m) => m.id === metric)) return 'Quality';
  const def = metricById(metric);
  if (def === undefined) return 'Other';
  return def.item >= 19 ? 'Flow' : 'Program delivery';
}

const trimmed = (v: number, digits: number): string => String(Number(v.toFixed(digits)));
const monthName = (month: Month, style: 'long' | 'short'): string =>
  new Date(`${monthStart(month)}T00:00:00Z`).toLocaleString('en-US', {
    month: style,
    ...(style === 'long' ? { year: 'numeric' } : {}),
    timeZone: 'UTC',
  });

/** 'Team Checkout'; the org is just 'Organisation'. */
const scopeTitle = (s: ScopeInfo): string => (s.kind === 'org' ? s.name : `${KIND_LABEL[s.kind] ?? s.kind} ${s.name}`);

const anchor = (s: Pick<ScopeInfo, 'kind' | 'id'>): string => `scope-${s.kind}-${s.id.replace(/[^A-Za-z0-9_-]/g, '_')}`;

/** A table's head row, repeated on each printed page the table spans. */
const head = (columns: string[]): Html =>
  html`<thead>
    <tr>
      ${columns.map((c) => html`<th scope="col">${c}</th>`)}
    </tr>
  </thead>`;

function tierBadge(tier: Tier | null): Html {
  return tier === null ? html`<span class="tier none">no tier</span>` : html`<span class="tier ${tier}">${tier}</span>`;
}

/** The change against the previous month: an arrow for its direction, coloured and worded by better or worse. */
function changeMark(r: KpiRow): Html {
  if (r.change === null || r.change_direction === null) return html`<span class="change none">—</span>`;
  const arrow = r.change > 0 ? '▲' : r.change < 0 ? '▼' : '▶';
  const word = r.change_direction === 'same' ? 'flat' : r.change_direction;
  return html`<span class="change ${r.change_direction}" title="${word}"
    ><span class="arrow" aria-hidden="true">${arrow}</span> ${formatChange(r.unit, r.change)} <span class="word">${word}</span></span
  >`;
}

function doraCards(rows: readonly KpiRow[], year: number): Html {
  // the month's count beside the weekly rate
  const count = rows.find((x) => x.metric === 'deployment_frequency');
  const cards = DORA_KEYS.map((id) => {
    const r = rows.find((x) => x.metric === id);
    return html`<div class="card">
      <div class="card-title">${SHORT_NAMES[id]}</div>
      <div class="card-value">
        ${r === undefined ? '—' : formatValue(r.unit, r.value)}
        ${id === 'deployments_per_week' && count !== undefined && count.value !== null ? html`<span class="card-note">${trimmed(count.value, 0)} in the month</span>` : ''}
      </div>
      <div>${tierBadge(r?.tier ?? null)}</div>
    </div>`;
  });
  return html`<section class="block" data-section="dora">
    <h3>DORA tiers <span class="note">(${year} report benchmarks; deployment frequency per week, averaged over the month)</span></h3>
    <div class="cards">${cards}</div>
  </section>`;
}

/** A small line chart of one KPI over the trend months; months with no value leave a gap. */
export function trendChart(title: string, unit: string, series: ReadonlyArray<{ month: Month; value: number | null }>): Html {
  const width = 250;
  const height = 96;
  const pad = { left: 44, right: 48, top: 8, bottom: 18 };
  const present = series.map((p) => p.value).filter((v): v is number => v !== null);
  const hi = Math.max(0, ...present);
  const top = hi > 0 ? hi : 1;
  const lo = Math.min(0, ...present);
  const step = series.length > 1 ? (width - pad.left - pad.right) / (series.length - 1) : 0;
  const x = (i: number): number => pad.left + i * step;
  const y = (v: number): number => pad.top + ((top - v) / (top - lo)) * (height - pad.top - pad.bottom);
  const f = (n: number): string => n.toFixed(1);
  let path = '';
  series.forEach((p, i) => {
    if (p.value === null) return;
    path += `${i > 0 && series[i - 1]?.value !== null ? 'L' : 'M'}${f(x(i))} ${f(y(p.value))} `;
  });
  const lastIndex = series.length - 1;
  const last = series[lastIndex]?.value ?? null;
  const points = series.map((p, i) =>
    p.value === null ? '' : html`<circle cx="${f(x(i))}" cy="${f(y(p.value))}" r="${i === lastIndex ? 3.5 : 2.2}" />`,
  );
  const labels = series.map(
    (p, i) => html`<text x="${f(x(i))}" y="${height - 4}" text-anchor="middle" class="axis">${monthName(p.month, 'short')}</text>`,
  );
  const summary = series.map((p) => `${monthName(p.month, 'short')} ${formatValue(unit, p.value)}`).join(', ');
  return html`<figure class="chart">
    <figcaption>${title}</figcaption>
    <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img">
      <title>${title}: ${summary}</title>
      <line x1="${pad.left}" x2="${width - pad.right}" y1="${f(y(top))}" y2="${f(y(top))}" class="grid" />
      <line x1="${pad.left}" x2="${width - pad.right}" y1="${f(y(lo))}" y2="${f(y(lo))}" class="base" />
      <text x="${pad.left - 6}" y="${f(y(top) + 3)}" text-anchor="end" class="axis">${formatValue(unit, top)}</text>
      <text x="${pad.left - 6}" y="${f(y(lo) + 3)}" text-anchor="end" class="axis">${formatValue(unit, lo)}</text>
      ${path === '' ? html`<text x="${f(width / 2)}" y="${f(height / 2)}" text-anchor="middle" class="axis">no values</text>` : html`<path d="${path.trim()}" />`}
      ${points}
      ${last === null ? '' : html`<text x="${f(x(lastIndex) + 7)}" y="${f(y(last) + 3.5)}" class="last">${formatValue(unit, last)}</text>`}
      ${labels}
    </svg>
  </figure>`;
}

function trends(scope: ScopeInfo, input: ReportInput): Html {
  const months = Array.from({ length: TREND_MONTHS }, (_, i) => addMonths(input.month, i - (TREND_MONTHS - 1)));
  const mine = input.history.filter((v) => v.scope_kind === scope.kind && v.scope_id === scope.id);
  const charts = TREND_KPIS.filter((id) => mine.some((v) => v.metric === id)).map((id) => {
    const unit = mine.find((v) => v.metric === id)?.unit ?? '';
    const series = months.map((m) => ({
      month: m,
      value: mine.find((v) => v.metric === id && v.period_start === monthStart(m))?.value ?? null,
    }));
    return trendChart(SHORT_NAMES[id] ?? id, unit, series);
  });
  return html`<section class="block" data-section="trends">
    <h3>Trends <span class="note">(last ${TREND_MONTHS} months; the dot on the right is ${monthName(input.month, 'long')})</span></h3>
    ${charts.length === 0 ? html`<p class="empty">No key KPI has values in these months.</p>` : html`<div class="charts">${charts}</div>`}
  </section>`;
}

function kpiTable(rows: readonly KpiRow[]): Html {
  const groups = new Map<string, KpiRow[]>();
  for (const r of rows) {
    const g = groupOf(r.metric);
    groups.set(g, [...(groups.get(g) ?? []), r]);
  }
  const bodies = [...groups].map(
    ([group, list]) =>
      html`<tbody>
        <tr class="group">
          <th colspan="6" scope="colgroup">${group}</th>
        </tr>
        ${list.map(
          (r) =>
            html`<tr data-metric="${r.metric}">
              <th scope="row">${r.title === '' ? r.metric : r.title}<span class="id">${r.metric}</span></th>
              <td class="num">${formatValue(r.unit, r.value)}</td>
              <td class="num">${formatValue(r.unit, r.previous_value)}</td>
              <td>${changeMark(r)}</td>
              <td class="num">${r.sample_size}</td>
              <td>${r.tier === null ? '' : tierBadge(r.tier)}</td>
            </tr>`,
        )}
      </tbody>`,
  );
  return html`<section class="block" data-section="kpis">
    <h3>
      KPIs <span class="note">(change against the previous month; ▲ up, ▼ down, ▶ flat; better or worse by the metric's direction)</span>
    </h3>
    ${
      rows.length === 0
        ? html`<p class="empty">No values this month.</p>`
        : html`<table class="kpis">
            ${head(['Metric', 'Value', 'Previous', 'Change', 'n', 'Tier'])} ${bodies}
          </table>`
    }
  </section>`;
}

function riskScoreLine(scores: readonly RiskScore[]): Html {
  if (scores.length === 0) return html`<p class="empty">No risk score this month (too little history for the baselines).</p>`;
  const latest = scores[scores.length - 1]!;
  const peak = scores.reduce((a, b) => (b.score > a.score ? b : a));
  return html`<p class="score">
    Risk score <strong>${Number(latest.score).toFixed(2)}</strong> in the week of ${latest.week_start} (${latest.active_signals} active
    signal${Number(latest.active_signals) === 1 ? '' : 's'}${latest.top_indicator === '' ? '' : `, led by ${latest.top_indicator}`}); peak
    ${Number(peak.score).toFixed(2)} in the week of ${peak.week_start}.
  </p>`;
}

/** A section of items: its heading (and what comes before the list), then a table of them or a line saying there are none. */
function itemSection(name: string, heading: Html, before: Html | '', empty: string, columns: string[], rows: Html[]): Html {
  return html`<section class="block items" data-section="${name}">
    <h3>${heading}</h3>
    ${before}
    ${
      rows.length === 0
        ? html`<p class="empty">${empty}</p>`
        : html`<table class="small">
            ${head(columns)}
            <tbody>
              ${rows}
            </tbody>
          </table>`
    }
  </section>`;
}

function risks(s: ScopeReport): Html {
  return itemSection(
    'risks',
    html`Top risks <span class="note">(risk signals active in a week of the month, strongest first)</span>`,
    riskScoreLine(s.riskScores),
    'No risk signal fired this month.',
    ['Signal', 'Week of', 'Observed', 'Expected (band)', 'Score'],
    s.risks.map(
      (r) =>
        html`<tr>
          <td><strong>${r.indicator}</strong><br />${r.explanation}</td>
          <td class="nowrap">${r.week_start}</td>
          <td class="num">${trimmed(r.observed, 2)}</td>
          <td class="num">${trimmed(r.expected, 2)} (${trimmed(r.band[0], 2)} – ${trimmed(r.band[1], 2)})</td>
          <td class="num">${trimmed(r.score, 2)}</td>
        </tr>`,
    ),
  );
}

function stalls(s: ScopeReport, rows: readonly KpiRow[]): Html {
  const count = rows.find((r) => r.metric === 'dependency_stalls')?.value ?? null;
  return itemSection(
    'stalls',
    html`Stalls at month end <span class="note">(blocking links stalled when the month ended: the units of dependency_stalls)</span>`,
    '',
    count === null ? 'No stall count for this month.' : 'No blocking link was stalled at the end of the month.',
    ['Link', 'Why it is stalled'],
    s.stalls.map(
      (x) =>
        html`<tr>
          <td class="nowrap">${x.item}</td>
          <td>${x.detail}</td>
        </tr>`,
    ),
  );
}

const minutes = (t: string | null): string => (t === null ? '' : t.slice(0, 16));

function duration(hours: number): string {
  return hours >= 48 ? `${trimmed(hours / 24, 1)} d` : hours >= 1 ? `${trimmed(hours, 1)} h` : `${Math.round(hours * 60)} min`;
}

function deploymentCell(i: Incident): Html {
  if (i.deployments.length === 0) return html`<span class="muted">none linked</span>`;
  return html`${i.deployments.map(
    (d) =>
      html`<div>
        ${d.service === '' ? d.id : d.service} ${d.ref === '' ? '' : d.ref} ${d.sha === '' ? '' : html`<code>${d.sha.slice(0, 7)}</code>`}
        <span class="muted">(${d.method}${d.finished_at === null ? '' : `, finished ${minutes(d.finished_at)}`})</span>
      </div>`,
  )}`;
}

function incidents(s: ScopeReport, tz: string): Html {
  return itemSection(
    'incidents',
    html`Notable incidents <span class="note">(started this month, by severity then duration; times in ${tz})</span>`,
    '',
    'No incident started this month.',
    ['Incident', 'Severity', 'Started', 'Duration', 'Linked deployment'],
    s.incidents.map(
      (i) =>
        html`<tr>
          <td><strong>#${i.number}</strong> ${i.title}${i.service === '' ? '' : html`<br /><span class="muted">${i.service}</span>`}</td>
          <td>${i.severity === '' ? 'unrated' : i.severity}${i.urgency === '' ? '' : html` <span class="muted">${i.urgency}</span>`}</td>
          <td class="nowrap">${minutes(i.created_at)}</td>
          <td class="nowrap">${duration(i.duration_hours)}${i.open_at_month_end ? html` <strong>open at month end</strong>` : ''}</td>
          <td>${deploymentCell(i)}</td>
        </tr>`,
    ),
  );
}

function scopeSection(s: ScopeReport, input: ReportInput, programs: ReadonlyMap<string, string>): Html {
  const rows = input.rows.filter((r) => r.scope_kind === s.scope.kind && r.scope_id === s.scope.id);
  const program = s.scope.program === undefined ? undefined : programs.get(s.scope.program);
  return html`<section class="scope" id="${anchor(s.scope)}" data-scope="${s.scope.kind}:${s.scope.id}">
    <h2><span class="kind">${KIND_LABEL[s.scope.kind] ?? s.scope.kind}</span> ${s.scope.name}</h2>
    <p class="sub">
      ${s.scope.kind}:${s.scope.id}${program === undefined ? '' : html` · program ${program}`} · ${monthName(input.month, 'long')}
    </p>
    ${doraCards(rows, input.benchmarkYear)} ${trends(s.scope, input)} ${kpiTable(rows)} ${risks(s)} ${stalls(s, rows)}
    ${incidents(s, input.timeZone)}
  </section>`;
}

const CSS = `
:root { --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --soft: #f3f5f7; --better: #1a7f37; --worse: #c62828; --same: #57606a; --accent: #2b5797; }
* { box-sizing: border-box; }
html { background: #fff; }
body { margin: 0 auto; max-width: 1120px; padding: 28px 32px; color: var(--ink); font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 0 0 2px; padding-top: 6px; border-top: 3px solid var(--ink); }
h2 .kind { display: inline-block; font-size: 11px; text-transform: uppercase; letter-spacing: .06em; border: 1px solid var(--ink); padding: 1px 6px; margin-right: 6px; vertical-align: 3px; }
h3 { font-size: 14px; margin: 18px 0 6px; }
.note, .muted, .sub, .meta { color: var(--muted); font-weight: normal; }
.note { font-size: 11px; }
.sub { margin: 0 0 8px; }
.meta { margin: 0 0 16px; }
nav.toc ol { columns: 2; padding-left: 20px; }
nav.toc a { color: var(--accent); }
section.scope { margin-top: 36px; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; background: var(--soft); }
.card-title { font-size: 11px; color: var(--muted); }
.card-value { font-size: 20px; font-weight: 600; margin: 2px 0 4px; }
.card-note { font-size: 12px; font-weight: normal; color: var(--muted); margin-left: 6px; }
.tier { display: inline-block; font-size: 10px; font-weight: 700; text-transform: uppercase; letter-spacing: .05em; padding: 1px 6px; border-radius: 3px; border: 1px solid currentColor; }
.tier.elite { color: #0b5e2a; background: #d9f2e1; }
.tier.high { color: #1d4f91; background: #dce8f8; }
.tier.medium { color: #7a4b00; background: #fbecc9; border-style: dashed; }
.tier.low { color: #8b1a1a; background: #f8dada; border-style: dotted; }
.tier.none { color: var(--muted); background: none; font-weight: normal; }
.charts { display: grid; grid-template-columns: repeat(3, 1fr); gap: 6px 14px; }
figure.chart { margin: 0; }
figure.chart figcaption { font-size: 11px; font-weight: 600; }
svg path { fill: none; stroke: var(--accent); stroke-width: 2; }
svg circle { fill: var(--accent); }
svg .grid { stroke: var(--line); stroke-dasharray: 3 3; }
svg .base { stroke: #8c959f; }
svg .axis { font-size: 9px; fill: var(--muted); }
svg .last { font-size: 10px; font-weight: 700; fill: var(--ink); }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; vertical-align: top; padding: 3px 6px; border-bottom: 1px solid var(--line); }
thead th { font-size: 11px; color: var(--muted); border-bottom: 2px solid var(--ink); }
tbody th { font-weight: normal; }
tr.group th { font-weight: 700; background: var(--soft); border-bottom: 1px solid var(--ink); }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.nowrap { white-space: nowrap; }
.id { display: block; font-size: 10px; color: var(--muted); font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
.change { white-space: nowrap; }
.change.better { color: var(--better); }
.change.worse { color: var(--worse); }
.change.same, .change.none { color: var(--same); }
.change .word { font-size: 10px; text-transform: uppercase; }
.change.worse .word { font-weight: 700; }
.score { margin: 0 0 6px; }
.empty { color: var(--muted); font-style: italic; margin: 0; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 11px; }
@page { size: A4; margin: 12mm 11mm; }
@media print {
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  nav.toc a { color: inherit; text-decoration: none; }
  section.scope { margin-top: 0; break-before: page; }
  h2, h3 { break-after: avoid; }
  tr, figure.chart, .card, .score { break-inside: avoid; }
  thead { display: table-header-group; }
  table.small, .items { break-inside: avoid; }
  .cards { grid-template-columns: repeat(4, 1fr); }
  .charts { grid-template-columns: repeat(3, 1fr); }
}
`;

/** The whole report as one HTML document. */
export function renderReport(input: ReportInput): string {
  const programs = new Map(input.scopes.filter((s) => s.scope.kind === 'program').map((s) => [s.scope.id, s.scope.name]));
  const title = `KPI report: ${monthName(input.month, 'long')}`;
  const page = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title}</title>
        <style>
          ${new Html(CSS)}
        </style>
      </head>
      <body>
        <header>
          <h1>${title}</h1>
          <p class="meta">
            Month ${input.month} in
            ${input.timeZone}${
              input.asOf === undefined || input.asOf === null
                ? ''
                : html` · <strong data-as-of="${input.asOf}">as of ${input.asOf}</strong>`
            }
            · generated ${input.generatedAt} · DORA tiers from the ${input.benchmarkYear} report · every number is the stored monthly value
            (kpis.csv and kpis.json hold them all, services and repositories included)
          </p>
          <nav class="toc" data-section="contents">
            <h3>Contents</h3>
            <ol>
              ${input.scopes.map((s) => html`<li><a href="#${anchor(s.scope)}">${scopeTitle(s.scope)}</a></li>`)}
            </ol>
          </nav>
        </header>
        <main>${input.scopes.map((s) => scopeSection(s, input, programs))}</main>
      </body>
    </html> `;
  return page.html;
}
