import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../infra/config/schema.js';
import { openStore, type Store } from '../infra/store/client.js';
import { migrate } from '../infra/store/migrate.js';
import { LARGE_ORG_TABLES, writeLargeOrg, type LargeOrgResult } from '../test/fakes/large-org.js';
import { link } from '../workers/link/linker.js';
import { METRICS } from '../workers/metrics/definitions/index.js';
import { computeMetrics, metricParams, scopesOf, type Day } from '../workers/metrics/engine.js';
import { runMetricsJob } from '../workers/metrics/job.js';
import { runStallAlerts } from '../workers/alerts/stalls.js';
import { summary, type Figures } from './figures.js';
import { rssSampler } from './memory.js';

export interface MetricsBenchOptions {
  config: Config;
  out: NodeJS.WritableStream;
  /** Teams of the generated organisation (programs of five). */
  teams: number;
  /** Years of history. */
  years: number;
  /** Multiplies the per-team daily rates (1: about 10 pull requests, 2 deployments, 20 CI runs, 5 work items). */
  scale: number;
  seed?: number;
  /** Also time each metric on its own (a second full recompute, one definition at a time). */
  perMetric?: boolean;
  /**
   * Where the figure goes (the recent-periods run beside the full recompute of the same run); without
   * it, the figure's summary line is printed at the end of this benchmark.
   */
  figures?: Figures;
}

interface SizeFigures {
  teams: number;
  rows: number;
  generateMs: number;
  linkMs: number;
  fullMs: number;
  againMs: number;
  /** The recent-periods run after the second full recompute (the full organisation only). */
  recentMs: number | undefined;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const mb = (bytes: number): string => `${fmt(bytes / 2 ** 20)} MB`;

/**
 * The metrics engine at the size of a large organisation, in the embedded ClickHouse engine: a seeded
 * organisation written straight into the domain tables, the linker over it, a full recompute of every
 * metric (and each metric's share), the same at a tenth of the teams to see how the cost grows, and an
 * incremental recompute of the last day against the full one.
 */
export async function benchMetrics(options: MetricsBenchOptions): Promise<void> {
  const { out } = options;
  if (!Number.isInteger(options.teams) || options.teams < 1)
    throw new RangeError(`teams must be a whole number of at least 1, not ${options.teams}`);
  if (!(options.years > 0 && options.years <= 20)) throw new RangeError(`years must be more than 0 and at most 20, not ${options.years}`);
  if (!(options.scale > 0 && options.scale <= 100)) throw new RangeError(`scale must be more than 0 and at most 100, not ${options.scale}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ptel-bench-metrics-'));
  const sampler = rssSampler();
  const seed = options.seed ?? 1;
  try {
    out.write(
      `metrics benchmark: ${options.teams} teams, ${options.years} year(s), rate scale ${options.scale}, seed ${seed}; ` +
        `${METRICS.length} metric definitions; embedded ClickHouse engine\n`,
    );
    const smallTeams = Math.max(1, Math.round(options.teams / 10));
    out.write(`\n-- a tenth of the organisation (${smallTeams} teams) --\n`);
    const small = await runSize(dir, 'bench_small', { ...options, teams: smallTeams, seed }, false, false);
    out.write(`\n-- the full organisation (${options.teams} teams) --\n`);
    const full = await runSize(dir, 'bench_full', { ...options, seed }, options.perMetric ?? true, true);

    out.write(`\nscaling (tenth -> full: ${fmt(small.rows)} -> ${fmt(full.rows)} rows, x${(full.rows / small.rows).toFixed(1)})\n`);
    for (const [label, a, b] of [
      ['generate + insert', small.generateMs, full.generateMs],
      ['link', small.linkMs, full.linkMs],
      ['full recompute', small.fullMs, full.fullMs],
      ['full, again', small.againMs, full.againMs],
    ] as const) {
      const ratio = b / Math.max(1, a);
      out.write(
        `  ${label.padEnd(18)} ${secs(a).padStart(9)} -> ${secs(b).padStart(9)}  x${ratio.toFixed(1)} ` +
          `(${(ratio / (full.rows / small.rows)).toFixed(2)} of linear)\n`,
      );
    }
    if (full.recentMs !== undefined) {
      const figure = {
        name: 'metrics recent-periods run',
        value: full.recentMs / 1000,
        unit: 's',
        // The warm full recompute: the recent-periods run follows it, with the same parts merged and caches warm.
        limit: { value: full.againMs / 1000, what: 'full recompute, same run' },
        goal: { ratio: 0.05, atMost: true },
      };
      if (options.figures !== undefined) options.figures.add(figure);
      else out.write(summary([figure]));
    }
    sampler.stop();
    const maxRss = process.resourceUsage().maxRSS * 1024;
    out.write(`\npeak RSS: ${mb(Math.max(maxRss, sampler.peak()))} (process, ClickHouse engine included; sampled ${mb(sampler.peak())})\n`);
  } finally {
    sampler.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runSize(
  dir: string,
  database: string,
  options: MetricsBenchOptions & { seed: number },
  perMetric: boolean,
  incremental: boolean,
): Promise<SizeFigures> {
  const { out } = options;
  const store = await openStore({ kind: 'embedded', path: dir, database });
  try {
    await migrate(store);

    // (1) Generation and insert.
    let t0 = Date.now();
    const org = await writeLargeOrg(store, { seed: options.seed, teams: options.teams, years: options.years, scale: options.scale });
    const generateMs = Date.now() - t0;
    out.write(
      `generate + insert: ${secs(generateMs)} for ${fmt(org.rows)} rows (${fmt(org.rows / (generateMs / 1000))} rows/s), ` +
        `${org.firstDay} .. ${org.lastDay}, ${org.org.programs.length} programs\n`,
    );
    printCounts(out, org);

    // (2) Links.
    const config = { ...options.config, org: org.org };
    const endMs = Date.parse(`${org.end}T00:00:00Z`);
    t0 = Date.now();
    const linked = await link({ store, model: config.model, now: new Date(endMs) });
    const linkMs = Date.now() - t0;
    out.write(
      `link: ${secs(linkMs)} (${Object.entries(linked.phases)
        .map(([k, v]) => `${k} ${secs(v)}`)
        .join(', ')}); ${fmt(linked.deployments)} deployments, ${fmt(linked.deploymentCommits)} deployment->commit, ` +
        `${fmt(linked.commitPullRequests)} commit->PR, ${fmt(linked.incidentDeployments)} incident->deployment, ` +
        `${fmt(linked.bugs)} bugs classified\n`,
    );

    // (3) Full recompute of every metric, as the daily job runs it.
    t0 = Date.now();
    const full = await runMetricsJob({ store, config, run: { mode: 'full' }, now: new Date(endMs + 60_000) });
    const fullMs = Date.now() - t0;
    out.write(
      `full recompute: ${secs(fullMs)} for ${full.metrics} metrics over ${full.from} .. ${full.to} ${split(fullMs, full.ms)}; ` +
        `${fmt(full.rows)} values written with the risk signals and scores (${fmt(full.rows / (fullMs / 1000))} values/s), ` +
        `${fmt(full.retracted)} retracted\n`,
    );

    if (perMetric && full.from !== undefined && full.to !== undefined) {
      out.write('per metric (recomputed one definition at a time over the same range):\n');
      printTimings(out, await timeEach(store, config, full.from, full.to, endMs + 120_000));
    }

    // (4) The stall detector, as its schedule runs it: the first run opens every alert, the next refreshes them.
    if (incremental) {
      for (const [label, at] of [
        ['first run', endMs + 90_000],
        ['next run', endMs + 15 * 60_000],
      ] as const) {
        t0 = Date.now();
        const r = await runStallAlerts({ store, config, notifiers: new Map(), now: new Date(at) });
        out.write(
          `stall detector, ${label}: ${secs(Date.now() - t0)} for ${fmt(r.stalled)} stalled blocking links ` +
            `(${fmt(r.opened.length)} alerts opened, ${fmt(r.resolved.length)} resolved)\n`,
        );
      }
    }

    // The same again: the parts written by the load have been merged by now and the engine's caches are warm.
    t0 = Date.now();
    const again = await runMetricsJob({ store, config, run: { mode: 'full' }, now: new Date(endMs + 30 * 60_000) });
    const againMs = Date.now() - t0;
    out.write(
      `full recompute again (loaded parts merged, caches warm): ${secs(againMs)} ${split(againMs, again.ms)}; ${fmt(again.rows)} values written, ` +
        `${fmt(again.retracted)} retracted\n`,
    );

    // (5) The recent periods, as the 10-minute schedule runs them, an hour after the full recompute.
    let recentMs: number | undefined;
    if (incremental) {
      t0 = Date.now();
      const r = await runMetricsJob({ store, config, run: { mode: 'recent' }, now: new Date(endMs + 40 * 60_000) });
      recentMs = Date.now() - t0;
      out.write(
        `recent-periods run (${r.from} .. ${r.to}): ${secs(recentMs)} ${split(recentMs, r.ms)}, ${fmt(r.rows)} values; ` +
          `${((100 * recentMs) / Math.max(1, againMs)).toFixed(1)}% of the full recompute again, ` +
          `${((100 * recentMs) / Math.max(1, fullMs)).toFixed(1)}% of the first\n`,
      );
      if (perMetric && r.from !== undefined && r.to !== undefined) {
        out.write('recent periods per metric (one definition at a time over the same range):\n');
        printTimings(out, await timeEach(store, config, r.from, r.to, endMs + 41 * 60_000));
      }
    }

    // (6) The last day only, as a backfill of one day would run it.
    if (incremental) {
      const lastDay: Day = org.lastDay;
      const nextDay: Day = org.end;
      t0 = Date.now();
      const r = await runMetricsJob({
        store,
        config,
        run: { mode: 'range', from: lastDay, to: nextDay },
        now: new Date(endMs + 3_600_000),
      });
      const ms = Date.now() - t0;
      out.write(
        `incremental recompute of ${lastDay} (with the week and month containing it): ${secs(ms)} ${split(ms, r.ms)}, ${fmt(r.rows)} values; ` +
          `${((100 * ms) / Math.max(1, fullMs)).toFixed(1)}% of the first full recompute, ${((100 * ms) / Math.max(1, againMs)).toFixed(1)}% of the second\n`,
      );
    }
    return { teams: options.teams, rows: org.rows, generateMs, linkMs, fullMs, againMs, recentMs };
  } finally {
    await dropDatabase(store);
    await store.close();
  }
}

/** Each metric's recompute over [from, to) on its own, one definition at a time, at instants from `atMs` on. */
async function timeEach(
  store: Store,
  config: Config,
  from: Day,
  to: Day,
  atMs: number,
): Promise<Array<{ id: string; ms: number; rows: number }>> {
  const params = metricParams(config);
  const scopes = scopesOf(config.org);
  const timings: Array<{ id: string; ms: number; rows: number }> = [];
  let k = 2;
  for (const def of METRICS) {
    const r = await computeMetrics({ store, definitions: [def], params, from, to, scopes, now: new Date(atMs + k++ * 1000) });
    timings.push({ id: def.id, ms: r.ms, rows: r.rows });
  }
  return timings;
}

function printTimings(out: NodeJS.WritableStream, timings: Array<{ id: string; ms: number; rows: number }>): void {
  const total = timings.reduce((s, x) => s + x.ms, 0);
  for (const x of [...timings].sort((a, b) => b.ms - a.ms)) {
    out.write(`  ${x.id.padEnd(44)} ${secs(x.ms).padStart(8)}  ${((100 * x.ms) / total).toFixed(1).padStart(5)}%  ${fmt(x.rows)} values\n`);
  }
  out.write(`  ${'sum'.padEnd(44)} ${secs(total).padStart(8)}\n`);
}

/** A metrics job's time split into the metric values and what the job does after them (risk signals, benchmarks). */
const split = (jobMs: number, metricsMs: number): string =>
  `(metric values ${secs(metricsMs)}, risk signals and the rest ${secs(jobMs - metricsMs)})`;

function printCounts(out: NodeJS.WritableStream, org: LargeOrgResult): void {
  const cells = LARGE_ORG_TABLES.map((t) => `${t} ${fmt(org.counts[t])}`);
  for (let i = 0; i < cells.length; i += 4) out.write(`  ${cells.slice(i, i + 4).join(', ')}\n`);
}

/** Frees the engine's disk and memory before the next size runs. */
async function dropDatabase(store: Store): Promise<void> {
  await store.client.command({ query: `DROP DATABASE IF EXISTS \`${store.database}\`` }).catch(() => undefined);
}
