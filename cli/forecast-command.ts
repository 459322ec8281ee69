import { unknownScope } from '../app/registers.js';
import type { Organisation } from '../app/organisation.js';
import type { Runtime } from '../app/runtime.js';
import { registerCsv } from '../workers/export/register-csv.js';
import { forecastWhatIf } from '../workers/forecast/engine.js';
import { readTeamThroughput } from '../workers/forecast/inputs.js';
import { forecastHistory, forecastSettings, planForecasts, readForecasts, type StoredForecast } from '../workers/forecast/job.js';
import type { Forecast, ForecastInputs, WhatIf } from '../workers/forecast/types.js';
import { metricParams } from '../workers/metrics/engine.js';
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
): void {
  const rows = result.forecasts.map(listRow);
  if (format === 'json') {
    ctx.out.write(`${JSON.stringify({ runAt: result.runAt, columns: COLUMNS.map((c) => c.key), rows }, null, 2)}\n`);
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
  for (const b of i.blockers) {
    const finish =
      b.finishWeeks.length === 1
        ? `${short(b.finishWeeks[0]!)} weeks`
        : `its milestone's forecast (median ${short([...b.finishWeeks].sort((x, y) => x - y)[Math.floor(b.finishWeeks.length / 2)]!)} weeks)`;
    lines.push(
      `blocker ${b.blocker} (${b.blockerTeam || 'no team'}) "${b.blockerTitle}" holds ${b.blocked.join(', ')}; finishes in ${finish}; idle ${b.idleBusinessDays} business days`,
    );
  }
  return lines;
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

async function show(ctx: CommandContext, rt: ForecastRuntime, name: string, asOf: Date | undefined): Promise<number> {
  const parsed = whatIfOf(ctx);
  if (typeof parsed === 'string') return fail(ctx, parsed);
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
  const f = forecasts[0]!;
  const key = `${f.source}:${f.milestoneId}`;
  const out = (s: string): boolean => ctx.out.write(`${s}\n`);
  out(`${f.name} (${key}), program ${dash(f.program)}, team ${dash(f.team)}; forecast of ${when(f.runAt)}`);
  out(`  ${fanLine(f)}`);
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
      params: metricParams(rt.config.model, rt.config.metrics),
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

/** `ptel forecast list|show`. */
export async function runForecast(ctx: CommandContext, open: OpenForecastRuntime = (fn) => withStore(ctx.config, fn)): Promise<number> {
  const sub = ctx.positionals[0];
  if (sub !== 'list' && sub !== 'show')
    return fail(ctx, `${sub === undefined ? 'list or show?' : `no subcommand '${sub}';`} use list or show MILESTONE`);
  const format = (option(ctx, 'format') ?? 'table') as Format;
  if (!FORMATS.includes(format)) return fail(ctx, `--format '${format}': expected ${FORMATS.join(', ')}`);
  const asOf = parseInstant(ctx, 'as-of', 'ptel forecast');
  if (asOf === null) return 2;
  const program = option(ctx, 'program');
  const team = option(ctx, 'team');
  if (sub === 'show') {
    const name = ctx.positionals.slice(1).join(' ');
    if (name === '') return fail(ctx, 'show which milestone? give its id (jira:version/10001) or its name');
    return open((rt) => show(ctx, rt, name, asOf));
  }
  return open(async (rt) => {
    for (const [kind, n] of [
      ['program', program],
      ['team', team],
    ] as const) {
      const problem = n === undefined ? undefined : unknownScope(scoped(rt), kind, n);
      if (problem !== undefined) return fail(ctx, problem);
    }
    const result = await readForecasts(rt.store, {
      ...(asOf !== undefined ? { asOf } : {}),
      ...(program !== undefined ? { program } : {}),
      ...(team !== undefined ? { team } : {}),
    });
    printForecasts(ctx, format, result);
    return 0;
  });
}

export const FORECAST_COMMANDS: Record<string, Command> = {
  forecast: {
    summary: 'milestone forecasts: when each open milestone will be done (P50, P85, P95) and the chance it meets its date',
    usage: [
      'usage: ptel forecast list [options] | ptel forecast show MILESTONE [what-ifs]',
      '  list            each open milestone: committed date, P50, P85, P95, confidence and band, or why there is no number',
      '  show MILESTONE  one milestone (its id or name): the fan of dates, its inputs, drivers, critical path and history',
      'options:',
      '  --program ID      list only this program',
      '  --team ID         list only this team',
      '  --as-of INSTANT   the forecasts of the latest run by then (ISO 8601: 2026-11-30 or 2026-11-30T17:00:00Z)',
      '  --format FORMAT   list as table (default), json (one document), csv, or jsonl (one row per line)',
      'what-ifs on show, forecast beside the current one and written nowhere:',
      '  --scope-change PCT   remaining scope changed by a percentage (--scope-change=-20% for a fifth less)',
      '  --throughput FACTOR  weekly throughput times a factor, e.g. x1.2',
      '  --resolve BLOCKER    a blocker resolved on a date, as KEY@DATE (PAY-12@2026-05-01); may be repeated',
      "  --add-team TEAM      another team's weekly throughput added to the milestone's",
      '  --commit DATE        a new committed date (2026-06-30)',
    ].join('\n'),
    options: {
      program: { type: 'string' },
      team: { type: 'string' },
      'as-of': { type: 'string' },
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
