import { z } from 'zod';
import { clickhouseCursorStore } from '../connectors/core/cursor-store.js';
import { runSync, type StreamProgress, type SyncFilter } from '../connectors/core/runner.js';
import type { WebhookSource } from '../connectors/core/types.js';
import { webhookRoutes } from '../connectors/core/webhooks.js';
import { CONNECTORS, WEBHOOK_SOURCES } from '../connectors/registry.js';
import { pullSettingsOf, type Config } from '../infra/config/schema.js';
import type { RouteHandler } from '../infra/observability/http.js';
import { createBullScheduler } from '../infra/scheduler/bullmq.js';
import { createLocalScheduler } from '../infra/scheduler/local.js';
import { attemptsWithin, type JobHandler, type ScheduleSpec, type Scheduler } from '../infra/scheduler/types.js';
import { createNotifiers, type Notifier } from '../workers/alerts/channels.js';
import { runStallAlerts, type StallAlertsResult } from '../workers/alerts/stalls.js';
import { exportMonthJustEnded, type ExportResult } from '../workers/export/export.js';
import { link, type LinkResult } from '../workers/link/linker.js';
import { deliverStatusReports, type DeliveryResult } from '../workers/reports/delivery.js';
import type { ReportWeek } from '../workers/reports/week.js';
import { runMetricsJob, type MetricsRun } from '../workers/metrics/job.js';
import { forecastsNow } from './forecasts.js';
import { recordedRun } from './job-runs.js';
import { registersNow } from './registers.js';
import { configuredConnectors, type Organisation } from './organisation.js';
import type { Runtime } from './runtime.js';

export interface SyncOptions {
  filter?: SyncFilter;
  backfillSince?: Date;
  onProgress?: (p: StreamProgress) => void;
  signal?: AbortSignal;
}

/** What a pull did, for its job run: a pull with any failed stream is recorded as failed. */
function describePull(results: StreamProgress[]): string | { failed: string } {
  const failed = results.filter((r) => r.status === 'failed');
  const sources = [...new Set(results.map((r) => r.source))].join(', ') || 'no source';
  const records = results.reduce((n, r) => n + r.records, 0);
  const text = `${sources}: ${results.length - failed.length} of ${results.length} streams ok, ${records} records`;
  if (failed.length === 0) return text;
  return { failed: `${text}; failed: ${failed.map((f) => `${f.source}/${f.stream} ${f.scope}: ${f.error ?? ''}`).join('; ')}` };
}

/** Pulls the configured sources once (all, one source or one stream) onto the bus; recorded as a run of `pull`. */
export function syncOnce(rt: Runtime, options: SyncOptions = {}): Promise<StreamProgress[]> {
  return recordedRun(
    rt,
    'pull',
    () =>
      runSync({
        config: rt.config,
        connectors: CONNECTORS,
        bus: rt.bus,
        cursors: clickhouseCursorStore(rt.store),
        logger: rt.logger,
        metrics: rt.metrics,
        store: rt.store,
        clock: rt.clock,
        ...options,
      }),
    describePull,
  );
}

/** One incremental pull per configured source, every `intervalMinutes`. */
export function pullSchedules(
  config: Config,
  organisation: Pick<Organisation, 'connectors'> = { connectors: configuredConnectors(config) },
): ScheduleSpec[] {
  return organisation.connectors.map((c) => {
    const settings = pullSettingsOf(config, c.source);
    const everyMs = (settings?.intervalMinutes ?? 15) * 60_000;
    // A pull that fails (its source, Kafka or ClickHouse down) is tried again within its interval.
    return { id: `pull-${c.source}`, job: 'pull', everyMs, data: { source: c.source }, attempts: attemptsWithin(everyMs) };
  });
}

export function pullHandlers(rt: Runtime): Record<string, JobHandler> {
  return {
    pull: async (data, ctx) => {
      const source = typeof data['source'] === 'string' ? data['source'] : undefined;
      const results = await syncOnce(rt, { filter: { source }, signal: ctx.signal });
      const failed = results.filter((r) => r.status === 'failed');
      if (failed.length > 0 && failed.length === results.length) {
        throw new Error(`every stream of ${source ?? 'the sources'} failed: ${failed[0]!.error ?? ''}`);
      }
    },
  };
}

/**
 * Every scheduled job, declared in one list: the pulls of the configured sources, the linker, the
 * metrics (the recent periods every few minutes, all history daily, the month just ended on the first),
 * the milestone forecasts, the registers for the dashboards, the export of the month just ended, the weekly
 * status reports, and the dependency-stall detector with its alerts.
 * BullMQ reconciles this list on boot; the in-process scheduler runs it as it is.
 */
export function jobSchedules(
  config: Config,
  organisation: Pick<Organisation, 'connectors'> = { connectors: configuredConnectors(config) },
): ScheduleSpec[] {
  const tz = config.metrics.timeZone;
  return [
    ...pullSchedules(config, organisation),
    { id: 'link', job: 'link', everyMs: config.model.linkIntervalMinutes * 60_000 },
    { id: 'metrics-recent', job: 'metrics', everyMs: config.metrics.recomputeMinutes * 60_000, data: { mode: 'recent' }, attempts: 3 },
    { id: 'metrics-daily', job: 'metrics', cron: config.metrics.dailyCron, tz, data: { mode: 'full' }, attempts: 3 },
    { id: 'metrics-month-close', job: 'metrics', cron: config.metrics.monthCloseCron, tz, data: { mode: 'month-close' }, attempts: 5 },
    // The milestone forecasts, as often as the recent metrics.
    { id: 'forecasts', job: 'forecasts', everyMs: config.metrics.recomputeMinutes * 60_000, attempts: 2 },
    // The month just ended, exported after the month close (which it runs first when no metrics run has covered the month yet).
    { id: 'registers', job: 'registers', everyMs: config.metrics.registerIntervalMinutes * 60_000, attempts: 2 },
    ...(config.export.enabled ? [{ id: 'export-monthly', job: 'export', cron: config.export.cron, tz, attempts: 3 }] : []),
    // The weekly status reports: a run every few minutes sends what is due and not yet sent, so a report
    // missed while the process was down, or a channel that failed, is sent on the next run.
    ...(config.reports.status.enabled
      ? [
          {
            id: 'status-reports',
            job: 'status-reports',
            everyMs: config.reports.status.checkMinutes * 60_000,
            attempts: 2,
            exclusive: true,
          },
        ]
      : []),
    ...(config.alerts.stalls.enabled
      ? [{ id: 'stall-alerts', job: 'stall-alerts', everyMs: config.alerts.stalls.intervalMinutes * 60_000, attempts: 2, exclusive: true }]
      : []),
  ];
}

/** The config the metrics, alerts and exports read, scoped by the resolved organisation. */
export const scopedConfig = (rt: Pick<Runtime, 'config'> & { organisation: Pick<Runtime['organisation'], 'org'> }): Config => ({
  ...rt.config,
  org: rt.organisation.org,
});

/**
 * Every run below, scheduled or asked for (ptel link, ptel metrics compute, ptel alerts run, run --once),
 * is recorded in job_runs with its outcome, so `ptel status` can say when each job last ran, also when
 * the run changed nothing.
 */

/** Recomputes the links now. */
export function linkNow(rt: Runtime): Promise<LinkResult> {
  return recordedRun(
    rt,
    'link',
    () => link({ store: rt.store, model: rt.config.model, logger: rt.logger, clock: rt.clock }),
    (r) =>
      `${r.written} link rows written, ${r.retracted} retracted (${r.deployments} deployments, ${r.commitPullRequests} commits in pull requests)`,
  );
}

/** One metrics run, on fresh links when it covers all history. */
export async function metricsNow(rt: Runtime, run: MetricsRun, signal?: AbortSignal): Promise<Awaited<ReturnType<typeof runMetricsJob>>> {
  // The daily run starts from fresh links, so a day's numbers never wait on the link schedule.
  if (run.mode === 'full') await linkNow(rt);
  return recordedRun(
    rt,
    'metrics',
    () =>
      runMetricsJob({
        store: rt.store,
        config: scopedConfig(rt),
        run,
        logger: rt.logger,
        clock: rt.clock,
        ...(signal !== undefined ? { signal } : {}),
      }),
    (r) =>
      r.from === undefined
        ? `${run.mode}: no fact to compute from yet`
        : `${run.mode}: ${r.rows} values of ${r.metrics} metrics, ${r.from} .. ${r.to ?? ''}`,
  );
}

/** The configured alert channels, with the secrets read when the configuration was loaded, sending on the runtime's clock. */
export const notifiersFor = (rt: Pick<Runtime, 'config' | 'clock'>): Map<string, Notifier> =>
  createNotifiers(rt.config.alerts, { clock: rt.clock, secrets: rt.config.secrets.alertChannels });

/** The stall detector and its deliveries, once, at the clock's instant. */
export function stallAlertsNow(rt: Runtime, notifiers?: ReadonlyMap<string, Notifier>): Promise<StallAlertsResult> {
  return recordedRun(
    rt,
    'stall-alerts',
    () =>
      runStallAlerts({
        store: rt.store,
        config: rt.config,
        notifiers: notifiers ?? notifiersFor(rt),
        logger: rt.logger,
        metrics: rt.metrics,
        clock: rt.clock,
      }),
    (r) => {
      const failed = r.deliveries.filter((d) => !d.ok).length;
      return (
        `${r.stalled} links stalled, ${r.opened.length} alerts opened, ${r.resolved.length} resolved, ` +
        `${r.deliveries.length - failed} messages sent${failed > 0 ? `, ${failed} failed` : ''}`
      );
    },
  );
}

/** The export of the month just ended, unless it is exported already or the store holds nothing from before its end. */
export function exportNow(rt: Runtime): Promise<ExportResult | undefined> {
  return recordedRun(
    rt,
    'export',
    () => exportMonthJustEnded({ store: rt.store, config: scopedConfig(rt), logger: rt.logger, clock: rt.clock }),
    (r) =>
      r === undefined
        ? 'nothing written: the month just ended is exported already, or the store holds nothing from before its end'
        : `${r.month}: ${r.rows} values of ${r.scopes} scopes in ${r.dir}`,
  );
}

/** What the report deliveries need of a runtime. */
export type ReportRuntime = Pick<Runtime, 'store' | 'config' | 'clock'> &
  Partial<Pick<Runtime, 'logger'>> & { organisation: Pick<Runtime['organisation'], 'org'> };

export interface StatusDeliveryQuery {
  /** The week; default the week due by reports.status.cron. */
  week?: ReportWeek;
  programs?: string[];
  /** Deliver the portfolio view too; default when no programs are named. */
  portfolio?: boolean;
  resend?: boolean;
}

/** What a delivery run did, in one line for its job run and for `ptel status`. */
export function describeDelivery(r: DeliveryResult): string | { failed: string } {
  const outcomes = r.scopes.flatMap((s) => s.outcomes.map((o) => ({ ...o, scope: s.report === 'portfolio' ? 'the portfolio' : s.scope })));
  const failed = outcomes.filter((o) => !o.ok);
  const sent = outcomes.length - failed.length;
  const already = r.scopes.filter((s) => s.outcomes.length === 0).length;
  const programs = r.scopes.filter((s) => s.report === 'status').length;
  const portfolio = r.scopes.some((s) => s.report === 'portfolio');
  const text =
    `${r.week} (due ${r.dueAt}): ${programs} program${programs === 1 ? '' : 's'}${portfolio ? ' and the portfolio' : ''}, ${sent} deliveries made` +
    (already > 0 ? `, ${already} report${already === 1 ? '' : 's'} delivered everywhere before` : '') +
    (r.unknownPrograms.length > 0 ? `; unknown programs in reports.status.programs: ${r.unknownPrograms.join(', ')}` : '');
  if (failed.length === 0) return text;
  return { failed: `${text}; ${failed.length} failed: ${failed.map((f) => `${f.scope} to ${f.target}: ${f.error ?? ''}`).join('; ')}` };
}

/** Writes and sends the weekly status reports owed (recorded as a run of `status-reports`). */
export function statusReportsNow(
  rt: ReportRuntime,
  query: StatusDeliveryQuery = {},
  notifiers?: ReadonlyMap<string, Notifier>,
): Promise<DeliveryResult> {
  return recordedRun(
    rt,
    'status-reports',
    () =>
      deliverStatusReports({
        store: rt.store,
        config: scopedConfig(rt),
        notifiers: notifiers ?? notifiersFor(rt),
        clock: rt.clock,
        logger: rt.logger,
        ...(query.week !== undefined ? { week: query.week } : {}),
        ...(query.programs !== undefined ? { programs: query.programs } : {}),
        ...(query.portfolio !== undefined ? { portfolio: query.portfolio } : {}),
        ...(query.resend === true ? { resend: true } : {}),
      }),
    describeDelivery,
  );
}

const runSchema = z.object({ mode: z.enum(['recent', 'full', 'month-close']) });

export function jobHandlers(rt: Runtime): Record<string, JobHandler> {
  let notifiers: Map<string, Notifier> | undefined;
  return {
    ...pullHandlers(rt),
    link: async () => {
      await linkNow(rt);
    },
    'stall-alerts': async () => {
      await stallAlertsNow(rt, (notifiers ??= notifiersFor(rt)));
    },
    metrics: async (data, ctx) => {
      await metricsNow(rt, runSchema.parse(data), ctx.signal);
    },
    export: async () => {
      await exportNow(rt);
    },
    registers: async () => {
      await registersNow(rt);
    },
    forecasts: async () => {
      await forecastsNow(rt);
    },
    'status-reports': async () => {
      await statusReportsNow(rt, {}, (notifiers ??= notifiersFor(rt)));
    },
  };
}

/** Embedded mode schedules in process; distributed mode on Redis, shared by every process. */
export function createScheduler(rt: Runtime, schedules: ScheduleSpec[], handlers: Record<string, JobHandler>): Scheduler {
  return rt.config.mode === 'distributed'
    ? createBullScheduler({
        schedules,
        handlers,
        redisUrl: rt.config.redis.url,
        queueName: rt.config.redis.queue,
        logger: rt.logger,
        metrics: rt.metrics,
        clock: rt.clock,
      })
    : createLocalScheduler({ schedules, handlers, logger: rt.logger, metrics: rt.metrics, runAtStart: true, clock: rt.clock });
}

/** The routes of `sources` (default: every webhook source) on the runtime's bus, clock and metrics. */
export function webhookRoutesFor(rt: Runtime, sources: WebhookSource[] = WEBHOOK_SOURCES): Record<string, RouteHandler> {
  return webhookRoutes({
    sources,
    config: rt.config,
    bus: rt.bus,
    logger: rt.logger,
    metrics: rt.metrics,
    clock: rt.clock,
  });
}
