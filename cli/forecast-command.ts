import { unknownScope } from '../app/registers.js';
import type { Organisation } from '../app/organisation.js';
import type { Runtime } from '../app/runtime.js';
import { registerCsv } from '../workers/export/register-csv.js';
import { backtest, calibrationReading, type BacktestResult, type Calibration } from '../workers/forecast/backtest.js';
import { programConfidence, type ProgramConfidence } from '../workers/forecast/confidence.js';
import { forecastWhatIf } from '../workers/forecast/engine.js';
import { readTeamThroughput } from '../workers/forecast/inputs.js';
import { forecastHistory, forecastSettings, planForecasts, readForecasts, type StoredForecast } from '../workers/forecast/job.js';
import { explainForecast, type ForecastExplanation } from '../workers/forecast/explain.js';
import type { BlockedItems, Forecast, ForecastInputs, WhatIf } from '../workers/forecast/types.js';
import { metricParams } from '../workers/metrics/engine.js';
import { computedForecasts } from '../workers/reports/forecasts-at.js';
import { col, type RegisterRow } from '../workers/registers/types.js';
import { withStore, type Command, type CommandContext } from './command.js';
import type { Format } from './list-command.js';
import { parseInstant, printTable } from './output.js';

/** The organisation as the scope check reads it (only its org). */
const scoped = (rt: ForecastRuntime): Pick<Runtime, 'organisation'> => ({ organisation: rt.organisation as Organisation });

const FORMATS: readonly Format[] = ['table', 'json', 'csv', 'jsonl'];

export type ForecastRuntime = Pick<Runtime, 'store' | 'clock' | 'config'> & { organisation: Pick<Organisation, 'org'> };
/** Opens what the command reads, runs `fn` on it and closes it (a runtime on the config's store, by default). */
export type OpenForecastRuntime = (fn: (rt: ForecastRuntime) => Promise<number>) => Promise<number>;

function fail(ctx: CommandContext, message: string): number {
  ctx.err.write(`ptel forecast: ${message}\n`);
  return 2;
}

const option = (ctx: CommandContext, name: string): string | undefined => {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
};

const COLUMNS = [
  col('milestone', 'milestone', 'title'),
  col('program', 'program', 'text'),
  col('team', 'team', 'text'),
  col('committed', 'committed', 'date'),
  col('p50', 'P50', 'date'),
  col('p85', 'P85', 'date'),
  col('p95', 'P95', 'date'),
  col('confidence', 'confidence', 'count'),
  col('band', 'band', 'text'),
  col('reason', 'no number because', 'text'),
];

const listRow = (f: StoredForecast): RegisterRow => ({
  key: `${f.source}:${f.milestoneId}`,
  milestone: f.name,
  program: f.program,
  team: f.team,
  committed: f.committed,
  p50: f.p50,
  p85: f.p85,
  p95: f.p95,
  confidence: f.confidence === null ? null : Math.round(f.confidence * 100) / 100,
  band: f.band,
  reason: f.ok ? null : f.reason,
});

const dash = (v: string | number | null | undefined): string => (v === null || v === undefined || v === '' ? '-' : String(v));
const when = (iso: string): string => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

/** The forecasts in a format: a table, one JSON document, CSV or JSON lines. */
export function printForecasts(
  ctx: Pick<CommandContext, 'out'>,
  format: Format,
  result: { runAt: string | null; forecasts: StoredForecast[] },
  programs: ProgramConfidence[] = [],
): void {
  const rows = result.forecasts.map(listRow);
  if (format === 'json') {
    ctx.out.write(`${JSON.stringify({ runAt: result.runAt, programs, columns: COLUMNS.map((c) => c.key), rows }, null, 2)}\n`);
    return;
  }
  if (format === 'jsonl') {
    for (const row of rows) ctx.out.write(`${JSON.stringify(row)}\n`);
    return;
  }
  if (format === 'csv') {
    ctx.out.write(registerCsv(COLUMNS, rows));
    return;
  }
  if (result.runAt === null) {
    ctx.out.write('no forecast stored by then: forecasts are written on schedule (metrics.recomputeMinutes) and by run --once\n');
    return;
  }
  const withNumber = result.forecasts.filter((f) => f.ok).length;
  ctx.out.write(`Milestone forecasts of ${when(result.runAt)}: ${withNumber} of ${result.forecasts.length} with a number\n`);
  if (programs.length > 0) {
    ctx.out.write(`Program confidence: the ${programs[0]!.rule}\n`);
    for (const p of programs) ctx.out.write(`  ${programLine(p)}\n`);
    ctx.out.write('\n');
  }
  printTable(
    ctx.out,
    COLUMNS.filter((c) => c.key !== 'reason').map((c) => c.header),
    result.forecasts.map((f) =>
      f.ok
        ? [
            f.name,
            f.program,
            f.team,
            dash(f.committed),
            dash(f.p50),
            dash(f.p85),
            dash(f.p95),
            f.confidence === null ? '-' : f.confidence.toFixed(2),
            dash(f.band),
          ]
        : [f.name, f.program, f.team, dash(f.committed), `no number: ${f.reason}`, '', '', '', ''],
    ),
  );
}

/** A program's confidence and the milestone that sets it, in a line. */
function programLine(p: ProgramConfidence): string {
  const apart = p.dueWithoutNumber > 0 ? `; ${p.dueWithoutNumber} due without a number` : '';
  if (p.setBy === null) return `${p.program}: no milestone with a number due by ${p.dueBy}${apart}`;
  const of = p.due === 1 ? 'its only milestone due' : `lowest of ${p.due} due`;
  return `${p.program}: ${p.confidence!.toFixed(2)} ${p.band ?? ''}, set by ${p.setBy.name} (${p.setBy.source}:${p.setBy.milestoneId}, committed ${p.setBy.committed}; ${of})${apart}`;
}

const mean = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);
const short = (x: number): string => String(Number(x.toFixed(2)));

function inputLines(i: ForecastInputs): string[] {
  const points = i.remainingPoints === null ? '' : ` (${short(i.remainingPoints)} points)`;
  const lines = [
    `remaining: ${i.remainingItems} open items${points}, ${i.milestoneDoneItems ?? i.doneItems} done` +
      (i.throughputBasis === 'team share' ? `; the team's ${i.doneItems} done items in the window set the pace` : ''),
    `throughput: ${short(mean(i.throughput))} items/week (${i.throughputBasis}${i.teams.length > 0 ? `: ${i.teams.join(', ')}` : ''}; weekly, oldest first: ${i.throughput.map(short).join(' ')})`,
    `growth: ${i.growth.length === 0 ? 'none measured' : `${short(mean(i.growth))} items/week over ${i.growth.length} weeks`}`,
  ];
  const c = i.cadence;
  if (c !== undefined)
    lines.push(
      `cadence: ${c.style === 'date' ? 'ships by date' : 'finishes with its work'} (${c.withOpenItems} of the ${c.from}'s last ${c.peers} finished with open items; ` +
        `days late by the date ${c.leadDays >= 0 ? `${c.leadDays} days before` : 'at the finish'}: ${c.slipDays.join(' ') || 'none on record'})`,
    );
  for (const b of i.blockers) lines.push(blockerLine(b));
  return lines;
}

/** When a blocker finishes as the forecast used it: in a fixed number of weeks, or on its milestone's forecast. */
const finishWeeks = (b: BlockedItems): number =>
  b.finishWeeks.length === 1 ? b.finishWeeks[0]! : [...b.finishWeeks].sort((x, y) => x - y)[Math.floor(b.finishWeeks.length / 2)]!;

function blockerLine(b: BlockedItems): string {
  const finish =
    b.finishWeeks.length === 1 ? `${short(finishWeeks(b))} weeks` : `its milestone's forecast (median ${short(finishWeeks(b))} weeks)`;
  return `blocker ${b.blocker} (${b.blockerTeam || 'no team'}) "${b.blockerTitle}" holds ${b.blocked.join(', ')}; finishes in ${finish}; idle ${b.idleBusinessDays} business days`;
}

function fanLine(f: Pick<StoredForecast, 'ok' | 'reason' | 'committed' | 'p50' | 'p85' | 'p95' | 'confidence' | 'band'>): string {
  if (!f.ok) return `no number: ${f.reason}`;
  const conf = f.confidence === null ? 'no committed date' : `P(on time) ${f.confidence.toFixed(2)}, ${f.band ?? ''}`;
  return `P50 ${dash(f.p50)}  P85 ${dash(f.p85)}  P95 ${dash(f.p95)}; committed ${dash(f.committed)}: ${conf}`;
}

/** A forecast the engine gave, as the fields the show command prints. */
const shown = (f: Forecast) =>
  f.ok
    ? { ok: true, reason: '', committed: f.committed, p50: f.p50, p85: f.p85, p95: f.p95, confidence: f.confidence, band: f.band }
    : { ok: false, reason: f.reason, committed: f.inputs.committed, p50: null, p85: null, p95: null, confidence: null, band: null };

/** The what-if options, or a message saying which one cannot be read. */
function whatIfOf(ctx: CommandContext): { whatIf: WhatIf; addTeam?: string; any: boolean } | string {
  const whatIf: WhatIf = {};
  const scope = option(ctx, 'scope-change');
  if (scope !== undefined) {
    const m = /^([+-]?\d+(?:\.\d+)?)(%?)$/.exec(scope.trim());
    if (m === null) return `--scope-change '${scope}': expected a percentage such as -20% or +10%`;
    whatIf.scopeChange = Number(m[1]) / (m[2] === '%' ? 100 : 1);
  }
  const factor = option(ctx, 'throughput');
  if (factor !== undefined) {
    const m = /^[x×]?(\d+(?:\.\d+)?)$/.exec(factor.trim());
    if (m === null || Number(m[1]) <= 0) return `--throughput '${factor}': expected a factor above 0 such as x1.2`;
    whatIf.throughputFactor = Number(m[1]);
  }
  const resolves = ctx.values['resolve'];
  for (const r of (Array.isArray(resolves) ? resolves : resolves === undefined ? [] : [resolves]).map(String)) {
    const m = /^(.+)@(\d{4}-\d{2}-\d{2})$/.exec(r);
    if (m === null) return `--resolve '${r}': expected KEY@DATE such as PAY-12@2026-05-01`;
    (whatIf.resolve ??= []).push({ key: m[1]!, on: m[2]! });
  }
  const commit = option(ctx, 'commit');
  if (commit !== undefined) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(commit) || Number.isNaN(Date.parse(`${commit}T00:00:00Z`)))
      return `--commit '${commit}': expected a date such as 2026-06-30`;
    whatIf.commit = commit;
  }
  const addTeam = option(ctx, 'add-team');
  return { whatIf, ...(addTeam !== undefined ? { addTeam } : {}), any: Object.keys(whatIf).length > 0 || addTeam !== undefined };
}

/** The one milestone's forecast of the latest run by `asOf` (by id or name), or the exit code after saying why there is none. */
async function oneForecast(
  ctx: CommandContext,
  rt: ForecastRuntime,
  name: string,
  asOf: Date | undefined,
): Promise<StoredForecast | number> {
  const { forecasts } = await readForecasts(rt.store, { milestone: name, ...(asOf !== undefined ? { asOf } : {}) });
  if (forecasts.length === 0)
    return fail(
      ctx,
      `no forecast of '${name}' stored${asOf !== undefined ? ` by ${asOf.toISOString()}` : ''}; ptel forecast list names the milestones`,
    );
  if (forecasts.length > 1)
    return fail(
      ctx,
      `'${name}' names ${forecasts.length} milestones: ${forecasts.map((f) => `${f.source}:${f.milestoneId}`).join(', ')}; give one id`,
    );
  return forecasts[0]!;
}

/** A stored forecast's first lines: the milestone, its owners and run, then its fan of dates. */
const headline = (f: StoredForecast): string[] => [
  `${f.name} (${f.source}:${f.milestoneId}), program ${dash(f.program)}, team ${dash(f.team)}; forecast of ${when(f.runAt)}`,
  `  ${fanLine(f)}`,
];

async function show(ctx: CommandContext, rt: ForecastRuntime, name: string, asOf: Date | undefined): Promise<number> {
  const parsed = whatIfOf(ctx);
  if (typeof parsed === 'string') return fail(ctx, parsed);
  const f = await oneForecast(ctx, rt, name, asOf);
  if (typeof f === 'number') return f;
  const key = `${f.source}:${f.milestoneId}`;
  const out = (s: string): boolean => ctx.out.write(`${s}\n`);
  for (const l of headline(f)) out(l);
  out('inputs:');
  for (const l of inputLines(f.inputs)) out(`  ${l}`);
  if (f.drivers.length > 0) {
    out('drivers:');
    for (const d of f.drivers) out(`  - ${d}`);
  }
  out(`critical path: ${f.criticalPath.length > 0 ? f.criticalPath.join(' -> ') : 'none (no blocker sets the date)'}`);
  const history = await forecastHistory(rt.store, key, asOf !== undefined ? { asOf } : {});
  out('history:');
  printTable(
    ctx.out,
    ['run', 'P50', 'P85', 'P95', 'confidence', 'change'],
    history.map((h) => [
      when(h.runAt),
      dash(h.p50),
      dash(h.p85),
      dash(h.p95),
      h.confidence === null ? '-' : h.confidence.toFixed(2),
      h.change,
    ]),
  );
  if (!parsed.any) return 0;

  // What-ifs: forecast again from the store at the same instant, nothing written.
  const at = new Date(f.runAt);
  const planned = (await planForecasts(rt.store, rt.config, at)).find((p) => p.milestone.key === key);
  if (planned === undefined) return fail(ctx, `${key} is not open at ${at.toISOString()}: no what-if`);
  const whatIf: WhatIf = { ...parsed.whatIf };
  if (parsed.addTeam !== undefined) {
    const problem = unknownScope(scoped(rt), 'team', parsed.addTeam);
    if (problem !== undefined) return fail(ctx, `--add-team: ${problem}`);
    whatIf.addThroughput = await readTeamThroughput(rt.store, {
      params: metricParams(rt.config),
      asOf: at,
      windowWeeks: rt.config.metrics.forecast.windowWeeks,
      team: parsed.addTeam,
    });
  }
  let result: { current: Forecast; whatIf: Forecast };
  try {
    result = forecastWhatIf(planned.milestone.inputs, forecastSettings(rt.config), whatIf);
  } catch (err) {
    if (err instanceof RangeError) return fail(ctx, err.message);
    throw err;
  }
  const asked = [
    whatIf.scopeChange !== undefined ? `scope ${whatIf.scopeChange >= 0 ? '+' : ''}${Math.round(whatIf.scopeChange * 100)}%` : '',
    whatIf.throughputFactor !== undefined ? `throughput x${whatIf.throughputFactor}` : '',
    ...(whatIf.resolve ?? []).map((r) => `${r.key} resolved ${r.on}`),
    parsed.addTeam !== undefined ? `team ${parsed.addTeam} added` : '',
    whatIf.commit !== undefined ? `committed ${whatIf.commit}` : '',
  ].filter((s) => s !== '');
  out(`what if ${asked.join(', ')} (nothing written):`);
  const [now, then] = [shown(result.current), shown(result.whatIf)];
  const cells = (s: ReturnType<typeof shown>): string[] =>
    s.ok
      ? [dash(s.committed), dash(s.p50), dash(s.p85), dash(s.p95), s.confidence === null ? '-' : s.confidence.toFixed(2), dash(s.band)]
      : [dash(s.committed), `no number: ${s.reason}`, '', '', '', ''];
  printTable(
    ctx.out,
    ['', 'committed', 'P50', 'P85', 'P95', 'confidence', 'band'],
    [
      ['current', ...cells(now)],
      ['what-if', ...cells(then)],
    ],
  );
  return 0;
}

const EXPLAIN_FORMATS: readonly Format[] = ['table', 'json', 'csv'];

const EXPLAIN_COLUMNS = [
  col('section', 'section', 'text'),
  col('sample', 'sample', 'count'),
  col('from', 'from', 'time'),
  col('to', 'to', 'time'),
  col('value', 'value', 'count'),
  col('item', 'item', 'text'),
  col('title', 'title', 'title'),
  col('status', 'status', 'text'),
  col('points', 'points', 'count'),
  col('blockedBy', 'blocked by', 'list'),
  col('blocks', 'blocks', 'list'),
  col('at', 'at', 'time'),
  col('change', 'change', 'text'),
];

/**
 * The explanation as CSV rows: each throughput week's done items (a week with none as one row without an
 * item; value is the week's sample), each remaining item, each scope change, each blocker (value: the
 * weeks until it finishes as used, the median of its milestone's trials when it has them).
 */
function explainRows(e: ForecastExplanation): RegisterRow[] {
  const blank = Object.fromEntries(EXPLAIN_COLUMNS.map((c) => [c.key, c.kind === 'list' ? [] : null])) as RegisterRow;
  const rows: RegisterRow[] = [];
  for (const w of e.throughput.weeks) {
    const base = { ...blank, section: 'throughput', sample: w.sample, from: w.from, to: w.to, value: w.value };
    if (w.items.length === 0) rows.push({ ...base, key: `throughput:${w.sample}` });
    for (const i of w.items) rows.push({ ...base, key: `throughput:${w.sample}:${i.key}`, item: i.key, at: i.doneAt });
  }
  for (const r of e.remaining)
    rows.push({
      ...blank,
      key: `remaining:${r.key}`,
      section: 'remaining',
      item: r.key,
      title: r.title,
      status: r.status,
      points: r.points,
      blockedBy: r.blockedBy,
    });
  for (const g of e.growth.changes)
    rows.push({ ...blank, key: `growth:${g.key}:${g.at}`, section: 'growth', sample: g.sample, item: g.key, at: g.at, change: g.change });
  for (const p of e.cadence)
    rows.push({
      ...blank,
      key: `cadence:${p.key}`,
      section: 'cadence',
      item: p.key,
      title: p.name,
      value: p.slipDays,
      at: p.doneDay,
      change: `date then ${p.dateThen}; ${p.openItems} open at its finish`,
    });
  for (const b of e.blockers)
    rows.push({
      ...blank,
      key: `blocker:${b.blocker}`,
      section: 'blocker',
      item: b.blocker,
      title: b.blockerTitle,
      value: finishWeeks(b),
      blocks: b.blocked,
    });
  return rows;
}

/** An ISO instant as 'YYYY-MM-DD hh:mm' (UTC). */
const minute = (isoInstant: string): string => isoInstant.slice(0, 16).replace('T', ' ');

/** The explanation as text: the headline, then each input with the items behind it. */
function printExplanation(ctx: Pick<CommandContext, 'out'>, f: StoredForecast, e: ForecastExplanation): void {
  const out = (s: string): boolean => ctx.out.write(`${s}\n`);
  for (const l of headline(f)) out(l);
  out(`the items as they stood at the run, ${when(e.asOf)}`);
  if (e.differences.length > 0) {
    out('the store now reads differently at that instant (events stored after the run, or settings changed since):');
    for (const d of e.differences) out(`  - ${d}`);
  }

  const t = e.throughput;
  const weekly = t.weeks.map((w) => w.value);
  out('');
  if (t.basis === 'milestone') {
    out(`throughput: ${short(mean(weekly))} items/week, the milestone's own items done per week, oldest first`);
  } else {
    const team = t.teams.length > 0 ? `team ${t.teams.join(', ')}` : 'team';
    out(
      `throughput: ${short(mean(weekly))} items/week, the ${team}'s items done per week times the milestone's share of them` +
        (t.share === null ? ' (none done in the window: every week 0)' : ` (${short(t.share)}): value = done x ${short(t.share)}`) +
        ', oldest first',
    );
  }
  printTable(
    ctx.out,
    ['from', 'to', 'done', 'value', 'items'],
    t.weeks.map((w) => [minute(w.from), minute(w.to), String(w.items.length), short(w.value), w.items.map((i) => i.key).join(' ') || '-']),
  );

  const i = f.inputs;
  out('');
  out(
    `remaining: ${i.remainingItems} open item${i.remainingItems === 1 ? '' : 's'}${i.remainingPoints === null ? '' : ` (${short(i.remainingPoints)} points)`}`,
  );
  if (e.remaining.length > 0)
    printTable(
      ctx.out,
      ['key', 'title', 'status', 'points', 'blocked by'],
      e.remaining.map((r) => [r.key, dash(r.title), dash(r.status), dash(r.points), r.blockedBy.join(' ') || '-']),
    );

  out('');
  const g = e.growth;
  const since = `${g.samples.length} week${g.samples.length === 1 ? '' : 's'} since the commit point`;
  if (g.samples.length === 0) out('growth: none measured (no whole week since the commit point)');
  else out(`growth: ${short(mean(g.samples))} items/week over ${since} (weekly, oldest first: ${g.samples.map(short).join(' ')})`);
  if (g.changes.length === 0) {
    if (g.samples.length > 0) out('  no item added or removed');
  } else
    printTable(
      ctx.out,
      ['at', 'change', 'key', 'split from'],
      g.changes.map((c) => [minute(c.at), c.change, c.key, c.splitFrom ?? '-']),
    );

  out('');
  if (e.blockers.length === 0) out('blockers: none');
  else {
    out('blockers:');
    for (const b of e.blockers) out(`  ${blockerLine(b)}`);
  }

  const c = i.cadence;
  if (c !== undefined && e.cadence.length > 0) {
    out('');
    out(
      `cadence: ${c.style === 'date' ? 'by date' : 'by scope'}, from the ${c.from}'s last ${e.cadence.length} finished; ` +
        `days late by the date each had ${c.leadDays >= 0 ? `${c.leadDays} days before it finished` : 'when it finished'}` +
        (f.method === 'cadence' ? ' (the dates rest on these)' : ' (the dates rest on the throughput)'),
    );
    printTable(
      ctx.out,
      ['milestone', 'name', 'date then', 'finished', 'days late', 'open at finish'],
      e.cadence.map((p) => [p.key, p.name, p.dateThen, p.doneDay, String(p.slipDays), String(p.openItems)]),
    );
  }
}

async function explain(ctx: CommandContext, rt: ForecastRuntime, name: string, asOf: Date, format: Format): Promise<number> {
  const f = await oneForecast(ctx, rt, name, asOf);
  if (typeof f === 'number') return f;
  const e = await explainForecast(rt.store, rt.config, f);
  if (format === 'json') {
    const { key, ...rest } = e;
    const doc = {
      key,
      milestone: f.name,
      program: f.program,
      team: f.team,
      runAt: f.runAt,
      forecast: {
        ok: f.ok,
        reason: f.reason,
        committed: f.committed,
        p50: f.p50,
        p85: f.p85,
        p95: f.p95,
        confidence: f.confidence,
        band: f.band,
        method: f.method,
        fan: fanLine(f),
      },
      ...rest,
    };
    ctx.out.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else if (format === 'csv') ctx.out.write(registerCsv(EXPLAIN_COLUMNS, explainRows(e)));
  else printExplanation(ctx, f, e);
  return 0;
}

/** `ptel forecast list|show|explain|backtest`. */
export async function runForecast(ctx: CommandContext, open: OpenForecastRuntime = (fn) => withStore(ctx.config, fn)): Promise<number> {
  const sub = ctx.positionals[0];
  if (sub !== 'list' && sub !== 'show' && sub !== 'explain' && sub !== 'backtest')
    return fail(
      ctx,
      `${sub === undefined ? 'list, show, explain or backtest?' : `no subcommand '${sub}';`} use list, show MILESTONE, explain MILESTONE or backtest`,
    );
  const format = (option(ctx, 'format') ?? 'table') as Format;
  if (!FORMATS.includes(format)) return fail(ctx, `--format '${format}': expected ${FORMATS.join(', ')}`);
  if (sub === 'backtest') return runBacktest(ctx, open, format);
  const asOf = parseInstant(ctx, 'as-of', 'ptel forecast');
  if (asOf === null) return 2;
  const program = option(ctx, 'program');
  const team = option(ctx, 'team');
  if (sub === 'show' || sub === 'explain') {
    const name = ctx.positionals.slice(1).join(' ');
    if (name === '') return fail(ctx, `${sub} which milestone? give its id (jira:version/10001) or its name`);
    if (sub === 'show') return open((rt) => show(ctx, rt, name, asOf));
    if (!EXPLAIN_FORMATS.includes(format)) return fail(ctx, `--format '${format}': explain prints ${EXPLAIN_FORMATS.join(', ')}`);
    return open((rt) => explain(ctx, rt, name, asOf ?? rt.clock.date(), format));
  }
  return open(async (rt) => {
    for (const [kind, n] of [
      ['program', program],
      ['team', team],
    ] as const) {
      const problem = n === undefined ? undefined : unknownScope(scoped(rt), kind, n);
      if (problem !== undefined) return fail(ctx, problem);
    }
    const filter = { ...(program !== undefined ? { program } : {}), ...(team !== undefined ? { team } : {}) };
    const compute = ctx.values['compute'] === true;
    const result = compute
      ? await computedForecasts(rt.store, rt.config, asOf ?? rt.clock.date(), filter)
      : await readForecasts(rt.store, { ...(asOf !== undefined ? { asOf } : {}), ...filter });
    if (compute && format === 'table')
      ctx.out.write(`Computed as of ${when(result.runAt!)} from the store as it stood then, not read from a stored run; nothing stored\n`);
    const programs =
      result.runAt === null
        ? []
        : programConfidence(result.forecasts, { now: new Date(result.runAt), timeZone: rt.config.metrics.timeZone });
    printForecasts(ctx, format, result, programs);
    return 0;
  });
}

const CALIBRATION_COLUMNS = [
  col('scope', 'scope', 'text'),
  col('basis', 'basis', 'text'),
  col('forecasts', 'forecasts', 'count'),
  col('resolved', 'resolved', 'count'),
  col('p85Hits', 'done by P85', 'count'),
  col('p85HitRate', 'P85 hit rate', 'probability'),
  col('brier', 'Brier', 'probability'),
  col('brierForecasts', 'Brier over', 'count', false),
  col('maeDays', 'P50 error (days)', 'days'),
  col('biasDays', 'P50 bias (days)', 'days'),
  col('maeForecasts', 'P50 error over', 'count', false),
  col('unresolved', 'unresolved', 'count'),
  col('reading', 'reading', 'text'),
];

const round = (x: number | null, digits: number): number | null => (x === null ? null : Number(x.toFixed(digits)));

const calibrationRow = (c: Calibration): RegisterRow => ({
  key: `${c.scopeKind}:${c.scopeId}:${c.basis === '' ? 'all' : c.basis}`,
  scope: c.scopeKind === 'org' ? 'org' : `program ${c.scopeId}`,
  basis: c.basis === '' ? 'all' : c.basis,
  forecasts: c.forecasts,
  resolved: c.resolved,
  p85Hits: c.p85Hits,
  p85HitRate: round(c.p85HitRate, 3),
  brier: round(c.brier, 3),
  brierForecasts: c.brierForecasts,
  maeDays: round(c.maeDays, 1),
  biasDays: round(c.biasDays, 1),
  maeForecasts: c.maeForecasts,
  unresolved: c.unresolved,
  reading: calibrationReading(c),
});

/** The backtest's calibration per organisation, program and throughput basis, in a format. */
export function printBacktest(ctx: Pick<CommandContext, 'out'>, format: Format, result: BacktestResult): void {
  const rows = result.calibration.map(calibrationRow);
  if (format === 'json') {
    const { scores: _scores, calibration: _calibration, ...head } = result;
    ctx.out.write(`${JSON.stringify({ ...head, columns: CALIBRATION_COLUMNS.map((c) => c.key), rows }, null, 2)}\n`);
    return;
  }
  if (format === 'jsonl') {
    for (const row of rows) ctx.out.write(`${JSON.stringify(row)}\n`);
    return;
  }
  if (format === 'csv') {
    ctx.out.write(registerCsv(CALIBRATION_COLUMNS, rows));
    return;
  }
  const out = (s: string): boolean => ctx.out.write(`${s}\n`);
  const weeks = result.weeks.length;
  out(
    `Forecast backtest as of ${weeks} week start${weeks === 1 ? '' : 's'} from ${result.from} to ${result.to}, scored as known at ${when(result.runAt)}`,
  );
  if (weeks === 0) {
    out('no Monday in that range before now: nothing forecast');
    return;
  }
  out(
    `${result.scores.length} forecasts with a number, ${result.noNumber} without (too little history then); ` +
      'well calibrated: 80-90% done by their P85 date; P50 bias above 0: done later than the P50 date',
  );
  const pct = (x: RegisterRow[string] | undefined): string => (typeof x === 'number' ? `${Math.round(x * 100)}%` : '-');
  printTable(
    ctx.out,
    CALIBRATION_COLUMNS.filter((c) => c.table).map((c) => c.header),
    rows.map((r) => [
      String(r['scope']),
      String(r['basis']),
      String(r['forecasts']),
      String(r['resolved']),
      String(r['p85Hits']),
      pct(r['p85HitRate']),
      r['brier'] === null ? '-' : (r['brier'] as number).toFixed(3),
      dash(r['maeDays'] as number | null),
      dash(r['biasDays'] as number | null),
      String(r['unresolved']),
      String(r['reading']),
    ]),
  );
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

async function runBacktest(ctx: CommandContext, open: OpenForecastRuntime, format: Format): Promise<number> {
  const from = option(ctx, 'from');
  const to = option(ctx, 'to');
  if (from === undefined || to === undefined)
    return fail(ctx, 'backtest needs --from DATE and --to DATE (the week starts to forecast from)');
  for (const [k, v] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (!DAY.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))) return fail(ctx, `--${k} '${v}': expected a date YYYY-MM-DD`);
  }
  if (from > to) return fail(ctx, `--from ${from} is after --to ${to}`);
  const program = option(ctx, 'program');
  return open(async (rt) => {
    const problem = program === undefined ? undefined : unknownScope(scoped(rt), 'program', program);
    if (problem !== undefined) return fail(ctx, problem);
    let result: BacktestResult;
    try {
      result = await backtest(rt.store, rt.config, {
        from,
        to,
        now: rt.clock.date(),
        ...(program !== undefined ? { programs: [program] } : {}),
      });
    } catch (err) {
      if (err instanceof RangeError) return fail(ctx, err.message);
      throw err;
    }
    printBacktest(ctx, format, result);
    return 0;
  });
}

export const FORECAST_COMMANDS: Record<string, Command> = {
  forecast: {
    summary: 'milestone forecasts: when each open milestone will be done (P50, P85, P95) and the chance it meets its date',
    usage: [
      'usage: ptel forecast list [options] | ptel forecast show MILESTONE [what-ifs] | ptel forecast explain MILESTONE [options]',
      '       ptel forecast backtest --from DATE --to DATE [options]',
      "  list            each program's confidence (the lowest among its milestones due in the next 90 days, and the milestone",
      '                  that sets it), then each open milestone: committed date, P50, P85, P95, confidence and band, or why there is no number',
      '  show MILESTONE  one milestone (its id or name): the fan of dates, its inputs, drivers, critical path and history',
      '  explain MILESTONE  the items behind one forecast, as they stood at its run: the items done in each throughput week',
      '                  (with its date range and value), the open items left (title, status, points, blockers), the items',
      '                  added or removed since the commit point, and the blockers with their finish as used',
      '  backtest        forecast every milestone again as of each past Monday with what was known then, score the forecasts',
      '                  against what happened (done by P85, Brier score, P50 error) per org, program and throughput basis, and store it',
      'options:',
      '  --program ID      list (or backtest) only this program',
      '  --team ID         list only this team',
      '  --as-of INSTANT   the forecasts of the latest run by then (ISO 8601: 2026-11-30 or 2026-11-30T17:00:00Z); explain: by now if not given',
      '  --compute         list: forecast every open milestone as of --as-of (else now) instead of reading a stored run; nothing is stored',
      '  --format FORMAT   list or backtest as table (default), json (one document), csv, or jsonl (one row per line); explain as table, json or csv',
      '  --from DATE       backtest: the first day whose Monday is a week start (2026-01-05)',
      '  --to DATE         backtest: the last day whose Monday is a week start (both included; only Mondays before now)',
      'what-ifs on show, forecast beside the current one and written nowhere:',
      '  --scope-change PCT   remaining scope changed by a percentage (--scope-change=-20% for a fifth less)',
      '  --throughput FACTOR  weekly throughput times a factor, e.g. x1.2',
      '  --resolve BLOCKER    a blocker resolved on a date, as KEY@DATE (PAY-12@2026-05-01); may be repeated',
      "  --add-team TEAM      another team's weekly throughput added to the milestone's",
      '  --commit DATE        a new committed date (2026-06-30)',
    ].join('\n'),
    options: {
      program: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      team: { type: 'string' },
      'as-of': { type: 'string' },
      compute: { type: 'boolean' },
      format: { type: 'string' },
      'scope-change': { type: 'string' },
      throughput: { type: 'string' },
      resolve: { type: 'string', multiple: true },
      'add-team': { type: 'string' },
      commit: { type: 'string' },
    },
    positionals: true,
    run: (ctx) => runForecast(ctx),
  },
};
