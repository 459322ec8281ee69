import { clickhouseCursorStore } from '../connectors/core/cursor-store.js';
import { runSync, type StreamProgress, type SyncFilter } from '../connectors/core/runner.js';
import { isConfigured, type Connector } from '../connectors/core/types.js';
import { webhookRoutes } from '../connectors/core/webhooks.js';
import { CONNECTORS, WEBHOOK_SOURCES } from '../connectors/registry.js';
import { pullSettingsOf, type Config } from '../infra/config/schema.js';
import type { RouteHandler } from '../infra/observability/http.js';
import type { Runtime } from '../infra/runtime.js';
import { createBullScheduler } from '../infra/scheduler/bullmq.js';
import { createLocalScheduler } from '../infra/scheduler/local.js';
import type { JobHandler, ScheduleSpec, Scheduler } from '../infra/scheduler/types.js';
import type { DemoOrg } from '../connectors/demo/generator.js';
import { loadDemo, loadDemoOrgConfig } from '../connectors/demo/source.js';
import { z } from 'zod';
import { link } from '../workers/link/linker.js';
import { runMetricsJob } from '../workers/metrics/job.js';
import { exportMonthJustEnded } from '../workers/export/export.js';
import { createNotifiers, type Notifier } from '../workers/alerts/channels.js';
import { runStallAlerts } from '../workers/alerts/stalls.js';
import { mapContext, type MapContext } from '../mapping/context.js';

/** The connectors whose configuration and credentials are complete. */
export function configuredConnectors(config: Config): Connector[] {
  return CONNECTORS.filter((c) => isConfigured(c, config));
}

export function syncOnce(
  rt: Runtime,
  options: { filter?: SyncFilter; backfillSince?: Date; onProgress?: (p: StreamProgress) => void; signal?: AbortSignal } = {},
): Promise<StreamProgress[]> {
  return runSync({
    config: rt.config,
    connectors: CONNECTORS,
    bus: rt.bus,
    cursors: clickhouseCursorStore(rt.store),
    logger: rt.logger,
    metrics: rt.metrics,
    store: rt.store,
    ...options,
  });
}

/** One incremental pull per configured source, every `intervalMinutes`. */
export function pullSchedules(config: Config): ScheduleSpec[] {
  return configuredConnectors(config).map((c) => {
    const settings = pullSettingsOf(config, c.source);
    return { id: `pull-${c.source}`, job: 'pull', everyMs: (settings?.intervalMinutes ?? 15) * 60_000, data: { source: c.source } };
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
 * the export of the month just ended, and the dependency-stall detector with its alerts.
 * BullMQ reconciles this list on boot; the in-process scheduler runs it as it is.
 */
export function jobSchedules(config: Config): ScheduleSpec[] {
  const tz = config.metrics.timeZone;
  return [
    ...pullSchedules(config),
    { id: 'link', job: 'link', everyMs: config.model.linkIntervalMinutes * 60_000 },
    { id: 'metrics-recent', job: 'metrics', everyMs: config.metrics.recomputeMinutes * 60_000, data: { mode: 'recent' }, attempts: 3 },
    { id: 'metrics-daily', job: 'metrics', cron: config.metrics.dailyCron, tz, data: { mode: 'full' }, attempts: 3 },
    { id: 'metrics-month-close', job: 'metrics', cron: config.metrics.monthCloseCron, tz, data: { mode: 'month-close' }, attempts: 5 },
    // The month just ended, exported after the month close (which it runs first when no metrics run has covered the month yet).
    ...(config.export.enabled ? [{ id: 'export-monthly', job: 'export', cron: config.export.cron, tz, attempts: 3 }] : []),
    ...(config.alerts.stalls.enabled
      ? [{ id: 'stall-alerts', job: 'stall-alerts', everyMs: config.alerts.stalls.intervalMinutes * 60_000, attempts: 2, exclusive: true }]
      : []),
  ];
}

const runSchema = z.object({ mode: z.enum(['recent', 'full', 'month-close']) });

export function jobHandlers(rt: Runtime): Record<string, JobHandler> {
  let org: Config['org'] | undefined;
  const metricsConfig = (): Config => ({ ...rt.config, org: (org ??= orgOf(rt.config)) });
  let notifiers: Map<string, Notifier> | undefined;
  return {
    ...pullHandlers(rt),
    link: async () => {
      await link({ store: rt.store, model: rt.config.model, logger: rt.logger });
    },
    'stall-alerts': async () => {
      await runStallAlerts({
        store: rt.store,
        config: rt.config,
        notifiers: (notifiers ??= createNotifiers(rt.config.alerts)),
        logger: rt.logger,
        metrics: rt.metrics,
      });
    },
    metrics: async (data) => {
      const run = runSchema.parse(data);
      // The daily run starts from fresh links, so a day's numbers never wait on the link schedule.
      if (run.mode === 'full') await link({ store: rt.store, model: rt.config.model, logger: rt.logger });
      await runMetricsJob({ store: rt.store, config: metricsConfig(), run, logger: rt.logger });
    },
    export: async () => {
      await exportMonthJustEnded({ store: rt.store, config: metricsConfig(), logger: rt.logger });
    },
  };
}

/**
 * What the mappers need from the config. With no source and no org mapping configured, the pipeline
 * runs on the demo organisation, whose org mapping and Jira fields then apply, live and in replays.
 */
export function mappingContext(config: Config, demo?: Pick<DemoOrg, 'org' | 'jiraFields'>): MapContext {
  const d = demo ?? (usesDemo(config) ? loadDemo(config) : undefined);
  return d === undefined
    ? mapContext(config)
    : mapContext({ org: d.org, model: config.model, people: config.people, jiraFields: d.jiraFields });
}

/** The org the metrics are scoped by: the config's, or the demo organisation's when the pipeline runs on the demo. */
export const orgOf = (config: Config): Config['org'] => (usesDemo(config) ? loadDemoOrgConfig(config) : config.org);

export const usesDemo = (config: Config): boolean => configuredConnectors(config).length === 0 && config.org.programs.length === 0;

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
      })
    : createLocalScheduler({ schedules, handlers, logger: rt.logger, metrics: rt.metrics, runAtStart: true });
}

export function webhookRoutesFor(rt: Runtime): Record<string, RouteHandler> {
  return webhookRoutes({ sources: WEBHOOK_SOURCES, config: rt.config, bus: rt.bus, logger: rt.logger, metrics: rt.metrics });
}
