import { statusHtml } from './html.js';
import { statusMarkdown } from './markdown.js';
import { portfolioHtml } from './portfolio-html.js';
import { portfolioMarkdown } from './portfolio-markdown.js';
import { portfolioSlack } from './portfolio-slack.js';
import type { PortfolioReport } from './portfolio.js';
import { statusSlack } from './slack.js';
import type { StatusReport } from './status.js';

/** The forms a report is given in: Markdown, email-ready HTML, a Slack Block Kit payload (JSON), or the report itself as JSON. */
export const REPORT_FORMATS = ['md', 'html', 'slack', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

/** A program's weekly status in a form. */
export function renderStatus(report: StatusReport, format: ReportFormat): string {
  switch (format) {
    case 'md':
      return statusMarkdown(report);
    case 'html':
      return statusHtml(report);
    case 'slack':
      return json(statusSlack(report));
    case 'json':
      return json(report);
  }
}

/** The portfolio view in a form. */
export function renderPortfolio(report: PortfolioReport, format: ReportFormat): string {
  switch (format) {
    case 'md':
      return portfolioMarkdown(report);
    case 'html':
      return portfolioHtml(report);
    case 'slack':
      return json(portfolioSlack(report));
    case 'json':
      return json(report);
  }
}

/** The files a report is written as under the export folder, one per form. */
export const REPORT_FILES: Record<ReportFormat, string> = {
  md: 'report.md',
  html: 'report.html',
  json: 'report.json',
  slack: 'slack.json',
};

export function reportFiles(render: (format: ReportFormat) => string): Record<string, string> {
  return Object.fromEntries(REPORT_FORMATS.map((f) => [REPORT_FILES[f], render(f)]));
}
