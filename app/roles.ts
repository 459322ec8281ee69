import { performance } from 'node:perf_hooks';
import { publishRecords } from '../connectors/core/publish.js';
import type { StreamProgress } from '../connectors/core/runner.js';
import { INGEST_SOURCES } from '../connectors/ingest/index.js';
import { createMapperRegistry } from '../connectors/mappers.js';
import { DEFAULT_HTTP_PORTS, httpPortOf, type HttpRole } from '../infra/config/schema.js';
import { startHttpServer, type RunningServer } from '../infra/observability/http.js';
import type { Scheduler } from '../infra/scheduler/types.js';
import { advertiseStore } from '../infra/store/attach.js';
import { createStoreBridge } from '../infra/store/bridge.js';
import { SOURCES, rawTopic } from '../schemas/raw-event.js';
import type { StallAlertsResult } from '../workers/alerts/stalls.js';
import type { DeliveryResult } from '../workers/reports/delivery.js';
import { modelSummary, type ModelSummary } from '../workers/link/summary.js';
import { waitUntilDrained } from '../workers/normalize/drain.js';
import { startNormalizer } from '../workers/normalize/normalizer.js';
import { replay } from '../workers/normalize/replay.js';
import { dataQualitySummary, type DataQualityRow } from '../workers/normalize/quality.js';
import { DEMO_CONNECTOR, deadLetterCounts, eventsByConnector, storedEvents, type StoredEvents } from '../workers/normalize/status.js';
import { kpiSummary, type KpiRow } from '../workers/metrics/queries.js';
import { jobFreshness, type JobFreshness } from './job-runs.js';
import { forecastsNow } from './forecasts.js';
import { registersNow } from './registers.js';
import type { DemoHistory } from './organisation.js';
import {
  createScheduler,
  jobHandlers,
  jobSchedules,
  linkNow,
  metricsNow,
  stallAlertsNow,
  statusReportsNow,
  syncOnce,
  webhookRoutesFor,
  type SyncOptions,
} from './jobs.js';
import type { Runtime } from './runtime.js';

/** The roles a process can take, each one a long-running service with a stop in the shutdown order. */
export interface RunningRole {
  /** Where its HTTP endpoints listen, when it serves any. */
  url?: string;
  /** Where the embedded store is served over ClickHouse's HTTP interface, for other ptel commands and Grafana. */
  storeUrl?: string;
  /** Stops intake, drains and flushes, in that order. */
  stop(): Promise<void>;
}

export const rawTopics = (rt: Pick<Runtime, 'config'>): string[] => SOURCES.map((s) => rawTopic(s, rt.config.kafka.topicPrefix));

/**
 * A step of a role's startup that readiness waits for: its check fails, saying what is awaited, until
 * the step is done, and with the step's error when it failed.
 */
interface StartupGate {
  check(): void;
  done(): void;
  failed(err: unknown): void;
}

function startupGate(awaited: string): StartupGate {
  let state: { kind: 'waiting' } | { kind: 'done' } | { kind: 'failed'; err: unknown } = { kind: 'waiting' };
  return {
    check() {
      if (state.kind === 'waiting') throw new Error(awaited);
      if (state.kind === 'failed') {
        const why = state.err instanceof Error ? state.err.message : String(state.err);
        throw new Error(`${awaited}: ${why}`, { cause: state.err });
      }
    },
    done: () => (state = { kind: 'done' }),
    failed: (err) => (state = { kind: 'failed', err }),
  };
}

/** What a role's readiness depends on beyond the bus. */
interface ReadinessParts {
  /** The role consumes the raw topics: not ready until its consumer has joined the normalizer group. */
  consumer?: StartupGate;
  /** The role runs schedules: ready only while the server they live on (Redis) answers. */
  scheduler?: Scheduler;
  /**
   * The role does not use the store once started (the webhook server only publishes): it stays ready
   * and keeps taking deliveries while ClickHouse is down.
   */
  withoutStore?: boolean;
}

/** One check per dependency the role uses, named after it; /readyz answers 503 naming the ones that fail. */
function readinessChecks(rt: Runtime, parts: ReadinessParts): Record<string, () => Promise<void>> {
  const checks: Record<string, () => Promise<void>> = {};
  if (parts.withoutStore !== true) {
    checks['store'] = async () => {
      const r = await rt.store.client.ping();
      if (!r.success) throw namingServer(storeName(rt), r.error);
    };
  }
  checks['bus'] = async () => {
    parts.consumer?.check();
    try {
      await rt.bus.lag(rt.config.normalizer.groupId, rawTopics(rt)[0]!);
    } catch (err) {
      // A role that only publishes creates the topics on its first publish: a broker that says the
      // topic does not exist yet has answered. A consuming role has created them before it joined.
      if (parts.consumer !== undefined || !unknownTopic(err)) throw namingServer(busName(rt), err);
    }
  };
  const scheduler = parts.scheduler;
  if (scheduler?.checkReady !== undefined) checks['redis'] = () => scheduler.checkReady!();
  return checks;
}

/** The store as a readiness message names it: the ClickHouse server's address (without credentials), or the engine. */
function storeName(rt: Runtime): string {
  const url = rt.config.clickhouse.url;
  if (rt.store.kind === 'server' && url !== undefined) return `ClickHouse at ${URL.canParse(url) ? new URL(url).origin : url}`;
  return rt.store.kind === 'attached' ? 'the store of the running ptel' : 'the embedded ClickHouse engine';
}

/** The bus as a readiness message names it: Kafka and its brokers, or the in-process event log. */
const busName = (rt: Runtime): string => (rt.bus.kind === 'kafka' ? `Kafka (${rt.config.kafka.brokers.join(', ')})` : 'the event log');

/** An error whose message says which server failed, keeping the original as its cause. */
function namingServer(server: string, err: unknown): Error {
  return new Error(`${server}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** Whether the bus failed because the topic does not exist (yet). */
function unknownTopic(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; depth++) {
    if ((e as { type?: unknown }).type === 'UNKNOWN_TOPIC_OR_PARTITION') return true;
    e = (e as { cause?: unknown; originalError?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
  }
  return false;
}

/**
 * Health, readiness and metrics; with `webhooks`, the webhook endpoints too. Every role serves them
 * first, before it connects its consumers and schedules: /healthz answers from process start (a
 * consumer may wait long to join its group), and /readyz says what is still awaited.
 */
async function serveHttp(
  rt: Runtime,
  role: HttpRole,
  options: { webhooks: boolean } & ReadinessParts,
  hooks: ServeHooks,
): Promise<RunningServer> {
  const port = httpPortOf(rt.config, role);
  const server = await startHttpServer({
    host: rt.config.http.host,
    port,
    portHint: portHint(rt.config.http.port, role, port),
    metrics: rt.metrics,
    logger: rt.logger,
    readiness: readinessChecks(rt, options),
    readinessServers: {
      store: storeName(rt),
      bus: busName(rt),
      ...(options.scheduler?.server !== undefined ? { redis: options.scheduler.server } : {}),
    },
    routes: options.webhooks ? { ...webhookRoutesFor(rt), ...webhookRoutesFor(rt, INGEST_SOURCES) } : {},
  });
  hooks.onListening?.(server.url);
  return server;
}

/** How to give a role another port, for the error when its port is taken. */
function portHint(configured: number | undefined, role: HttpRole, port: number): string {
  return configured === undefined
    ? `${port} is the default port of 'ptel ${role}'; set PTEL_HTTP_PORT (or http.port in the configuration) to choose another`
    : 'the port is http.port (PTEL_HTTP_PORT or the configuration file); choose another there, ' +
        `or leave it unset for each role's own default (${Object.entries(DEFAULT_HTTP_PORTS)
          .map(([r, p]) => `${r} ${p}`)
          .join(', ')})`;
}

/** Starts the normalizer; the gate opens once its consumer has joined the group. */
async function startConsuming(rt: Runtime, joined: StartupGate): ReturnType<typeof startNormalizer> {
  try {
    const normalizer = await startNormalizing(rt);
    void normalizer.ready.then(
      () => joined.done(),
      (err: unknown) => joined.failed(err),
    );
    return normalizer;
  } catch (err) {
    joined.failed(err);
    throw err;
  }
}

const consumerGate = (rt: Runtime): StartupGate =>
  startupGate(`the normalizer has not joined consumer group '${rt.config.normalizer.groupId}' yet`);

function startNormalizing(rt: Runtime): ReturnType<typeof startNormalizer> {
  return startNormalizer({
    bus: rt.bus,
    writer: rt.writer,
    registry: createMapperRegistry(),
    metrics: rt.metrics,
    logger: rt.logger,
    context: rt.organisation.mapContext(),
    groupId: rt.config.normalizer.groupId,
    topics: rawTopics(rt),
    concurrency: rt.config.normalizer.concurrency,
    sessionTimeoutMs: rt.config.normalizer.sessionTimeoutMs,
    clock: rt.clock,
  });
}

/** Publishes the demo organisation's history (demo only); returns it with the events published per topic. */
async function publishDemo(rt: Runtime, demo: DemoHistory): Promise<Array<{ topic: string; events: number }>> {
  const published = await publishRecords(rt.bus, demo.records, DEMO_CONNECTOR, {
    metrics: rt.metrics,
    topicPrefix: rt.config.kafka.topicPrefix,
    clock: rt.clock,
  });
  const topics = [...published]
    .map(([source, events]) => ({ topic: rawTopic(source, rt.config.kafka.topicPrefix), events }))
    .sort((a, b) => a.topic.localeCompare(b.topic));
  rt.logger.info({ published: Object.fromEntries(topics.map((t) => [t.topic, t.events])) }, 'published');
  return topics;
}

/** What `ptel demo` put in: the demo's history, the events published per topic, and whether they are stored yet. */
export interface DemoPut {
  demo: DemoHistory;
  topics: Array<{ topic: string; events: number }>;
  /**
   * True when this process stored them before it ended (embedded mode: nothing else consumes the
   * in-process bus); false when they are on the bus for the normalizer group (`ptel normalize`).
   */
  stored: boolean;
}

/**
 * `demo`: puts the demo organisation's history, at the deployment's anchor, on the bus and ends. In
 * distributed mode the normalizer group stores it and this process never joins that group; in
 * embedded mode it normalizes what it published itself, as `sync` does. The event ids come from the
 * anchor, so running it again stores nothing new. Undefined when the organisation is configured.
 */
export async function putDemo(rt: Runtime): Promise<DemoPut | undefined> {
  const demo = await rt.organisation.demoRecords(rt.store);
  if (demo === undefined) return undefined;
  if (rt.config.mode !== 'embedded') return { demo, topics: await publishDemo(rt, demo), stored: false };
  const normalizer = await startNormalizing(rt);
  try {
    const topics = await publishDemo(rt, demo);
    await waitUntilDrained(rt.bus, rt.config.normalizer.groupId, rawTopics(rt), { clock: rt.clock });
    return { demo, topics, stored: true };
  } finally {
    await normalizer.stop();
  }
}

/** What the store holds after a run. */
export interface StoreSummary {
  events: StoredEvents[];
  deadLetters: Array<{ code: string; count: number }>;
  /** Fields that could not be read and were left empty, counted per source, entity and field. */
  dataQuality: DataQualityRow[];
  model: ModelSummary;
}

export async function storeSummary(rt: Pick<Runtime, 'store'>): Promise<StoreSummary> {
  return { ...(await storeStatus(rt)), model: await modelSummary(rt.store) };
}

/** The stored events and dead letters, now or as the store held them at `asOf`. */
export async function storeStatus(rt: Pick<Runtime, 'store'>, options: { asOf?: Date } = {}): Promise<Omit<StoreSummary, 'model'>> {
  return {
    events: await storedEvents(rt.store, options),
    deadLetters: await deadLetterCounts(rt.store, options),
    // Notes are counted as they come, not versioned: as of a past instant there is no count to give.
    dataQuality: options.asOf === undefined ? await dataQualitySummary(rt.store) : [],
  };
}

export interface RunOnceResult {
  /** The demo organisation, when the run used it. */
  demo?: DemoHistory;
  /** The configured sources pulled, with each stream's outcome. */
  pulled: StreamProgress[];
  seconds: number;
  summary: StoreSummary;
  /** The org's monthly values of the last complete month that has any (see kpiSummary). */
  kpis: KpiRow[];
  /** The stall detector's run, when alerts are enabled. */
  stalls?: StallAlertsResult;
  /** Each register in a few words, as the run left them. */
  registers: string[];
  /** The weekly status reports owed, written and sent, when they are enabled. */
  reports?: DeliveryResult;
}

export interface ServeHooks {
  /** Called once the health endpoints listen, before the role's consumers and schedules start. */
  onListening?: (url: string) => void;
}

export interface RunHooks extends ServeHooks {
  /** Called before the pull starts, with the demo or the configured sources. */
  onStart?: (what: { demo?: DemoHistory; sources: string[] }) => void;
  onProgress?: (p: StreamProgress) => void;
}

/**
 * `run --once`: pull once (the demo organisation when nothing is configured), wait until every event is
 * stored, link, compute every metric, forecast the open milestones, run the stall detector, write and
 * send the weekly status reports owed, and say what the store holds.
 */
export async function runOnce(rt: Runtime, hooks: RunHooks = {}): Promise<RunOnceResult> {
  // A duration, on the monotonic timer: the clock gives the instant a run evaluates at, which may stand still.
  const started = performance.now();
  const normalizer = await startNormalizing(rt);
  let pulled: StreamProgress[] = [];
  let demo: DemoHistory | undefined;
  try {
    demo = await rt.organisation.demoRecords(rt.store);
    if (demo !== undefined) {
      hooks.onStart?.({ demo, sources: [] });
      await publishDemo(rt, demo);
    } else {
      hooks.onStart?.({ sources: rt.organisation.connectors.map((c) => c.source) });
      pulled = await syncOnce(rt, hooks.onProgress !== undefined ? { onProgress: hooks.onProgress } : {});
    }
    await waitUntilDrained(rt.bus, rt.config.normalizer.groupId, rawTopics(rt), { clock: rt.clock });
  } finally {
    await normalizer.stop();
  }
  // The full run links first, so the metrics count every link the new events make.
  await metricsNow(rt, { mode: 'full' });
  await forecastsNow(rt);
  const stalls = rt.config.alerts.stalls.enabled ? await stallAlertsNow(rt) : undefined;
  const registers = await registersNow(rt);
  const reports = rt.config.reports.status.enabled ? await statusReportsNow(rt) : undefined;
  const seconds = (performance.now() - started) / 1000;
  const summary = await storeSummary(rt);
  const kpis = await kpiSummary(rt.store, { now: rt.clock.date(), tz: rt.config.metrics.timeZone });
  return {
    ...(demo !== undefined ? { demo } : {}),
    pulled,
    seconds,
    summary,
    kpis,
    registers: registers.headlines,
    ...(stalls !== undefined ? { stalls } : {}),
    ...(reports !== undefined ? { reports } : {}),
  };
}

/** Whose data the store holds: the organisation this process resolved, and the events of the demo among what is stored. */
export interface DataOrigin {
  kind: 'configured' | 'demo';
  /** The configured sources (none for the demo). */
  sources: string[];
  /** Stored events the demo organisation published, and the others (pulled or received). */
  demoEvents: number;
  otherEvents: number;
}

/** How fresh the store is: whose data it holds and when each job last ran, at the clock's instant or at `asOf`. */
export interface Freshness {
  /** The instant the ages are counted from: the clock's now, or `asOf`. */
  at: Date;
  origin: DataOrigin;
  jobs: JobFreshness[];
}

export async function storeFreshness(
  rt: Pick<Runtime, 'store' | 'clock' | 'config' | 'organisation'>,
  options: { asOf?: Date } = {},
): Promise<Freshness> {
  const counted = await eventsByConnector(rt.store, options);
  const demoEvents = counted.filter((c) => c.connector === DEMO_CONNECTOR).reduce((n, c) => n + c.events, 0);
  const otherEvents = counted.filter((c) => c.connector !== DEMO_CONNECTOR).reduce((n, c) => n + c.events, 0);
  return {
    at: options.asOf ?? rt.clock.date(),
    origin: {
      kind: rt.organisation.kind,
      sources: rt.organisation.connectors.map((c) => c.source),
      demoEvents,
      otherEvents,
    },
    jobs: await jobFreshness(rt, options),
  };
}

/**
 * `run`: the whole pipeline in this process until stopped: the normalizer, the webhooks and health
 * endpoints, and every schedule (the demo is published once instead of pulled).
 */
export async function startRun(rt: Runtime, hooks: RunHooks = {}): Promise<RunningRole> {
  const demo = rt.organisation.kind === 'demo';
  const schedules = jobSchedules(rt.config, rt.organisation).filter((s) => !demo || s.job !== 'pull');
  const scheduler: Scheduler = createScheduler(rt, schedules, jobHandlers(rt));
  const joined = consumerGate(rt);
  const http = await serveHttp(rt, 'run', { webhooks: true, consumer: joined, scheduler }, hooks);
  let normalizer: Awaited<ReturnType<typeof startNormalizer>> | undefined;
  try {
    normalizer = await startConsuming(rt, joined);
    await scheduler.start();
  } catch (err) {
    await http.close();
    await normalizer?.stop();
    throw err;
  }
  const consuming = normalizer;
  // The embedded store is this process's alone: serve it, so that other commands can read it meanwhile.
  const bridge =
    rt.store.kind === 'embedded' ? await createStoreBridge({ store: rt.store, logger: rt.logger, clock: rt.clock }) : undefined;
  const unadvertise =
    bridge !== undefined
      ? advertiseStore(rt.config.dataDir, { url: bridge.url, user: bridge.user, password: bridge.password, pid: process.pid })
      : () => undefined;
  const history = demo ? await rt.organisation.demoRecords(rt.store) : undefined;
  if (history !== undefined) {
    hooks.onStart?.({ demo: history, sources: [] });
    await publishDemo(rt, history);
  } else {
    hooks.onStart?.({ sources: rt.organisation.connectors.map((c) => c.source) });
  }
  return {
    url: http.url,
    ...(bridge !== undefined ? { storeUrl: bridge.url } : {}),
    async stop() {
      await http.close();
      await scheduler.stop();
      await consuming.stop();
      unadvertise();
      await bridge?.close();
    },
  };
}

/** `connect`: the scheduled jobs (pulls, linker, metrics, alerts, export), and health endpoints. */
export async function startConnect(rt: Runtime, hooks: ServeHooks = {}): Promise<RunningRole> {
  const schedules = jobSchedules(rt.config, rt.organisation);
  if (!schedules.some((s) => s.job === 'pull')) rt.logger.warn('no source is configured; nothing to pull');
  const scheduler = createScheduler(rt, schedules, jobHandlers(rt));
  const http = await serveHttp(rt, 'connect', { webhooks: false, scheduler }, hooks);
  try {
    await scheduler.start();
  } catch (err) {
    await http.close();
    throw err;
  }
  return {
    url: http.url,
    async stop() {
      await http.close();
      await scheduler.stop();
    },
  };
}

/** `normalize`: a normalizer worker, and health endpoints. */
export async function startNormalize(rt: Runtime, hooks: ServeHooks = {}): Promise<RunningRole> {
  const joined = consumerGate(rt);
  const http = await serveHttp(rt, 'normalize', { webhooks: false, consumer: joined }, hooks);
  let normalizer: Awaited<ReturnType<typeof startNormalizer>>;
  try {
    normalizer = await startConsuming(rt, joined);
  } catch (err) {
    await http.close();
    throw err;
  }
  return {
    url: http.url,
    async stop() {
      await normalizer.stop();
      await http.close();
    },
  };
}

/** `serve`: the webhook endpoints, and health endpoints. */
export async function startServe(rt: Runtime, hooks: ServeHooks = {}): Promise<RunningRole> {
  const http = await serveHttp(rt, 'serve', { webhooks: true, withoutStore: true }, hooks);
  return { url: http.url, stop: () => http.close() };
}

/**
 * `sync`: pulls once. In embedded mode nothing else consumes the in-process bus, so the sync also
 * normalizes what it pulled and leaves it stored; in distributed mode the normalizer workers do.
 */
export async function syncSources(rt: Runtime, options: SyncOptions = {}): Promise<{ results: StreamProgress[]; stored: boolean }> {
  const { result, stored } = await publishedThenStored(rt, () => syncOnce(rt, options));
  return { results: result, stored };
}

/**
 * Runs `publish` (a sync, an import). In embedded mode nothing else consumes the in-process bus, so
 * what it published is also normalized and stored before this resolves; in distributed mode the
 * normalizer workers store it.
 */
export async function publishedThenStored<T>(rt: Runtime, publish: () => Promise<T>): Promise<{ result: T; stored: boolean }> {
  if (rt.config.mode !== 'embedded') return { result: await publish(), stored: false };
  const normalizer = await startNormalizing(rt);
  try {
    const result = await publish();
    await waitUntilDrained(rt.bus, rt.config.normalizer.groupId, rawTopics(rt), { clock: rt.clock });
    return { result, stored: true };
  } finally {
    await normalizer.stop();
  }
}

/** Re-normalizes stored raw events (after a mapping change), then links again. */
export async function replayStored(
  rt: Runtime,
  filter: { source?: string; type?: string; since?: Date },
): Promise<Awaited<ReturnType<typeof replay>>> {
  const result = await replay({
    store: rt.store,
    writer: rt.writer,
    registry: createMapperRegistry(),
    context: rt.organisation.mapContext(),
    filter,
    clock: rt.clock,
    onProgress: (n) => rt.logger.info({ events: n }, 'replay progress'),
  });
  await linkNow(rt);
  return result;
}

/** How far behind the normalizer group is, per raw topic with any events (none when the bus is another process's). */
export async function normalizerLag(rt: Runtime): Promise<Array<{ topic: string; behind: number }>> {
  if (rt.attachedTo !== undefined) return [];
  const out: Array<{ topic: string; behind: number }> = [];
  for (const topic of rawTopics(rt)) {
    const lag = await rt.bus.lag(rt.config.normalizer.groupId, topic);
    if (lag.some((p) => p.end > 0)) out.push({ topic, behind: lag.reduce((s, p) => s + Math.max(0, p.end - p.committed), 0) });
  }
  return out;
}
