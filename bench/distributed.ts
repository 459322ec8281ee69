import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel } from 'kafkajs';
import { publishRecords } from '../connectors/core/publish.js';
import { createKafkaBus } from '../infra/bus/kafka.js';
import type { Config } from '../infra/config/schema.js';
import { createLogger } from '../infra/observability/logger.js';
import { openStore, type Store } from '../infra/store/client.js';
import { migrate } from '../infra/store/migrate.js';
import { rawTopic } from '../schemas/raw-event.js';
import type { Figures } from './figures.js';
import { consumerPerformance } from './kafka-limit.js';
import { benchEvents, benchRecords, CHUNK, fmt, httpInsert, jsonEachRow, mb, rawRows } from './pipeline.js';

export { parseConsumerPerformance } from './kafka-limit.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'dist/cli/main.js');

export interface DistributedOptions {
  config: Config;
  events: number;
  /** Approximate size of each event's JSON, in bytes. */
  size: number;
  out: NodeJS.WritableStream;
  /** Where the drains' figure goes, beside the slower physical limit measured in the same run. */
  figures?: Figures;
}

/** One line of the result table. */
export interface ResultRow {
  scenario: string;
  events: number;
  seconds: number;
  /** Seconds from starting the normalizer processes until the first of them had joined its group. */
  startSeconds?: number;
  /** Peak resident memory (VmHWM) of each normalizer process, in bytes. */
  peakRss?: number[];
}

/** VmHWM (the peak resident set) from the text of /proc/<pid>/status, in bytes. */
export function peakRssOf(status: string): number {
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  if (m === null) throw new Error('no VmHWM line in the process status');
  return Number(m[1]) * 1024;
}

/**
 * The result table: each scenario with its events per second and its ratio to the slower of the two
 * limits, and the peak memory of its normalizer processes.
 */
export function resultTable(rows: ResultRow[], limits: { consume: number; insert: number }): string[] {
  const slower = Math.min(limits.consume, limits.insert);
  const cells = rows.map((r) => {
    const rate = r.events / r.seconds;
    return [
      r.scenario,
      fmt(r.events),
      r.seconds.toFixed(2),
      fmt(rate),
      (rate / slower).toFixed(2),
      r.startSeconds === undefined ? '' : r.startSeconds.toFixed(2),
      r.peakRss === undefined ? '' : r.peakRss.map(mb).join(' + '),
    ];
  });
  const head = [
    'scenario',
    'events',
    'seconds',
    'events/s',
    `ratio to ${limits.consume < limits.insert ? 'consume' : 'insert'} limit`,
    'join s',
    'normalizer peak RSS',
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const row = (c: string[]): string =>
    c
      .map((v, i) => (i === 0 || i === c.length - 1 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [row(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(row)];
}

/**
 * Distributed throughput against the local Kafka broker and ClickHouse server: the real `ptel normalize`
 * processes (1 and 2) draining a backlog, and storing events published live through publishRecords;
 * beside them, measured in the same run, Kafka's own Java consumer (ConsumerPerformance) on the same
 * topic and the server's HTTP insert of the same rows, in the writer's batch size.
 */
export async function benchDistributed(options: DistributedOptions): Promise<void> {
  const { config, out, events: total, size } = options;
  const line = (s: string): void => void out.write(`${s}\n`);
  const began = performance.now();
  const progress = (s: string): void => line(`  [${((performance.now() - began) / 1000).toFixed(1)} s] ${s}`);
  const url = config.clickhouse.url;
  if (url === undefined) {
    throw new Error('bench distributed: no ClickHouse server; set PTEL_CLICKHOUSE_URL (npm run bench sets it to the local server)');
  }
  if (!existsSync(CLI)) throw new Error(`bench distributed: ${CLI} is missing; run \`npm run build\` first`);
  const logger = createLogger({ level: 'warn' });
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const partitions = config.kafka.partitions;
  const bus = createKafkaBus({
    brokers: config.kafka.brokers,
    clientId: 'ptel-bench',
    logger,
    defaultPartitions: partitions,
    // A throughput measure: on a busy host an acknowledgement later than the product's bound is slow, not lost.
    publishTimeoutMs: Math.max(config.kafka.publishTimeoutMs, 60_000),
  });
  const server = (database: string): Promise<Store> =>
    openStore(
      { kind: 'server', url, username: config.clickhouse.username, password: config.secrets.clickhousePassword, database },
      { logger },
    );
  const databases: string[] = [];
  const prefixes: string[] = [];
  const children = new Set<ChildProcess>();
  const rows: ResultRow[] = [];

  /** A fresh topic prefix and database, migrated as `ptel migrate` would. */
  const fresh = async (name: string): Promise<{ prefix: string; topic: string; store: Store }> => {
    const prefix = `bench-${runId}-${name}.`;
    const database = `bench_${runId}_${name}`;
    prefixes.push(prefix);
    databases.push(database);
    const topic = rawTopic('github', prefix);
    await bus.ensureTopics([{ topic, partitions }]);
    const store = await server(database);
    await migrate(store);
    return { prefix, topic, store };
  };
  /** N records published through the connectors' publisher; returns the seconds it took (records made beforehand). */
  const publish = async (prefix: string): Promise<number> => {
    const records = benchRecords(0, total, size, runId);
    const t = performance.now();
    await publishRecords(bus, records, 'bench', { topicPrefix: prefix, inFlight: config.kafka.publishInFlight });
    return (performance.now() - t) / 1000;
  };
  const normalizers = async (n: number, prefix: string, store: Store): Promise<Normalizer[]> => {
    const started = await Promise.all(
      Array.from({ length: n }, () =>
        startNormalizer(config, { prefix, database: store.database, groupId: `bench-${runId}-${prefix}group` }),
      ),
    );
    for (const s of started) children.add(s.child);
    return started;
  };
  const stop = async (procs: Normalizer[]): Promise<number[]> => {
    const peaks = procs.map((p) => peakRssOf(readFileSync(`/proc/${p.child.pid}/status`, 'utf8')));
    await Promise.all(procs.map((p) => p.stop()));
    return peaks;
  };

  try {
    const sample = JSON.stringify(benchEvents(0, 1, size, runId)[0]).length;
    line(`bench distributed: ${fmt(total)} events of ~${sample} bytes per scenario, ${partitions} partitions, ClickHouse server ${url}`);

    // Backlog drain, one normalizer; the limits are measured on its topic before it starts.
    const a1 = await fresh('drain1');
    const publishBacklog = await publish(a1.prefix);
    progress(`backlog published: ${fmt(total / publishBacklog)} events/s`);
    const cp = await consumerPerformance(config, a1.topic, total, `bench-${runId}-java`);
    const consumeRate = cp.messages / cp.fetchSeconds;
    rows.push({ scenario: 'limit: Kafka Java consumer, fetch', events: cp.messages, seconds: cp.fetchSeconds });
    progress(
      `Kafka Java consumer (ConsumerPerformance): ${fmt(consumeRate)} events/s, ${(cp.megabytes / cp.fetchSeconds).toFixed(1)} MB/s ` +
        `fetching; ${fmt(cp.messages / cp.seconds)} events/s with the group join`,
    );
    const insertSeconds = await insertLimit(a1.store, a1.topic);
    const insertRate = total / insertSeconds;
    rows.push({ scenario: 'limit: ClickHouse HTTP insert, JSONEachRow, one request', events: total, seconds: insertSeconds });
    progress(`ClickHouse server HTTP insert (JSONEachRow, all rows in one request): ${fmt(insertRate)} rows/s`);

    for (const n of [1, 2]) {
      const s = n === 1 ? a1 : await fresh(`drain${n}`);
      if (n !== 1) await publish(s.prefix);
      const t = performance.now();
      const procs = await normalizers(n, s.prefix, s.store);
      const joined = await Promise.race(procs.map((p) => p.ready));
      await waitStored(s.store, total, procs);
      const end = performance.now();
      rows.push({
        scenario: `backlog drain, ${n} normalizer${n > 1 ? 's' : ''}`,
        events: total,
        seconds: (end - joined) / 1000,
        startSeconds: (joined - t) / 1000,
        peakRss: await stop(procs),
      });
      progress(`${rows.at(-1)!.scenario}: done`);
    }

    for (const n of [1, 2]) {
      const s = await fresh(`live${n}`);
      const t = performance.now();
      const procs = await normalizers(n, s.prefix, s.store);
      const joined = Math.max(...(await Promise.all(procs.map((p) => p.ready))));
      const started = performance.now();
      const publishSeconds = await publish(s.prefix);
      await waitStored(s.store, total, procs);
      const end = performance.now();
      const label = `live, ${n} normalizer${n > 1 ? 's' : ''}`;
      rows.push({ scenario: `${label}: publish`, events: total, seconds: publishSeconds });
      rows.push({
        scenario: `${label}: publish -> stored`,
        events: total,
        seconds: (end - started) / 1000,
        startSeconds: (joined - t) / 1000,
        peakRss: await stop(procs),
      });
      progress(`${label}: done`);
    }

    line('');
    for (const l of resultTable(rows, { consume: consumeRate, insert: insertRate })) line(l);
    const drains = rows.filter((r) => r.scenario.startsWith('backlog drain'));
    const best = drains.sort((a, b) => b.events / b.seconds - a.events / a.seconds)[0];
    if (best !== undefined) {
      const consumeSlower = consumeRate < insertRate;
      options.figures?.add({
        name: `distributed ${best.scenario} (ptel normalize processes, ClickHouse server)`,
        value: best.events / best.seconds,
        unit: 'events/s',
        limit: {
          value: Math.min(consumeRate, insertRate),
          what: consumeSlower ? 'Kafka Java consumer' : 'ClickHouse HTTP insert, JSONEachRow, one request',
        },
        goal: { ratio: 0.5 },
        note: `normalizer peak RSS ${best.peakRss?.map(mb).join(' + ') ?? '?'}`,
      });
    }
    line(
      'events/s of a drain run from the first normalizer joining its group to the last event stored; join s: from process start to that join ' +
        '(for live runs, to the last join, before publishing)',
    );
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    const admin = await server('default');
    for (const d of databases) await admin.client.command({ query: `DROP DATABASE IF EXISTS \`${d}\`` }).catch(() => undefined);
    await admin.close();
    await bus.close();
    await deleteTopics(config.kafka.brokers, prefixes).catch((err: unknown) => line(`  could not delete the bench topics: ${String(err)}`));
  }

  /** The server's HTTP insert of the rows the normalizer stores, all in one JSONEachRow request, into a scratch copy of raw_events. */
  async function insertLimit(store: Store, topic: string): Promise<number> {
    await store.client.command({ query: 'CREATE TABLE raw_insert_probe AS raw_events' });
    const body: Buffer[] = [];
    for (let from = 0; from < total; from += CHUNK) {
      body.push(jsonEachRow(rawRows(benchEvents(from, Math.min(CHUNK, total - from), size, runId), { topic, from, partitions })));
    }
    const seconds = await httpInsert(
      { url: url!, username: config.clickhouse.username, password: config.secrets.clickhousePassword, database: store.database },
      'raw_insert_probe',
      body,
    );
    await store.client.command({ query: 'DROP TABLE raw_insert_probe' });
    return seconds;
  }
}

interface Normalizer {
  child: ChildProcess;
  /** performance.now() when the process answered /readyz 200: it has joined its consumer group. */
  ready: Promise<number>;
  stop(): Promise<void>;
}

/** A `ptel normalize` process in distributed mode on the bench's topic prefix, database and group. */
async function startNormalizer(config: Config, on: { prefix: string; database: string; groupId: string }): Promise<Normalizer> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'normalize'], {
    env: {
      ...process.env,
      ...(config.configPath === undefined ? {} : { PTEL_CONFIG: config.configPath }),
      PTEL_MODE: 'distributed',
      PTEL_KAFKA_BROKERS: config.kafka.brokers.join(','),
      PTEL_KAFKA_TOPIC_PREFIX: on.prefix,
      PTEL_CLICKHOUSE_ENGINE: 'server',
      PTEL_CLICKHOUSE_URL: config.clickhouse.url,
      PTEL_CLICKHOUSE_DATABASE: on.database,
      PTEL_NORMALIZER_GROUP: on.groupId,
      PTEL_HTTP_HOST: '127.0.0.1',
      PTEL_HTTP_PORT: String(port),
      PTEL_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const failure = (what: string): Error =>
    new Error(`ptel normalize (pid ${child.pid}) ${what}; exit ${child.exitCode ?? child.signalCode}; its stderr ends:\n${stderr}`);
  const ready = (async (): Promise<number> => {
    const deadline = performance.now() + 120_000;
    while (performance.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) throw failure('exited before it was ready');
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return performance.now();
      await new Promise((r) => setTimeout(r, 25));
    }
    throw failure('was not ready (joined to its group) within 120 s');
  })();
  ready.catch(() => undefined);
  return {
    child,
    ready,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timeout = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timeout);
      if (child.exitCode !== 0) throw failure('did not stop cleanly on SIGTERM');
    },
  };
}

/** Waits until `total` distinct events are in raw_events, polling every 100 ms; fails when a normalizer exits. */
async function waitStored(store: Store, total: number, procs: Normalizer[]): Promise<void> {
  const deadline = performance.now() + 600_000;
  let n = 0;
  while (performance.now() < deadline) {
    const r = await store.client.query({ query: 'SELECT uniqExact(id) AS n FROM raw_events', format: 'JSONEachRow' });
    n = Number((await r.json<{ n: string }>())[0]?.n ?? 0);
    if (n >= total) return;
    const gone = procs.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
    if (gone !== undefined) throw new Error(`ptel normalize (pid ${gone.child.pid}) exited with ${n} of ${total} events stored`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`only ${n} of ${total} events stored in ${store.database}.raw_events after 600 s`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Deletes every topic whose name starts with one of `prefixes` (the raw and dead-letter topics of the runs). */
async function deleteTopics(brokers: string[], prefixes: string[]): Promise<void> {
  const admin = new Kafka({ clientId: 'ptel-bench-cleanup', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => prefixes.some((p) => t.startsWith(p)));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}
