import type { ParseArgsConfig } from 'node:util';
import { publishRecords } from '../connectors/core/publish.js';
import { loadDemo } from '../connectors/demo/source.js';
import type { Config, OrgConfig } from '../infra/config/schema.js';
import { startHttpServer, type RunningServer } from '../infra/observability/http.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../infra/runtime.js';
import { migrate } from '../infra/store/migrate.js';
import { SOURCES, rawTopic } from '../schemas/raw-event.js';
import { waitUntilDrained } from '../workers/normalize/drain.js';
import { createMapperRegistry } from '../workers/normalize/mappers.js';
import { startNormalizer } from '../workers/normalize/normalizer.js';
import { replay } from '../workers/normalize/replay.js';
import { runBench } from './bench.js';
import { onShutdownSignal } from './lifecycle.js';
import { printTable } from './output.js';

export interface CommandContext {
  config: Config;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

export interface Command {
  summary: string;
  usage: string;
  options: ParseArgsConfig['options'];
  positionals?: boolean;
  run(ctx: CommandContext): Promise<number>;
}

/** Builds the runtime, runs `fn`, and always closes the runtime in the shutdown order. */
async function withRuntime(config: Config, fn: (rt: Runtime) => Promise<number>, options?: RuntimeOptions): Promise<number> {
  const rt = await createRuntime(config, options);
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
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

async function serveHttp(rt: Runtime): Promise<RunningServer> {
  return startHttpServer({
    host: rt.config.http.host,
    port: rt.config.http.port,
    metrics: rt.metrics,
    logger: rt.logger,
    readiness: readinessChecks(rt),
  });
}

async function startNormalizing(rt: Runtime, org: OrgConfig) {
  return startNormalizer({
    bus: rt.bus,
    writer: rt.writer,
    registry: createMapperRegistry(),
    metrics: rt.metrics,
    logger: rt.logger,
    context: { org },
    groupId: rt.config.normalizer.groupId,
    topics: rawTopics(rt.config),
    concurrency: rt.config.normalizer.concurrency,
    sessionTimeoutMs: rt.config.normalizer.sessionTimeoutMs,
  });
}

async function printSummary(rt: Runtime, out: NodeJS.WritableStream): Promise<void> {
  const rs = await rt.store.client.query({
    query: `SELECT source, type, count() AS events, uniqExact(subject) AS entities, max(time) AS latest
            FROM raw_events FINAL GROUP BY source, type ORDER BY source, type`,
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ source: string; type: string; events: string; entities: string; latest: string }>();
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
        const demo = loadDemo(ctx.config);
        const org = ctx.config.org.programs.length > 0 ? ctx.config.org : demo.org;
        const normalizer = await startNormalizing(rt, org);
        const http = once ? undefined : await serveHttp(rt);
        ctx.out.write(
          `source: demo organisation (${demo.org.programs.length} programs, ${demo.teams} teams, ${demo.records.length} entity versions, as of ${demo.now})\n`,
        );
        const published = await publishRecords(rt.bus, demo.records, 'demo', {
          metrics: rt.metrics,
          topicPrefix: ctx.config.kafka.topicPrefix,
        });
        const total = [...published.values()].reduce((a, b) => a + b, 0);
        log.info({ published: Object.fromEntries(published) }, 'published');
        if (once) {
          await waitUntilDrained(rt.bus, ctx.config.normalizer.groupId, rawTopics(ctx.config));
          await normalizer.stop();
          const secs = (Date.now() - started) / 1000;
          ctx.out.write(
            `stored ${total} events in ${secs.toFixed(1)} s (${Math.round(total / secs)} events/s); data in ${ctx.config.dataDir}\n`,
          );
          await printSummary(rt, ctx.out);
          return 0;
        }
        ctx.out.write(`serving on ${http?.url ?? ''} (/healthz, /readyz, /metrics); Ctrl-C stops\n`);
        await onShutdownSignal(log, async () => {
          await http?.close();
          await normalizer.stop();
        });
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
        const normalizer = await startNormalizing(rt, ctx.config.org);
        const http = await serveHttp(rt);
        await onShutdownSignal(rt.logger, async () => {
          await normalizer.stop();
          await http.close();
        });
        return 0;
      });
    },
  },

  serve: {
    summary: 'serve /healthz, /readyz and /metrics',
    usage: 'usage: ptel serve',
    options: {},
    run(ctx) {
      return withRuntime(ctx.config, async (rt) => {
        const http = await serveHttp(rt);
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
      const since = ctx.values['since'] as string | undefined;
      const sinceDate = since === undefined ? undefined : new Date(since);
      if (sinceDate !== undefined && Number.isNaN(sinceDate.getTime())) {
        ctx.err.write(`ptel replay: --since '${since}' is not a date; use ISO 8601, e.g. 2026-01-31\n`);
        return 2;
      }
      return withRuntime(ctx.config, async (rt) => {
        const result = await replay({
          store: rt.store,
          writer: rt.writer,
          registry: createMapperRegistry(),
          context: { org: ctx.config.org },
          filter: { source: ctx.values['source'] as string | undefined, type: ctx.values['type'] as string | undefined, since: sinceDate },
          onProgress: (n) => rt.logger.info({ events: n }, 'replay progress'),
        });
        ctx.out.write(`replayed ${result.events} events: ${JSON.stringify(result.outcomes)}; rows ${JSON.stringify(result.rows)}\n`);
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

  bench: {
    summary: 'measure Kafka -> normalizer -> ClickHouse throughput against the raw limits',
    usage: [
      'usage: ptel bench [--events N] [--size BYTES]',
      'Needs a Kafka broker (kafka.brokers / PTEL_KAFKA_BROKERS); ClickHouse is the configured store.',
    ].join('\n'),
    options: { events: { type: 'string' }, size: { type: 'string' } },
    async run(ctx) {
      await runBench({
        config: ctx.config,
        events: Number(ctx.values['events'] ?? 200_000),
        size: Number(ctx.values['size'] ?? 1024),
        out: ctx.out,
      });
      return 0;
    },
  },
};
