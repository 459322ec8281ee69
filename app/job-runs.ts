import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Clock } from '../infra/clock.js';
import type { Config } from '../infra/config/schema.js';
import type { Logger } from '../infra/observability/logger.js';
import type { Store } from '../infra/store/client.js';
import { exportRoot } from '../workers/export/export.js';
import { lastLinkedAt } from '../workers/link/summary.js';

/** The jobs of the job table whose runs are recorded in job_runs. */
export const RECORDED_JOBS = ['pull', 'link', 'metrics', 'forecasts', 'stall-alerts', 'registers', 'export', 'status-reports'] as const;
export type RecordedJob = (typeof RECORDED_JOBS)[number];

export interface JobRun {
  job: RecordedJob;
  startedAt: Date;
  finishedAt: Date;
  outcome: 'ok' | 'failed';
  /** What the run did, or why it failed. */
  detail: string;
}

const chTime = (d: Date): string => d.toISOString();

/** Writes one run of a job. */
export async function writeJobRun(store: Store, run: JobRun): Promise<void> {
  await store.client.insert({
    table: 'job_runs',
    values: [
      {
        job: run.job,
        started_at: chTime(run.startedAt),
        finished_at: chTime(run.finishedAt),
        outcome: run.outcome,
        detail: run.detail,
      },
    ],
    format: 'JSONEachRow',
  });
}

/**
 * Runs `fn` as one run of `job` and records it in job_runs, with the clock's instants at its start and
 * end, its outcome and `describe(result)` (or the error). The record is best effort: a store that cannot
 * take it is logged, and the job's own result or error goes on unchanged.
 */
export async function recordedRun<T>(
  parts: { store: Store; clock: Clock; logger?: Logger },
  job: RecordedJob,
  fn: () => Promise<T>,
  /** What the run did; `{ failed }` for a result that is a failure though nothing was thrown (streams that failed). */
  describe: (result: T) => string | { failed: string },
): Promise<T> {
  const startedAt = parts.clock.date();
  const record = (outcome: JobRun['outcome'], detail: string): Promise<void> =>
    writeJobRun(parts.store, { job, startedAt, finishedAt: parts.clock.date(), outcome, detail }).catch((err: unknown) =>
      parts.logger?.warn({ err, job }, 'could not record the job run'),
    );
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    await record('failed', err instanceof Error ? err.message : String(err));
    throw err;
  }
  let said: string | { failed: string };
  try {
    said = describe(result);
  } catch (err) {
    said = `(its result could not be described: ${err instanceof Error ? err.message : String(err)})`;
  }
  await (typeof said === 'string' ? record('ok', said) : record('failed', said.failed));
  return result;
}

/** When a job last did something, and what. */
export interface RunMark {
  at: Date;
  detail: string;
}

/** How fresh what one job keeps is. */
export interface JobFreshness {
  job: RecordedJob;
  /** The latest run that ended well: from job_runs, or from what the job wrote when that is later. */
  last?: RunMark;
  /** The latest run, when it failed after the last one that ended well. */
  failed?: RunMark;
  /** Why the records could not be read, when they could not (the other jobs are still told). */
  unreadable?: string;
}

type Num = number | string;

const asOfParam = (asOf: Date | undefined): number | null => (asOf === undefined ? null : asOf.getTime() / 1000);
const AS_OF = `{as_of:Nullable(DateTime64(3, 'UTC'))}`;

/** The latest run of each recorded job that ended well and the latest that failed, up to `asOf`. */
export async function latestJobRuns(store: Store, asOf?: Date): Promise<Map<RecordedJob, { ok?: RunMark; failed?: RunMark }>> {
  const rs = await store.client.query({
    query: `SELECT job, outcome, toUnixTimestamp64Milli(finished_at) AS at, detail FROM job_runs
            WHERE ${AS_OF} IS NULL OR finished_at <= ${AS_OF}
            ORDER BY job, outcome, finished_at DESC LIMIT 1 BY job, outcome`,
    query_params: { as_of: asOfParam(asOf) },
    format: 'JSONEachRow',
  });
  const out = new Map<RecordedJob, { ok?: RunMark; failed?: RunMark }>();
  for (const r of await rs.json<{ job: string; outcome: string; at: Num; detail: string }>()) {
    if (!(RECORDED_JOBS as readonly string[]).includes(r.job)) continue;
    const entry = out.get(r.job as RecordedJob) ?? {};
    const mark = { at: new Date(Number(r.at)), detail: r.detail };
    if (r.outcome === 'ok') entry.ok = mark;
    else entry.failed = mark;
    out.set(r.job as RecordedJob, entry);
  }
  return out;
}

/** Where a table's column may be read by lastWritten: a plain name (table, column) or a condition on its rows. */
export interface WrittenFilter {
  /** A condition the rows must meet, in SQL (written by this module, never from input). */
  where?: string;
  /** Only instants at or before it (default: every row). */
  asOf?: Date;
}

const NAME = /^[a-z_][a-z0-9_]*$/;

/**
 * The latest instant in `table`'s `column` (a DateTime64, Nullable or not: nulls are passed over), over
 * the rows that meet `filter.where` and are no later than `filter.asOf`; undefined when there is none.
 */
export async function lastWritten(store: Store, table: string, column: string, filter: WrittenFilter = {}): Promise<Date | undefined> {
  for (const [what, name] of [
    ['table', table],
    ['column', column],
  ] as const) {
    if (!NAME.test(name)) throw new Error(`lastWritten: ${what} ${JSON.stringify(name)} is not a plain name (${NAME.source})`);
  }
  const rs = await store.client.query({
    query: `SELECT toUnixTimestamp64Milli(max(${column})) AS at, count(${column}) AS n FROM ${table}
            WHERE (${filter.where ?? '1'}) AND (${AS_OF} IS NULL OR ${column} <= ${AS_OF})`,
    query_params: { as_of: asOfParam(filter.asOf) },
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ at: Num | null; n: Num }>();
  return row === undefined || Number(row.n) === 0 ? undefined : new Date(Number(row.at));
}

const latest = (...instants: Array<Date | undefined>): Date | undefined =>
  instants.reduce<Date | undefined>((a, b) => (b !== undefined && (a === undefined || b.getTime() > a.getTime()) ? b : a), undefined);

/** What the pulls wrote: the end of the latest stream pull that ended well. */
const lastPulled = (store: Store, asOf?: Date): Promise<Date | undefined> =>
  lastWritten(store, 'sync_runs', 'finished_at', { where: `status = 'ok'`, asOf });

/** What the metrics runs recorded themselves: the end of the latest one that ended well. */
const lastMetricsRun = (store: Store, asOf?: Date): Promise<Date | undefined> =>
  lastWritten(store, 'metric_runs', 'finished_at', { where: `status = 'ok'`, asOf });

/** What the stall detector wrote: the latest instant it saw a link stalled, or resolved an alert. */
const lastStallRun = async (store: Store, asOf?: Date): Promise<Date | undefined> =>
  latest(
    await lastWritten(store, 'stall_alerts', 'last_seen_at', { asOf }),
    await lastWritten(store, 'stall_alerts', 'resolved_at', { asOf }),
  );

/** What the forecast runs wrote: the latest run in milestone_forecasts. */
const lastForecastRun = (store: Store, asOf?: Date): Promise<Date | undefined> =>
  lastWritten(store, 'milestone_forecasts', 'computed_at', { asOf });

/** What the registers job wrote: the latest computation of register_rows. */
const lastRegisterRun = (store: Store, asOf?: Date): Promise<Date | undefined> =>
  lastWritten(store, 'register_rows', 'computed_at', { asOf });

/** The exported month written last into the export folder (by generated_at in its kpis.json), up to `asOf`. */
export function lastExport(config: Pick<Config, 'export' | 'dataDir' | 'configPath'>, asOf?: Date): RunMark | undefined {
  const root = exportRoot(config);
  let months: string[];
  try {
    months = readdirSync(root).filter((m) => /^\d{4}-\d{2}$/.test(m));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let best: RunMark | undefined;
  for (const month of months) {
    const dir = path.join(root, month);
    let at: Date;
    try {
      const generated = (JSON.parse(readFileSync(path.join(dir, 'kpis.json'), 'utf8')) as { generated_at?: unknown }).generated_at;
      at = new Date(typeof generated === 'string' ? generated : Number.NaN);
      // A kpis.json without a readable generated_at: when its file was written.
      if (Number.isNaN(at.getTime())) at = statSync(path.join(dir, 'kpis.json')).mtime;
    } catch {
      continue; // not a finished export (no kpis.json)
    }
    if (asOf !== undefined && at.getTime() > asOf.getTime()) continue;
    if (best === undefined || at.getTime() > best.at.getTime()) best = { at, detail: `${month} in ${dir}` };
  }
  return best;
}

const later = (a: RunMark | undefined, b: RunMark | undefined): RunMark | undefined =>
  a === undefined ? b : b === undefined ? a : b.at.getTime() > a.at.getTime() ? b : a;

/**
 * How fresh each job's output is, up to `asOf` (default: everything recorded): its latest run from
 * job_runs, or what it wrote when that is later (a store filled before job runs were recorded, a
 * `ptel export` outside the job table): the link tables' linked_at, metric_runs, stall_alerts, the
 * export folder, sync_runs. A record that cannot be read is said for its job alone.
 */
export async function jobFreshness(
  rt: { store: Store; config: Pick<Config, 'export' | 'dataDir' | 'configPath'> },
  options: { asOf?: Date } = {},
): Promise<JobFreshness[]> {
  const { store } = rt;
  const { asOf } = options;
  let runs: Awaited<ReturnType<typeof latestJobRuns>> = new Map();
  let runsUnreadable: string | undefined;
  try {
    runs = await latestJobRuns(store, asOf);
  } catch (err) {
    runsUnreadable = `job_runs: ${err instanceof Error ? err.message : String(err)}`;
  }
  const written: Record<RecordedJob, () => Promise<RunMark | undefined>> = {
    pull: async () => mark(await lastPulled(store, asOf), 'a stream pulled'),
    link: async () => mark(await lastLinkedAt(store, asOf), 'links written'),
    metrics: async () => mark(await lastMetricsRun(store, asOf), 'values computed'),
    forecasts: async () => mark(await lastForecastRun(store, asOf), 'milestones forecast'),
    'stall-alerts': async () => mark(await lastStallRun(store, asOf), 'alerts updated'),
    registers: async () => mark(await lastRegisterRun(store, asOf), 'registers written'),
    export: () => Promise.resolve(lastExport(rt.config, asOf)),
    'status-reports': async () =>
      mark(await lastWritten(store, 'report_deliveries', 'sent_at', { asOf, where: "status = 'sent'" }), 'reports delivered'),
  };
  const out: JobFreshness[] = [];
  for (const job of RECORDED_JOBS) {
    const recorded = runs.get(job) ?? {};
    let evidence: RunMark | undefined;
    let unreadable = runsUnreadable;
    try {
      evidence = await written[job]();
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      unreadable = unreadable === undefined ? why : `${unreadable}; ${why}`;
    }
    const last = later(recorded.ok, evidence);
    const failed = recorded.failed !== undefined && (last === undefined || recorded.failed.at.getTime() > last.at.getTime());
    out.push({
      job,
      ...(last !== undefined ? { last } : {}),
      ...(failed ? { failed: recorded.failed } : {}),
      ...(unreadable !== undefined && last === undefined ? { unreadable } : {}),
    });
  }
  return out;
}

const mark = (at: Date | undefined, detail: string): RunMark | undefined => (at === undefined ? undefined : { at, detail });
