import { publishRecords } from '../connectors/core/publish.js';
import { loadDemo } from '../connectors/demo/source.js';
import type { Config } from '../infra/config/schema.js';
import { startHttpServer, type RunningServer } from '../infra/observability/http.js';
import type { Runtime } from '../infra/runtime.js';
import { migrate } from '../infra/store/migrate.js';
import { SOURCES, rawTopic } from '../schemas/raw-event.js';
import { waitUntilDrained } from '../workers/normalize/drain.js';
import { createMapperRegistry } from '../connectors/mappers.js';
import { mapContext, type MapContext } from '../mapping/registry.js';
import { startNormalizer } from '../workers/normalize/normalizer.js';
import { replay } from '../workers/normalize/replay.js';
import { createProgressDisplay } from '../connectors/core/progress.js';
import type { StreamProgress } from '../connectors/core/runner.js';
import type { Check } from '../connectors/core/types.js';
import { CONNECTORS, WEBHOOK_SOURCES } from '../connectors/registry.js';
import { createLogger } from '../infra/observability/logger.js';
import type { Scheduler } from '../infra/scheduler/types.js';
import { onShutdownSignal } from './lifecycle.js';
import { configuredConnectors, createScheduler, jobHandlers, jobSchedules, mappingContext, syncOnce, webhookRoutesFor } from './sources.js';
import { link } from '../workers/link/linker.js';
import { printModelSummary } from './model-summary.js';
import { METRICS_COMMANDS, printKpiSummary } from './metrics-commands.js';
import { EXPORT_COMMANDS } from './export-command.js';
import { runMetricsJob } from '../workers/metrics/job.js';
import { printTable } from './output.js';
import { withRuntime, type Command, type CommandContext } from './command.js';
import { ALERTS_COMMANDS, runStallAlertsOnce } from './alerts-commands.js';

/** A date option: undefined when absent, null (after saying why) when it is not a date. */
function parseDate(ctx: CommandContext, option: string): Date | undefined | null {
  const text = ctx.values[option];
  if (typeof text !== 'string') return undefined;
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) {
    ctx.err.write(`ptel: --${option} '${text}' is not a date; use ISO 8601, e.g. 2026-01-31\n`);
    return null;
  }
  return d;
}

const rawTopics = (config: Config): string[] => SOURCES.map((s) => rawTopic(s, config.kafka.topicPrefix));

function readinessChecks(rt: Runtime): Record<string, () => Promise<void>> {
  return {
    store: async () => {
      const r = await rt.store.client.ping();
      if (!r.success) throw r.error;
    },
    bus: async () => {
      await rt.bus.lag(rt.config.normalizer.groupId, rawTopics(rt.config)[0]!);
    },
  };
}

/** Health, readiness and metrics; with `webhooks`, the webhook endpoints too. */
async function serveHttp(rt: Runtime, options: { webhooks: boolean }): Promise<RunningServer> {
  return startHttpServer({
    host: rt.config.http.host,
    port: rt.config.http.port,
    metrics: rt.metrics,
    logger: rt.logger,
    readiness: readinessChecks(rt),
    routes: options.webhooks ? webhookRoutesFor(rt) : {},
  });
}

/** Pulls every configured source once, with a progress display; says which streams failed. */
async function syncWithProgress(rt: Runtime, ctx: CommandContext, options: Parameters<typeof syncOnce>[1] = {}): Promise<StreamProgress[]> {
  const display = createProgressDisplay(ctx.out);
  try {
    return await syncOnce(rt, { ...options, onProgress: (p) => display.update(p) });
  } finally {
    display.done();
  }
}

async function startNormalizing(rt: Runtime, context: MapContext) {
  return startNormalizer({
    bus: rt.bus,
    writer: rt.writer,
    registry: createMapperRegistry(),
    metrics: rt.metrics,
    logger: rt.logger,
    context,
    groupId: rt.config.normalizer.groupId,
    topics: rawTopics(rt.config),
    concurrency: rt.config.normalizer.concurrency,
    sessionTimeoutMs: rt.config.normalizer.sessionTimeoutMs,
  });
}

/** What the store holds per source and type, and the dead letters; `heading` gets the total of stored events. */
async function printSummary(rt: Runtime, out: NodeJS.WritableStream, heading?: (total: number) => string): Promise<void> {
  const rs = await rt.store.client.query({
    query: `SELECT source, type, count() AS events, uniqExact(subject) AS entities, max(time) AS latest
            FROM raw_events FINAL GROUP BY source, type ORDER BY source, type`,
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ source: string; type: string; events: string; entities: string; latest: string }>();
  if (heading !== undefined) out.write(`${heading(rows.reduce((n, r) => n + Number(r.events), 0))}\n`);
  printTable(
    out,
    ['source', 'type', 'events', 'entities', 'latest'],
    rows.map((r) => [r.source, r.type, r.events, r.entities, r.latest]),
  );
  const dl = await rt.store.client.query({
    query: 'SELECT reason_code, count() AS n FROM dead_letters FINAL GROUP BY reason_code ORDER BY n DESC',
    format: 'JSONEachRow',
  });
  const dead = await dl.json<{ reason_code: string; n: string }>();
  out.write(dead.length === 0 ? 'dead letters: none\n' : `dead letters: ${dead.map((d) => `${d.reason_code} ${d.n}`).join(', ')}\n`);
}

export const COMMANDS: Record<string, Command> = {
  run: {
    summary: 'the main job: pull the sources, normalize into ClickHouse, serve health and metrics',
    usage: [
      'usage: ptel run [--once]',
      '',
      'Runs the whole pipeline in this process. With no source credentials configured it uses the demo',
      'organisation, so a fresh machine has data at once.',
      '  --once   pull once, wait until every event is stored, print a summary and exit',
    ].join('\n'),
    options: { once: { type: 'boolean' } },
    async run(ctx) {
      const once = ctx.values['once'] === true;
      return withRuntime(ctx.config, async (rt) => {
        const log = rt.logger;
        const started = Date.now();
        const real = configuredConnectors(ctx.config);
        const demo = real.length === 0 ? loadDemo(ctx.config) : undefined;
        const context =
          demo !== undefined && ctx.config.org.programs.length === 0 ? mappingContext(ctx.config, demo) : mapContext(ctx.config);
        const normalizer = await startNormalizing(rt, context);
        const http = once ? undefined : await serveHttp(rt, { webhooks: true });
        let scheduler: Scheduler | undefined;
        let failed = 0;
        if (demo !== undefined) {
          // The demo is published once; the linker still runs on schedule while serving.
          if (!once) {
            scheduler = createScheduler(
              rt,
              jobSchedules(ctx.config).filter((s) => s.job !== 'pull'),
              jobHandlers(rt),
            );
            await scheduler.start();
          }
          ctx.out.write(
            `source: demo organisation (${demo.org.programs.length} programs, ${demo.teams} teams, ${demo.records.length} entity versions, as of ${demo.now}); ` +
              'configure sources (see ptel.example.yaml) to pull real data\n',
          );
          const published = await publishRecords(rt.bus, demo.records, 'demo', {
            metrics: rt.metrics,
            topicPrefix: ctx.config.kafka.topicPrefix,
          });
          log.info({ published: Object.fromEntries(published) }, 'published');
        } else if (once) {
          ctx.out.write(`sources: ${real.map((c) => c.source).join(', ')}\n`);
          failed = (await syncWithProgress(rt, ctx)).filter((r) => r.status === 'failed').length;
        } else {
          scheduler = createScheduler(rt, jobSchedules(ctx.config), jobHandlers(rt));
          await scheduler.start();
        }
        if (once) {
          await waitUntilDrained(rt.bus, ctx.config.normalizer.groupId, rawTopics(ctx.config));
          await normalizer.stop();
          await link({ store: rt.store, model: ctx.config.model, logger: rt.logger });
          await runMetricsJob({ store: rt.store, config: { ...ctx.config, org: context.org }, run: { mode: 'full' }, logger: rt.logger });
          const secs = (Date.now() - started) / 1000;
          await printSummary(rt, ctx.out, (total) => `stored ${total} events in ${secs.toFixed(1)} s; data in ${ctx.config.dataDir}`);
          await printModelSummary(rt, ctx.out);
          await printKpiSummary(rt.store, ctx.out);
          if (ctx.config.alerts.stalls.enabled) await runStallAlertsOnce(ctx.config, rt.store, ctx.out);
          if (failed > 0) ctx.err.write(`${failed} stream(s) failed; see the lines marked FAILED above\n`);
          return failed > 0 ? 1 : 0;
        }
        ctx.out.write(`serving on ${http?.url ?? ''} (/healthz, /readyz, /metrics, /webhooks/<source>); Ctrl-C stops\n`);
        await onShutdownSignal(log, async () => {
          await http?.close();
          await scheduler?.stop();
          await normalizer.stop();
        });
        return 0;
      });
    },
  },

  sync: {
    summary: 'pull the configured sources once (all, one source, or one stream)',
    usage: [
      'usage: ptel sync [SOURCE] [--stream NAME] [--since DATE]',
      '  SOURCE     github, jira, pagerduty, gitlab or jenkins (default: every configured source)',
      '  --stream   only this stream, e.g. pull_requests',
      '  --since    backfill from this date (ISO 8601): reads from it whatever the cursors say,',
      '             and leaves the incremental cursors where they are',
    ].join('\n'),
    options: { stream: { type: 'string' }, since: { type: 'string' } },
    positionals: true,
    run(ctx) {
      const since = parseDate(ctx, 'since');
      if (since === null) return Promise.resolve(2);
      if (configuredConnectors(ctx.config).length === 0) {
        ctx.err.write(
          'ptel sync: no source is configured; add a sources section (see ptel.example.yaml) and its credentials, then check with ptel doctor\n',
        );
        return Promise.resolve(78);
      }
      return withRuntime(ctx.config, async (rt) => {
        const results = await syncWithProgress(rt, ctx, {
          filter: { source: ctx.positionals[0], stream: ctx.values['stream'] as string | undefined },
          ...(since !== undefined ? { backfillSince: since } : {}),
        });
        const failed = results.filter((r) => r.status === 'failed');
        const records = results.reduce((s, r) => s + r.records, 0);
        const requests = results.reduce((s, r) => s + r.requests, 0);
        ctx.out.write(`${records} records from ${requests} requests; ${results.length - failed.length} of ${results.length} streams ok\n`);
        for (const f of failed) ctx.err.write(`failed: ${f.source}/${f.stream} ${f.scope}: ${f.error ?? ''}\n`);
        return failed.length > 0 ? 1 : 0;
      });
    },
  },

  doctor: {
    summary: "check each source's credentials and permissions, and say what is missing",
    usage: 'usage: ptel doctor [SOURCE]',
    options: {},
    positionals: true,
    async run(ctx) {
      let problems = 0;
      for (const connector of CONNECTORS) {
        if (ctx.positionals[0] !== undefined && connector.source !== ctx.positionals[0]) continue;
        const missing = connector.missing(ctx.config);
        if (missing !== undefined) {
          ctx.out.write(`${connector.source}: not configured (${missing})\n`);
          continue;
        }
        const client = connector.client(ctx.config, createLogger({ level: 'silent' }));
        let checks: Check[];
        try {
          checks = await connector.doctor(client, ctx.config);
        } catch (err) {
          checks = [{ name: 'reach the API', ok: false, detail: err instanceof Error ? err.message : String(err) }];
        }
        for (const c of checks) {
          if (!c.ok) problems++;
          ctx.out.write(`${connector.source}: ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}\n`);
        }
      }
      const hooks = WEBHOOK_SOURCES.map((w) => `${w.path} ${w.enabled(ctx.config) ? 'on' : 'off'}`).join(', ');
      ctx.out.write(`webhooks: ${hooks}\n`);
      return problems > 0 ? 1 : 0;
    },
  },

  connect: {
    summary: 'run the scheduled jobs: pulls, the linker, the metrics, stall alerts and the monthly export (a scalable worker)',
    usage: 'usage: ptel connect\n\nIn distributed mode the schedules live on Redis and any number of these workers share them.',
    options: {},
    run(ctx) {
      return withRuntime(ctx.config, async (rt) => {
        const schedules = jobSchedules(ctx.config);
        if (!schedules.some((s) => s.job === 'pull')) rt.logger.warn('no source is configured; nothing to pull');
        const scheduler = createScheduler(rt, schedules, jobHandlers(rt));
        await scheduler.start();
        const http = await serveHttp(rt, { webhooks: false });
        await onShutdownSignal(rt.logger, async () => {
          await http.close();
          await scheduler.stop();
        });
        return 0;
      });
    },
  },

  link: {
    summary: 'recompute the links: commits to pull requests and deployments, incidents to deployments, hotfixes, escaped bugs',
    usage: 'usage: ptel link\n\nRuns on schedule in `run` and `connect`; this runs it once now and prints what the model holds.',
    options: {},
    run(ctx) {
      return withRuntime(ctx.config, async (rt) => {
        await link({ store: rt.store, model: ctx.config.model, logger: rt.logger });
        await printModelSummary(rt, ctx.out);
        return 0;
      });
    },
  },

  migrate: {
    summary: 'apply pending ClickHouse migrations',
    usage: 'usage: ptel migrate',
    options: {},
    run(ctx) {
      return withRuntime(
        ctx.config,
        async (rt) => {
          const r = await migrate(rt.store);
          ctx.out.write(
            r.applied.length === 0
              ? `database '${rt.store.database}' is up to date (migration ${r.current})\n`
              : `applied ${r.applied.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`).join(', ')} to '${rt.store.database}'\n`,
          );
          return 0;
        },
        { migrate: false },
      );
    },
  },

  normalize: {
    summary: 'consume raw events from the bus and write them to ClickHouse (a scalable worker)',
    usage: 'usage: ptel normalize\n\nRuns until SIGINT or SIGTERM, then drains, flushes, commits and exits.',
    options: {},
    run(ctx) {
      return withRuntime(ctx.config, async (rt) => {
        const normalizer = await startNormalizing(rt, mappingContext(ctx.config));
        const http = await serveHttp(rt, { webhooks: false });
        await onShutdownSignal(rt.logger, async () => {
          await normalizer.stop();
          await http.close();
        });
        return 0;
      });
    },
  },

  serve: {
    summary: 'serve the webhook endpoints, /healthz, /readyz and /metrics',
    usage: 'usage: ptel serve',
    options: {},
    run(ctx) {
      return withRuntime(ctx.config, async (rt) => {
        const http = await serveHttp(rt, { webhooks: true });
        ctx.out.write(`serving on ${http.url}\n`);
        await onShutdownSignal(rt.logger, () => http.close());
        return 0;
      });
    },
  },

  replay: {
    summary: 're-normalize stored raw events after a mapping change (no source involved)',
    usage: [
      'usage: ptel replay [--source SOURCE] [--type TYPE] [--since DATE]',
      '  --source  only events of this source (github, jira, pagerduty, gitlab, jenkins, cdevents)',
      '  --type    only events of this type, e.g. github.pull_request',
      '  --since   only events whose entity time is at or after this date (ISO 8601)',
    ].join('\n'),
    options: { source: { type: 'string' }, type: { type: 'string' }, since: { type: 'string' } },
    async run(ctx) {
      const sinceDate = parseDate(ctx, 'since');
      if (sinceDate === null) return 2;
      return withRuntime(ctx.config, async (rt) => {
        const result = await replay({
          store: rt.store,
          writer: rt.writer,
          registry: createMapperRegistry(),
          context: mappingContext(ctx.config),
          filter: { source: ctx.values['source'] as string | undefined, type: ctx.values['type'] as string | undefined, since: sinceDate },
          onProgress: (n) => rt.logger.info({ events: n }, 'replay progress'),
        });
        ctx.out.write(`replayed ${result.events} events: ${JSON.stringify(result.outcomes)}; rows ${JSON.stringify(result.rows)}\n`);
        await link({ store: rt.store, model: ctx.config.model, logger: rt.logger });
        await printModelSummary(rt, ctx.out);
        return 0;
      });
    },
  },

  'dead-letters': {
    summary: 'list dead letters with their reasons',
    usage: 'usage: ptel dead-letters [--limit N]',
    options: { limit: { type: 'string' } },
    async run(ctx) {
      const limit = Number(ctx.values['limit'] ?? 50);
      return withRuntime(ctx.config, async (rt) => {
        const rs = await rt.store.client.query({
          query: `SELECT failed_at, topic, bus_partition, bus_offset, reason_code, reason FROM dead_letters FINAL
                ORDER BY failed_at DESC LIMIT {limit:UInt32}`,
          query_params: { limit },
          format: 'JSONEachRow',
        });
        const rows = await rs.json<Record<string, string>>();
        printTable(
          ctx.out,
          ['failed at', 'topic', 'partition', 'offset', 'code', 'reason'],
          rows.map((r) => [r['failed_at'], r['topic'], r['bus_partition'], r['bus_offset'], r['reason_code'], r['reason']]),
        );
        return 0;
      });
    },
  },

  status: {
    summary: 'what the store holds and how far behind the normalizer is',
    usage: 'usage: ptel status',
    options: {},
    run(ctx) {
      return withRuntime(ctx.config, async (rt) => {
        await printSummary(rt, ctx.out);
        for (const topic of rawTopics(ctx.config)) {
          const lag = await rt.bus.lag(ctx.config.normalizer.groupId, topic);
          const behind = lag.reduce((s, p) => s + Math.max(0, p.end - p.committed), 0);
          if (lag.some((p) => p.end > 0)) ctx.out.write(`${topic}: ${behind} behind\n`);
        }
        return 0;
      });
    },
  },

  config: {
    summary: 'check the configuration and print it as resolved (secrets shown as set or unset)',
    usage: 'usage: ptel config',
    options: {},
    run(ctx) {
      const { secrets, ...rest } = ctx.config;
      const shown = {
        ...rest,
        secrets: Object.fromEntries(Object.entries(secrets).map(([k, v]) => [k, v === undefined ? 'unset' : 'set'])),
      };
      ctx.out.write(`${JSON.stringify(shown, null, 2)}\n`);
      return Promise.resolve(0);
    },
  },

  ...METRICS_COMMANDS,
  ...ALERTS_COMMANDS,
  ...EXPORT_COMMANDS,
};
