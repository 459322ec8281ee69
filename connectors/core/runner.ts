import type { Bus } from '../../infra/bus/types.js';
import { systemClock, type Clock } from '../../infra/clock.js';
import { pullSettingsOf, type Config } from '../../infra/config/schema.js';
import type { Logger } from '../../infra/observability/logger.js';
import type { PipelineMetrics } from '../../infra/observability/metrics.js';
import type { Store } from '../../infra/store/client.js';
import type { CursorStore } from './cursor-store.js';
import { createLimiter, SourceError } from '../../infra/http-retry.js';
import { publishRecords } from './publish.js';
import { isConfigured, type Connector, type Cursor, type StreamContext } from './types.js';

export interface SyncFilter {
  source?: string | undefined;
  stream?: string | undefined;
}

export interface StreamProgress {
  source: string;
  stream: string;
  scope: string;
  status: 'running' | 'ok' | 'failed';
  records: number;
  requests: number;
  pages: number;
  error?: string;
}

export interface SyncOptions {
  config: Config;
  connectors: Connector[];
  bus: Bus;
  cursors: CursorStore;
  logger: Logger;
  metrics?: PipelineMetrics;
  /** Where sync_runs rows go; none in tests that only look at the bus. */
  store?: Store;
  filter?: SyncFilter;
  /** A backfill from this date: reads from it whatever the cursors say, and leaves the live cursors alone. */
  backfillSince?: Date;
  /**
   * Where "now" comes from: run times, the first pull's start, the streams' own reads, and the clients'
   * rate-limit resets and retry waits (default: the wall clock).
   */
  clock?: Clock;
  signal?: AbortSignal;
  onProgress?: (p: StreamProgress) => void;
}

/** The connectors a filter selects, refusing a source or stream name that does not exist. */
export function selectConnectors(connectors: Connector[], config: Config, filter: SyncFilter = {}): Connector[] {
  if (filter.source !== undefined && !connectors.some((c) => c.source === filter.source)) {
    throw new Error(`unknown source '${filter.source}'; sources that pull: ${connectors.map((c) => c.source).join(', ')}`);
  }
  const chosen = connectors.filter((c) => (filter.source === undefined || c.source === filter.source) && isConfigured(c, config));
  if (filter.stream !== undefined) {
    const names = chosen.flatMap((c) => c.streams.map((s) => s.name));
    if (!names.includes(filter.stream)) throw new Error(`unknown stream '${filter.stream}'; streams: ${[...new Set(names)].join(', ')}`);
  }
  return chosen;
}

/**
 * Pulls every selected stream and scope: each page's records go on the bus, and only after the bus
 * acknowledged them is the page's cursor saved. A stream whose failure waiting cannot heal stops with
 * its message while the other streams go on; the result lists each one's outcome.
 */
export async function runSync(options: SyncOptions): Promise<StreamProgress[]> {
  const { config, bus, cursors, logger } = options;
  const clock = options.clock ?? systemClock;
  const now = (): Date => clock.date();
  const backfill = options.backfillSince !== undefined;
  const results: StreamProgress[] = [];
  const work: Array<Promise<void>> = [];
  for (const connector of selectConnectors(options.connectors, config, options.filter)) {
    const settings = pullSettingsOf(config, connector.source);
    const limit = createLimiter(settings?.concurrency ?? 4);
    // The client waits out rate limits and back-offs on the sync's clock, as its streams read "now" from it.
    const client = connector.client(config, logger.child({ source: connector.source }), clock);
    for (const stream of connector.streams) {
      if (options.filter?.stream !== undefined && stream.name !== options.filter.stream) continue;
      for (const scope of stream.scopes(config)) {
        const p: StreamProgress = {
          source: connector.source,
          stream: stream.name,
          scope,
          status: 'running',
          records: 0,
          requests: 0,
          pages: 0,
        };
        results.push(p);
        work.push(
          limit(async () => {
            const started = now();
            const key = { source: connector.source, stream: stream.name, scope };
            const log = logger.child({ source: connector.source, stream: stream.name, scope });
            options.onProgress?.(p);
            try {
              const cursor: Cursor | undefined = backfill ? undefined : await cursors.get(key);
              const since = options.backfillSince ?? new Date(started.getTime() - (settings?.initialDays ?? 180) * 86_400_000);
              const ctx: StreamContext = {
                config,
                logger: log,
                since,
                backfill,
                signal: options.signal ?? new AbortController().signal,
                clock,
              };
              for await (const page of stream.pull(client, scope, cursor, ctx)) {
                if (page.records.length > 0) {
                  await publishRecords(bus, page.records, `${connector.source}/${stream.name}`, {
                    ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
                    topicPrefix: config.kafka.topicPrefix,
                    inFlight: config.kafka.publishInFlight,
                    clock,
                  });
                }
                if (!backfill && page.cursor !== undefined) await cursors.set(key, page.cursor);
                p.records += page.records.length;
                p.requests += page.requests ?? 1;
                p.pages++;
                options.onProgress?.(p);
              }
              p.status = 'ok';
            } catch (err) {
              p.status = 'failed';
              p.error = err instanceof Error ? err.message : String(err);
              if (err instanceof SourceError) log.error({ status: err.status, kind: err.kind }, p.error);
              else log.error({ err }, 'stream failed');
            }
            options.onProgress?.(p);
            await options.store?.client
              .insert({
                table: 'sync_runs',
                values: [
                  {
                    ...key,
                    started_at: started.toISOString(),
                    finished_at: now().toISOString(),
                    status: p.status,
                    records: p.records,
                    requests: p.requests,
                    backfill: backfill ? 1 : 0,
                    error: p.error ?? '',
                  },
                ],
                format: 'JSONEachRow',
              })
              .catch((err: unknown) => log.warn({ err }, 'could not record the sync run'));
          }),
        );
      }
    }
  }
  await Promise.all(work);
  return results;
}
