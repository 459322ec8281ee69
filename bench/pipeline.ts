import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { publishRecords, rawEventMessage } from '../connectors/core/publish.js';
import { benchGithub } from '../test/fakes/github-bench.js';
import { benchGitlab } from '../test/fakes/gitlab-bench.js';
import { benchJira } from '../test/fakes/jira-bench.js';
import { benchPagerduty } from '../test/fakes/pagerduty-bench.js';
import { generateDemoOrg } from '../connectors/demo/generator.js';
import { createKafkaBus } from '../infra/bus/kafka.js';
import type { Config } from '../infra/config/schema.js';
import { createLogger } from '../infra/observability/logger.js';
import { PipelineMetrics } from '../infra/observability/metrics.js';
import { BatchWriter, type Row } from '../infra/store/batch-writer.js';
import { openStore, type Store } from '../infra/store/client.js';
import { migrate } from '../infra/store/migrate.js';
import { buildRawEvent, type RawEvent, type SourceRecord } from '../schemas/raw-event.js';
import { waitUntilDrained } from '../workers/normalize/drain.js';
import { createMapperRegistry } from '../connectors/mappers.js';
import { mapContext } from '../mapping/registry.js';
import { rawEventRow, startNormalizer } from '../workers/normalize/normalizer.js';
import { consumerPerformance } from './kafka-limit.js';
import type { Figures } from './figures.js';

/** Each source's full and no-change sync against its fake API, one after the other. */
export async function benchConnectors(out: NodeJS.WritableStream, figures?: Figures): Promise<void> {
  for (const bench of [benchGithub, benchJira, benchPagerduty]) await bench(out, figures);
  await benchGitlab(out);
}

export interface BenchOptions {
  config: Config;
  events: number;
  /** Approximate size of each event's JSON, in bytes. */
  size: number;
  out: NodeJS.WritableStream;
  /** Where the pipeline's figure goes, beside the slower physical limit measured in the same run. */
  figures?: Figures;
}

/**
 * A GitHub pull request as GET /repos/{owner}/{repo}/pulls lists it (the demo organisation's rendering,
 * without the nested repository objects and link lists), so the normalizer maps it as it would a real one.
 */
let template: Record<string, unknown> | undefined;

function pullRequestTemplate(): Record<string, unknown> {
  if (template !== undefined) return template;
  const demo = generateDemoOrg({ seed: 1, now: new Date('2026-01-01T00:00:00Z'), months: 1, teams: 1 });
  const found = demo.records.find((r) => r.type === 'github.pull_request');
  if (found === undefined) throw new Error('the demo organisation has no pull request');
  const pr = structuredClone(found.payload) as Record<string, unknown>;
  for (const key of Object.keys(pr)) if (key.endsWith('_url') && key !== 'html_url') delete pr[key];
  for (const key of ['_links', 'user', 'assignee', 'assignees', 'requested_reviewers', 'requested_teams', 'milestone', 'auto_merge'])
    delete pr[key];
  for (const side of ['head', 'base']) {
    const ref = pr[side] as Record<string, unknown>;
    delete ref['repo'];
    delete ref['user'];
  }
  template = pr;
  return pr;
}

/** Pull request records of real shape, each its own entity, with the body padded to the requested size. */
export function benchRecords(from: number, n: number, size: number, runId: string): SourceRecord[] {
  const pr = pullRequestTemplate();
  const base = JSON.stringify(pr).length + 450;
  const filler = randomBytes(Math.max(0, size))
    .toString('base64')
    .slice(0, Math.max(0, size - base));
  const t0 = Date.UTC(2026, 0, 1);
  return Array.from({ length: n }, (_, k) => from + k).map((i) => {
    const at = new Date(t0 + i * 1000).toISOString();
    return {
      source: 'github',
      type: 'github.pull_request',
      subject: `bench/${runId}#${i}`,
      version: at,
      time: at,
      payload: { ...pr, number: i, id: 1_000_000 + i, title: `bench ${i}`, body: filler, updated_at: at },
    };
  });
}

/** The events of benchRecords, as a connector would publish them. */
export function benchEvents(from: number, n: number, size: number, runId: string): RawEvent[] {
  const t0 = new Date(Date.UTC(2026, 0, 1));
  return benchRecords(from, n, size, runId).map((r) => buildRawEvent(r, 'bench', t0));
}

/**
 * Pre-fills a fresh topic, then measures on the same data, one after the other: the physical limits
 * (Kafka's own Java consumer, ConsumerPerformance, reading the topic; ClickHouse taking the same rows
 * in one JSONEachRow insert, over its HTTP interface when the store is a server), ptel's Kafka client
 * consuming alone and ptel's store client inserting in the writer's batch size, then the whole
 * normalizer path from the topic into raw_events. Prints events per second, the ratio of the pipeline
 * to the slower physical limit, and the process's memory while the normalizer runs.
 */
export async function runBench(options: BenchOptions): Promise<void> {
  const { config, out } = options;
  const logger = createLogger({ level: 'warn' });
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const topic = `bench-${runId}.github`;
  const bus = createKafkaBus({ brokers: config.kafka.brokers, clientId: 'ptel-bench', logger, defaultPartitions: 4 });
  const database = `bench_${runId}`;
  // A ClickHouse server when one is configured (npm run bench starts one), so its HTTP insert is the limit.
  const server =
    config.clickhouse.url === undefined
      ? undefined
      : { url: config.clickhouse.url, username: config.clickhouse.username, password: config.secrets.clickhousePassword, database };
  const store: Store = await openStore(
    server !== undefined
      ? { kind: 'server', ...server }
      : { kind: 'embedded', path: path.join(config.dataDir, 'bench-clickhouse'), database },
  );
  const line = (s: string): void => void out.write(`${s}\n`);
  try {
    await migrate(store);
    // Events are made in chunks and dropped after use, so the memory figures below are the pipeline's.
    const total = options.events;
    const chunks = (fn: (events: RawEvent[], from: number) => Promise<void>) => async (): Promise<void> => {
      for (let from = 0; from < total; from += CHUNK) await fn(benchEvents(from, Math.min(CHUNK, total - from), options.size, runId), from);
    };
    const sample = JSON.stringify(benchEvents(0, 1, options.size, runId)[0]).length;
    line(`bench: ${total} events of ~${sample} bytes, topic ${topic} (4 partitions), store ${store.kind}`);
    await bus.ensureTopics([{ topic, partitions: 4 }]);
    let t = Date.now();
    await chunks((events) => bus.publish(topic, events.map(rawEventMessage)))();
    const produceRate = total / ((Date.now() - t) / 1000);
    line(`  produce (idempotent, acks=all):   ${fmt(produceRate)} events/s`);

    // The connectors' path: records made into events and published in 2,000-event chunks, one chunk
    // in flight, then kafka.publishInFlight of them, each on its own topic; beside the produce figure
    // above, which is the broker's limit for these messages on this producer.
    for (const inFlight of [1, config.kafka.publishInFlight]) {
      const prefix = `bench-${runId}-f${inFlight}.`;
      await bus.ensureTopics([{ topic: `${prefix}raw.github`, partitions: 4 }]);
      let publishMs = 0;
      for (let from = 0; from < total; from += CHUNK) {
        const records = benchRecords(from, Math.min(CHUNK, total - from), options.size, runId);
        const started = Date.now();
        await publishRecords(bus, records, 'bench', { topicPrefix: prefix, inFlight });
        publishMs += Date.now() - started;
      }
      const rate = total / (publishMs / 1000);
      line(
        `  publishRecords, ${inFlight} chunk(s) in flight: ${fmt(rate)} events/s (${(rate / produceRate).toFixed(2)} of the produce limit)`,
      );
    }

    // 1. The consume limit: Kafka's own Java consumer on the topic, fetching (its group join left out).
    const cp = await consumerPerformance(config, topic, total, `bench-java-${runId}`);
    const javaRate = cp.messages / cp.fetchSeconds;
    line(
      `  limit: Kafka Java consumer (ConsumerPerformance): ${fmt(javaRate)} events/s, ${(cp.megabytes / cp.fetchSeconds).toFixed(1)} MB/s`,
    );

    // ptel's Kafka client alone: the same consumer settings, a handler that only counts.
    let seen = 0;
    t = Date.now();
    const raw = await bus.consume({
      groupId: `bench-raw-${runId}`,
      topics: [topic],
      concurrency: 4,
      handler: (b) => {
        seen += b.messages.length;
        return Promise.resolve();
      },
    });
    await waitFor(() => seen >= total, 600_000);
    const consumeRate = total / ((Date.now() - t) / 1000);
    await raw.stop();
    line(
      `  ptel's Kafka client (kafkajs) consuming alone: ${fmt(consumeRate)} events/s (${(consumeRate / javaRate).toFixed(2)} of the Java consumer)`,
    );

    // 2. The insert limit: the rows the normalizer writes, in one JSONEachRow insert, into a copy of raw_events.
    await store.client.command({ query: 'CREATE TABLE raw_insert_probe AS raw_events' });
    const body: Buffer[] = [];
    await chunks((events, from) => {
      body.push(jsonEachRow(rawRows(events, { topic, from, partitions: 4 })));
      return Promise.resolve();
    })();
    const insertSeconds =
      server !== undefined
        ? await httpInsert(server, 'raw_insert_probe', body)
        : await timed(() => store.client.insert({ table: 'raw_insert_probe', values: Readable.from(body), format: 'JSONEachRow' }));
    const bodyMb = body.reduce((n, b) => n + b.length, 0) / 2 ** 20;
    body.length = 0;
    const insertRate = total / insertSeconds;
    const insertWhat =
      server !== undefined ? 'ClickHouse HTTP insert, JSONEachRow, one request' : 'ClickHouse engine insert, JSONEachRow, one insert';
    line(`  limit: ${insertWhat}: ${fmt(insertRate)} rows/s, ${(bodyMb / insertSeconds).toFixed(1)} MB/s`);
    await store.client.command({ query: 'TRUNCATE TABLE raw_insert_probe' });

    // ptel's store client alone: the same rows in batches of the writer's size.
    let insertMs = 0;
    await chunks(async (events, from) => {
      insertMs += await insertRawRows(store, 'raw_insert_probe', events, {
        topic,
        from,
        partitions: 4,
        batch: config.normalizer.flushRows,
      });
    })();
    const clientRate = total / (insertMs / 1000);
    line(`  ptel's store client inserting alone (${config.normalizer.flushRows}/batch): ${fmt(clientRate)} rows/s`);
    (globalThis as { gc?: () => void }).gc?.();

    // 3. The pipeline: normalizer from the topic into raw_events, offsets committed after each write.
    const metrics = new PipelineMetrics({ defaultMetrics: false });
    const writer = new BatchWriter(store, {
      flushRows: config.normalizer.flushRows,
      flushIntervalMs: config.normalizer.flushIntervalMs,
      lingerMs: config.normalizer.lingerMs,
      metrics,
    });
    (globalThis as { gc?: () => void }).gc?.();
    const baseline = process.memoryUsage();
    const groupId = `bench-pipeline-${runId}`;
    const samples: number[] = [];
    const heapSamples: number[] = [];
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      samples.push(m.rss);
      heapSamples.push(m.heapUsed);
    }, 100);
    t = Date.now();
    const sub = await startNormalizer({
      bus,
      writer,
      registry: createMapperRegistry(),
      metrics,
      logger,
      context: mapContext(config),
      groupId,
      topics: [topic],
      concurrency: config.normalizer.concurrency,
    });
    await waitUntilDrained(bus, groupId, [topic], 900_000);
    const pipelineRate = total / ((Date.now() - t) / 1000);
    clearInterval(sampler);
    await sub.stop();
    await writer.close();
    const stored = await store.client.query({ query: 'SELECT count() AS n FROM raw_events FINAL', format: 'JSONEachRow' });
    const n = Number((await stored.json<{ n: string }>())[0]?.n ?? 0);
    const slower = Math.min(javaRate, insertRate);
    const slowerWhat = javaRate < insertRate ? 'Kafka Java consumer' : insertWhat;
    line(`  pipeline kafka -> normalizer -> ClickHouse: ${fmt(pipelineRate)} events/s (${n} rows stored)`);
    line(`  ratio to the slower physical limit (${slowerWhat}): ${(pipelineRate / slower).toFixed(2)}`);
    line(`  memory before the pipeline run: rss ${mb(baseline.rss)}, heap ${mb(baseline.heapUsed)}`);
    line(`  memory during the pipeline run: peak rss ${mb(Math.max(...samples))}, peak heap ${mb(Math.max(...heapSamples))}`);
    line(`  rss by quarter of the run: ${quarters(samples).map(mb).join(' -> ')}`);
    line(`  heap by quarter of the run: ${quarters(heapSamples).map(mb).join(' -> ')}`);
    if (n !== total) throw new Error(`expected ${total} rows in raw_events, found ${n}`);
    const bound = [
      { rate: consumeRate, what: `ptel's Kafka client consuming alone` },
      { rate: clientRate, what: `ptel's store client inserting alone` },
    ].sort((a, b) => a.rate - b.rate)[0]!;
    options.figures?.add({
      name: `pipeline kafka -> normalizer -> ClickHouse (${store.kind}), ${fmt(total)} events of ~${fmt(sample)} B`,
      value: pipelineRate,
      unit: 'events/s',
      limit: { value: slower, what: slowerWhat },
      goal: { ratio: 0.5 },
      note: `${bound.what} ${fmt(bound.rate)}/s; rss by quarter ${quarters(samples).map(mb).join(' -> ')}`,
    });
  } finally {
    await store.client.command({ query: `DROP DATABASE IF EXISTS \`${database}\`` }).catch(() => undefined);
    await store.close();
    await bus.close();
  }
}

/** The raw_events rows of `events`, read from `topic` at offsets `from`..., round-robin over `partitions`. */
export function rawRows(events: RawEvent[], at: { topic: string; from: number; partitions: number }): Row[] {
  return events.map((e, i) => rawEventRow(e, { topic: at.topic, partition: (at.from + i) % at.partitions, offset: String(at.from + i) }));
}

/** Rows as JSONEachRow text: one JSON object a line. */
export function jsonEachRow(rows: readonly Row[]): Buffer {
  return Buffer.from(rows.map((r) => `${JSON.stringify(r)}\n`).join(''), 'utf8');
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

/**
 * ClickHouse's own HTTP interface taking `body` (JSONEachRow, made beforehand) into `table` in one
 * request, `INSERT INTO table FORMAT JSONEachRow`; returns the seconds from sending to the answer.
 */
export async function httpInsert(
  server: { url: string; username: string; password: string | undefined; database: string },
  table: string,
  body: readonly Buffer[],
): Promise<number> {
  const url = new URL(server.url);
  url.searchParams.set('database', server.database);
  url.searchParams.set('query', `INSERT INTO \`${table}\` FORMAT JSONEachRow`);
  const headers: Record<string, string> = { 'X-ClickHouse-User': server.username };
  if (server.password !== undefined && server.password !== '') headers['X-ClickHouse-Key'] = server.password;
  let next = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const part = body[next++];
      if (part === undefined) controller.close();
      else controller.enqueue(part);
    },
  });
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', headers, body: stream, duplex: 'half' });
  const answer = await res.text();
  const seconds = (performance.now() - started) / 1000;
  if (!res.ok) throw new Error(`ClickHouse HTTP insert into ${table} answered ${res.status}: ${answer.slice(0, 500)}`);
  return seconds;
}

/**
 * Inserts the rows the normalizer writes for `events` (read from `topic` at offsets `from`...,
 * round-robin over `partitions`) into `table`, `batch` rows per insert, as the writer batches them;
 * returns the milliseconds spent inserting (building the rows left out).
 */
export async function insertRawRows(
  store: Store,
  table: string,
  events: RawEvent[],
  at: { topic: string; from: number; partitions: number; batch: number },
): Promise<number> {
  const rows = rawRows(events, at);
  const started = Date.now();
  for (let i = 0; i < rows.length; i += at.batch) {
    await store.client.insert({ table, values: rows.slice(i, i + at.batch), format: 'JSONEachRow' });
  }
  return Date.now() - started;
}

export const CHUNK = 10_000;

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('bench timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MB`;

function quarters(samples: number[]): number[] {
  if (samples.length === 0) return [];
  // The sample at the end of each quarter of the run.
  return [0.25, 0.5, 0.75, 1].map((q) => samples[Math.max(0, Math.ceil(q * samples.length) - 1)]!);
}
