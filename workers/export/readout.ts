import type { MetricsConfig, ModelConfig, OrgConfig } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import type { StoredForecast } from '../forecast/job.js';
import type { ForecastBand } from '../forecast/types.js';
import { dayStartInstant, metricParams } from '../metrics/engine.js';
import { decisionRegister } from '../registers/decisions.js';
import { dependencyRegister } from '../registers/dependencies.js';
import { programHealth, type NamedItem, type ProgramHealth } from '../registers/health.js';
import { readRegister } from '../registers/index.js';
import { milestoneRegister } from '../registers/milestones.js';
import { riskRegister } from '../registers/risks.js';
import { text, yes, type BoardRow, type RegisterDefinition, type RegisterRow } from '../registers/types.js';
import { forecastsAt } from './forecasts.js';
import type { KpiRow } from './kpis.js';
import { addMonths, monthStart, type Month } from './month.js';
import type { ScopeInfo } from './report-data.js';

/**
 * The executive readout: the report's first page per program (and one for the org when it has several
 * programs or none), read from the registers at the end of the month and at the end of the month before.
 */

/** A milestone's forecast as the latest forecast run at or before the readout's instant stored it. */
export interface ReadoutForecast {
  /** The run's instant (ISO 8601). */
  runAt: string;
  /** Whether it has a number; without one, `reason` says why. */
  ok: boolean;
  reason: string;
  p85: string | null;
  /** P(done by the committed date); null without a committed date or a number. */
  confidence: number | null;
  band: ForecastBand | null;
}

/** An item of the readout: the register's board row (name, owner, status, colour, why) with its link. */
export interface ReadoutItem extends BoardRow {
  url: string;
  /** A milestone's forecast at the readout's instant, when a run had forecast it by then. */
  forecast?: ReadoutForecast;
}

export type ChangeKind =
  'milestone_slipped' | 'milestone_finished' | 'risk_raised' | 'risk_closed' | 'decision_made' | 'stall_new' | 'stall_cleared';

/** Something that changed in the registers between the two month ends. */
export interface RegisterChange {
  kind: ChangeKind;
  item: NamedItem;
  /** What happened to it: 'moved from 2026-03-10 to 2026-03-20', 'done on time 2026-09-14', 'owner dana'. */
  detail: string;
}

/** A KPI that moved: the change against the previous month, as kpis.csv gives it. */
export interface KpiMove {
  metric: string;
  title: string;
  unit: string;
  value: number | null;
  previous_value: number | null;
  change: number;
  direction: 'better' | 'worse' | 'same';
}

export interface Readout {
  scope: ScopeInfo;
  /** The instants the registers were taken at (ISO 8601): the month's end (or the as-of instant before it) and the month before's end. */
  asOf: string;
  previousAsOf: string;
  health: ProgramHealth;
  /** Open milestones overdue, slipped, with stalled dependencies or forecast at risk or off track, most at risk first, each with its forecast. */
  milestonesAtRisk: ReadoutItem[];
  /** The open risks, high first and unowned first (the risk register's order), at most READOUT_LIMITS.risks. */
  topRisks: ReadoutItem[];
  /** Open decisions, those past their target first. */
  decisionsNeeded: ReadoutItem[];
  changes: RegisterChange[];
  /** The KPIs of the scope that moved most against the previous month (by relative change). */
  kpiMoves: KpiMove[];
}

/** The most of each list the readout shows. */
export const READOUT_LIMITS = { milestones: 6, risks: 5, decisions: 6, kpiMoves: 4 } as const;

const DAY_MS = 86_400_000;

/** The instant a month starts in a time zone (its first midnight there). */
export function monthStartInstant(month: Month, tz: string): Date {
  return dayStartInstant(monthStart(month), tz);
}

/** Whether a register row is in the program (any of the register's program columns names it). */
const inProgram = (definition: RegisterDefinition, row: RegisterRow, program: string): boolean =>
  (definition.programColumns ?? ['program']).some((c) => row[c] === program);

/** The registers a status readout reads, each as its rows at one instant. */
export interface Registers {
  milestones: RegisterRow[];
  risks: RegisterRow[];
  decisions: RegisterRow[];
  dependencies: RegisterRow[];
}

const DEFINITIONS = {
  milestones: milestoneRegister,
  risks: riskRegister,
  decisions: decisionRegister,
  dependencies: dependencyRegister,
} as const satisfies Record<keyof Registers, RegisterDefinition>;

/** The registers' rows of one program (any program column names it); all of them without a program. */
export function narrowed(all: Registers, program: string | undefined): Registers {
  if (program === undefined) return all;
  const pick = (k: keyof Registers): RegisterRow[] => all[k].filter((r) => inProgram(DEFINITIONS[k], r, program));
  return { milestones: pick('milestones'), risks: pick('risks'), decisions: pick('decisions'), dependencies: pick('dependencies') };
}

/** The milestones, risks, decisions and dependencies registers taken at `options.asOf`. */
export async function readAll(
  store: Store,
  options: { params: ReturnType<typeof metricParams>; asOf: Date; recentDays: number },
): Promise<Registers> {
  const read = async (d: RegisterDefinition): Promise<RegisterRow[]> => (await readRegister(store, d, options)).rows;
  const [milestones, risks, decisions, dependencies] = await Promise.all([
    read(milestoneRegister),
    read(riskRegister),
    read(decisionRegister),
    read(dependencyRegister),
  ]);
  return { milestones, risks, decisions, dependencies };
}

const item = (definition: RegisterDefinition, row: RegisterRow): ReadoutItem => ({ ...definition.board(row), url: text(row['url']) });

const byKey = (rows: readonly RegisterRow[]): Map<string, RegisterRow> => new Map(rows.map((r) => [String(r['key']), r]));

const milestoneName = (r: RegisterRow): NamedItem => ({ name: text(r['title']), title: text(r['title']), url: text(r['url']) });
const workItemName = (r: RegisterRow): NamedItem => ({ name: text(r['item']), title: text(r['title']), url: text(r['url']) });
const linkName = (r: RegisterRow): NamedItem => ({
  name: `${text(r['blocker'])} blocks ${text(r['blocked'])}`,
  title: `${text(r['blocker_title'])} blocks ${text(r['blocked_title'])}`,
  url: text(r['url']),
});

const isDone = (r: RegisterRow): boolean => text(r['status']).startsWith('done');

const forecastOf = (f: StoredForecast): ReadoutForecast => ({
  runAt: f.runAt,
  ok: f.ok,
  reason: f.reason,
  p85: f.p85,
  confidence: f.confidence,
  band: f.band,
});

/**
 * A milestone's readout item with its forecast. The forecast is told once, from the run at the readout's
 * instant: the register's own forecast clause ("forecast off track: ...") leaves its why.
 */
function withForecast(i: ReadoutItem, forecast: ReadoutForecast | undefined): ReadoutItem {
  if (forecast === undefined) return i;
  const why = i.why
    .split('; ')
    .filter((part) => !part.startsWith('forecast '))
    .join('; ');
  return { ...i, why, forecast };
}

/** Whether an open milestone is at risk: overdue, slipped, waiting on a stalled dependency, or forecast at risk or off track. */
function atRisk(r: RegisterRow, forecast: ReadoutForecast | undefined): boolean {
  if (isDone(r)) return false;
  if (r['status'] === 'overdue' || r['status'] === 'slipped' || Number(r['stalled_dependencies']) > 0) return true;
  return forecast?.band === 'off track' || forecast?.band === 'at risk';
}

/** What changed in the registers from `before` (the previous month's end) to `now` (this month's). */
export function registerChanges(before: Registers, now: Registers): RegisterChange[] {
  const out: RegisterChange[] = [];
  const m0 = byKey(before.milestones);
  for (const r of now.milestones) {
    const was = m0.get(String(r['key']));
    if (isDone(r)) {
      if (was === undefined || !isDone(was))
        out.push({ kind: 'milestone_finished', item: milestoneName(r), detail: `${text(r['status'])} ${text(r['completed'])}` });
    } else if (
      was !== undefined &&
      !isDone(was) &&
      typeof r['committed'] === 'string' &&
      typeof was['committed'] === 'string' &&
      r['committed'] > was['committed']
    ) {
      out.push({ kind: 'milestone_slipped', item: milestoneName(r), detail: `moved from ${was['committed']} to ${r['committed']}` });
    }
  }
  const r0 = byKey(before.risks);
  for (const r of now.risks) {
    const was = r0.get(String(r['key']));
    const closed = r['closed'] !== null;
    if (was === undefined && yes(r['raised_recently']))
      out.push({
        kind: 'risk_raised',
        item: workItemName(r),
        detail: `${text(r['severity'])} severity, ${text(r['owner']) === '' ? 'no owner' : `owner ${text(r['owner'])}`}${closed ? ', closed since' : ''}`,
      });
    if (closed && (was === undefined || was['closed'] === null))
      out.push({ kind: 'risk_closed', item: workItemName(r), detail: `${text(r['status'])} ${text(r['closed']).slice(0, 10)}` });
  }
  const d0 = byKey(before.decisions);
  for (const r of now.decisions) {
    const was = d0.get(String(r['key']));
    const decided = r['status'] === 'decided on time' || r['status'] === 'decided late';
    if (decided && (was === undefined || was['status'] === 'open' || was['status'] === 'overdue'))
      out.push({
        kind: 'decision_made',
        item: workItemName(r),
        detail: `${text(r['status'])} ${text(r['decided']).slice(0, 10)}${text(r['outcome']) === '' ? '' : `: ${text(r['outcome'])}`}`,
      });
  }
  const s0 = byKey(before.dependencies);
  const s1 = byKey(now.dependencies);
  for (const r of now.dependencies) {
    const was = s0.get(String(r['key']));
    if (yes(r['stalled']) && (was === undefined || !yes(was['stalled'])))
      out.push({ kind: 'stall_new', item: linkName(r), detail: text(r['stall_reason']) });
  }
  for (const r of before.dependencies) {
    const is = s1.get(String(r['key']));
    if (yes(r['stalled']) && (is === undefined || !yes(is['stalled'])))
      out.push({ kind: 'stall_cleared', item: linkName(r), detail: is === undefined ? 'the link is resolved' : 'moving again' });
  }
  return out;
}

/** The KPIs that moved most against the previous month, by the size of the change relative to the previous value. */
export function kpiMoves(rows: readonly KpiRow[], limit: number = READOUT_LIMITS.kpiMoves): KpiMove[] {
  const moved = rows.filter(
    (r): r is KpiRow & { change: number; previous_value: number } =>
      r.change !== null && r.change !== 0 && r.previous_value !== null && r.change_direction !== null && r.change_direction !== 'same',
  );
  const size = (r: { change: number; previous_value: number }): number =>
    r.previous_value === 0 ? Number.POSITIVE_INFINITY : Math.abs(r.change / r.previous_value);
  return moved
    .map((r) => ({ r, s: size(r) }))
    .sort((a, b) => b.s - a.s || Math.abs(b.r.change) - Math.abs(a.r.change) || (a.r.metric < b.r.metric ? -1 : 1))
    .slice(0, limit)
    .map(({ r }) => ({
      metric: r.metric,
      title: r.title === '' ? r.metric : r.title,
      unit: r.unit,
      value: r.value,
      previous_value: r.previous_value,
      change: r.change,
      direction: r.change_direction as 'better' | 'worse',
    }));
}

/** The readout's pages: each program shown, with the org first when it has several programs (or none). */
export function readoutScopes(scopes: readonly ScopeInfo[]): ScopeInfo[] {
  const programs = scopes.filter((s) => s.kind === 'program');
  const org = scopes.find((s) => s.kind === 'org');
  return [...(org !== undefined && programs.length !== 1 ? [org] : []), ...programs];
}

/**
 * The readout of each program shown (and of the org, see readoutScopes): its status colour and why
 * (workers/registers/health.ts), the milestones at risk with their forecasts, the top risks, the decisions needed and what
 * changed since the month before, from the registers taken at the month's end in the metrics' time zone,
 * or at `asOf` (else the clock's now) when that is earlier, and at the end of the month before; an export
 * of a past month reads the same registers whenever it is made.
 */
/**
 * When a month's registers are taken: at its end in the metrics' time zone, or at `until` (the export's
 * as-of instant, else now) when that is earlier; `before` is the month's start (the registers a month
 * earlier), and the window of recently finished items covers the whole month (a day more, for a change of
 * offset within it).
 */
export function registerInstants(month: Month, tz: string, until: Date): { at: Date; before: Date; recentDays: number } {
  const end = monthStartInstant(addMonths(month, 1), tz);
  const at = until.getTime() < end.getTime() ? until : end;
  const before = monthStartInstant(month, tz);
  return { at, before, recentDays: Math.max(1, Math.ceil((at.getTime() - before.getTime()) / DAY_MS) + 1) };
}

export async function readouts(options: {
  store: Store;
  month: Month;
  scopes: readonly ScopeInfo[];
  rows: readonly KpiRow[];
  config: { model: ModelConfig; metrics: MetricsConfig; org: OrgConfig };
  /** The latest instant the registers may be read at: the export's as-of instant, else now. */
  until: Date;
}): Promise<Readout[]> {
  const pages = readoutScopes(options.scopes);
  if (pages.length === 0) return [];
  const { at, before, recentDays } = registerInstants(options.month, options.config.metrics.timeZone, options.until);
  const params = metricParams(options.config);
  const [now, then, stored] = await Promise.all([
    readAll(options.store, { params, asOf: at, recentDays }),
    readAll(options.store, { params, asOf: before, recentDays }),
    forecastsAt(options.store, at),
  ]);
  const forecasts = new Map(stored.forecasts.map((f) => [`${f.source}:${f.milestoneId}`, forecastOf(f)]));
  return pages.map((scope): Readout => {
    const program = scope.kind === 'program' ? scope.id : undefined;
    const mine = narrowed(now, program);
    const previous = narrowed(then, program);
    const rows = options.rows.filter((r) => r.scope_kind === scope.kind && r.scope_id === scope.id);
    return {
      scope,
      asOf: at.toISOString(),
      previousAsOf: before.toISOString(),
      health: programHealth(mine),
      milestonesAtRisk: mine.milestones
        .map((r) => ({ r, forecast: forecasts.get(String(r['key'])) }))
        .filter(({ r, forecast }) => atRisk(r, forecast))
        .slice(0, READOUT_LIMITS.milestones)
        .map(({ r, forecast }) => withForecast(item(milestoneRegister, r), forecast)),
      topRisks: mine.risks
        .filter((r) => r['closed'] === null)
        .slice(0, READOUT_LIMITS.risks)
        .map((r) => item(riskRegister, r)),
      decisionsNeeded: mine.decisions
        .filter((r) => r['status'] === 'overdue' || r['status'] === 'open')
        .slice(0, READOUT_LIMITS.decisions)
        .map((r) => item(decisionRegister, r)),
      changes: registerChanges(previous, mine),
      kpiMoves: kpiMoves(rows),
    };
  });
}
