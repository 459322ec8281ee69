import type { Tier } from '../metrics/benchmarks.js';
import { DORA_METRICS } from '../metrics/definitions/dora.js';
import { metricById } from '../metrics/definitions/index.js';
import { QUALITY_METRICS } from '../metrics/definitions/quality.js';
import { formatChange, formatValue } from '../metrics/format.js';
import { statusOf, targetOf, type MetricTarget } from '../metrics/targets.js';
import type { ForecastsAt } from './forecasts.js';
import { Html, html } from './html.js';
import { TREND_MONTHS, type KpiRow, type StoredValue } from './kpis.js';
import { addMonths, monthStart, type Month } from './month.js';
import type { KpiMove, Readout, ReadoutForecast, ReadoutItem, RegisterChange } from './readout.js';
import type { Incident, RiskScore, ScopeInfo, ScopeReport } from './report-data.js';

/** The value formatting lives with the metrics (workers/metrics/format.ts), shared with the CLI. */
export { formatChange, formatValue };

/**
 * report.html: one self-contained page (inline CSS and SVG, no script, no font or image to fetch). It
 * opens with the executive readout, a page per program (and the org's when it has several): the status
 * colour and why, milestones at risk, top risks, decisions needed and what changed since the month
 * before. Then the KPI detail, a section per org, program and team: trend charts of the key KPIs, the KPI
 * table with the change against the previous month and the DORA tiers, a program's milestone forecasts at
 * month end, risk signals, stalls at month end and notable incidents. It prints to A4 with the readout and each scope on new pages, rows never cut,
 * every mark readable without colour, and reads on a phone (wide tables scroll in their own box).
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
  /** The readout pages that open the report (see readout.ts); none: the report starts with the KPI detail. */
  readouts?: readonly Readout[];
  /** The milestone forecasts at the month's end (see forecasts.ts): a Forecasts section per program; none: no such section. */
  forecasts?: ForecastsAt;
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

/** Charts that draw a second line beside their metric: the on-time rate against the original plan beside the latest. */
const COMPANION_LINES: Record<string, { metric: string; name: string; own: string }> = {
  milestone_on_time_rate_latest: { metric: 'milestone_on_time_rate_original', name: 'original plan', own: 'latest plan' },
};

const SHORT_NAMES: Record<string, string> = {
  deployments_per_week: 'Deployment frequency',
  change_lead_time_p50: 'Change lead time (p50)',
  change_failure_rate: 'Change failure rate',
  failed_deployment_recovery_time_p50: 'Failed deployment recovery (p50)',
  incident_count: 'Incidents',
  cycle_time_p50: 'Cycle time (p50)',
  throughput: 'Throughput',
  milestone_on_time_rate_latest: 'Milestones on time: original vs latest plan',
  dependency_stalls: 'Stalled dependencies',
};

const KIND_LABEL: Record<string, string> = { org: 'Organisation', program: 'Program', team: 'Team' };

function groupOf(metric: string): string {
  if (DORA_METRICS.some((m) => m.id === metric)) return 'Delivery (DORA)';
  if (QUALITY_METRICS.some((m) => m.id === metric)) return 'Quality';
  const def = metricById(metric);
  if (def === undefined) return 'Other';
  // Items 24-30: the KPIs whose facts come from outside the trackers.
  if (def.item >= 24) return 'Readiness, outcomes, stakeholders and cost';
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

/**
 * The unit a row of values reads in: hours as days when any of them is 48 h or more, else as hours, so a
 * row (a KPI's value, previous value and change; a chart's axis and points) never mixes 'd' and 'h'.
 */
export function rowUnit(unit: string, values: ReadonlyArray<number | null>): string {
  if (unit !== 'hours') return unit;
  return values.some((v) => v !== null && Math.abs(v) >= 48) ? 'hours:d' : 'hours:h';
}

/** A value in the row's unit (see rowUnit). */
export function formatIn(display: string, v: number | null): string {
  if (v === null) return '—';
  if (display === 'hours:d') return formatValue('days', v / 24);
  if (display === 'hours:h') return Math.abs(v) >= 48 ? `${trimmed(v, 1)} h` : formatValue('hours', v);
  return formatValue(display, v);
}

/** A change in the row's unit (see rowUnit), with its sign. */
export function changeIn(display: string, change: number): string {
  if (display === 'hours:d') return formatChange('days', change / 24);
  if (display === 'hours:h' && Math.abs(change) >= 48) return `${change > 0 ? '+' : '−'}${trimmed(Math.abs(change), 1)} h`;
  return formatChange(display === 'hours:h' ? 'hours' : display, change);
}

/** The change against the previous month: an arrow for its direction, coloured and worded by better or worse. */
function changeMark(r: Pick<KpiRow, 'change' | 'change_direction'>, display: string): Html {
  if (r.change === null || r.change_direction === null) return html`<span class="change none">—</span>`;
  const arrow = r.change > 0 ? '▲' : r.change < 0 ? '▼' : '▶';
  const word = r.change_direction === 'same' ? 'flat' : r.change_direction;
  return html`<span class="change ${r.change_direction}" title="${word}"
    ><span class="arrow" aria-hidden="true">${arrow}</span> ${changeIn(display, r.change)} <span class="word">${word}</span></span
  >`;
}

/** A line of a trend chart: its name (in the legend, when the chart has several) and a value per month. */
export interface TrendLine {
  name: string;
  points: ReadonlyArray<{ month: Month; value: number | null }>;
}

/**
 * A small line chart of one KPI over the trend months (months with no value leave a gap), in one unit
 * throughout (see rowUnit). A second line (dashed, its points hollow) is drawn beside the first, with a
 * legend naming both.
 */
export function trendChart(title: string, unit: string, lines: readonly TrendLine[]): Html {
  const width = 250;
  const height = 96;
  const pad = { left: 44, right: 48, top: 8, bottom: 18 };
  const series = lines[0]?.points ?? [];
  const present = lines.flatMap((l) => l.points.map((p) => p.value)).filter((v): v is number => v !== null);
  const display = rowUnit(unit, present);
  const hi = Math.max(0, ...present);
  const top = hi > 0 ? hi : 1;
  const lo = Math.min(0, ...present);
  const step = series.length > 1 ? (width - pad.left - pad.right) / (series.length - 1) : 0;
  const x = (i: number): number => pad.left + i * step;
  const y = (v: number): number => pad.top + ((top - v) / (top - lo)) * (height - pad.top - pad.bottom);
  const f = (n: number): string => n.toFixed(1);
  const lastIndex = series.length - 1;
  const drawn = lines.map((line, n) => {
    let path = '';
    line.points.forEach((p, i) => {
      if (p.value === null) return;
      path += `${i > 0 && line.points[i - 1]?.value !== null ? 'L' : 'M'}${f(x(i))} ${f(y(p.value))} `;
    });
    const points = line.points.map((p, i) =>
      p.value === null ? '' : html`<circle cx="${f(x(i))}" cy="${f(y(p.value))}" r="${i === lastIndex ? 3.5 : 2.2}" />`,
    );
    return html`<g class="line line-${n}" data-line="${line.name}">${path === '' ? '' : html`<path d="${path.trim()}" />`}${points}</g>`;
  });
  const labels = series.map(
    (p, i) => html`<text x="${f(x(i))}" y="${height - 4}" text-anchor="middle" class="axis">${monthName(p.month, 'short')}</text>`,
  );
  const last = lines.map((l) => l.points[lastIndex]?.value ?? null);
  const first = last[0] ?? null;
  // A second line's label moves down when it would sit on the first's.
  const nudge = (v: number, n: number): number => (n > 0 && first !== null && Math.abs(y(v) - y(first)) < 10 ? 10 : 0);
  const lastLabels = last.map((v, n) =>
    v === null
      ? ''
      : html`<text x="${f(x(lastIndex) + 7)}" y="${f(y(v) + 3.5 + nudge(v, n))}" class="last line-${n}">${formatIn(display, v)}</text>`,
  );
  const summary = lines
    .map(
      (l) =>
        `${lines.length > 1 ? `${l.name}: ` : ''}${l.points.map((p) => `${monthName(p.month, 'short')} ${formatIn(display, p.value)}`).join(', ')}`,
    )
    .join('; ');
  return html`<figure class="chart" data-chart="${title}">
    <figcaption>${title}</figcaption>
    <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img">
      <title>${title}: ${summary}</title>
      <line x1="${pad.left}" x2="${width - pad.right}" y1="${f(y(top))}" y2="${f(y(top))}" class="grid" />
      <line x1="${pad.left}" x2="${width - pad.right}" y1="${f(y(lo))}" y2="${f(y(lo))}" class="base" />
      <text x="${pad.left - 6}" y="${f(y(top) + 3)}" text-anchor="end" class="axis">${formatIn(display, top)}</text>
      <text x="${pad.left - 6}" y="${f(y(lo) + 3)}" text-anchor="end" class="axis">${formatIn(display, lo)}</text>
      ${present.length === 0 ? html`<text x="${f(width / 2)}" y="${f(height / 2)}" text-anchor="middle" class="axis">no values</text>` : drawn}
      ${lastLabels} ${labels}
    </svg>
    ${
      lines.length > 1
        ? html`<div class="legend">
            ${lines.map((l, n) => html`<span class="key line-${n}"><span class="swatch" aria-hidden="true"></span>${l.name}</span>`)}
          </div>`
        : ''
    }
  </figure>`;
}

function trends(scope: ScopeInfo, input: ReportInput): Html {
  const months = Array.from({ length: TREND_MONTHS }, (_, i) => addMonths(input.month, i - (TREND_MONTHS - 1)));
  const mine = input.history.filter((v) => v.scope_kind === scope.kind && v.scope_id === scope.id);
  const line = (metric: string, name: string): TrendLine => ({
    name,
    points: months.map((m) => ({
      month: m,
      value: mine.find((v) => v.metric === metric && v.period_start === monthStart(m))?.value ?? null,
    })),
  });
  const charts = TREND_KPIS.filter((id) => mine.some((v) => v.metric === id || v.metric === COMPANION_LINES[id]?.metric)).map((id) => {
    const unit = mine.find((v) => v.metric === id || v.metric === COMPANION_LINES[id]?.metric)?.unit ?? '';
    const companion = COMPANION_LINES[id];
    const lines =
      companion === undefined ? [line(id, SHORT_NAMES[id] ?? id)] : [line(companion.metric, companion.name), line(id, companion.own)];
    return trendChart(SHORT_NAMES[id] ?? id, unit, lines);
  });
  return html`<section class="block" data-section="trends">
    <h3>Trends <span class="note">(last ${TREND_MONTHS} months; the dot on the right is ${monthName(input.month, 'long')})</span></h3>
    ${charts.length === 0 ? html`<p class="empty">No key KPI has values in these months.</p>` : html`<div class="charts">${charts}</div>`}
  </section>`;
}

/**
 * The target a KPI row is read against (workers/metrics/targets.ts): the metric's own, in the row's unit.
 * Deployment frequency's target is a weekly rate: it colours the stored weekly rate (deployments_per_week),
 * not the month's count.
 */
export function rowTarget(r: Pick<KpiRow, 'metric' | 'unit'>): MetricTarget | undefined {
  const t = targetOf(r.metric === 'deployments_per_week' ? 'deployment_frequency' : r.metric);
  return t !== undefined && t.unit === r.unit ? t : undefined;
}

/** Where the row's value stands against its target: red, amber or green as a word on its colour, the target in its title. */
function targetMark(r: KpiRow): Html | '' {
  const t = rowTarget(r);
  const status = t === undefined ? undefined : statusOf(t.metric, r.value);
  if (t === undefined || status === undefined) return '';
  return html`<span class="flag ${status}" data-target="${status}" title="${t.text}">${status}</span>`;
}

function kpiTable(rows: readonly KpiRow[], year: number): Html {
  const groups = new Map<string, KpiRow[]>();
  for (const r of rows) {
    const g = groupOf(r.metric);
    groups.set(g, [...(groups.get(g) ?? []), r]);
  }
  const bodies = [...groups].map(
    ([group, list]) =>
      html`<tbody>
        <tr class="group">
          <th colspan="7" scope="colgroup">${group}</th>
        </tr>
        ${list.map((r) => {
          const display = rowUnit(r.unit, [r.value, r.previous_value, r.change]);
          return html`<tr data-metric="${r.metric}">
            <th scope="row">${r.title === '' ? r.metric : r.title}<span class="id">${r.metric}</span></th>
            <td class="num">${formatIn(display, r.value)}</td>
            <td class="num">${formatIn(display, r.previous_value)}</td>
            <td>${changeMark(r, display)}</td>
            <td class="num">${r.sample_size}</td>
            <td>${r.tier === null ? '' : tierBadge(r.tier)}</td>
            <td>${targetMark(r)}</td>
          </tr>`;
        })}
      </tbody>`,
  );
  return html`<section class="block" data-section="kpis">
    <h3>
      KPIs
      <span class="note"
        >(change against the previous month; ▲ up, ▼ down, ▶ flat; better or worse by the metric's direction; DORA tiers by the ${year}
        report, deployment frequency as the weekly rate; Target: red, amber or green against the metric's target, which its title
        gives)</span
      >
    </h3>
    ${
      rows.length === 0
        ? html`<p class="empty">No values this month.</p>`
        : html`<div class="scroll">
            <table class="kpis">
              ${head(['Metric', 'Value', 'Previous', 'Change', 'n', 'Tier', 'Target'])} ${bodies}
            </table>
          </div>`
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
        : html`<div class="scroll">
            <table class="small">
              ${head(columns)}
              <tbody>
                ${rows}
              </tbody>
            </table>
          </div>`
    }
  </section>`;
}

function risks(s: ScopeReport): Html {
  return itemSection(
    'risks',
    html`Risk signals <span class="note">(active in a week of the month, strongest first)</span>`,
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

/** A forecast band as a mark readable without colour: the band's words in its colour. */
const BAND_FLAG: Record<string, string> = { 'on track': 'green', 'at risk': 'amber', 'off track': 'red' };
const bandMark = (band: string | null): Html | string =>
  band === null || band === '' ? '' : html`<span class="flag ${BAND_FLAG[band] ?? ''}">${band}</span>`;
const confidenceText = (c: number | null): string => (c === null ? '' : c.toFixed(2));

/** The program's open milestones as the latest forecast run by the month's end forecast them. */
function forecasts(s: ScopeReport, at: ForecastsAt): Html {
  const mine = at.forecasts.filter((f) => f.program === s.scope.id);
  const run = at.runAt === null ? '' : ` of ${minutes(at.runAt).replace('T', ' ')} UTC`;
  return itemSection(
    'forecasts',
    html`Forecasts
      <span class="note"
        >(each open milestone at month end, from the forecast run${run}: the dates it is done by with 50, 85 and 95% probability, and P(on
        time), the chance of its committed date)</span
      >`,
    '',
    at.runAt === null ? 'No forecast had been stored by the end of the month.' : 'No open milestone of this program was forecast.',
    ['Milestone', 'Team', 'Committed', 'P50', 'P85', 'P95', 'P(on time)', 'Band'],
    mine.map((f) =>
      f.ok
        ? html`<tr data-milestone="${f.source}:${f.milestoneId}">
            <td><strong>${f.name}</strong></td>
            <td>${f.team}</td>
            <td class="nowrap">${f.committed ?? 'none'}</td>
            <td class="nowrap">${f.p50 ?? 'beyond the horizon'}</td>
            <td class="nowrap">${f.p85 ?? 'beyond the horizon'}</td>
            <td class="nowrap">${f.p95 ?? 'beyond the horizon'}</td>
            <td class="num">${confidenceText(f.confidence)}</td>
            <td>${bandMark(f.band)}</td>
          </tr>`
        : html`<tr data-milestone="${f.source}:${f.milestoneId}">
            <td><strong>${f.name}</strong></td>
            <td>${f.team}</td>
            <td class="nowrap">${f.committed ?? 'none'}</td>
            <td colspan="5" class="muted">no number: ${f.reason}</td>
          </tr>`,
    ),
  );
}

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
    ${trends(s.scope, input)} ${kpiTable(rows, input.benchmarkYear)}
    ${s.scope.kind === 'program' && input.forecasts !== undefined ? forecasts(s, input.forecasts) : ''} ${risks(s)} ${stalls(s, rows)}
    ${incidents(s, input.timeZone)}
  </section>`;
}

const COLOUR_WORD: Record<string, string> = { red: 'Red', amber: 'Amber', green: 'Green' };

/** A named item as a link to its source when it has one (http or https only), else as text. */
function named(name: string, url: string): Html {
  return /^https?:\/\//i.test(url) ? html`<a href="${url}">${name}</a>` : html`<span>${name}</span>`;
}

const flagMark = (flag: string): Html => html`<span class="flag ${flag}">${flag}</span>`;

/** The colour and why, each reason naming its items with their links. */
function statusBox(r: Readout): Html {
  const { colour, reasons } = r.health;
  const clause = (x: (typeof reasons)[number]): Html =>
    html`<span class="reason ${x.colour}" data-rule="${x.rule}"
      >${x.items.length} ${x.what}:
      ${x.items.slice(0, 3).map((i, n) => html`${n > 0 ? ', ' : ''}${named(i.name, i.url)}`)}${x.items.length > 3 ? ` and ${x.items.length - 3} more` : ''}</span
    >`;
  const join = (list: typeof reasons): Html => html`${list.map((x, n) => html`${n > 0 ? '; ' : ''}${clause(x)}`)}`;
  const red = reasons.filter((x) => x.colour === 'red');
  const amber = reasons.filter((x) => x.colour === 'amber');
  const why =
    colour === 'green'
      ? html`${r.health.summary.replace(/^Green: /, '')}`
      : colour === 'red'
        ? html`${join(red)}.${amber.length > 0 ? html` Also amber: ${join(amber)}.` : ''}`
        : html`${join(amber)}.`;
  return html`<div class="status ${colour}" data-status="${colour}">
    <span class="badge">${COLOUR_WORD[colour]}</span>
    <p class="why">${why}</p>
  </div>`;
}

/** One line of a readout list: the item linked, then what the reader needs about it. */
function itemLine(i: ReadoutItem, name: string, details: Array<string | Html>): Html {
  return html`<li data-flag="${i.flag}">
    ${flagMark(i.flag)} ${named(name, i.url)}${name === i.title || i.title === '' ? '' : html` <span class="title">${i.title}</span>`}
    <span class="detail">${details.filter((d) => d !== '').map((d, n) => html`${n > 0 ? ' · ' : ''}${d}`)}</span>
  </li>`;
}

function readoutList(name: string, heading: string, empty: string, items: Html[]): Html {
  return html`<section class="block list" data-readout-section="${name}">
    <h3>${heading}</h3>
    ${
      items.length === 0
        ? html`<p class="empty">${empty}</p>`
        : html`<ul>
            ${items}
          </ul>`
    }
  </section>`;
}

/** A milestone's forecast on its readout line: its P85 date and P(on time), or why it has no number. */
function forecastNote(f: ReadoutForecast | undefined): string | Html {
  if (f === undefined) return '';
  if (!f.ok) return html`<span class="forecast">no forecast: ${f.reason}</span>`;
  const p85 = f.p85 === null ? 'P85 beyond the horizon' : `P85 ${f.p85}`;
  const confidence = f.confidence === null ? 'no committed date' : `P(on time) ${f.confidence.toFixed(2)}`;
  return html`<span class="forecast" data-forecast="${f.band ?? ''}"
    >forecast ${p85}, ${confidence}${f.band === null ? '' : ` (${f.band})`}</span
  >`;
}

const owner = (o: string): string | Html => (o === '' ? html`<strong>no owner</strong>` : `owner ${o}`);

/** The most changes of one kind a readout page names, so it stays one page. */
const CHANGES_SHOWN = 4;

const CHANGE_HEADINGS: Record<RegisterChange['kind'], string> = {
  milestone_slipped: 'Milestones slipped',
  milestone_finished: 'Milestones finished',
  risk_raised: 'Risks raised',
  risk_closed: 'Risks closed',
  decision_made: 'Decisions made',
  stall_new: 'New stalls',
  stall_cleared: 'Stalls cleared',
};

function kpiMoveLine(m: KpiMove): Html {
  const display = rowUnit(m.unit, [m.value, m.previous_value, m.change]);
  return html`<li data-metric="${m.metric}">
    ${m.title}: ${formatIn(display, m.previous_value)} → <strong>${formatIn(display, m.value)}</strong>
    ${changeMark({ change: m.change, change_direction: m.direction }, display)}
  </li>`;
}

function changesSection(r: Readout, month: Month): Html {
  const groups = (Object.keys(CHANGE_HEADINGS) as Array<RegisterChange['kind']>)
    .map((kind) => ({ kind, list: r.changes.filter((c) => c.kind === kind) }))
    .filter((g) => g.list.length > 0);
  return html`<section class="block list changes" data-readout-section="changes">
    <h3>What changed since ${monthName(addMonths(month, -1), 'long')}</h3>
    <div class="change-groups">
      ${groups.length === 0 ? html`<p class="empty">No milestone, risk, decision or stall changed in the registers.</p>` : ''}
      ${groups.map(
        (g) =>
          html`<h4>${CHANGE_HEADINGS[g.kind]} (${g.list.length})</h4>
            <ul>
              ${g.list
                .slice(0, CHANGES_SHOWN)
                .map(
                  (c) =>
                    html`<li data-change="${c.kind}">
                      ${named(c.item.name, c.item.url)}${c.item.name === c.item.title ? '' : html` <span class="title">${c.item.title}</span>`}
                      ${c.detail === '' ? '' : html`<span class="detail">${c.detail}</span>`}
                    </li>`,
                )}
              ${g.list.length > CHANGES_SHOWN ? html`<li class="more">and ${g.list.length - CHANGES_SHOWN} more (the registers list them: ptel list)</li>` : ''}
            </ul>`,
      )}
      <h4>KPIs that moved most</h4>
      ${
        r.kpiMoves.length === 0
          ? html`<p class="empty">No KPI value to compare with the month before.</p>`
          : html`<ul class="moves">
              ${r.kpiMoves.map(kpiMoveLine)}
            </ul>`
      }
    </div>
  </section>`;
}

const readoutAnchor = (s: Pick<ScopeInfo, 'kind' | 'id'>): string => `readout-${anchor(s)}`;

/** A readout page: the status colour and why, milestones at risk, top risks, decisions needed and what changed. */
function readoutSection(r: Readout, month: Month): Html {
  return html`<section class="readout" id="${readoutAnchor(r.scope)}" data-readout="${r.scope.kind}:${r.scope.id}">
    <h2><span class="kind">${KIND_LABEL[r.scope.kind] ?? r.scope.kind}</span> ${r.scope.name} <span class="note">status readout</span></h2>
    <p class="sub">
      The registers at ${r.asOf.slice(0, 16).replace('T', ' ')} UTC against ${r.previousAsOf.slice(0, 16).replace('T', ' ')} UTC ·
      <a href="#${anchor(r.scope)}">KPI detail</a>
    </p>
    ${statusBox(r)}
    <div class="readout-grid">
      ${readoutList(
        'milestones',
        'Milestones at risk',
        'No open milestone is overdue, slipped, waiting on a stalled dependency or forecast at risk.',
        r.milestonesAtRisk.map((i) =>
          itemLine(i, i.item, [i.status, i.due === null ? '' : `due ${i.due}`, forecastNote(i.forecast), owner(i.owner), i.why]),
        ),
      )}
      ${readoutList(
        'risks',
        'Top risks',
        'No open risk in the risk register.',
        r.topRisks.map((i) => itemLine(i, i.item, [owner(i.owner), i.why, i.milestone === '' ? '' : `affects ${i.milestone}`])),
      )}
      ${readoutList(
        'decisions',
        'Decisions needed',
        'No open decision.',
        r.decisionsNeeded.map((i) =>
          itemLine(i, i.item, [i.status === 'overdue' ? html`<strong>past its target</strong>` : 'open', owner(i.owner), i.why]),
        ),
      )}
      ${changesSection(r, month)}
    </div>
  </section>`;
}

const CSS = `
:root { --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --soft: #f3f5f7; --better: #1a7f37; --worse: #c62828; --same: #57606a; --accent: #2b5797;
  --red: #b71c1c; --red-bg: #fde2e2; --amber: #8a5300; --amber-bg: #fff0c7; --green: #1a6b30; --green-bg: #dcf3e2; }
* { box-sizing: border-box; }
html { background: #fff; }
body { margin: 0 auto; max-width: 1120px; padding: 28px 32px; color: var(--ink); font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; overflow-wrap: anywhere; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 0 0 2px; padding-top: 6px; border-top: 3px solid var(--ink); }
h2 .kind { display: inline-block; font-size: 11px; text-transform: uppercase; letter-spacing: .06em; border: 1px solid var(--ink); padding: 1px 6px; margin-right: 6px; vertical-align: 3px; }
h3 { font-size: 14px; margin: 18px 0 6px; }
h4 { font-size: 12px; margin: 10px 0 2px; }
a { color: var(--accent); }
.note, .muted, .sub, .meta { color: var(--muted); font-weight: normal; }
.note { font-size: 11px; }
.sub { margin: 0 0 8px; }
.meta { margin: 0 0 16px; }
nav.toc { margin-top: 28px; }
nav.toc ol { columns: 2; padding-left: 20px; }
section.scope { margin-top: 36px; }
section.readout { margin-top: 20px; }
.status { display: flex; gap: 12px; align-items: flex-start; border: 2px solid currentColor; border-radius: 6px; padding: 10px 12px; margin: 8px 0 4px; }
.status .badge { flex: none; font-size: 15px; font-weight: 800; text-transform: uppercase; letter-spacing: .06em; padding: 4px 10px; border-radius: 4px; color: #fff; }
.status .why { margin: 0; color: var(--ink); font-size: 14px; }
.status.red { color: var(--red); background: var(--red-bg); }
.status.red .badge { background: var(--red); }
.status.amber { color: var(--amber); background: var(--amber-bg); border-style: dashed; }
.status.amber .badge { background: var(--amber); }
.status.green { color: var(--green); background: var(--green-bg); border-style: dotted; }
.status.green .badge { background: var(--green); }
.reason.red { font-weight: 600; }
.readout-grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 0 24px; }
.readout-grid .changes { grid-column: 1 / -1; }
.change-groups { columns: 2 280px; column-gap: 24px; }
.change-groups h4 { break-after: avoid; }
.change-groups ul, .change-groups p { margin-bottom: 6px; }
.list li.more { color: var(--muted); font-style: italic; }
.list ul { margin: 0; padding-left: 0; list-style: none; }
.list li { padding: 3px 0; border-bottom: 1px solid var(--line); }
.list .title { color: var(--ink); }
.list .detail { display: block; color: var(--muted); font-size: 12px; }
.flag { display: inline-block; min-width: 44px; text-align: center; font-size: 9px; font-weight: 700; text-transform: uppercase; padding: 0 4px; border-radius: 3px; border: 1px solid currentColor; vertical-align: 1px; }
.flag.red { color: var(--red); background: var(--red-bg); }
.flag.amber { color: var(--amber); background: var(--amber-bg); border-style: dashed; }
.flag.green { color: var(--green); background: var(--green-bg); border-style: dotted; }
.tier { display: inline-block; font-size: 10px; font-weight: 700; text-transform: uppercase; letter-spacing: .05em; padding: 1px 6px; border-radius: 3px; border: 1px solid currentColor; }
.tier.elite { color: #0b5e2a; background: #d9f2e1; }
.tier.high { color: #1d4f91; background: #dce8f8; }
.tier.medium { color: #7a4b00; background: #fbecc9; border-style: dashed; }
.tier.low { color: #8b1a1a; background: #f8dada; border-style: dotted; }
.tier.none { color: var(--muted); background: none; font-weight: normal; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); gap: 6px 14px; }
figure.chart { margin: 0; min-width: 0; }
figure.chart figcaption { font-size: 11px; font-weight: 600; }
figure.chart svg { max-width: 100%; height: auto; }
svg path { fill: none; stroke: var(--accent); stroke-width: 2; }
svg circle { fill: var(--accent); }
svg .line-1 path { stroke: #b0541a; stroke-dasharray: 4 3; }
svg .line-1 circle { fill: #fff; stroke: #b0541a; stroke-width: 1.5; }
svg text.last.line-1 { fill: #b0541a; }
.legend { font-size: 10px; color: var(--muted); }
.legend .key { margin-right: 10px; white-space: nowrap; }
.legend .swatch { display: inline-block; width: 16px; height: 0; border-top: 2px solid var(--accent); vertical-align: middle; margin-right: 4px; }
.legend .line-1 .swatch { border-top: 2px dashed #b0541a; }
svg .grid { stroke: var(--line); stroke-dasharray: 3 3; }
svg .base { stroke: #8c959f; }
svg .axis { font-size: 9px; fill: var(--muted); }
svg .last { font-size: 10px; font-weight: 700; fill: var(--ink); }
.scroll { max-width: 100%; overflow-x: auto; }
table { width: 100%; border-collapse: collapse; overflow-wrap: normal; }
table.kpis { min-width: 560px; }
table.small { min-width: 520px; }
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
@media (max-width: 640px) {
  body { padding: 14px 12px; }
  h1 { font-size: 20px; }
  h2 { font-size: 17px; }
  nav.toc ol { columns: 1; }
  .readout-grid { grid-template-columns: minmax(0, 1fr); }
  .status { flex-direction: column; gap: 6px; }
}
@page { size: A4; margin: 12mm 11mm; }
@media print {
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  a { color: inherit; text-decoration: none; }
  section.readout + section.readout, nav.toc, section.scope { break-before: page; }
  section.scope, section.readout, nav.toc { margin-top: 0; }
  h2, h3, h4 { break-after: avoid; }
  tr, figure.chart, .score, .list li, .status { break-inside: avoid; }
  section.readout { font-size: 9pt; }
  thead { display: table-header-group; }
  .scroll { overflow: visible; }
  table.kpis, table.small { min-width: 0; }
  table.small, .items { break-inside: avoid; }
  .charts { grid-template-columns: repeat(3, 1fr); }
  .readout-grid { grid-template-columns: repeat(2, minmax(0, 1fr)); }
}
`;

/** The whole report as one HTML document. */
export function renderReport(input: ReportInput): string {
  const programs = new Map(input.scopes.filter((s) => s.scope.kind === 'program').map((s) => [s.scope.id, s.scope.name]));
  const title = `KPI report: ${monthName(input.month, 'long')}`;
  const readouts = input.readouts ?? [];
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
        </header>
        ${readouts.length === 0 ? '' : html`<div class="readouts" data-section="readout">${readouts.map((r) => readoutSection(r, input.month))}</div>`}
        <nav class="toc" data-section="contents">
          <h3>Contents</h3>
          <ol>
            ${readouts.map((r) => html`<li><a href="#${readoutAnchor(r.scope)}">Status readout: ${scopeTitle(r.scope)}</a></li>`)}
            ${input.scopes.map((s) => html`<li><a href="#${anchor(s.scope)}">${scopeTitle(s.scope)}</a></li>`)}
          </ol>
        </nav>
        <main>${input.scopes.map((s) => scopeSection(s, input, programs))}</main>
      </body>
    </html> `;
  return page.html;
}
