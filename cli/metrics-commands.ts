import { metricsNow } from '../app/jobs.js';
import { resolveOrganisation, type Organisation } from '../app/organisation.js';
import type { Runtime } from '../app/runtime.js';
import { systemClock } from '../infra/clock.js';
import { serviceName, type OrgConfig } from '../infra/config/schema.js';
import { METRICS, metricById } from '../workers/metrics/definitions/index.js';
import {
  addDays,
  explainMetric,
  metricParams,
  nextPeriod,
  periodStart,
  PRINTED_VALUE_COLUMNS,
  scopesOf,
  unitsArithmetic,
  type ExplainRow,
} from '../workers/metrics/engine.js';
import { arithmeticText, formatValue, plainNumber } from '../workers/metrics/format.js';
import { today } from '../workers/metrics/job.js';
import { kpiSummary, readMetricValues, type MetricValueRow } from '../workers/metrics/queries.js';
import {
  parseScope,
  PERIOD_KINDS,
  periodSupport,
  SCOPE_KINDS,
  type MetricDefinition,
  type PeriodKind,
  type ScopeKind,
} from '../workers/metrics/types.js';
import { withStore, type Command, type CommandContext } from './command.js';
import { parseInstant, printTable } from './output.js';
import { csvField } from '../workers/export/csv.js';
import { computedValues } from '../workers/reports/metrics-at.js';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

const FORMATS = ['table', 'json', 'jsonl', 'csv'] as const;
type Format = (typeof FORMATS)[number];

/** What the metrics commands read: the store, the clock, and the organisation whose scopes exist. */
export type MetricsRuntime = Pick<Runtime, 'store' | 'clock'> & { organisation: Pick<Organisation, 'org'> };
/** Opens what the commands read, runs `fn` on it and closes it (a runtime on the config's store, by default). */
export type OpenMetricsRuntime = (fn: (rt: MetricsRuntime) => Promise<number>) => Promise<number>;

function fail(ctx: CommandContext, message: string, command = 'ptel metrics'): number {
  ctx.err.write(`${command}: ${message}\n`);
  return 2;
}

const cell = (v: unknown): string =>
  v === null || v === undefined
    ? ''
    : typeof v === 'number'
      ? String(Number(v.toPrecision(6)))
      : typeof v === 'string'
        ? v
        : JSON.stringify(v);

/**
 * Writes records: as one JSON array (json), one JSON object per line (jsonl), CSV, or a table with the
 * columns of `header`.
 */
function emit(ctx: CommandContext, format: Format, header: string[], rows: Array<Record<string, unknown>>): void {
  if (format === 'json') {
    ctx.out.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  if (format === 'jsonl') {
    for (const r of rows) ctx.out.write(`${JSON.stringify(r)}\n`);
    return;
  }
  if (format === 'csv') {
    ctx.out.write(`${header.map(csvField).join(',')}\n`);
    for (const r of rows) ctx.out.write(`${header.map((h) => csvField(cell(r[h]))).join(',')}\n`);
    return;
  }
  printTable(
    ctx.out,
    header,
    rows.map((r) => header.map((h) => cell(r[h]))),
    { units: true },
  );
}

function option(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** Why a metric cannot be shown per `period` ("throughput is computed per week only; use --period week"), or undefined. */
function periodProblem(def: MetricDefinition, period: PeriodKind): string | undefined {
  const support = periodSupport(def, period);
  return support.ok ? undefined : support.message;
}

/** The ISO week of a Monday: '2026-W44'. */
function isoWeek(monday: string): string {
  const thursday = new Date(`${addDays(monday, 3)}T00:00:00Z`);
  const year = thursday.getUTCFullYear();
  const dayOfYear = Math.round((thursday.getTime() - Date.UTC(year, 0, 1)) / 86_400_000);
  return `${year}-W${String(Math.floor(dayOfYear / 7) + 1).padStart(2, '0')}`;
}

/** A period as a column header: '2026-10' for a month, '2026-W44' for a week, the day for a day. */
export function periodLabel(kind: PeriodKind, start: string): string {
  return kind === 'month' ? start.slice(0, 7) : kind === 'week' ? isoWeek(start) : start;
}

/** Whether the period of `kind` starting on `start` contains `day` (it is still running then). */
const running = (kind: PeriodKind, start: string, day: string): boolean => start <= day && day < nextPeriod(kind, start);

const PLURAL: Record<ScopeKind, string> = { org: 'org', program: 'programs', team: 'teams', service: 'services', repo: 'repositories' };

/** Why a scope named by --scope is not one of the organisation's ("no team 'x'; teams: a, b"), or undefined when it is. */
function unknownScope(org: OrgConfig, scope: { kind: ScopeKind; id?: string }): string | undefined {
  if (scope.id === undefined) return undefined;
  const known = scopesOf(org).filter((s) => s.kind === scope.kind);
  const id = scope.kind === 'repo' ? scope.id.toLowerCase() : scope.id;
  if (known.some((s) => s.id === id)) return undefined;
  const ids = [...new Set(known.map((s) => s.id))];
  return `no ${scope.kind} '${scope.id}'; ${PLURAL[scope.kind]}: ${ids.length > 0 ? ids.join(', ') : 'none'} (ptel scopes lists them)`;
}

/** How far back `show` looks without --from: three months, twelve weeks or fourteen days. */
function defaultFrom(period: PeriodKind, day: string): string {
  if (period === 'month') return periodStart('month', addDays(periodStart('month', day), -62));
  if (period === 'week') return periodStart('week', addDays(day, -77));
  return addDays(day, -13);
}

const metricOrder = (id: string): number => {
  const i = METRICS.findIndex((m) => m.id === id);
  return i < 0 ? METRICS.length : i;
};

/**
 * The values pivoted for reading: one row per metric (and scope, when more than one is shown), one
 * column per period, oldest to newest; the period still running at `day` is marked with '*'.
 */
function printPivot(ctx: CommandContext, rows: MetricValueRow[], period: PeriodKind, day: string, at: Date): void {
  const periods = [...new Set(rows.map((r) => r.period_start))].sort();
  const scopes = new Set(rows.map((r) => `${r.scope_kind}:${r.scope_id}`));
  const withScope = scopes.size > 1;
  const key = (r: MetricValueRow): string => (withScope ? `${r.metric}\u0000${r.scope_kind}:${r.scope_id}` : r.metric);
  const lines = new Map<
    string,
    { metric: string; scopeKind: ScopeKind; scope: string; unit: string; values: Map<string, number | null> }
  >();
  for (const r of rows) {
    const k = key(r);
    let line = lines.get(k);
    if (line === undefined) {
      line = { metric: r.metric, scopeKind: r.scope_kind, scope: `${r.scope_kind}:${r.scope_id}`, unit: r.unit, values: new Map() };
      lines.set(k, line);
    }
    line.values.set(r.period_start, r.value);
  }
  const sorted = [...lines.values()].sort(
    (a, b) =>
      metricOrder(a.metric) - metricOrder(b.metric) ||
      a.metric.localeCompare(b.metric) ||
      SCOPE_KINDS.indexOf(a.scopeKind) - SCOPE_KINDS.indexOf(b.scopeKind) ||
      a.scope.localeCompare(b.scope),
  );
  const partial = periods.some((p) => running(period, p, day));
  const header = [
    'metric',
    ...(withScope ? ['scope'] : []),
    ...periods.map((p) => `${periodLabel(period, p)}${running(period, p, day) ? '*' : ''}`),
  ];
  printTable(
    ctx.out,
    header,
    sorted.map((l) => [
      l.metric,
      ...(withScope ? [l.scope] : []),
      ...periods.map((p) => (l.values.has(p) ? formatValue(l.unit, l.values.get(p) ?? null, { fixed: true }) : '')),
    ]),
    { units: true },
  );
  if (!withScope && scopes.size === 1) ctx.out.write(`scope: ${[...scopes][0]!}\n`);
  if (partial) ctx.out.write(`* partial: the period is still running (as of ${at.toISOString()})\n`);
}

async function show(ctx: CommandContext, format: Format, open: OpenMetricsRuntime): Promise<number> {
  const scopeText = option(ctx, 'scope');
  const scope = scopeText === undefined ? undefined : parseScope(scopeText);
  if (typeof scope === 'string') return fail(ctx, scope);
  const period = option(ctx, 'period') ?? 'month';
  if (!(PERIOD_KINDS as readonly string[]).includes(period)) return fail(ctx, `--period '${period}': expected day, week or month`);
  const kind = period as PeriodKind;
  const metric = option(ctx, 'metric');
  const definition = metric === undefined ? undefined : metricById(metric);
  if (metric !== undefined && definition === undefined) return fail(ctx, `unknown metric '${metric}'; see ptel metrics list`);
  const notComputed = definition === undefined ? undefined : periodProblem(definition, kind);
  if (notComputed !== undefined) return fail(ctx, notComputed);
  const from = option(ctx, 'from');
  const to = option(ctx, 'to');
  for (const [k, v] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (v !== undefined && !DAY.test(v)) return fail(ctx, `--${k} '${v}': expected a date YYYY-MM-DD`);
  }
  const asOf = parseInstant(ctx, 'as-of', 'ptel metrics');
  if (asOf === null) return 2;
  const compute = ctx.values['compute'] === true;
  return open(async (rt) => {
    const at = asOf ?? rt.clock.date();
    if (compute && at.getTime() > rt.clock.date().getTime())
      return fail(ctx, `--as-of ${at.toISOString()} is after now: values can be computed up to now only`);
    const day = today(ctx.config.metrics.timeZone, at);
    const selected = scope ?? (metric === undefined ? { kind: 'org' as const } : undefined);
    const rows = compute
      ? await computed(rt, ctx, at, {
          period: kind,
          from: from ?? defaultFrom(kind, day),
          to: to ?? addDays(day, 1),
          ...(metric !== undefined ? { metric } : {}),
          ...(selected !== undefined ? { scope: selected } : {}),
        })
      : await readMetricValues(rt.store, {
          period: kind,
          ...(metric !== undefined ? { metric } : {}),
          ...(selected !== undefined ? { scope: selected } : {}),
          from: from ?? defaultFrom(kind, day),
          ...(to !== undefined ? { to } : {}),
          ...(asOf !== undefined ? { asOf } : {}),
        });
    // A scope the organisation does not name is refused, unless values were stored for it (data the mapping no longer names).
    const unknown = scope === undefined || rows.length > 0 ? undefined : unknownScope(rt.organisation.org, scope);
    if (unknown !== undefined) return fail(ctx, unknown);
    if (format === 'table') {
      if (compute)
        ctx.out.write(
          `Computed as of ${toMinute(at.toISOString())} UTC from the facts as they stood then, not read from stored values; nothing stored\n`,
        );
      if (rows.length > 0) printPivot(ctx, rows, kind, day, at);
      else
        ctx.err.write(
          compute
            ? `no values as of ${at.toISOString()} for this selection: no fact had been recorded by then\n`
            : asOf !== undefined
              ? `no values had been computed by ${asOf.toISOString()} for this selection\n`
              : 'no values; compute them with `ptel metrics compute` or let the schedules run\n',
        );
      return 0;
    }
    emit(
      ctx,
      format,
      [...PRINTED_VALUE_COLUMNS, 'partial'],
      rows.map((r) => ({
        ...Object.fromEntries(PRINTED_VALUE_COLUMNS.map((c) => [c, r[c]])),
        period_kind: kind,
        partial: running(kind, r.period_start, day),
      })),
    );
    return 0;
  });
}

/**
 * The values of a selection computed as of `at` (`show --compute`): those a full metrics run at that
 * instant would have stored, written nowhere.
 */
async function computed(
  rt: MetricsRuntime,
  ctx: CommandContext,
  at: Date,
  select: { period: PeriodKind; from: string; to: string; metric?: string; scope?: { kind: ScopeKind; id?: string } },
): Promise<MetricValueRow[]> {
  const scope = select.scope;
  const id = scope?.id === undefined ? undefined : scope.kind === 'repo' ? scope.id.toLowerCase() : scope.id;
  const rows = await computedValues(rt.store, { model: ctx.config.model, metrics: ctx.config.metrics, org: rt.organisation.org }, at, {
    period: select.period,
    from: select.from,
    to: select.to,
    ...(select.metric !== undefined ? { metrics: [select.metric] } : {}),
    ...(scope !== undefined && id !== undefined ? { only: [`${scope.kind}:${id}`] } : {}),
  });
  return scope === undefined ? rows : rows.filter((r) => r.scope_kind === scope.kind);
}

/** An instant as the explanation shows it, to the minute: '2026-11-03 14:05:00.000' reads '2026-11-03 14:05'. */
const toMinute = (text: string): string => text.replace(/(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}):\d{2}(\.\d+)?Z?/g, '$1 $2');

/** The period explained, in words: 'month of 2026-11', 'week of 2026-11-02', 'day 2026-11-03'. */
const periodWords = (kind: PeriodKind, start: string): string =>
  kind === 'month' ? `month of ${start.slice(0, 7)}` : kind === 'week' ? `week of ${start} (${isoWeek(start)})` : `day ${start}`;

const scopeWords = (kind: ScopeKind, id: string): string => (kind === 'org' ? 'the org' : `${kind} ${id}`);

async function explain(ctx: CommandContext, format: Format, open: OpenMetricsRuntime): Promise<number> {
  const id = ctx.positionals[1];
  const definition = id === undefined ? undefined : metricById(id);
  if (definition === undefined) return fail(ctx, `explain needs a metric id (see ptel metrics list), got '${id ?? ''}'`);
  const scope = parseScope(option(ctx, 'scope') ?? 'org:org');
  if (typeof scope === 'string') return fail(ctx, scope);
  const period = (option(ctx, 'period') ?? 'month') as PeriodKind;
  if (!(PERIOD_KINDS as readonly string[]).includes(period)) return fail(ctx, `--period '${period}': expected day, week or month`);
  const asOf = parseInstant(ctx, 'as-of', 'ptel metrics');
  if (asOf === null) return 2;
  const notComputed = periodProblem(definition, period);
  if (notComputed !== undefined) return fail(ctx, notComputed);
  const startText = option(ctx, 'start');
  if (startText !== undefined && !DAY.test(startText)) return fail(ctx, `--start '${startText}': expected a date YYYY-MM-DD`);
  const scopeId = scope.id ?? (scope.kind === 'org' ? 'org' : undefined);
  if (scopeId === undefined) return fail(ctx, '--scope needs KIND:ID, for example team:checkout');
  return open(async (rt) => {
    const at = asOf ?? rt.clock.date();
    const day = today(ctx.config.metrics.timeZone, at);
    const start = periodStart(period, startText ?? day);
    const rows = await explainMetric({
      store: rt.store,
      definition,
      params: metricParams(ctx.config),
      scope: { kind: scope.kind, id: scopeId },
      period: { kind: period, start },
      scopes: scopesOf(rt.organisation.org),
      clock: rt.clock,
      ...(asOf !== undefined ? { asOf } : {}),
    });
    const unknown = rows.length > 0 ? undefined : unknownScope(rt.organisation.org, { kind: scope.kind, id: scopeId });
    if (unknown !== undefined) return fail(ctx, unknown);
    if (format !== 'table') {
      emit(
        ctx,
        format,
        ['at', 'program', 'team', 'item', 'num', 'den', 'value', 'detail'],
        rows as unknown as Array<Record<string, unknown>>,
      );
      return 0;
    }
    const arithmetic = unitsArithmetic(definition.aggregate, rows);
    ctx.out.write(
      `${definition.id} for ${scopeWords(scope.kind, scopeId)}, ${periodWords(period, start)}: ${arithmeticText(definition, arithmetic)}\n`,
    );
    const state = running(period, start, day)
      ? `; the period is still running, as of ${at.toISOString()}`
      : asOf !== undefined
        ? `; as of ${asOf.toISOString()}`
        : '';
    ctx.out.write(`${definition.title}${state}\n`);
    if (rows.length === 0) {
      ctx.out.write('no units in this period\n');
      return 0;
    }
    ctx.out.write(`\n${rows.length} ${rows.length === 1 ? 'unit' : 'units'}:\n`);
    printUnits(ctx, definition, rows);
    return 0;
  });
}

/** The units of an explanation: when, what, what it counts for and why; the columns the aggregate reads. */
function printUnits(ctx: CommandContext, def: MetricDefinition, rows: ExplainRow[]): void {
  const kind = def.aggregate.kind;
  const counts = (r: ExplainRow): string[] =>
    kind === 'ratio'
      ? [plainNumber(r.num), plainNumber(r.den)]
      : kind === 'quantile' || kind === 'mean'
        ? [formatValue(def.unit, r.value, { fixed: true })]
        : kind === 'count' && rows.some((x) => x.num !== 1)
          ? [plainNumber(r.num)]
          : [];
  const header = [
    'at',
    'item',
    ...(kind === 'ratio'
      ? ['num', 'den']
      : kind === 'quantile' || kind === 'mean'
        ? ['value']
        : kind === 'count' && rows.some((x) => x.num !== 1)
          ? ['num']
          : []),
    'detail',
  ];
  printTable(
    ctx.out,
    header,
    rows.map((r) => [toMinute(r.at), toMinute(r.item), ...counts(r), toMinute(r.detail)]),
    { units: true },
  );
}

function list(ctx: CommandContext, format: Format): number {
  emit(
    ctx,
    format,
    ['id', 'item', 'unit', 'better', 'periods', 'version', 'title'],
    METRICS.map((m: MetricDefinition) => ({
      id: m.id,
      item: m.item,
      unit: m.unit,
      better: m.better,
      periods: (m.periods ?? PERIOD_KINDS).join(' '),
      version: m.version,
      title: m.title,
    })),
  );
  return 0;
}

async function compute(ctx: CommandContext, backfill: boolean): Promise<number> {
  const from = option(ctx, 'from');
  const to = option(ctx, 'to');
  if (backfill && from === undefined) return fail(ctx, 'backfill needs --from YYYY-MM-DD');
  for (const [k, v] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (v !== undefined && !DAY.test(v)) return fail(ctx, `--${k} '${v}': expected a date YYYY-MM-DD`);
  }
  return withStore(ctx.config, async (rt) => {
    const end = to ?? addDays(today(ctx.config.metrics.timeZone, rt.clock.date()), 1);
    if (from === undefined) {
      const r = await metricsNow(rt, { mode: 'full' });
      ctx.out.write(
        `recomputed ${r.from ?? '-'} .. ${r.to ?? '-'}: ${r.rows} values of ${r.metrics} metrics in ${(r.ms / 1000).toFixed(1)} s\n`,
      );
      return 0;
    }
    // Month by month, so a long backfill shows progress and a failure keeps what was done.
    let rows = 0;
    for (let month = periodStart('month', from); month < end;) {
      const next = addDays(periodStart('month', addDays(month, 32)), 0);
      const r = await metricsNow(rt, { mode: 'range', from: month, to: next < end ? next : end });
      rows += r.rows;
      ctx.out.write(`${month.slice(0, 7)}: ${r.rows} values in ${(r.ms / 1000).toFixed(1)} s\n`);
      month = next;
    }
    ctx.out.write(`backfilled ${from} .. ${end}: ${rows} values\n`);
    return 0;
  });
}

function parseFormat(ctx: CommandContext, command: string): Format | undefined {
  const format = option(ctx, 'format') ?? 'table';
  if ((FORMATS as readonly string[]).includes(format)) return format as Format;
  fail(ctx, `--format '${format}': expected ${FORMATS.slice(0, -1).join(', ')} or ${FORMATS[FORMATS.length - 1]!}`, command);
  return undefined;
}

/** Runs `ptel metrics` with its runtime opened by `open` (the config's store by default; a test's own store and clock in tests). */
export async function runMetrics(ctx: CommandContext, open: OpenMetricsRuntime = (fn) => withStore(ctx.config, fn)): Promise<number> {
  const format = parseFormat(ctx, 'ptel metrics');
  if (format === undefined) return 2;
  const sub = ctx.positionals[0] ?? 'show';
  switch (sub) {
    case 'show':
      return show(ctx, format, open);
    case 'list':
      return list(ctx, format);
    case 'compute':
      return compute(ctx, false);
    case 'backfill':
      return compute(ctx, true);
    case 'explain':
      return explain(ctx, format, open);
    default:
      return fail(ctx, `unknown subcommand '${sub}'; use show, list, compute, backfill or explain`);
  }
}

/** One scope metrics can be shown for: a program, a team (with its program), a service or a repository (with their team). */
export interface ScopeListing {
  kind: Exclude<ScopeKind, 'org'>;
  id: string;
  name: string;
  program: string;
  team: string;
}

/** The programs, teams, services and repositories of an org mapping, in that order. */
export function listScopes(org: OrgConfig): ScopeListing[] {
  const programs: ScopeListing[] = [];
  const teams: ScopeListing[] = [];
  const services: ScopeListing[] = [];
  const repos: ScopeListing[] = [];
  const seenRepos = new Set<string>();
  const repo = (name: string, program: string, team: string): void => {
    const id = name.toLowerCase();
    if (seenRepos.has(id)) return;
    seenRepos.add(id);
    repos.push({ kind: 'repo', id, name, program, team });
  };
  for (const p of org.programs) {
    programs.push({ kind: 'program', id: p.id, name: p.name, program: p.id, team: '' });
    for (const t of p.teams) {
      teams.push({ kind: 'team', id: t.id, name: t.name, program: p.id, team: t.id });
      for (const s of t.services) services.push({ kind: 'service', id: serviceName(s), name: serviceName(s), program: p.id, team: t.id });
      for (const r of t.repositories) repo(r, p.id, t.id);
      for (const s of t.services) if (typeof s !== 'string') for (const r of s.repositories) repo(r, p.id, t.id);
    }
  }
  return [...programs, ...teams, ...services, ...repos];
}

/** Runs `ptel scopes` for the organisation `org` gives (the configured one, else the demo organisation). */
export function runScopes(ctx: CommandContext, org: () => OrgConfig = () => resolveOrganisation(ctx.config, systemClock).org): number {
  const format = parseFormat(ctx, 'ptel scopes');
  if (format === undefined) return 2;
  const scopes = listScopes(org());
  if (format === 'table' && scopes.length === 0) {
    ctx.err.write('no programs: the org mapping (org.programs in the configuration) names none\n');
    return 0;
  }
  emit(ctx, format, ['kind', 'id', 'name', 'program', 'team'], scopes as unknown as Array<Record<string, unknown>>);
  return 0;
}

const FORMAT_LINE = '  --format F          table (default), json (one JSON array), jsonl (one JSON object per line) or csv';

export const METRICS_COMMANDS: Record<string, Command> = {
  metrics: {
    summary: 'show, compute, backfill and explain the metrics (DORA, quality, program KPIs)',
    usage: [
      'usage: ptel metrics [show] [--metric ID] [--scope KIND[:ID]] [--period day|week|month] [--from DATE] [--to DATE] [--as-of INSTANT] [--compute] [--format F]',
      '       ptel metrics list [--format F]',
      '       ptel metrics explain ID [--scope KIND:ID] [--period day|week|month] [--start DATE] [--as-of INSTANT] [--format F]',
      '       ptel metrics compute [--from DATE] [--to DATE]',
      '       ptel metrics backfill --from DATE [--to DATE]',
      '',
      'show      the stored values: one row per metric (and scope), one column per period, newest on the right;',
      '          the period still running is marked * (its value so far). Default: org-level monthly values of the last three months.',
      'list      the metrics: id, docs/metrics.md item, unit, which way is better, the periods it is computed for, title.',
      'explain   one value restated with its arithmetic (40.0% = 4 failed of 10 production deployments), then the units behind it.',
      'compute   recompute the values (all history without --from).',
      'backfill  compute history month by month, with progress.',
      '',
      'options:',
      '  --metric ID          show one metric only (ids: ptel metrics list)',
      '  --scope KIND[:ID]    KIND is org, program, team, service or repo (ids: ptel scopes); show: a kind or one scope; explain: one scope (default org)',
      '  --period P           day, week or month (default month)',
      '  --from DATE          show: periods starting on or after DATE (default 3 months, 12 weeks or 14 days back); compute, backfill: the first day',
      '  --to DATE            show: periods starting before DATE; compute, backfill: the day after the last one',
      '  --start DATE         explain: the period containing DATE (default the period running now)',
      '  --as-of INSTANT      show: the values as the store held them then; explain: the value evaluated then (ISO 8601)',
      '  --compute            show: compute the values as of --as-of (else now) from the facts as they stood then, as a full',
      '                       metrics run then would have stored them, instead of reading stored values; nothing is stored',
      FORMAT_LINE,
    ].join('\n'),
    options: {
      metric: { type: 'string' },
      scope: { type: 'string' },
      period: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      start: { type: 'string' },
      format: { type: 'string' },
      'as-of': { type: 'string' },
      compute: { type: 'boolean' },
    },
    positionals: true,
    run: (ctx) => runMetrics(ctx),
  },
  scopes: {
    summary: 'list the programs, teams, services and repositories the metrics can be scoped to',
    usage: [
      'usage: ptel scopes [--format F]',
      'The programs, teams (with their program), services and repositories (with their team) of the org mapping;',
      'the demo organisation when no source and no org mapping are configured. Use them as --scope KIND:ID.',
      '',
      'options:',
      FORMAT_LINE,
    ].join('\n'),
    options: { format: { type: 'string' } },
    run: (ctx) => Promise.resolve(runScopes(ctx)),
  },
};

/** The org's key numbers for the last complete month, after a run. */
export async function printKpiSummary(rt: Pick<Runtime, 'store' | 'clock' | 'config'>, out: NodeJS.WritableStream): Promise<void> {
  const rows = await kpiSummary(rt.store, { now: rt.clock.date(), tz: rt.config.metrics.timeZone });
  if (rows.length === 0) return;
  out.write(`org metrics for ${rows[0]!.month.slice(0, 7)} (ptel metrics shows more, ptel metrics explain tells why):\n`);
  for (const r of rows)
    out.write(
      `  ${r.metric.padEnd(40)} ${r.value === null ? 'no data' : formatValue(r.unit, r.value, { fixed: true })} (n=${r.sample_size})\n`,
    );
}
