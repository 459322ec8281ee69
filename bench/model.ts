import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateDemoOrg } from '../connectors/demo/generator.js';
import { rawEventBusMessage } from '../connectors/core/publish.js';
import type { BusMessage } from '../infra/bus/types.js';
import type { Config } from '../infra/config/schema.js';
import { BatchWriter, type Row } from '../infra/store/batch-writer.js';
import { openStore, type Store } from '../infra/store/client.js';
import { migrate } from '../infra/store/migrate.js';
import { buildRawEvent, payloadDigest } from '../schemas/raw-event.js';
import { link, type LinkResult } from '../workers/link/linker.js';
import { createMapperRegistry } from '../connectors/mappers.js';
import { decodeMessage, normalizeBatch, rawEventRow } from '../workers/normalize/normalizer.js';
import { mapContext, type MapContext } from '../mapping/registry.js';
import type { Figures } from './figures.js';
import { collectGarbage, memoryNow, rssSampler } from './memory.js';

type Sampler = ReturnType<typeof rssSampler>;

export interface ModelBenchOptions {
  config: Config;
  out: NodeJS.WritableStream;
  /** Events normalized in the throughput runs. */
  events: number;
  /** Commits in the linking run, spread over `repos` repositories. */
  commits: number;
  repos: number;
  /** Where the linking and memory figures go, beside their limits and goals. */
  figures?: Figures;
}

/**
 * Events a decode + validate + map pass takes at a time. 5,000 demo events (38 MB of JSON) held their parsed
 * payloads and rows together, and the heap grew by about 1.1 GB over the run; 1,000 keep it near 400 MB at the
 * same CPU cost per event.
 */
const BATCH = 1_000;
/**
 * Events a store insert carries in the into-ClickHouse runs, the raw insert and the writer alike. The
 * embedded engine takes an insert's body as one query text: 5,000 demo events (38 MB of JSON) raise its
 * resident memory by about 900 MB while they are parsed and written, 1,000 by about 130 MB.
 */
const STORE_BATCH = 1_000;
/** Commits inserted at a time while the linking history is set up. */
const SETUP_CHUNK = 20_000;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/**
 * The domain model's costs on this machine: normalization throughput on one core with the demo
 * organisation's payloads (vendor REST shapes of real size), into the embedded ClickHouse engine
 * against its raw insert rate; then linking deployments to commits over a generated history.
 */
export async function benchModel(options: ModelBenchOptions): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ptel-bench-model-'));
  // The whole run's resident memory, the in-process ClickHouse engine's included.
  const memory = rssSampler();
  const store = await openStore({ kind: 'embedded', path: dir, database: 'bench' });
  try {
    await migrate(store);
    await benchNormalize(store, options, memory);
    // The normalization section's messages and rows are garbage once it returns: collected before linking starts.
    collectGarbage();
    await releaseEngineMemory(store);
    await benchLink(store, options, memory);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  memory.stop();
  const peakMb = memory.peak() / 2 ** 20;
  options.out.write(
    `peak RSS of the whole run: ${fmt(peakMb)} MB (normalization of ${fmt(options.events)} events, linking ${fmt(options.commits)} commits)\n`,
  );
  options.figures?.add({
    name: `bench model peak RSS (${fmt(options.events)} events, ${fmt(options.commits)} commits)`,
    value: peakMb,
    unit: 'MB',
    goal: { value: 1024, atMost: true },
  });
}

/** The demo organisation's events as bus messages, with each one's type and payload size: the records and events go once these are built. */
function demoMessages(options: ModelBenchOptions): { context: MapContext; all: BusMessage[]; types: string[]; sizes: number[] } {
  const ingest = new Date('2026-11-01T00:00:00Z');
  const demo = generateDemoOrg({ seed: 42, now: ingest, months: 6, teams: 4 });
  const context = mapContext({ org: demo.org, jiraFields: demo.jiraFields, model: options.config.model });
  const all: BusMessage[] = [];
  const types: string[] = [];
  const sizes: number[] = [];
  for (const record of demo.records) {
    const event = buildRawEvent(record, 'demo', ingest);
    all.push(rawEventBusMessage(event, all.length));
    types.push(event.type);
    sizes.push(JSON.stringify(event.data).length);
  }
  return { context, all, types, sizes };
}

/** Messages cycled from `from`, `n` of them: batches cycle through the pool, so memory holds the pool, not the run. */
const batch = <T>(items: readonly T[], from: number, n: number): T[] =>
  Array.from({ length: n }, (_, k) => items[(from + k) % items.length]!);

/** Messages a floor or raw-insert pass prepares at a time outside its measurement. */
const PREPARE_CHUNK = 1_000;

async function benchNormalize(store: Store, options: ModelBenchOptions, memory: Sampler): Promise<void> {
  const { out } = options;
  const { context, all, types, sizes } = demoMessages(options);
  const registry = createMapperRegistry();
  const mean = (indexes: number[]): number => indexes.reduce((s, i) => s + sizes[i]!, 0) / Math.max(1, indexes.length);
  // A kind's messages share the mix's bytes; their offsets count within the kind, as a topic of that kind alone would.
  const ofKind = (type: string | undefined): { msgs: BusMessage[]; size: number } => {
    const indexes = all.flatMap((_, i) => (type === undefined || types[i] === type ? [i] : []));
    return { msgs: indexes.map((idx, k) => ({ ...all[idx]!, offset: String(k) })), size: mean(indexes) };
  };
  collectGarbage();
  out.write(
    `normalization (one core; the demo organisation's ${fmt(all.length)} entity versions, repeated to ${fmt(options.events)} events; ${memoryNow()})\n`,
  );
  const kinds: Array<[string, string | undefined]> = [
    ['github.pull_request', 'github.pull_request'],
    ['jira.issue', 'jira.issue'],
    ['all types (mix)', undefined],
  ];
  let mixRate = 0;
  let mixWall = 0;
  let mixSize = 0;
  for (const [label, type] of kinds) {
    const { msgs, size } = ofKind(type);
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let rows = 0;
    let dead = 0;
    for (let i = 0; i < options.events; i += BATCH) {
      const r = normalizeBatch(batch(msgs, i, Math.min(BATCH, options.events - i)), registry, context, {
        keepRaw: true,
        failedAt: '2026-11-01T00:00:00.000Z',
      });
      for (const t of r.tables.values()) rows += t.length;
      dead += r.dead.length;
      memory.sample();
    }
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpuSecs = cpuSeconds(cpu0);
    out.write(
      `  ${label.padEnd(20)} payload ${fmt(size)} B   decode+validate+map: ${fmt(options.events / secs)} events/s ` +
        `(${fmt(options.events / cpuSecs)} per CPU second)   ${fmt(rows / secs)} rows/s${dead > 0 ? `   (${dead} dead letters)` : ''}\n`,
    );
    mixRate = options.events / cpuSecs;
    mixWall = options.events / secs;
    mixSize = size;
  }
  // What no normalizer of these messages can beat on this core: reading each message's JSON, writing its
  // payload's JSON again as raw_events stores it, and hashing that (its digest), with nothing else. The
  // texts are made a chunk at a time outside the measurement, so memory holds a chunk of them, not all.
  let floorCpu = 0;
  let floorEvents = 0;
  while (floorEvents < options.events) {
    for (let from = 0; from < all.length; from += PREPARE_CHUNK) {
      const texts = all.slice(from, from + PREPARE_CHUNK).map((m) => m.value!.toString('utf8'));
      const cpu0 = process.cpuUsage();
      for (const text of texts) payloadDigest(JSON.stringify((JSON.parse(text) as { data: unknown }).data));
      floorCpu += cpuSeconds(cpu0);
    }
    floorEvents += all.length;
    memory.sample();
  }
  const floorRate = floorEvents / floorCpu;
  out.write(`  limit: JSON.parse + JSON.stringify of the payload + SHA-256 of the same messages alone: ${fmt(floorRate)} per CPU second\n`);
  options.figures?.add({
    name: `normalization of the demo mix, one core (decode, validate, map; ${fmt(mixSize)} B payloads)`,
    value: mixRate,
    unit: 'events/CPU-s',
    limit: { value: floorRate, what: 'JSON.parse + JSON.stringify + SHA-256 of the same messages' },
    goal: { value: 30_000 },
    note: `${fmt(mixWall)} events/s of wall time on a shared machine`,
  });

  // Into the store: the same mix, mapped and written through the batch writer, against inserting the raw rows
  // alone. A batch's raw rows are made from its messages before its insert, outside the measurement.
  let rawNs = 0n;
  for (let i = 0; i < options.events; i += STORE_BATCH) {
    const values = batch(all, i, Math.min(STORE_BATCH, options.events - i)).map(rawRowOf);
    const t0 = process.hrtime.bigint();
    await store.client.insert({ table: 'raw_events', values, format: 'JSONEachRow' });
    rawNs += process.hrtime.bigint() - t0;
    memory.sample();
  }
  const rawSecs = Number(rawNs) / 1e9;
  await store.client.command({ query: 'TRUNCATE TABLE raw_events' });
  await releaseEngineMemory(store);
  const { flushRows, flushIntervalMs } = options.config.normalizer;
  const writer = new BatchWriter(store, { flushRows, flushIntervalMs });
  collectGarbage();
  const before = process.memoryUsage();
  const peak = rssSampler();
  const t0 = process.hrtime.bigint();
  let domainRows = 0;
  for (let i = 0; i < options.events; i += STORE_BATCH) {
    const r = normalizeBatch(batch(all, i, Math.min(STORE_BATCH, options.events - i)), registry, context, {
      keepRaw: true,
      failedAt: '2026-11-01T00:00:00.000Z',
    });
    for (const [table, t] of r.tables) if (table !== 'raw_events') domainRows += t.length;
    peak.sample();
    // Each batch is written at once, as a batch of flushRows rows or more would be, not after the writer's linger.
    const written = writer.write([...r.tables].map(([table, rows]) => ({ table, rows })));
    await writer.flush();
    await written;
  }
  await writer.close();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  peak.stop();
  const mb = peak.peak() / 2 ** 20;
  memory.sample();
  const after = process.memoryUsage();
  out.write(
    `  into ClickHouse (embedded): ${fmt(options.events / secs)} events/s with ${fmt(domainRows / secs)} domain rows/s; ` +
      `raw insert of the same events alone ${fmt(options.events / rawSecs)} events/s (ratio ${(rawSecs / secs).toFixed(2)}); peak RSS ${fmt(mb)} MB\n`,
  );
  out.write(
    `  memory: RSS ${fmt(before.rss / 2 ** 20)} MB before (engine, demo messages), peak ${fmt(mb)} MB; ` +
      `JS heap ${fmt(before.heapUsed / 2 ** 20)} -> ${fmt(after.heapUsed / 2 ** 20)} MB\n`,
  );
}

/** The raw_events row of a message, as the normalizer writes it. */
function rawRowOf(msg: BusMessage): Row {
  const decoded = decodeMessage(msg);
  if (!decoded.ok) throw new Error(`bench model: a demo message at offset ${msg.offset} does not decode: ${decoded.reason}`);
  return rawEventRow(decoded.event, msg);
}

/**
 * Hands the memory the embedded engine freed back to the system between sections: its allocator keeps freed
 * pages for reuse, so one section's inserts would otherwise stay resident through the next.
 */
async function releaseEngineMemory(store: Store): Promise<void> {
  await store.client.command({ query: 'SYSTEM JEMALLOC PURGE' });
}

/** CPU seconds (user and system, every thread of the process) since `from`. */
function cpuSeconds(from: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
}

/** A sha that is the same for the same (repo, n) on every run. */
const shaOf = (repo: number, n: number): string => createHash('sha1').update(`${repo}:${n}`).digest('hex');

/**
 * A history per repository: a main line where every tenth commit merges a two-commit branch, and a
 * production deployment every 100 commits of the main line (one in 20 failed).
 */
async function benchLink(store: Store, options: ModelBenchOptions, memory: Sampler): Promise<void> {
  const { out } = options;
  const perRepo = Math.floor(options.commits / options.repos);
  const t0 = Date.UTC(2024, 0, 1);
  let commits = 0;
  let deployments = 0;
  const setup = Date.now();
  for (let r = 0; r < options.repos; r++) {
    const repo = `bench/repo-${r}`;
    const rows: object[] = [];
    const deps: object[] = [];
    const statuses: object[] = [];
    let main = '';
    let n = 0;
    let mainCount = 0;
    const add = (parents: string[]): string => {
      const sha = shaOf(r, n);
      const at = new Date(t0 + n * 60_000).toISOString();
      rows.push({
        source: 'github',
        repo,
        sha,
        parents,
        parents_known: 1,
        author: '',
        authored_at: at,
        committed_at: at,
        fingerprint: '',
        team: '',
        program: '',
        raw_event_id: '',
        version: 1,
      });
      n++;
      return sha;
    };
    // Commits go to the store as they are made, a chunk at a time: the set-up holds no repository whole.
    const flush = async (): Promise<void> => {
      if (rows.length === 0) return;
      await store.client.insert({ table: 'commits', values: rows, format: 'JSONEachRow' });
      commits += rows.length;
      rows.length = 0;
    };
    while (n < perRepo) {
      if (rows.length >= SETUP_CHUNK) await flush();
      mainCount++;
      if (mainCount % 10 === 0 && main !== '') {
        const b1 = add([main]);
        const b2 = add([b1]);
        main = add([main, b2]);
      } else {
        main = add(main === '' ? [] : [main]);
      }
      if (mainCount % 100 === 0) {
        const id = `${r}-${mainCount / 100}`;
        const at = new Date(t0 + n * 60_000 + 30_000).toISOString();
        deps.push({
          source: 'github',
          deployment_id: id,
          repo,
          service: `svc-${r}`,
          environment: 'production',
          is_production: 1,
          sha: main,
          ref: 'main',
          description: '',
          is_rollback: 0,
          created_at: at,
          team: '',
          program: '',
          url: '',
          raw_event_id: '',
          version: 1,
        });
        const failed = mainCount % 2000 === 0;
        statuses.push({
          source: 'github',
          deployment_id: id,
          status_id: '1',
          state: failed ? 'failure' : 'success',
          raw_state: '',
          at,
          raw_event_id: '',
          version: 1,
        });
      }
    }
    await flush();
    await store.client.insert({ table: 'deployments', values: deps, format: 'JSONEachRow' });
    await store.client.insert({ table: 'deployment_statuses', values: statuses, format: 'JSONEachRow' });
    deployments += deps.length;
  }
  out.write(
    `linking (${fmt(commits)} commits in ${options.repos} repositories, ${fmt(deployments)} production deployments; set-up ${((Date.now() - setup) / 1000).toFixed(1)} s; ${memoryNow()})\n`,
  );
  const runs: Array<{ label: string; result: LinkResult; mb: number }> = [];
  // A day apart, as scheduled runs would be: the second finds the facts as the first left them.
  for (const [label, day] of [
    ['first run', 1],
    ['again, nothing changed', 2],
  ] as const) {
    collectGarbage();
    await releaseEngineMemory(store);
    const peak = rssSampler();
    const result = await link({ store, model: options.config.model, now: new Date(Date.UTC(2026, 0, day)) });
    peak.stop();
    const mb = peak.peak() / 2 ** 20;
    memory.sample();
    runs.push({ label, result, mb });
    const phases = Object.entries(result.phases)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`)
      .join(', ');
    out.write(
      `  ${label}: ${(result.ms / 1000).toFixed(2)} s (${phases}); ${fmt(result.deploymentCommits)} deployment->commit links, ` +
        `${fmt(result.written)} rows written; peak RSS ${fmt(mb)} MB\n`,
    );
  }
  const [first, again] = runs as [(typeof runs)[0], (typeof runs)[0]];
  const ratio = again.result.ms / Math.max(1, first.result.ms);
  out.write(`  unchanged re-link / first link: ${ratio.toFixed(3)} (goal <= 0.05)\n`);
  options.figures?.add({
    name: `re-link of an unchanged history (${fmt(commits)} commits, ${fmt(deployments)} deployments)`,
    value: again.result.ms / 1000,
    unit: 's',
    limit: { value: first.result.ms / 1000, what: 'first link, same run' },
    goal: { ratio: 0.05, atMost: true },
  });
}
