import { performance } from 'node:perf_hooks';
import { publishRecords } from '../connectors/core/publish.js';
import type { StreamProgress } from '../connectors/core/runner.js';
import { createMapperRegistry } from '../connectors/mappers.js';
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

function readinessChecks(rt: Runtime): Record<string, () => Promise<void>> {
  return {
    store: async () => {
      const r = await rt.store.client.ping();
      if (!r.success) throw r.error;
    },
    bus: async () => {
      await rt.bus.lag(rt.config.normalizer.groupId, rawTopics(rt)[0]!);
    },
  };
}

/** Health, readiness and metrics; with `webhooks`, the webhook endpoints too. */
function serveHttp(rt: Runtime, options: { webhooks: boolean }): Promise<RunningServer> {
  return startHttpServer({
    host: rt.config.http.host,
    port: rt.config.http.port,
    metrics: rt.metrics,
    logger: rt.logger,
    readiness: readinessChecks(rt),
    routes: options.webhooks ? webhookRoutesFor(rt) : {},
  });
}

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

/** Publishes the demo organisation's history (demo only); returns what it published. */
async function publishDemo(rt: Runtime): Promise<DemoHistory | undefined> {
  const demo = rt.organisation.demoRecords();
  if (demo === undefined) return undefined;
  const published = await publishRecords(rt.bus, demo.records, DEMO_CONNECTOR, {
    metrics: rt.metrics,
    topicPrefix: rt.config.kafka.topicPrefix,
    clock: rt.clock,
  });
  rt.logger.info({ published: Object.fromEntries(published) }, 'published');
  return demo;
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

export interface RunHooks {
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
    if (rt.organisation.kind === 'demo') {
      demo = rt.organisation.demoRecords();
      hooks.onStart?.({ ...(demo !== undefined ? { demo } : {}), sources: [] });
      await publishDemo(rt);
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
  const normalizer = await startNormalizing(rt);
  const http = await serveHttp(rt, { webhooks: true });
  const demo = rt.organisation.kind === 'demo';
  const schedules = jobSchedules(rt.config, rt.organisation).filter((s) => !demo || s.job !== 'pull');
  const scheduler: Scheduler = createScheduler(rt, schedules, jobHandlers(rt));
  await scheduler.start();
  // The embedded store is this process's alone: serve it, so that other commands can read it meanwhile.
  const bridge =
    rt.store.kind === 'embedded' ? await createStoreBridge({ store: rt.store, logger: rt.logger, clock: rt.clock }) : undefined;
  const unadvertise =
    bridge !== undefined
      ? advertiseStore(rt.config.dataDir, { url: bridge.url, user: bridge.user, password: bridge.password, pid: process.pid })
      : () => undefined;
  if (demo) {
    const history = rt.organisation.demoRecords();
    hooks.onStart?.({ ...(history !== undefined ? { demo: history } : {}), sources: [] });
    await publishDemo(rt);
  } else {
    hooks.onStart?.({ sources: rt.organisation.connectors.map((c) => c.source) });
  }
  return {
    url: http.url,
    ...(bridge !== undefined ? { storeUrl: bridge.url } : {}),
    async stop() {
      await http.close();
      await scheduler.stop();
      await normalizer.stop();
      unadvertise();
      await bridge?.close();
    },
  };
}

/** `connect`: the scheduled jobs (pulls, linker, metrics, alerts, export), and health endpoints. */
export async function startConnect(rt: Runtime): Promise<RunningRole> {
  const schedules = jobSchedules(rt.config, rt.organisation);
  if (!schedules.some((s) => s.job === 'pull')) rt.logger.warn('no source is configured; nothing to pull');
  const scheduler = createScheduler(rt, schedules, jobHandlers(rt));
  await scheduler.start();
  const http = await serveHttp(rt, { webhooks: false });
  return {
    url: http.url,
    async stop() {
      await http.close();
      await scheduler.stop();
    },
  };
}

/** `normalize`: a normalizer worker, and health endpoints. */
export async function startNormalize(rt: Runtime): Promise<RunningRole> {
  const normalizer = await startNormalizing(rt);
  const http = await serveHttp(rt, { webhooks: false });
  return {
    url: http.url,
    async stop() {
      await normalizer.stop();
      await http.close();
    },
  };
}

/** `serve`: the webhook endpoints, and health endpoints. */
export async function startServe(rt: Runtime): Promise<RunningRole> {
  const http = await serveHttp(rt, { webhooks: true });
  return { url: http.url, stop: () => http.close() };
}

/**
 * `sync`: pulls once. In embedded mode nothing else consumes the in-process bus, so the sync also
 * normalizes what it pulled and leaves it stored; in distributed mode the normalizer workers do.
 */
export async function syncSources(rt: Runtime, options: SyncOptions = {}): Promise<{ results: StreamProgress[]; stored: boolean }> {
  if (rt.config.mode !== 'embedded') return { results: await syncOnce(rt, options), stored: false };
  const normalizer = await startNormalizing(rt);
  try {
    const results = await syncOnce(rt, options);
    await waitUntilDrained(rt.bus, rt.config.normalizer.groupId, rawTopics(rt), { clock: rt.clock });
    return { results, stored: true };
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
