import { createHash } from 'node:crypto';
import path from 'node:path';
import { systemClock, type Clock } from '../../infra/clock.js';
import type { Config } from '../../infra/config/schema.js';
import { writeFolder } from '../../infra/files.js';
import { SourceError } from '../../infra/http-retry.js';
import type { Logger } from '../../infra/observability/logger.js';
import { previousCronTime } from '../../infra/scheduler/types.js';
import type { Store } from '../../infra/store/client.js';
import type { Notifier, ReportMessage } from '../alerts/channels.js';
import { programChannels } from '../alerts/routing.js';
import { exportRoot } from '../export/export.js';
import { statusSlack } from './slack.js';
import { portfolioSlack } from './portfolio-slack.js';
import { portfolioReport, type PortfolioReport } from './portfolio.js';
import { renderPortfolio, renderStatus, reportFiles } from './render.js';
import { instantText, statusReport, type StatusReport } from './status.js';
import { lastWholeWeek, type ReportWeek } from './week.js';

/**
 * The weekly reports on schedule: each program's status report of the week due, and the portfolio view
 * of every program, written under the export folder (md, html, json and the Slack payload) and sent to
 * their channels (a program's routed channels, the portfolio channels): Slack gets the Block Kit message,
 * a webhook the signed JSON with the report, its Markdown and its email-ready HTML. Every delivery, to the
 * folder or to a channel, is recorded in report_deliveries: a report sent to a target for a week is not
 * sent to it again (across restarts and processes), a target that failed is tried again on the next run
 * (up to MAX_FAILED_ATTEMPTS times), and a resend is asked for by name.
 */

export type DeliverySettings = Pick<Config, 'model' | 'metrics' | 'org' | 'export' | 'dataDir' | 'configPath' | 'alerts' | 'reports'>;

/** Failed attempts after which a target is left alone for the week (a resend still sends). */
export const MAX_FAILED_ATTEMPTS = 8;

export type ReportKind = 'status' | 'portfolio';

/** The webhook event of each report: a program's weekly status, the portfolio view. */
export const EVENTS: Record<ReportKind, string> = { status: 'status_report.weekly', portfolio: 'portfolio_report.weekly' };
export const STATUS_EVENT = EVENTS.status;

/** The folder of the portfolio beside the programs' (no program id can have a leading dot or be this). */
export const PORTFOLIO_FOLDER = '_portfolio';

/** Where a week's reports are written: <export folder>/status/<YYYY-Www>/<program>/, the portfolio in PORTFOLIO_FOLDER. */
export const reportFolder = (config: Pick<Config, 'export' | 'dataDir' | 'configPath'>, week: string, scope: string): string =>
  path.join(exportRoot(config), 'status', week, scope);

export interface TargetOutcome {
  /** 'files', or the channel's id. */
  target: string;
  type: 'files' | 'slack' | 'webhook';
  ok: boolean;
  /** The folder written, or the HTTP status of the accepted delivery. */
  detail: string;
  error?: string;
}

export interface ScopeDelivery {
  report: ReportKind;
  /** The program's id; '' for the portfolio. */
  scope: string;
  /** Each target the report was owed to this run; empty when it had gone to every target already. */
  outcomes: TargetOutcome[];
  /** Targets left alone: already sent, or failed MAX_FAILED_ATTEMPTS times this week. */
  skipped: Array<{ target: string; why: 'sent' | 'gave_up' }>;
}

export interface DeliveryResult {
  week: string;
  /** The instant the report fell due (the cron's latest firing), or the instant asked for. */
  dueAt: string;
  scopes: ScopeDelivery[];
  /** Programs named in reports.status.programs that the organisation does not have. */
  unknownPrograms: string[];
}

export interface DeliveryOptions {
  store: Store;
  config: DeliverySettings;
  notifiers: ReadonlyMap<string, Notifier>;
  clock?: Clock;
  logger?: Logger;
  /** The week to deliver; default the week due: the last whole week before the cron's latest firing. */
  week?: ReportWeek;
  /** The programs; default reports.status.programs, or every program of the organisation. */
  programs?: string[];
  /** Deliver the portfolio view too; default when no programs are named. */
  portfolio?: boolean;
  /** Send again to every target, even those it went to already. */
  resend?: boolean;
}

/** The week the schedule owes at `now`: the last whole ISO week before the cron's latest firing. */
export function dueWeek(config: Pick<Config, 'metrics' | 'reports'>, now: Date): { week: ReportWeek; dueAt: Date } {
  const dueAt = previousCronTime(config.reports.status.cron, config.metrics.timeZone, now);
  return { week: lastWholeWeek(dueAt, config.metrics.timeZone), dueAt };
}

interface TargetHistory {
  sent: number;
  failed: number;
}

/** What each report, scope and target of a week has had: sends and failures, keyed report\u0000scope\u0000target. */
async function history(store: Store, week: string): Promise<Map<string, TargetHistory>> {
  const rs = await store.client.query({
    query: `SELECT report, scope, target, countIf(status = 'sent') AS sent, countIf(status = 'failed') AS failed
            FROM report_deliveries WHERE week = {week:String}
            GROUP BY report, scope, target`,
    query_params: { week },
    format: 'JSONEachRow',
  });
  const out = new Map<string, TargetHistory>();
  for (const r of await rs.json<{ report: string; scope: string; target: string; sent: string; failed: string }>()) {
    out.set(`${r.report}\u0000${r.scope}\u0000${r.target}`, { sent: Number(r.sent), failed: Number(r.failed) });
  }
  return out;
}

interface DeliveryRow {
  report: string;
  scope: string;
  week: string;
  target: string;
  target_type: string;
  delivery_id: string;
  sent_at: string;
  status: 'sent' | 'failed';
  http_status: number;
  resend: number;
  error: string;
}

async function record(store: Store, row: DeliveryRow): Promise<void> {
  await store.client.insert({ table: 'report_deliveries', values: [row], format: 'JSONEachRow' });
}

/** One id per report, week, scope and target, so a receiver can tell a retry from a new report; a resend gets a new one. */
function deliveryId(report: string, week: string, scope: string, target: string, resentAt: Date | undefined): string {
  const basis = [report, week, scope, target, resentAt === undefined ? '' : resentAt.toISOString()].join('/');
  return createHash('sha256').update(basis).digest('hex').slice(0, 32);
}

/** A report in every form it is delivered in: the files written, and what a channel is sent. */
interface Rendered {
  files: Record<string, string>;
  slack: ReportMessage['slack'];
  /** The webhook body's own fields (what the report is about, its summary), besides the forms. */
  about: Record<string, unknown>;
  report: unknown;
}

/** A program's report in every form. */
export function renderedStatus(report: StatusReport): Rendered {
  return {
    files: reportFiles((f) => renderStatus(report, f)),
    slack: statusSlack(report),
    about: { program: report.program, week: report.week, summary: report.summary.text },
    report,
  };
}

/** The portfolio in every form. */
export function renderedPortfolio(report: PortfolioReport): Rendered {
  const slack = portfolioSlack(report);
  return {
    files: reportFiles((f) => renderPortfolio(report, f)),
    slack,
    about: { week: report.week, summary: slack.text },
    report,
  };
}

/** What a channel is sent of a report: Slack's message, or the signed JSON with the report, its Markdown and its email-ready HTML. */
export function reportMessage(event: string, r: Rendered, id: string, sentAt: Date): ReportMessage {
  return {
    event,
    deliveryId: id,
    slack: r.slack,
    body: {
      event,
      delivery_id: id,
      sent_at: instantText(sentAt),
      ...r.about,
      report: r.report,
      markdown: r.files['report.md'],
      // Email-ready: inline styles, no external request; a receiver can mail it as it is.
      html: r.files['report.html'],
    },
  };
}

/** One report to deliver for the week: which, about what, to which targets, made only when owed. */
interface Deliverable {
  report: ReportKind;
  scope: string;
  targets: string[];
  render(): Promise<Rendered>;
}

/**
 * Writes and sends the reports owed for a week: per program, its status report to the folder and each
 * routed channel not yet sent to; then the portfolio to its folder and the portfolio channels. A report
 * that has gone everywhere costs one query, not a report.
 */
export async function deliverStatusReports(options: DeliveryOptions): Promise<DeliveryResult> {
  const { store, config, notifiers, logger } = options;
  const clock = options.clock ?? systemClock;
  const now = clock.date();
  const due = options.week !== undefined ? { week: options.week, dueAt: now } : dueWeek(config, now);
  const week = due.week;
  const known = new Set(config.org.programs.map((p) => p.id));
  const wanted = options.programs ?? (config.reports.status.programs.length > 0 ? config.reports.status.programs : [...known]);
  const unknownPrograms = wanted.filter((p) => !known.has(p));
  if (unknownPrograms.length > 0) {
    logger?.warn(
      { programs: unknownPrograms },
      'reports.status.programs names programs the organisation does not have; no report for them',
    );
  }
  // Each program's report is made once per run: for its own delivery and for the portfolio's rows.
  const made = new Map<string, Promise<StatusReport>>();
  const statusOf = (program: string): Promise<StatusReport> => {
    let report = made.get(program);
    if (report === undefined) {
      report = statusReport({ store, config, program, week, until: now });
      made.set(program, report);
    }
    return report;
  };
  const deliverables: Deliverable[] = wanted
    .filter((p) => known.has(p))
    .map((program) => ({
      report: 'status',
      scope: program,
      targets: [
        'files',
        ...programChannels(program, config.org.programs.find((p) => p.id === program)?.teams.map((t) => t.id) ?? [], config.alerts),
      ],
      render: async () => renderedStatus(await statusOf(program)),
    }));
  // The portfolio goes with a delivery of every program, not with a resend of some, unless asked for.
  if ((options.portfolio ?? options.programs === undefined) && config.org.programs.length > 0) {
    deliverables.push({
      report: 'portfolio',
      scope: '',
      targets: ['files', ...config.reports.status.portfolioChannels],
      render: async () => renderedPortfolio(await portfolioReport({ store, config, week, until: now, statusOf })),
    });
  }
  const past = await history(store, week.id);
  const result: DeliveryResult = { week: week.id, dueAt: instantText(due.dueAt), scopes: [], unknownPrograms };
  for (const d of deliverables) {
    const delivery: ScopeDelivery = { report: d.report, scope: d.scope, outcomes: [], skipped: [] };
    const owed = d.targets.filter((target) => {
      if (options.resend === true) return true;
      const h = past.get(`${d.report}\u0000${d.scope}\u0000${target}`);
      if (h !== undefined && h.sent > 0) delivery.skipped.push({ target, why: 'sent' });
      else if (h !== undefined && h.failed >= MAX_FAILED_ATTEMPTS) delivery.skipped.push({ target, why: 'gave_up' });
      else return true;
      return false;
    });
    result.scopes.push(delivery);
    if (owed.length === 0) continue;
    const rendered = await d.render();
    for (const target of owed) {
      const sentAt = clock.date();
      const id = deliveryId(d.report, week.id, d.scope, target, options.resend === true ? sentAt : undefined);
      // Recorded as soon as it is known, so a process that stops half-way sends only what it had not sent.
      const outcome = async (
        type: TargetOutcome['type'],
        o: { ok: boolean; status: number; detail: string; error?: string },
      ): Promise<void> => {
        delivery.outcomes.push({ target, type, ok: o.ok, detail: o.detail, ...(o.error !== undefined ? { error: o.error } : {}) });
        await record(store, {
          report: d.report,
          scope: d.scope,
          week: week.id,
          target,
          target_type: type,
          delivery_id: id,
          sent_at: sentAt.toISOString(),
          status: o.ok ? 'sent' : 'failed',
          http_status: o.status,
          resend: options.resend === true ? 1 : 0,
          error: o.error ?? '',
        });
      };
      if (target === 'files') {
        const dir = reportFolder(config, week.id, d.scope === '' ? PORTFOLIO_FOLDER : d.scope);
        try {
          await writeFolder(dir, rendered.files);
          await outcome('files', { ok: true, status: 0, detail: dir });
        } catch (err) {
          logger?.error({ err, report: d.report, scope: d.scope, week: week.id }, 'could not write the report');
          await outcome('files', { ok: false, status: 0, detail: dir, error: `could not write ${dir}: ${(err as Error).message}` });
        }
        continue;
      }
      const notifier = notifiers.get(target);
      const type = notifier?.type === 'slack' ? 'slack' : 'webhook';
      if (notifier === undefined) {
        await outcome(type, { ok: false, status: 0, detail: '', error: `no channel '${target}' is configured` });
        continue;
      }
      try {
        const status = await notifier.sendReport(reportMessage(EVENTS[d.report], rendered, id, sentAt));
        await outcome(type, { ok: true, status, detail: String(status) });
      } catch (err) {
        const status = err instanceof SourceError ? (err.status ?? 0) : 0;
        logger?.warn(
          { err, report: d.report, scope: d.scope, week: week.id, channel: target },
          'the report could not be sent; the next run tries again',
        );
        await outcome(type, { ok: false, status, detail: '', error: (err as Error).message });
      }
    }
  }
  return result;
}
