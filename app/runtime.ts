import path from 'node:path';
import { createKafkaBus } from '../infra/bus/kafka.js';
import { createLocalBus } from '../infra/bus/local.js';
import type { Bus } from '../infra/bus/types.js';
import type { Config } from '../infra/config/schema.js';
import { createLogger, type Logger } from '../infra/observability/logger.js';
import { PipelineMetrics } from '../infra/observability/metrics.js';
import { BatchWriter } from '../infra/store/batch-writer.js';
import { openStore, type Store } from '../infra/store/client.js';
import { migrate } from '../infra/store/migrate.js';
import { findRunningStore } from '../infra/store/attach.js';
import { DataDirInUseError, lockDataDir } from '../infra/data-dir.js';
import { systemClock, type Clock } from '../infra/clock.js';
import { resolveOrganisation, type Organisation } from './organisation.js';

/**
 * The composition root: builds each client once from the configuration and hands them to the parts
 * that need them. Nothing else creates a bus, a store, a logger or a clock.
 */
export interface Runtime {
  config: Config;
  /** The one source of "now" for every job, rule and query of this process. */
  clock: Clock;
  /** The organisation, configured or demo, resolved once. */
  organisation: Organisation;
  logger: Logger;
  metrics: PipelineMetrics;
  bus: Bus;
  store: Store;
  writer: BatchWriter;
  /** Set when this process works on the store of a running ptel (see RuntimeOptions.attach). */
  attachedTo?: { pid: number; url: string };
  /** Shuts down in order: flush the writer, close the bus, close the store, release the data folder. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  logger?: Logger;
  metrics?: PipelineMetrics;
  clock?: Clock;
  /** Apply pending migrations on start (embedded default; distributed runs `ptel migrate` once). */
  migrate?: boolean;
  /**
   * For commands that need only the store: when another process (`ptel run`) holds the embedded data
   * folder and serves its store, work on that store over its HTTP interface instead of refusing. The
   * bus then belongs to that process and answers BusUnavailableError.
   */
  attach?: boolean;
}

/** The bus of an embedded data folder served by another process. */
export class BusUnavailableError extends Error {
  override readonly name = 'BusUnavailableError';
}

function unavailableBus(pid: number): Bus {
  const refuse = (): Promise<never> =>
    Promise.reject(new BusUnavailableError(`the bus of this data folder belongs to the running ptel (process ${pid})`));
  return { kind: 'local', ensureTopics: refuse, publish: refuse, consume: refuse, lag: refuse, close: () => Promise.resolve() };
}

export async function createRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const logger = options.logger ?? createLogger({ level: config.log.level });
  const metrics = options.metrics ?? new PipelineMetrics();
  const clock = options.clock ?? systemClock;
  const organisation = resolveOrganisation(config, clock);
  const ownsDataDir = config.mode === 'embedded' || config.clickhouse.engine === 'embedded';
  const running = ownsDataDir && options.attach === true ? findRunningStore(config.dataDir) : undefined;
  if (running !== undefined) return attachRuntime(config, running, { clock, organisation, logger, metrics });
  const release = ownsDataDir ? lockDataDir(config.dataDir) : () => undefined;
  let bus: Bus | undefined;
  let store: Store | undefined;
  try {
    bus =
      config.mode === 'embedded'
        ? createLocalBus({ dir: config.dataDir, clock })
        : createKafkaBus({
            brokers: config.kafka.brokers,
            clientId: config.kafka.clientId,
            ssl: config.kafka.ssl,
            sasl:
              config.kafka.sasl !== undefined
                ? {
                    ...config.kafka.sasl,
                    password: requireSecret(config.secrets.kafkaSaslPassword, 'PTEL_KAFKA_SASL_PASSWORD', 'kafka.sasl'),
                  }
                : undefined,
            defaultPartitions: config.kafka.partitions,
            replicationFactor: config.kafka.replicationFactor,
            publishTimeoutMs: config.kafka.publishTimeoutMs,
            logger,
            clock,
          });
    store = await openStore(
      config.clickhouse.engine === 'embedded' || config.clickhouse.url === undefined
        ? { kind: 'embedded', path: path.join(config.dataDir, 'clickhouse'), database: config.clickhouse.database }
        : {
            kind: 'server',
            url: config.clickhouse.url,
            username: config.clickhouse.username,
            password: config.secrets.clickhousePassword,
            database: config.clickhouse.database,
            requestTimeoutMs: config.clickhouse.requestTimeoutMs,
            cluster: config.clickhouse.cluster,
          },
      { logger },
    );
    if (options.migrate ?? config.clickhouse.engine === 'embedded') {
      const result = await migrate(store);
      if (result.applied.length > 0) logger.info({ applied: result.applied.map((m) => m.version) }, 'migrations applied');
    }
  } catch (err) {
    await bus?.close().catch(() => undefined);
    await store?.close().catch(() => undefined);
    release();
    throw err;
  }
  const writer = new BatchWriter(store, {
    flushRows: config.normalizer.flushRows,
    flushIntervalMs: config.normalizer.flushIntervalMs,
    lingerMs: config.normalizer.lingerMs,
    metrics,
    logger,
  });
  const b = bus;
  const s = store;
  let closing: Promise<void> | undefined;
  return {
    config,
    clock,
    organisation,
    logger,
    metrics,
    bus: b,
    store: s,
    writer,
    close() {
      closing ??= (async () => {
        await writer.close().catch((err: unknown) => logger.error({ err }, 'final flush failed'));
        await b.close().catch((err: unknown) => logger.error({ err }, 'closing the bus failed'));
        await s.close().catch((err: unknown) => logger.error({ err }, 'closing the store failed'));
        release();
      })();
      return closing;
    },
  };
}

/** A runtime on the store a running ptel serves for its data folder: no lock, no bus of its own, no migrations. */
async function attachRuntime(
  config: Config,
  running: NonNullable<ReturnType<typeof findRunningStore>>,
  parts: Pick<Runtime, 'clock' | 'organisation' | 'logger' | 'metrics'>,
): Promise<Runtime> {
  const store = await openStore(
    {
      kind: 'attached',
      url: running.url,
      username: running.user,
      password: running.password,
      database: config.clickhouse.database,
      requestTimeoutMs: config.clickhouse.requestTimeoutMs,
    },
    { logger: parts.logger },
  );
  const ping = await store.client.ping();
  if (!ping.success) {
    await store.close();
    throw new DataDirInUseError(
      `data folder ${config.dataDir} is held by process ${running.pid}, whose store does not answer at ${running.url}; ` +
        'wait for it to start, or stop it',
    );
  }
  const writer = new BatchWriter(store, {
    flushRows: config.normalizer.flushRows,
    flushIntervalMs: config.normalizer.flushIntervalMs,
    lingerMs: config.normalizer.lingerMs,
    metrics: parts.metrics,
    logger: parts.logger,
  });
  parts.logger.debug({ pid: running.pid, url: running.url }, 'working on the store of the running ptel');
  let closing: Promise<void> | undefined;
  return {
    config,
    ...parts,
    bus: unavailableBus(running.pid),
    store,
    writer,
    attachedTo: { pid: running.pid, url: running.url },
    close() {
      closing ??= (async () => {
        await writer.close().catch((err: unknown) => parts.logger.error({ err }, 'final flush failed'));
        await store.close().catch((err: unknown) => parts.logger.error({ err }, 'closing the store failed'));
      })();
      return closing;
    },
  };
}

function requireSecret(value: string | undefined, variable: string, key: string): string {
  if (value === undefined || value === '') throw new Error(`'${key}' is configured but ${variable} is not set in the environment`);
  return value;
}
