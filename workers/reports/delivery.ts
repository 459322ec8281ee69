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
import { statusHtml } from './html.js';
import { statusMarkdown } from './markdown.js';
import { statusSlack } from './slack.js';
import { instantText, statusReport, type StatusReport } from './status.js';
import { lastWholeWeek, type ReportWeek } from './week.js';

/**
 * The weekly reports on schedule: each program's status report of the week due, written under the
 * export folder (md, html, json and the Slack payload) and sent to the program's routed channels (Slack
 * gets the Block Kit message, a webhook the signed JSON with the report, its Markdown and its email-ready
 * HTML). Every delivery, to the folder or to a channel, is recorded in report_deliveries: a report sent
 * to a target for a week is not sent to it again (across restarts and processes), a target that failed
 * is tried again on the next run (up to MAX_FAILED_ATTEMPTS times), and a resend is asked for by name.
 */

export type DeliverySettings = Pick<Config, 'model' | 'metrics' | 'org' | 'export' | 'dataDir' | 'configPath' | 'alerts' | 'reports'>;

/** Failed attempts after which a target is left alone for the week (a resend still sends). */
export const MAX_FAILED_ATTEMPTS = 8;

/** The webhook event of a program's weekly status. */
export const STATUS_EVENT = 'status_report.weekly';

/** Where a week's reports are written: <export folder>/status/<YYYY-Www>/<program>/. */
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
  report: 'status';
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

async function history(store: Store, report: string, week: string): Promise<Map<string, TargetHistory>> {
  const rs = await store.client.query({
    query: `SELECT scope, target, countIf(status = 'sent') AS sent, countIf(status = 'failed') AS failed
            FROM report_deliveries WHERE report = {report:String} AND week = {week:String}
            GROUP BY scope, target`,
    query_params: { report, week },
    format: 'JSONEachRow',
  });
  const out = new Map<string, TargetHistory>();
  for (const r of await rs.json<{ scope: string; target: string; sent: string; failed: string }>()) {
    out.set(`${r.scope}\u0000${r.target}`, { sent: Number(r.sent), failed: Number(r.failed) });
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

/** The files a program's report is written as. */
export function statusFiles(report: StatusReport): Record<string, string> {
  return {
    'report.md': statusMarkdown(report),
    'report.html': statusHtml(report),
    'report.json': `${JSON.stringify(report, null, 2)}\n`,
    'slack.json': `${JSON.stringify(statusSlack(report), null, 2)}\n`,
  };
}

/** What a channel is sent of a program's report. */
export function statusMessage(report: StatusReport, files: Record<string, string>, id: string, sentAt: Date): ReportMessage {
  const slack = statusSlack(report);
  return {
    event: STATUS_EVENT,
    deliveryId: id,
    slack,
    body: {
      event: STATUS_EVENT,
      delivery_id: id,
      sent_at: instantText(sentAt),
      program: report.program,
      week: report.week,
      summary: report.summary.text,
      report,
      markdown: files['report.md'],
      // Email-ready: inline styles, no external request; a receiver can mail it as it is.
      html: files['report.html'],
    },
  };
}

/**
 * Writes and sends the status reports owed for a week: per program, the folder and each routed channel
 * not yet sent to. A program whose report has gone everywhere costs one query, not a report.
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
  const past = await history(store, 'status', week.id);
  const result: DeliveryResult = { week: week.id, dueAt: instantText(due.dueAt), scopes: [], unknownPrograms };
  for (const program of wanted.filter((p) => known.has(p))) {
    const teams = config.org.programs.find((p) => p.id === program)?.teams.map((t) => t.id) ?? [];
    const targets = ['files', ...programChannels(program, teams, config.alerts)];
    const delivery: ScopeDelivery = { report: 'status', scope: program, outcomes: [], skipped: [] };
    const owed = targets.filter((target) => {
      if (options.resend === true) return true;
      const h = past.get(`${program}\u0000${target}`);
      if (h !== undefined && h.sent > 0) delivery.skipped.push({ target, why: 'sent' });
      else if (h !== undefined && h.failed >= MAX_FAILED_ATTEMPTS) delivery.skipped.push({ target, why: 'gave_up' });
      else return true;
      return false;
    });
    result.scopes.push(delivery);
    if (owed.length === 0) continue;
    const report = await statusReport({ store, config, program, week, until: now });
    const files = statusFiles(report);
    for (const target of owed) {
      const sentAt = clock.date();
      const resentAt = options.resend === true ? sentAt : undefined;
      const id = deliveryId('status', week.id, program, target, resentAt);
      // Recorded as soon as it is known, so a process that stops half-way sends only what it had not sent.
      const row = async (
        type: TargetOutcome['type'],
        outcome: { ok: boolean; status: number; detail: string; error?: string },
      ): Promise<void> => {
        delivery.outcomes.push({
          target,
          type,
          ok: outcome.ok,
          detail: outcome.detail,
          ...(outcome.error !== undefined ? { error: outcome.error } : {}),
        });
        await record(store, {
          report: 'status',
          scope: program,
          week: week.id,
          target,
          target_type: type,
          delivery_id: id,
          sent_at: sentAt.toISOString(),
          status: outcome.ok ? 'sent' : 'failed',
          http_status: outcome.status,
          resend: options.resend === true ? 1 : 0,
          error: outcome.error ?? '',
        });
      };
      if (target === 'files') {
        const dir = reportFolder(config, week.id, program);
        try {
          await writeFolder(dir, files);
          await row('files', { ok: true, status: 0, detail: dir });
        } catch (err) {
          const error = `could not write ${dir}: ${(err as Error).message}`;
          logger?.error({ err, program, week: week.id }, 'could not write the status report');
          await row('files', { ok: false, status: 0, detail: dir, error });
        }
        continue;
      }
      const notifier = notifiers.get(target);
      const type = notifier?.type === 'slack' ? 'slack' : 'webhook';
      if (notifier === undefined) {
        await row(type, { ok: false, status: 0, detail: '', error: `no channel '${target}' is configured` });
        continue;
      }
      try {
        const status = await notifier.sendReport(statusMessage(report, files, id, sentAt));
        await row(type, { ok: true, status, detail: String(status) });
      } catch (err) {
        const status = err instanceof SourceError ? (err.status ?? 0) : 0;
        logger?.warn({ err, program, week: week.id, channel: target }, 'the status report could not be sent; the next run tries again');
        await row(type, { ok: false, status, detail: '', error: (err as Error).message });
      }
    }
  }
  return result;
}
