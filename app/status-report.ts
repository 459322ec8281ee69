import { portfolioReport, type PortfolioReport } from '../workers/reports/portfolio.js';
import { instantText, statusReport, type StatusReport } from '../workers/reports/status.js';
import type { DeliveryResult } from '../workers/reports/delivery.js';
import { lastWholeWeek, parseIsoWeek, reportWeek, type ReportWeek } from '../workers/reports/week.js';
import { scopedConfig, statusReportsNow, type ReportRuntime } from './jobs.js';
import { unknownScope } from './registers.js';
import type { Runtime } from './runtime.js';

export { renderPortfolio, renderStatus as renderStatusReport, REPORT_FORMATS, type ReportFormat } from '../workers/reports/render.js';

export interface StatusReportQuery {
  program: string;
  /** An ISO week 'YYYY-Www'; default the last whole week before the instant. */
  week?: string;
  /** Read the store as of this instant; default the clock's now. */
  asOf?: Date;
}

export type StatusReportRuntime = Pick<Runtime, 'store' | 'config' | 'clock'> & { organisation: Pick<Runtime['organisation'], 'org'> };

/**
 * The week a report covers and the latest instant it may read, or what is wrong with the week asked for:
 * the last whole week before the as-of instant (else now) by default.
 */
function weekOf(
  rt: StatusReportRuntime,
  query: Omit<StatusReportQuery, 'program'>,
): { week: ReportWeek; until: Date } | { problem: string } {
  const tz = rt.config.metrics.timeZone;
  const until = query.asOf ?? rt.clock.date();
  if (query.week === undefined) return { week: lastWholeWeek(until, tz), until };
  const parsed = parseIsoWeek(query.week);
  if ('problem' in parsed) return { problem: `--week ${parsed.problem}` };
  const week = reportWeek(parsed.monday, tz);
  if (week.from.getTime() >= until.getTime())
    return { problem: `--week ${query.week} starts ${week.first}, after ${instantText(until)}: a report covers a week that has begun` };
  return { week, until };
}

/** The weekly status report of a program, or what is wrong with the question (an unknown program, a malformed or future week). */
export async function statusReportOf(rt: StatusReportRuntime, query: StatusReportQuery): Promise<StatusReport | { problem: string }> {
  const problem = unknownScope({ organisation: rt.organisation as Runtime['organisation'] }, 'program', query.program);
  if (problem !== undefined) return { problem };
  const when = weekOf(rt, query);
  if ('problem' in when) return when;
  const { week, until } = when;
  return statusReport({
    store: rt.store,
    config: scopedConfig(rt),
    program: query.program,
    week,
    until,
  });
}

/** The portfolio view of every program for a week, or what is wrong with the week asked for (malformed, or not begun). */
export async function portfolioReportOf(
  rt: StatusReportRuntime,
  query: Omit<StatusReportQuery, 'program'>,
): Promise<PortfolioReport | { problem: string }> {
  const when = weekOf(rt, query);
  if ('problem' in when) return when;
  return portfolioReport({
    store: rt.store,
    config: scopedConfig(rt),
    week: when.week,
    until: when.until,
  });
}

export interface SendQuery {
  /** One program's report; default every program's (reports.status.programs, else all) and the portfolio. */
  program?: string;
  /** The portfolio view alone. */
  portfolio?: boolean;
  /** An ISO week 'YYYY-Www'; default the last whole week. */
  week?: string;
  /** Send again where it was sent already. */
  resend?: boolean;
}

/**
 * Writes and sends a week's reports now, as the schedule would: to the export folder and the channels not
 * yet sent to, or to all of them again with `resend`. Recorded as a run of `status-reports`.
 */
export async function sendReportsOf(rt: ReportRuntime, query: SendQuery): Promise<DeliveryResult | { problem: string }> {
  if (query.program !== undefined) {
    const problem = unknownScope({ organisation: rt.organisation as Runtime['organisation'] }, 'program', query.program);
    if (problem !== undefined) return { problem };
  }
  const when = weekOf(rt, query.week !== undefined ? { week: query.week } : {});
  if ('problem' in when) return when;
  return statusReportsNow(rt, {
    week: when.week,
    ...(query.program !== undefined ? { programs: [query.program], portfolio: false } : {}),
    ...(query.portfolio === true ? { programs: [], portfolio: true } : {}),
    ...(query.resend === true ? { resend: true } : {}),
  });
}
