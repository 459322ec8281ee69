import { registerNow, unknownScope } from '../app/registers.js';
import { registerCsv } from '../workers/export/register-csv.js';
import { dependencyMatrix, type DependencyMatrix } from '../workers/registers/dependencies.js';
import { REGISTER_IDS, registerById } from '../workers/registers/index.js';
import type { RegisterColumn, RegisterResult, RegisterRow } from '../workers/registers/types.js';
import { withStore, type Command, type CommandContext } from './command.js';
import { parseInstant, printTable } from './output.js';

const FORMATS = ['table', 'json', 'csv', 'jsonl'] as const;
export type Format = (typeof FORMATS)[number];

/** Longest title a table shows; JSON and CSV carry the whole of it. */
const TITLE_WIDTH = 42;

function fail(ctx: CommandContext, message: string): number {
  ctx.err.write(`ptel list: ${message}\n`);
  return 2;
}

const option = (ctx: CommandContext, name: string): string | undefined => {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
};

/** A cell of the terminal table. */
function cell(c: RegisterColumn, v: RegisterRow[string] | undefined): string {
  if (v === null || v === undefined || v === '') return c.kind === 'flag' ? '' : '-';
  if (c.kind === 'flag') return v === true ? 'yes' : '';
  if (Array.isArray(v)) return v.join(', ');
  if (c.kind === 'days' || c.kind === 'hours') return Number(v).toFixed(1);
  if (c.kind === 'probability') return Number(v).toFixed(2);
  // One line per row: a line break in a title or a reason reads as a space.
  const s = String(v).replace(/\s+/g, ' ');
  return c.kind === 'title' && s.length > TITLE_WIDTH ? `${s.slice(0, TITLE_WIDTH - 1)}…` : s;
}

const header = (c: RegisterColumn): string => (c.kind === 'days' ? `${c.header} (d)` : c.kind === 'hours' ? `${c.header} (h)` : c.header);

function printMatrix(out: NodeJS.WritableStream, m: DependencyMatrix): void {
  out.write(`open blocking links (stalled in brackets), ${m.by} of the blocker down, ${m.by} of the blocked item across:\n`);
  printTable(
    out,
    [`blocker \\ blocked`, ...m.blocked],
    m.blockers.map((b) => [
      b,
      ...m.blocked.map((d) => {
        const c = m.cells[b]?.[d];
        return c === undefined ? '' : c.stalled > 0 ? `${c.open} (${c.stalled})` : String(c.open);
      }),
    ]),
  );
}

/** Writes a register in a format: a table with its summary first, one JSON document, CSV, or JSON lines. */
export function printRegister(
  ctx: Pick<CommandContext, 'out'>,
  format: Format,
  r: RegisterResult,
  matrix: DependencyMatrix | undefined,
): void {
  if (format === 'json') {
    ctx.out.write(
      `${JSON.stringify({ ...r, columns: r.columns.map((c) => c.key), ...(matrix !== undefined ? { matrix } : {}) }, null, 2)}\n`,
    );
    return;
  }
  if (format === 'jsonl') {
    for (const row of r.rows) ctx.out.write(`${JSON.stringify(row)}\n`);
    return;
  }
  if (format === 'csv') {
    ctx.out.write(registerCsv(r.columns, r.rows));
    return;
  }
  const scope = [r.program !== null ? `program ${r.program}` : '', r.team !== null ? `team ${r.team}` : '']
    .filter((s) => s !== '')
    .join(', ');
  ctx.out.write(`${r.title} as of ${r.asOf.slice(0, 16).replace('T', ' ')} UTC${scope !== '' ? `, ${scope}` : ''}\n`);
  for (const line of r.summary) ctx.out.write(`  ${line}\n`);
  if (matrix !== undefined) {
    printMatrix(ctx.out, matrix);
    return;
  }
  if (r.rows.length === 0) {
    ctx.out.write('  (nothing to list)\n');
    return;
  }
  const shown = r.columns.filter((c) => c.table);
  printTable(
    ctx.out,
    shown.map(header),
    r.rows.map((row) => shown.map((c) => cell(c, row[c.key]))),
  );
  ctx.out.write(
    `--format json or csv adds ${r.columns
      .filter((c) => !c.table)
      .map((c) => c.header)
      .join(', ')}\n`,
  );
}

export const LIST_COMMANDS: Record<string, Command> = {
  list: {
    summary: 'the registers a program is run from: milestones, risks, decisions, actions, dependencies',
    usage: [
      `usage: ptel list ${REGISTER_IDS.join('|')} [options]`,
      '  milestones     open and recently finished milestones by risk: overdue, slipped, stalled, on plan',
      '  risks          open risks by severity, unowned first; risks raised and closed recently',
      '  decisions      open decisions against their target (overdue first); decisions made recently',
      '  actions        open action items (overdue first); closure by due date',
      '  dependencies   open blocking links with both items, stalled and cross-program first',
      'options:',
      '  --program ID      only this program (dependencies: either item in it)',
      '  --team ID         only this team (dependencies: either item in it)',
      '  --as-of INSTANT   the register as it stood then (ISO 8601: 2026-11-30 or 2026-11-30T17:00:00Z)',
      '  --days N          list items finished, decided or closed within N days (default metrics.registerRecentDays, 30)',
      '  --changed         only the rows that changed within the window: with --days 7, what changed since last week',
      '  --by team|program dependencies only: a matrix of open (stalled) links between teams or programs',
      '  --format FORMAT   table (default), json (one document), csv, or jsonl (one row per line)',
    ].join('\n'),
    options: {
      program: { type: 'string' },
      team: { type: 'string' },
      'as-of': { type: 'string' },
      days: { type: 'string' },
      by: { type: 'string' },
      changed: { type: 'boolean' },
      format: { type: 'string' },
    },
    positionals: true,
    async run(ctx) {
      const id = ctx.positionals[0];
      const definition = id === undefined ? undefined : registerById(id);
      if (definition === undefined)
        return fail(ctx, `${id === undefined ? 'which register?' : `no register '${id}';`} use one of ${REGISTER_IDS.join(', ')}`);
      if (ctx.positionals.length > 1) return fail(ctx, `one register at a time; unexpected '${ctx.positionals[1] ?? ''}'`);
      const format = (option(ctx, 'format') ?? 'table') as Format;
      if (!FORMATS.includes(format)) return fail(ctx, `--format '${format}': expected ${FORMATS.join(', ')}`);
      const by = option(ctx, 'by');
      if (by !== undefined && (definition.id !== 'dependencies' || (by !== 'team' && by !== 'program')))
        return fail(ctx, `--by '${by}': only dependencies have a matrix, by team or program`);
      const daysText = option(ctx, 'days');
      const days = daysText === undefined ? undefined : Number(daysText);
      if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > 3660))
        return fail(ctx, `--days '${daysText ?? ''}': expected a whole number of days, 1 or more`);
      const asOf = parseInstant(ctx, 'as-of', 'ptel list');
      if (asOf === null) return 2;
      const program = option(ctx, 'program');
      const team = option(ctx, 'team');
      return withStore(ctx.config, async (rt) => {
        for (const [kind, name] of [
          ['program', program],
          ['team', team],
        ] as const) {
          const problem = name === undefined ? undefined : unknownScope(rt, kind, name);
          if (problem !== undefined) return fail(ctx, problem);
        }
        const result = await registerNow(rt, definition, {
          ...(asOf !== undefined ? { asOf } : {}),
          ...(program !== undefined ? { program } : {}),
          ...(team !== undefined ? { team } : {}),
          ...(days !== undefined ? { recentDays: days } : {}),
          ...(ctx.values['changed'] === true ? { changedOnly: true } : {}),
        });
        printRegister(ctx, format, result, by === 'team' || by === 'program' ? dependencyMatrix(result.rows, by) : undefined);
        return 0;
      });
    },
  },
};
