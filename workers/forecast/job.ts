import type { Config } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import { metricParams } from '../metrics/engine.js';
import { forecastMilestone, trialWeeks } from './engine.js';
import { describeChange } from './history.js';
import { readForecastInputs, type CadenceOptions, type OpenMilestone } from './inputs.js';
import type { Forecast, ForecastBand, ForecastInputs, ForecastMethod, ForecastSettings } from './types.js';

/**
 * The forecast run: every milestone open at the run's instant forecast from the store, blockers'
 * milestones first, and the results stored per run (milestone_forecasts) so their history is kept.
 */

export type ForecastConfig = Pick<Config, 'model' | 'metrics'>;

/** The simulation's settings from metrics.forecast. */
export function forecastSettings(config: Pick<Config, 'metrics'>): ForecastSettings {
  const f = config.metrics.forecast;
  return {
    trials: f.trials,
    seed: f.seed,
    windowWeeks: f.windowWeeks,
    minDoneItems: f.minDoneItems,
    minWeeks: f.minWeeks,
    bands: { onTrack: f.onTrack, atRisk: f.atRisk },
    horizonWeeks: f.horizonWeeks,
  };
}

/** How cadences are read, from metrics.forecast. */
export function cadenceOptions(config: Pick<Config, 'metrics'>): CadenceOptions {
  const f = config.metrics.forecast;
  return { method: f.method, peers: f.cadencePeers, minPeers: f.minCadencePeers, carryOverShare: f.carryOverShare };
}

/** A forecast as stored: one milestone in one run. */
export interface StoredForecast {
  /** The run's instant (ISO 8601). */
  runAt: string;
  source: string;
  milestoneId: string;
  name: string;
  program: string;
  team: string;
  committed: string | null;
  p50: string | null;
  p85: string | null;
  p95: string | null;
  confidence: number | null;
  band: ForecastBand | null;
  /** What the dates rest on (see Forecast.method); 'throughput' without a number. */
  method: ForecastMethod;
  ok: boolean;
  /** Why there is no number ('' when there is one). */
  reason: string;
  drivers: string[];
  criticalPath: string[];
  inputs: ForecastInputs;
  trials: number;
  seed: number;
}

/** A milestone forecast in a run, with its owner. */
export interface PlannedForecast {
  milestone: OpenMilestone;
  forecast: Forecast;
}

/**
 * The open milestones in the order they are forecast: a milestone after the milestones its blockers
 * belong to. In a cycle the milestone reached first goes first and its blocker keeps its due date.
 */
export function forecastOrder(milestones: OpenMilestone[]): OpenMilestone[] {
  const byKey = new Map(milestones.map((m) => [m.key, m]));
  const out: OpenMilestone[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (m: OpenMilestone): void => {
    if (state.has(m.key)) return;
    state.set(m.key, 'visiting');
    for (const dep of new Set(Object.values(m.blockerMilestones))) {
      const d = byKey.get(dep);
      if (d !== undefined) visit(d);
    }
    state.set(m.key, 'done');
    out.push(m);
  };
  milestones.forEach(visit);
  return out;
}

/** A per-trial finish kept as 21 quantiles (0, 5, ..., 100 %) in the stored inputs. */
function summarised(inputs: ForecastInputs): ForecastInputs {
  return {
    ...inputs,
    blockers: inputs.blockers.map((b) => {
      if (b.finishWeeks.length <= 21) return b;
      const sorted = [...b.finishWeeks].sort((x, y) => x - y);
      return { ...b, finishWeeks: Array.from({ length: 21 }, (_, i) => sorted[Math.round((i / 20) * (sorted.length - 1))]!) };
    }),
  };
}

/** The inputs of every milestone open at `asOf` under the configured window, history rule and cadence (with the items behind them when `evidence`). */
export function openMilestones(store: Store, config: ForecastConfig, asOf: Date, evidence = false): Promise<OpenMilestone[]> {
  const settings = forecastSettings(config);
  return readForecastInputs(store, {
    params: metricParams(config),
    asOf,
    windowWeeks: settings.windowWeeks,
    minDoneItems: settings.minDoneItems,
    minWeeks: settings.minWeeks,
    cadence: cadenceOptions(config),
    evidence,
  });
}

/**
 * Every milestone open at `asOf`, forecast in dependency order: a blocker whose milestone was forecast
 * before finishes, in each trial, in that milestone's trial week; other blockers at their due date (0
 * when none). Writes nothing.
 */
export async function planForecasts(store: Store, config: ForecastConfig, asOf: Date): Promise<PlannedForecast[]> {
  const settings = forecastSettings(config);
  const open = await openMilestones(store, config, asOf);
  const trials = new Map<string, number[]>();
  const waitedOn = new Set(open.flatMap((m) => Object.values(m.blockerMilestones)));
  const out: PlannedForecast[] = [];
  for (const m of forecastOrder(open)) {
    const inputs: ForecastInputs = {
      ...m.inputs,
      blockers: m.inputs.blockers.map((b) => {
        const own = m.blockerMilestones[b.blocker];
        const weeks = own === undefined ? undefined : trials.get(own);
        return weeks === undefined ? b : { ...b, finishWeeks: weeks };
      }),
    };
    const milestone = { ...m, inputs };
    const forecast = forecastMilestone(inputs, settings);
    if (forecast.ok && waitedOn.has(m.key)) trials.set(m.key, Array.from(trialWeeks(inputs, settings)));
    out.push({ milestone, forecast });
  }
  return out;
}

const instant = (at: Date): string => at.toISOString().replace('T', ' ').replace('Z', '');

/** A planned forecast as a run at `runAt` stores it. */
export function storedOf(runAt: Date, p: PlannedForecast): StoredForecast {
  const f = p.forecast;
  const base = {
    runAt: runAt.toISOString(),
    source: f.source,
    milestoneId: f.milestoneId,
    name: f.name,
    program: p.milestone.program,
    team: p.milestone.team,
    inputs: summarised(f.inputs),
  };
  if (f.ok) {
    return {
      ...base,
      committed: f.committed,
      p50: f.p50,
      p85: f.p85,
      p95: f.p95,
      confidence: f.confidence,
      band: f.band,
      method: f.method,
      ok: true,
      reason: '',
      drivers: f.drivers,
      criticalPath: f.criticalPath,
      trials: f.trials,
      seed: f.seed,
    };
  }
  return {
    ...base,
    committed: f.inputs.committed,
    p50: null,
    p85: null,
    p95: null,
    confidence: null,
    band: null,
    method: 'throughput',
    ok: false,
    reason: f.reason,
    drivers: [],
    criticalPath: [],
    trials: 0,
    seed: 0,
  };
}

/** Forecasts every milestone open at `now` and writes one row per milestone for this run; returns them in the order forecast. */
export async function runForecasts(store: Store, config: ForecastConfig, now: Date): Promise<StoredForecast[]> {
  const planned = await planForecasts(store, config, now);
  const rows = planned.map((p) => storedOf(now, p));
  if (rows.length > 0) {
    await store.client.insert({
      table: 'milestone_forecasts',
      values: rows.map((r) => ({
        source: r.source,
        milestone_id: r.milestoneId,
        name: r.name,
        program: r.program,
        team: r.team,
        as_of: instant(now),
        computed_at: instant(now),
        committed: r.committed,
        p50: r.p50,
        p85: r.p85,
        p95: r.p95,
        confidence: r.confidence,
        band: r.band ?? '',
        method: r.method,
        ok: r.ok ? 1 : 0,
        reason: r.reason,
        drivers: r.drivers,
        critical_path: r.criticalPath,
        inputs: JSON.stringify(r.inputs),
        trials: r.trials,
        seed: r.seed,
        version: now.getTime() * 1000,
      })),
      format: 'JSONEachRow',
    });
  }
  return rows;
}

interface Row {
  run_ms: number | string;
  source: string;
  milestone_id: string;
  name: string;
  program: string;
  team: string;
  committed: string | null;
  p50: string | null;
  p85: string | null;
  p95: string | null;
  confidence: number | null;
  band: string;
  method: string;
  ok: number;
  reason: string;
  drivers: string[];
  critical_path: string[];
  inputs: string;
  trials: number | string;
  seed: number | string;
}

function fromRow(r: Row): StoredForecast {
  const raw = JSON.parse(r.inputs) as Omit<ForecastInputs, 'asOf'> & { asOf: string };
  return {
    runAt: new Date(Number(r.run_ms)).toISOString(),
    source: r.source,
    milestoneId: r.milestone_id,
    name: r.name,
    program: r.program,
    team: r.team,
    committed: r.committed,
    p50: r.p50,
    p85: r.p85,
    p95: r.p95,
    confidence: r.confidence === null ? null : Number(r.confidence),
    band: r.band === '' ? null : (r.band as ForecastBand),
    method: r.method === 'cadence' ? 'cadence' : 'throughput',
    ok: Number(r.ok) === 1,
    reason: r.reason,
    drivers: r.drivers,
    criticalPath: r.critical_path,
    inputs: { ...raw, asOf: new Date(raw.asOf) },
    trials: Number(r.trials),
    seed: Number(r.seed),
  };
}

const COLUMNS = `toUnixTimestamp64Milli(computed_at) AS run_ms, source, milestone_id, name, toString(program) AS program, toString(team) AS team,
  toString(committed) AS committed, toString(p50) AS p50, toString(p85) AS p85, toString(p95) AS p95, confidence, toString(band) AS band, toString(method) AS method, ok,
  reason, drivers, critical_path, inputs, trials, seed`;

/** A milestone by its id, `source:id` or its name (in any case). */
const MATCHES = `({milestone:String} = '' OR milestone_id = {milestone:String} OR concat(source, ':', milestone_id) = {milestone:String}
  OR lower(name) = lower({milestone:String}))`;

export interface ForecastQuery {
  /** The latest run at or before this instant (default: the latest run). */
  asOf?: Date;
  /** One milestone: its id, `source:id` or name. */
  milestone?: string;
  program?: string;
  team?: string;
}

/** The forecasts of the latest run at or before `query.asOf`, soonest committed date first (none last), then by name. */
export async function readForecasts(
  store: Store,
  query: ForecastQuery = {},
): Promise<{ runAt: string | null; forecasts: StoredForecast[] }> {
  if (query.asOf !== undefined && !Number.isFinite(query.asOf.getTime())) throw new RangeError('forecasts: as of is not an instant');
  const rs = await store.client.query({
    query: `
      WITH (SELECT max(computed_at) FROM milestone_forecasts
            WHERE {as_of:Nullable(DateTime64(3, 'UTC'))} IS NULL OR computed_at <= {as_of:Nullable(DateTime64(3, 'UTC'))}) AS run
      SELECT ${COLUMNS} FROM milestone_forecasts
      WHERE computed_at = run AND ${MATCHES}
        AND ({program:String} = '' OR program = {program:String}) AND ({team:String} = '' OR team = {team:String})
      ORDER BY committed IS NULL, committed, name, source, milestone_id`,
    query_params: {
      as_of: query.asOf === undefined ? null : query.asOf.getTime() / 1000,
      milestone: query.milestone ?? '',
      program: query.program ?? '',
      team: query.team ?? '',
    },
    format: 'JSONEachRow',
  });
  const forecasts = (await rs.json<Row>()).map(fromRow);
  return { runAt: forecasts[0]?.runAt ?? null, forecasts };
}

/** A stored forecast with what changed since the run before it, in a sentence. */
export interface ForecastChange extends StoredForecast {
  change: string;
}

/** Every stored run of one milestone (by `source:id` or id), oldest first, each with its change from the one before. */
export async function forecastHistory(store: Store, milestoneId: string, options: { asOf?: Date } = {}): Promise<ForecastChange[]> {
  const rs = await store.client.query({
    query: `SELECT ${COLUMNS} FROM milestone_forecasts
            WHERE (milestone_id = {milestone:String} OR concat(source, ':', milestone_id) = {milestone:String})
              AND ({as_of:Nullable(DateTime64(3, 'UTC'))} IS NULL OR computed_at <= {as_of:Nullable(DateTime64(3, 'UTC'))})
            ORDER BY computed_at, source`,
    query_params: { milestone: milestoneId, as_of: options.asOf === undefined ? null : options.asOf.getTime() / 1000 },
    format: 'JSONEachRow',
  });
  const runs = (await rs.json<Row>()).map(fromRow);
  return runs.map((r, i) => ({ ...r, change: describeChange(i === 0 ? undefined : runs[i - 1], r) }));
}
