import type { ReportRuntime } from '../app/jobs.js';
import {
  portfolioReportOf,
  renderPortfolio,
  renderStatusReport,
  REPORT_FORMATS,
  sendReportsOf,
  statusReportOf,
  type ReportFormat,
} from '../app/status-report.js';
import type { DeliveryResult } from '../workers/reports/delivery.js';
import { withStore, type Command, type CommandContext } from './command.js';
import { parseInstant } from './output.js';

const FORMATS = REPORT_FORMATS;

/** Opens what the command reads, runs `fn` on it and closes it (a runtime on the config's store, by default). */
export type OpenStatusReportRuntime = (fn: (rt: ReportRuntime) => Promise<number>) => Promise<number>;

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
  const resend = ctx.values['resend'] === true;
  if (ctx.values['send'] === true || resend) return send(ctx, open, { program, portfolio, resend });
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

/** One line per report and target: written, sent, failed, or left alone because it was sent already. */
function deliveryLines(r: DeliveryResult): string[] {
  const lines = [`week ${r.week}:`];
  for (const s of r.scopes) {
    const what = s.report === 'portfolio' ? 'portfolio' : s.scope;
    for (const o of s.outcomes) {
      const done = o.target === 'files' ? `written to ${o.detail}` : `sent to ${o.target} (${o.type}, HTTP ${o.detail})`;
      lines.push(`  ${what}: ${o.ok ? done : `${o.target === 'files' ? 'not written' : `not sent to ${o.target}`}: ${o.error ?? ''}`}`);
    }
    const sent = s.skipped.filter((k) => k.why === 'sent').map((k) => k.target);
    if (sent.length > 0) lines.push(`  ${what}: sent before to ${sent.join(', ')}; --resend sends again`);
    const gaveUp = s.skipped.filter((k) => k.why === 'gave_up').map((k) => k.target);
    if (gaveUp.length > 0) lines.push(`  ${what}: ${gaveUp.join(', ')} failed every attempt this week; --resend tries again`);
  }
  if (r.unknownPrograms.length > 0)
    lines.push(`  reports.status.programs names programs the organisation does not have: ${r.unknownPrograms.join(', ')}`);
  return lines;
}

/** --send / --resend: writes and sends the week's reports now, and says what went where; 1 when a delivery failed. */
async function send(
  ctx: CommandContext,
  open: OpenStatusReportRuntime,
  what: { program: string | undefined; portfolio: boolean; resend: boolean },
): Promise<number> {
  for (const name of ['format', 'as-of'])
    if (ctx.values[name] !== undefined)
      return fail(ctx, `--${name} does not go with --send: a delivery writes every format and reads the store as it is now`);
  const week = option(ctx, 'week');
  return open(async (rt) => {
    const r = await sendReportsOf(rt, {
      ...(what.program !== undefined ? { program: what.program } : {}),
      ...(what.portfolio ? { portfolio: true } : {}),
      ...(week !== undefined ? { week } : {}),
      ...(what.resend ? { resend: true } : {}),
    });
    if ('problem' in r) return fail(ctx, r.problem);
    ctx.out.write(`${deliveryLines(r).join('\n')}\n`);
    return r.scopes.some((s) => s.outcomes.some((o) => !o.ok)) ? 1 : 0;
  });
}

export const STATUS_REPORT_COMMANDS: Record<string, Command> = {
  'status-report': {
    summary:
      "a program's weekly status, drafted from the data: summary, accomplishments, milestones, risks, decisions, metrics; or every program's side by side",
    usage: [
      'usage: ptel status-report --program ID [--week YYYY-Www] [--as-of INSTANT] [--format md|html|slack|json]',
      '       ptel status-report --portfolio [--week YYYY-Www] [--as-of INSTANT] [--format md|html|slack|json]',
      '       ptel status-report --send [--program ID | --portfolio] [--week YYYY-Www] [--resend]',
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
      "  --send            write the week's reports under the export folder (status/<week>/) and send them to their",
      '                    channels now, as the schedule does (reports.status): every program and the portfolio, or',
      '                    the one named; a report already sent to a channel is not sent again',
      '  --resend          --send, and send again where it was sent already',
    ].join('\n'),
    options: {
      program: { type: 'string' },
      portfolio: { type: 'boolean' },
      week: { type: 'string' },
      'as-of': { type: 'string' },
      format: { type: 'string' },
      send: { type: 'boolean' },
      resend: { type: 'boolean' },
    },
    positionals: true,
    run: (ctx) => runStatusReport(ctx),
  },
};
