import { metricsNow } from '../app/jobs.js';
import type { Runtime } from '../app/runtime.js';
import { METRICS, metricById } from '../workers/metrics/definitions/index.js';
import { addDays, explainMetric, metricParams, periodStart, scopesOf } from '../workers/metrics/engine.js';
import { today } from '../workers/metrics/job.js';
import { kpiSummary, readMetricValues } from '../workers/metrics/queries.js';
import { parseScope, PERIOD_KINDS, type MetricDefinition, type PeriodKind } from '../workers/metrics/types.js';
import { withStore, type Command, type CommandContext } from './command.js';
import { parseInstant, printTable } from './output.js';
import { csvField } from '../workers/export/csv.js';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

type Format = 'table' | 'json' | 'csv';

function fail(ctx: CommandContext, message: string): number {
  ctx.err.write(`ptel metrics: ${message}\n`);
  return 2;
}

/** Writes rows as a table on a terminal, or as JSON lines, or CSV. */
function emit(ctx: CommandContext, format: Format, header: string[], rows: Array<Record<string, unknown>>): void {
  if (format === 'json') {
    for (const r of rows) ctx.out.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const cell = (v: unknown): string =>
    v === null || v === undefined
      ? ''
      : typeof v === 'number'
        ? String(Number(v.toPrecision(6)))
        : typeof v === 'string'
          ? v
          : JSON.stringify(v);
  if (format === 'csv') {
    ctx.out.write(`${header.map(csvField).join(',')}\n`);
    for (const r of rows) ctx.out.write(`${header.map((h) => csvField(cell(r[h]))).join(',')}\n`);
    return;
  }
  printTable(
    ctx.out,
    header,
    rows.map((r) => header.map((h) => cell(r[h]))),
  );
}

function option(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** The period kinds a metric is computed for; undefined when it is the kind asked for. */
function periodProblem(def: MetricDefinition, period: string): string | undefined {
  const kinds = def.periods ?? PERIOD_KINDS;
  if ((kinds as readonly string[]).includes(period)) return undefined;
  return `${def.id} is computed per ${kinds.join(' and ')} only, not per ${period}; use --period ${kinds[0] ?? 'week'}`;
}

async function show(ctx: CommandContext, format: Format): Promise<number> {
  const scopeText = option(ctx, 'scope');
  const scope = scopeText === undefined ? undefined : parseScope(scopeText);
  if (typeof scope === 'string') return fail(ctx, scope);
  const period = option(ctx, 'period') ?? 'month';
  if (!(PERIOD_KINDS as readonly string[]).includes(period)) return fail(ctx, `--period '${period}': expected day, week or month`);
  const metric = option(ctx, 'metric');
  const definition = metric === undefined ? undefined : metricById(metric);
  if (metric !== undefined && definition === undefined) return fail(ctx, `unknown metric '${metric}'; see ptel metrics list`);
  const notComputed = definition === undefined ? undefined : periodProblem(definition, period);
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
  return withStore(ctx.config, async (rt) => {
    const at = asOf ?? rt.clock.date();
    const rows = await readMetricValues(rt.store, {
      period: period as PeriodKind,
      ...(metric !== undefined ? { metric } : {}),
      ...(scope !== undefined ? { scope } : metric === undefined ? { scope: { kind: 'org' as const } } : {}),
      from: from ?? addDays(today(ctx.config.metrics.timeZone, at), -92),
      ...(to !== undefined ? { to } : {}),
      ...(asOf !== undefined ? { asOf } : {}),
    });
    emit(
      ctx,
      format,
      ['metric', 'scope_kind', 'scope_id', 'period_start', 'value', 'numerator', 'denominator', 'sample_size', 'unit'],
      rows as unknown as Array<Record<string, unknown>>,
    );
    if (rows.length === 0 && format === 'table')
      ctx.err.write(
        asOf !== undefined
          ? `no values had been computed by ${asOf.toISOString()} for this selection\n`
          : 'no values; compute them with `ptel metrics compute` or let the schedules run\n',
      );
    return 0;
  });
}

async function explain(ctx: CommandContext, format: Format): Promise<number> {
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
  const scopeId = scope?.id ?? (scope?.kind === 'org' ? 'org' : undefined);
  if (scope === undefined || scopeId === undefined) return fail(ctx, '--scope needs KIND:ID, for example team:checkout');
  return withStore(ctx.config, async (rt) => {
    const start = startText ?? periodStart(period, today(ctx.config.metrics.timeZone, asOf ?? rt.clock.date()));
    const rows = await explainMetric({
      store: rt.store,
      definition,
      params: metricParams(ctx.config.model, ctx.config.metrics),
      scope: { kind: scope.kind, id: scopeId },
      period: { kind: period, start: periodStart(period, start) },
      scopes: scopesOf(rt.organisation.org),
      clock: rt.clock,
      ...(asOf !== undefined ? { asOf } : {}),
    });
    if (format === 'table') {
      ctx.out.write(
        `${definition.id} (${definition.title}) for ${scope.kind} ${scopeId}, ${period} of ${periodStart(period, start)}` +
          `${asOf !== undefined ? ` as of ${asOf.toISOString()}` : ''}: ${rows.length} units\n`,
      );
    }
    emit(ctx, format, ['at', 'item', 'num', 'den', 'value', 'detail'], rows as unknown as Array<Record<string, unknown>>);
    return 0;
  });
}

function list(ctx: CommandContext, format: Format): number {
  emit(
    ctx,
    format,
    ['id', 'item', 'unit', 'better', 'version', 'title'],
    METRICS.map((m: MetricDefinition) => ({ id: m.id, item: m.item, unit: m.unit, better: m.better, version: m.version, title: m.title })),
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

export const METRICS_COMMANDS: Record<string, Command> = {
  metrics: {
    summary: 'show, compute, backfill and explain the metrics (DORA, quality, program KPIs)',
    usage: [
      'usage: ptel metrics [show] [--metric ID] [--scope KIND[:ID]] [--period day|week|month] [--from DATE] [--to DATE]',
      '                          [--as-of INSTANT] [--format table|json|csv]',
      '       ptel metrics list',
      '       ptel metrics compute [--from DATE] [--to DATE]     recompute (all history without --from)',
      '       ptel metrics backfill --from DATE [--to DATE]      compute history month by month, with progress',
      '       ptel metrics explain ID [--scope KIND:ID] [--period day|week|month] [--start DATE] [--as-of INSTANT]',
      'KIND is org, program, team, service or repo. show defaults to org-level monthly values of the last three months.',
      'explain lists the units behind one value (for change_failure_rate: each deployment, its incidents and how each was linked).',
      'show --as-of: the values as the store held them at that instant (what a dashboard showed then);',
      'explain --as-of: the value evaluated at that instant (a running period as it stood then, nothing later counted).',
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
    },
    positionals: true,
    async run(ctx) {
      const format = (option(ctx, 'format') ?? 'table') as Format;
      if (!['table', 'json', 'csv'].includes(format)) return fail(ctx, `--format '${format}': expected table, json or csv`);
      const sub = ctx.positionals[0] ?? 'show';
      switch (sub) {
        case 'show':
          return show(ctx, format);
        case 'list':
          return list(ctx, format);
        case 'compute':
          return compute(ctx, false);
        case 'backfill':
          return compute(ctx, true);
        case 'explain':
          return explain(ctx, format);
        default:
          return fail(ctx, `unknown subcommand '${sub}'; use show, list, compute, backfill or explain`);
      }
    },
  },
};

/** The org's key numbers for the last complete month, after a run. */
export async function printKpiSummary(rt: Pick<Runtime, 'store' | 'clock' | 'config'>, out: NodeJS.WritableStream): Promise<void> {
  const rows = await kpiSummary(rt.store, { now: rt.clock.date(), tz: rt.config.metrics.timeZone });
  if (rows.length === 0) return;
  const shown = (v: number | null, unit: string): string =>
    v === null
      ? 'no data'
      : unit === 'ratio'
        ? `${(v * 100).toFixed(1)}%`
        : unit === 'hours'
          ? `${v.toFixed(1)} h`
          : String(Number(v.toFixed(2)));
  out.write(`org metrics for ${rows[0]!.month.slice(0, 7)} (ptel metrics shows more, ptel metrics explain tells why):\n`);
  for (const r of rows) out.write(`  ${r.metric.padEnd(40)} ${shown(r.value, r.unit)} (n=${r.sample_size})\n`);
}
