import type { RecordedJob, RunMark } from '../app/job-runs.js';
import path from 'node:path';
import type { Freshness, RunOnceResult } from '../app/roles.js';
import type { DeliveryResult } from '../workers/reports/delivery.js';
import type { KpiRow } from '../workers/metrics/queries.js';

/** A whole number with thousands separators: 12,345. */
export const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** A count and its noun, singular for one: "1 alert", "3 alerts". */
const counted = (n: number, singular: string, plural = `${singular}s`): string => `${count(n)} ${n === 1 ? singular : plural}`;

const fixed1 = (n: number): string => n.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** A metric value in its unit: a ratio as a percent, hours with 'h', days with 'days', counts as whole numbers. */
export function formatValue(value: number | null, unit: string): string {
  if (value === null || !Number.isFinite(value)) return 'no data';
  switch (unit) {
    case 'ratio':
      return `${fixed1(value * 100)}%`;
    case 'percent':
      return `${fixed1(value)}%`;
    case 'hours':
      return `${fixed1(value)} h`;
    case 'days':
      return `${fixed1(value)} days`;
    case 'per_week':
      return `${fixed1(value)}/week`;
    case 'count':
      return count(value);
    default:
      return fixed1(value);
  }
}

/** An instant for a person: 2026-12-06 14:05 (UTC). */
export const formatInstant = (d: Date): string => d.toISOString().slice(0, 16).replace('T', ' ');

/** How long before `now` an instant was: "12 min ago", "3 h 5 min ago", "4 days ago". */
export function formatAgo(at: Date, now: Date): string {
  const ms = now.getTime() - at.getTime();
  const span = (abs: number): string => {
    const minutes = Math.floor(abs / 60_000);
    if (minutes < 1) return 'less than a minute';
    if (minutes < 60) return `${minutes} min`;
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
    return `${Math.floor(hours / 24)} days`;
  };
  return ms >= 0 ? `${span(ms)} ago` : `${span(-ms)} after ${formatInstant(now)}`;
}

/** "last run 2026-12-06 14:05 (12 min ago)", or "never". */
export const lastRun = (mark: RunMark | undefined, now: Date): string =>
  mark === undefined ? 'never' : `last run ${formatInstant(mark.at)} (${formatAgo(mark.at, now)})`;

const JOB_LABELS: Record<RecordedJob, string> = {
  pull: 'pulls',
  link: 'linker',
  metrics: 'metrics',
  forecasts: 'forecasts',
  'stall-alerts': 'stall detector',
  registers: 'registers',
  export: 'monthly export',
  'status-reports': 'status reports',
};

/** Whose data the store holds, in one line. */
export function originLine(origin: Freshness['origin']): string {
  if (origin.kind === 'demo') {
    const stored = origin.demoEvents > 0 ? `${count(origin.demoEvents)} events stored` : 'nothing stored yet';
    const others = origin.otherEvents > 0 ? `; the store also holds ${count(origin.otherEvents)} events from sources` : '';
    return (
      `data: the demo organisation, generated because no source is configured (${stored}${others}); ` +
      'configure sources (see ptel.example.yaml) to pull real data'
    );
  }
  const sources = origin.sources.length > 0 ? `configured sources ${origin.sources.join(', ')}` : 'no source pulled (webhooks only)';
  const demo = origin.demoEvents > 0 ? `; the store also holds ${count(origin.demoEvents)} events of the demo organisation` : '';
  return `data: the configured organisation, ${sources} (${count(origin.otherEvents)} events stored${demo})`;
}

/**
 * When each job last ran, counted back from the freshness instant. `exportDir` is where exports go,
 * said when there is none yet.
 */
export function freshnessLines(f: Freshness, exportDir: string): string[] {
  const width = Math.max(...Object.values(JOB_LABELS).map((l) => l.length));
  const lines = [`freshness at ${formatInstant(f.at)} UTC:`];
  for (const j of f.jobs) {
    let text: string;
    if (j.last === undefined && j.unreadable !== undefined) text = `unknown: ${j.unreadable}`;
    else {
      text = lastRun(j.last, f.at);
      if (j.last !== undefined && j.last.detail !== '') text += `: ${j.last.detail}`;
      if (j.last === undefined && j.job === 'export') text += ` (exports go to ${exportDir})`;
    }
    if (j.failed !== undefined) {
      text += `; ${j.last === undefined ? 'the last run' : 'a later run'}, ${formatInstant(j.failed.at)} (${formatAgo(j.failed.at, f.at)}), failed: ${j.failed.detail}`;
    }
    lines.push(`  ${JOB_LABELS[j.job].padEnd(width)}  ${text}`);
  }
  return lines;
}

/** One summary line of a group of org KPIs: "Delivery (org, 2026-11): a 1.0, b 2.0 h". Undefined when none is stored. */
function kpiLine(title: string, month: string, items: Array<string | undefined>): string | undefined {
  const shown = items.filter((i): i is string => i !== undefined);
  return shown.length === 0 ? undefined : `${title} (org, ${month}): ${shown.join(', ')}`;
}

function daysInMonth(monthStart: string): number {
  const [y = 1970, m = 1] = monthStart.split('-').map(Number);
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** The KPI lines of a run's summary: delivery, quality, program and outcomes, for the last complete month. */
export function kpiLines(kpis: KpiRow[]): string[] {
  if (kpis.length === 0) return ['Metrics: no complete month has values yet; ptel metrics show lists the running month'];
  const by = new Map(kpis.map((k) => [k.metric, k]));
  const month = kpis[0]!.month.slice(0, 7);
  const item = (metric: string, label: string): string | undefined => {
    const k = by.get(metric);
    return k === undefined ? undefined : `${label} ${formatValue(k.value, k.unit)}`;
  };
  // A survey score (1 to 5) with its scale; too few answers to show one (the anonymity floor) is said so.
  const scored = (metric: string, label: string): string | undefined => {
    const k = by.get(metric);
    if (k === undefined) return undefined;
    return `${label} ${k.value === null ? 'not shown (too few answers)' : `${fixed1(k.value)}/5`}`;
  };
  const frequency = ((): string | undefined => {
    const k = by.get('deployment_frequency');
    if (k === undefined || k.value === null) return k === undefined ? undefined : 'deployment frequency no data';
    return `deployment frequency ${fixed1(k.value / daysInMonth(k.month))}/day (${counted(k.value, 'deployment')})`;
  })();
  const risks = ((): string | undefined => {
    const open = by.get('risks_open');
    if (open === undefined) return undefined;
    const parts = [
      by.get('risks_open_high') !== undefined ? `${formatValue(by.get('risks_open_high')!.value, 'count')} high` : undefined,
      by.get('high_risks_unowned') !== undefined
        ? `${formatValue(by.get('high_risks_unowned')!.value, 'count')} of them unowned`
        : undefined,
    ].filter((p): p is string => p !== undefined);
    return `open risks ${formatValue(open.value, 'count')}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
  })();
  const decisions = ((): string | undefined => {
    const age = by.get('open_decision_age_days');
    if (age === undefined) return undefined;
    return `open decisions ${count(age.sample_size)}${age.value !== null ? ` (mean age ${formatValue(age.value, age.unit)})` : ''}`;
  })();
  return [
    kpiLine('Delivery', month, [
      frequency,
      item('change_lead_time_p50', 'lead time p50'),
      item('change_failure_rate', 'change failure rate'),
      item('failed_deployment_recovery_time_p50', 'recovery time p50'),
      item('deployment_rework_rate', 'rework rate'),
    ]),
    kpiLine('Quality', month, [
      item('defect_escape_rate', 'defect escape rate'),
      item('incident_count', 'incidents'),
      item('ci_success_rate', 'CI success'),
      item('ci_flaky_rate', 'flaky CI'),
    ]),
    kpiLine('Program', month, [
      item('milestone_on_time_rate_latest', 'milestones on time'),
      risks,
      decisions,
      item('release_critical_decisions_on_time', 'critical decisions on time'),
      item('dependency_stalls', 'stalled dependencies'),
    ]),
    kpiLine('Outcomes', month, [
      item('release_readiness_pass_rate', 'readiness checks passed'),
      item('outcome_attainment_rate', 'outcome targets met'),
      item('adoption_completion_rate', 'adopters enabled on time'),
      scored('stakeholder_satisfaction', 'stakeholder satisfaction'),
      item('engineering_sentiment_net', 'engineering sentiment (net)'),
      item('effort_variance', 'effort variance'),
      item('unallocated_cost', 'cost rows allocated to no program'),
    ]),
  ].filter((l): l is string => l !== undefined);
}

/** The link counts of the model in a phrase each: what was linked (of how many, where that says more). */
function linkPhrases(model: RunOnceResult['summary']['model']): string[] {
  const phrases: Record<string, (linked: number, total: number) => string> = {
    commit_pull_requests: (n) => `${count(n)} commits to pull requests`,
    deployment_commits: (n) => `${count(n)} commits to deployments`,
    incident_deployments: (n, t) => `${count(n)} of ${count(t)} incidents to a deployment`,
    deployment_incident_fixes: (n) => `${counted(n, 'hotfix', 'hotfixes')} to incidents`,
    work_item_production: (n, t) => `${count(n)} of ${count(t)} bugs found in production`,
  };
  const out: string[] = [];
  for (const l of model.links) {
    const total = l.counts.reduce((s, c) => s + c.count, 0);
    const linked = l.counts.filter((c) => c.key !== 'none' && c.key !== 'no').reduce((s, c) => s + c.count, 0);
    const phrase = phrases[l.table];
    if (total > 0 && phrase !== undefined) out.push(phrase(linked, total));
  }
  return out;
}

export interface RunSummaryOptions {
  dataDir: string;
  /** Where the run's log lines went, when a file took them. */
  logFile?: string;
  /** Whether any alert channel is configured. */
  alertChannels: number;
  /** The commands this ptel has: the Next line suggests only those. */
  commands: readonly string[];
}

/**
 * What `run --once` ends with: a short summary in units, grouped (what was ingested, the model, the org's
 * delivery, quality and program numbers of the last complete month, the alerts), then the next commands.
 */
export function runSummary(r: RunOnceResult, options: RunSummaryOptions): string[] {
  const s = r.summary;
  const events = s.events.reduce((n, e) => n + e.events, 0);
  const sources = new Set(s.events.map((e) => e.source)).size;
  const dead = s.deadLetters.reduce((n, d) => n + d.count, 0);
  const lines: string[] = [];
  lines.push(
    `Ingested: ${counted(events, 'event')} from ${counted(sources, 'source')} ` +
      `(${counted(dead, 'dead letter')}${dead > 0 ? ': ptel dead-letters lists them' : ''}) in ${fixed1(r.seconds)} s` +
      (s.dataQuality.length > 0
        ? `; ${counted(s.dataQuality.length, 'field')} could not be read in some events and were left empty (ptel status lists them)`
        : ''),
  );
  const entities = s.model.entities.filter((e) => e.count > 0).map((e) => `${count(e.count)} ${e.label}`);
  lines.push(`Model: ${entities.length > 0 ? entities.join(', ') : 'empty'}`);
  const links = linkPhrases(s.model);
  if (links.length > 0) lines.push(`Links: ${links.join(', ')}`);
  lines.push(...kpiLines(r.kpis));
  if (r.registers.length > 0) lines.push(`Now: ${r.registers.join('; ')}`);
  if (r.stalls !== undefined) {
    const failed = r.stalls.deliveries.filter((d) => !d.ok).length;
    lines.push(
      `Alerts: ${counted(r.stalls.stalled, 'dependency', 'dependencies')} stalled now; ${counted(r.stalls.opened.length, 'alert')} opened, ` +
        `${count(r.stalls.resolved.length)} resolved, ${counted(r.stalls.deliveries.length - failed, 'message')} sent` +
        `${failed > 0 ? `, ${count(failed)} failed (ptel alerts list)` : ''}` +
        `${options.alertChannels === 0 ? ' (no alert channel is configured)' : ''}`,
    );
  } else {
    lines.push('Alerts: the stall detector is off (alerts.stalls.enabled)');
  }
  if (r.reports !== undefined) lines.push(reportsLine(r.reports, options.alertChannels));
  const failedStreams = r.pulled.filter((p) => p.status === 'failed');
  if (failedStreams.length > 0) {
    lines.push(
      `Pulls: ${count(failedStreams.length)} of ${counted(r.pulled.length, 'stream')} failed: ` +
        failedStreams.map((p) => `${p.source}/${p.stream}`).join(', '),
    );
  }
  lines.push(`Data: ${options.dataDir}${options.logFile !== undefined ? `; the run's log: ${options.logFile}` : ''}`);
  lines.push(`Next: ${nextCommands(options.commands).join(', ')}`);
  return lines;
}

/** What the weekly status reports of the run did: the week, where the files are, the messages sent. */
function reportsLine(r: DeliveryResult, channels: number): string {
  const outcomes = r.scopes.flatMap((s) => s.outcomes);
  const folders = outcomes.filter((o) => o.type === 'files' && o.ok).map((o) => o.detail);
  const sent = outcomes.filter((o) => o.type !== 'files' && o.ok).length;
  const failed = outcomes.filter((o) => !o.ok).length;
  const where = folders.length > 0 ? `written to ${path.dirname(folders[0]!)}${path.sep}` : 'written before';
  return (
    `Status reports: week ${r.week} of ${counted(r.scopes.filter((x) => x.report === 'status').length, 'program')}${r.scopes.some((x) => x.report === 'portfolio') ? ' and the portfolio' : ''} ${where}; ${counted(sent, 'message')} sent` +
    `${failed > 0 ? `, ${count(failed)} failed (ptel status)` : ''}${channels === 0 ? ' (no channel is configured)' : ''}`
  );
}

/** The commands worth trying after a run, of those this ptel has. */
export function nextCommands(commands: readonly string[]): string[] {
  const has = (c: string): boolean => commands.includes(c);
  return [
    ...(has('list') ? ['ptel list milestones', 'ptel list risks'] : []),
    ...(has('metrics') ? ['ptel metrics show'] : []),
    ...(has('alerts') ? ['ptel alerts list'] : []),
    ...(has('export') ? ['ptel export'] : []),
    ...(has('status-report') ? ['ptel status-report --portfolio'] : []),
    ...(has('status') ? ['ptel status'] : []),
  ];
}
