import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../infra/config/schema.js';
import { openStore, type Store } from '../infra/store/client.js';
import { migrate } from '../infra/store/migrate.js';
import { writeLargeOrg } from '../test/fakes/large-org.js';
import { backtest, calibrationReading, dayStart, weekStarts, type Calibration } from '../workers/forecast/backtest.js';
import { planForecasts } from '../workers/forecast/job.js';
import { ITEMS } from '../workers/metrics/definitions/work-items.js';
import { rssSampler } from './memory.js';

export interface BacktestBenchOptions {
  config: Config;
  out: NodeJS.WritableStream;
  /** Teams of the generated organisation (programs of five). */
  teams: number;
  /** Years of history; the backtest forecasts from every Monday of them. */
  years: number;
  /** Multiplies the per-team daily rates. */
  scale: number;
  /** Trials per milestone (default: metrics.forecast.trials). */
  trials?: number;
  seed?: number;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number): string => `${fmt(bytes / 2 ** 20)} MB`;
const secs = (s: number): string => `${s.toFixed(1)} s`;
const ms = (s: number): string => `${fmt(s * 1000)} ms`;
const fixed = (x: number | null, digits: number): string => (x === null ? '-' : x.toFixed(digits));
const since = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

/** What a store query is, for the profile: the forecast's known reads by name, anything else by its first words. */
function labelOf(sql: string): string {
  const q = sql.replace(/\s+/g, ' ').trim();
  if (q.includes('AS first_seen_ms')) return 'open milestones at the instant';
  if (q.includes('blocker_key')) return 'open blocking links (items + history, twice)';
  if (q.includes('groupArray((toUnixTimestamp64Milli(t), delta))')) return 'membership changes (fix version / parent history)';
  if (q.includes('AS category')) return 'work items at the instant (items + status history)';
  if (q.includes('AS done_ms')) return 'milestones finished by the instant';
  if (q.includes('AS done_day')) return 'finished milestones (the scoring)';
  if (q.includes("link_type = 'splits'")) return 'split links';
  return q.length > 60 ? `${q.slice(0, 57)}...` : q;
}

interface QueryProfile {
  /** Per label: calls and seconds from the call until its rows are read. */
  byLabel: Map<string, { calls: number; secs: number }>;
  /** Seconds with at least one query in flight. */
  busySecs: () => number;
  reset: () => void;
}

/**
 * The store with every query and insert timed (from the call until its rows are read), by what it
 * reads. Queries run side by side are each timed whole (and slow each other down); busySecs counts the
 * time any one was running. While `serial()` is true, each waits for the one before to finish, so each
 * is timed alone.
 */
function profiled(store: Store, serial: () => boolean): { store: Store; profile: QueryProfile } {
  const byLabel = new Map<string, { calls: number; secs: number }>();
  let queue: Promise<unknown> = Promise.resolve();
  const inTurn = async <T>(run: () => Promise<T>): Promise<T> => {
    if (!serial()) return run();
    const turn = queue.then(run);
    queue = turn.catch(() => undefined);
    return turn;
  };
  let inFlight = 0;
  let busyFrom = 0n;
  let busy = 0;
  const enter = (): bigint => {
    const now = process.hrtime.bigint();
    if (inFlight++ === 0) busyFrom = now;
    return now;
  };
  const leave = (label: string, t0: bigint): void => {
    const now = process.hrtime.bigint();
    if (--inFlight === 0) busy += Number(now - busyFrom) / 1e9;
    const entry = byLabel.get(label) ?? { calls: 0, secs: 0 };
    entry.calls++;
    entry.secs += Number(now - t0) / 1e9;
    byLabel.set(label, entry);
  };
  const inner = store.client;
  const client = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'query') {
        return (params: Parameters<typeof inner.query>[0]) =>
          inTurn(async () => {
            const label = labelOf(params.query);
            const t0 = enter();
            try {
              // The rows are read here, so the time covers the whole query; the caller reads them again.
              const rs = await target.query(params);
              const rows: unknown = await rs.json();
              return Object.assign(rs, { json: () => Promise.resolve(rows) });
            } finally {
              leave(label, t0);
            }
          });
      }
      if (prop === 'insert') {
        return (params: Parameters<typeof inner.insert>[0]) =>
          inTurn(async () => {
            const t0 = enter();
            try {
              return await target.insert(params);
            } finally {
              leave(`insert into ${params.table}`, t0);
            }
          });
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const timed: Store = {
    client,
    database: store.database,
    kind: store.kind,
    close: () => store.close(),
  };
  return {
    store: timed,
    profile: {
      byLabel,
      busySecs: () => busy,
      reset: () => {
        byLabel.clear();
        busy = 0;
      },
    },
  };
}

/** The best of a few runs of a query, in seconds, after one run that warms the engine's caches. */
async function timeQuery(store: Store, query: string, runs = 3): Promise<{ secs: number; rows: number }> {
  let best = Infinity;
  let rows = 0;
  for (let i = 0; i <= runs; i++) {
    const t0 = process.hrtime.bigint();
    const rs = await store.client.query({ query, format: 'JSONEachRow' });
    const [row] = await rs.json<{ n: string }>();
    const s = since(t0);
    rows = Number(row?.n ?? 0);
    if (i > 0) best = Math.min(best, s);
  }
  return { secs: best, rows };
}

function printProfile(out: NodeJS.WritableStream, profile: QueryProfile, wallSecs: number, points: number): void {
  const rows = [...profile.byLabel.entries()].sort((a, b) => b[1].secs - a[1].secs);
  for (const [label, { calls, secs: s }] of rows) {
    out.write(
      `  ${label.padEnd(52)} ${fmt(calls).padStart(6)} calls ${secs(s).padStart(9)} ${ms(s / Math.max(1, points)).padStart(9)}/point ` +
        `${((100 * s) / wallSecs).toFixed(0).padStart(3)}%\n`,
    );
  }
  const busy = profile.busySecs();
  out.write(
    `  store busy ${secs(busy)} (${((100 * busy) / wallSecs).toFixed(0)}%); the rest, ${secs(wallSecs - busy)}, is the simulation ` +
      `and the scoring in this process\n`,
  );
}

function printCalibration(out: NodeJS.WritableStream, rows: Calibration[]): void {
  out.write(`  ${'basis'.padEnd(11)} forecasts resolved  P85 hit  Brier (n)      P50 MAE  bias (days, n)  reading\n`);
  for (const c of rows) {
    out.write(
      `  ${(c.basis === '' ? 'every' : c.basis).padEnd(11)} ${fmt(c.forecasts).padStart(9)} ${fmt(c.resolved).padStart(8)} ` +
        `${(c.p85HitRate === null ? '-' : `${(100 * c.p85HitRate).toFixed(1)}%`).padStart(8)} ` +
        `${fixed(c.brier, 3).padStart(6)} (${fmt(c.brierForecasts)})`.padEnd(16) +
        `${fixed(c.maeDays, 1).padStart(8)} ${fixed(c.biasDays, 1).padStart(6)} (${fmt(c.maeForecasts)})`.padEnd(24) +
        `  ${calibrationReading(c)}\n`,
    );
  }
}

/**
 * The forecast backtest over a generated organisation in the embedded ClickHouse engine: the
 * organisation written straight into the domain tables, then `backtest` from every Monday of its
 * history, scored at its end. Prints the rows written, the as-of points and forecasts made, the time in
 * all and per as-of point, forecasts per second, the peak resident memory and the organisation's
 * calibration, beside what one full read of the work items costs at that size (so the time of an as-of
 * point reads as a number of such reads), and where the time of an as-of point goes, query by query.
 */
export async function benchBacktest(options: BacktestBenchOptions): Promise<void> {
  const { out } = options;
  if (!Number.isInteger(options.teams) || options.teams < 1)
    throw new RangeError(`teams must be a whole number of at least 1, not ${options.teams}`);
  if (!(options.years > 0 && options.years <= 20)) throw new RangeError(`years must be more than 0 and at most 20, not ${options.years}`);
  if (!(options.scale > 0 && options.scale <= 100)) throw new RangeError(`scale must be more than 0 and at most 100, not ${options.scale}`);
  const trials = options.trials ?? options.config.metrics.forecast.trials;
  if (!Number.isInteger(trials) || trials < 100 || trials > 1_000_000)
    throw new RangeError(`trials must be a whole number from 100 to 1,000,000, not ${trials}`);
  const seed = options.seed ?? 1;
  const config = { ...options.config, metrics: { ...options.config.metrics, forecast: { ...options.config.metrics.forecast, trials } } };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ptel-bench-backtest-'));
  const sampler = rssSampler();
  const raw = await openStore({ kind: 'embedded', path: dir, database: 'bench_backtest' });
  try {
    await migrate(raw);
    out.write(
      `forecast backtest benchmark: ${options.teams} teams, ${options.years} year(s), rate scale ${options.scale}, seed ${seed}; ` +
        `${fmt(trials)} trials per forecast, ${config.metrics.forecast.windowWeeks}-week window, time zone ${config.metrics.timeZone}; ` +
        `embedded ClickHouse engine (Node ${process.version})\n`,
    );

    // (1) The organisation.
    let t0 = process.hrtime.bigint();
    const org = await writeLargeOrg(raw, { seed, teams: options.teams, years: options.years, scale: options.scale });
    const writeSecs = since(t0);
    const c = org.counts;
    out.write(
      `rows written: ${fmt(org.rows)} in ${secs(writeSecs)} (${org.firstDay} .. ${org.lastDay}, ${org.org.programs.length} programs); ` +
        `work items ${fmt(c.work_items)}, their history ${fmt(c.work_item_history)}, links ${fmt(c.work_item_links)}, ` +
        `milestones ${fmt(c.milestones)}, committed dates ${fmt(c.milestone_dates)}\n`,
    );

    // (2) The physical yardsticks at this size.
    const scan = await timeQuery(raw, `SELECT count() AS n, sum(length(fix_versions)) AS v, max(updated_at) AS u FROM work_items FINAL`);
    const view = await timeQuery(raw, `SELECT count() AS n, sum(length(st)) AS s, max(done_at) AS d FROM ${ITEMS}`);
    out.write(
      `yardsticks (best of 3, warm): one full scan of work_items FINAL ${ms(scan.secs)} (${fmt(scan.rows)} items); ` +
        `the items with their status history (work_items FINAL joined to work_item_history grouped by item, what every ` +
        `as-of read of the items builds) ${ms(view.secs)}\n`,
    );

    // (3) The backtest: every Monday of the history, scored at its end.
    const now = new Date(`${org.end}T00:00:00Z`);
    const points = weekStarts(org.firstDay, org.lastDay).filter((w) => dayStart(w, config.metrics.timeZone).getTime() < now.getTime());
    let serial = false;
    const { store, profile } = profiled(raw, () => serial);
    t0 = process.hrtime.bigint();
    const result = await backtest(store, config, { from: org.firstDay, to: org.lastDay, now });
    const totalSecs = since(t0);
    const made = result.scores.length + result.noNumber;
    const perPoint = totalSecs / Math.max(1, result.weeks.length);
    out.write(
      `backtest ${result.from} .. ${result.to}, scored at ${result.runAt}: ${result.weeks.length} as-of points ` +
        `(${points.length} Mondays before the end), ${fmt(made)} forecasts made: ${fmt(result.scores.length)} with a number, ` +
        `${fmt(result.noNumber)} without (too little history then, or no work item yet)\n`,
    );
    out.write(
      `time: ${secs(totalSecs)} in all, ${ms(perPoint)} per as-of point = ${(perPoint / scan.secs).toFixed(0)} scans of work_items ` +
        `or ${(perPoint / view.secs).toFixed(1)} builds of the items with their history; ${fmt(made / totalSecs)} forecasts/s ` +
        `(${fmt(result.scores.length / totalSecs)}/s with a number)\n`,
    );
    out.write('where the time goes (the whole backtest):\n');
    printProfile(out, profile, totalSecs, result.weeks.length);

    // (4) The last as-of point alone: the most history behind it.
    const last = result.weeks[result.weeks.length - 1];
    if (last !== undefined) {
      profile.reset();
      serial = true;
      t0 = process.hrtime.bigint();
      const planned = await planForecasts(store, config, dayStart(last, config.metrics.timeZone));
      const lastSecs = since(t0);
      out.write(
        `the last as-of point (${last}) again, its queries one at a time: ${ms(lastSecs)} for ${planned.length} open milestones ` +
          `(${planned.filter((p) => p.forecast.ok).length} with a number)\n`,
      );
      printProfile(out, profile, lastSecs, 1);
    }

    out.write('calibration, the organisation:\n');
    printCalibration(
      out,
      result.calibration.filter((x) => x.scopeKind === 'org'),
    );
    sampler.stop();
    const maxRss = process.resourceUsage().maxRSS * 1024;
    out.write(`peak RSS: ${mb(Math.max(maxRss, sampler.peak()))} (process, ClickHouse engine included; sampled ${mb(sampler.peak())})\n`);
  } finally {
    sampler.stop();
    await raw.client.command({ query: `DROP DATABASE IF EXISTS \`${raw.database}\`` }).catch(() => undefined);
    await raw.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
