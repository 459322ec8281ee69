import { statusHtml } from '../workers/reports/html.js';
import { statusMarkdown } from '../workers/reports/markdown.js';
import { portfolioHtml } from '../workers/reports/portfolio-html.js';
import { portfolioMarkdown } from '../workers/reports/portfolio-markdown.js';
import { portfolioSlack } from '../workers/reports/portfolio-slack.js';
import { portfolioReport, type PortfolioReport } from '../workers/reports/portfolio.js';
import { statusSlack } from '../workers/reports/slack.js';
import { instantText, statusReport, type StatusReport } from '../workers/reports/status.js';
import { lastWholeWeek, parseIsoWeek, reportWeek, type ReportWeek } from '../workers/reports/week.js';
import { unknownScope } from './registers.js';
import type { Runtime } from './runtime.js';

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
    config: { model: rt.config.model, metrics: rt.config.metrics, org: rt.organisation.org },
    program: query.program,
    week,
    until,
  });
}

/** A report in a format: Markdown, email-ready HTML, a Slack Block Kit payload (JSON), or the StatusReport itself as JSON. */
export function renderStatusReport(report: StatusReport, format: 'md' | 'html' | 'slack' | 'json'): string {
  if (format === 'html') return statusHtml(report);
  if (format === 'slack') return `${JSON.stringify(statusSlack(report), null, 2)}\n`;
  return format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : statusMarkdown(report);
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
    config: { model: rt.config.model, metrics: rt.config.metrics, org: rt.organisation.org },
    week: when.week,
    until: when.until,
  });
}

/** The portfolio in a format: Markdown, email-ready HTML, a Slack Block Kit payload (JSON), or the PortfolioReport itself as JSON. */
export function renderPortfolio(report: PortfolioReport, format: 'md' | 'html' | 'slack' | 'json'): string {
  if (format === 'html') return portfolioHtml(report);
  if (format === 'slack') return `${JSON.stringify(portfolioSlack(report), null, 2)}\n`;
  return format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : portfolioMarkdown(report);
}
