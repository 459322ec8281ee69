import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateDemoOrg } from '../../connectors/demo/generator.js';
import { memoryCursorStore } from '../../connectors/core/cursor-store.js';
import { runSync } from '../../connectors/core/runner.js';
import { githubConnector } from '../../connectors/github/index.js';
import type { Bus } from '../../infra/bus/types.js';
import { loadConfig } from '../../infra/config/load.js';
import { createLogger } from '../../infra/observability/logger.js';
import type { RawEvent } from '../../schemas/raw-event.js';
import { startGithubFake, type FakeGithub } from '../fakes/github.js';
import { Cluster, readyz, services, slowProxy, webhookLoad, type DistributedServers } from '../support/distributed.js';
import { schedulerIds, tempDir, waitFor } from '../support/harness.js';

/**
 * Distributed mode under faults: Kafka, Redis and the ClickHouse server of the suite's own, two
 * normalizers, the webhook server and the job runner, each a process of the built CLI. Scheduled pulls
 * from a fake GitHub and signed GitHub deliveries load the pipeline at once while one fault strikes.
 * After each: every accepted event id is stored once (after FINAL), no domain row twice, no dead
 * letter, /readyz of the processes that use the failed server said 503 naming it during the outage and
 * 200 after, and no process exited that the test did not stop. A killed normalizer is started again by
 * the test, as a supervisor (systemd, Kubernetes) does; nothing else is restarted.
 */

const TOKEN = 'gh-distributed-token';
const SECRET = 'gh-distributed-webhook-secret';
/** How long the broker stays stopped. */
const BROKER_OUTAGE_MS = 30_000;
/** How long the ClickHouse server and Redis stay down before they are started again. */
const SERVER_OUTAGE_MS = 8_000;

interface FaultRow {
  fault: string;
  accepted: number;
  stored: number;
  duplicates: number;
  deadLetters: number;
  readyz: string;
  recoveryS: string;
  logs: string;
}
const table: FaultRow[] = [];

/** The event ids a full pull of the fake publishes, read with the product's connector into a bus that only records. */
async function pulledIds(config: ReturnType<typeof loadConfig>): Promise<Set<string>> {
  const ids = new Set<string>();
  const recording: Bus = {
    kind: 'local',
    ensureTopics: () => Promise.resolve(),
    publish: (_topic, messages) => {
      for (const m of messages) ids.add((JSON.parse(m.value.toString()) as RawEvent).id);
      return Promise.resolve();
    },
    consume: () => Promise.reject(new Error('the recording bus does not consume')),
    lag: () => Promise.resolve([]),
    close: () => Promise.resolve(),
  };
  const results = await runSync({
    config,
    connectors: [githubConnector],
    bus: recording,
    cursors: memoryCursorStore(),
    logger: createLogger({ level: 'silent' }),
  });
  const failed = results.filter((r) => r.status !== 'ok');
  if (failed.length > 0) throw new Error(`the reference pull failed: ${JSON.stringify(failed)}`);
  return ids;
}

describe('distributed mode under faults', () => {
  const servers = (): DistributedServers => ({
    kafkaBrokers: inject('kafkaBrokers'),
    redisUrl: inject('redisUrl'),
    clickhouseUrl: inject('clickhouseUrl'),
    servicesEnv: inject('servicesEnv'),
  });
  let github: FakeGithub;
  let proxy: Awaited<ReturnType<typeof slowProxy>>;
  let pulled: Set<string>;
  const { org } = generateDemoOrg();
  let firstNumber = 100_000;

  beforeAll(async () => {
    github = await startGithubFake({ token: TOKEN });
    const sources = { github: { baseUrl: github.baseUrl, initialDays: 3650 } };
    pulled = await pullIdsOf(sources);
    // A full pull takes some 10 s through the proxy, so that it overlaps the faults.
    const requests = github.requests.total;
    github.resetCounts();
    proxy = await slowProxy(github.url, Math.round((10_000 * 4) / Math.max(1, requests)));
  });
  afterAll(async () => {
    await proxy?.close();
    await github?.close();
    if (table.length > 0) {
      const cols: Array<keyof FaultRow> = ['fault', 'accepted', 'stored', 'duplicates', 'deadLetters', 'readyz', 'recoveryS', 'logs'];
      const widths = cols.map((c) => Math.max(c.length, ...table.map((r) => String(r[c]).length)));
      const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
      console.log(
        ['', line(cols), line(widths.map((w) => '-'.repeat(w))), ...table.map((r) => line(cols.map((c) => String(r[c]))))].join('\n'),
      );
    }
  });

  async function pullIdsOf(sources: Record<string, unknown>): Promise<Set<string>> {
    const config = loadConfig({
      env: { PTEL_GITHUB_TOKEN: TOKEN },
      overrides: { sources, org: { programs: org.programs } },
      cwd: tempDir(),
    });
    return pulledIds(config);
  }

  /** The run's cluster: the four roles on one configuration, the pulls through the slow proxy. */
  async function startCluster(): Promise<Cluster> {
    const cluster = new Cluster(servers(), {
      config: {
        sources: { github: { baseUrl: proxy.url, initialDays: 3650, intervalMinutes: 1 } },
        org: { programs: org.programs },
        normalizer: { sessionTimeoutMs: 6_000 },
      },
      env: { PTEL_GITHUB_TOKEN: TOKEN, PTEL_GITHUB_WEBHOOK_SECRET: SECRET },
    });
    await cluster.migrate();
    await Promise.all([
      cluster.start('normalizer-1', 'normalize'),
      cluster.start('normalizer-2', 'normalize'),
      cluster.start('serve', 'serve'),
      cluster.start('connect', 'connect'),
    ]);
    await waitFor(
      'every process ready',
      () => cluster.allReady(),
      (r) => r,
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    cluster.watchReadiness();
    cluster.mark('every process ready');
    return cluster;
  }

  const storedCount = async (cluster: Cluster, where: string): Promise<number> =>
    Number((await cluster.query<{ n: string }>(`SELECT count() AS n FROM raw_events WHERE ${where}`))[0]?.n ?? 0);

  interface Fault {
    name: string;
    /** The /readyz check the failed server's outage shows in, how its message names the server, and the processes that use it. */
    check?: { name: string; server: string; processes: string[] };
    /** Processes that do not use what failed: /readyz 200 all along. */
    unaffected: string[];
    /** Strikes while the load runs; returns when the fault began and when the server (or process) was back. */
    strike(cluster: Cluster): Promise<{ from: number; to: number }>;
    /** What else must hold once the cluster has recovered. */
    after?(cluster: Cluster, window: { from: number; to: number }): Promise<void>;
  }

  /** Starts the cluster and the load, strikes, waits for recovery and checks the ledger; one row of the table. */
  async function underFault(fault: Fault): Promise<void> {
    const cluster = await startCluster();
    const load = webhookLoad({ url: () => cluster.processes.get('serve')!.url, secret: SECRET, firstNumber, workers: 4, pauseMs: 40 });
    firstNumber += 100_000;
    let stopped = false;
    try {
      // The pull is on its way and both kinds of event are being stored when the fault strikes.
      await waitFor(
        'pulled and delivered events to be stored',
        async () => ({
          pulled: await storedCount(cluster, "connector LIKE 'github/%'"),
          delivered: await storedCount(cluster, "connector = 'webhook/github'"),
        }),
        (n) => n.pulled >= 300 && n.delivered >= 100,
        { timeoutMs: 90_000, intervalMs: 250 },
      );
      cluster.mark('load flowing');
      const window = await fault.strike(cluster);
      cluster.mark(`fault over (struck ${((window.to - window.from) / 1000).toFixed(1)} s before)`);
      const ready = await waitFor(
        'every process to answer /readyz 200 again',
        () => cluster.allReady(),
        (r) => r,
        {
          timeoutMs: 120_000,
          intervalMs: 250,
        },
      );
      expect(ready).toBe(true);
      const readyAfterS = (Date.now() - window.to) / 1000;
      cluster.mark('every process ready again');
      // Deliveries are taken again after the fault, with no restart.
      const acceptedAtRecovery = load.stats.accepted;
      await waitFor(
        'deliveries accepted after the fault',
        () => load.stats.accepted,
        (n) => n >= acceptedAtRecovery + 20,
        {
          timeoutMs: 60_000,
          intervalMs: 100,
        },
      );
      cluster.mark('deliveries accepted after the fault');
      await load.stop();
      stopped = true;
      cluster.mark(`load stopped: ${JSON.stringify(load.stats)}`);
      expect(load.stats.other).toEqual([]);
      expect(load.stats.givenUp).toBe(0);

      // The ledger: every event the pulls publish and every id of a delivery answered 2xx.
      const ledger = new Set([...pulled, ...load.ids]);
      const missing = await waitFor(
        'every accepted event to be stored',
        async () => {
          const rows = await cluster.query<{ id: string }>('SELECT id FROM raw_events FINAL');
          const stored = new Set(rows.map((r) => r.id));
          return [...ledger].filter((id) => !stored.has(id)).length;
        },
        (n) => n === 0,
        { timeoutMs: 180_000, intervalMs: 1_000 },
      );
      expect(missing).toBe(0);
      const storedS = (Date.now() - window.to) / 1000;
      cluster.mark('every accepted event stored');

      const [counts] = await cluster.query<{ n: string; ids: string }>('SELECT count() AS n, uniqExact(id) AS ids FROM raw_events FINAL');
      const duplicates = Number(counts!.n) - Number(counts!.ids);
      expect(duplicates).toBe(0);
      // No domain row twice after FINAL: as many rows as distinct sorting keys, in every replacing table.
      const tables = await cluster.query<{ name: string; sorting_key: string }>(
        "SELECT name, sorting_key FROM system.tables WHERE database = {db:String} AND engine LIKE 'Replacing%' AND name != 'raw_events'",
        { db: cluster.database },
      );
      const doubled: string[] = [];
      for (const t of tables) {
        const [r] = await cluster.query<{ n: string; keys: string }>(
          `SELECT count() AS n, uniqExact(${t.sorting_key}) AS keys FROM ${t.name} FINAL`,
        );
        if (Number(r!.n) !== Number(r!.keys)) doubled.push(`${t.name}: ${r!.n} rows, ${r!.keys} keys`);
      }
      expect(doubled).toEqual([]);
      const domain = await cluster.query<{ n: string }>('SELECT count() AS n FROM pull_requests FINAL');
      expect(Number(domain[0]!.n)).toBeGreaterThan(0);

      const [dead] = await cluster.query<{ n: string }>('SELECT count() AS n FROM dead_letters');
      const deadLetters = Number(dead!.n);
      expect(deadLetters).toBe(0);

      let seen = 'n/a';
      if (fault.check !== undefined) {
        const check = fault.check;
        const during = cluster.outageSeen(check.name, window.from, window.to + readyAfterS * 1000);
        const named = check.processes.filter((p) => during.some((s) => s.name === p));
        expect(named, `processes whose /readyz said 503 naming '${check.name}'`).toEqual(check.processes);
        const unnamed = during.filter((s) => !s.readiness.checks[check.name]!.includes(check.server));
        expect(
          unnamed.map((s) => s.readiness.checks[check.name]),
          `/readyz messages of '${check.name}' that do not name ${check.server}`,
        ).toEqual([]);
        seen = `503 ${check.name} on ${named.length}`;
        cluster.mark(`/readyz during the outage, e.g. ${JSON.stringify(during[0]?.readiness)}`);
      }
      const unready = fault.unaffected.filter((p) =>
        cluster.samples.some((s) => s.name === p && s.at >= window.from && s.readiness.status !== 200),
      );
      expect(unready, 'processes that do not use what failed but were not ready').toEqual([]);
      await fault.after?.(cluster, window);

      expect(cluster.unexpectedExits()).toEqual([]);
      for (const p of cluster.processes.values()) expect((await readyz(p.url)).status, p.name).toBe(200);
      table.push({
        fault: fault.name,
        accepted: ledger.size,
        stored: Number(counts!.ids),
        duplicates,
        deadLetters,
        readyz: seen,
        recoveryS: `ready ${readyAfterS.toFixed(1)}, stored ${storedS.toFixed(1)}`,
        logs: cluster.dir,
      });
    } finally {
      if (!stopped) await load.stop();
      await cluster.stop();
    }
  }

  const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const all = ['normalizer-1', 'normalizer-2', 'serve', 'connect'];

  it('loses nothing when a normalizer is SIGKILLed mid-batch and started again', async () => {
    await underFault({
      name: 'normalizer SIGKILL',
      unaffected: ['normalizer-2', 'serve', 'connect'],
      async strike(cluster) {
        // Mid-batch: it has handled events and the topics still hold many it has not reached.
        const victim = cluster.processes.get('normalizer-1')!;
        await waitFor(
          'normalizer-1 to be handling events',
          async () => /ptel_events_total\{[^}]*\} [1-9]/.test(await (await fetch(`${victim.url}/metrics`)).text()),
          (busy) => busy,
          { timeoutMs: 60_000, intervalMs: 50 },
        );
        const from = Date.now();
        await cluster.kill('normalizer-1');
        // The supervisor starts it again; the others carry on by themselves.
        await cluster.start('normalizer-1', 'normalize');
        return { from, to: Date.now() };
      },
    });
  });

  it('loses nothing when the broker is stopped for 30 s', async () => {
    await underFault({
      name: 'broker stopped 30 s',
      check: { name: 'bus', server: `Kafka (${servers().kafkaBrokers})`, processes: all },
      unaffected: [],
      async strike(cluster) {
        const from = Date.now();
        // The broker refuses connections as soon as its shutdown begins; it stays stopped until 30 s after that.
        await services(cluster.servers, 'stop', 'kafka');
        await wait(from + BROKER_OUTAGE_MS - Date.now());
        await services(cluster.servers, 'up', 'kafka');
        return { from, to: Date.now() };
      },
    });
  });

  it('loses nothing when the ClickHouse server is SIGKILLed and started again', async () => {
    await underFault({
      name: 'ClickHouse SIGKILL',
      // The webhook server only publishes: it stays ready and takes deliveries while ClickHouse is down.
      check: { name: 'store', server: `ClickHouse at ${servers().clickhouseUrl}`, processes: ['normalizer-1', 'normalizer-2', 'connect'] },
      unaffected: ['serve'],
      async strike(cluster) {
        const from = Date.now();
        await services(cluster.servers, 'kill9', 'clickhouse');
        await wait(SERVER_OUTAGE_MS);
        await services(cluster.servers, 'up', 'clickhouse');
        return { from, to: Date.now() };
      },
    });
  });

  it('loses nothing when Redis restarts without its data, and the schedules come back by themselves', async () => {
    await underFault({
      name: 'Redis restarted empty',
      check: { name: 'redis', server: `redis at ${servers().redisUrl}`, processes: ['connect'] },
      unaffected: ['normalizer-1', 'normalizer-2', 'serve'],
      async strike(cluster) {
        const from = Date.now();
        await services(cluster.servers, 'down', 'redis');
        await wait(SERVER_OUTAGE_MS);
        await services(cluster.servers, 'up', 'redis');
        return { from, to: Date.now() };
      },
      async after(cluster, window) {
        // The schedules are on Redis again and the pull runs on them, with nobody restarting `connect`.
        const ids = await waitFor(
          'the schedules to be back on Redis',
          () => schedulerIds(cluster.servers.redisUrl, cluster.queue),
          (s) => s.includes('pull-github'),
          {
            timeoutMs: 120_000,
            intervalMs: 500,
          },
        );
        expect(ids).toContain('pull-github');
        await waitFor(
          'a pull to finish after Redis came back',
          async () =>
            Number(
              (
                await cluster.query<{ n: string }>(
                  "SELECT count() AS n FROM sync_runs WHERE source = 'github' AND started_at > fromUnixTimestamp64Milli({t:Int64})",
                  { t: window.to },
                )
              )[0]?.n ?? 0,
            ),
          (n) => n > 0,
          { timeoutMs: 120_000, intervalMs: 1_000 },
        );
      },
    });
  });
});
