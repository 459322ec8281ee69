import { portfolioReportOf, renderPortfolio, renderStatusReport, statusReportOf, type StatusReportRuntime } from '../app/status-report.js';
import { withStore, type Command, type CommandContext } from './command.js';
import { parseInstant } from './output.js';

const FORMATS = ['md', 'html', 'slack', 'json'] as const;
type ReportFormat = (typeof FORMATS)[number];

/** Opens what the command reads, runs `fn` on it and closes it (a runtime on the config's store, by default). */
export type OpenStatusReportRuntime = (fn: (rt: StatusReportRuntime) => Promise<number>) => Promise<number>;

function fail(ctx: CommandContext, message: string): number {
  ctx.err.write(`ptel status-report: ${message}\n`);
  return 2;
}

const option = (ctx: CommandContext, name: string): string | undefined => {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
};

/** Parses the options, asks app/ for the report and prints it; 2 with a message for a question it cannot answer. */
export async function runStatusReport(
  ctx: CommandContext,
  open: OpenStatusReportRuntime = (fn) => withStore(ctx.config, fn),
): Promise<number> {
  if (ctx.positionals.length > 0) return fail(ctx, `unexpected '${ctx.positionals[0] ?? ''}'; the program is given with --program ID`);
  const program = option(ctx, 'program');
  const portfolio = ctx.values['portfolio'] === true;
  if (portfolio && program !== undefined)
    return fail(ctx, '--portfolio and --program together: give --program ID for one program, or --portfolio for all of them');
  if (!portfolio && (program === undefined || program === ''))
    return fail(ctx, 'which program? give --program ID (ptel scopes lists them), or --portfolio for all of them');
  const format = (option(ctx, 'format') ?? 'md') as ReportFormat;
  if (!FORMATS.includes(format)) return fail(ctx, `--format '${format}': expected ${FORMATS.join(' or ')}`);
  const asOf = parseInstant(ctx, 'as-of', 'ptel status-report');
  if (asOf === null) return 2;
  const week = option(ctx, 'week');
  const when = { ...(week !== undefined ? { week } : {}), ...(asOf !== undefined ? { asOf } : {}) };
  if (portfolio)
    return open(async (rt) => {
      const view = await portfolioReportOf(rt, when);
      if ('problem' in view) return fail(ctx, view.problem);
      ctx.out.write(renderPortfolio(view, format));
      return 0;
    });
  return open(async (rt) => {
    const report = await statusReportOf(rt, { program: program ?? '', ...when });
    if ('problem' in report) return fail(ctx, report.problem);
    ctx.out.write(renderStatusReport(report, format));
    return 0;
  });
}

export const STATUS_REPORT_COMMANDS: Record<string, Command> = {
  'status-report': {
    summary:
      "a program's weekly status, drafted from the data: summary, accomplishments, milestones, risks, decisions, metrics; or every program's side by side",
    usage: [
      'usage: ptel status-report --program ID [--week YYYY-Www] [--as-of INSTANT] [--format md|html|slack|json]',
      '       ptel status-report --portfolio [--week YYYY-Www] [--as-of INSTANT] [--format md|html|slack|json]',
      '  Six sections, every sentence made by rules from the store and every item linked to its source or to the',
      '  ptel command behind its number (docs/status-report.md). --portfolio puts every program side by side:',
      '  status, confidence, milestones at risk, decisions and high risks; the blocking links between programs;',
      '  the top risks of the portfolio.',
      'options:',
      '  --program ID      the program (this or --portfolio)',
      '  --portfolio       every program of the organisation, for the same week and instant',
      '  --week YYYY-Www   the ISO week, Monday to Sunday in metrics.timeZone (default the last whole week)',
      '  --as-of INSTANT   read the store as it stood then (ISO 8601: 2026-11-02 or 2026-11-02T08:00:00Z)',
      '  --format FORMAT   md (Markdown, default), html (email-ready, inline styles), slack (a Block Kit message',
      "                    as JSON, within Slack's limits) or json (the report as data)",
    ].join('\n'),
    options: {
      program: { type: 'string' },
      portfolio: { type: 'boolean' },
      week: { type: 'string' },
      'as-of': { type: 'string' },
      format: { type: 'string' },
    },
    positionals: true,
    run: (ctx) => runStatusReport(ctx),
  },
};
