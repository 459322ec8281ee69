import { statusHtml } from '../workers/reports/html.js';
import { statusMarkdown } from '../workers/reports/markdown.js';
import { statusSlack } from '../workers/reports/slack.js';
import { instantText, statusReport, type StatusReport } from '../workers/reports/status.js';
import { lastWholeWeek, parseIsoWeek, reportWeek } from '../workers/reports/week.js';
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

/** The weekly status report of a program, or what is wrong with the question (an unknown program, a malformed or future week). */
export async function statusReportOf(rt: StatusReportRuntime, query: StatusReportQuery): Promise<StatusReport | { problem: string }> {
  const problem = unknownScope({ organisation: rt.organisation as Runtime['organisation'] }, 'program', query.program);
  if (problem !== undefined) return { problem };
  const tz = rt.config.metrics.timeZone;
  const until = query.asOf ?? rt.clock.date();
  let week = lastWholeWeek(until, tz);
  if (query.week !== undefined) {
    const parsed = parseIsoWeek(query.week);
    if ('problem' in parsed) return { problem: `--week ${parsed.problem}` };
    week = reportWeek(parsed.monday, tz);
    if (week.from.getTime() >= until.getTime())
      return { problem: `--week ${query.week} starts ${week.first}, after ${instantText(until)}: a report covers a week that has begun` };
  }
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
